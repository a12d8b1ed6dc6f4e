"""Keep Python's cyclic garbage collector from re-scanning decoded list pages.

Decoding 100 000 records creates millions of dicts and lists. With the collector running,
its collections walk everything decoded so far, again and again: decoding took four times as
long (2.1 s against 0.53 s for 131 MB of pages), and the benchmark's lists ran about 20 %
slower even with the collector paused page by page. Decoded JSON holds no reference cycles,
so nothing is gained by scanning it.

Two tools, one guard (the collector is process-wide, so the guard is too):

* ``gc_guard.paused()`` switches the collector off around one burst of allocation
  (decoding a page, building a page's frame) and back on afterwards, if it was on;
* ``gc_guard.listing()`` marks a list being fetched. While exactly one list runs,
  :meth:`settle` (called after each page) freezes what exists (``gc.freeze``), so later
  collections skip the pages already decoded, and the list unfreezes it when it ends. A
  second list running at the same time unfreezes at once and nothing is frozen until both
  are done, so cycles of other threads are never held back for longer than one list; and if
  the application froze objects itself (``gc.get_freeze_count() > 0``, e.g. before a fork),
  the guard never freezes or unfreezes anything.

>>> with gc_guard.listing(), gc_guard.paused():
...     rows = [{"id": i} for i in range(3)]
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _GcGuard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses = 0
        self._was_enabled = False
        self._lists = 0
        self._freezing = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._pauses == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._pauses += 1
        try:
            yield
        finally:
            with self._lock:
                self._pauses -= 1
                if self._pauses == 0 and self._was_enabled:
                    gc.enable()

    @contextmanager
    def listing(self) -> Iterator[None]:
        with self._lock:
            self._lists += 1
            if self._lists == 1:
                self._freezing = gc.get_freeze_count() == 0  # never undo the application's freeze
            elif self._freezing:
                gc.unfreeze()  # two lists at once: freeze nothing until both are done
                self._freezing = False
        try:
            yield
        finally:
            with self._lock:
                self._lists -= 1
                if self._freezing and self._lists == 0:
                    gc.unfreeze()
                    self._freezing = False

    def settle(self) -> None:
        """After a page is decoded: while one list runs alone, hide what exists from the collector."""
        with self._lock:
            if self._freezing and self._lists == 1:
                gc.freeze()


gc_guard = _GcGuard()
