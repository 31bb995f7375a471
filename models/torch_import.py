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

``install()`` is called by ``cnn_explorer.models``'s ``__init__``, before any of its modules imports
torchvision. It adds a finder to ``sys.meta_path`` that acts once, on the import of ``torchvision``.
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


def install() -> None:
    """Act on the first import of torchvision, unless it is imported already."""
    if "torchvision" not in sys.modules and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
