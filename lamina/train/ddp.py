"""Training on several GPUs or machines: one process per device, started by torchrun, with DDP.

```python
# train.py, launched with:  torchrun --nproc_per_node=4 train.py
with learn.distributed():
    learn.fit_one_cycle(3)
```

The same script runs with plain `python`: outside torchrun the context changes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from lamina.core.ranks import world_size
from lamina.data.block_loader import BlockDataLoader
from lamina.data.tensor_batches import TensorBatches
from lamina.train.callbacks.ddp_trainer import DistributedTrainer

if TYPE_CHECKING:
    from lamina.train.learner import Learner


def _uses_cuda(learn: Learner) -> bool:
    return torch.cuda.is_available() and torch.device(learn.dls.device).type == "cuda"


def _start_process_group(learn: Learner) -> bool:
    """Join the processes torchrun started, unless a group exists; whether one was started."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_available():
        raise RuntimeError("this build of torch has no torch.distributed; it cannot run with DDP")
    if dist.is_initialized():
        return False
    if _uses_cuda(learn):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if _uses_cuda(learn) else "gloo", init_method="env://")
    return True


def _use_local_gpu(learn: Learner) -> None:
    """Put the learner's data and model on this process's GPU, `cuda:LOCAL_RANK`."""
    index = int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))
    torch.cuda.set_device(index)
    device = torch.device("cuda", index)
    dls = learn.dls
    dls.device = device
    for name in ("train", "valid"):
        dl = getattr(dls, name)
        if isinstance(dl, (BlockDataLoader, TensorBatches)) and dl.device != device:
            moved = dl.new(device=device)
            moved.generator = dl.generator  # keep a seeded loader's position
            setattr(dls, name, moved)
    learn.model.to(device)


@contextmanager
def distributed(learn: Learner, seed: int | None = None, **ddp_kwargs: Any) -> Iterator[Learner]:
    """Context in which `learn`'s fits train data-parallel across the processes torchrun started.

    On entry it joins the process group (backend "nccl" when the learner is on CUDA, else
    "gloo"), unless one exists, and on CUDA moves the data and model to `cuda:LOCAL_RANK`.
    It then adds a `DistributedTrainer`: each fit wraps the model in `DistributedDataParallel`
    and gives each process its share of the training batches, reshuffled each epoch (the same
    order in every process, from `seed`); after the fit, `learn.model` is the plain module
    again. On exit it leaves the group, if it started it. Outside torchrun (one process) it
    only prints a note, so one script runs both ways.

    - The batch size is per process: with 4 processes and `bs=64`, each step sees 256 items.
      The learning rate is not rescaled; raise it yourself if you want to.
    - Validation runs on the whole validation set in every process, so every process reports
      exactly the figures of a single-process validation of the same model (validation is not
      made faster).
    - Only rank 0 shows progress and writes files (`save`, `SaveModel`, `export`); the others
      wait until the file is complete. Save and export inside the block: after it, each
      process is on its own again. On several machines without a shared disk, only the first
      machine has the files.
    - The training loss in the epoch table is rank 0's, over its share of the batches.

    Args:
        seed: seed of the shared shuffle (default: the training loader's seed, else 0).
        ddp_kwargs: passed to `DistributedDataParallel`, e.g. `find_unused_parameters=True`.

    Example:
        >>> # torchrun --nproc_per_node=2 train.py
        >>> with learn.distributed():
        ...     learn.fit_one_cycle(3)
        ...     learn.save("final")
    """
    started = _start_process_group(learn)
    try:
        if world_size() == 1:
            print("lamina: one process (not launched by torchrun): no DDP", file=sys.stderr)
            yield learn
            return
        if _uses_cuda(learn):
            _use_local_gpu(learn)
        trainer = DistributedTrainer(seed, **ddp_kwargs)
        with learn.added_cbs(trainer):
            try:
                yield learn
            finally:
                trainer.restore(sync=False)  # only does anything when a fit raised an error
    finally:
        if started:
            dist.destroy_process_group()
