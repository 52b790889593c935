"""A seed ensemble: one recipe trained once per seed, the runs kept in ENSEMBLE/members/.

    folders = train_seed_members("recipes/letters.yaml", [0, 1, 2], Path("runs/ens"))

Each member is an ordinary run folder, `members/seed-<S>`, trained by `charrec.train` with
`training.seed` set to S. Running it again continues where it stopped: a finished member
(it has metrics.json) is kept, an interrupted one is resumed from its last epoch, a missing
one is trained. A member folder trained from another config is refused rather than mixed in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from charrec.errors import CharrecError, ConfigError

MEMBERS = "members"


def parse_seeds(text: str) -> list[int]:
    """ "0,1,2" → [0, 1, 2]; at least two distinct whole numbers."""
    try:
        seeds = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ConfigError(
            f"--seeds takes whole numbers separated by commas, got {text!r}"
        ) from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds needs at least two different seeds, got {text!r}")
    return seeds


def member_folder(out: Path, seed: int) -> Path:
    return out / MEMBERS / f"seed-{seed}"


def train_seed_members(
    recipe: str | os.PathLike[str],
    seeds: Sequence[int],
    out: Path,
    *,
    console: Console | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Train (or finish) one run of `recipe` per seed under out/members/; their folders."""
    from charrec.infer.publish import config_differences
    from charrec.train import TrainConfig, apply_overrides, resume, train

    recipe = Path(recipe)
    if not recipe.is_file():
        raise ConfigError(f"recipe {recipe} not found")
    base = TrainConfig.from_yaml(recipe)
    console = console or Console()
    folders = []
    for seed in seeds:
        folder = member_folder(out, seed)
        wanted = apply_overrides(base, {"training.seed": seed, "run.out": str(folder)}).validate()
        if (folder / "config.yaml").is_file():
            differs = config_differences(wanted, folder / "config.yaml")
            if differs:
                raise CharrecError(
                    f"{folder} was trained from another config (it differs in {differs}); "
                    "remove it, or choose another --out"
                )
        if (folder / "metrics.json").is_file():
            console.print(f"member seed {seed}: {folder} already trained")
        elif (folder / "state.pt").is_file():
            console.print(f"member seed {seed}: resuming {folder}")
            resume(folder, console=console, verbose=verbose)
        else:
            console.print(f"member seed {seed}: training into {folder}")
            # Whatever is there is this member's own start that saved no epoch yet.
            train(wanted, overwrite=True, console=console, verbose=verbose)
        folders.append(folder)
    return folders
