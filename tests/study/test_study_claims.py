"""Workers sharing a study's SQLite file never claim the same trial twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opening import open_together

from charrec.study.storage import default_url, open_storage
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


def _running_trial(store: StudyStore, unit: str, attrs: dict) -> int:
    """A trial set RUNNING directly, as a worker does before its first heartbeat."""
    from optuna.trial import TrialState

    store.study.enqueue_trial({}, user_attrs={"unit": unit})
    trial = store.study.get_trials(deepcopy=False)[-1]
    store.storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING)
    for key, value in attrs.items():
        store.storage.set_trial_user_attr(trial._trial_id, key, value)
    return trial._trial_id


def test_a_claimed_trial_whose_worker_died_before_beating_is_failed(
    tmp_path: Path, monkeypatch
) -> None:
    from optuna.trial import TrialState

    import charrec.study.worker as worker

    store = StudyStore(open_storage(default_url(tmp_path)), "deaths")
    elsewhere = {"host": "another-machine", "pid": 1}
    # Killed between its claim and its first heartbeat, on a machine we cannot look at.
    silent = _running_trial(store, "silent", elsewhere)
    # Alive on that machine: it beats.
    beating = _running_trial(store, "beating", elsewhere)
    store.storage.record_heartbeat(beating)
    store.fail_dead()
    states = {t._trial_id: t.state for t in store.trials()}
    assert states[silent] == states[beating] == TrialState.RUNNING  # claimed a moment ago
    monkeypatch.setattr(worker, "NO_BEAT_LIMIT", 0.0)
    store.fail_dead()
    states = {t._trial_id: t.state for t in store.trials()}
    assert states[silent] == TrialState.FAIL
    assert states[beating] == TrialState.RUNNING


def test_a_claim_beats_at_once(tmp_path: Path) -> None:
    store = StudyStore(open_storage(default_url(tmp_path)), "beats")
    store.study.enqueue_trial({}, user_attrs={"unit": "first"})
    trial = store.claim()
    assert trial is not None
    assert trial._trial_id in store._trials_with_heartbeat()
