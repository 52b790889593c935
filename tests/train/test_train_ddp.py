"""DistributedDataParallel under torchrun: 2 CPU processes (gloo on 127.0.0.1) give the same
result as one process with the same global batch, and only rank 0 writes the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from charrec.cli import main

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_two_processes_match_one(real_data_dir: Path, tmp_path: Path) -> None:
    args = [
        *("--data-dir", str(real_data_dir), "--limit", "400", "--model", "mlp"),
        *("--hidden", "32,16", "--batch-size", "40", "--epochs", "2", "--threads", "1"),
        *("--no-test", "-q"),
    ]
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", "-m", "charrec", "train", *args, "--out", str(ddp)]
    done = subprocess.run(command, env=env, timeout=300, capture_output=True, text=True)
    # A failing rank's own message comes before torchrun's summary: show both.
    assert done.returncode == 0, done.stderr[:3000] + "\n...\n" + done.stderr[-1500:]
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args, "--out", str(single)])
    assert not exit_info.value.code

    histories = [json.loads((d / "history.json").read_text()) for d in (ddp, single)]
    assert len(histories[0]) == len(histories[1]) == 2
    for many, one in zip(*histories, strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert many[key] == pytest.approx(one[key], rel=1e-4), key
    assert json.loads((ddp / "metrics.json").read_text())["world_size"] == 2
    # Rank 0 alone wrote: the same files, and no stray temporary files of a second writer.
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())
