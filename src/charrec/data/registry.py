"""Named data sets: where their files are, how to read them, what their classes are.

`load_dataset("mnist", "train")` finds the official files in the data directory (flat, in
a folder named after the data set, or under `gzip/` as NIST's archive unpacks) and returns
the canonical ImageSet. Loaded sets are cached per process and read-only.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.imageset import ImageSet
from charrec.data.location import resolve_data_dir
from charrec.data.readers.idx import read_idx_images, read_idx_labels
from charrec.errors import ConfigError, DataError, unknown_choice

EMNIST_FOLDERS = ("emnist", "emnist/gzip", "gzip", "")
MNIST_FOLDERS = ("mnist", "")


@dataclass(frozen=True)
class DataFile:
    """One file a data set needs, searched under several folders of the data directory."""

    name: str
    folders: tuple[str, ...]
    # What the official file holds, for `charrec data verify`.
    count: int | None = None
    label_range: tuple[int, int] | None = None
    # Also accept the file uncompressed (a user may have gunzipped it).
    accept_raw: bool = True

    def candidates(self, data_dir: Path) -> list[Path]:
        names = [self.name]
        if self.accept_raw and self.name.endswith(".gz"):
            names.append(self.name[:-3])
        return [data_dir / folder / name for folder in self.folders for name in names]

    def find(self, data_dir: Path) -> Path | None:
        return next((p for p in self.candidates(data_dir) if p.is_file()), None)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    classes: tuple[str, ...]
    # split -> the files it needs
    files: dict[str, tuple[DataFile, ...]]
    # split -> official number of images (None where it depends on the files)
    sizes: dict[str, int | None]
    loader: Callable[[DatasetSpec, Path, str], ImageSet]
    fetch_hint: str = ""
    options: dict[str, object] = field(default_factory=dict)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.files)

    def missing(self, data_dir: Path, split: str | None = None) -> list[DataFile]:
        splits = [split] if split else self.splits
        return [f for s in splits for f in self.files[s] if f.find(data_dir) is None]

    def is_present(self, data_dir: Path, split: str | None = None) -> bool:
        return not self.missing(data_dir, split)

    def path(self, data_dir: Path, data_file: DataFile) -> Path:
        found = data_file.find(data_dir)
        if found is None:
            where = ", ".join(str(p.parent) for p in data_file.candidates(data_dir)[::2])
            hint = f"; {self.fetch_hint}" if self.fetch_hint else ""
            raise DataError(f"{self.name}: {data_file.name} not found (looked in {where}){hint}")
        return found


_REGISTRY: dict[str, DatasetSpec] = {}

# Short names people type, for the registered names. "mnist" is MNIST itself; "digits"
# is EMNIST Digits; "letters" is the official EMNIST Letters, whose absent files are
# reported with a pointer to letters-dev (built from the partial files at hand).
ALIASES = {
    "letters": "emnist-letters",
    "balanced": "emnist-balanced",
    "bymerge": "emnist-bymerge",
    "byclass": "emnist-byclass",
    "digits": "emnist-digits",
    "bad": "binary-alphadigits",
    "bad-letters": "binary-alphadigits-letters",
    "bad-digits": "binary-alphadigits-digits",
}


def register(spec: DatasetSpec) -> DatasetSpec:
    _REGISTRY[spec.name] = spec
    return spec


def list_datasets() -> list[str]:
    return list(_REGISTRY)


def aliases_of(name: str) -> list[str]:
    """The short names of a registered data set."""
    return [alias for alias, target in ALIASES.items() if target == name]


def canonical_name(name: str) -> str:
    """The registered name of a short name ("letters" → "emnist-letters"); others unchanged."""
    return ALIASES.get(name, name)


def is_path(name: str) -> bool:
    """Whether `name` means a user's file or folder rather than a registered data set."""
    if name in _REGISTRY or name in ALIASES:
        return False
    from charrec.data.files import looks_like_path

    return looks_like_path(name)


def data_label(name: str) -> str:
    """A short label for folder names and titles: the registered name, or a file's stem."""
    if not is_path(name):
        return canonical_name(name)
    path = Path(name)
    stem = path.name.removesuffix(".gz")
    # An IDX images file is named for its set and part: "scans-train-images-idx3-ubyte".
    stem = stem.removesuffix("-images-idx3-ubyte")
    return Path(stem).stem if "." in stem else stem or path.name


