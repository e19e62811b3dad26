"""Jobs for ``phosnet serve``: the server's limits, and work run off the event loop on a bounded pool.

:class:`JobManager` runs each piece of work on a thread pool of ``limits.max_jobs`` workers, with progress,
cancel, a time limit, and a private folder per job (mode 0700) removed when the job is dropped, finished or
the server stops. Nothing here knows what the work is; :mod:`phosnet.web.service` holds the verbs.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phosnet.errors import PhosnetError

logger = logging.getLogger(__name__)


class LimitExceeded(PhosnetError):
    """An upload or request over one of the server's limits (HTTP 413)."""


class Busy(PhosnetError):
    """Too many jobs queued (HTTP 429)."""


class Cancelled(PhosnetError):
    """The job was cancelled by its client, or ran past the time limit."""


@dataclass(frozen=True)
class Limits:
    """What one server accepts; ``phosnet serve`` options set them."""

    max_upload_bytes: int = 64 << 20
    """Request body size (an upload as sent: gzip counts compressed)."""
    max_residues: int = 30_000_000
    """Residues in one input (the human proteome has ~11 million)."""
    max_jobs: int = 2
    """Scoring jobs running at once; more wait in a queue."""
    max_queued: int = 64
    """Jobs waiting at most; past that a request is refused as busy (429)."""
    request_timeout: float = 300.0
    """Seconds a request that waits for its answer (``/api/scan`` ...) may take before it is cancelled (504)."""
    job_timeout: float = 3600.0
    """Seconds a background job may run before it is cancelled."""
    max_table_rows: int = 200_000
    """Rows of a scan kept for the page's table; past that it keeps the called sites (the downloads have all)."""
    keep_jobs: int = 32
    """Finished jobs kept for their downloads; the oldest go first."""
    job_ttl: float = 3600.0
    """Seconds a finished job is kept."""

    @property
    def max_fasta_bytes(self) -> int:
        """Decompressed FASTA text at most (residues plus headers and line ends, generously)."""
        return 2 * self.max_residues + (8 << 20)


@dataclass
class Job:
    """One piece of work: state, progress (0-1), its private folder, and a cancel flag its steps check."""

    kind: str
    folder: Path
    timeout: float
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    state: str = "queued"  # queued, running, done, failed, cancelled
    progress: float = 0.0
    error: str | None = None
    status: int = 200
    result: Any = None
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future | None = None
    keep: bool = True

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled or ran out of time (called between steps)."""
        if self.cancel_event.is_set():
            raise Cancelled("cancelled")
        if self.started is not None and time.monotonic() - self.started > self.timeout:
            self.cancel_event.set()
            raise Cancelled(f"stopped after the server's time limit of {self.timeout:g} s")

    def cancel(self) -> None:
        self.cancel_event.set()

    def status_dict(self) -> dict[str, Any]:
        """What ``GET /api/jobs/{id}`` answers (the result's summary once done)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "state": self.state,
                               "progress": round(self.progress, 4)}
        if self.started is not None:
            out["seconds"] = round((self.finished or time.monotonic()) - self.started, 3)
        if self.error is not None:
            out["error"] = self.error
        if self.state == "done" and hasattr(self.result, "summary"):
            out["result"] = self.result.summary()
        return out


class JobManager:
    """Jobs on a bounded thread pool (``limits.max_jobs`` at once), each with a private folder under one
    temporary root (mode 0700), removed when the job is dropped and, whole, by :meth:`close`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.root = Path(tempfile.mkdtemp(prefix="phosnet-serve-"))
        self._pool = ThreadPoolExecutor(max_workers=limits.max_jobs, thread_name_prefix="phosnet-job")
        self._quick = ThreadPoolExecutor(max_workers=2, thread_name_prefix="phosnet-figure")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _pending(self) -> int:
        return sum(1 for job in self._jobs.values() if job.state in {"queued", "running"})

    def submit(self, kind: str, work: Callable[[Job], Any], *, keep: bool = True, quick: bool = False) -> Job:
        """Queue ``work(job)``; its return value becomes ``job.result``. ``keep=False``: the job is forgotten
        (and its folder removed) as soon as it ends; ``quick``: a figure for a finished job, on its own pool."""
        with self._lock:
            if self._closed:
                raise Busy("the server is stopping")
            self._expire()
            if self._pending() >= self.limits.max_jobs + self.limits.max_queued:
                raise Busy(f"the server is busy ({self._pending()} jobs running or waiting); try again later")
            folder = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.root))
            job = Job(kind, folder, self.limits.job_timeout, keep=keep)
            self._jobs[job.id] = job
        job.future = (self._quick if quick else self._pool).submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], Any]) -> Any:
        job.started = time.monotonic()
        job.state = "running"
        try:
            job.check()
            job.result = work(job)
            job.progress = 1.0
            job.state = "done"
            return job.result
        except Cancelled as exc:
            job.state, job.error, job.status = "cancelled", str(exc), 499
        except LimitExceeded as exc:
            job.state, job.error, job.status = "failed", str(exc), 413
        except PhosnetError as exc:
            job.state, job.error, job.status = "failed", str(exc), 400
        except Exception:  # a bug, not the user's input: logged with its traceback, never shown to the client
            logger.exception("job %s (%s) failed", job.id, job.kind)
            job.state, job.error, job.status = "failed", "internal error (the server's log has the details)", 500
        finally:
            job.finished = time.monotonic()
            if not job.keep:
                self.drop(job.id)
        return None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._expire()
            return self._jobs.get(job_id)

    def drop(self, job_id: str) -> bool:
        """Cancel a job and remove it and its folder (at once if it is not running; else when it stops)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job.cancel()
            if job.state == "queued" and job.future is not None and job.future.cancel():
                job.state = "cancelled"  # never started: nothing will touch its folder
            if job.state in {"queued", "running"} and job.keep:
                job.keep = False  # _run drops it when its work stops, at the next check
                return True
            del self._jobs[job_id]
        shutil.rmtree(job.folder, ignore_errors=True)
        return True

    def _expire(self) -> None:
        """Forget finished jobs past their time or past the number kept (lock held)."""
        now = time.monotonic()
        finished = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
        surplus = len(finished) - self.limits.keep_jobs
        for number, job in enumerate(finished):
            if number < surplus or now - (job.finished or now) > self.limits.job_ttl:
                del self._jobs[job.id]
                shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        """Cancel every job, wait for the workers to stop at their next check, and remove all temporary files."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._quick.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
