"""A guard that pauses Python's cyclic garbage collector around allocation-heavy work.

>>> with gc_paused:
...     rows = [{"id": i} for i in range(3)]
"""

from __future__ import annotations

import gc
import threading


class _GcPause:
    """Pause Python's cyclic garbage collector while a page is decoded or a frame built.

    Decoding 100 000 records creates millions of dicts; with the collector on, its
    full collections walk every record already decoded, again and again, which makes
    decoding about four times slower (measured: 2.1 s against 0.53 s for 131 MB of pages).
    Decoded JSON holds no reference cycles, so nothing is lost by waiting. The collector is
    process-wide, so this guard is too: nested and concurrent pauses are counted, and the
    collector is switched back on by the last one out, only if it was on before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


gc_paused = _GcPause()
