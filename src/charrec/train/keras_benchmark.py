"""charrec's keras-convnet against the Keras example itself, in Keras 3 on TensorFlow.

Both train the Keras "Simple MNIST convnet" the way its authors do (Adam, batch 128, 10%
of the training images held out for validation, the same number of epochs) on the full
MNIST training set, each in a process of its own, in turns (this machine's speed drifts
over minutes). Keras runs `keras_peer.py` with a Python that has TensorFlow (TensorFlow
is never a dependency of charrec); charrec runs `charrec train`. Reported: the training
time of each (the epochs' own times, validation included, as Keras counts them), the
test accuracy of each, and the ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from charrec.errors import CharrecError

# charrec's precision names and the Keras dtype policies that compute the same way.
KERAS_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def _mnist_npz(folder: Path, data_dir: str | None) -> Path:
    import numpy as np

    from charrec.data import load_dataset

    train, test = load_dataset("mnist", "train", data_dir), load_dataset("mnist", "test", data_dir)
    path = folder / "mnist.npz"
    np.savez(
        path, x_train=train.images, y_train=train.labels, x_test=test.images, y_test=test.labels
    )
    return path


def keras_run(python: str, data: Path, epochs: int, precision: str = "fp32") -> dict[str, Any]:
    script = Path(__file__).with_name("keras_peer.py")
    policy = KERAS_POLICIES[precision]
    done = subprocess.run(
        [python, str(script), str(data), "--epochs", str(epochs), "--precision", policy],
        capture_output=True,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        raise CharrecError(f"the Keras peer failed with {python}: {done.stderr.strip()[-400:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = sum(result["epoch_seconds"])
    return result


def charrec_run(folder: Path, epochs: int, data_dir: str | None, extra: list[str]) -> dict:
    out = folder / "charrec-run"
    args = [sys.executable, "-m", "charrec", "train", "--data", "mnist", "--model"]
    args += ["keras-convnet", "--optimizer", "adam", "--lr", "1e-3", "--epochs", str(epochs)]
    args += ["--batch-size", "128", "--val-fraction", "0.1", "--out", str(out), "--overwrite"]
    args += ["--quiet", *(["--data-dir", data_dir] if data_dir else []), *extra]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise CharrecError(f"charrec train failed: {done.stderr.strip()[-400:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    return {
        "seconds": sum(row["epoch_time"] for row in history),
        "epoch_seconds": [row["epoch_time"] for row in history],
        "val_accuracy": metrics["val"]["accuracy"],
        "test_accuracy": metrics["test"]["accuracy"],
        "parameters": metrics["parameters"],
    }


def compare_with_keras(
    python: str,
    epochs: int = 15,
    rounds: int = 1,
    data_dir: str | None = None,
    extra: list[str] | None = None,
    say: Any = print,
    precision: str = "fp32",
    keras_precision: str = "fp32",
) -> dict[str, Any]:
    """Rounds of (Keras, charrec) in turns; the median round's ratio is the answer.

    `precision` is charrec's (`--precision`), `keras_precision` the peer's (fp32 is the
    example as written; bf16 runs it under Keras' mixed_bfloat16 policy).
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="charrec-keras-") as tmp:
        folder = Path(tmp)
        data = _mnist_npz(folder, data_dir)
        for index in range(rounds):
            keras = keras_run(python, data, epochs, keras_precision)
            ours = charrec_run(folder, epochs, data_dir, ["--precision", precision, *(extra or [])])
            ratio = keras["seconds"] / ours["seconds"]
            rows.append({"keras": keras, "charrec": ours, "ratio": ratio})
            say(
                f"round {index + 1}: Keras ({keras_precision}) {keras['seconds']:.1f} s "
                f"({100 * keras['test_accuracy']:.2f}% test), charrec ({precision}) "
                f"{ours['seconds']:.1f} s "
                f"({100 * ours['test_accuracy']:.2f}% test): charrec {ratio:.2f}× as fast"
            )
    ratios = sorted(r["ratio"] for r in rows)
    return {
        "epochs": epochs,
        "precision": precision,
        "keras_precision": keras_precision,
        "rounds": rows,
        "median_ratio": ratios[len(ratios) // 2],
    }
