"""Long computations of a page, run in a background thread of the web process.

The pattern the sites domain began with (its Monte Carlo runs), made one mechanism: a page
starts the work, waits a moment, and shows the result if it is ready; otherwise it shows the
work's progress on a page that reloads itself (no script needed) and offers to cancel it.

- ``Jobs.start(key, scope, work)``: runs ``work(job)`` in a daemon thread. A job still running
  for the same key and scope is returned instead of starting another (two clicks, one solve).
  ``work`` reports through ``job.progress`` (any value its page knows how to show) and
  checks ``job.cancel`` (a ``threading.Event``) at its own pace.
- ``Jobs.get(job_id, scope)``: a job by its id, only within the scope that started it (a
  region's id): an id from another region is not found. Ids are random (128 bits).
- ``Jobs.latest(key, scope)``: the newest finished job for a key, not stopped by hand: a page
  that acts on a computation's result takes it from here instead of computing it again.
- Finished jobs are kept (their result or error) for the last ``keep`` jobs, so a reload
  shows the same result; at most ``max_running`` run at once (the machine's cores are
  shared), beyond that ``start`` raises :class:`Busy`.

Per process: a restart forgets running and finished jobs (the page then offers to start
again). The work must not use the request's database session: read what it needs first.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from govshare.core.errors import GovshareError

T = TypeVar("T")


class Busy(GovshareError):
    status = 503
    code = "busy"
    title = "Too many computations are running"


@dataclass(eq=False)
class Job(Generic[T]):
    id: str
    key: Hashable
    scope: Hashable
    meta: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    progress: Any = None
    result: T | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to finish; whether it has."""
        return self.finished.wait(max(0.0, seconds))


class Jobs(Generic[T]):
    """The background jobs of one kind of computation (one registry per page)."""

    def __init__(self, name: str, *, keep: int = 16, max_running: int = 2) -> None:
        self.name = name
        self.keep = keep
        self.max_running = max_running
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job[T]] = OrderedDict()

    def _running(self) -> list[Job[T]]:
        return [j for j in self._jobs.values() if j.running]

    def start(self, key: Hashable, scope: Hashable, work: Callable[[Job[T]], T],
              meta: dict[str, Any] | None = None) -> Job[T]:
        with self._lock:
            for other in self._jobs.values():
                if other.running and other.key == key and other.scope == scope \
                        and not other.cancel.is_set():
                    return other
            if len(self._running()) >= self.max_running:
                raise Busy(f"{len(self._running())} computations of this kind are running "
                           "already; wait for one to finish or cancel one, then try again")
            job: Job[T] = Job(id=secrets.token_urlsafe(16), key=key, scope=scope,
                              meta=dict(meta or {}))
            self._jobs[job.id] = job
            self._trim()

        def target() -> None:
            try:
                job.result = work(job)
            except Exception as exc:  # shown on the page; starting again is offered
                job.error = str(exc)[:300] or type(exc).__name__
            finally:
                job.finished.set()

        threading.Thread(target=target, name=f"{self.name}-{job.id[:6]}", daemon=True).start()
        return job

    def get(self, job_id: str, scope: Hashable) -> Job[T] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.scope != scope:
                return None
            self._jobs.move_to_end(job_id)
            return job

    def latest(self, key: Hashable, scope: Hashable) -> Job[T] | None:
        """The finished job for ``key`` within ``scope``, most recently started or looked at,
        that has a result and was not stopped by hand; None if none is kept."""
        with self._lock:
            for job in reversed(self._jobs.values()):
                if (job.key == key and job.scope == scope and not job.running
                        and job.result is not None and not job.cancel.is_set()):
                    return job
            return None

    def forget_finished(self) -> None:
        """Drop every finished job (their results were made from data that is gone, e.g. a
        test's rolled-back transaction); running ones are kept."""
        with self._lock:
            for k in [k for k, j in self._jobs.items() if not j.running]:
                del self._jobs[k]

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if not j.running]
        for k in finished[:max(0, len(self._jobs) - self.keep)]:
            del self._jobs[k]
