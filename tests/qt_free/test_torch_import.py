"""``models/runtime/torch_import.py``'s shape helpers for concrete values answer exactly as torch's own (which import
sympy): checked against the real functions, so a torch upgrade that changes one is caught here."""

from __future__ import annotations

import pytest
import torch.fx.experimental.symbolic_shapes as real_shapes

from cnn_explorer.models.runtime.torch_import import _CONCRETE_SHAPE_HELPERS

SAMPLES = [(True,), (False,), (0,), (7,), (2.5,), (True, False), (True, True, True), (False, True),
           (3, 3), (3, 4), ((1, 2, 3), (1, 2, 3)), ((1, 2, 3), [1, 2, 3]), ((1, 2), (1, 2, 3)), ((1, (2, 3)), (1, [2, 3])),
           ((), ()), ((1, 2), (1, 3))]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # guard_size_oblivious: torch plans to remove it
@pytest.mark.parametrize("name", sorted(_CONCRETE_SHAPE_HELPERS))
def test_each_helper_answers_as_torch_for_the_values_it_accepts(name):
    accepts, answer = _CONCRETE_SHAPE_HELPERS[name]
    real = getattr(real_shapes, name)
    checked = 0
    for args in SAMPLES:
        try:
            if not accepts(*args):
                continue
        except TypeError:  # not this helper's number of arguments
            continue
        expected = real(*args)
        assert answer(*args) == expected and type(answer(*args)) is type(expected), (name, args)
        checked += 1
    assert checked >= 2, name


def test_importing_the_models_package_changes_nothing_in_the_process():
    import subprocess
    import sys

    script = ("import sys; before = list(sys.meta_path); import cnn_explorer.models, cnn_explorer.models.zoo.loader; "
              "print(sys.meta_path == before, 'torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["True", "False"], done.stderr[-2000:]


def test_the_tricks_stay_off_with_a_torch_they_were_not_checked_against(monkeypatch):
    import sys

    from cnn_explorer.models.runtime import torch_import
    assert torch_import.torch_version() in torch_import.CHECKED_TORCH  # this environment's torch was checked
    monkeypatch.setattr(torch_import, "_installed", False)
    monkeypatch.setattr(torch_import, "torch_version", lambda: (2, 4))
    before = list(sys.meta_path)
    assert torch_import.install() is False and sys.meta_path == before
    with torch_import.lean_imports() as lean:
        assert lean.stand_ins == {}  # torch's own modules, imported as usual