def get_spec(name: str) -> DatasetSpec:
    try:
        return _REGISTRY[canonical_name(name)]
    except KeyError:
        listed = unknown_choice("data set", name, [*_REGISTRY, *ALIASES])
        raise ConfigError(f"{listed}; or give the path of a data file or folder") from None


def check_name(name: str, classes: str | None = None) -> None:
    """Raise the user's error for a name that is neither a data set nor an existing path,
    or for a class list given to a named data set (which has its own)."""
    if is_path(name):
        if not Path(name).expanduser().exists():
            raise DataError(f"{name}: no such file or folder")
        return
    spec = get_spec(name)
    if classes is not None:
        raise ConfigError(
            f"{spec.name} has its own classes; --classes (data.classes) is for a data file "
            "that does not say its classes (a CSV or IDX file)"
        )


def dataset_splits(
    name: str, data_dir: str | os.PathLike[str] | None = None, classes: str | None = None
) -> tuple[str, ...]:
    """The splits of a named data set, or the parts a file or folder holds (it reads it)."""
    if is_path(name):
        return tuple(_file_parts(_resolved(name), classes))
    check_name(name, classes)
    return get_spec(name).splits


# Names a file's validation part goes by (the course files say "validate").
VALIDATION_PARTS = ("validate", "validation", "val", "valid")


@dataclass(frozen=True)
class SplitRoles:
    """Which split trains, which validates (None: carve one out of train), which tests."""

    train: str
    validation: str | None
    test: str | None


def split_roles(splits: tuple[str, ...] | list[str]) -> SplitRoles:
    """The roles of a data set's splits: "train" (else the first), its own validation part
    if it has one, "test" if it has one."""
    train = "train" if "train" in splits else splits[0]
    validation = next((s for s in VALIDATION_PARTS if s in splits and s != train), None)
    test = "test" if "test" in splits and train != "test" else None
    return SplitRoles(train, validation, test)


def default_split(splits: tuple[str, ...] | list[str], prefer: str) -> str:
    """`prefer` ("train" to look, "test" to evaluate) if there, else the only split."""
    if prefer in splits or len(splits) != 1:
        return prefer
    return splits[0]


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    classes: str | None = None,
    *,
    resize: str = "emnist",
) -> ImageSet:
    """The named data set's split in canonical form (cached, read-only arrays).

    `name` may be a short name (`ALIASES`) or the path of a user's data file or folder
    (see charrec.data.files); `classes` names the class list of a file that does not
    carry it (a CSV under any name, IDX files, an .npz of another alphabet). Images that
    are not 28×28 (Binary AlphaDigits' 20×16) are converted here, once, by the policy
    `resize` (charrec.data.resize: "emnist" framing or "pad").
    """
    if is_path(name):
        from charrec.data.files import pick_part

        path = _resolved(name)
        return pick_part(Path(path), _file_parts(path, classes, resize), split)
    check_name(name, classes)
    spec = get_spec(name)
    if split not in spec.files:
        raise unknown_choice(f"split of {spec.name}", split, list(spec.splits))
    return _load_cached(spec.name, split, str(resolve_data_dir(data_dir).resolve()), resize)


def _resolved(name: str) -> str:
    return str(Path(name).expanduser().resolve())


def _canonical(dataset: ImageSet, resize: str | None) -> ImageSet:
    """28×28 by the policy `resize` (None: as read), read-only."""
    if resize is not None:
        from charrec.data.resize import conform

        dataset = conform(dataset, resize)
    dataset.images.flags.writeable = False
    dataset.labels.flags.writeable = False
    return dataset


@functools.lru_cache(maxsize=16)
def _load_cached(name: str, split: str, data_dir: str, resize: str = "emnist") -> ImageSet:
    spec = _REGISTRY[name]
    return _canonical(spec.loader(spec, Path(data_dir), split), resize)


def _file_parts(path: str, classes: str | None, resize: str | None = None) -> dict[str, ImageSet]:
    """Every part of a file, read once per process while the file is unchanged; made
    28×28 by the policy `resize` (None: as the file holds them)."""
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError:
        stamp = 0
    return dict(_file_parts_cached(path, classes, stamp, resize))


@functools.lru_cache(maxsize=4)
def _file_parts_cached(
    path: str, classes: str | None, stamp: int, resize: str | None
) -> dict[str, ImageSet]:
    from charrec.data.files import read_parts

    parts = read_parts(Path(path), classes)
    return {name: _canonical(dataset, resize) for name, dataset in parts.items()}


