"""The options of a model the user brings, on every command that takes a model and on the window's command
line: ``--input-shape``, ``--task``, ``--categories``, ``--mean`` and ``--std``. A model file's options are
remembered for it before it is opened (``models/zoo/user.py``), so every command opens it as it opens a zoo name.
No torch, no Qt: the parser must stay cheap."""

from __future__ import annotations

import argparse

TASK_CHOICES = ("classification", "detection", "instance_segmentation", "keypoints", "semantic_segmentation")


def input_shape(text: str) -> tuple[int, int, int]:
    """``3x224x224`` (or ``3,224,224``) → (3, 224, 224)."""
    parts = text.lower().replace(",", "x").replace("×", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--input-shape wants CxHxW, e.g. 3x224x224, not {text!r}") from None
    if len(shape) != 3 or not all(0 < v <= 8192 for v in shape) or shape[0] > 64:
        raise argparse.ArgumentTypeError(f"--input-shape wants CxHxW (channels 1 to 64, sides 1 to 8192), "
                                         f"not {text!r}")
    return shape


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants numbers separated by commas, e.g. 0.5,0.5,0.5, not {text!r}") \
            from None
    if not values or any(v != v for v in values):
        raise argparse.ArgumentTypeError(f"wants numbers separated by commas, not {text!r}")
    return values


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("a model file (net.py:Name, module:Name, .onnx, .pt2, TorchScript)")
    group.add_argument("--input-shape", type=input_shape, metavar="CxHxW",
                       help="the input of one image, where the file does not state it (e.g. 1x28x28)")
    group.add_argument("--task", choices=TASK_CHOICES, help="what the model does (default: told by its output)")
    group.add_argument("--categories", metavar="labels.txt", help="class names, one a line")
    group.add_argument("--mean", type=_floats, metavar="M,M,M", help="the normalization's mean per channel")
    group.add_argument("--std", type=_floats, metavar="S,S,S", help="the normalization's std per channel")


def add_to_commands(subparsers) -> None:
    """Give the options to every command with a MODEL (or MODELS) argument."""
    for parser in subparsers.choices.values():
        if any(action.dest in ("model", "models") for action in parser._actions):
            add_options(parser)


def remember(args) -> None:
    """Before a command runs: each model file's options, for when it is opened. A weights file given for a
    model file is read with it (``--weights`` then means its own weights)."""
    from cnn_explorer.models.files.spec import is_model_file

    names = list(getattr(args, "models", None) or []) + [getattr(args, "model", None) or ""]
    files = [name for name in names if name and is_model_file(name)]
    shape = getattr(args, "input_shape", None)
    if shape and not getattr(args, "input_size", None) and hasattr(args, "input_size") and not files:
        args.input_size = list(shape[1:])  # a zoo model: --input-shape C×H×W sets its H×W
    if not files:
        return
    from cnn_explorer.models.zoo.user import remember_options

    weights = getattr(args, "weights", None)
    own = weights if weights and weights not in ("pretrained", "random") else None
    for name in files:
        remember_options(name, input_shape=shape, weights=own, task=args.task, categories=args.categories,
                         mean=args.mean, std=args.std)
    if own:
        args.weights = "pretrained"
