"""`charrec data ...`: list, inspect, show, verify and fetch data sets."""

from __future__ import annotations

import typer

app = typer.Typer(help="Find, inspect, verify and download data sets.", no_args_is_help=True)
