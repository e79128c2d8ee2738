"""The one threading mechanism: result, progress, error, cancel, and no thread left behind."""

from __future__ import annotations

import threading

import pytest

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.progress import check_cancel, report
from convexplorer.ui import workers
from convexplorer.ui.workers import run_in_thread


def test_result_arrives_on_the_gui_thread(qtbot):
    gui_thread = threading.get_ident()
    seen = {}

    def compute(a, b):
        seen["thread"] = threading.get_ident()
        return a * b

    worker = run_in_thread(compute, 6, 7)
    received = {}
    worker.result.connect(lambda v: received.update(value=v, thread=threading.get_ident()))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert received["value"] == 42
    assert received["thread"] == gui_thread
    assert seen["thread"] != gui_thread


def test_progress_is_reported_and_last_step_always_arrives(qtbot):
    def long_job(n, progress=None):
        for i in range(1, n + 1):
            report(progress, i, n, f"step {i}")
        return n

    worker = run_in_thread(long_job, 500)
    steps = []
    worker.progress.connect(lambda d, t, m: steps.append((d, t, m)))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert steps, "no progress signal"
    assert steps[-1] == (500, 500, "step 500")
    # Throttled: 500 quick steps must not flood the GUI thread with 500 signals.
    assert len(steps) < 100
    assert [d for d, _, _ in steps] == sorted(d for d, _, _ in steps)


def test_user_error_arrives_with_its_message(qtbot):
    def fails():
        raise ConvExplorerError("kernel larger than padded input: 7x7 on 5x5")

    worker = run_in_thread(fails)
    with qtbot.waitSignal(worker.error, timeout=5000) as blocker:
        pass
    message, details = blocker.args
    assert message == "kernel larger than padded input: 7x7 on 5x5"
    assert "ConvExplorerError" in details
    worker.wait(5)


def test_unexpected_exception_is_readable_with_traceback(qtbot):
    def divide():
        return 1 / 0

    worker = run_in_thread(divide)
    got_result = []
    worker.result.connect(got_result.append)
    with qtbot.waitSignal(worker.error, timeout=5000) as blocker:
        pass
    message, details = blocker.args
    assert message == "ZeroDivisionError: division by zero"
    assert "Traceback" in details and "divide" in details
    worker.wait(5)
    qtbot.wait(10)
    assert got_result == []


def test_cancel_stops_cooperative_work(qtbot):
    started = threading.Event()
    steps_done = []

    def endless(cancel=None):
        while True:
            started.set()
            check_cancel(cancel)
            steps_done.append(1)
            cancel.wait(0.001)

    worker = run_in_thread(endless)
    assert started.wait(5)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()
    assert worker.wait(5)
    assert steps_done


def test_shutdown_all_cancels_and_joins(qtbot):
    started = threading.Barrier(4)

    def job(cancel=None):
        started.wait(5)
        while not cancel.is_set():
            cancel.wait(0.01)

    ws = [run_in_thread(job) for _ in range(3)]
    started.wait(5)
    assert len(workers.active_workers()) == 3
    assert workers.shutdown_all(timeout_s=5)
    assert all(not w.is_running() for w in ws)
    assert workers.active_workers() == []
    qtbot.wait(10)


def test_functions_without_progress_or_cancel_still_run(qtbot):
    worker = run_in_thread(sorted, [3, 1, 2])
    with qtbot.waitSignal(worker.result, timeout=5000) as blocker:
        pass
    assert blocker.args == [[1, 2, 3]]
    worker.wait(5)


@pytest.mark.parametrize("exc", [MemoryError(), ValueError("")])
def test_describe_exception_messages(exc):
    message, details = workers.describe_exception(exc)
    assert message
    assert type(exc).__name__ in details


def test_signals_are_not_lost_when_connected_after_the_work_ended(qtbot):
    """Connecting after run_in_thread returns is always in time, even for instant work."""
    worker = run_in_thread(lambda: 1 / 0)
    assert worker.wait(5)  # the thread is over before anyone connected
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    with qtbot.waitSignal(worker.error, timeout=2000) as blocker:
        pass
    assert blocker.args[0] == "ZeroDivisionError: division by zero"
    qtbot.waitUntil(lambda: finished == [True], timeout=2000)
