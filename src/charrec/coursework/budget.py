"""How long the coursework trains: `quick` (every section, small epochs and subsamples) or
`full` (the experiments at their real lengths).

A budget is plain data; each section reads the numbers it needs, and a section's cached
result is reused only when the budget numbers it used are the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from charrec.errors import unknown_choice


@dataclass(frozen=True)
class Budget:
    name: str
    # Sections 1, 3, 4, 5: the classic nets (epochs and a training subsample; None = all).
    chollet_epochs: int
    convnet_epochs: int
    mnist_cnn_epochs: int
    nielsen_epochs: int
    classic_limit: int | None
    slow_limit: int | None  # mnist-cnn, whose convolutions are the slowest here
    # Section 7: the technique study.
    study_factors: tuple[str, ...]
    study_folds: int
    study_epochs: int
    study_limit: int | None
    study_final_epochs: int
    study_final_limit: int | None
    # Section 8: the case-aware model against the case-merged one.
    case_epochs: int
    case_limit: int | None
    # Section 9: transfer to Binary AlphaDigits.
    transfer_strategies: tuple[str, ...]
    transfer_folds: int
    transfer_repeats: int
    transfer_epochs: int
    # Images per class of the learning curve (transfer against scratch).
    transfer_curve: tuple[int, ...]
    # What this budget is expected to take on 2 cores, per section (for the progress bar).
    expected_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Budget(
    name="quick",
    chollet_epochs=2,
    convnet_epochs=1,
    mnist_cnn_epochs=1,
    nielsen_epochs=1,
    classic_limit=None,
    slow_limit=20_000,
    study_factors=("optimizer", "batch-norm", "dropout", "augmentation"),
    study_folds=2,
    study_epochs=1,
    study_limit=4_000,
    study_final_epochs=2,
    study_final_limit=20_000,
    case_epochs=2,
    case_limit=20_000,
    transfer_strategies=("zero-shot", "linear-probe", "added-layers", "finetune", "scratch"),
    transfer_folds=3,
    transfer_repeats=1,
    transfer_epochs=10,
    transfer_curve=(1, 5),
    expected_seconds={
        "mnist-dense": 15,
        "letters-grid": 5,
        "letters-dense": 15,
        "convnet": 45,
        "classic-cnns": 80,
        "tensorboard": 5,
        "study": 330,
        "case": 120,
        "transfer": 240,
        "summary": 5,
    },
)

FULL = Budget(
    name="full",
    chollet_epochs=5,
    convnet_epochs=15,
    mnist_cnn_epochs=12,
    nielsen_epochs=20,
    classic_limit=None,
    slow_limit=None,
    study_factors=(),  # every factor
    study_folds=3,
    study_epochs=3,
    study_limit=12_000,
    study_final_epochs=10,
    study_final_limit=None,
    case_epochs=10,
    case_limit=None,
    transfer_strategies=(),  # every strategy
    transfer_folds=5,
    transfer_repeats=1,
    transfer_epochs=30,
    transfer_curve=(1, 2, 5, 10, 20),
    expected_seconds={
        "mnist-dense": 40,
        "letters-grid": 5,
        "letters-dense": 40,
        "convnet": 450,
        "classic-cnns": 2100,
        "tensorboard": 5,
        "study": 5400,
        "case": 1200,
        "transfer": 900,
        "summary": 5,
    },
)

# A smoke test of every section in a minute or two: a few hundred images, one epoch.
TINY = Budget(
    name="tiny",
    chollet_epochs=1,
    convnet_epochs=1,
    mnist_cnn_epochs=1,
    nielsen_epochs=1,
    classic_limit=400,
    slow_limit=200,
    study_factors=("dropout",),
    study_folds=2,
    study_epochs=1,
    study_limit=300,
    study_final_epochs=1,
    study_final_limit=400,
    case_epochs=1,
    case_limit=600,
    transfer_strategies=("zero-shot", "finetune", "scratch"),
    transfer_folds=2,
    transfer_repeats=1,
    transfer_epochs=1,
    transfer_curve=(1,),
    expected_seconds={},
)

BUDGETS = {b.name: b for b in (QUICK, FULL, TINY)}


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise unknown_choice("budget", name, list(BUDGETS))
    return BUDGETS[name]
