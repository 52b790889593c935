"""Opening data files with one clear message for each way it can fail."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from charrec.errors import DataError


def open_binary(path: Path, kind: str) -> BinaryIO:
    """Open `path` for reading bytes; `kind` names what it should be ("a CSV file")."""
    try:
        return open(path, "rb")  # the caller closes it
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not {kind}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
