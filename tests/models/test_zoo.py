"""Every zoo entry builds, and its recorded graph agrees with a plain forward pass of the same model."""

from __future__ import annotations

from collections import defaultdict

import pytest
import torch

from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.analysis.graph import is_leaf_module, record_graph
from cnn_explorer.models.zoo.registry import TASKS, UnknownModelError, get_entry, list_entries
from torch.utils._pytree import tree_flatten

from sampling import one_per_family

ALL_NAMES = [e.name for e in list_entries()]

# The architectures the seed lectures name (REFERENCE.md), by the name the zoo gives them.
LECTURE_ARCHITECTURES = [
    "lenet5", "alexnet", "alexnet_2012", "zfnet", "nin_cifar10", "vgg16", "vgg19", "googlenet", "inception_v3",
    "inception_v4", "inception_resnet_v2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "wide_resnet50_2", "densenet121", "resnet110_stochastic_depth", "squeezenet1_0",
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v1_g3", "shufflenet_v2_x1_0",
    "se_resnet50", "hrnet_w18", "nasnet_a_large", "fasterrcnn_resnet50_fpn", "ssd300_vgg16", "ssdlite320_mobilenet_v3_large",
    "yolo_v1", "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "maskrcnn_resnet50_fpn", "fcn_resnet50",
    "deeplabv3_resnet50", "segnet", "deconvnet", "unet", "facenet_nn1",
]


def test_every_lecture_architecture_is_in_the_zoo():
    missing = [name for name in LECTURE_ARCHITECTURES if name not in ALL_NAMES]
    assert not missing


def test_every_task_has_entries_and_each_entry_knows_its_paper():
    for task in TASKS:
        assert list_entries(task), task
    for entry in list_entries():
        assert entry.family and entry.paper and 1980 < entry.year <= 2026, entry.name
        assert entry.input_size[0] > 0 and entry.input_size[1] > 0
        assert entry.source in ("torchvision", "timm", "paper")


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownModelError) as error:
        get_entry("resnet51")
    assert "resnet50" in error.value.suggestions
    assert "resnet50" in str(error.value)


def _plain_forward_shapes(model, x):
    """Output shapes of every leaf module call, from ordinary forward hooks and no recorder."""
    shapes = defaultdict(list)
    handles = []
    for path, module in model.named_modules():
        if is_leaf_module(module):
            def hook(mod, args, out, path=path):
                shapes[path].append([tuple(t.shape) for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)])
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return shapes, out


# One model of each family in the quick suite (a lecture's model where the family has one), and of the
# torchvision detectors only SSD (their recording is one code path; Mask R-CNN's is checked below); all of them
# with -m slow. The heaviest paper segmenters too: their crops and unpoolings are U-Net's and SegNet's.
QUICK_DETECTORS = ("ssd300_vgg16",)
HEAVY = ("fcn8s_vgg16", "deconvnet")
ZOO_CASES = [p if not (get_entry(p.values[0]).source == "torchvision" and get_entry(p.values[0]).task in
                       ("detection", "instance_segmentation", "keypoints") and p.values[0] not in QUICK_DETECTORS
                       or p.values[0] in HEAVY)
             else pytest.param(*p.values, marks=pytest.mark.slow, id=p.id)
             for p in one_per_family(list_entries(), prefer=[*LECTURE_ARCHITECTURES, "regnet_x_400mf",
                                                              "convnext_tiny", "deeplabv3_mobilenet_v3_large"])]


# The segmenters whose default input is large are recorded at a smaller one that they accept: the recording
# does not depend on the size (test_graph_records_at_other_input_sizes), and their plain forward pass at
# 520×520 or 572×572 was most of the quick suite's time for this file.
SMALLER = {"deeplabv3_resnet50": (256, 256), "fcn_resnet50": (256, 256), "unet": (188, 188), "segnet": (192, 256)}


@pytest.mark.parametrize("name", ZOO_CASES)
def test_recorded_graph_matches_a_plain_forward_pass(name):
    torch.manual_seed(0)
    entry = get_entry(name)
    model = entry.build()
    shape = entry.input_shape(SMALLER.get(name))
    x = torch.randn(shape)
    plain_shapes, _ = _plain_forward_shapes(model, x)
    graph = analyze(model, shape, name=name, on_meta=not entry.data_dependent).graph

    module_nodes = [n for n in graph.nodes if n.kind == "module"]
    assert module_nodes, "no layer recorded"
    recorded = defaultdict(list)
    for node in module_nodes:
        recorded[node.name.split(":")[0]].append(node.output_shapes)
    if entry.task in ("detection", "instance_segmentation", "keypoints") and entry.source == "torchvision":
        # How many boxes survive depends on the random weights: compare the layers before the box heads.
        for shapes in (recorded, plain_shapes):
            for path in [p for p in shapes if p.startswith("roi_heads.") or p.startswith("head.")]:
                del shapes[path]
    assert dict(recorded) == dict(plain_shapes)

    # Every operation is reached from the input: the graph has no loose pieces.
    reached = {0}
    for node in graph.nodes[1:]:
        assert node.inputs, f"{node.name} has no recorded input"
        assert all(i < node.id for i in node.inputs)
        if any(i in reached for i in node.inputs):
            reached.add(node.id)
    assert len(reached) == len(graph.nodes)
    assert len({n.name for n in graph.nodes}) == len(graph.nodes), "layer names are not unique"


@pytest.mark.parametrize("name", ["googlenet", "maskrcnn_resnet50_fpn",
                                  pytest.param("fcn_resnet50", marks=pytest.mark.slow)])
def test_record_graph_returns_the_models_own_output(name):
    torch.manual_seed(0)
    entry = get_entry(name)
    model = entry.build()
    x = torch.randn(entry.input_shape())
    if hasattr(model, "transform"):  # Mask R-CNN resizes every picture to 800 px: to 256 here, as quick
        model.transform.min_size, model.transform.max_size = (256,), 256
        x = torch.randn(entry.input_shape((256, 256)))
    with torch.no_grad():
        plain = model(x)
    _, out = record_graph(model, x)
    flat_plain, flat_out = tree_flatten(plain)[0], tree_flatten(out)[0]
    assert len(flat_plain) == len(flat_out)
    for a, b in zip(flat_plain, flat_out):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name,size", [("resnet50", (160, 200)), ("googlenet", (320, 320)), ("unet", (188, 188))])
def test_graph_records_at_other_input_sizes(name, size):
    entry = get_entry(name)
    model = entry.build()
    x = torch.randn(entry.input_shape(size))
    plain_shapes, _ = _plain_forward_shapes(model, x)
    graph = analyze(model, entry.input_shape(size), on_meta=not entry.data_dependent).graph
    last = [n for n in graph.nodes if n.kind == "module"][-1]
    assert [last.output_shapes] == plain_shapes[last.name.split(":")[0]][-1:]


def test_the_static_index_agrees_with_the_registry():
    """``list``, ``--help`` and unknown names are answered from assets/zoo_index.json without torch; it must
    say what the code registers (regenerate: python -m cnn_explorer.models.zoo.index --write)."""
    from cnn_explorer.models.zoo import index as zoo_index
    live = [e.to_dict() | {"data_dependent": e.data_dependent} for e in list_entries()]
    assert list(zoo_index.index()) == live
