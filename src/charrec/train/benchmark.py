"""Training throughput benchmark: `python -m charrec.train.benchmark [--model keras-convnet]`.

Measures training images/s of the charrec loop (one uint8 tensor, batches indexed from it)
for fp32 and bf16 autocast, contiguous and channels_last, at several batch sizes, and of
a plain PyTorch loop over `DataLoader(TensorDataset(...))` of the same images for
comparison. Each number is the best of `--repeats` timed epochs after one warm-up epoch,
so that other processes on the machine disturb it as little as possible.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from charrec.train.config import TrainConfig, apply_overrides
from charrec.train.loop import train


def charrec_loop(
    model: str,
    images: int,
    batch: int,
    precision: str,
    channels_last: bool,
    repeats: int,
    threads: int | None = None,
) -> float:
    """Best images/s over `repeats` epochs of charrec's own loop (after a warm-up epoch)."""
    config = apply_overrides(
        TrainConfig(),
        {
            "data.limit": images,
            "data.val_fraction": 0.0,
            "data.evaluate_test": False,
            "model.name": model,
            "training.epochs": repeats + 1,
            "training.batch_size": batch,
            "training.precision": precision,
            "training.channels_last": channels_last,
            "training.num_threads": threads,
        },
    )
    with tempfile.TemporaryDirectory() as folder:
        config = apply_overrides(config, {"run.out": str(Path(folder) / "run")})
        history = train(config, verbose=False).history
    return max(row["images_per_second"] for row in history[1:])


def dataloader_loop(model_name: str, images: int, batch: int, repeats: int) -> float:
    """Best images/s of the textbook loop: DataLoader(TensorDataset), shuffle, fp32."""
    from charrec.data import load_dataset
    from charrec.models import create_model

    data = load_dataset("mnist", "train")
    x = torch.tensor(data.images[:images]).unsqueeze(1).float().div_(255)
    x = (x - x.mean()) / x.std()
    y = torch.tensor(data.labels[:images])
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    torch.manual_seed(0)
    model = create_model(model_name, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rates = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        rates.append(images / (time.perf_counter() - start))
    return max(rates[1:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="keras-convnet")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batches", default="128,256,512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.model}, "
        f"{args.images:,} MNIST images, best of {args.repeats} epochs; training images/s"
    )
    print(f"{'loop':<34}" + "".join(f"{'batch ' + str(b):>12}" for b in batches))
    variants = [
        ("charrec fp32", "fp32", False),
        ("charrec fp32 channels_last", "fp32", True),
        ("charrec bf16", "bf16", False),
        ("charrec bf16 channels_last", "bf16", True),
    ]
    for label, precision, last in variants:
        rates = [
            charrec_loop(args.model, args.images, b, precision, last, args.repeats) for b in batches
        ]
        print(f"{label:<34}" + "".join(f"{r:>12,.0f}" for r in rates), flush=True)
    rates = [dataloader_loop(args.model, args.images, b, args.repeats) for b in batches]
    print(f"{'DataLoader(TensorDataset) fp32':<34}" + "".join(f"{r:>12,.0f}" for r in rates))


if __name__ == "__main__":
    main()
