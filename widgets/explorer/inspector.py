"""The inspector: the numbers of the selected layer or block, written out as on a blackboard.

It receives plain ``LayerDetails`` / ``ModelOverview`` objects and renders them as rich text; no torch."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import LayerDetails, ModelOverview, task_label
from cnn_explorer.widgets.common.theme import colors


class Inspector(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.view = QTextBrowser(self)
        self.view.setObjectName("inspector_text")
        self.view.setOpenLinks(False)
        self.view.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._theme = "light"
        self._shown: LayerDetails | ModelOverview | None = None
        self.clear()

    # -- public -----------------------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        self._theme = theme
        self._render(keep_scroll=True)

    def refresh(self) -> None:
        """Write what is shown again (the shape order changed)."""
        self._render(keep_scroll=True)

    def clear(self, message: str = "Click a layer in the graph or a row of the table.") -> None:
        self._shown = None
        self._message = message
        self._render()

    def show_details(self, details: LayerDetails) -> None:
        self._shown = details
        self._render()

    def show_overview(self, overview: ModelOverview) -> None:
        self._shown = overview
        self._render()

    def shown(self) -> LayerDetails | ModelOverview | None:
        return self._shown

    def text(self) -> str:
        """What the inspector shows, as plain text."""
        return self.view.toPlainText()

    # -- rendering --------------------------------------------------------------------------------
    def _render(self, keep_scroll: bool = False) -> None:
        c = colors(self._theme)
        css = (f"body {{ color: {c.text}; }} .muted {{ color: {c.muted}; }} .sec {{ color: {c.muted}; }}"
               f" .formula {{ color: {c.accent}; font-weight: bold; }} .err {{ color: {c.error}; }}"
               f" td {{ padding: 1px 8px 1px 0; vertical-align: top; }}"
               f" h2 {{ margin: 0; }} p {{ margin: 2px 0; }}")
        self.view.document().setDefaultStyleSheet(css)
        shown = self._shown
        if shown is None:
            body = f"<p class='muted'>{escape(self._message)}</p>"
        elif isinstance(shown, ModelOverview):
            body = self._overview_html(shown)
        else:
            body = self._details_html(shown)
        scroll = self.view.verticalScrollBar().value()
        self.view.setHtml(f"<html><body>{body}</body></html>")
        self.view.verticalScrollBar().setValue(scroll if keep_scroll else 0)

    @staticmethod
    def _section(title: str) -> str:
        return f"<tr><td colspan='2' style='padding-top:8px'><span class='sec'><b>{escape(title)}</b></span></td></tr>"

    @staticmethod
    def _row(label: str, value: str, css: str = "") -> str:
        cls = f" class='{css}'" if css else ""
        return f"<tr><td class='muted'>{escape(label)}</td><td{cls}>{value}</td></tr>"

    def _details_html(self, d: LayerDetails) -> str:
        kind = f"block of {d.layer_count} layers" if d.is_block else "layer"
        rows = [self._section("Shapes")]
        if d.input_shape is not None:
            rows.append(self._row("input", escape(fmt.shape(d.input_shape))))
        rows.append(self._row("output", f"<b>{escape(fmt.shape(d.output_shape, empty='—'))}</b>"))
        # The receptive field right under the shapes: in sight without scrolling, even in large presentation text.
        if d.has_field:
            rows.append(self._section("Receptive field: size / stride / padding"))
            rows.append(f"<tr><td colspan='2'><b>{escape(fmt.receptive_field(d.receptive_field))}</b></td></tr>")
        if d.settings:
            rows.append(self._section("Settings"))
            rows += [self._row(fmt.setting_label(key), escape(fmt.setting(key, value))) for key, value in d.settings]
        if d.shape_arithmetic:
            rows.append(self._section("Output size"))
            rows += [f"<tr><td colspan='2' class='formula'>{escape(line)}</td></tr>" for line in d.shape_arithmetic]
        rows.append(self._section("Parameters"))
        if d.param_arithmetic and not d.is_block:
            rows.append(f"<tr><td colspan='2' class='formula'>{escape(d.param_arithmetic)}</td></tr>")
        else:
            rows.append(self._row("total", f"<b>{fmt.count(d.params)}</b> ({fmt.short(d.params)})"))
        rows.append(self._section("Cost"))
        rows.append(self._row("MACs", f"{fmt.count(d.macs)} ({fmt.short(d.macs)})"))
        rows.append(self._row("memory", escape(fmt.size_bytes(d.memory)) + " of activations"))
        notes = "".join(f"<p class='muted'>{escape(n)}</p>" for n in d.notes)
        # The lecture's name first (conv1, Inception 3a); the module path as the code knows it below.
        module = f"module {escape(d.name)} · " if d.label else ""
        return (f"<h2>{escape(d.label or d.name)}</h2><p class='muted'>{module}{escape(d.type)} · {kind}</p>"
                f"<table cellspacing='0'>{''.join(rows)}</table>{notes}")

    def _overview_html(self, o: ModelOverview) -> str:
        rows = []
        if o.family:
            rows.append(self._row("family", escape(f"{o.family} ({o.year})" if o.year else o.family)))
        if o.task:
            rows.append(self._row("task", escape(task_label(o.task))))
        if o.input_shape is not None:
            rows.append(self._row("input", escape(fmt.shape(o.input_shape))))
        if o.weights:
            # One line; the whole message (a file's path, why there are no pretrained weights) on hover.
            rows.append(self._row("weights", f"<span title='{escape(o.weights, quote=True)}'>"
                                             f"{escape(fmt.weights_short(o.weights))}</span>"))
        if o.totals is not None:
            t = o.totals
            rows.append(self._section("Totals"))
            rows.append(self._row("parameters", f"<b>{fmt.count(t.params)}</b> ({fmt.short(t.params)})"))
            if t.trainable_params != t.params:
                rows.append(self._row("trainable", fmt.count(t.trainable_params)))
            rows.append(self._row("MACs", f"{fmt.count(t.macs)} ({fmt.short(t.macs)})"))
            rows.append(self._row("activations", escape(fmt.size_bytes(t.memory))))
            if t.depth:
                rows.append(self._row("depth", f"<b>{t.depth}</b> weight layers"))
            rows.append(self._row("operations", fmt.count(t.layers)))
        if o.facts:
            rows.append(self._section("From the papers and lectures"))
            rows += [self._row(key, escape(fmt.fact(value))) for key, value in o.facts]
        paper = f"<p class='muted'>{escape(o.paper)}</p>" if o.paper else ""
        error = f"<p class='err'><b>No layer graph:</b> {escape(o.error)}</p>" if o.error else ""
        note = f"<p class='muted'>{escape(o.note)}</p>" if o.note else ""
        hint = "" if o.error else "<p class='muted'>Click a layer to see its arithmetic.</p>"
        return (f"<h2>{escape(o.name)}</h2>{paper}{error}<table cellspacing='0'>{''.join(rows)}</table>"
                f"{note}{hint}")
