"""``cnn-explorer weights import FILE…`` and ``weights list``: published weight files brought offline."""

from __future__ import annotations

import json
import sys


def add_commands(subparsers) -> None:
    weights = subparsers.add_parser("weights", help="import published weight files (offline), list what is there")
    actions = weights.add_subparsers(dest="weights_command", required=True)
    imported = actions.add_parser("import", help="check files against the SHA-256 in their names, put them in "
                                                 "torch's hub cache")
    imported.add_argument("files", nargs="+", metavar="FILE")
    listed = actions.add_parser("list", help="for each zoo model with published weights: present or not")
    listed.add_argument("--json", action="store_true")
    listed.add_argument("--missing", action="store_true", help="only the models whose file is not there")


def _progress(name: str, done: int, total: int) -> None:
    if total > 50 << 20 and sys.stderr.isatty():
        print(f"\rchecking {name}: {100 * done // max(total, 1)}%", end="", file=sys.stderr, flush=True)


def weights(args) -> int:
    from cnn_explorer.app.cli import CliError
    from cnn_explorer.models.zoo.weights_import import import_files, status

    if args.weights_command == "list":
        rows = [r for r in status() if not (args.missing and r[2])]
        if args.json:
            print(json.dumps([{"model": m, "file": f, "present": p, "path": path} for m, f, p, path in rows]))
            return 0
        width = max((len(m) for m, *_ in rows), default=5)
        for model, name, present, path in rows:
            print(f"{model:<{width}}  {'present' if present else 'missing':<8} {path if present else name}")
        return 0
    results = import_files(args.files, _progress)
    refused = [r for r in results if not r.destination]
    for r in results:
        if r.destination:
            print(f"{r.source}: {r.message or 'imported'} → {r.destination} ({', '.join(r.models)})")
    if refused:
        raise CliError("; ".join(f"{r.source}: {r.message}" for r in refused))
    return 0


HANDLERS = {"weights": weights}
