"""The session's policy and the request runner, without Qt: what is shown, what is stale, what happens
after a failure, and a real model served on the runner's thread."""

from __future__ import annotations

import threading

import pytest

from cnn_explorer.app.core.requests import Cancelled, RequestRunner
from cnn_explorer.app.core.session import ModelFailure, ModelResult, Session, checked_between_modules, classify, serve_model
from cnn_explorer.models.zoo.registry import UnknownModelError
from cnn_explorer.models.zoo.weights import WeightsError
from cnn_explorer.widgets.explorer.layer_info import ModelOverview

WAIT_S = 120


def result_for(request) -> ModelResult:
    return ModelResult(request=request, name=request.name, overview=ModelOverview(request.name), input_size=(224, 224))


# -- the policy ------------------------------------------------------------------------------------------

def test_the_latest_request_is_the_one_shown():
    session = Session("random")
    first = session.request("alexnet")
    second = session.request("resnet18")
    assert session.is_loading() and session.pending is second and second.id > first.id
    assert not session.accept(result_for(first))  # stale: a newer one is on its way
    assert session.current is None and session.is_loading()
    assert session.accept(result_for(second))
    assert session.current_model() == "resnet18" and not session.is_loading()
    assert session.request("   ") is None  # a blank name asks for nothing
    assert not session.is_loading()


def test_a_failure_keeps_the_model_shown_and_its_weights():
    session = Session("random")
    session.accept(result_for(session.request("alexnet")))
    bad = session.request("alexnet", weights="/tmp/broken.pth")
    assert session.weights == "/tmp/broken.pth"
    assert session.fail(ModelFailure(session.request("vgg16"), "internal", "x")) is not None  # the newest
    assert session.fail(ModelFailure(bad, "weights", "cannot read")) is None  # stale: ignored
    recovery_request = session.request("resnet18", weights="/tmp/other.pth")
    recovery = session.fail(ModelFailure(recovery_request, "weights", "cannot read weights file"))
    assert recovery.retry is None and recovery.page == ""
    assert session.current_model() == "alexnet" and session.weights == "random"


def test_with_nothing_shown_a_bad_name_opens_the_default_and_bad_weights_retry_pretrained():
    session = Session("random")
    recovery = session.fail(ModelFailure(session.request("notanet"), "unknown_model", "unknown model"))
    assert recovery.retry == ("alexnet", "random")
    recovery = session.fail(ModelFailure(session.request("resnet18", weights="x.pth"), "weights", "bad"))
    assert recovery.retry == ("resnet18", "pretrained")
    recovery = session.fail(ModelFailure(session.request("alexnet"), "unknown_model", "?"))
    assert recovery.retry is None and recovery.page  # the default itself failed: no loop
    recovery = session.fail(ModelFailure(session.request("resnet18"), "cancelled", "cancelled"))
    assert recovery.retry is None and "cancelled" in recovery.page


def test_errors_are_classified_for_the_policy():
    request = Session().request("x")
    assert classify(request, Cancelled()).kind == "cancelled"
    assert classify(request, UnknownModelError("x", [])).kind == "unknown_model"
    assert classify(request, WeightsError("cannot read")).kind == "weights"
    failure = classify(request, RuntimeError("first line\nsecond line"))
    assert (failure.kind, failure.message) == ("internal", "RuntimeError: first line")


# -- the runner --------------------------------------------------------------------------------------------

class Outcomes:
    def __init__(self):
        self.done, self.failed, self.progress = [], [], []
        self.event = threading.Event()
        self._changed = threading.Condition()

    def on_done(self, job_id, value):
        with self._changed:
            self.done.append((job_id, value))
            self.event.set()
            self._changed.notify_all()

    def on_failed(self, job_id, error):
        with self._changed:
            self.failed.append((job_id, error))
            self.event.set()
            self._changed.notify_all()

    def wait_for(self, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.done) + len(self.failed) >= count, WAIT_S)


def test_the_runner_drops_a_superseded_job_and_serves_the_latest():
    runner = RequestRunner(lambda fn: fn())
    outcomes = Outcomes()
    started, release = threading.Event(), threading.Event()

    def slow(job):
        started.set()
        release.wait(WAIT_S)
        job.progress("after the wait")  # a step boundary: a superseded job stops here
        return "slow"

    first = runner.submit(slow, done=outcomes.on_done, failed=outcomes.on_failed)
    assert started.wait(WAIT_S)
    second = runner.submit(lambda job: "fast", done=outcomes.on_done, failed=outcomes.on_failed)
    assert not runner.is_current(first) and runner.is_current(second)
    release.set()
    assert outcomes.event.wait(WAIT_S)
    runner.shutdown()
    assert outcomes.done == [(second, "fast")] and outcomes.failed == []  # the stale one reported nothing


