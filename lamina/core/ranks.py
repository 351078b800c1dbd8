"""Where this process stands among the processes of a distributed run (torchrun + DDP).

Every helper answers for a single process too (rank 0 of 1), so code that calls them runs the
same with or without a process group.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """Whether a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank in the process group (0 without one)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes in the process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Whether this process is rank 0, the one that prints and writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process gets here (returns at once in a single process)."""
    if not is_distributed():
        return
    if dist.get_backend() == "nccl":
        # Naming the device spares NCCL a guess that can pick the wrong GPU.
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()
