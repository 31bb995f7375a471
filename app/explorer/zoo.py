"""The zoo for the browser: its listing, read from the static index at once (no torch), torch made ready on
the runner's thread, and the parameter count of every entry, counted in a process of its own and cached on
disk (``models.params``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

from cnn_explorer.app.core import collector
from cnn_explorer.widgets.explorer.layer_info import ZooItem

log = logging.getLogger(__name__)


def zoo_items() -> list[ZooItem]:
    """The zoo's entries as browser items, from the static index: no torch, so the browser fills at once."""
    from cnn_explorer.models.zoo.index import entries

    return [ZooItem(name=e["name"], family=e["family"], year=e["year"], task=e["task"], paper=e["paper"],
                    source=e["source"], input_size=tuple(e["input_size"]), in_channels=e["in_channels"])
            for e in entries()]


def prepare_torch(job=None, after: threading.Event | None = None, wait_s: float = 0.0) -> None:
    """Import torch and torchvision on the runner's thread before the first model needs them (its torch threads:
    every core but one), and igraph before the first graph is laid out; first wait (``wait_s`` at most) for
    ``after`` (the window drawn).
    The GUI thread goes on meanwhile: torch's libraries are loaded with the GIL released, and the collector
    does not walk the ~400,000 objects being imported (``collector``)."""
    from cnn_explorer.models.runtime.threads import spare_core_threads
    from cnn_explorer.models.runtime.torch_import import load_libraries
    from cnn_explorer.widgets.graph.layout import igraph_graph

    if after is not None:  # the window is drawn first (see MainWindow)
        after.wait(wait_s)

    with collector.importing():
        load_libraries()
        igraph_graph()
        import torch
        import torchvision.models  # noqa: F401
    # The runner's models run on every core but one: the other is the window's (models/runtime/threads.py).
    torch.set_num_threads(spare_core_threads())


class ParamCounter(QObject):
    """Counts the parameters of zoo entries in a process of its own (``models.params.serve``), fed one name at
    a time by a thread of this one that waits on its pipe (no GIL held meanwhile), and pausing while the
    user's model loads. Counting in a thread of the app made the GUI thread three to four times slower for
    the first minute: building a hundred models is Python work, and the two threads took turns at the GIL."""

    counted = Signal(str, int)  # name, count (-1: could not be counted)
    all_counted = Signal()

    def __init__(self, cache_path: str | os.PathLike, parent: QObject | None = None):
        from cnn_explorer.models.analysis.params import ParamCache

        super().__init__(parent)
        self.cache = ParamCache(cache_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnn-explorer-params")
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._future: Future | None = None
        self._child: subprocess.Popen | None = None

    def cached(self) -> dict[str, int]:
        """The counts on file (read on the calling thread: a small JSON; versions are checked when the
        counting process starts, and stale counts recounted then)."""
        return self.cache.counts()

    def start(self, names: list[str]) -> None:
        if self._future is None or self._future.done():
            self._future = self._executor.submit(self._count_all, list(names))

    def pause(self) -> None:
        """Let the model the user asked for have the CPU: counting waits after the model it is on."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self._running.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.kill()  # it may be in the middle of a model: its answer is not needed
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def is_busy(self) -> bool:
        return self._future is not None and not self._future.done()

    def _spawn(self) -> subprocess.Popen:
        self._child = subprocess.Popen([sys.executable, "-m", "cnn_explorer.models.analysis.params"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                       encoding="utf-8", bufsize=1)
        return self._child

    @staticmethod
    def _answer(child: subprocess.Popen) -> dict | None:
        """The child's next answer; None when it has ended."""
        for line in child.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                return message
        return None

    def _count_all(self, names: list[str]) -> None:
        try:
            child = self._spawn()
        except OSError as error:
            log.warning("cannot start the parameter counter: %s", error)
            return
        try:
            self._count_with(child, names)
        except (OSError, ValueError) as error:  # the pipe broke: the child died or was killed at close
            if not self._stop.is_set():
                log.warning("the parameter counter stopped: %s", error)
        finally:
            if child.stdin:
                try:
                    child.stdin.close()
                except OSError:
                    pass
            if child.poll() is None and self._stop.is_set():
                child.kill()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    def _count_with(self, child: subprocess.Popen, names: list[str]) -> None:
        from cnn_explorer.models.analysis.params import valid_count

        first = self._answer(child)
        versions = first.get("versions") if first else None
        if not isinstance(versions, dict):
            if not self._stop.is_set():
                log.warning("the parameter counter did not start")
            return
        counts, needs_repair = self.cache.read(versions)
        for name in names:
            if name in counts:
                self.counted.emit(name, counts[name])
        todo = [n for n in names if n not in counts]
        if needs_repair and not todo:
            self.cache.write(versions, counts)
        for i, name in enumerate(todo):
            while not self._running.wait(0.1) and not self._stop.is_set():
                pass
            if self._stop.is_set():
                return
            child.stdin.write(name + "\n")
            child.stdin.flush()
            answer = self._answer(child)
            if answer is None:  # the child died (out of memory on a giant model?): the rest stay uncounted
                if not self._stop.is_set():
                    log.warning("the parameter counter ended while counting %s", name)
                    self.counted.emit(name, -1)
                return
            count = valid_count(answer.get("count"))
            if answer.get("name") != name or count is None:
                log.warning("cannot count the parameters of %s: %s", name, answer.get("error", answer))
                self.counted.emit(name, -1)
                continue
            counts[name] = count
            self.counted.emit(name, count)
            if i % 10 == 9 or i == len(todo) - 1:
                self.cache.write(versions, counts)
        if not self._stop.is_set():
            self.all_counted.emit()

