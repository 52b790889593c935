"""Class names of the named data sets, from the official EMNIST mappings.

Case-merged letter classes are named by their capital (EMNIST Letters' class 1 is 'A',
covering 'A' and 'a'), as in the official ByMerge/Balanced mapping.
"""

from __future__ import annotations

import string
from pathlib import Path

from charrec.errors import DataError

DIGITS = tuple(string.digits)
UPPER = tuple(string.ascii_uppercase)
LOWER = tuple(string.ascii_lowercase)
# Lowercase letters that ByMerge/Balanced keep apart from their capital.
DISTINCT_LOWER = tuple("abdefghnqrt")
# Letters whose upper and lower case look alike (c o s u v w x z ...): those ByMerge and
# Balanced merge, CIJKLMOPSUVWXYZ. A lone character often cannot tell their case.
CASE_LOOK_ALIKE = frozenset(u for u in UPPER if u.lower() not in DISTINCT_LOWER)

EMNIST_CLASSES: dict[str, tuple[str, ...]] = {
    "byclass": DIGITS + UPPER + LOWER,
    "bymerge": DIGITS + UPPER + DISTINCT_LOWER,
    "balanced": DIGITS + UPPER + DISTINCT_LOWER,
    "letters": UPPER,
    "digits": DIGITS,
    "mnist": DIGITS,
}


def read_mapping(path: Path) -> tuple[tuple[str, ...], int]:
    """Class names and the first label of an `emnist-*-mapping.txt` file.

    Each line is `label ascii [ascii]`; Letters lists the upper and lower code and its
    labels start at 1.
    """
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        labels = [int(row[0]) for row in rows]
        names = [chr(int(row[1])) for row in rows]
    except (OSError, ValueError, IndexError) as exc:
        raise DataError(f"{path}: not an EMNIST mapping file ({exc})") from None
    if labels != list(range(labels[0], labels[0] + len(labels))):
        raise DataError(f"{path}: labels are not consecutive")
    return tuple(names), labels[0]
