"""Importing torch and torchvision: faster, and without holding the GIL where that can be avoided.

**Torch's libraries, loaded without the GIL** (``load_libraries``). ``import torch`` loads libtorch_cpu and
libtorch_cuda (~1 GB) with the GIL held for ~170 ms while their static initializers run: a thread that imports
torch froze the GUI thread that long. Loaded first with ``dlopen`` called through ctypes, which releases the
GIL around foreign calls, they are already in the process when the import asks for them. They are loaded with
the flags the import would use (``RTLD_NOW``; the global-deps library ``RTLD_GLOBAL``, as torch loads it). A
library that cannot be found or loaded is left to the import, which says why.

**torchvision without ``torch._dynamo``** (``install``): 2.5 s of every first model saved.

``torchvision.ops.roi_align`` runs ``from torch._dynamo.utils import is_compile_supported`` when it is imported,
and every ``torchvision.models`` import goes through it. Importing ``torch._dynamo`` pulls in sympy and
inductor: on the 2-core machine it takes longer than ``import torch`` itself (``python -X importtime``), for a
function that ``roi_align`` calls only when torchvision was built without its C++ ops.

So the first import of torchvision runs with a stand-in ``torch._dynamo.utils`` whose ``is_compile_supported``
imports the real one when it is first called. The stand-ins are removed the moment torchvision's import ends,
so anything that imports ``torch._dynamo`` afterwards (``torch.compile``) gets the real package. When
``torch._dynamo`` is already imported, torchvision is imported as usual.

**Explicit, and only on a checked torch.** Importing ``cnn_explorer.models`` changes nothing. ``install()`` is
called by the programs, the command line and the window, before any model is built: it adds a finder to
``sys.meta_path`` that acts once, on the import of ``torchvision``, and lets ``lean_imports`` (below) put its
stand-ins in place. Both depend on torch's internals, so they act only on a torch whose minor version is in
``CHECKED_TORCH`` (where ``tests/qt_free/test_torch_import.py`` checks the stand-ins against torch's own
helpers); with any other torch, and in a program that never calls ``install()``, torch and torchvision are
imported as usual: slower, never wrong.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.util
import os
import sys
import types

# In the order torch loads them (the global deps bring the CUDA libraries a CUDA build needs).
_LIBRARIES = (("libtorch_global_deps", os.RTLD_NOW | os.RTLD_GLOBAL), ("libtorch_cpu", os.RTLD_NOW),
              ("libtorch_cuda", os.RTLD_NOW))
_SUFFIX = {"linux": ".so", "darwin": ".dylib"}


def load_libraries() -> list[str]:
    """Load torch's large shared libraries with the GIL released, before ``import torch``; return those loaded.
    Does nothing once torch is imported, or where there is no ``dlopen`` (Windows)."""
    suffix = _SUFFIX.get(sys.platform)
    spec = importlib.util.find_spec("torch") if "torch" not in sys.modules and suffix else None
    if spec is None or spec.origin is None:
        return []
    folder = os.path.join(os.path.dirname(spec.origin), "lib")
    dlopen = ctypes.CDLL(None).dlopen  # a foreign call: ctypes releases the GIL around it
    dlopen.argtypes, dlopen.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_void_p
    loaded = []
    for name, flags in _LIBRARIES:
        path = os.path.join(folder, name + suffix)
        if os.path.exists(path) and dlopen(os.fsencode(path), flags):
            loaded.append(name)
    return loaded

_STAND_INS = ("torch._dynamo", "torch._dynamo.utils")


def is_compile_supported(device_type):
    """``torch._dynamo.utils.is_compile_supported``, imported on the first call."""
    from torch._dynamo.utils import is_compile_supported as real

    return real(device_type)


# The real function carries this mark: torch.compile treats the call as a constant when it traces roi_align.
is_compile_supported._dynamo_marked_constant = True  # type: ignore[attr-defined]


class _Loader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.loader  # the module keeps torchvision's own loader (resources, reloads)
        module.__spec__.loader = self.loader
        if any(name in sys.modules for name in _STAND_INS):
            self.loader.exec_module(module)
            return
        package = types.ModuleType("torch._dynamo")
        package.__path__ = []
        utils = types.ModuleType("torch._dynamo.utils")
        utils.is_compile_supported = is_compile_supported
        stand_ins = {"torch._dynamo": package, "torch._dynamo.utils": utils}
        sys.modules.update(stand_ins)
        try:
            self.loader.exec_module(module)
        finally:
            for name, stand_in in stand_ins.items():
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec


_finder = _Finder()

#: The torch versions (major, minor) whose internals the stand-ins were checked against.
CHECKED_TORCH = ((2, 15),)
_installed = False


def torch_version() -> tuple[int, int] | None:
    """(major, minor) of the installed torch, read from its metadata (no import); None when unknown."""
    from importlib import metadata

    try:
        major, minor = metadata.version("torch").split(".")[:2]
        return int(major), int(minor)
    except (metadata.PackageNotFoundError, ValueError):
        return None


def install() -> bool:
    """Turn the import tricks on for this process (see the module's doc): the torchvision finder, unless
    torchvision is imported already, and ``lean_imports``'s stand-ins. False, and nothing done, with a torch
    they were not checked against."""
    global _installed
    if torch_version() not in CHECKED_TORCH:
        return False
    _installed = True
    if "torchvision" not in sys.modules and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    return True


def uninstall() -> None:
    """Take the torchvision finder away (it removes itself once torchvision is imported)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


# -- recording a network without torch's compiler stack -----------------------------------------------------------
#
# Recording a network for its numbers (``models/analysis/summary.py``) imported two large parts of torch that it does not
# use: on a first ``graph resnet18`` they took 0.6 s of 2.1 s on the 2-core machine (after ``import torch``, 1.0 s).
#
# * ``torch._dynamo`` (with inductor): torch wraps ``FlopCounterMode``'s dispatch and its Python reference kernels in
#   ``torch._disable_dynamo``, which imports ``torch._dynamo`` on the first call to build a guard that keeps
#   ``torch.compile`` from tracing into them. Outside a compiled function the guard only calls the function.
# * ``torch.fx.experimental.symbolic_shapes`` and sympy: the meta kernels' ``torch._check`` and shape helpers import
#   them to handle symbolic sizes, and type promotion asks whether an argument is a sympy expression. A recording
#   has only concrete sizes (Python ints and bools), and no sympy object exists before sympy is imported.
#
# ``lean_imports()`` stands in for the three while a recording runs. Its ``torch._dynamo.disable`` returns the
# function itself and notes it; at the end the notes are removed, so the first call after the recording builds the
# real guard. Its shape helpers answer for concrete values as torch's own do (``tests/qt_free/test_torch_import.py``
# checks them against torch's), and hand anything symbolic to the real module. Any other use of a stand-in (another
# thread calling ``torch.compile``) imports the real module, which then answers everything. A module already
# imported is used as it is.

_DYNAMO = "torch._dynamo"
_SHAPES = "torch.fx.experimental.symbolic_shapes"
_SYMPY = "sympy"


_SEARCH_LOCATIONS: dict[str, list | None] = {}  # module name -> where its submodules are (None: not a package)


class _StandIn(types.ModuleType):
    """A module that answers some names itself and imports the real module for anything else."""

    def __init__(self, name: str, until_imported: dict | None = None):
        super().__init__(name)
        if name not in _SEARCH_LOCATIONS:  # looked up once: a search of the file system at every recording
            spec = importlib.util.find_spec(name)
            _SEARCH_LOCATIONS[name] = None if spec is None else spec.submodule_search_locations
        locations = _SEARCH_LOCATIONS[name]
        if locations is not None:
            self.__path__ = list(locations)  # a package's submodules stay importable
        self._real = None
        self._until_imported = until_imported or {}  # names answered here while the real module is not imported

    def real(self):
        if self._real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            self._real = importlib.import_module(self.__name__)
        return self._real

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._real is None and name in self._until_imported:
            return self._until_imported[name]
        return getattr(self.real(), name)


def _dynamo_stand_in(disabled: list) -> _StandIn:
    module = _StandIn(_DYNAMO)

    def disable(fn=None, recursive=True, *args, **kwargs):
        if module._real is not None or fn is None:
            return module.real().disable(fn, recursive, *args, **kwargs)
        disabled.append(fn)
        return fn  # no frame is being compiled: the guard would only call fn

    module.disable = disable
    return module


def _sym_eq(x, y) -> bool:
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(map(_sym_eq, x, y))
    return x == y


def _comparable(x, y) -> bool:
    """Whether ``sym_eq`` compares only numbers (at every depth where it looks)."""
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) != len(y) or all(map(_comparable, x, y))
    return type(x) in (bool, int) and type(y) in (bool, int)


