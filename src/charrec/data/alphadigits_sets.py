"""Binary AlphaDigits as named data sets, in the canonical 28×28 EMNIST frame.

The original 20×16 images stay available through
`charrec.data.readers.alphadigits.read_binary_alphadigits`; `load_dataset` converts the
named sets once, by the resize policy it is given: by default
`charrec.data.resize.to_emnist_frame` (crop to the ink, centre in a square, pad 2 px,
resize to 28×28 as EMNIST was made), so models trained on EMNIST see the same framing;
"pad" keeps the whole bitmap, scaled and padded. There is no official train/test split:
the one split is "all" (1,404 images, 1,014 capitals or 390 digits), meant for k-fold
cross-validation, or for measuring models trained elsewhere on scans from outside NIST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charrec.data.classes import DIGITS, UPPER
from charrec.data.imageset import ImageSet
from charrec.data.registry import DataFile, DatasetSpec, register

BAD_FILE = DataFile("binaryalphadigs.mat", ("binaryalphadigits", ""), accept_raw=False)


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    from charrec.data.readers.alphadigits import read_binary_alphadigits

    path = spec.path(data_dir, BAD_FILE)
    part = spec.options["part"]
    # 20×16: load_dataset makes them 28×28 by the run's resize policy (EMNIST framing
    # unless it says otherwise).
    native = read_binary_alphadigits(path, letters_only=part == "letters")
    if part == "digits":
        # The file holds digits first (labels 0..9), so their labels need no renumbering.
        digits = np.flatnonzero(native.labels < len(DIGITS))
        native = ImageSet(
            native.images[digits], native.labels[digits], DIGITS, native.name, native.sources
        )
    return native.with_name(spec.name)


for _name, _part, _classes, _count in (
    ("binary-alphadigits", "all", DIGITS + UPPER, 1404),
    ("binary-alphadigits-letters", "letters", UPPER, 1014),
    ("binary-alphadigits-digits", "digits", DIGITS, 390),
):
    register(
        DatasetSpec(
            name=_name,
            description=f"Binary AlphaDigits (Roweis), {len(_classes)} classes × 39, 20×16 → 28×28",
            classes=_classes,
            files={"all": (BAD_FILE,)},
            sizes={"all": _count},
            loader=_load,
            fetch_hint="put the original binaryalphadigs.mat in <data-dir>/binaryalphadigits/",
            options={"part": _part},
        )
    )
