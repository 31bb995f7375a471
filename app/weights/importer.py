"""File › Weights › Import weight files…: the files are checked (a hash of hundreds of megabytes) on the runner,
then the current model is opened again with them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from cnn_explorer.app.core.features import QuietController


class WeightsImporter(QuietController):
    def __init__(self, ctx):
        self.ctx = ctx
        ctx.runner.declare("weights")

    def choose(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.ctx.parent, "Import weight files", str(Path.home()),
                                                "Weights (*.pth *.pt);;All files (*)")
        if paths:
            self.run(paths)

    def run(self, paths: list[str]) -> int:
        from cnn_explorer.models.zoo.weights_import import import_files

        self.ctx.notify(f"Checking {len(paths)} weight file(s)…", 0)
        return self.ctx.runner.submit(
            lambda job: import_files(paths, lambda name, done, total: job.progress(f"checking {name}",
                                                                                   int(100 * done / max(total, 1)))),
            channel="weights", done=lambda _id, results: self._done(results),
            failed=lambda _id, error: self.ctx.show_error(f"Import weight files: {error}"))

    def _done(self, results) -> None:
        done = [r for r in results if r.destination]
        refused = [r for r in results if not r.destination]
        if refused:
            self.ctx.show_error("Not imported: " + "; ".join(f"{Path(r.source).name}: {r.message}" for r in refused))
        if done:
            models = sorted({m for r in done for m in r.models})
            self.ctx.notify(f"Imported weights for {', '.join(models)}", 10000)
            current = self.ctx.session.current
            if current is not None and current.name in models and current.weights_label != "pretrained":
                self.ctx.reopen_pretrained()