def _booleans(*values) -> bool:
    return all(type(v) is bool for v in values)


# name: (whether the arguments are all concrete, torch's answer for them). The answers are those of torch's code for
# ``bool``/``int`` arguments; anything else goes to the real function.
_CONCRETE_SHAPE_HELPERS = {
    **{name: (lambda a: type(a) is bool, lambda a: a)
       for name in ("guard_bool", "guard_or_false", "guard_or_true", "guard_size_oblivious", "statically_known_true")},
    "expect_true": (lambda a, skip=0: type(a) is bool, lambda a, skip=0: a),
    "guarding_hint_or_throw": (lambda a: type(a) in (bool, int), lambda a: a),
    "has_guarding_hint": (lambda a: type(a) in (bool, int, float), lambda a: True),
    "is_nested_int": (lambda s: type(s) in (bool, int, float), lambda s: False),
    "sym_and": (_booleans, lambda *values: all(values)),
    "sym_or": (_booleans, lambda *values: any(values)),
    "sym_eq": (_comparable, _sym_eq),
}


def _shapes_stand_in() -> _StandIn:
    """torch's shape helpers for concrete values, without sympy."""
    module = _StandIn(_SHAPES)

    def helper(name, accepts, answer):
        def concrete_or_real(*args, **kwargs):
            try:
                concrete = module._real is None and not kwargs and accepts(*args)
            except TypeError:  # not the function's arguments: the real one says why
                concrete = False
            return answer(*args) if concrete else getattr(module.real(), name)(*args, **kwargs)
        concrete_or_real.__name__ = name
        return concrete_or_real

    for name, (accepts, answer) in _CONCRETE_SHAPE_HELPERS.items():
        setattr(module, name, helper(name, accepts, answer))
    return module


class lean_imports:
    """Within this context, recording a network (on the meta device or not) or building one on the meta device
    imports neither ``torch._dynamo`` nor sympy (see above)."""

    def __enter__(self):
        self.disabled: list = []
        self.stand_ins = {}
        if not _installed:  # not asked for (``install``), or a torch they were not checked against
            return self
        if _DYNAMO not in sys.modules:
            self.stand_ins[_DYNAMO] = _dynamo_stand_in(self.disabled)
        if _SHAPES not in sys.modules:
            self.stand_ins[_SHAPES] = _shapes_stand_in()
        if _SYMPY not in sys.modules:  # no object is a sympy expression while sympy is not imported
            self.stand_ins[_SYMPY] = _StandIn(_SYMPY, {"Basic": type("Basic", (), {}), "Expr": type("Expr", (), {})})
        sys.modules.update(self.stand_ins)
        return self

    def __exit__(self, *exc):
        for name, stand_in in self.stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
        for fn in self.disabled:  # the next call, after the pass, builds torch's real guard
            vars(fn).pop("__dynamo_disable", None)
        return False
