"""`charrec data fetch`: download official data set files into the data directory."""

from __future__ import annotations

import functools
from typing import Annotated, Optional

import typer
from rich.console import Console

from charrec.commands.options import DataDirOption

_ADVANCED = "Advanced"
# What can be fetched and the default timeout, as charrec.data.download has them (that
# module is imported when the command runs, not for --help; a test checks they agree).
FETCHABLE = ("emnist",)
DEFAULT_TIMEOUT = 30.0


def fetch(
    dataset: Annotated[
        str,
        typer.Argument(help=f"Data set to download: {', '.join(FETCHABLE)}.", show_default=False),
    ],
    split: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--split",
            "-s",
            help="Split to extract; repeat it or separate with commas (default: all).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    keep_archive: Annotated[
        bool,
        typer.Option(
            "--keep-archive",
            help="Keep the downloaded archive in <data-dir>/downloads to extract more later.",
        ),
    ] = False,
    url: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--url",
            help="Download from this URL instead of the official mirrors (repeat for fallbacks).",
            show_default=False,
            rich_help_panel=_ADVANCED,
        ),
    ] = None,
    md5: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--md5",
            help="Expected md5 of the archive, replacing the official checksum.",
            show_default=False,
            rich_help_panel=_ADVANCED,
        ),
    ] = None,
    sha256: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--sha256",
            help="Expected sha256 of the archive, replacing the official checksum.",
            show_default=False,
            rich_help_panel=_ADVANCED,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1.0,
            help="Seconds to wait for a server before trying the next URL.",
            rich_help_panel=_ADVANCED,
        ),
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Download a data set from its official source and extract the splits asked for.

    The download resumes where an interrupted one stopped, is checked against the official
    checksum, and only the requested splits are extracted, each file verified, into
    <data-dir>/<data set>/. Files already there and valid are not downloaded again.

    Example: charrec data fetch emnist --split letters --split balanced
    """
    from charrec.data import download
    from charrec.data.location import resolve_data_dir

    spec = download.get_fetch_spec(dataset)
    asked = [p.strip() for item in split or [] for p in item.split(",") if p.strip()]
    parts = download.resolve_parts(spec, asked)
    console = Console()
    root = resolve_data_dir(data_dir)
    say = functools.partial(console.print, soft_wrap=True, highlight=False, markup=False)
    say(f"{spec.description}: fetching {', '.join(parts)} into {root}")
    result = download.fetch(
        spec,
        parts,
        root,
        urls=url,
        md5=md5,
        sha256=sha256,
        keep_archive=keep_archive,
        timeout=timeout,
        console=console,
    )
    done = f"{len(result.extracted)} extracted, {len(result.present)} already present"
    say(f"done: {done}, in {result.folder}")
    if result.archive is not None:
        say(f"archive kept: {result.archive}")
