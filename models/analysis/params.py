"""Parameter counts of zoo entries without building them for real, and their cache on disk.

``count_parameters`` builds a model on the meta device (no memory, no arithmetic). ``serve`` counts in a
process of its own (``python -m cnn_explorer.models.analysis.params``), so that building a hundred models, which is
Python work, never competes with the GUI thread for the GIL. ``ParamCache`` keeps the
counts in a JSON file keyed by the library versions: it is written to a unique temporary file and moved into
place atomically (two processes may write at once; a reader never sees half a file; the temporary files of
interrupted writes are removed once an hour old), and whatever it reads is checked: a value that is not a
whole, non-negative, plausible count is dropped and recounted. A path that cannot be used (its folder is a
file, the file is a folder) is one warning, and the counts stay in memory.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from cnn_explorer.models.analysis.cache import remove_stale_partials, warn_once

log = logging.getLogger(__name__)

MAX_PLAUSIBLE_COUNT = 10**13  # no network of the zoo comes near; anything above is a corrupt entry


def count_parameters(name: str) -> int:
    """The parameter count of zoo model ``name``, built on the meta device; models that cannot be built there
    are counted from torchvision's weights metadata, or built for real."""
    import torch

    from cnn_explorer.models.zoo.registry import get_entry

    entry = get_entry(name)
    try:
        with torch.device("meta"):
            model = entry.builder()
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001 - some builders compute on tensors (regnet); try the other ways
        pass
    if entry.source == "torchvision":
        try:
            from torchvision.models import get_model_weights

            return int(get_model_weights(name).DEFAULT.meta["num_params"])
        except (ValueError, KeyError, AttributeError):
            pass
    model = entry.builder()
    return sum(p.numel() for p in model.parameters())


def library_versions() -> dict[str, str]:
    import torch
    import torchvision

    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import timm

        versions["timm"] = timm.__version__
    except ImportError:
        pass
    return versions


def valid_count(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_PLAUSIBLE_COUNT else None


class ParamCache:
    """Counts on file, by model name, for one set of library versions."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self, versions: dict | None = None) -> tuple[dict[str, int], bool]:
        """(valid counts, whether the file needs repair). With ``versions``, counts made with other library
        versions are not valid. A missing file is no repair; an unreadable or malformed one is."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}, False
        except (OSError, UnicodeDecodeError):
            return {}, True
        try:
            data = json.loads(text)
        except ValueError:
            return {}, True
        if not isinstance(data, dict) or not isinstance(data.get("counts"), dict):
            return {}, True
        if versions is not None and data.get("versions") != versions:
            return {}, False
        counts, bad = {}, False
        for name, value in data["counts"].items():
            valid = valid_count(value)
            if valid is None or not isinstance(name, str):
                bad = True
            else:
                counts[name] = valid
        return counts, bad

    def counts(self) -> dict[str, int]:
        return self.read()[0]

    def write(self, versions: dict, counts: dict[str, int]) -> bool:
        """Replace the file atomically; False when it cannot be written (a folder that is a file, a file that is
        a folder, no room: one log line per path in this process, and the counts stay in memory). Temporary
        files of interrupted writes, an hour old, are removed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".partial", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"versions": versions, "counts": counts}, out, indent=0)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as error:
            warn_once(f"params:{self.path}", "cannot write the parameter cache %s (%s); going on without it",
                      self.path, error.strerror or error)
            return False
        remove_stale_partials(self.path.parent, self.path.name + ".")
        return True


def serve(names=None, out=None) -> int:
    """The counting process. Writes one JSON line ``{"versions": …}``, then, for each name read (one a line,
    from ``names``, stdin by default), one line ``{"name", "count"}`` or ``{"name", "error"}``. Ends at the end
    of its input: when the app closes or dies, its pipe closes and this process ends after the model it is on.
    Anything a library prints goes to stderr: the protocol has standard output to itself."""
    if out is None:
        out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
    names = sys.stdin if names is None else names
    import torch

    torch.set_num_threads(1)  # the other core is the app's

    def answer(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    answer({"versions": library_versions()})
    for line in names:
        name = line.strip()
        if not name:
            continue
        try:
            answer({"name": name, "count": count_parameters(name)})
        except Exception as error:  # noqa: BLE001 - one line back, the next model goes on
            answer({"name": name, "error": (str(error).strip().splitlines() or [type(error).__name__])[0][:300]})
    return 0


if __name__ == "__main__":
    from cnn_explorer.models.runtime.torch_import import install

    install()  # the app's own import tricks, in its counting process too
    sys.exit(serve())
