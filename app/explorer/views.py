"""The explorer's views of the current model: the layer graph (or a message page in its place), the summary
table and the inspector. They show a served model (``show_result``) and follow the one selection; they emit
nothing back while following it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QStackedWidget

from cnn_explorer.widgets.common.panels import message_page
from cnn_explorer.widgets.explorer.inspector import Inspector
from cnn_explorer.widgets.explorer.summary_table import SummaryTable
from cnn_explorer.widgets.graph.view import GraphView


class ExplorerViews:
    def __init__(self, parent):
        self.parent = parent
        self.graph = GraphView(parent)
        self.graph.setObjectName("graph_view")
        self.graph_message = message_page(parent, "graph_message")
        self.graph_stack = QStackedWidget(parent)
        self.graph_stack.addWidget(self.graph)
        self.graph_stack.addWidget(self.graph_message)
        self.table = SummaryTable(parent)
        self.inspector = Inspector(parent)

    def set_theme(self, theme: str) -> None:
        self.graph.set_theme(theme)
        self.inspector.set_theme(theme)

    def show_message_page(self, html: str) -> None:
        self.graph_message.setText(html)
        self.graph_stack.setCurrentWidget(self.graph_message)

    def show_result(self, result) -> None:
        """A served model: its graph (or a page saying why there is none), its rows and its overview."""
        self.graph.set_data(result.graph)
        if result.graph is not None:
            self.graph_stack.setCurrentWidget(self.graph)
        if result.error:
            self.show_message_page(f"<h2>{result.name}</h2><p>{result.error}</p>"
                                   "<p>Its entry in the zoo, the totals the model could give and the inspector's "
                                   "overview are still here; the graph is not.</p>")
        self.table.set_rows(result.rows, result.totals,
                            title=f"{result.name} at {result.input_size[0]}×{result.input_size[1]}")
        self.inspector.show_overview(result.overview)

    def redraw_text(self) -> None:
        """Write every number again (the shape order changed): the graph keeps its folding and selection."""
        data = self.graph.graph_data()
        if data is not None:
            selected = self.graph.selected_node()
            self.graph.set_data(data, folded=self.graph.folded_blocks())
            if selected:
                self.graph.select_node(selected)
        self.table.refresh_text()
        self.inspector.refresh()

    # -- the selection ---------------------------------------------------------------------------------------
    def follow(self, name: str, result) -> None:
        """Show the selection in the graph, the table and the inspector."""
        details = result.details_of(name) if result is not None and name else None
        if details is not None:
            self.inspector.show_details(details)
        elif result is not None:
            self.inspector.show_overview(result.overview)
        if not name:
            self.graph.clear_selection()
            self.table.clear_selection()
            return
        if self.graph.selected_node() != name:
            self.graph.select_node(name)
            self.ensure_readable()
        if self.table.current_layer() != name and not self.table.select_layer(name):
            self.table.clear_selection()

    def ensure_readable(self) -> None:
        """Zoom in (around the selection, which select_node centred) when the graph is too small to read."""
        if self.graph.selected_node() is not None and self.graph.zoom() < (readable := self.graph.readable_zoom()):
            self.graph.set_zoom(readable)

    # -- export ----------------------------------------------------------------------------------------------
    def export_graph(self, path: str | os.PathLike) -> None:
        self.graph.export_image(str(path))

    def export_summary(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if path.suffix.lower() in (".md", ".markdown"):
            self.table.export_markdown(path)
        else:
            self.table.export_csv(path)

    def export_dialog(self, ctx, what: str, kind: str) -> None:
        """File › Export graph (PNG, SVG) or summary (CSV, Markdown): a save dialog, then a staged write."""
        current = ctx.session.current
        if current is None or (what == "graph" and current.graph is None):
            return
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV table (*.csv)",
                   "md": "Markdown table (*.md)"}
        path, _ = QFileDialog.getSaveFileName(self.parent, f"Export {what}", str(Path.cwd() / f"{current.name}.{kind}"),
                                              filters[kind])
        if not path:
            return
        if what == "graph":  # drawn on the runner's thread: seconds for DenseNet-201 unfolded
            self.export_graph_in_background(ctx, path)
            return
        from cnn_explorer.app.explorer.export import save_from_window

        save_from_window(ctx, path, self.export_summary)

    def export_graph_in_background(self, ctx, path: str | os.PathLike) -> int | None:
        """The graph as shown, written on the runner's thread (``background.py``): the job's id, or None."""
        from cnn_explorer.app.explorer.background import writer_of

        if Path(path).suffix.lower() not in (".png", ".svg"):
            ctx.show_error(f"cannot write {Path(path).name}: the image must be .png or .svg")
            return None
        export = self.graph.export_elsewhere()
        if export is None:
            return None
        scene, write = export
        return writer_of(ctx).start(path, "Exporting the graph", lambda job, target: write(target, job.progress),
                                    scene=scene)
