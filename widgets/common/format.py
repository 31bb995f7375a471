"""Numbers as people read them: the one place where the explorer turns numbers into text.

View data travels as numbers (shapes as tuples, receptive fields as ``Field`` or ``GLOBAL``); the widgets,
the exports and the command line format them here. No Qt, no torch."""

from __future__ import annotations

from cnn_explorer.widgets.explorer.layer_info import GLOBAL, Field, Outputs, Shape

#: How a feature map's shape is written: channels first (C×H×W, PyTorch's order) or last (H×W×C, the
#: lectures' order: AlexNet's conv1 gives 55×55×96).
SHAPE_ORDERS = ("chw", "hwc")
SHAPE_ORDER_LABELS = {"chw": "C×H×W (channels first)", "hwc": "H×W×C (channels last, as in the lectures)"}
_shape_order = "chw"


def set_shape_order(order: str) -> None:
    """Write every shape from now on as ``order`` ("chw" or "hwc"); ValueError for another."""
    global _shape_order
    if order not in SHAPE_ORDERS:
        raise ValueError(f"unknown shape order {order!r}; orders are: {', '.join(SHAPE_ORDERS)}")
    _shape_order = order


def shape_order() -> str:
    return _shape_order


def count(value: int | float | None) -> str:
    """34944 -> "34,944"; None -> "…" (not known yet)."""
    if value is None:
        return "…"
    return f"{int(value):,}"


def short(value: int | float | None, unit: str = "") -> str:
    """61100840 -> "61.1 M"; 714188480 -> "714.2 M"; 1.5e9 -> "1.50 G"; 512 -> "512"."""
    if value is None:
        return "…"
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            scaled = value / size
            digits = 2 if scaled < 10 else 1
            return f"{scaled:.{digits}f} {suffix}{unit}"
    return f"{int(value)} {unit}".rstrip()


def compact(value: int | float | None) -> str:
    """61100840 -> "61.1M": ``short`` without the space, for narrow columns and graph nodes."""
    return short(value).replace(" ", "")


def macs(value: int | float | None) -> str:
    """MACs with the unit that fits, three figures: 416520 -> "0.42 MMACs", 714188480 -> "714 MMACs",
    4089184256 -> "4.09 GMACs" (LeNet is not "0.00 GMACs")."""
    if value is None:
        return "…"
    for unit, size, least in (("G", 1e9, 0.9995e9), ("M", 1e6, 1e4), ("k", 1e3, 1e3)):
        if abs(value) >= least:
            scaled = value / size
            digits = 2 if abs(scaled) < 9.995 else 1 if abs(scaled) < 99.95 else 0
            return f"{scaled:.{digits}f} {unit}MACs"
    return f"{int(value)} MACs"


def weights_short(message: str) -> str:
    """The weights message in a few words, short enough for one line of the inspector at 1024 pixels (the
    whole message goes on hover): "pretrained weights from /…/alexnet-owt-7be5be79.pth" -> "pretrained";
    "trained weights from /…/assets/zfnet_shapes.safetensors" (the zoo's own) -> "trained weights"; "weights
    from /…/mine.pt (note)" -> "file (mine.pt)"; "…; random initialization" -> "random initialization"."""
    if message.startswith("pretrained weights from "):
        return "pretrained"
    if message.startswith("trained weights from "):
        return "trained weights"
    if message.startswith("weights from "):
        path = message[len("weights from "):].split(" (", 1)[0]
        return f"file ({path.replace(chr(92), '/').rsplit('/', 1)[-1]})"
    return message.rsplit("; ", 1)[-1]  # "no pretrained weights are published …; random initialization"


