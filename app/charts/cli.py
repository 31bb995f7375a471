"""``cnn-explorer compare M1 M2 [M3 M4] [--json]``: the Charts tab's side-by-side table on the command line
(wired into app/cli.py). Names are checked against the zoo's static index before torch is imported; the models
are built with random weights (counting needs no training) and summarized through the analysis cache.
"""

from __future__ import annotations

import json


def add_commands(subparsers) -> None:
    compare_cmd = subparsers.add_parser(
        "compare", help="2–4 models side by side: parameters, MACs, depth, receptive field, activations, year")
    compare_cmd.add_argument("models", nargs="+", metavar="MODEL", help="two to four zoo names")
    compare_cmd.add_argument("--json", action="store_true", help="one JSON object")


def field_of(rf):
    """The row's receptive field as the formatter takes it (widgets.layer_info's Field, or "global")."""
    from cnn_explorer.widgets.explorer.layer_info import Field

    if hasattr(rf, "size"):
        return Field(tuple(rf.size), tuple(rf.stride), tuple(rf.padding))
    return rf


def table_rows(rows) -> tuple[list[str], list[list[str]]]:
    """The comparison as text: a header and one row per measure, one column per model."""
    from cnn_explorer.widgets.common import format as fmt
    header = ["", *(r.model for r in rows)]
    body = [
        ["year", *(str(r.year) if r.year else "—" for r in rows)],
        ["input", *(fmt.shape(r.input_size) for r in rows)],
        ["parameters", *(fmt.count(r.params) for r in rows)],
        ["MACs", *(fmt.macs(r.macs) for r in rows)],
        ["depth (weight layers)", *(str(r.depth) for r in rows)],
        ["receptive field (size / stride / pad)", *(fmt.receptive_field(field_of(r.receptive_field)) for r in rows)],
        ["activation memory", *(fmt.size_bytes(r.activation_bytes) for r in rows)],
    ]
    return header, body


def compare(args) -> int:
    from cnn_explorer.models.charts import check_names
    from cnn_explorer.models.charts import compare as compare_models

    names = check_names(args.models)  # unknown names and wrong counts fail here, before torch
    rows = compare_models(names)
    if args.json:
        print(json.dumps({"models": [r.to_json() for r in rows]}), flush=True)
        return 0
    header, body = table_rows(rows)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    for line in [header, *body]:
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)))
    return 0


HANDLERS = {"compare": compare}
