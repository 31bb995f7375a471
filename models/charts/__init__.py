"""The lectures' figures, made from the app's own data (the Charts tab and ``cnn-explorer compare``). No Qt.
One module a page; this package gathers their names.

- ``timeline()``: ImageNet top-5 error by year, from the zoo's static facts (no torch).
- ``accuracy_points()``: top-1 accuracy against GMACs and parameters, from torchvision's weights metadata
  (``get_model_weights(name).DEFAULT.meta``: metadata, nothing is downloaded).
- ``compare(names)``: parameters, MACs, depth, receptive field, activation memory and year of 2–4 zoo models,
  from their summaries (``loader.summarize`` and its analysis cache; random weights are enough to count).
- ``ConvExplainer``: one output unit of a trained net's first conv as patch × kernel, summed, plus bias, checked
  against the activation of a real forward pass.
- ``bottleneck_arithmetic()`` and ``gap_vs_fc()``: parameter counts of real modules (torchvision's ResNets,
  VGG-16, GoogLeNet, the zoo's NiN), built on the meta device: shapes and counts, no memory, no arithmetic.
- ``separable_costs()``: MobileNet v2's depthwise 3×3 + pointwise 1×1 pairs from its recorded graph (the nodes'
  params, MACs and settings), against a standard 3×3 conv with the same channels.
- ``receptive_fields()``: VGG-16's 3×3 convs by stage, their receptive fields from the analysis, the same fields
  in cells of the stage's input map (2n+1 for n convs) and n·3·3·C² against (2n+1)²·C².

torch and torchvision are imported inside the functions that need them: ``timeline`` and the name checks of
``compare`` answer without them.
"""

from __future__ import annotations

from cnn_explorer.models.charts.accuracy import LECTURE_MODELS, AccuracyPoint, accuracy_points  # noqa: F401
from cnn_explorer.models.charts.arithmetic import (  # noqa: F401
    SEPARABLE_MODEL,
    Comparison,
    ModuleCount,
    SeparableBlock,
    SeparableCosts,
    bottleneck_arithmetic,
    gap_vs_fc,
    separable_costs,
)
from cnn_explorer.models.charts.common import COMPARE_MAX, COMPARE_MIN, HUMAN_TOP5_ERROR_LECTURE, ChartsError, Progress  # noqa: F401
from cnn_explorer.models.charts.compare import ComparisonRow, check_names, compare, deepest_field  # noqa: F401
from cnn_explorer.models.charts.convolution import TRAINED_NETS, ConvExplainer, ConvStep  # noqa: F401
from cnn_explorer.models.charts.fields import (  # noqa: F401
    FIELDS_IMAGE,
    FIELDS_MODEL,
    FieldLayer,
    FieldStage,
    ReceptiveFields,
    receptive_fields,
)
from cnn_explorer.models.charts.timeline import TimelinePoint, human_top5_error, timeline  # noqa: F401
