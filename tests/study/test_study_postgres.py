"""Two workers share one study through a real PostgreSQL server; one is killed mid-trial.

.ci/run starts Debian's PostgreSQL on 127.0.0.1 and sets CHARREC_TEST_POSTGRES to a
database URL; elsewhere these tests skip, saying why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("CHARREC_TEST_POSTGRES")
    if not url:
        pytest.skip("no PostgreSQL: set CHARREC_TEST_POSTGRES (.ci/run starts one)")
    return url


def _worker(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "charrec", *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def _wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        assert process.poll() is None, path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {path}:\n{path.read_text()}")


def test_two_workers_share_a_study_and_survive_a_killed_one(
    postgres_url: str, real_data_dir: Path, tmp_path: Path
) -> None:
    import optuna
    from optuna.trial import TrialState

    from charrec.study.ofat import make_plan
    from charrec.study.spec import StudySpec

    name = f"two-workers-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CHARREC_DATA": str(real_data_dir), "PYTHONUNBUFFERED": "1"}
    common = ["study", "run", "--data", "mnist", "--arms", "mlp", "--factors", "dropout"]
    common += ["--folds", "2", "--epochs", "2", "--limit", "4000", "--final-limit", "600"]
    common += ["--name", name, "--storage", postgres_url, "--heartbeat", "1", "--jobs", "1"]
    # Two "machines" started together: each has a folder of its own, only the database is
    # shared. The first is killed in the middle of its first trial.
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = _worker([*common, "--out", str(tmp_path / "a")], env, logs[0])
    second = _worker([*common, "--out", str(tmp_path / "b")], env, logs[1])
    _wait_for(logs[0], ": training (worker", first)
    # At once: the line is printed as the trial starts, so the kill lands mid-trial.
    first.send_signal(signal.SIGKILL)  # its unit must be trained again
    first.wait(timeout=30)
    assert second.wait(timeout=600) == 0, logs[1].read_text()

    study = optuna.load_study(
        study_name=name, storage=postgres_url.replace("postgresql://", "postgresql+psycopg://")
    )
    trials = study.get_trials()
    done = [t.user_attrs["unit"] for t in trials if t.state == TrialState.COMPLETE]
    # Every unit trained to the end exactly once; the killed worker's trial failed.
    assert len(done) == len(set(done))
    results = {
        t.user_attrs["unit"]: t.user_attrs["result"]
        for t in trials
        if t.state == TrialState.COMPLETE
    }
    spec = StudySpec.from_yaml(tmp_path / "b" / "study.yaml")
    plan = make_plan(spec, tmp_path / "b", results)
    assert plan.complete and len(done) >= 7  # 3 dropouts × 2 folds, and the final model(s)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(t.user_attrs.get("pid") == first.pid for t in failed)
    assert any(
        t.user_attrs.get("pid") == second.pid for t in trials if t.state == TrialState.COMPLETE
    )
    assert {t.user_attrs["unit"] for t in failed} <= set(done)
    finals = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs["fold"] is None]
    assert all(t.user_attrs["result"]["test_accuracy"] > 0.5 for t in finals)
    # The surviving worker trained the final models, so it wrote the report.
    assert (tmp_path / "b" / "report.html").is_file()
    assert "final model" in logs[1].read_text()


def test_workers_opening_an_empty_database_together_all_open_it(postgres_url: str) -> None:
    # Machines started together on an empty database each create Optuna's tables; all but
    # one lost that race (a duplicate type or version row) until the losers opened it again.
    import psycopg
    from opening import open_together

    for _ in range(3):
        schema = f"empty_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        assert open_together(f"{postgres_url}?options=-csearch_path%3D{schema}") == []