# --- IDX data sets: MNIST and the EMNIST splits --------------------------------------


def read_idx_pair(
    images_path: Path,
    labels_path: Path,
    classes: tuple[str, ...],
    name: str,
    transposed: bool,
    label_offset: int = 0,
) -> ImageSet:
    """Read an images/labels IDX pair into an ImageSet, checking they belong together."""
    images = read_idx_images(images_path, transposed=transposed)
    labels = read_idx_labels(labels_path) - label_offset
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: images are {images.shape[1:]}, expected 28×28")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        low, high = labels.min() + label_offset, labels.max() + label_offset
        raise DataError(
            f"{labels_path}: labels run {low}..{high}, expected {label_offset}.."
            f"{label_offset + len(classes) - 1} for {name}"
        )
    return ImageSet(images, labels, classes, name, (str(images_path), str(labels_path)))


def _load_idx(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    images_file, labels_file = spec.files[split]
    return read_idx_pair(
        spec.path(data_dir, images_file),
        spec.path(data_dir, labels_file),
        spec.classes,
        f"{spec.name}:{split}",
        transposed=bool(spec.options.get("transposed")),
        label_offset=int(spec.options.get("label_offset", 0)),  # type: ignore[arg-type]
    )


# The development protocols that stand in for EMNIST splits whose files are absent here.
STAND_INS = {"letters": "letters-dev", "balanced": "balanced-dev"}

EMNIST_SIZES = {
    "byclass": (697_932, 116_323, "62 classes: digits, upper and lower case letters"),
    "bymerge": (697_932, 116_323, "47 classes: ByClass with 15 look-alike letter cases merged"),
    "balanced": (112_800, 18_800, "47 classes, the same number of images per class"),
    "letters": (124_800, 20_800, "26 letter classes, upper and lower case merged"),
    "digits": (240_000, 40_000, "10 digit classes"),
    "mnist": (60_000, 10_000, "10 digit classes, in MNIST's sizes"),
}


def emnist_files(
    split: str, part: str, suffix: str = "", count: int | None = None
) -> tuple[DataFile, DataFile]:
    """The IDX file pair of one EMNIST split and part (train/test); `suffix` names a partial."""
    train, test, _ = EMNIST_SIZES[split]
    count = count or (train if part == "train" else test)
    offset = 1 if split == "letters" else 0
    labels = (offset, offset + len(EMNIST_CLASSES[split]) - 1)
    return (
        DataFile(f"emnist-{split}-{part}-images-idx3-ubyte{suffix}.gz", EMNIST_FOLDERS, count),
        DataFile(
            f"emnist-{split}-{part}-labels-idx1-ubyte{suffix}.gz", EMNIST_FOLDERS, count, labels
        ),
    )


register(
    DatasetSpec(
        name="mnist",
        description="MNIST handwritten digits (LeCun et al.), 10 classes",
        classes=EMNIST_CLASSES["mnist"],
        files={
            "train": (
                DataFile("train-images-idx3-ubyte.gz", MNIST_FOLDERS, 60_000),
                DataFile("train-labels-idx1-ubyte.gz", MNIST_FOLDERS, 60_000, (0, 9)),
            ),
            "test": (
                DataFile("t10k-images-idx3-ubyte.gz", MNIST_FOLDERS, 10_000),
                DataFile("t10k-labels-idx1-ubyte.gz", MNIST_FOLDERS, 10_000, (0, 9)),
            ),
        },
        sizes={"train": 60_000, "test": 10_000},
        loader=_load_idx,
        fetch_hint="put the four official MNIST files in <data-dir>/mnist/",
    )
)


for _split, (_train, _test, _what) in EMNIST_SIZES.items():
    register(
        DatasetSpec(
            name=f"emnist-{_split}",
            description=f"EMNIST {_split.capitalize()} (Cohen et al. 2017), {_what}",
            classes=EMNIST_CLASSES[_split],
            files={"train": emnist_files(_split, "train"), "test": emnist_files(_split, "test")},
            sizes={"train": _train, "test": _test},
            loader=_load_idx,
            fetch_hint=f"run `charrec data fetch emnist --split {_split}`"
            + (
                f"; until then, {STAND_INS[_split]} is the {_split} protocol built from the "
                "files at hand"
                if _split in STAND_INS
                else ""
            ),
            options={"transposed": True, "label_offset": 1 if _split == "letters" else 0},
        )
    )
