"""The ``make_explorer`` fixture that the package gives pytest (app/testing.py, a ``pytest11`` entry point), as a
user's test suite meets it: it opens a window on a model, and fails a test that leaves a window or one of the
explorer's threads behind."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import threading

from cnn_explorer.app.window.main_window import MainWindow


def test_a_window_on_a_model(make_explorer):
    window = make_explorer("lenet5")
    assert window.current_model() == "lenet5" and window.isVisible()


def test_leaves_a_window_open(make_explorer, qtbot):
    MainWindow("lenet5", weights="random").show()


def test_leaves_a_thread_running(make_explorer):
    threading.Thread(target=threading.Event().wait, name="cnn-explorer-left-behind", daemon=True).start()
'''


@pytest.mark.slow
def test_the_fixture_opens_windows_and_fails_tests_that_leave_things_behind(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.re_match_lines([r".*ERROR at teardown of test_leaves_a_window_open.*",
                                  r"the test left 1 explorer window\(s\) open and threads \[\] running",
                                  r".*ERROR at teardown of test_leaves_a_thread_running.*",
                                  r"the test left 0 explorer window\(s\) open and threads \['cnn-explorer-left-behind'\]"
                                  r" running"])
