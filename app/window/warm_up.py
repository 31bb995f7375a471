"""The window's imports ahead of need: what the tabs import and Qt does not (matplotlib's colour maps, pyqtgraph),
imported on the runner's thread once the first model is shown, so that a tab's first opening does not import
them on the GUI thread (pyqtgraph: ~0.9 s of the Charts and Lab tabs' first opening on the 2-core machine).

Why the Qt types are made first, on the GUI thread: PySide6 (6.8 and later) creates the Python class of a Qt type
the first time a module's attribute is read (shiboken's ``incarnateType``), and that is not thread-safe under the
GIL. It keeps an iterator into the module's table of types not yet made while the type's creation runs Python
code (its enums, ``enum.py``), where the GIL can pass to another thread; if that thread makes the same type
meanwhile, it removes the table's entry, and the first thread's removal then frees it again: a corrupt heap, and
a segmentation fault later. Importing pyqtgraph makes every type of QtCore, QtGui and QtWidgets
(``pyqtgraph.Qt`` copies each module's names into its own) and some of QtOpenGL's: done on the runner's thread,
two runs of benchmarks/heartbeat.py in seven crashed (on the GUI thread, as the Lab tab first opened), and a
script whose two threads read the names of those three modules at once crashed in six runs of six (PySide6 6.11).

So ``QtTypes`` makes the types of the modules pyqtgraph reads, a few per turn of the GUI thread's event loop (a
type takes 0.1-10 ms; 600-odd of them, 0.2-0.6 s in all), and only then are pyqtgraph and the tabs' modules
imported on the runner, where they read attributes that exist (tests/app/test_warm_up.py checks that no Qt type
is made there).
"""

from __future__ import annotations

import importlib
import time

from PySide6.QtCore import QObject

from cnn_explorer.widgets.common.steps import later

# The PySide6 modules that importing pyqtgraph reads or imports (pyqtgraph/Qt/__init__.py, OpenGLHelpers.py).
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtOpenGL", "QtOpenGLWidgets", "QtSvg", "QtTest")
SLICE_S = 0.008  # the GUI thread's time per turn of the event loop
# What the tabs' first opening imports, imported on the runner once the Qt types are made: pyqtgraph, then the
# tabs' own modules (their widgets' classes; no Qt object is made at import). Without bytecode (this machine
# sets PYTHONDONTWRITEBYTECODE) compiling them took 50-300 ms of a tab's first opening.
TAB_MODULES = ("pyqtgraph", "cnn_explorer.widgets.charts.panel", "cnn_explorer.app.charts.controller",
               "cnn_explorer.models.charts", "cnn_explorer.widgets.lab.panel", "cnn_explorer.app.lab.controller",
               "cnn_explorer.app.figure.controller", "cnn_explorer.app.live.controller")


def _import(job, names) -> None:
    """On the runner's thread: import ``names``, unless the window is closing (``job.check``), the collector
    kept from walking the objects being imported meanwhile (``collector.importing``)."""
    from cnn_explorer.app.core import collector

    with collector.importing():
        for name in names:
            job.check()
            importlib.import_module(name)


def import_colour_maps(job) -> None:
    """matplotlib's colour maps (the lab's mosaics take their tables from it: ~0.9 s of the Lab tab's first
    opening; no plotting backend, no Qt)."""
    _import(job, ("matplotlib.cm",))  # where matplotlib.colormaps lives


def import_tab_modules(job) -> None:
    """Once ``QtTypes`` is done: ``TAB_MODULES``."""
    _import(job, TAB_MODULES)


def _type_steps(modules):
    """Import each module, then read each of its names not made yet: a step each."""
    for name in modules:
        module = importlib.import_module(f"PySide6.{name}")
        yield
        made = vars(module)
        for attr in dir(module):  # a PySide6 module's dir() lists the types not made yet too
            if attr not in made:
                try:
                    getattr(module, attr)
                except AttributeError:  # listed but not available in this build
                    pass
                yield


class QtTypes(QObject):
    """Makes the Python classes of ``modules``' Qt types on the GUI thread, ``SLICE_S`` per event-loop turn
    (``steps.later``), then calls ``done()`` (unless stopped, or destroyed with its parent, first)."""

    def __init__(self, parent, done, modules=QT_MODULES):
        super().__init__(parent)
        self._steps = _type_steps(modules)
        self._done = done
        self.finished = self._stopped = False
        later(self._step, self)

    def stop(self) -> None:
        """No more steps, and no ``done()`` (the window is closing)."""
        self._stopped = True

    def _step(self) -> None:
        if self._stopped:
            return
        end = time.perf_counter() + SLICE_S
        for _ in self._steps:
            if time.perf_counter() >= end:
                later(self._step, self)
                return
        self.finished = True
        self._done()
