"""Micro-batching: the images of concurrent requests go through the model together.

Inference is CPU work, so it runs in a worker thread, never on the event loop. While one
batch is being computed, new requests queue up; the next batch takes all of them (up to
`max_batch` images) in one call, so under load the model runs one forward pass for many
requests, and a lone request waits for nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import anyio


@dataclass
class _Job:
    sources: list[Any]
    top_k: int
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Runs `recognizer.predict_many` for many concurrent callers, one batch at a time."""

    def __init__(self, recognizer: Any, max_batch: int = 64) -> None:
        self.recognizer = recognizer
        self.max_batch = max_batch
        self._pending: list[_Job] = []
        self._worker: asyncio.Task | None = None
        # Forward passes actually run and images seen: for tests and diagnostics.
        self.batches = 0
        self.images = 0

    async def predict(self, sources: list[Any], top_k: int) -> list[Any]:
        """One result per source: a Prediction, or the CharrecError it raised."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(list(sources), top_k, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    def _take(self) -> list[_Job]:
        jobs, count = [], 0
        while self._pending and (
            not jobs or count + len(self._pending[0].sources) <= self.max_batch
        ):
            job = self._pending.pop(0)
            if job.future.done():  # the client went away
                continue
            jobs.append(job)
            count += len(job.sources)
        return jobs

    async def _drain(self) -> None:
        while self._pending:
            jobs = self._take()
            if not jobs:
                continue
            sources = [s for job in jobs for s in job.sources]
            top_k = max(job.top_k for job in jobs)
            try:
                results = await anyio.to_thread.run_sync(self._run, sources, top_k)
            except Exception as exc:  # a bug: every waiting request gets it
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            start = 0
            for job in jobs:
                mine = results[start : start + len(job.sources)]
                start += len(job.sources)
                if not job.future.done():
                    job.future.set_result([_truncate(r, job.top_k) for r in mine])

    def _run(self, sources: list[Any], top_k: int) -> list[Any]:
        self.batches += 1
        self.images += len(sources)
        return self.recognizer.predict_many(sources, top_k=top_k, errors="collect")


def _truncate(result: Any, top_k: int) -> Any:
    """A prediction made with a larger top_k, cut to this request's."""
    if isinstance(result, Exception) or len(result.top) <= top_k:
        return result
    return dataclasses.replace(result, top=list(result.top[:top_k]))
