"""The background writer thread runs jobs in order and hands errors back."""

import os
import sys
import threading

import pytest

from ground_truth.render.worker import LOCK_SWITCH_INTERVAL_S, LOW_PRIORITY_NICE, BackgroundWorker


def test_jobs_run_in_order_on_another_thread():
    seen = []
    worker = BackgroundWorker()
    for i in range(20):
        worker.submit(lambda i=i: seen.append((i, threading.current_thread().name)))
    worker.drain()
    assert [i for i, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"ground-truth-writer"}
    worker.close()


def test_an_error_is_raised_in_the_submitting_thread_and_later_jobs_are_dropped():
    seen = []
    worker = BackgroundWorker()

    def fail():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        worker.submit(fail)
        worker.submit(seen.append, 1)  # raises here when fail() already ran
        worker.drain()
    assert seen == []
    worker.close()


def test_close_finishes_pending_jobs():
    seen = []
    worker = BackgroundWorker(max_pending=1)
    for i in range(5):
        worker.submit(seen.append, i)
    worker.close()
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are Linux's")
def test_low_priority_lowers_only_the_worker_thread():
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = []
    worker = BackgroundWorker(low_priority=True)
    worker.submit(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    worker.close()
    assert seen == [LOW_PRIORITY_NICE]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the process as a whole too


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no thread priorities here")
def test_normal_priority_by_default():
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = []
    worker = BackgroundWorker()
    worker.submit(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    worker.close()
    assert seen == [own]


def test_a_low_priority_worker_shortens_the_lock_switch_interval_while_it_lives():
    before = sys.getswitchinterval()
    seen = []
    worker = BackgroundWorker(low_priority=True)
    worker.submit(lambda: seen.append(sys.getswitchinterval()))
    worker.drain()
    assert before > LOCK_SWITCH_INTERVAL_S
    assert seen == [LOCK_SWITCH_INTERVAL_S]
    worker.close()
    assert sys.getswitchinterval() == before
    worker.close()  # closing again changes nothing
    assert sys.getswitchinterval() == before


def test_the_switch_interval_comes_back_when_the_worker_closes_on_an_error():
    before = sys.getswitchinterval()
    worker = BackgroundWorker(low_priority=True)

    def fail():
        raise OSError("disk full")

    worker.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        worker.close()
    assert sys.getswitchinterval() == before
    # A normal-priority worker leaves it alone.
    other = BackgroundWorker()
    assert sys.getswitchinterval() == before
    other.close()