def params(value: int) -> str:
    """34944 -> "34.9k params", 307392 -> "307k params", 512 -> "512 params": the line under a graph node."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            scaled = value / size
            return f"{scaled:.3g}{unit} params" if scaled < 100 else f"{scaled:.0f}{unit} params"
    return f"{value} params"


def size_bytes(value: int | None) -> str:
    if value is None:
        return "…"
    if value >= 2**30:
        return f"{value / 2**30:.2f} GiB"
    if value >= 2**20:
        return f"{value / 2**20:.2f} MiB"
    if value >= 2**10:
        return f"{value / 2**10:.1f} KiB"
    return f"{value} B"


def shape(dims: Shape | None, extra_outputs: int = 0, empty: str = "", order: str | None = None) -> str:
    """``(64, 56, 56)`` → ``64×56×56`` (the batch is already dropped), or ``56×56×64`` when shapes are written
    channels last (``set_shape_order("hwc")`` or ``order``: only a feature map's three dimensions move);
    ``()`` → ``scalar``; None → ``empty``. ``extra_outputs``: how many more outputs the operation has besides
    this one, shown as ``+ n more``."""
    if dims is None:
        return empty
    dims = tuple(dims)
    if (order or _shape_order) == "hwc" and len(dims) == 3:
        dims = (dims[1], dims[2], dims[0])
    text = "×".join(str(d) for d in dims) if dims else "scalar"
    if extra_outputs > 0:
        return f"{text} + {extra_outputs} more output{'s' if extra_outputs > 1 else ''}"
    return text


def shape_change(first: Shape | None, last: Shape | None) -> str:
    """A layer's output and that of the layers drawn with it (compact mode's conv + ReLU + pool):
    ``(96, 55, 55), (96, 27, 27)`` → ``96×55×55 → 27×27`` (the channels are said once when they stay),
    ``(256, 6, 6), (9216,)`` → ``256×6×6 → 9216``; one shape when nothing changes."""
    if last is None or first is None or tuple(first) == tuple(last):
        return shape(first if last is None else last)
    first, last = tuple(first), tuple(last)
    if len(first) == len(last) == 3 and first[0] == last[0]:  # the same channels, a smaller map
        return f"{shape(first)} → {last[1]}×{last[2]}"
    return f"{shape(first)} → {shape(last)}"


def outputs(info: Outputs | None, dims: Shape | None = None, empty: str = "") -> str:
    """What several outputs are, in a few words: ``5 maps: P2–P6, 256×200×200`` (a pyramid, its finest map),
    ``proposals: 1000×4``, ``images + sizes: 3×800×800``; ``dims`` as ``shape`` writes it when ``info`` is None."""
    if info is None:
        return shape(dims, empty=empty)
    largest = shape(info.shape)
    if info.kind == "maps":
        levels = ""
        if info.levels and info.pyramid:
            levels = f": P{info.levels[0]}–P{info.levels[1]}"
        elif info.levels:
            levels = f", strides {2 ** info.levels[0]}–{2 ** info.levels[1]}"
        return f"{info.count} maps{levels}, {largest}" if largest else f"{info.count} maps{levels}"
    if info.kind in ("proposals", "boxes"):
        return f"{info.kind}: {largest}" if largest else info.kind
    if info.kind == "images":
        return f"images + sizes: {largest}"
    return f"{largest} + {info.count - 1} more output{'s' if info.count > 2 else ''}"


def depth_and_ops(depth: int | None, ops: int | None, short: bool = False) -> str:
    """A network's depth as the papers count it and, apart, the operations the graph records:
    ``depth 50 (weight layers) · 175 ops`` (``short``: ``depth 50 · 175 ops``, for the graph's heading, whose
    width sets the first zoom of a narrow graph); only the ops when the depth is not known."""
    parts = []
    if depth:
        parts.append(f"depth {depth}" if short else f"depth {depth} (weight layers)")
    if ops is not None:
        parts.append(f"{count(ops)} ops")
    return " · ".join(parts)


def shape_size(dims: Shape | None) -> int:
    """Number of elements of a shape (-1 when there is none): how shapes sort."""
    if dims is None:
        return -1
    size = 1
    for d in dims:
        size *= d
    return size


def receptive_field(rf: Field | str | None) -> str:
    """``Field((11, 11), (4, 4), (2, 2))`` → ``11 / 4 / 2``; ``GLOBAL`` → ``global (whole image)``; None → ``—``."""
    if rf == GLOBAL:
        return "global (whole image)"
    if not isinstance(rf, Field):
        return "—"

    def axis(values):
        return str(values[0]) if values[0] == values[1] else f"{values[0]}×{values[1]}"
    return f"{axis(rf.size)} / {axis(rf.stride)} / {axis(rf.padding)}"


def receptive_field_key(rf: Field | str | None) -> tuple[int, int]:
    """How receptive fields sort: none first, then by size (the larger axis), then global ones last."""
    if rf == GLOBAL:
        return (2, 0)
    if isinstance(rf, Field):
        return (1, max(rf.size))
    return (0, 0)


_SETTING_LABELS = {
    "in_channels": "in channels", "out_channels": "out channels", "kernel_size": "kernel", "stride": "stride",
    "padding": "padding", "dilation": "dilation", "groups": "groups", "output_padding": "output padding",
    "in_features": "in features", "out_features": "out features", "num_features": "features", "eps": "eps",
    "output_size": "output size", "scale_factor": "scale", "mode": "mode", "p": "drop probability",
    "negative_slope": "negative slope", "ceil_mode": "ceil mode", "upscale_factor": "upscale",
    "size": "size", "normalized_shape": "normalized shape", "start_dim": "start dim", "end_dim": "end dim",
    "dims": "dims", "dim": "dim", "pad": "pad",
}


def setting_label(key: str) -> str:
    return _SETTING_LABELS.get(key, key.replace("_", " "))


def setting(key: str, value) -> str:
    """A layer setting as the inspector writes it: kernel ``3×3``, stride ``2``, padding ``1, 2``."""
    if isinstance(value, (tuple, list)):
        values = list(value)
        if key in ("kernel_size", "output_size", "size"):
            return "×".join(str(v) for v in values)
        if len(values) == 2 and values[0] == values[1]:
            return str(values[0])
        return ", ".join(str(v) for v in values)
    if key == "kernel_size" and isinstance(value, int):
        return f"{value}×{value}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fact(value) -> str:
    """A figure from the zoo's facts: ints with thousands separators, floats short."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
