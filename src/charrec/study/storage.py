"""Where a study's trials live: Optuna's RDB storage, SQLite in the study folder by default.

One storage lets many workers share a study: `sqlite:///` for the processes of one
machine, `postgresql://user:pass@host/db` for any number of machines. Each running trial
records a heartbeat; a trial whose worker died (killed, machine lost) stops beating and
is marked failed by the next worker that looks, so its work is done again elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from charrec.errors import CharrecError

DEFAULT_HEARTBEAT = 10  # seconds between heartbeats of a running trial
STALE_AFTER = 3  # heartbeats missed before a trial counts as dead
SCHEMA_ATTEMPTS = 8  # opening an empty database, for workers racing to create its tables


def default_url(folder: Path) -> str:
    return f"sqlite:///{(folder / 'study.db').resolve()}"


def _driver_url(url: str) -> str:
    """postgresql:// means psycopg (3), the driver charrec installs for it."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def open_storage(url: str, heartbeat: int = DEFAULT_HEARTBEAT):
    """An Optuna RDBStorage for `url`; an unreachable or unusable one is a CharrecError."""
    import optuna
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # charrec reports itself
    # Heartbeats are "experimental" in Optuna since 2.9; the warning says nothing to users.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        storage = _create_storage(url, heartbeat)
        if url.startswith("sqlite"):
            _serialise_sqlite(storage.engine)
        return storage
    except OperationalError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise CharrecError(f"cannot open the study storage {describe(url)}: {detail}") from None
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise CharrecError(f"{describe(url)} is not a storage URL charrec can use: {exc}") from None
    except ModuleNotFoundError as exc:
        raise CharrecError(
            f"the storage {describe(url)} needs the {exc.name} package: "
            "pip install 'charrec[postgres]'"
        ) from None


def _create_storage(url: str, heartbeat: int):
    """RDBStorage(url), which creates Optuna's tables in an empty database.

    Workers started together on an empty database race to create them, and all but one
    fail on a table or a version row that now exists (Optuna issue 1092). The losers
    open the storage again, a little later each time: by then the tables are there.
    """
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                _driver_url(url),
                heartbeat_interval=heartbeat,
                grace_period=heartbeat * STALE_AFTER,
                engine_kwargs=_engine_kwargs(url),
            )
        except (IntegrityError, OperationalError, ProgrammingError) as exc:
            if attempt == SCHEMA_ATTEMPTS - 1 or not _lost_schema_race(exc):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _lost_schema_race(exc: Exception) -> bool:
    """Whether creating Optuna's tables failed because another worker created them."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(
        sign in text
        for sign in ("already exists", "duplicate key", "unique constraint failed: alembic")
    )


def _serialise_sqlite(engine) -> None:
    """Make every SQLite transaction take the write lock when it begins.

    Optuna claims a waiting trial by reading its state and writing RUNNING in one
    transaction, with SELECT ... FOR UPDATE, which PostgreSQL honours and SQLite ignores;
    and Python's sqlite3 starts a transaction only at the first write, so two workers
    could both read WAITING and both claim the trial. BEGIN IMMEDIATE makes the read and
    the write one step (SQLAlchemy's recipe for serializable SQLite transactions).
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _driver_leaves_transactions_to_us(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_with_the_write_lock(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners go


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several worker processes write to one file: wait for its lock instead of failing.
        return {"connect_args": {"timeout": 60}}
    # A server that is down fails fast with its own message instead of hanging.
    return {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}


def worker_identity() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def beat_unbeaten(storage, study, older_than: float) -> list[int]:
    """Give a heartbeat to the study's RUNNING trials started over `older_than` s ago.

    Optuna fails a RUNNING trial once its heartbeat is stale, but never one that has not
    beaten: a tuning worker killed between Optuna's creating its trial and the trial's
    first beat would leave it RUNNING for ever. Beaten now, such a trial goes stale after
    the grace period and is failed (and tried again) like any other; a live trial beats
    anyway, so one more beat does it no harm. Returns the ids of the trials beaten.
    """
    from datetime import datetime, timedelta

    from optuna.trial import TrialState

    cutoff = datetime.now() - timedelta(seconds=older_than)
    beaten = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.datetime_start is not None and trial.datetime_start < cutoff:
            storage.record_heartbeat(trial._trial_id)
            beaten.append(trial._trial_id)
    return beaten


@contextmanager
def heartbeat(storage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat in the background while the block runs."""
    interval = storage.get_heartbeat_interval()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            # A lost connection: the next beat tries again.
            with contextlib.suppress(Exception):
                storage.record_heartbeat(trial_id)

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
