"""Processes and devices: one process, or one per GPU (or CPU worker) under torchrun.

torchrun (`torchrun --nproc_per_node G -m rdh.cli train ...` or `torchrun --nproc_per_node G
$(which rdh) train ...`) starts G copies and tells each its place through the environment
variables RANK, LOCAL_RANK and WORLD_SIZE; that is the one place rdh reads the environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from rdhcore.errors import RdhError


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(choice: str, local_rank: int = 0) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> a torch.device (the local rank's GPU under torchrun)."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RdhError(f"--device {choice}: this torch build sees no CUDA GPU: use --device cpu or auto")
        if choice == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device(choice)
    raise RdhError(f"--device {choice!r}: use auto, cpu or cuda")


def setup(device_choice: str) -> DistInfo:
    """Join the torchrun process group when there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_choice, local)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local, device)


def set_cpu_threads(requested: int | None, processes: int = 1) -> int:
    """Set torch's CPU threads: `requested`, else this process's share of the cores that other
    programs leave free now (a team larger than that waits on its slowest thread every op)."""
    from rdhcore.cpus import free_cores

    n = requested if requested else max(1, free_cores() // max(1, processes))
    torch.set_num_threads(n)
    return n


def teardown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def any_rank(info: DistInfo, flag: bool) -> bool:
    """True when `flag` is true on any process."""
    if not info.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(info: DistInfo, values: torch.Tensor) -> torch.Tensor:
    """The mean of `values` across processes (itself with one process)."""
    if not info.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / info.world_size

