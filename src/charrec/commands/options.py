"""Options shared by several sub-commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DataDirOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--data-dir",
        help="Data directory (default: $CHARREC_DATA, else the per-user cache).",
        show_default=False,
    ),
]

ClassesOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--classes",
        help="Class list of a data file that lacks one (CSV, IDX): byclass, bymerge, "
        "balanced, letters, digits or mnist.",
        show_default=False,
    ),
]


# Options of the commands that recognise people's images (predict, read).
RecognizerTtaOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--tta",
        help="Test-time augmentation: each picture's probabilities averaged over copies of "
        "it, shift (5) or affine (9): a little more accurate, that many times the model's work.",
        show_default=False,
    ),
]

ImageSourcesArgument = Annotated[
    list[str],
    typer.Argument(
        help="Image files, folders (searched recursively), or - for one image on stdin.",
        show_default=False,
    ),
]
RecognizerModelOption = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="A shipped model (letters, digits, alphanumeric) or a run folder."
    ),
]
