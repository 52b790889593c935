"""Batch shards: one training step split over CPU threads, one shard of the batch each.

At batch 128 the convolutions of a small net such as keras-convnet split poorly over
OpenMP threads; running two halves of the batch side by side, each on one thread, keeps
both cores busier (`charrec bench train` times both ways). Each shard's
forward and backward run on a worker thread with one intra-op thread; the gradients are
summed in shard order on the calling thread, so the update is the full batch's and the
run is reproducible. Each shard draws augmentation and dropout from its own generator,
seeded from (seed, epoch, rank, shard).

Batch norm is refused where shards are configured: its statistics would be per shard,
and two threads would update the same running averages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import nn

from charrec.models.layers import dropout_generator

# (shard inputs, shard labels, shard index) -> (summed loss to report, loss to differentiate,
# logits). Built by the trainer: it knows the loss, scaling, precision and augmentation.
Tensors3 = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
ShardLoss = Callable[[torch.Tensor, torch.Tensor, int], Tensors3]


@dataclass
class ShardResult:
    loss_sum: torch.Tensor
    correct: torch.Tensor


class BatchShards:
    """Runs `shard_loss` on `count` shards of each batch in parallel and sets the grads.

    Use as a context manager around one epoch: it owns the worker threads, which take the
    process's thread count at creation, so torch runs with one thread meanwhile.
    """

    def __init__(self, model: nn.Module, count: int, seeds: Sequence[int]) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.count = count
        self.dropout = [torch.Generator().manual_seed(s) for s in seeds]

    def __enter__(self) -> BatchShards:
        self.threads_before = torch.get_num_threads()
        torch.set_num_threads(1)
        self.pool = ThreadPoolExecutor(self.count, thread_name_prefix="charrec-shard")
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
        torch.set_num_threads(self.threads_before)

    def step(
        self, images: torch.Tensor, labels: torch.Tensor, shard_loss: ShardLoss
    ) -> ShardResult:
        """Forward and backward over the shards; leaves the batch's gradient in `.grad`."""
        x_parts = images.tensor_split(self.count)
        y_parts = labels.tensor_split(self.count)
        # A short last batch can leave shards empty; they have nothing to add.
        shards = [s for s in range(self.count) if len(y_parts[s])]

        def run(shard: int) -> tuple[torch.Tensor, torch.Tensor, tuple]:
            with dropout_generator(self.dropout[shard]):
                reported, loss, logits = shard_loss(x_parts[shard], y_parts[shard], shard)
            grads = torch.autograd.grad(loss, self.params, allow_unused=True)
            correct = (logits.detach().argmax(1) == y_parts[shard]).sum()
            return reported.detach(), correct, grads

        results = list(self.pool.map(run, shards))
        for i, param in enumerate(self.params):
            parts = [r[2][i] for r in results if r[2][i] is not None]
            param.grad = _sum_in_order(parts) if parts else None
        return ShardResult(
            loss_sum=_sum_in_order([r[0] for r in results]),
            correct=_sum_in_order([r[1] for r in results]),
        )


def has_batch_norm(model: nn.Module) -> bool:
    """Whether `model` has a batch norm layer, which cannot train in shards."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _sum_in_order(tensors: list[torch.Tensor]) -> torch.Tensor:
    total = tensors[0].clone()
    for t in tensors[1:]:
        total += t
    return total
