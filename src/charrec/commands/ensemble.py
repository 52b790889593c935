"""`charrec ensemble`: trained models as one ensemble folder, thin over charrec.infer.ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from charrec.commands.options import DataDirOption
from charrec.errors import ConfigError

EPILOG = """\
[bold]Examples[/]

  Two run folders and the shipped digits model, averaged, scored on MNIST test:

    charrec ensemble runs/a runs/b digits --out runs/ens --data mnist

  Weighted by each member's validation accuracy:

    charrec ensemble runs/a runs/b runs/c --out runs/ens --weighted

  A seed ensemble: one recipe trained with seeds 0, 1 and 2 into
  runs/ens/members/seed-S, then averaged; rerun it to continue after a stop:

    charrec ensemble --recipe recipes/digits.yaml --seeds 0,1,2 \\
      --out runs/ens --data mnist

  Several architectures, each with seeds 0 and 1 (members/<recipe>-seed-S):

    charrec ensemble --recipe recipes/mnist-top.yaml \\
      --recipe recipes/mnist-deotte.yaml --seeds 0,1 --out runs/mix --data mnist

  A snapshot ensemble: the last epochs of one run that kept them
  (trained with --set training.keep_snapshots=3):

    charrec ensemble --snapshots runs/letters --out runs/letters-snap

  Scored with test-time augmentation (each image and 8 altered copies, see
  charrec evaluate --help); the card says so:

    charrec ensemble runs/a runs/b --out runs/ens --data mnist --tta affine

  The folder goes wherever a run folder goes:

    charrec evaluate runs/ens --data mnist
    charrec predict photo.png --model runs/ens
    charrec export runs/ens --format onnx
    charrec bench infer --model runs/ens

  Members must name the same classes and take the same input. The card (card.md,
  card.json) lists the members, their own test scores and cost (parameters, FLOPs
  per image) beside the ensemble's.
"""


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def ensemble(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The ensemble folder to write.", show_default=False)
    ],
    members: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Run folders or shipped model names (at least two).", show_default=False
        ),
    ] = None,
    weighted: Annotated[
        bool, typer.Option("--weighted", help="Weight members by validation accuracy.")
    ] = False,
    data: Annotated[
        Optional[str],
        typer.Option(
            "--data",
            "-d",
            help="Score the ensemble and each member on this data set (its test split).",
            show_default=False,
        ),
    ] = None,
    split: Annotated[
        Optional[str],
        typer.Option("--split", "-s", help="Split of --data (default test).", show_default=False),
    ] = None,
    data_dir: DataDirOption = None,
    tta: Annotated[
        Optional[str],
        typer.Option(
            "--tta",
            help="With --data: test-time augmentation, shift (5 views) or affine (9).",
            show_default=False,
        ),
    ] = None,
    recipe: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--recipe",
            help="Train the members from this config, one per seed (repeatable).",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        str, typer.Option("--seeds", help="Seeds of the --recipe members, e.g. 0,1,2.")
    ] = "0,1,2",
    snapshots: Annotated[
        Optional[Path],
        typer.Option(
            "--snapshots",
            help="Average the epochs this run kept (keep_snapshots).",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an ensemble already in --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Average trained models' probabilities: one ensemble folder for every command."""
    from charrec.infer.ensemble import load_member, write_ensemble

    console = Console(quiet=quiet)
    sources: list[str | Path] = list(members or [])
    given = [
        what
        for what, there in (
            ("member folders", sources),
            ("--recipe", recipe),
            ("--snapshots", snapshots),
        )
        if there
    ]
    if len(given) > 1:
        raise ConfigError(
            f"give one of member folders, --recipe and --snapshots, not {given[0]} and {given[1]}"
        )
    if not given:
        raise ConfigError(
            "name at least two run folders or shipped models, or give --recipe or --snapshots"
        )
    if tta is not None:
        from charrec.evaluate.tta import check_policy

        check_policy(tta)  # before any training or loading
        if data is None:
            raise ConfigError("--tta scores the ensemble on --data; give --data too")
    if snapshots is not None:
        from charrec.infer.ensemble_snapshots import snapshot_members

        loaded = snapshot_members(snapshots)
    else:
        if recipe is not None:
            from charrec.infer.ensemble_seeds import parse_seeds, train_recipe_members

            # Several recipes make several members even with one seed.
            parsed = parse_seeds(seeds, least=2 if len(recipe) == 1 else 1)
            if (out / "model.json").exists() and not overwrite:
                raise ConfigError(f"{out} already holds a model; replace it with --overwrite")
            sources = list(
                train_recipe_members(recipe, parsed, out, console=console, verbose=not quiet)
            )
        if len(sources) < 2:
            raise ConfigError(f"an ensemble needs at least two members, got {len(sources)}")
        loaded = [load_member(str(source)) for source in sources]
    folder = write_ensemble(
        loaded,
        out,
        weighted=weighted,
        data=data,
        split=split,
        data_dir=data_dir,
        overwrite=overwrite,
        tta=tta,
    )
    _print_summary(console, folder)


def _print_summary(console: Console, folder: Path) -> None:
    from charrec.fileio import read_json
    from charrec.infer.publish import percent

    card = read_json(folder / "card.json")
    console.print(
        f"wrote ensemble {escape(str(folder))}: {len(card['members'])} members, "
        f"{card['parameters']:,} parameters, {card['flops_per_image'] / 1e6:.2f} MFLOPs "
        "per image",
        soft_wrap=True,
        highlight=False,
    )
    on = card["test_data"]
    for m in card["members"]:
        score = f", {percent(m['accuracy_on_data'])} on {on}" if on else ""
        console.print(
            f"  {escape(m['source'])}: {m['model']}, weight {m['weight']:.3f}{score}",
            soft_wrap=True,
            highlight=False,
        )
    if on:
        console.print(
            f"ensemble: {percent(card['test_accuracy'])} on {on}", soft_wrap=True, highlight=False
        )
    console.print(f"card: {escape(str(folder / 'card.md'))}", soft_wrap=True, highlight=False)
