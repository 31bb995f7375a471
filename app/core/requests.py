"""The request runner: heavy work off the GUI thread, latest request wins (after napari's ``_layer_slicer``).

1. The GUI thread submits a job (a function) on a *channel* ("model", later "lab" …) and gets a ticket id.
2. One worker thread runs the jobs in order. That thread owns the model: its ``nn.Module`` lives in the
   runner's ``state`` and never travels to the GUI, which holds plain data and ids.
3. A newer job on the same channel supersedes an older one: the older stops at its next step boundary
   (``job.check()``, also called by ``job.progress``) and its result is dropped here and again on the GUI side.
4. Results, failures and progress come back through ``post``, which runs a callable on the GUI thread
   (``gui_post()`` gives one for Qt); the runner itself imports no Qt and is tested without it.
5. Channels are declared (``declare``), with what preempts them: a model load cancels the lab's jobs
   (``declare("lab.tool", cancelled_by=("model",))``), so no job has to watch the GUI's state to stop. A runner
   made with ``strict=True`` (the window's) refuses an undeclared channel.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from cnn_explorer.app.core import collector

# Background work (``supersede=False``: the window's imports ahead of need) starts once the outcomes posted before
# it are handed over on the GUI thread, or after this long: importing pyqtgraph and the tabs' modules (150 ms of
# Python) beside the GUI thread drawing Mask R-CNN's graph took the GIL from it (its turn 55-63 ms).
BACKGROUND_WAIT_S = 1.0

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The job was cancelled or superseded."""


@dataclass
class Job:
    """What a running job sees: its id, a way to report progress, and the check for cancellation."""

    id: int
    channel: str
    state: dict  # the worker thread's own objects (the loaded model …), shared by all jobs
    _runner: "RequestRunner" = field(repr=False)
    _on_progress: Callable[[int, str, int], None] | None = field(default=None, repr=False)

    @property
    def background(self) -> bool:
        """Submitted with ``supersede=False``: its channel is its own (``channel#id``)."""
        return self.channel.endswith(f"#{self.id}")

    def cancelled(self) -> bool:
        return not self._runner.is_current(self.id, self.channel)

    def check(self) -> None:
        """Raise ``Cancelled`` when the job was cancelled or superseded: call it between steps."""
        if self.cancelled():
            raise Cancelled()

    def progress(self, text: str, percent: int = -1) -> None:
        """Report a step (percent -1: no percentage), after checking for cancellation."""
        self.check()
        if self._on_progress is not None:
            self._runner._post(lambda: self._deliver_progress(text, percent))

    def _deliver_progress(self, text: str, percent: int) -> None:
        if self._runner.is_current(self.id, self.channel) and self._on_progress is not None:
            self._on_progress(self.id, text, percent)


