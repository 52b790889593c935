"""Workers sharing a study's SQLite file never claim the same trial twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from opening import open_together

from charrec.study.storage import beat_unbeaten, default_url, open_storage
from charrec.study.worker import StudyStore

TRIALS = 80

CLAIMER = """
import sys, time
from pathlib import Path
from charrec.study.storage import open_storage
from charrec.study.worker import StudyStore

url, name, go, out = sys.argv[1:5]
store = StudyStore(open_storage(url), name)
while not Path(go).exists():
    time.sleep(0.001)
claimed = []
while (trial := store.claim()) is not None:
    claimed.append(trial.number)
Path(out).write_text(" ".join(map(str, claimed)))
"""


def test_two_workers_claim_each_waiting_trial_once(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    store = StudyStore(open_storage(url), "claims")
    for index in range(TRIALS):
        store.study.enqueue_trial({}, user_attrs={"unit": f"unit-{index}"})
    go = tmp_path / "go"
    outs = [tmp_path / f"worker-{w}.txt" for w in range(2)]
    workers = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, url, "claims", str(go), str(out)])
        for out in outs
    ]
    go.touch()  # both start claiming at once
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    claimed = [int(n) for out in outs for n in out.read_text().split()]
    assert sorted(claimed) == list(range(TRIALS))  # every trial, each by one worker


def test_workers_opening_an_empty_study_file_together_all_open_it(tmp_path: Path) -> None:
    # Each creates Optuna's tables if they are missing; all but one lost that race
    # ("table studies already exists") until the losers opened it again.
    for attempt in range(3):
        folder = tmp_path / f"empty-{attempt}"
        folder.mkdir()
        assert open_together(default_url(folder)) == []


def test_a_trial_claimed_by_a_worker_that_vanished_is_failed_once_stale(
    tmp_path: Path,
) -> None:
    """A worker killed right after its claim (before it wrote whose trial it is, or beat
    again) leaves a RUNNING trial: Optuna fails it once its heartbeat is stale, which
    needs a heartbeat recorded no later than the claim."""
    import time

    from optuna.trial import TrialState

    url = default_url(tmp_path)
    store = StudyStore(open_storage(url, heartbeat=1), "vanished")  # stale after 3 s
    store.study.enqueue_trial({}, user_attrs={"unit": "first"})
    claimed = store.claim()
    assert claimed is not None
    # Another worker looks: the claimer's process is alive (it is this one), so only
    # the heartbeat can tell, and it stopped at the claim.
    other = StudyStore(open_storage(url, heartbeat=1), "vanished")
    other.fail_dead()
    assert other.trials()[0].state == TrialState.RUNNING
    time.sleep(4.5)  # SQLite keeps whole seconds: 4 of them have passed since the beat
    other.fail_dead()
    assert other.trials()[0].state == TrialState.FAIL


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # asked, not optimised
def test_a_tuning_trial_that_never_beat_is_failed_once_beaten_and_stale(
    tmp_path: Path,
) -> None:
    """Optuna creates a tuning trial before its first heartbeat; a worker killed between
    the two leaves a RUNNING trial Optuna never fails. The next tuning worker gives old
    unbeaten trials a beat, so they go stale; a trial just started is left to its worker."""
    import time

    import optuna
    from optuna.trial import TrialState

    storage = open_storage(default_url(tmp_path), heartbeat=1)  # stale after 3 s
    study = optuna.create_study(study_name="tune", storage=storage)
    dead = study.ask()
    time.sleep(1.1)
    young = study.ask()
    assert beat_unbeaten(storage, study, older_than=1.0) == [dead._trial_id]
    time.sleep(4.5)  # SQLite keeps whole seconds: 4 of them have passed since the beat
    optuna.storages.fail_stale_trials(study)
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {dead.number: TrialState.FAIL, young.number: TrialState.RUNNING}
