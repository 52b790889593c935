"""`charrec data ...`: list, inspect, show, verify and fetch data sets.

Every command that takes a data set also takes a data file or folder (see
charrec.data.files); heavy libraries are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from charrec.commands.data_fetch import fetch
from charrec.commands.options import ClassesOption, DataDirOption
from charrec.errors import CharrecError

app = typer.Typer(help="Find, inspect, verify and download data sets.", no_args_is_help=True)
app.command("fetch")(fetch)
console = Console(emoji=False)  # file names are data, never emoji codes

NameArgument = Annotated[
    str, typer.Argument(help="A data set name (see `charrec data list`), or a data file or folder.")
]


def _size_on_disk(paths: list[Path]) -> str:
    total = sum(p.stat().st_size for p in paths)
    return f"{total / 1e6:,.1f} MB" if total else "-"


@app.command("list")
def list_command(data_dir: DataDirOption = None) -> None:
    """List the known data sets, their short names, which files are present, sizes."""
    from charrec.data import get_spec, list_datasets
    from charrec.data.location import describe_source, resolve_data_dir
    from charrec.data.registry import aliases_of

    root = resolve_data_dir(data_dir)
    console.print(f"data directory: {root} (from {describe_source(data_dir)})")
    table = Table("name", "classes", "splits (official size)", "present", "on disk")
    table.columns[0].no_wrap = True
    for name in list_datasets():
        spec = get_spec(name)
        found = [f.find(root) for s in spec.splits for f in spec.files[s]]
        splits = "\n".join(
            f"{s} ({spec.sizes[s]:,})" if spec.sizes.get(s) else s for s in spec.splits
        )
        short = ", ".join(aliases_of(name))
        table.add_row(
            f"{name}\n[dim]or {short}[/]" if short else name,
            str(len(spec.classes)),
            splits,
            _presence(spec, root),
            _size_on_disk(sorted({p for p in found if p is not None})),
        )
    console.print(table)


def _presence(spec, root: Path) -> str:
    """Which splits are complete; for a partly present set, which files are missing."""
    present = [s for s in spec.splits if spec.is_present(root, s)]
    if len(present) == len(spec.splits):
        return ", ".join(present)
    files = {f.name: f for s in spec.splits for f in spec.files[s]}
    missing = sorted({f.name for f in spec.missing(root)})
    if len(missing) == len(files):
        return "[dim]no[/]"
    shown = f"{', '.join(present)}; " if present else ""
    return f"{shown}[yellow]missing {len(missing)} of {len(files)} files:[/] " + ", ".join(missing)


def _print_counts(title: str, classes: tuple[str, ...], splits: dict) -> None:
    table = Table("class", *splits, title=title)
    counts = {s: d.counts() for s, d in splits.items()}
    for k, class_name in enumerate(classes):
        table.add_row(class_name, *(f"{counts[s][k]:,}" for s in splits))
    table.add_row("[bold]total[/]", *(f"[bold]{len(d):,}[/]" for d in splits.values()))
    console.print(table)


@app.command("info")
def info_command(
    name: NameArgument,
    classes: ClassesOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Counts per split and per class of a data set (or of your own data file)."""
    from charrec.data import dataset_splits, get_spec, load_dataset
    from charrec.data.location import resolve_data_dir
    from charrec.data.registry import is_path

    if is_path(name):
        parts = {
            s: load_dataset(name, s, classes=classes) for s in dataset_splits(name, None, classes)
        }
        first = next(iter(parts.values()))
        console.print(
            f"[bold]{escape(name)}[/]: {len(first.classes)} classes, parts {', '.join(parts)}"
        )
        _print_counts("images per class", first.classes, parts)
        return
    spec = get_spec(name)
    root = resolve_data_dir(data_dir)
    present = [s for s in spec.splits if spec.is_present(root, s)]
    if not present:
        spec.path(root, spec.missing(root)[0])  # raises with the fetch hint
    console.print(f"[bold]{spec.name}[/]: {spec.description}")
    for split in spec.splits:
        if split not in present:
            missing = ", ".join(f.name for f in spec.missing(root, split))
            console.print(f"  {split}: [yellow]not present[/] (missing {missing})")
    _print_counts(
        "images per class", spec.classes, {s: load_dataset(name, s, root) for s in present}
    )


# ruff: noqa: UP045  (typer needs Optional on Python 3.10)
@app.command("show")
def show_command(
    name: NameArgument,
    split: Annotated[
        Optional[str],
        typer.Option(
            help="Which split to sample (default: train, or the only one).", show_default=False
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", "--count", help="How many images.", min=1)] = 64,
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("samples.png"),
    seed: Annotated[int, typer.Option(help="Which random sample.")] = 0,
    classes: ClassesOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Save a labelled grid of random samples, to check that images and labels agree."""
    import numpy as np

    from charrec.data import data_label, dataset_splits, default_split, load_dataset
    from charrec.evaluate.figures import image_grid

    if out.suffix.lower() != ".png":
        raise CharrecError(f"--out {out}: the grid is written as PNG; use a .png name")
    split = split or default_split(dataset_splits(name, data_dir, classes), "train")
    dataset = load_dataset(name, split, data_dir, classes)
    label = data_label(name)
    if len(dataset) == 0:
        raise CharrecError(f"{label}:{split} holds no images")
    pick = np.random.default_rng(seed).choice(
        len(dataset), size=min(n, len(dataset)), replace=False
    )
    titles = [f"{dataset.classes[dataset.labels[i]]} ({dataset.labels[i]})" for i in pick]
    image_grid(dataset.images[pick], titles, out, suptitle=f"{label} {split}: label (index)")
    console.print(f"wrote {out} ({len(pick)} images of {label}:{split})", highlight=False)


@app.command("verify")
def verify_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Data sets to check (default: all).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check every present file: format and magic, counts, label range, checksum."""
    from charrec.data import canonical_name, get_spec
    from charrec.data.location import resolve_data_dir
    from charrec.data.verify import verify_data_dir

    root = resolve_data_dir(data_dir)
    names = [canonical_name(name) for name in names] if names else names
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
