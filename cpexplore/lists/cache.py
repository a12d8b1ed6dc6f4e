"""A session's cache of lists: a frame per request, for ``ttl`` seconds.

Keyed by :attr:`ListRequest.key <cpexplore.lists.request.ListRequest.key>` (every argument that
decides the rows); frames go in and out as copies (nearly free with copy-on-write).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from .request import ListRequest


@dataclass
class _Entry:
    request: ListRequest
    frame: pd.DataFrame
    fetched_at: datetime
    stored: float


class ListCache:
    """Per-session cache of list results (``ttl`` seconds; 0 keeps nothing)."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = float(ttl)
        self._entries: dict[tuple, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, request: ListRequest) -> tuple[pd.DataFrame, datetime] | None:
        """A copy of the frame kept for ``request`` and when it was fetched, if still fresh."""
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(request.key)
            if entry is None:
                return None
            if time.monotonic() - entry.stored > self.ttl:
                del self._entries[request.key]
                return None
        return entry.frame.copy(deep=False), entry.fetched_at  # copy-on-write: nearly free

    def put(self, request: ListRequest, frame: pd.DataFrame, fetched_at: datetime) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[request.key] = _Entry(
                request, frame.copy(deep=False), fetched_at, time.monotonic()
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def info(self) -> pd.DataFrame:
        """What the cache holds: resource, what was asked, region, interface, rows, bytes,
        fetched_at and how long each entry stays."""
        now = time.monotonic()
        with self._lock:
            entries = list(self._entries.values())
        return pd.DataFrame(
            {
                "resource": [e.request.spec.name for e in entries],
                "params": [_asked(e.request) for e in entries],
                "region": [e.request.region for e in entries],
                "interface": [e.request.interface for e in entries],
                "rows": [len(e.frame) for e in entries],
                "bytes": [int(e.frame.memory_usage(deep=True).sum()) for e in entries],
                "fetched_at": pd.to_datetime([e.fetched_at for e in entries], utc=True),
                "expires_in_s": [max(0.0, self.ttl - (now - e.stored)) for e in entries],
            }
        )


def _asked(request: ListRequest) -> dict[str, Any]:
    """The arguments of a request that were given (not at their defaults), as a dict."""
    skip = {"spec", "region", "interface"}
    out: dict[str, Any] = {}
    for name, value in request.key[2:]:
        if name in skip or value in (None, (), False) or (name == "details" and value is True):
            continue
        out[name] = [f.text for f in value] if name == "filters" else value
    return out


__all__ = ["ListCache"]
