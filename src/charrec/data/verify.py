"""Check every data file present in a data directory: format, counts, labels, checksum."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charrec.data.checksums import KNOWN_SHA256, sha256_of
from charrec.data.classes import EMNIST_CLASSES, read_mapping
from charrec.data.readers.idx import read_idx_images, read_idx_labels
from charrec.data.registry import (
    EMNIST_FOLDERS,
    DataFile,
    DatasetSpec,
    get_spec,
    list_datasets,
)
from charrec.errors import CharrecError


@dataclass(frozen=True)
class Check:
    subject: str
    ok: bool
    detail: str


def check_file(data_file: DataFile, path: Path) -> Check:
    """Read one file as its format says and compare it with what the official file holds."""
    facts = []
    try:
        if "idx3" in path.name:
            count = len(read_idx_images(path))
            facts.append(f"{count:,} images")
        elif "idx1" in path.name:
            labels = read_idx_labels(path)
            count = len(labels)
            low, high = (int(labels.min()), int(labels.max())) if count else (0, -1)
            facts.append(f"{count:,} labels {low}..{high}")
            if data_file.label_range and not (
                data_file.label_range[0] <= low and high <= data_file.label_range[1]
            ):
                expected = "..".join(map(str, data_file.label_range))
                return Check(str(path), False, f"labels run {low}..{high}, expected {expected}")
        else:
            count = None
    except CharrecError as exc:
        return Check(str(path), False, str(exc))
    if data_file.count is not None and count is not None and count != data_file.count:
        return Check(str(path), False, f"{count:,} items, expected {data_file.count:,}")
    expected_sha = KNOWN_SHA256.get(path.name)
    if expected_sha is not None:
        actual = sha256_of(path)
        if actual != expected_sha:
            return Check(
                str(path), False, f"sha256 {actual[:12]}… is not the official {expected_sha[:12]}…"
            )
        facts.append("sha256 official")
    return Check(str(path), True, ", ".join(facts) or "present")


def check_split(spec: DatasetSpec, data_dir: Path, split: str) -> Check:
    """Load a whole split: images and labels must belong together."""
    subject = f"{spec.name}:{split}"
    try:
        dataset = spec.loader(spec, data_dir, split)
    except CharrecError as exc:
        return Check(subject, False, str(exc))
    expected = spec.sizes.get(split)
    if expected is not None and len(dataset) != expected:
        return Check(subject, False, f"{len(dataset):,} images, expected {expected:,}")
    present = int((dataset.counts() > 0).sum())
    return Check(subject, True, f"{len(dataset):,} images, {present}/{dataset.num_classes} classes")


def check_mappings(data_dir: Path) -> list[Check]:
    """Each EMNIST mapping file present must name the classes charrec uses for that split."""
    checks = []
    for split, classes in EMNIST_CLASSES.items():
        mapping = DataFile(f"emnist-{split}-mapping.txt", EMNIST_FOLDERS, accept_raw=False)
        path = mapping.find(data_dir)
        if path is None:
            continue
        try:
            names, first = read_mapping(path)
        except CharrecError as exc:
            checks.append(Check(str(path), False, str(exc)))
            continue
        ok = names == classes
        detail = (
            f"{len(names)} classes from label {first}" if ok else "classes differ from EMNIST's"
        )
        checks.append(Check(str(path), ok, detail))
    return checks


def verify_data_dir(data_dir: Path, names: list[str] | None = None) -> list[Check]:
    """Checks for every present file (once each) and every split whose files are all present."""
    checks: list[Check] = []
    seen: set[Path] = set()
    for name in names or list_datasets():
        spec = get_spec(name)
        for split, files in spec.files.items():
            for data_file in files:
                path = data_file.find(data_dir)
                if path is not None and path not in seen:
                    seen.add(path)
                    checks.append(check_file(data_file, path))
            if spec.is_present(data_dir, split):
                checks.append(check_split(spec, data_dir, split))
    if names is None:
        checks.extend(check_mappings(data_dir))
    return checks
