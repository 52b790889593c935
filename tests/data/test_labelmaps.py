from __future__ import annotations

import numpy as np
import pytest

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.imageset import ImageSet
from charrec.data.labelmaps import letters_only, merge_case, select, to_bymerge
from charrec.errors import DataError

BYCLASS = EMNIST_CLASSES["byclass"]


def byclass_set() -> ImageSet:
    labels = np.arange(62, dtype=np.int64)
    images = np.repeat(labels.astype(np.uint8)[:, None, None], 28, axis=1).repeat(28, axis=2)
    return ImageSet(images, labels, BYCLASS, "byclass")


def test_merge_case_is_emnist_letters() -> None:
    merged = merge_case(BYCLASS).apply(byclass_set())
    assert merged.classes == EMNIST_CLASSES["letters"]
    assert len(merged) == 52  # digits dropped
    names = [merged.classes[k] for k in merged.labels]
    assert names == list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") * 2
    # Each image keeps its own label: image value = old label.
    assert [BYCLASS[v].upper() for v in merged.images[:, 0, 0]] == names


def test_to_bymerge_merges_the_fifteen_lookalikes() -> None:
    mapped = to_bymerge(BYCLASS).apply(byclass_set())
    assert mapped.classes == EMNIST_CLASSES["bymerge"] and len(mapped) == 62
    by_old = {
        BYCLASS[v]: mapped.classes[k]
        for v, k in zip(mapped.images[:, 0, 0], mapped.labels, strict=True)
    }
    merged = {c for c in "abcdefghijklmnopqrstuvwxyz" if by_old[c] == c.upper()}
    assert merged == set("cijklmopsuvwxyz")
    assert by_old["a"] == "a" and by_old["7"] == "7"


def test_merge_case_on_bymerge_gives_letters() -> None:
    table = merge_case(EMNIST_CLASSES["bymerge"]).table
    assert (table[:10] == -1).all() and table[EMNIST_CLASSES["bymerge"].index("e")] == 4


def test_select_and_letters_only() -> None:
    vowels = select(BYCLASS, list("AEIOU")).apply(byclass_set())
    assert vowels.classes == tuple("AEIOU") and list(vowels.labels) == [0, 1, 2, 3, 4]
    assert letters_only(BYCLASS).target == BYCLASS[10:]
    with pytest.raises(DataError, match="not in"):
        select(BYCLASS, ["?"])


def test_apply_checks_the_source_classes() -> None:
    with pytest.raises(DataError, match="label map expects"):
        merge_case(EMNIST_CLASSES["letters"]).apply(byclass_set())
