"""What a list was: where from, how, when, and what went wrong on the way.

Every frame a list returns carries a :class:`ListInfo` (:func:`list_info`), in
``df.attrs["cpexplore"]`` as a tuple of immutable ``(field, value)`` pairs: pandas deep-copies
``attrs`` on every operation, and copies those for nothing.

>>> from datetime import datetime, timezone
>>> df = with_info(pd.DataFrame({"id": ["a"]}), ListInfo("servers", "region0", "public", "u",
...                datetime(2026, 1, 1, tzinfo=timezone.utc), rows=1))
>>> list_info(df.head(1)).summary()
'1 servers from region0 (public), fetched 2026-01-01 00:00:00 UTC'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..errors import ConfigError

INFO_KEY = "cpexplore"  # the one key of DataFrame.attrs cpexplore uses


@dataclass(frozen=True)
class ListInfo:
    """What one list was: ``partial`` when pages failed, ``drift`` what changed while paging,
    ``from_cache``/``fetched_at`` how fresh, ``filtered_here``/``sorted_here`` what was local."""

    resource: str
    region: str | None
    interface: str
    url: str
    fetched_at: datetime
    params: Mapping[str, Any] = field(default_factory=dict)
    scope: str | None = None
    details: bool | str = True
    source: str | None = None
    total: int | None = None
    rows: int = 0
    pages: int = 0
    failed_pages: tuple[Mapping[str, Any], ...] = ()
    drift: Mapping[str, Any] | None = None
    duplicates_dropped: int = 0
    elapsed_s: float = 0.0
    filtered_here: tuple[str, ...] = ()
    sorted_here: tuple[str, ...] = ()
    from_cache: bool = False
    regions: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        # read-only all the way down, so that what a frame carries cannot be changed
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "failed_pages", tuple(_frozen(p) for p in self.failed_pages))
        if self.drift is not None:
            object.__setattr__(self, "drift", _frozen(self.drift))

    @property
    def partial(self) -> bool:
        """True when some pages failed and the rows are incomplete."""
        return bool(self.failed_pages)

    @property
    def age_s(self) -> float:
        """Seconds since the rows were fetched."""
        return (now_utc() - self.fetched_at).total_seconds()

    def summary(self) -> str:
        """One line for a person: rows, where, when, and any caveat.

        >>> ListInfo("servers", "region0", "public", "u", datetime(2026, 1, 1, tzinfo=UTC),
        ...          rows=3, total=5).summary()
        '3 of 5 servers from region0 (public), fetched 2026-01-01 00:00:00 UTC'
        """
        of = (
            f" of {self.total}"
            if self.total is not None and self.total != self.rows and not self.filtered_here
            else ""
        )
        where = ", ".join(str(r) for r in self.regions) if self.regions else self.region
        text = (
            f"{self.rows}{of} {self.resource} from {where or 'the default region'} "
            f"({self.interface}), fetched {self.fetched_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        if self.from_cache:
            text += " — from the cache"
        if self.partial:
            text += f" — PARTIAL: {len(self.failed_pages)} page(s) failed"
        if self.drift:
            text += " — the list changed while it was paged"
        return text


def _frozen(value: Any) -> Any:
    """A read-only copy: mappings become ``MappingProxyType``, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """A value as nested tuples of atoms, which ``copy.deepcopy`` returns as they are."""
    if isinstance(value, Mapping):
        return ("__map__", tuple((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, datetime):
        return ("__time__", value.timestamp())
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == "__map__":
            return {k: _unplain(v) for k, v in value[1]}
        if len(value) == 2 and value[0] == "__time__":
            return datetime.fromtimestamp(value[1], UTC)
        return tuple(_unplain(v) for v in value)
    return value


def list_info(df: pd.DataFrame) -> ListInfo:
    """The :class:`ListInfo` of a frame cpexplore listed.

    >>> list_info(pd.DataFrame())
    Traceback (most recent call last):
    ...
    cpexplore.errors.ConfigError: this DataFrame carries no cpexplore list information (it comes from Session.list, gather or a widget; pandas drops it when frames with different sources are combined)
    """
    held = df.attrs.get(INFO_KEY)
    if not isinstance(held, tuple):
        raise ConfigError(
            "this DataFrame carries no cpexplore list information",
            hint="it comes from Session.list, gather or a widget; pandas drops it when frames "
            "with different sources are combined",
        )
    return ListInfo(**{name: _unplain(value) for name, value in held})


def info_or_none(df: pd.DataFrame) -> ListInfo | None:
    """The :class:`ListInfo` of a frame, or ``None`` when it carries none."""
    return list_info(df) if isinstance(df.attrs.get(INFO_KEY), tuple) else None


def with_info(df: pd.DataFrame, info: ListInfo) -> pd.DataFrame:
    """``df`` carrying ``info`` (the frame itself, changed in place, is returned)."""
    df.attrs[INFO_KEY] = tuple((f.name, _plain(getattr(info, f.name))) for f in fields(info))
    return df


def combined_info(infos: list[ListInfo], rows: int) -> ListInfo:
    """One :class:`ListInfo` for the lists of several regions joined into one frame: the
    oldest fetch time, cached only if all were, every failed page and region."""
    first = infos[0]
    drifts = [i.drift for i in infos if i.drift]
    totals = [i.total for i in infos]
    return replace(
        first,
        region=None,
        regions=tuple(r for i in infos for r in (i.regions or (i.region,))),
        url=" ".join(i.url for i in infos),
        fetched_at=min(i.fetched_at for i in infos),
        total=None if any(t is None for t in totals) else sum(t for t in totals if t is not None),
        rows=rows,
        pages=sum(i.pages for i in infos),
        failed_pages=tuple(p for i in infos for p in i.failed_pages),
        drift=drifts[0] if drifts else None,
        duplicates_dropped=sum(i.duplicates_dropped for i in infos),
        elapsed_s=max(i.elapsed_s for i in infos),
        from_cache=all(i.from_cache for i in infos),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def duration(seconds: float) -> str:
    """A short duration for a person.

    >>> duration(42), duration(125), duration(7384)
    ('42s', '2m05s', '2h03m')
    """
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


__all__ = [
    "INFO_KEY",
    "ListInfo",
    "list_info",
    "info_or_none",
    "with_info",
    "combined_info",
    "now_utc",
    "duration",
]
