"""The one in-memory form of every data set.

Images are uint8, upright, white ink on a black background (the MNIST/EMNIST convention),
shape N×H×W (28×28 for every named data set; Binary AlphaDigits keeps 20×16 in its own
form until converted). Labels are int64 in 0..K-1 and `classes[k]` names class k.
Readers convert once, at the edge; everything downstream trusts this form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charrec.errors import DataError


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    name: str = ""
    # Where the images came from (file paths), for messages and fingerprints: one per
    # image for a folder of pictures, the set's few files for a packed format (IDX, .mat).
    sources: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        images, labels = self.images, self.labels
        where = f" in {self.name}" if self.name else ""
        if images.ndim != 3:
            raise DataError(f"images{where} must be N×H×W, got shape {images.shape}")
        if images.dtype != np.uint8:
            raise DataError(f"images{where} must be uint8, got {images.dtype}")
        if labels.ndim != 1 or labels.dtype != np.int64:
            raise DataError(
                f"labels{where} must be a 1-D int64 array, got {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise DataError(f"{len(images)} images but {len(labels)} labels{where}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise DataError(
                f"labels{where} run {labels.min()}..{labels.max()}, "
                f"outside 0..{len(self.classes) - 1} for {len(self.classes)} classes"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int]:
        return (int(self.images.shape[1]), int(self.images.shape[2]))

    def counts(self) -> np.ndarray:
        """Number of images per class, length K."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, index: np.ndarray, name: str | None = None) -> ImageSet:
        """The images at `index` (integer indices or a boolean mask), same classes."""
        return ImageSet(
            np.ascontiguousarray(self.images[index]),
            np.ascontiguousarray(self.labels[index]),
            self.classes,
            self.name if name is None else name,
            self._sources_of(index),
        )

    def _sources_of(self, index: np.ndarray) -> tuple[str, ...]:
        """The sources of the images at `index`: a picture's own file follows it."""
        if len(self.sources) != len(self.labels):
            return self.sources  # the files the whole set was read from
        return tuple(np.asarray(self.sources, dtype=object)[index].tolist())

    def with_name(self, name: str) -> ImageSet:
        return ImageSet(self.images, self.labels, self.classes, name, self.sources)


def concat(parts: list[ImageSet], name: str = "") -> ImageSet:
    """Join image sets that share the same classes and image size."""
    if not parts:
        raise ValueError("nothing to concatenate")
    first = parts[0]
    for part in parts[1:]:
        if part.classes != first.classes:
            raise DataError(f"cannot join {part.name!r} and {first.name!r}: different classes")
        if part.image_shape != first.image_shape:
            raise DataError(f"cannot join {part.name!r} and {first.name!r}: different image sizes")
    return ImageSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        first.classes,
        name or first.name,
        tuple(s for p in parts for s in p.sources),
    )
