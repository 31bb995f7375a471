"""``path/to/net.py:Name`` and ``package.module:Name``: a network given as code.

``Name`` is an ``nn.Module`` class that needs no arguments, a function returning a module, or a module
instance. A ``.py`` file is run from its folder: that folder is on ``sys.path`` while it loads (so it can import
its neighbours) and removed after. A module is imported with the current folder on the path, as uvicorn does.
Opening code runs it: give only files you trust, as with ``python net.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from cnn_explorer.models.files.errors import ModelFileError, first_line
from cnn_explorer.models.files.spec import Spec


@contextmanager
def _on_path(folder: str):
    """``folder`` first on ``sys.path`` for the block; removed after unless it was there already."""
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)


@contextmanager
def _forget_neighbours(folder: Path):
    """Drop from ``sys.modules`` the modules imported from ``folder`` during the block: opening the file again
    reads its edited neighbours afresh, and a neighbour named like another module (``utils``) does not stay."""
    before = set(sys.modules)
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None)
            base = folder.joinpath(*name.split("."))  # found through the folder on sys.path, not elsewhere
            if file and Path(file).resolve() in (base.with_suffix(".py"), base / "__init__.py"):
                sys.modules.pop(name, None)


def _line_in(error: BaseException, filename: str) -> str:
    """``, line N`` of the last frame of the traceback that is in ``filename`` ("" when none is)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) == filename]
    return f", line {frames[-1].lineno}" if frames else ""


def _module_name(path: Path) -> str:
    """A name for the loaded file that cannot clash with an installed module."""
    import hashlib

    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in path.stem)
    return f"_cnn_explorer_file_{stem}_{digest}"


def load_python_file(path_text: str):
    """Run a ``.py`` file as a module; errors name the file and the line."""
    path = Path(path_text).expanduser()
    if not path.exists():
        raise ModelFileError(f"file not found: {path_text}")
    if not path.is_file():
        raise ModelFileError(f"{path_text} is not a file")
    path = path.resolve()
    filename = str(path)
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, filename)
    if spec is None or spec.loader is None:
        raise ModelFileError(f"{path_text} cannot be loaded as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        with _on_path(str(path.parent)), _forget_neighbours(path.parent):
            spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        where = error.filename if error.filename and os.path.abspath(error.filename) != filename else path_text
        raise ModelFileError(f"{where}, line {error.lineno}: syntax error: {error.msg}") from None
    except Exception as error:  # whatever the file's own code raises while it loads
        sys.modules.pop(name, None)
        raise ModelFileError(f"{path_text}{_line_in(error, filename)}: loading it failed: "
                             f"{type(error).__name__}: {first_line(error)}") from None
    except SystemExit:
        sys.modules.pop(name, None)
        raise ModelFileError(f"{path_text} called exit() while it loaded (keep script code under "
                             "if __name__ == '__main__':)") from None
    return module, filename


def import_module(dotted: str):
    """Import ``package.module`` with the current folder on the path (uvicorn's ``module:attr``)."""
    try:
        with _on_path(os.getcwd()):
            return importlib.import_module(dotted)
    except ModuleNotFoundError as error:
        if error.name and (dotted == error.name or dotted.startswith(error.name + ".")):
            raise ModelFileError(f"no module named {dotted!r}: run from the folder that holds it, or give "
                                 f"path/to/file.py:Name") from None
        raise ModelFileError(f"module {dotted} fails to import: {first_line(error)}") from None
    except SyntaxError as error:
        raise ModelFileError(f"{error.filename}, line {error.lineno}: syntax error: {error.msg}") from None
    except Exception as error:
        raise ModelFileError(f"module {dotted} fails to import: {type(error).__name__}: {first_line(error)}") from None


def module_classes(module) -> list[str]:
    """The ``nn.Module`` classes that ``module`` defines (not those it imports)."""
    from torch import nn

    return [name for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, nn.Module)
            and getattr(value, "__module__", None) == module.__name__]


def declared_classes(path_text: str) -> list[str]:
    """The classes a ``.py`` file defines, read without running it (its syntax tree)."""
    import ast

    try:
        tree = ast.parse(Path(path_text).expanduser().read_text(encoding="utf-8"), filename=path_text)
    except FileNotFoundError:
        raise ModelFileError(f"file not found: {path_text}") from None
    except SyntaxError as error:
        raise ModelFileError(f"{path_text}, line {error.lineno}: syntax error: {error.msg}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFileError(f"cannot read {path_text}: {first_line(error)}") from None
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


def _attribute(module, attr: str, where: str):
    value = module
    for part in attr.split("."):
        if not hasattr(value, part):
            classes = module_classes(module)
            listed = (f"its nn.Module classes: {', '.join(classes)}" if classes
                      else "it defines no nn.Module class")
            raise ModelFileError(f"{where} has no {attr!r}; {listed}")
        value = getattr(value, part)
    return value


def _required(callable_) -> tuple[list[str], str]:
    """The parameters a call needs (no default, not *args/**kwargs) and the signature as text."""
    try:
        signature = inspect.signature(callable_)
    except (TypeError, ValueError):
        return [], "(…)"
    needed = [p.name for p in signature.parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    return needed, str(signature)


def build(value, attr: str, where: str, filename: str | None):
    """The ``nn.Module`` that ``value`` (a class, a function or an instance) stands for."""
    from torch import nn

    if isinstance(value, nn.Module):
        return value
    if inspect.isclass(value) and not issubclass(value, nn.Module):
        raise ModelFileError(f"{attr} in {where} is a class but not an nn.Module")
    if not callable(value):
        raise ModelFileError(f"{attr} in {where} is a {type(value).__name__}, not an nn.Module class or a "
                             "function returning one")
    needed, signature = _required(value)
    if needed:
        what = "class" if inspect.isclass(value) else "function"
        raise ModelFileError(f"{attr}{signature} needs arguments ({', '.join(needed)}): give a {what} that needs "
                             f"none, e.g. def build(): return {attr}(...)")
    try:
        made = value()
    except Exception as error:
        line = _line_in(error, filename) if filename else ""
        raise ModelFileError(f"{attr}() in {where}{line} failed: {type(error).__name__}: "
                             f"{first_line(error)}") from None
    if not isinstance(made, nn.Module):
        raise ModelFileError(f"{attr}() in {where} returned a {type(made).__name__}, not an nn.Module")
    return made


def stored_input_shape(model, module):
    """An input shape the code states: ``model.input_shape``, else the module's ``INPUT_SHAPE``."""
    for holder, name in ((model, "input_shape"), (module, "INPUT_SHAPE"), (module, "input_shape")):
        value = getattr(holder, name, None)
        if isinstance(value, (tuple, list)) and value and all(isinstance(d, int) for d in value):
            return tuple(value)
    return None


def open_code(spec: Spec):
    """(model, module, where, filename) for ``spec`` (kind "python" or "module")."""
    if spec.kind == "python":
        if not spec.attr:
            classes = declared_classes(spec.path)
            hint = f" (its classes: {', '.join(classes)})" if classes else ""
            raise ModelFileError(f"say which network in {spec.path}: {spec.path}:Name{hint}")
        module, filename = load_python_file(spec.path)
        where = spec.path
    else:
        module, filename = import_module(spec.path), None
        where = f"module {spec.path}"
    value = _attribute(module, spec.attr, where)
    model = build(value, spec.attr, where, filename)
    return model, module, where
