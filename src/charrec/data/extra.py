"""More training images from other data sets or files (`data.extra` of a recipe).

A recipe may learn from EMNIST and, beside it, from real handwriting of other writers
(the UNIPEN train writers) or a user's own folder. The extra images join the training
part only: validation and test stay the main set's, so scores remain comparable with
runs that had no extra data. Classes are matched by name, case merged where the main
set merges it (an 'a' joins EMNIST Letters' 'A'); images of other classes are left out.
A set that keeps its pen strokes (UNIPEN) may instead be drawn anew `renders` times with
other pens (`charrec.data.pen_renders`). `take` borrows a few classes of a set under
other names instead: a folder's "zero" pictures as 0, handwritten g's as a digits model's 9.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.data.readers.pictures import class_of
from charrec.errors import DataError


def class_mapping(source: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """For each source class, its index among the target classes, or -1."""
    found = (class_of(name, target) for name in source)
    return np.array([-1 if k is None else k for k in found], dtype=np.int64)


def taken_mapping(
    source: Sequence[str], take: dict[str, str], target: Sequence[str], name: str
) -> np.ndarray:
    """For each source class, the target class `take` names for it (matched as by
    `class_mapping`), or -1 for the classes it does not name."""
    missing = [label for label in take if label not in source]
    if missing:
        raise DataError(f"{name}: it has no class {', '.join(map(repr, missing))} to take")
    mapping = np.full(len(source), -1, dtype=np.int64)
    for label, as_class in take.items():
        k = class_of(as_class, target)
        if k is None:
            raise DataError(
                f"{name}: its {label!r} cannot be taken as {as_class!r}, which is not "
                "among the training classes"
            )
        mapping[list(source).index(label)] = k
    return mapping


def with_extra(
    train: ImageSet,
    extras: Sequence[Any],
    data_dir: str | os.PathLike[str] | None,
    resize: str = "emnist",
) -> ImageSet:
    """`train` with each extra set's images (in its classes, `repeat` times) appended."""
    from charrec.data.registry import dataset_splits, load_dataset, split_roles

    images, labels = [train.images], [train.labels]
    for extra in extras:
        take = extra.take
        if extra.renders:
            from charrec.data.pen_renders import drawn_part

            # Drawn anew from the pen strokes of its train writers (or the part named).
            wanted = tuple(take) if take else train.classes
            part = drawn_part(extra.name, extra.split, data_dir, extra.renders, wanted)
        else:
            # Its training part unless the recipe names one (a folder has only one part).
            split = extra.split
            if split is None:
                split = split_roles(dataset_splits(extra.name, data_dir, extra.classes)).train
            part = load_dataset(extra.name, split, data_dir, extra.classes, resize=resize)
        if part.image_shape != train.image_shape:
            raise DataError(
                f"{extra.name}: images are {part.image_shape}, the training images "
                f"{train.image_shape}; extra data must have the same size"
            )
        if take:
            mapping = taken_mapping(part.classes, take, train.classes, extra.name)
        else:
            mapping = class_mapping(part.classes, train.classes)
        mapped = mapping[part.labels]
        keep = mapped >= 0
        if not keep.any():
            raise DataError(
                f"{extra.name}: none of its classes ({', '.join(part.classes[:12])}"
                f"{', ...' if len(part.classes) > 12 else ''}) is among the training classes"
            )
        images.append(np.tile(part.images[keep], (extra.repeat, 1, 1)))
        labels.append(np.tile(mapped[keep], extra.repeat))
    if len(images) == 1:
        return train
    return ImageSet(
        np.concatenate(images),
        np.concatenate(labels),
        train.classes,
        f"{train.name}+{'+'.join(e.name for e in extras)}",
    )