class RequestRunner:
    """Runs jobs one at a time in one worker thread; per channel, the latest job wins."""

    def __init__(self, post: Callable[[Callable[[], None]], None], name: str = "cnn-explorer-worker",
                 strict: bool = False):
        self._post = post
        self._strict = strict
        self._preempts: dict[str, set[str]] = {"model": set()}  # channel -> the channels a job on it cancels
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._counter = 0
        self._latest: dict[str, int] = {}
        self._cancelled: set[int] = set()
        self._futures: list[Future] = []
        self._closed = False
        self._undelivered = 0  # outcomes posted to the GUI thread and not handed over yet
        self._delivered = threading.Condition(self._lock)
        self.state: dict[str, Any] = {}  # touched only by jobs, on the worker thread

    # -- GUI thread ------------------------------------------------------------------------------
    def declare(self, channel: str, *, cancelled_by: tuple[str, ...] = ()) -> None:
        """Declare ``channel``; a job submitted on a channel of ``cancelled_by`` cancels its latest job."""
        with self._lock:
            self._preempts.setdefault(channel, set())
            for other in cancelled_by:
                self._preempts.setdefault(other, set()).add(channel)

    def channels(self) -> list[str]:
        return sorted(self._preempts)

    def submit(self, fn: Callable[[Job], Any], *, channel: str = "model",
               done: Callable[[int, Any], None] | None = None,
               failed: Callable[[int, BaseException], None] | None = None,
               progress: Callable[[int, str, int], None] | None = None,
               supersede: bool = True) -> int:
        """Run ``fn(job)`` on the worker thread. ``done(id, result)`` or ``failed(id, error)`` is then
        called through ``post`` (a ``Cancelled`` error when it was cancelled), unless a newer job on the same
        channel superseded it: a stale job reports nothing. ``supersede=False`` runs the job without
        superseding the channel's latest (a background task that must not cancel the user's request)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the request runner is shut down")
            if self._strict and channel not in self._preempts:
                raise ValueError(f"channel {channel!r} was not declared; declared: {', '.join(sorted(self._preempts))}")
            for other in self._preempts.get(channel, ()):
                if other in self._latest:
                    self._cancelled.add(self._latest[other])
            self._counter += 1
            job_id = self._counter
            if supersede:
                previous = self._latest.get(channel)
                if previous is not None:
                    self._cancelled.add(previous)
                self._latest[channel] = job_id
        job = Job(job_id, channel if supersede else f"{channel}#{job_id}", self.state, self, progress)
        if not supersede:
            with self._lock:
                self._latest[job.channel] = job_id
        future = self._executor.submit(self._run, job, fn, done, failed)
        self._futures = [f for f in self._futures if not f.done()] + [future]
        return job_id

    def cancel(self, job_id: int | None = None, channel: str = "model") -> None:
        """Cancel ``job_id`` (the channel's latest when None): it stops at its next step and reports
        ``Cancelled`` to ``failed``."""
        with self._lock:
            target = job_id if job_id is not None else self._latest.get(channel)
            if target is not None:
                self._cancelled.add(target)

    def is_current(self, job_id: int, channel: str = "model") -> bool:
        with self._lock:
            return self._latest.get(channel) == job_id and job_id not in self._cancelled and not self._closed

    def is_busy(self) -> bool:
        return any(not f.done() for f in self._futures)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and let the thread end (it finishes the step it is in)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cancelled.update(self._latest.values())
            self._delivered.notify_all()  # background work waiting for outcomes starts, and stops at once
        self._executor.shutdown(wait=wait, cancel_futures=True)
        self.state.clear()

    # -- worker thread --------------------------------------------------------------------------
    def _run(self, job: Job, fn, done, failed) -> None:
        if job.background:  # background work waits for the outcomes on their way
            with self._delivered:
                self._delivered.wait_for(lambda: self._undelivered == 0 or self._closed, timeout=BACKGROUND_WAIT_S)
        try:
            job.check()
            with collector.importing():  # a job builds models and may import libraries (timm, captum …)
                result = fn(job)
            job.check()
            outcome = (done, result)
        except Exception as error:  # noqa: BLE001 - every failure goes back as a message, never a traceback
            outcome = (failed, error)
        with self._lock:
            self._undelivered += 1
        self._post(lambda: self._deliver(job, outcome, failed))

    def _deliver(self, job: Job, outcome, failed) -> None:
        """On the GUI thread: hand over the outcome unless a newer job superseded this one on the way (a
        job cancelled after its last step reports ``Cancelled`` all the same)."""
        try:
            self._hand_over(job, outcome, failed)
        finally:
            with self._lock:
                self._undelivered -= 1
                self._delivered.notify_all()

    def _hand_over(self, job: Job, outcome, failed) -> None:
        callback, value = outcome
        with self._lock:
            latest = self._latest.get(job.channel) == job.id
            cancelled = job.id in self._cancelled
            self._cancelled.discard(job.id)
            if job.background:
                self._latest.pop(job.channel, None)
            closed = self._closed
        if closed or not latest:
            return
        if cancelled and not isinstance(value, Cancelled):
            callback, value = failed, Cancelled()
        if callback is not None:
            callback(job.id, value)
