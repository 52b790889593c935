"""Training: the loop, optimizers, schedules, regularisation, augmentation, checkpoints."""

from charrec.train.callbacks import Callback, CallbackList
from charrec.train.checkpoint import RunFolder, load_run
from charrec.train.config import (
    DataConfig,
    EarlyStoppingConfig,
    ModelConfig,
    OptimConfig,
    RegularisationConfig,
    RunConfig,
    ScheduleConfig,
    TrainConfig,
    TrainingConfig,
    apply_overrides,
    parse_assignment,
)
from charrec.train.loop import TrainResult, resume, train

__all__ = [
    "Callback",
    "CallbackList",
    "DataConfig",
    "EarlyStoppingConfig",
    "ModelConfig",
    "OptimConfig",
    "RegularisationConfig",
    "RunConfig",
    "RunFolder",
    "ScheduleConfig",
    "TrainConfig",
    "TrainResult",
    "TrainingConfig",
    "apply_overrides",
    "load_run",
    "parse_assignment",
    "resume",
    "train",
]
