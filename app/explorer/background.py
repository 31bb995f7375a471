"""Files drawn on the runner's thread: File › Export graph for slides… and File › Export figure… draw and encode
their pictures (seconds for DenseNet-201 unfolded on slides) as jobs of the window's request runner
(``app/core/requests.py``, channel "export"), so that the window never stalls. A progress dialog with Cancel
shows when a job takes over a second; a cancelled or failed export leaves no file, and the user's old file as
it was (``staged_output``, on the worker). One export at a time: another one asked for meanwhile is refused
with a message.

A job's ``write(job, target)`` draws with a painter on a QImage, a QPdfWriter or a QSvgGenerator, which Qt
allows on any thread; a graph is drawn by an ``OffscreenScene`` made on the GUI thread and handed to the job
(``widgets/graph/offscreen.py`` says which of Qt's rules that relies on), then deleted here when the job ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog

from cnn_explorer.app.core.requests import Cancelled
from cnn_explorer.widgets.common.files import check_writable, staged_output

CHANNEL = "export"
SHOW_AFTER_MS = 1000  # the progress dialog shows when an export takes longer than this


class BackgroundWriter(QObject):
    """Runs one export at a time on the window's runner. Signals: ``finished(list)`` (the files written),
    ``stopped(str)`` (the message of a failure, "" when the user cancelled)."""

    finished = Signal(list)
    stopped = Signal(str)

    def __init__(self, ctx):
        super().__init__(ctx.parent)
        self.setObjectName("background_writer")
        self.ctx = ctx
        ctx.runner.declare(CHANNEL)  # a model load waits for it (an export the user asked for is not dropped)
        self._job: int | None = None
        self._dialog: QProgressDialog | None = None
        self._scene = None
        self._written: list[Path] | None = None
        self.last_step = ""  # the last step the job reported

    def is_busy(self) -> bool:
        return self._job is not None

    def start(self, path: str | Path, what: str, write: Callable, scene=None) -> int | None:
        """Write ``path`` on the runner: ``write(job, target)`` writes ``target`` (a staged path named like
        ``path``, and any files beside it) and may return the files written; it calls ``job.progress``, which
        stops it when the user cancels. ``scene``: an OffscreenScene the job uses, deleted here at its end.
        Returns the job's id, or None when the export was refused (one under way, a target not writable)."""
        path = Path(path)
        refusal = "An export is under way: wait for it, or cancel it." if self._job is not None else None
        if refusal is None:
            try:
                check_writable(path)
            except OSError as error:
                refusal = str(error)
        if refusal is not None:
            if scene is not None:  # not needed
                scene.claim().deleteLater()
            if self._job is not None:
                self.ctx.notify(refusal, 8000)
            else:
                self.ctx.show_error(refusal)
            return None
        written: list[Path] = []
        self._written = written

        def work(job):
            with staged_output(path) as target:
                files = write(job, target)
                job.check()  # cancelled during the last step: nothing is moved into place
            names = [Path(f).name for f in files] if isinstance(files, (list, tuple)) else [path.name]
            written.extend(path.parent / name for name in names)
            return list(written)

        self._scene = scene
        self.last_step = ""
        self._job = self.ctx.runner.submit(work, channel=CHANNEL, done=self._done, failed=self._failed,
                                           progress=self._progress)
        self._dialog = dialog = QProgressDialog(f"{what}…", "Cancel", 0, 0, self.ctx.parent)
        dialog.setObjectName("export_progress")
        dialog.setWindowTitle(what)
        dialog.setWindowModality(Qt.WindowModality.NonModal)  # the window stays in use meanwhile
        dialog.setMinimumDuration(SHOW_AFTER_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)  # starts its clock: it shows after SHOW_AFTER_MS
        self.ctx.notify(f"{what}…", 0)
        return self._job

    def cancel(self) -> None:
        """Stop the export at its next step: no file is written."""
        if self._job is not None:
            self.ctx.runner.cancel(self._job, channel=CHANNEL)
            if self._dialog is not None:
                self._dialog.setLabelText("Cancelling…")

    # -- on the GUI thread, from the runner --------------------------------------------------------------------
    def _progress(self, job_id: int, text: str, percent: int) -> None:
        if job_id != self._job or self._dialog is None:
            return
        self.last_step = text
        self._dialog.setLabelText(f"{text}…")
        if percent < 0:
            self._dialog.setRange(0, 0)
        else:
            self._dialog.setRange(0, 100)
            self._dialog.setValue(percent)

    def _done(self, job_id: int, files: list[Path]) -> None:
        self._end()
        self.ctx.notify(f"Saved {', '.join(map(str, files))}", 8000)
        self.finished.emit(files)

    def _failed(self, job_id: int, error: BaseException) -> None:
        written = list(self._written or [])
        self._end()
        if isinstance(error, Cancelled):
            if written:  # the cancel came after the files were in place
                self._done(job_id, written)
                return
            self.ctx.notify("Export cancelled: no file was written.", 8000)
            self.stopped.emit("")
            return
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = text if text.startswith("cannot write") else f"Cannot export: {text}"
        if not isinstance(error, (OSError, ValueError)):
            message = f"Cannot export: {type(error).__name__}: {text}"
        self.ctx.show_error(message)
        self.stopped.emit(message)

    def _end(self) -> None:
        self._job = None
        self._written = None
        if self._dialog is not None:
            self._dialog.canceled.disconnect(self.cancel)
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
        if self._scene is not None:  # emptied by the job: deleted here, where scenes are made
            self._scene.claim().deleteLater()
            self._scene = None


def writer_of(ctx) -> BackgroundWriter:
    """The window's BackgroundWriter (made on first use, a child of the window)."""
    found = ctx.parent.findChild(BackgroundWriter, "background_writer")
    return found if found is not None else BackgroundWriter(ctx)
