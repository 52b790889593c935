"""Opening a study's storage from several workers at the same instant."""

from __future__ import annotations

import threading

from charrec.study.storage import open_storage


def open_together(url: str, workers: int = 6) -> list[str]:
    """Open the storage at `url` from several threads at the same instant; their errors."""
    errors: list[str] = []
    start = threading.Barrier(workers)

    def worker() -> None:
        start.wait()
        try:
            open_storage(url)
        except Exception as exc:  # every failure is the finding
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors

