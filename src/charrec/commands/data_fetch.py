"""`charrec data fetch`: download official data set files into the data directory."""

from __future__ import annotations


def fetch() -> None:
    """Download data sets (being written)."""
    raise NotImplementedError
