"""The GC guard speeds lists up without leaving the collector changed for anyone else."""

from __future__ import annotations

import gc
import threading

from cpexplore._gc import gc_guard


def test_the_collector_is_back_on_and_nothing_stays_frozen_after_a_list():
    assert gc.isenabled()
    with gc_guard.listing():
        with gc_guard.paused():
            rows = [{"id": i, "tags": [i]} for i in range(1000)]
            assert not gc.isenabled()
        gc_guard.settle()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert len(rows) == 1000


def test_an_applications_own_freeze_is_left_alone():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with gc_guard.listing():
            gc_guard.settle()
        # still frozen (a few frozen objects may have been freed meanwhile), not unfrozen by the list
        assert before > 0 and gc.get_freeze_count() > before // 2
    finally:
        gc.unfreeze()


def test_two_lists_at_once_freeze_nothing_so_other_threads_cycles_are_collected():
    started, release = threading.Event(), threading.Event()

    def other_list():
        with gc_guard.listing():
            started.set()
            release.wait(5)

    with gc_guard.listing():
        gc_guard.settle()
        t = threading.Thread(target=other_list)
        t.start()
        started.wait(5)
        assert gc.get_freeze_count() == 0  # the second list unfroze everything
        gc_guard.settle()
        assert gc.get_freeze_count() == 0
        release.set()
        t.join()
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_an_error_inside_still_restores_the_collector():
    try:
        with gc_guard.listing(), gc_guard.paused():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled() and gc.get_freeze_count() == 0
