"""Where the live view runs: ``resolve_device`` (cpu, cuda, cuda:N, mps or auto as a torch device, or a
``LiveError`` that says why not), ``device_name`` (a person's name for it), ``is_oom`` (whether an error is
the device running out of memory) and ``check_live_size`` (the input sizes the live view accepts).
"""

from __future__ import annotations

import contextlib
import os
import platform

import torch

from cnn_explorer.models.live.errors import LiveError


def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (CUDA, else MPS, else the CPU) as a torch device;
    a ``LiveError`` when it is not here."""
    text = str(device).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise LiveError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch has no CUDA" if torch.version.cuda is None else "no CUDA GPU was found"
            raise LiveError(f"device {text}: CUDA is not available here ({why}); use the CPU (--device cpu)",
                            suggestions=("cpu",))
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise LiveError(f"device {text}: there are {torch.cuda.device_count()} CUDA devices (0 to "
                            f"{torch.cuda.device_count() - 1})", suggestions=("cpu",))
        return torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise LiveError("device mps: Apple's Metal (MPS) is not available here; use the CPU (--device cpu)",
                            suggestions=("cpu",))
        return dev
    if dev.type != "cpu":
        raise LiveError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto")
    return dev


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "CPU"


def device_name(device: torch.device) -> str:
    """A person's name for the device: the GPU's model, or the CPU's with its core and thread counts."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"{_cpu_name()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def is_oom(error: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(error, oom)) or "out of memory" in str(error).lower()


def check_live_size(size: tuple[int, int], model: str | dict | None = None) -> tuple[int, int]:
    """An input size (H, W) the live view can run: within the zoo's range for ``model`` (a name or its facts;
    ``check_input_size``: detectors have a smaller cap) and 32 pixels a side at least. Needs no model: the
    command line asks before it starts anything."""
    from cnn_explorer.models.zoo.index import check_input_size

    size = (int(size[0]), int(size[1]))
    check_input_size(size, model)
    if min(size) < 32:
        raise LiveError(f"input {size[0]}×{size[1]} is too small for the live view: 32 pixels a side at least")
    return size
