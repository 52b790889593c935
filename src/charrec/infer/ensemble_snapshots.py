"""A snapshot ensemble: the last epochs of one training run, averaged.

    members = snapshot_members("runs/letters")     # one Member per kept epoch
    write_ensemble(members, "runs/letters-snapshots")

A run keeps its epochs' weights only when asked (`training.keep_snapshots: N` keeps the
last N in RUN/snapshots/epoch-E.safetensors). Each snapshot is the run's model with that
epoch's weights; its validation accuracy is the one the run's history records for that
epoch, so `--weighted` works. Its own test accuracy is unknown (the run tested only its
final model), so the card leaves it blank rather than borrow the final model's.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from charrec.errors import ConfigError
from charrec.infer.ensemble import Member


def snapshot_members(run_dir: str | os.PathLike[str]) -> list[Member]:
    """One ensemble member per snapshot the run folder keeps, oldest first."""
    from charrec.infer.recognizer import preprocess_config_for
    from charrec.train.checkpoint import RunFolder, load_run, load_weights_into

    run = RunFolder(Path(run_dir).expanduser())
    model, meta = load_run(run.path)  # a run folder with a checkpoint, or a clear error
    if (meta.get("model") or {}).get("name") == "ensemble":
        raise ConfigError(f"{run.path} is an ensemble, not a training run with snapshots")
    snapshots = run.list_snapshots()
    if len(snapshots) < 2:
        raise ConfigError(
            f"{run.path} keeps {len(snapshots)} snapshot(s), an ensemble needs at least two; "
            "train it with --set training.keep_snapshots=N (N ≥ 2)"
        )
    history = {int(row["epoch"]): row for row in run.read_history()}
    frame = preprocess_config_for(meta, {}).to_dict()
    members = []
    for epoch, path in snapshots:
        snapshot = copy.deepcopy(model)
        load_weights_into(snapshot, path)
        row = history.get(epoch, {})
        metrics = {"val_loss": row.get("val_loss"), "val_accuracy": row.get("val_accuracy")}
        member_meta = {**meta, "epoch": epoch, "metrics": metrics}
        members.append(Member(str(path), run.path, False, snapshot.eval(), member_meta, {}, frame))
    return members
