"""Fault injection: latency, 429/503 with ``Retry-After`` and dropped connections.

Off by default. Which request fails is decided by a counter hashed with the seed, so a
run with the same seed and the same sequence of requests fails the same requests.

>>> f = FaultPlan(rate=0.5, seed=3)
>>> sum(f.next() is not None for _ in range(1000)) in range(400, 600)
True
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

KINDS = ("429", "503", "drop")


@dataclass
class FaultPlan:
    """Decides, request by request, whether to answer with a fault and which one."""

    rate: float = 0.0
    seed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    _n: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next(self) -> str | None:
        """The fault for the next request (``"429"``, ``"503"``, ``"drop"``) or ``None``."""
        if self.rate <= 0:
            return None
        with self._lock:
            n = self._n
            self._n += 1
        h = hashlib.blake2b(f"{self.seed}:{n}".encode(), digest_size=8).digest()
        x = int.from_bytes(h[:6], "big") / float(1 << 48)
        if x >= self.rate:
            return None
        kind = KINDS[h[7] % len(KINDS)]
        with self._lock:
            self.counts[kind] += 1
        return kind
