"""CNN Explorer as a Python library.

>>> import cnn_explorer
>>> print(cnn_explorer.summary(my_model, input_shape=(3, 224, 224)))

Importing ``cnn_explorer`` imports neither Qt nor torch: each function imports what it needs when it is called,
and nothing here needs a display or PySide6.
"""

from __future__ import annotations

__all__ = ["show", "summary"]


def summary(model, input_shape=None, *, example_inputs=None, example_kwargs=None, name=None, on_meta=None):
    """The layers and numbers of ``model``, any ``torch.nn.Module``, from one forward pass.

    ``input_shape``: the shape of one input without its batch, ``(3, 224, 224)`` by default (a batch of 1 is
    added), or a list of shapes for a model with several inputs, ``[(1, 88, 88), (1, 88, 88)]``. Random inputs
    of these shapes are made.

    ``example_inputs``: the inputs themselves instead, batch included: a tensor, or a tuple (or list) of the
    positional arguments of ``model``'s forward, which may be tensors or anything else. ``example_kwargs``: a dict
    of keyword arguments, given with either.

    ``on_meta``: None (the default) runs the pass on the meta device (no arithmetic; the model's weights are
    neither read nor changed) and, when that fails because the forward reads its data (``.item()``, ``if
    x.sum() > 0``), again for real; True or False asks for one of them. The model is in eval mode during the pass
    (as in ``torchinfo.summary``) and gets each module's mode back afterwards.

    Returns a ``Summary`` with

    * ``total_params``, ``trainable_params``, ``non_trainable_params``: as PyTorch counts them,
      ``sum(p.numel() for p in model.parameters())``: a module called twice and tied weights count once;
      parameters held outside sub-modules count too;
    * ``total_macs``: multiply-accumulates of the pass (per image with ``input_shape``; for the batch given with
      ``example_inputs``), counted by torch's FLOP formulas (``torch.utils.flop_counter``, those of
      ``FlopCounterMode``; MACs = FLOPs / 2);
    * ``activation_bytes``: memory of the outputs of every operation;
    * ``layers``: one ``Layer`` per leaf-module call and per functional operation, in the order they ran, with
      ``name``, ``type``, ``input_shapes``, ``output_shape``, ``params``, ``shared_params``, ``macs``,
      ``receptive_field``, ``shape_arithmetic`` and ``param_arithmetic``;
    * ``graph``: the recorded layer graph;
    * ``to_json()``: plain data, whose layers are the rows of ``cnn-explorer summary --json``;
    * ``str()``: a table like ``torchinfo.summary``'s, with each layer's receptive field.
    """
    from cnn_explorer.models.analysis.api import summary as _summary

    return _summary(model, input_shape, example_inputs=example_inputs, example_kwargs=example_kwargs, name=name,
                    on_meta=on_meta)


def show(model, image=None, input_shape=None, categories=None, *, block=None, name=None):
    """Open the explorer window on ``model``, this very ``nn.Module`` with its current weights; nothing of it is
    written to disk. ``input_shape``: (C, H, W) of one input (default: the model's ``input_shape`` attribute, else
    3×224×224); ``image``: a picture file the lab opens; ``categories``: the class names.

    In IPython or Jupyter, Qt's event loop runs beside the notebook and ``show`` returns at once, as
    ``napari.view_image`` does; in a plain script it returns when the window is closed (``block`` decides
    otherwise). Returns the window. Needs PySide6 and a display (``summary`` needs neither)."""
    from cnn_explorer.app.window.notebook import show as _show

    return _show(model, image, input_shape, categories, block=block, name=name)
