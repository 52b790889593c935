"""A training config's data as tensors: the training split loaded, subsampled, split for
validation (stratified, or the data's own validation part, or k folds), with the extra
data sets beside it; and what the run folder records about it."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from charrec.errors import CharrecError, DataError
from charrec.train.config import DataConfig, TrainConfig


@dataclass
class TensorData:
    """Train/val images as uint8 N×1×H×W tensors plus what the checkpoint must remember."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    classes: tuple[str, ...]
    mean: float
    std: float
    fingerprint: str
    train_split: str
    has_test: bool
    # The data's own validation part, when validation comes from it rather than train.
    val_split: str | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device) -> TensorData:
        move = {k: getattr(self, k).to(device) for k in ("train_x", "train_y", "val_x", "val_y")}
        return replace(self, **move)


def _as_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    # Copies: loaded data sets are read-only arrays, which torch cannot wrap safely.
    return torch.tensor(images).unsqueeze(1), torch.tensor(labels)


def load_test_split(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The data set's test split (images N×1×H×W uint8, labels), as training scores it."""
    from charrec.data import load_dataset

    data = config.data
    test_set = load_dataset(data.name, "test", data.data_dir, data.classes, resize=data.resize)
    return _as_tensors(test_set.images, test_set.labels)


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the images' and labels' bytes (a fraction of a second for all of MNIST)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).data)
    digest.update(np.ascontiguousarray(labels).data)
    return "sha256:" + digest.hexdigest()


def pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """Mean and std of the pixels in [0, 1], from a 256-bin histogram (no float copy)."""
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    total = counts.sum()
    if total == 0:
        return 0.0, 1.0
    mean = float((counts * values).sum() / total)
    var = float((counts * (values - mean) ** 2).sum() / total)
    return mean, math.sqrt(var) or 1.0


def training_split(name: str, data_dir: str | None = None, classes: str | None = None) -> str:
    """The split a data set (or data file) trains on: "train", or its only one (Binary
    AlphaDigits' "all")."""
    from charrec.data import dataset_splits, split_roles

    return split_roles(dataset_splits(name, data_dir, classes)).train


def picture_frame(data: DataConfig) -> str:
    """How predict frames a picture for a model trained on `data` (data.frame, else
    MNIST's frame for MNIST alone, EMNIST's for everything else)."""
    if data.frame is not None:
        return data.frame
    return "mnist" if data.name == "mnist" and not data.extra else "emnist"


def prepare_data(config: TrainConfig) -> TensorData:
    """Load the training split, subsample (data.limit), split off validation, stratified.

    A data set (or file) with a validation part of its own validates on it instead.
    """
    from charrec.data import dataset_splits, load_dataset, split_roles
    from charrec.data.splits import (
        per_class_subsample,
        stratified_kfold,
        stratified_split,
        stratified_subsample,
    )

    data, seed = config.data, config.training.seed
    # "train" (or the only part, as Binary AlphaDigits' "all"), the file's own
    # validation part if it has one, and "test" when there is one.
    roles = split_roles(dataset_splits(data.name, data.data_dir, data.classes))
    split = roles.train
    dataset = load_dataset(data.name, split, data.data_dir, data.classes, resize=data.resize)
    if data.limit is not None:
        # With folds, the subsample is part of the folds: the same for every candidate.
        dataset = stratified_subsample(dataset, data.limit, data.fold_seed if data.folds else seed)
    if data.folds:
        train_index, val_index = stratified_kfold(dataset, data.folds, data.fold_seed)[data.fold]
        train, val = dataset.subset(train_index), dataset.subset(val_index)
        if data.per_class is not None:
            train = per_class_subsample(train, data.per_class, data.fold_seed)
    elif roles.validation is not None:
        train, val = (
            dataset,
            load_dataset(
                data.name, roles.validation, data.data_dir, data.classes, resize=data.resize
            ),
        )
    elif data.val_fraction > 0:
        classes = int((dataset.counts() > 0).sum())
        val_size = math.ceil(data.val_fraction * len(dataset))
        if min(val_size, len(dataset) - val_size) < classes:
            raise DataError(
                f"{data.name}: a validation split of {data.val_fraction} of {len(dataset):,} "
                f"images cannot hold each of its {classes} classes on both sides; "
                "use more images (--limit) or another --val-fraction"
            )
        train, val = stratified_split(dataset, data.val_fraction, seed)
    else:
        train, val = dataset, dataset.subset(np.zeros(0, dtype=np.int64))
    if data.per_class is not None and not data.folds:
        train = per_class_subsample(train, data.per_class, seed)
    if data.extra:
        from charrec.data.extra import with_extra

        train = with_extra(train, data.extra, data.data_dir, data.resize)
    if train.image_shape[0] != train.image_shape[1]:
        raise CharrecError(
            f"{data.name}: images are {train.image_shape}; training needs square images"
        )
    mean, std = pixel_stats(train.images)
    train_x, train_y = _as_tensors(train.images, train.labels)
    val_x, val_y = _as_tensors(val.images, val.labels)
    return TensorData(
        train_x,
        train_y,
        val_x,
        val_y,
        train.classes,
        mean,
        std,
        fingerprint(train.images, train.labels),
        split,
        roles.test is not None,
        roles.validation if not data.folds else None,
    )
