"""Label maps: re-express a data set in another label space, by class name.

They work on any split whose classes they know by name: `merge_case` turns ByClass (or
ByMerge, Balanced) into EMNIST Letters' 26 case-merged classes; `to_bymerge` turns ByClass
into ByMerge's 47; `select` keeps a subset of classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from charrec.data.classes import EMNIST_CLASSES, UPPER
from charrec.data.imageset import ImageSet
from charrec.errors import DataError


@dataclass(frozen=True)
class LabelMap:
    """`table[old_label]` is the new label, or -1 to drop images of that class."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    table: np.ndarray

    def apply(self, dataset: ImageSet, name: str | None = None) -> ImageSet:
        if dataset.classes != self.source:
            raise DataError(
                f"label map expects classes {''.join(self.source)!r}, "
                f"but {dataset.name or 'the data set'} has {''.join(dataset.classes)!r}"
            )
        new_labels = self.table[dataset.labels]
        keep = new_labels >= 0
        return ImageSet(
            np.ascontiguousarray(dataset.images[keep]),
            np.ascontiguousarray(new_labels[keep]),
            self.target,
            dataset.name if name is None else name,
            dataset.sources,
        )


def by_names(source: Iterable[str], mapping: dict[str, str], target: Iterable[str]) -> LabelMap:
    """A map sending class `s` to class `mapping[s]` of `target`; classes not in `mapping` drop."""
    source, target = tuple(source), tuple(target)
    position = {name: i for i, name in enumerate(target)}
    table = np.array([position.get(mapping.get(s, ""), -1) for s in source], dtype=np.int64)
    return LabelMap(source, target, table)


def merge_case(source: Iterable[str]) -> LabelMap:
    """Letters only, upper and lower case merged into 26 classes 'A'..'Z' (EMNIST Letters)."""
    source = tuple(source)
    mapping = {s: s.upper() for s in source if s.isalpha()}
    return by_names(source, mapping, UPPER)


def to_bymerge(source: Iterable[str]) -> LabelMap:
    """Merge the 15 letters whose cases look alike (ByClass → ByMerge's 47 classes)."""
    source = tuple(source)
    target = EMNIST_CLASSES["bymerge"]
    kept = set(target)
    mapping = {s: (s if s in kept else s.upper()) for s in source}
    return by_names(source, mapping, target)


def select(source: Iterable[str], keep: Iterable[str]) -> LabelMap:
    """Keep only the named classes, relabelled 0..len(keep)-1 in the order given."""
    source, keep = tuple(source), tuple(keep)
    missing = [k for k in keep if k not in source]
    if missing:
        raise DataError(f"classes {missing} are not in {''.join(source)!r}")
    return by_names(source, {k: k for k in keep}, keep)


def letters_only(source: Iterable[str]) -> LabelMap:
    """Drop the digits and keep every letter class (case as it is)."""
    source = tuple(source)
    return select(source, [s for s in source if s.isalpha()])
