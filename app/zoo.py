"""The zoo for the browser: its listing, read from the static index at once (no torch), torch made ready on
the runner's thread, and the parameter count of every entry, counted in a thread of its own and cached on disk
(``models.params``)."""

from __future__ import annotations

import gc
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

from cnn_explorer.widgets.layer_info import ZooItem

log = logging.getLogger(__name__)


def zoo_items() -> list[ZooItem]:
    """The zoo's entries as browser items, from the static index: no torch, so the browser fills at once."""
    from cnn_explorer.models.zoo_index import entries

    return [ZooItem(name=e["name"], family=e["family"], year=e["year"], task=e["task"], paper=e["paper"],
                    source=e["source"], input_size=tuple(e["input_size"]), in_channels=e["in_channels"])
            for e in entries()]


def prepare_torch(job) -> None:
    """Import torch and torchvision on the runner's thread before the first model needs them, and igraph
    before the first graph is laid out (igraph imports matplotlib: a second the GUI thread need not wait)."""
    import igraph  # noqa: F401

    import torch  # noqa: F401 - imported here, in steps, with the collector kept off the old objects

    gc.freeze()
    import torchvision.models  # noqa: F401

    # torch and torchvision are imported now: ~400,000 long-lived objects. Move them out of the garbage
    # collector's reach, or each full collection (set off by any thread) walks them all with the GIL held,
    # and the GUI thread stalls for ~300 ms.
    gc.freeze()


class ParamCounter(QObject):
    """Counts the parameters of zoo entries in its own thread, pausing while the user's model loads."""

    counted = Signal(str, int)  # name, count (-1: could not be counted)
    all_counted = Signal()

    def __init__(self, cache_path: str | os.PathLike, parent: QObject | None = None):
        from cnn_explorer.models.params import ParamCache

        super().__init__(parent)
        self.cache = ParamCache(cache_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnn-explorer-params")
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._future: Future | None = None

    def cached(self) -> dict[str, int]:
        """The counts on file (read on the calling thread: a small JSON; versions are checked when the
        counting thread starts, and stale counts recounted then)."""
        return self.cache.counts()

    def start(self, names: list[str]) -> None:
        if self._future is None or self._future.done():
            self._future = self._executor.submit(self._count_all, list(names))

    def pause(self) -> None:
        """Let the model the user asked for have the CPU (and the GIL): counting waits after the model it is on."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self._running.set()
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def is_busy(self) -> bool:
        return self._future is not None and not self._future.done()

    def _count_all(self, names: list[str]) -> None:
        from cnn_explorer.models.params import count_parameters, library_versions

        versions = library_versions()
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
                break
            try:
                counts[name] = count_parameters(name)
            except Exception as error:  # noqa: BLE001
                log.warning("cannot count the parameters of %s: %s", name, str(error).splitlines()[:1])
                self.counted.emit(name, -1)
                continue
            self.counted.emit(name, counts[name])
            if i % 10 == 9 or i == len(todo) - 1:
                self.cache.write(versions, counts)
        if not self._stop.is_set():
            self.all_counted.emit()
