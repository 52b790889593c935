"""Running a one-factor-at-a-time study end to end: its folder, its workers, its report.

    spec = build_spec("letters", "letters-dev", ["activation", "optimizer"], folds=3)
    outcome = run_study(spec, Path("studies/letters"), jobs=2)

The folder holds study.yaml (the study, which must match on a re-run), study.db (the
SQLite storage, unless --storage names another), trials/ (a run folder per trial),
final/ (the final models), results.csv, figures/ and report.md/.html.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charrec.errors import CharrecError
from charrec.study.ofat import Plan
from charrec.study.spec import StudySpec
from charrec.study.storage import DEFAULT_HEARTBEAT, default_url, open_storage
from charrec.study.worker import Report, StudyStore, work

SPEC_FILE = "study.yaml"
# What a study folder may hold besides its own files (a user's notes, hidden files).
STUDY_ENTRIES = {
    SPEC_FILE,
    "study.db",
    "trials",
    "final",
    "figures",
    "results.csv",
    "report.md",
    "report.html",
}


@dataclass
class StudyOutcome:
    plan: Plan
    results: dict[str, dict[str, Any]]
    files: dict[str, Path]
    wall_time: float


def prepare_folder(spec: StudySpec, out: Path) -> None:
    """Create the study folder, or check that it holds this very study."""
    if out.exists() and not out.is_dir():
        raise CharrecError(f"{out} is a file, not a study folder")
    spec_path = out / SPEC_FILE
    if spec_path.is_file():
        earlier = StudySpec.from_yaml(spec_path)
        if earlier.data != spec.data:
            raise CharrecError(
                f"{out} holds a study of {earlier.data!r}, not {spec.data!r}; choose another --out"
            )
        differs = [k for k in spec.differences(earlier) if k != "data_dir"]
        if differs:
            raise CharrecError(
                f"{out} holds another study (it differs in {', '.join(differs)}); continue "
                f"it with --spec {spec_path}, or choose another --out"
            )
        return
    if out.is_dir():
        foreign = [p.name for p in out.iterdir() if not p.name.startswith(".")]
        foreign = [name for name in foreign if name not in STUDY_ENTRIES]
        if foreign:
            raise CharrecError(
                f"{out} already holds other files ({', '.join(sorted(foreign)[:3])}); "
                "a study needs its own folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    spec.to_yaml(spec_path)


def check_data(spec: StudySpec) -> None:
    """Fail before any training if the folds cannot be drawn from the training split."""
    from charrec.data import load_dataset
    from charrec.data.splits import stratified_subsample
    from charrec.train.tensor_data import training_split

    dataset = load_dataset(spec.data, training_split(spec.data), spec.data_dir)
    if spec.trial_limit is not None:
        dataset = stratified_subsample(dataset, spec.trial_limit, spec.fold_seed)
    counts = dataset.counts()
    present = counts[counts > 0]
    if len(present) and present.min() < spec.folds:
        rare = dataset.classes[int(next(i for i, c in enumerate(counts) if 0 < c < spec.folds))]
        raise CharrecError(
            f"{spec.folds} folds need at least {spec.folds} images of every class; class "
            f"{rare!r} of {spec.data} has {int(present.min())}"
            + (f" in a subsample of {spec.trial_limit}" if spec.trial_limit else "")
            + "; use fewer --folds or a larger --limit"
        )


def _exit_with_parent() -> None:
    """End this worker when the process that started it is gone (killed with SIGKILL, say):
    its unfinished trial is then failed by the next worker that looks, and trained again."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_process(
    spec_dict: dict[str, Any], out: str, url: str, heartbeat: int, threads: int, quiet: bool
) -> None:
    """An extra worker of `--jobs N` (a process of its own)."""
    import sys

    _exit_with_parent()
    spec = StudySpec.from_dict(spec_dict)
    store = StudyStore(open_storage(url, heartbeat), spec.name)
    say = (lambda line: None) if quiet else (lambda line: print(line, flush=True))
    try:
        work(spec, Path(out), store, threads, report=say)
    except CharrecError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def run_study(
    spec: StudySpec,
    out: Path,
    *,
    storage: str | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    heartbeat: int = DEFAULT_HEARTBEAT,
    report: Report = print,
    write: bool = True,
    quiet_workers: bool = False,
) -> StudyOutcome:
    """Run (or continue) the study with `jobs` worker processes here (default: one per
    core, each on one thread: faster than one job on every thread for the zoo's models,
    `charrec bench study`); write its report."""
    start = time.perf_counter()
    prepare_folder(spec, out)
    check_data(spec)
    url = storage or default_url(out)
    store = StudyStore(open_storage(url, heartbeat), spec.name)
    jobs = jobs or os.cpu_count() or 1
    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    extra = [
        context.Process(
            target=_worker_process,
            args=(spec.to_dict(), str(out), url, heartbeat, threads, quiet_workers),
            daemon=True,
        )
        for _ in range(jobs - 1)
    ]
    for process in extra:
        process.start()
    try:
        plan = work(spec, out, store, threads, report=report)
    finally:
        for process in extra:
            process.join(timeout=None if not process.is_alive() else 5)
            if process.is_alive():
                process.terminate()
    results = store.results()
    wall = time.perf_counter() - start
    files: dict[str, Path] = {}
    elsewhere = finals_elsewhere(plan, results)
    if elsewhere:
        report(
            "the study is complete; its final models were trained on "
            f"{', '.join(sorted(elsewhere))}, which writes the report"
        )
    elif write:
        from charrec.study.report import write_report

        files = write_report(spec, plan, results, out, wall_time=wall)
    return StudyOutcome(plan, results, files, wall)


def finals_elsewhere(plan: Plan, results: dict[str, dict[str, Any]]) -> set[str]:
    """Hosts holding final run folders that this machine cannot read."""
    hosts = set()
    for arm in plan.arms:
        for unit in arm.finals.values():
            result = results.get(unit.key, {})
            if not Path(result.get("run_dir") or unit.config.run.out).is_dir():
                hosts.add(str(result.get("host") or "another worker"))
    return hosts
