"""`charrec data ...`: list, inspect, show, verify and fetch data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from charrec.commands.data_fetch import fetch
from charrec.commands.options import DataDirOption
from charrec.data import get_spec, list_datasets, load_dataset
from charrec.data.files import looks_like_path, read_parts
from charrec.data.location import describe_source, resolve_data_dir
from charrec.data.verify import verify_data_dir
from charrec.errors import CharrecError

app = typer.Typer(help="Find, inspect, verify and download data sets.", no_args_is_help=True)
app.command("fetch")(fetch)
console = Console()


def _size_on_disk(paths: list[Path]) -> str:
    total = sum(p.stat().st_size for p in paths)
    return f"{total / 1e6:,.1f} MB" if total else "-"


@app.command("list")
def list_command(data_dir: DataDirOption = None) -> None:
    """List the known data sets, which are present in the data directory, and their sizes."""
    root = resolve_data_dir(data_dir)
    console.print(f"data directory: {root} (from {describe_source(data_dir)})")
    table = Table("name", "classes", "splits (official size)", "present", "on disk")
    table.columns[0].no_wrap = True
    for name in list_datasets():
        spec = get_spec(name)
        present = [s for s in spec.splits if spec.is_present(root, s)]
        files = [f.find(root) for s in spec.splits for f in spec.files[s]]
        splits = "\n".join(
            f"{s} ({spec.sizes[s]:,})" if spec.sizes.get(s) else s for s in spec.splits
        )
        table.add_row(
            name,
            str(len(spec.classes)),
            splits,
            ", ".join(present) if present else "[dim]no[/]",
            _size_on_disk(sorted({p for p in files if p is not None})),
        )
    console.print(table)


def _print_counts(title: str, classes: tuple[str, ...], splits: dict) -> None:
    table = Table("class", *splits, title=title)
    counts = {s: d.counts() for s, d in splits.items()}
    for k, class_name in enumerate(classes):
        table.add_row(class_name, *(f"{counts[s][k]:,}" for s in splits))
    table.add_row("[bold]total[/]", *(f"[bold]{len(d):,}[/]" for d in splits.values()))
    console.print(table)


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="A data set name, or a data file or folder.")],
    data_dir: DataDirOption = None,
) -> None:
    """Counts per split and per class of a data set (or of your own data file)."""
    if name not in list_datasets() and looks_like_path(name):
        parts = read_parts(Path(name))
        first = next(iter(parts.values()))
        console.print(f"[bold]{name}[/]: {len(first.classes)} classes, parts {', '.join(parts)}")
        _print_counts("images per class", first.classes, parts)
        return
    spec = get_spec(name)
    root = resolve_data_dir(data_dir)
    present = [s for s in spec.splits if spec.is_present(root, s)]
    if not present:
        spec.path(root, spec.missing(root)[0])  # raises with the fetch hint
    console.print(f"[bold]{name}[/]: {spec.description}")
    for split in spec.splits:
        if split not in present:
            missing = ", ".join(f.name for f in spec.missing(root, split))
            console.print(f"  {split}: [yellow]not present[/] (missing {missing})")
    _print_counts(
        "images per class", spec.classes, {s: load_dataset(name, s, root) for s in present}
    )


@app.command("show")
def show_command(
    name: str,
    split: Annotated[str, typer.Option(help="Which split to sample.")] = "train",
    n: Annotated[int, typer.Option("-n", "--count", help="How many images.", min=1)] = 64,
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("samples.png"),
    seed: Annotated[int, typer.Option(help="Which random sample.")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Save a labelled grid of random samples, to check that images and labels agree."""
    from charrec.evaluate.figures import image_grid

    if out.suffix.lower() != ".png":
        raise CharrecError(f"--out {out}: the grid is written as PNG; use a .png name")
    dataset = load_dataset(name, split, data_dir)
    if len(dataset) == 0:
        raise CharrecError(f"{name}:{split} holds no images")
    pick = np.random.default_rng(seed).choice(
        len(dataset), size=min(n, len(dataset)), replace=False
    )
    titles = [f"{dataset.classes[dataset.labels[i]]} ({dataset.labels[i]})" for i in pick]
    image_grid(dataset.images[pick], titles, out, suptitle=f"{name} {split}: label (index)")
    console.print(f"wrote {out} ({len(pick)} images of {name}:{split})")


@app.command("verify")
def verify_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Data sets to check (default: all).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check every present file: format and magic, counts, label range, checksum."""
    root = resolve_data_dir(data_dir)
    for name in names or []:
        get_spec(name)
    checks = verify_data_dir(root, names)
    if not checks:
        raise CharrecError(
            f"no data files found in {root}; see `charrec data list` and `charrec data fetch`"
        )
    table = Table("", "file or split", "result")
    table.columns[1].overflow = "fold"
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[red]BAD[/]"
        subject = check.subject.removeprefix(f"{root}/")  # files relative to the data dir
        table.add_row(mark, subject, check.detail)
    console.print(f"data directory: {root}")
    console.print(table)
    bad = [c for c in checks if not c.ok]
    if bad:
        raise CharrecError(
            f"{len(bad)} of {len(checks)} checks failed: {bad[0].subject}: {bad[0].detail}"
        )
    console.print(f"all {len(checks)} checks passed")
