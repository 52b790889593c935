"""The baseline of `charrec bench train`: the Keras convnet as a plain PyTorch script.

What a user writes without charrec: the model as an nn.Sequential in the Keras order
(conv, relu, pool), a DataLoader over a TensorDataset with shuffling, Adam and
cross-entropy, fp32, in a process of its own. It runs as a script
(`python textbook_loop.py IMAGES.pt ...`) and imports nothing but torch, so none of
charrec's process settings reach it. Prints one JSON line: {"images_per_second": [...]}.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

KERAS_CONVNET_PARAMETERS = 34_826


def keras_convnet(num_classes: int = 10) -> nn.Sequential:
    """Conv32-3, relu, pool, Conv64-3, relu, pool, flatten, dropout .5, dense."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(64 * 5 * 5, num_classes),
    )


def epoch_rates(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int, epochs: int
) -> list[float]:
    """images/s of each epoch of the textbook training loop over `model`."""
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        rates.append(len(labels) / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="torch.save'd (images N×1×28×28 float, labels N) pair")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images, labels = torch.load(args.data)
    torch.manual_seed(0)
    model = keras_convnet(int(labels.max()) + 1)
    assert sum(p.numel() for p in model.parameters()) == KERAS_CONVNET_PARAMETERS
    rates = epoch_rates(model, images, labels, args.batch, args.epochs)
    print(json.dumps({"images_per_second": rates, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