def test_cancel_stops_a_job_at_its_next_step_and_says_so():
    runner = RequestRunner(lambda fn: fn())
    outcomes = Outcomes()
    started, release = threading.Event(), threading.Event()
    steps = []

    def job_fn(job):
        started.set()
        release.wait(WAIT_S)
        for i in range(3):
            job.progress(f"step {i}")
            steps.append(i)
        return "finished"

    job_id = runner.submit(job_fn, done=outcomes.on_done, failed=outcomes.on_failed,
                           progress=lambda i, text, percent: outcomes.progress.append(text))
    assert started.wait(WAIT_S)
    runner.cancel(job_id)
    release.set()
    assert outcomes.event.wait(WAIT_S)
    runner.shutdown()
    assert steps == [] and outcomes.done == []
    assert [type(e) for _, e in outcomes.failed] == [Cancelled]


def test_an_error_in_a_job_comes_back_as_a_failure_and_the_runner_goes_on():
    runner = RequestRunner(lambda fn: fn())
    outcomes = Outcomes()
    runner.submit(lambda job: 1 / 0, done=outcomes.on_done, failed=outcomes.on_failed)
    assert outcomes.wait_for(1)
    runner.submit(lambda job: job.state.setdefault("kept", "yes"), channel="lab", done=outcomes.on_done)
    assert outcomes.wait_for(2)
    runner.shutdown()
    assert isinstance(outcomes.failed[0][1], ZeroDivisionError)
    assert outcomes.done[0][1] == "yes"


def test_channels_do_not_supersede_each_other():
    runner = RequestRunner(lambda fn: fn())
    outcomes = Outcomes()
    gate = threading.Event()
    runner.submit(lambda job: gate.wait(WAIT_S) and "model", channel="model", done=outcomes.on_done)
    runner.submit(lambda job: "lab", channel="lab", done=outcomes.on_done)
    gate.set()
    assert outcomes.wait_for(2)
    runner.shutdown()
    assert sorted(v for _, v in outcomes.done) == ["lab", "model"]


def test_background_work_starts_once_the_outcomes_before_it_are_handed_over():
    """A background job (the window's imports ahead of need) waits until the GUI thread has taken the outcomes
    posted before it: its Python work then does not take the GIL from the GUI thread drawing them."""
    import queue

    posted = queue.Queue()  # the GUI thread's queue: the test hands the outcomes over
    runner = RequestRunner(posted.put)
    shown, started, background = [], threading.Event(), []
    runner.submit(lambda job: "graph", done=lambda _id, result: shown.append(result))
    runner.submit(lambda job: started.set() or list(shown), channel="warm-up", supersede=False,
                  done=lambda _id, result: background.append(result))
    hand_over = posted.get(timeout=WAIT_S)  # the model's outcome, on its way
    assert not started.wait(0.3)  # the background job waits for it ...
    hand_over()
    assert shown == ["graph"] and started.wait(WAIT_S)  # ... and starts once it is shown
    posted.get(timeout=WAIT_S)()
    runner.shutdown()
    assert background == [["graph"]]


# -- serving a real model ------------------------------------------------------------------------------------

def serve(runner, request):
    outcomes = Outcomes()
    runner.submit(lambda job: serve_model(request, job), done=outcomes.on_done, failed=outcomes.on_failed,
                  progress=lambda i, text, percent: outcomes.progress.append(text))
    assert outcomes.event.wait(WAIT_S)
    return outcomes


def test_serving_lenet5_gives_plain_data_and_keeps_the_module_in_the_worker():
    runner = RequestRunner(lambda fn: fn())
    session = Session("random")
    outcomes = serve(runner, session.request("lenet5"))
    (_, result), = outcomes.done
    assert session.accept(result)
    assert result.totals.params == 61_706 and result.ok
    conv1 = result.details["conv1"] if "conv1" in result.details else next(
        d for d in result.details.values() if d.type == "Conv2d")
    assert conv1.output_shape == (6, 28, 28)  # numbers, not text
    assert "Recording the layer graph" in outcomes.progress
    assert not hasattr(result, "loaded")  # the nn.Module never travels to the GUI
    loaded = runner.state["loaded"]
    assert type(loaded.model).__name__ == "LeNet5"
    runner.shutdown()


def test_an_unknown_model_fails_before_anything_is_built():
    runner = RequestRunner(lambda fn: fn())
    request = Session().request("resnet51")
    outcomes = serve(runner, request)
    failure = classify(request, outcomes.failed[0][1])
    assert failure.kind == "unknown_model" and "resnet50" in failure.message
    runner.shutdown()


def test_cancel_takes_effect_between_modules_of_a_forward_pass():
    import torch
    from torch import nn

    class Job:
        calls = 0

        def check(self):
            Job.calls += 1
            if Job.calls > 3:
                raise Cancelled()

    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(10)])
    with pytest.raises(Cancelled), checked_between_modules(Job()):
        model(torch.zeros(1, 4))
    assert Job.calls == 4  # stopped at the fourth module, not after the tenth
    model(torch.zeros(1, 4))  # the hook is gone afterwards
    assert Job.calls == 4
