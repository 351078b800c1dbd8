"""Prediction server throughput: `lamina serve` against a hand-written endpoint, over loopback.

Both servers run as separate processes on 127.0.0.1 (uvicorn, one worker each) around the same
exported ResNet-18 digits model (untrained: speed does not depend on the weights) taking a
digit PNG resized to 32 px:

- lamina: `lamina serve MODEL` (server-side batching, inference in one worker thread);
- hand-written: a Starlette endpoint, written as one would by hand: read the multipart upload,
  open with Pillow, convert to RGB, resize, to a tensor, normalize with the exported statistics,
  `model(x)` under `torch.no_grad` in Starlette's thread pool, softmax, JSON.

For each concurrency (1, 8, 32), the client (httpx, one process, keep-alive connections) sends
`--requests / 3` requests to each server, in `--rounds` alternating rounds. Prints requests/s
(median over rounds), p50 and p99 latency, errors (anything but 200), and the lamina server's
resident memory after warm-up and at the end. Goals: >= 1.0x the hand-written throughput at
concurrency 1, >= 2x at 32, 0 errors, memory flat.

Run: `python benchmarks/serve.py [--requests 10000] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 8, 32)


def hand_written_app(model_path: str):
    """The baseline: a bare forward pass behind a Starlette endpoint."""
    import io

    import numpy as np
    import torch
    from PIL import Image
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from lamina import load_learner

    learn = load_learner(model_path, device="cpu")
    model = learn.model.eval()
    spec = learn.export_spec["data"]
    norm = next(t["args"] for t in spec["batch_tfms"] if t["name"] == "Normalize")
    mean = torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).view(1, -1, 1, 1)
    vocab = spec["vocab"]

    def infer(data: bytes) -> dict:
        image = Image.open(io.BytesIO(data)).convert("RGB").resize((32, 32), Image.BILINEAR)
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            probs = torch.softmax(model((x - mean) / std), dim=1)[0]
        index = int(probs.argmax())
        return {"label": vocab[index], "index": index, "probs": probs.tolist()}

    async def predict(request):
        async with request.form() as form:
            data = await form["file"].read()
        return JSONResponse(await run_in_threadpool(infer, data))

    return Starlette(routes=[Route("/predict", predict, methods=["POST"])])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(argv: list[str], port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, *argv], env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the server {argv} exited") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server {argv} did not start")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _load(url: str, png: bytes, concurrency: int, total: int) -> tuple:
    """`total` requests from `concurrency` clients: (seconds, latencies, errors)."""
    import httpx

    latencies, errors, remaining = [], 0, [total]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while remaining[0] > 0:
            remaining[0] -= 1
            start = time.perf_counter()
            try:
                response = await http.post(url, files={"file": ("d.png", png, "image/png")})
                ok = response.status_code == 200 and "label" in response.json()
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _model(folder: Path) -> Path:
    import lamina.datasets
    from lamina.vision import ImageDataLoaders, Resize, vision_learner

    dls = ImageDataLoaders.from_folder(lamina.datasets.digits(), valid_pct=0.2, seed=42,
                                       item_tfms=Resize(32))  # fmt: skip
    return vision_learner(dls, "resnet18", pretrained=False).export(folder / "digits.lamina")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000,
                        help="requests to each server, split over the concurrencies")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per case")
    parser.add_argument("--baseline-server", nargs=2, metavar=("MODEL", "PORT"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.baseline_server:  # the hand-written server's own process
        import uvicorn

        model, port = args.baseline_server
        uvicorn.run(hand_written_app(model), host="127.0.0.1", port=int(port), log_level="error")
        return
    import lamina.datasets

    png = sorted((lamina.datasets.digits() / "3").glob("*.png"))[0].read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        model = str(_model(Path(tmp)))
        ports = {"lamina": _free_port(), "hand": _free_port()}
        servers = {
            "lamina": _start(["-m", "lamina.cli.main", "serve", model, "--port",
                              str(ports["lamina"]), "--log-level", "error"], ports["lamina"]),
            "hand": _start([__file__, "--baseline-server", model, str(ports["hand"])],
                           ports["hand"]),
        }  # fmt: skip
        try:
            _run(args, png, ports, servers)
        finally:
            for process in servers.values():
                process.terminate()
                process.wait(timeout=30)


def _run(args: argparse.Namespace, png: bytes, ports: dict, servers: dict) -> None:
    for port in ports.values():  # warm-up
        asyncio.run(_load(f"http://127.0.0.1:{port}/predict", png, 8, 200))
    rss_before = _rss_mib(servers["lamina"].pid)
    per_case = max(args.requests // len(CONCURRENCY) // args.rounds, 1)
    errors = {"lamina": 0, "hand": 0}
    sent = {"lamina": 0, "hand": 0}
    print(f"{'conc':>4} {'server':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  ratio")
    for concurrency in CONCURRENCY:
        rates, latencies = {"lamina": [], "hand": []}, {"lamina": [], "hand": []}
        for _ in range(args.rounds):
            for name in ("hand", "lamina"):
                url = f"http://127.0.0.1:{ports[name]}/predict"
                seconds, lat, err = asyncio.run(_load(url, png, concurrency, per_case))
                rates[name].append(per_case / seconds)
                latencies[name] += lat
                errors[name] += err
                sent[name] += per_case
        ratio = statistics.median(rates["lamina"]) / statistics.median(rates["hand"])
        for name in ("hand", "lamina"):
            lat = latencies[name]
            print(f"{concurrency:>4} {name:>7} {statistics.median(rates[name]):8.1f} "
                  f"{1000 * _percentile(lat, 0.5):8.2f} {1000 * _percentile(lat, 0.99):8.2f}"
                  + (f"  {ratio:.2f}x" if name == "lamina" else ""))  # fmt: skip
    rss_after = _rss_mib(servers["lamina"].pid)
    print(f"errors: lamina {errors['lamina']} of {sent['lamina']}, "
          f"hand-written {errors['hand']} of {sent['hand']}")  # fmt: skip
    print(f"lamina server RSS: {rss_before:.0f} MiB after warm-up, {rss_after:.0f} MiB at the "
          f"end ({rss_after - rss_before:+.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
