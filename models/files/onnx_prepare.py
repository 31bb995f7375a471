"""The ONNX graph prepared for the converter (``prepare``): initializers dropped from the graph's inputs (IR version
3 lists them there), a batch fixed above 1 set to 1, ConstantOfShape nodes of constant shapes made into tensors,
then onnxscript's constant folding (weights held in Constant nodes become initializers) and onnx_ir's passes.
No torch here."""

from __future__ import annotations

import warnings
from pathlib import Path

from cnn_explorer.models.files.errors import ModelFileError, first_line


CONSTANT_OF_SHAPE_LIMIT = 150_000_000  # elements: the largest weight of onnx's light/ networks (VGG-19's fc6) is 103M


def _batch_of_one(model) -> None:
    """A batch the image input fixes above 1 set to the explorer's 1, so that shapes computed from it fold for a
    batch of one. Its other dims are left as they are: where the file leaves height and width symbolic, the
    converted module still runs at other sizes (onnx2pytorch runs the If nodes that branch on them)."""
    import onnx_ir as ir

    value = next(iter(model.graph.inputs), None)
    if value is None or value.shape is None or len(value.shape) != 4:
        return
    dims = list(value.shape)
    if isinstance(dims[0], int) and dims[0] > 1:
        value.shape = ir.Shape([1, *dims[1:]])


def _constant_array(value):
    """The numpy value of an initializer or of a Constant node's output; None otherwise."""
    if value is None:
        return None
    if value.const_value is not None:
        return value.const_value.numpy()
    node = value.producer()
    if node is not None and node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
        attribute = node.attributes.get("value")
        if attribute is not None and attribute.type.name == "TENSOR":
            return attribute.value.numpy()
    return None


def _materialize_constant_of_shape(model, limit: int = CONSTANT_OF_SHAPE_LIMIT) -> int:
    """ConstantOfShape nodes of a constant shape (up to ``limit`` elements) replaced by the tensors they make:
    onnxscript's folding keeps them (so as not to grow the file), and onnx's light/ networks make every weight
    that way, which onnx2pytorch cannot read as weights. Returns how many."""
    import numpy as np
    import onnx_ir as ir

    count = 0
    for node in list(model.graph):
        if node.op_type != "ConstantOfShape" or node.domain not in ("", "ai.onnx") or len(node.outputs) != 1:
            continue
        output = node.outputs[0]
        shape = _constant_array(node.inputs[0] if node.inputs else None)
        if shape is None or output.is_graph_output() or shape.ndim != 1 or (shape < 0).any():
            continue
        if int(np.prod(shape, dtype=np.int64)) > limit:
            continue
        attribute = node.attributes.get("value")
        fill = attribute.value.numpy().reshape(-1) if attribute is not None else np.zeros(1, np.float32)
        array = np.full(tuple(int(d) for d in shape), fill[0] if fill.size else 0, dtype=fill.dtype)
        name = output.name
        output.name = f"{name}__constant_of_shape"
        tensor = ir.tensor(array, name=name)
        value = ir.Value(name=name, shape=ir.Shape(array.shape), type=ir.TensorType(tensor.dtype),
                         const_value=tensor)
        ir.convenience.replace_all_uses_with(output, value)
        model.graph.remove(node, safe=True)
        model.graph.register_initializer(value)
        count += 1
    return count


_RELAYOUT_OPS = ("Reshape", "Squeeze", "Unsqueeze", "Flatten")


def _should_fold(node):
    """onnxscript's ``should_fold`` (called where every input is constant): a ConstantOfShape whose shape
    folding found (the legacy exporter's LocalResponseNorm builds its pads so) is folded when small, and a
    constant only reshaped on its way to its one user (onnx's light/inception_v1 reshapes its Gemm weight so)
    is reshaped whatever its size, as onnxscript does for Transpose; other nodes by onnxscript's own rules."""
    import numpy as np
    from onnxscript.optimizer._constant_folding import DEFAULT_CONSTANT_FOLD_OUTPUT_SIZE_LIMIT

    if node.domain not in ("", "ai.onnx") or not node.inputs or node.inputs[0] is None:
        return None
    data = node.inputs[0]
    if node.op_type == "ConstantOfShape" and data.const_value is not None:
        shape = data.const_value.numpy()
        if shape.ndim == 1 and int(np.prod(shape, dtype=np.int64)) <= DEFAULT_CONSTANT_FOLD_OUTPUT_SIZE_LIMIT:
            return True
    if node.op_type in _RELAYOUT_OPS and len(data.consumers()) == 1 and not data.is_graph_output():
        return True
    return None


def prepare(model, path: Path):
    """The graph as the converter reads it: initializers dropped from the graph's inputs (IR version 3 lists
    them there), a batch fixed above 1 set to 1, ConstantOfShape nodes of constant shapes made into tensors,
    functions inlined, constants folded (onnxscript's fold_constants, which also takes the branch of an If whose
    condition folds), Constant nodes lifted to initializers, Identity nodes removed, and attributes at their
    defaults that onnx2pytorch does not read (BatchNormalization training_mode=0) dropped. onnxscript's rewrite
    rules are not run, so the layers stay as the exporter wrote them."""
    import onnxscript.optimizer
    import onnx_ir as ir
    import onnx_ir.passes.common as passes

    try:
        graph = ir.serde.deserialize_model(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            passes.RemoveInitializersFromInputsPass()(graph)
            _batch_of_one(graph)
            passes.InlinePass()(graph)
            _materialize_constant_of_shape(graph)
            onnxscript.optimizer.fold_constants_ir(graph, onnx_shape_inference=True,
                                                   should_fold=_should_fold)
            ir.passes.Sequential(
                passes.RemoveUnusedNodesPass(),
                passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
                passes.IdentityEliminationPass(),
                passes.RemoveUnusedNodesPass(),
            )(graph)
        graph.ir_version = max(graph.ir_version, 4)  # initializers no longer listed as inputs
        prepared = ir.serde.serialize_model(graph)
    except Exception as error:  # the optimizer meets files of every kind
        raise ModelFileError(f"{path}: onnxscript's optimizer cannot read it: {first_line(error, 160)}") from None
    for node in prepared.graph.node:
        if node.op_type == "BatchNormalization":
            for attribute in list(node.attribute):
                if attribute.name == "training_mode" and attribute.i == 0:
                    node.attribute.remove(attribute)
    return prepared
