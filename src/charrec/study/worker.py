"""A worker of a one-factor-at-a-time study: plan, enqueue, claim, train, record; repeat.

Every worker (the processes of `--jobs N`, or `charrec study run --storage URL` started
on several machines) runs the same loop against the study's storage:

1. mark dead workers' trials failed (a stale heartbeat, or a process of this machine
   that no longer exists);
2. derive the plan from the finished trials (charrec.study.ofat) and enqueue the units
   it needs that no trial holds yet;
3. claim one waiting trial (atomically: Optuna moves WAITING to RUNNING once), train its
   unit and record the result.

Two workers may enqueue the same unit at the same moment; only the lowest-numbered
trial of a unit is ever trained, the others are closed as duplicates, so each unit is
trained exactly once. A failed trial (its worker died) is enqueued again.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from charrec.errors import CharrecError
from charrec.study.ofat import Plan, Unit, make_plan
from charrec.study.spec import StudySpec
from charrec.study.storage import heartbeat, pid_alive, worker_identity

POLL_SECONDS = 2.0

Report = Callable[[str], None]


class StudyStore:
    """The study's trials in an Optuna storage, seen as units of work."""

    def __init__(self, storage: Any, name: str) -> None:
        import optuna

        self.storage = storage
        self.study = optuna.create_study(
            study_name=name, storage=storage, load_if_exists=True, direction="maximize"
        )

    def trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)

    def results(self) -> dict[str, dict[str, Any]]:
        """Finished units' results, by unit key."""
        from optuna.trial import TrialState

        return {
            t.user_attrs["unit"]: t.user_attrs["result"]
            for t in self.trials()
            if t.state == TrialState.COMPLETE and "result" in t.user_attrs
        }

    def errors(self) -> dict[str, str]:
        """Units that failed with a user error (bad config, missing data), by unit key."""
        return {
            t.user_attrs["unit"]: t.user_attrs["error"]
            for t in self.trials()
            if "error" in t.user_attrs and "unit" in t.user_attrs
        }

    def enqueue(self, units: list[Unit]) -> None:
        from optuna.trial import TrialState

        live = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
        held = {t.user_attrs.get("unit") for t in self.trials() if t.state in live}
        for unit in units:
            if unit.key not in held:
                self.study.enqueue_trial({}, user_attrs=unit.attrs())
                held.add(unit.key)

    def fail_dead(self) -> None:
        """Fail RUNNING trials whose worker is gone, so that their units run again."""
        import optuna
        from optuna.trial import TrialState

        with warnings.catch_warnings():  # "experimental" since Optuna 2.9, and still here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        me = worker_identity()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
            mine = host == me["host"] and isinstance(pid, int) and pid != me["pid"]
            if mine and not pid_alive(pid):
                self._close(trial._trial_id, TrialState.FAIL)

    def claim(self) -> Any | None:
        """A waiting trial, now RUNNING for this worker; None when none is waiting."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            try:
                # Beat before claiming: Optuna fails a stale RUNNING trial only if it ever
                # beat, so a worker killed right after its claim would hold the trial for
                # ever. A beat on a trial another worker claims instead does no harm.
                self.storage.record_heartbeat(trial._trial_id)
                if not self.storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING):
                    continue
            except UpdateFinishedTrialError:
                continue
            for key, value in worker_identity().items():
                self.storage.set_trial_user_attr(trial._trial_id, key, value)
            if self._is_duplicate(trial):
                self.obsolete(trial._trial_id)
                continue
            return self.storage.get_trial(trial._trial_id)
        return None

    def _is_duplicate(self, claimed: Any) -> bool:
        from optuna.trial import TrialState

        unit = claimed.user_attrs.get("unit")
        for other in self.trials():
            if other.number == claimed.number or other.user_attrs.get("unit") != unit:
                continue
            if other.user_attrs.get("duplicate"):
                continue
            if other.state == TrialState.COMPLETE:
                return True
            live = other.state in (TrialState.WAITING, TrialState.RUNNING)
            if live and other.number < claimed.number:
                return True
        return False

    def complete(self, trial_id: int, result: dict[str, Any]) -> None:
        from optuna.trial import TrialState

        self.storage.set_trial_user_attr(trial_id, "result", result)
        value = result.get("val_accuracy")
        if value is None:
            value = result.get("test_accuracy") or 0.0
        self.storage.set_trial_state_values(trial_id, TrialState.COMPLETE, [float(value)])

    def fail(self, trial_id: int, error: str | None = None) -> None:
        from optuna.trial import TrialState

        if error is not None:
            self.storage.set_trial_user_attr(trial_id, "error", error)
        self._close(trial_id, TrialState.FAIL)

    def obsolete(self, trial_id: int) -> None:
        from optuna.trial import TrialState

        self.storage.set_trial_user_attr(trial_id, "duplicate", True)
        self._close(trial_id, TrialState.PRUNED)

    def _close(self, trial_id: int, state: Any) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        with contextlib.suppress(UpdateFinishedTrialError):  # another worker closed it first
            self.storage.set_trial_state_values(trial_id, state)


def _needed_unit(
    spec: StudySpec, out: Path, store: StudyStore, plan: Plan, key: str
) -> Unit | None:
    """The unit `key` of the plan, or of a newer plan (another worker may have moved the
    study on to its next stage between our planning and our claim)."""
    for attempt in range(2):
        unit = next((u for u in plan.needed if u.key == key), None)
        if unit is not None or attempt:
            return unit
        plan = make_plan(spec, out, store.results())
    return None


def describe_unit(unit: Unit, folds: int) -> str:
    what = "baseline" if unit.factor == "baseline" else f"{unit.factor}={unit.option}"
    if unit.fold is None:
        what = f"final model ({unit.option})"
        return f"[{unit.arm}] {what}"
    return f"[{unit.arm}] {what}, fold {unit.fold + 1}/{folds}"


def work(
    spec: StudySpec,
    out: Path,
    store: StudyStore,
    threads: int | None = None,
    report: Report = print,
    poll: float = POLL_SECONDS,
) -> Plan:
    """Run units until the study is complete; returns the final plan."""
    from charrec.study.runner import run_unit

    waiting_said = False
    while True:
        store.fail_dead()
        results = store.results()
        plan = make_plan(spec, out, results)
        if plan.complete:
            return plan
        errors = store.errors()
        for unit in plan.needed:
            if unit.key in errors:
                raise CharrecError(f"{describe_unit(unit, spec.folds)}: {errors[unit.key]}")
        store.enqueue(plan.needed)
        trial = store.claim()
        if trial is None:
            if not waiting_said:
                report("waiting for trials that other workers are training")
                waiting_said = True
            time.sleep(poll)
            continue
        waiting_said = False
        unit = _needed_unit(spec, out, store, plan, trial.user_attrs["unit"])
        if unit is None:  # no plan needs it any more (e.g. another worker just trained it)
            store.obsolete(trial._trial_id)
            continue
        label = describe_unit(unit, spec.folds)
        report(f"{label}: training (worker {os.getpid()})")
        start = time.perf_counter()
        try:
            with heartbeat(store.storage, trial._trial_id):
                result = run_unit(unit, threads)
        except CharrecError as exc:
            store.fail(trial._trial_id, str(exc))
            raise CharrecError(f"{label}: {exc}") from None
        except BaseException:
            store.fail(trial._trial_id)  # interrupted: trained again by the next run
            raise
        store.complete(trial._trial_id, result)
        accuracy = result.get("val_accuracy") or result.get("test_accuracy") or 0.0
        split = "validation" if result.get("val_accuracy") is not None else "test"
        report(
            f"{label}: {split} accuracy {100 * accuracy:.2f}% ({time.perf_counter() - start:.0f} s)"
        )
