"""Data: readers for every format, named data sets, label maps, splits, dedup, download."""

# Importing these registers their named data sets.
from charrec.data import alphadigits_sets as _alphadigits_sets  # noqa: F401
from charrec.data import alphanumeric_dev as _alphanumeric_dev  # noqa: F401
from charrec.data import balanced_dev as _balanced_dev  # noqa: F401
from charrec.data import letters_case_dev as _letters_case_dev  # noqa: F401
from charrec.data import letters_dev as _letters_dev  # noqa: F401
from charrec.data import realworld_sets as _realworld_sets  # noqa: F401
from charrec.data.imageset import ImageSet, concat
from charrec.data.registry import (
    DatasetSpec,
    canonical_name,
    check_name,
    data_label,
    dataset_splits,
    default_split,
    get_spec,
    list_datasets,
    load_dataset,
    split_roles,
)

__all__ = [
    "DatasetSpec",
    "ImageSet",
    "canonical_name",
    "check_name",
    "concat",
    "data_label",
    "dataset_splits",
    "default_split",
    "get_spec",
    "list_datasets",
    "load_dataset",
    "split_roles",
]
