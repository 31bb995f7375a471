"""The Charts tab's jobs, run on the window's request runner (no Qt): torchvision's import, the summaries and
the trained net's forward pass never run on the GUI thread. The trained net of "Convolution explained" lives in
the runner's state; the GUI gets plain ``ConvStep`` data."""

from __future__ import annotations

CONV_STATE = "charts.conv"  # the ConvExplainer in the runner's state


def conv_load(job, model: str):
    from cnn_explorer.models.charts import ConvExplainer

    job.progress(f"{model}: loading the trained weights and running the image through it")
    explainer = job.state.get(CONV_STATE)
    if explainer is None or explainer.model_name != model:
        explainer = ConvExplainer(model)
        job.state[CONV_STATE] = explainer
    return explainer.step((0, explainer.out_shape[1] // 2, explainer.out_shape[2] // 2))


def conv_step(job, unit, delta: int):
    explainer = job.state[CONV_STATE]
    return explainer.step(explainer.neighbour(unit, delta) if delta else unit)


def accuracy(job):
    from cnn_explorer.models.charts import accuracy_points

    return accuracy_points(job.progress)


def arithmetic(job):
    from cnn_explorer.models.charts import bottleneck_arithmetic, gap_vs_fc

    job.progress("building the modules (meta device)")
    return [*bottleneck_arithmetic(), gap_vs_fc()]


def compare(job, names):
    from cnn_explorer.models.charts import compare

    return compare(names, progress=job.progress, check=job.check)


def separable(job):
    from cnn_explorer.models.charts import separable_costs

    return separable_costs(job.progress)


def fields(job):
    from cnn_explorer.models.charts import receptive_fields

    return receptive_fields(job.progress)
