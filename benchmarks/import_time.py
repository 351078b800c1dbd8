"""Import cost: `import torch; import lamina` against `import torch` alone, fresh processes.

Prints the median of 5 runs of each and the difference. Goal: lamina adds at most 0.3 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

TIMER = "import time; s = time.perf_counter(); {imports}; print(time.perf_counter() - s)"


def timed(imports: str) -> float:
    code = TIMER.format(imports=imports)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(runs: int = 5) -> None:
    timed("import torch")  # warm the file cache
    torch_only, with_lamina = [], []
    for _ in range(runs):  # interleaved, so drift hits both alike
        torch_only.append(timed("import torch"))
        with_lamina.append(timed("import torch; import lamina"))
    base, total = statistics.median(torch_only), statistics.median(with_lamina)
    print(f"import torch: {base:.3f}s   import torch + lamina: {total:.3f}s (medians of {runs})")
    print(f"lamina adds {total - base:.3f}s  (goal <= 0.300s)")


if __name__ == "__main__":
    main()
