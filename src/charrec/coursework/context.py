"""What every coursework section works with: the folder, the data, the budget, and one way
to train a run (reused when a run of the same config is already there)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charrec.coursework.budget import Budget


@dataclass
class Trained:
    """A finished run of the coursework: its folder, config and metrics."""

    name: str
    path: Path
    config: Any
    result: dict[str, Any]

    @property
    def test_accuracy(self) -> float | None:
        return self.result.get("test_accuracy")

    @property
    def train_time(self) -> float | None:
        return self.result.get("train_time")

    @property
    def train_images(self) -> int:
        meta = json.loads((self.path / "model.json").read_text())
        return int(meta["data"]["train_images"])


@dataclass
class SummaryRow:
    """One line of the closing table: a model on a data set, and what the classics claim."""

    model: str
    data: str
    accuracy: float | None
    train_time: float | None
    epochs: int | None
    claim: str = ""


@dataclass
class Context:
    out: Path
    budget: Budget
    data_dir: str | None
    letters: str
    letters_reason: str
    summary: list[SummaryRow] = field(default_factory=list)

    @property
    def runs(self) -> Path:
        return self.out / "runs"

    def train(self, name: str, overrides: dict[str, Any]) -> Trained:
        """Train the config (defaults + overrides) into runs/<name>, or reuse it there."""
        from charrec.study.ofat import make_unit
        from charrec.study.runner import run_unit
        from charrec.train.config import TrainConfig, apply_overrides

        config = apply_overrides(
            TrainConfig(),
            {
                # bf16 autocast for the CNNs where the CPU computes bf16 natively.
                "training.precision": "auto",
                **overrides,
                "data.data_dir": self.data_dir,
                "run.out": str(self.runs / name),
            },
        ).validate()
        result = run_unit(make_unit("coursework", 0, name, name, config))
        return Trained(name, self.runs / name, config, result)

    def train_command(self, trained: Trained) -> str:
        """The `charrec train` command that reruns this run alone."""
        return shlex.join(
            [
                "charrec",
                "train",
                "--config",
                str(trained.path / "config.yaml"),
                "--out",
                "runs/" + trained.name,
            ]
        )

    def note(self, row: SummaryRow) -> None:
        self.summary.append(row)


def letters_data(data_dir: str | None) -> tuple[str, str]:
    """Official EMNIST Letters where its files are, letters-dev otherwise, and why."""
    from charrec.data import get_spec
    from charrec.data.location import resolve_data_dir

    folder = resolve_data_dir(data_dir)
    spec = get_spec("emnist-letters")
    if spec.is_present(folder):
        return "emnist-letters", f"the official EMNIST Letters files are in {folder}"
    missing = ", ".join(f.name for f in spec.missing(folder)[:2])
    return (
        "letters-dev",
        f"the official EMNIST Letters images are not in {folder} ({missing} missing; "
        "`charrec data fetch emnist --split letters` downloads them), so the letters "
        "sections use the letters-dev protocol: the letters of EMNIST ByClass's test split "
        "and the Letters files at hand, tested on 14,800 official Letters test images",
    )
