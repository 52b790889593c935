"""A seed ensemble: one recipe trained once per seed, the runs kept in ENSEMBLE/members/.

    folders = train_seed_members("recipes/letters.yaml", [0, 1, 2], Path("runs/ens"))

Each member is an ordinary run folder, `members/seed-<S>`, trained by `charrec.train` with
`training.seed` set to S. Several recipes (other architectures make other mistakes, so
their average gains more than seeds of one) give `members/<recipe>-seed-<S>`, every recipe
with every seed:

    folders = train_recipe_members(["recipes/mnist-top.yaml", "recipes/mnist-deotte.yaml"],
                                   [0, 1], Path("runs/mix"))

Running it again continues where it stopped: a finished member (it has metrics.json) is
kept, an interrupted one is resumed from its last epoch, a missing one is trained. A member
folder trained from another config is refused rather than mixed in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from charrec.errors import CharrecError, ConfigError

MEMBERS = "members"


def parse_seeds(text: str, least: int = 2) -> list[int]:
    """ "0,1,2" → [0, 1, 2]; at least `least` distinct whole numbers."""
    try:
        seeds = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ConfigError(
            f"--seeds takes whole numbers separated by commas, got {text!r}"
        ) from None
    if len(seeds) < least or len(set(seeds)) != len(seeds):
        need = "two different seeds" if least > 1 else "one seed, each once"
        raise ConfigError(f"--seeds needs at least {need}, got {text!r}")
    return seeds


def member_folder(out: Path, seed: int, recipe: str | None = None) -> Path:
    return out / MEMBERS / (f"{recipe}-seed-{seed}" if recipe else f"seed-{seed}")


def train_recipe_members(
    recipes: Sequence[str | os.PathLike[str]],
    seeds: Sequence[int],
    out: Path,
    *,
    console: Console | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Every recipe with every seed under out/members/ (one recipe: `seed-S`, as
    train_seed_members; several: `<recipe file stem>-seed-S`); their folders."""
    paths = [Path(recipe) for recipe in recipes]
    if len(paths) == 1:
        return train_seed_members(paths[0], seeds, out, console=console, verbose=verbose)
    stems = [path.stem for path in paths]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise ConfigError(
            f"--recipe files must have different names (their members' folders are named "
            f"after them); {twice[0]!r} is given twice"
        )
    folders = []
    for path in paths:
        folders += train_seed_members(
            path, seeds, out, console=console, verbose=verbose, tag=path.stem
        )
    return folders


def train_seed_members(
    recipe: str | os.PathLike[str],
    seeds: Sequence[int],
    out: Path,
    *,
    console: Console | None = None,
    verbose: bool = True,
    tag: str | None = None,
) -> list[Path]:
    """Train (or finish) one run of `recipe` per seed under out/members/; their folders.

    `tag` names the members `<tag>-seed-S` (train_recipe_members: one tag per recipe)."""
    from charrec.infer.publish import config_differences
    from charrec.train import TrainConfig, apply_overrides, resume, train

    recipe = Path(recipe)
    if not recipe.is_file():
        raise ConfigError(f"recipe {recipe} not found")
    base = TrainConfig.from_yaml(recipe)
    console = console or Console()
    folders = []
    label = f"{tag} " if tag else ""
    for seed in seeds:
        folder = member_folder(out, seed, tag)
        wanted = apply_overrides(base, {"training.seed": seed, "run.out": str(folder)}).validate()
        if (folder / "config.yaml").is_file():
            differs = config_differences(wanted, folder / "config.yaml")
            if differs:
                raise CharrecError(
                    f"{folder} was trained from another config (it differs in {differs}); "
                    "remove it, or choose another --out"
                )
        if (folder / "metrics.json").is_file():
            console.print(f"member {label}seed {seed}: {folder} already trained")
        elif (folder / "state.pt").is_file():
            console.print(f"member {label}seed {seed}: resuming {folder}")
            resume(folder, console=console, verbose=verbose)
        else:
            console.print(f"member {label}seed {seed}: training into {folder}")
            # Whatever is there is this member's own start that saved no epoch yet.
            train(wanted, overwrite=True, console=console, verbose=verbose)
        folders.append(folder)
    return folders
