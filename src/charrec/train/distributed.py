"""Distributed data parallel training under `torchrun`: the one place that knows ranks.

`torchrun --nproc_per_node 2 -m charrec train ...` starts one process per rank with RANK,
WORLD_SIZE and LOCAL_RANK set; `Distributed.from_env` joins the process group (gloo on
CPU, nccl on CUDA). Every rank draws the same permutation, takes its slice of each global
batch, and DDP averages gradients; rank 0 alone writes the run folder and prints.
Without those variables (or with WORLD_SIZE=1) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from charrec.errors import CharrecError


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device_type: str) -> Distributed:
        """Join the process group torchrun describes, if any."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not dist.is_available():
            raise CharrecError("this torch build has no torch.distributed")
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        return cls(rank, world_size, local_rank)

    def device(self, device: torch.device) -> torch.device:
        """One GPU per process: cuda:LOCAL_RANK under torchrun."""
        if self.enabled and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global batch (sizes differ by at most one)."""
        if not self.enabled:
            return index
        return index.tensor_split(self.world_size)[self.rank]

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if not self.enabled:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum a tensor over ranks (in place, also returned)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_flag(self, flag: bool, device: torch.device) -> bool:
        """Rank 0's decision, seen by every rank."""
        if not self.enabled:
            return flag
        value = torch.tensor([int(flag)], device=device)
        dist.broadcast(value, src=0)
        return bool(value.item())

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
