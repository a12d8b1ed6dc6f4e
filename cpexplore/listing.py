"""Fetching every page of a list: the paging plan, concurrent pages, progress and a cache.

Offset paging advances by the rows received until ``total``; once the first
page reveals ``total``, the other offsets are fetched by a bounded thread pool and put
back in order. Marker-paged resources (``events``, ``actions``) follow ``next_marker``
one page at a time.

>>> pages = {0: {"servers": [{"id": "a"}, {"id": "b"}], "total": 3, "limit": 2},
...          2: {"servers": [{"id": "c"}], "total": 3, "limit": 2, "offset": 2}}
>>> res = fetch_all(lambda p: pages[p["offset"]], "servers", {}, page_size=2, progress=False)
>>> [r["id"] for r in res.records], res.total
(['a', 'b', 'c'], 3)
"""

from __future__ import annotations

import copy
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

import pandas as pd

from .errors import ConfigError, CpExploreError, ProtocolError

PAGE_SIZE = 2048  # the server maximum
# Pages in flight at once: enough to hide network latency, no more than a browser opens to
# one host. On a real region the time is the server's, and its pages come one at a time.
DEFAULT_WORKERS = 8


class Page(NamedTuple):
    """One page of a list: the answer's envelope (``total``, ``limit``, ``next_marker``…),
    the ids of its rows in order, and the rows in whatever form the caller keeps them
    (a list of dicts, a DataFrame or an Arrow table)."""

    envelope: Mapping[str, Any]
    ids: list[Any]
    rows: Any

    @property
    def count(self) -> int:
        return len(self.ids)


GetPage = Callable[[dict[str, Any]], "Page | Mapping[str, Any]"]


class PagingDriftWarning(UserWarning):
    """Rows were created or deleted while a list was being paged."""


@dataclass
class FetchResult:
    """Every page of a list, with what happened while fetching it.

    ``chunks`` are the pages' rows in the caller's form, duplicates and rows past the limit
    removed; ``records`` is their concatenation when they are lists of dicts.
    """

    chunks: list[Any]
    total: int | None
    pages: int = 0
    failed_pages: list[dict] = field(default_factory=list)
    drift: dict | None = None
    duplicates: int = 0
    elapsed: float = 0.0

    @property
    def records(self) -> list[dict]:
        return [r for chunk in self.chunks for r in chunk]


def envelope_rows(body: Mapping[str, Any], list_key: str) -> list[dict]:
    """The records of a list answer; the key is the plural, or ``data``."""
    if not isinstance(body, Mapping):
        raise ProtocolError(
            f"the list answer for {list_key} is not a JSON object",
            hint="check the service URL and region",
        )
    rows = body.get(list_key, body.get("data"))
    if rows is None:
        keys = ", ".join(sorted(body)) or "none"
        raise ProtocolError(
            f"the list answer has no {list_key!r} key (keys: {keys})",
            hint="the endpoint is not a Cloudpods list API; check the resource and region",
        )
    if not isinstance(rows, list):
        raise ProtocolError(
            f"{list_key!r} in the list answer is not a list", hint="check the service URL"
        )
    return rows


def page_from_body(body: Mapping[str, Any], list_key: str) -> Page:
    """A decoded list answer as a :class:`Page` (its rows as dicts).

    >>> page_from_body({"servers": [{"id": "a"}], "total": 1}, "servers")
    Page(envelope={'total': 1}, ids=['a'], rows=[{'id': 'a'}])
    """
    rows = envelope_rows(body, list_key)
    ids = [r.get("id") if isinstance(r, dict) else None for r in rows]
    envelope = {k: v for k, v in body.items() if k not in (list_key, "data")}
    return Page(envelope, ids, rows)


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _progress_bar(progress: bool | None, total: int | None, desc: str) -> Any:
    show = _interactive() if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    # asked for explicitly: draw every page at once; automatic: only lists that take a moment
    bar = tqdm(
        total=total,
        desc=desc,
        unit="rows",
        delay=0 if progress else 0.5,
        mininterval=0 if progress else 0.1,
        leave=False,
    )
    bar.pages = 0
    return bar


def _advance(bar: Any, rows: int) -> None:
    """Count one more page of ``rows`` on the bar (rows, and pages in the postfix)."""
    if bar is not None:
        bar.pages += 1
        bar.set_postfix_str(f"{bar.pages} pages", refresh=False)
        bar.update(rows)


@dataclass(frozen=True)
class _Paging:
    """What one fetch needs besides the pages: how to ask, how many, how to report."""

    get_page: GetPage
    key: str
    params: Mapping[str, Any]
    size: int
    limit: int | None
    workers: int
    progress: bool | None
    on_error: str

    def fetch(self, **extra: Any) -> Page:
        got = self.get_page({**self.params, **extra})
        return got if isinstance(got, Page) else page_from_body(got, self.key)


def fetch_all(
    get_page: GetPage,
    list_key: str,
    params: Mapping[str, Any],
    *,
    marker_paged: bool = False,
    limit: int | None = None,
    page_size: int = PAGE_SIZE,
    max_workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    on_error: str = "raise",
) -> FetchResult:
    """Fetch every page (or ``limit`` rows) of a list through ``get_page(params)``.

    ``get_page`` returns the decoded answer or a ready :class:`Page` (rows in any form).

    >>> pages = {0: {"servers": [{"id": "a"}, {"id": "b"}], "total": 3, "limit": 2},
    ...          2: {"servers": [{"id": "c"}], "total": 3, "limit": 2, "offset": 2}}
    >>> res = fetch_all(lambda p: pages[p["offset"]], "servers", {}, page_size=2, progress=False)
    >>> [r["id"] for r in res.records], res.total
    (['a', 'b', 'c'], 3)
    """
    if on_error not in ("raise", "partial"):
        raise ValueError("on_error must be 'raise' or 'partial'")
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    start = time.monotonic()
    paging = _Paging(
        get_page,
        list_key,
        dict(params),
        max(1, min(page_size, limit or page_size)),
        limit,
        max_workers,
        progress,
        on_error,
    )
    result = _fetch_marker(paging) if marker_paged else _fetch_offset(paging)
    result.elapsed = time.monotonic() - start
    return result


@dataclass
class _Offsets:
    """The pages after the first of an offset-paged list, as they came back."""

    pages: list[Page] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    totals: dict[int, None] = field(default_factory=dict)  # in the order of the pages
    short: list[int] = field(default_factory=list)


def _fetch_offset(p: _Paging) -> FetchResult:
    first = p.fetch(limit=p.size, offset=0)
    total = _as_int(first.envelope.get("total"))
    want = total if total is not None else p.limit
    if p.limit is not None and want is not None:
        want = min(want, p.limit)
    bar = _progress_bar(p.progress, want, p.key)
    rest = _Offsets(totals=dict.fromkeys([total] if total is not None else []))
    try:
        _advance(bar, first.count)
        if first.count and want is not None and first.count < want:
            _fetch_offsets(p, rest, first.count, want, bar)
        elif first.count and want is None:
            _walk_to_the_end(p, rest, first.count, bar)
    finally:
        if bar is not None:
            bar.close()
    pages = [first, *rest.pages]
    chunks, dups, kept = _assemble(pages, p.limit)
    # without a total, the rows received are all there is (a row limit is no promise of rows)
    expected = want if total is not None else kept
    drift = _drift(p.key, rest, expected, kept, dups)
    return FetchResult(chunks, total, len(pages) + len(rest.failed), rest.failed, drift, dups)


def _fetch_offsets(p: _Paging, rest: _Offsets, stride: int, want: int, bar: Any) -> None:
    """Every offset after the first page, by a pool of threads, put back in order."""

    def one(off: int) -> tuple[int, Page | None, str | None]:
        try:
            page = p.fetch(limit=min(stride, want - off), offset=off)
        except CpExploreError as e:
            if p.on_error == "raise":
                raise
            return off, None, str(e)
        _advance(bar, page.count)
        return off, page, None

    offsets = list(range(stride, want, stride))
    if p.workers == 1:
        results = [one(off) for off in offsets]
    else:
        with ThreadPoolExecutor(
            max_workers=min(p.workers, len(offsets)), thread_name_prefix="cpexplore-page"
        ) as pool:
            results = list(pool.map(one, offsets))
    for off, page, err in results:
        asked = min(stride, want - off)
        if page is None:
            rest.failed.append({"offset": off, "limit": asked, "error": err})
            continue
        if page.count < asked:
            rest.short.append(off)
        rest.pages.append(page)
        page_total = _as_int(page.envelope.get("total"))
        if page_total is not None:
            rest.totals.setdefault(page_total)


def _walk_to_the_end(p: _Paging, rest: _Offsets, offset: int, bar: Any) -> None:
    """No total in the answer: ask on until an empty page."""
    while True:
        page = p.fetch(limit=p.size, offset=offset)
        if not page.count:
            break
        rest.pages.append(page)
        offset += page.count
        _advance(bar, page.count)


def _drift(key: str, rest: _Offsets, expected: int, kept: int, dups: int) -> dict | None:
    """What changed while the list was paged (``None`` if nothing), with a warning."""
    missing = max(0, expected - sum(f["limit"] for f in rest.failed) - kept)
    if not (len(rest.totals) > 1 or missing or rest.short):
        return None
    drift = {
        "totals_seen": list(rest.totals),
        "short_pages": rest.short,
        "missing": missing,
        "rows": kept,
    }
    if len(rest.totals) > 1:
        change = f"total went {' → '.join(map(str, drift['totals_seen']))}"
    elif rest.short:
        change = f"{len(rest.short)} page(s) came back short"
    else:
        change = f"{dups} row(s) came twice"
    warnings.warn(
        f"{key} changed while being paged ({change}); {kept} unique rows kept, "
        f"{dups} duplicates dropped, {missing} of the {expected} expected rows missing; "
        "list again for a consistent view",
        PagingDriftWarning,
        stacklevel=6,
    )
    return drift


def _fetch_marker(p: _Paging) -> FetchResult:
    pages: list[Page] = []
    marker: str | None = None
    got = 0
    bar = _progress_bar(p.progress, p.limit, p.key)
    failed: list[dict] = []
    try:
        while True:
            q: dict[str, Any] = {"limit": p.size if p.limit is None else min(p.size, p.limit - got)}
            if marker:
                q["paging_marker"] = marker
            try:
                page = p.fetch(**q)
            except CpExploreError as e:
                if p.on_error == "raise" or not pages:
                    raise
                failed.append({"paging_marker": marker, "limit": q["limit"], "error": str(e)})
                break
            pages.append(page)
            got += page.count
            _advance(bar, page.count)
            nxt = page.envelope.get("next_marker")
            marker = nxt if isinstance(nxt, str) else None if nxt is None else str(nxt)
            if not page.count or not marker or (p.limit is not None and got >= p.limit):
                break
    finally:
        if bar is not None:
            bar.close()
    chunks, dups, _kept = _assemble(pages, p.limit)
    return FetchResult(chunks, None, len(pages), failed, None, dups)


def _assemble(pages: list[Page], limit: int | None) -> tuple[list[Any], int, int]:
    """Drop rows already seen (by id) and rows past ``limit``, keeping page order.

    Returns the pages' rows (masked), the number of duplicates dropped and of rows kept.
    """
    seen: set = set()
    chunks: list[Any] = []
    dups = kept = 0
    for page in pages:
        keep = []
        for rid in page.ids:
            if rid is not None and rid in seen:
                dups += 1
                keep.append(False)
                continue
            if rid is not None:
                seen.add(rid)
            ok = limit is None or kept < limit
            keep.append(ok)
            kept += ok
        if all(keep):
            chunks.append(page.rows)
        elif any(keep):
            chunks.append(_subset(page.rows, keep))
    return chunks, dups, kept


def _subset(rows: Any, keep: list[bool]) -> Any:
    """The kept rows of a page, in the page's own form."""
    if isinstance(rows, list):
        return [r for r, k in zip(rows, keep, strict=True) if k]
    if isinstance(rows, pd.DataFrame):
        return rows[keep].reset_index(drop=True)
    return rows.filter(keep)  # an Arrow table


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# -- what a fetch was ----------------------------------------------------------------------------
INFO_KEY = "cpexplore"  # the one key of DataFrame.attrs cpexplore uses


@dataclass(frozen=True)
class ListInfo:
    """What one list was: where from, how, when, and what went wrong on the way.

    Every frame ``Session.list`` returns carries one, read with :func:`list_info`
    (it lives in ``df.attrs["cpexplore"]`` and follows the frame through copies, slices and
    ``assign``). ``partial`` is true when pages failed (``on_error="partial"``), ``drift``
    says what changed while paging, ``from_cache``/``fetched_at`` how fresh the rows are.
    """

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
        # read-only all the way down, so the info can be shared instead of copied: pandas
        # deep-copies attrs on nearly every operation, and a copy of this would cost each one
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "failed_pages", tuple(_frozen(p) for p in self.failed_pages))
        if self.drift is not None:
            object.__setattr__(self, "drift", _frozen(self.drift))

    def __deepcopy__(self, memo: dict) -> ListInfo:
        return self

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

        >>> from datetime import datetime, timezone
        >>> ListInfo("servers", "region0", "public", "u", datetime(2026, 1, 1, tzinfo=timezone.utc),
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


def list_info(df: pd.DataFrame) -> ListInfo:
    """The :class:`ListInfo` of a frame cpexplore listed.

    >>> list_info(pd.DataFrame())
    Traceback (most recent call last):
    ...
    cpexplore.errors.ConfigError: this DataFrame carries no cpexplore list information (it comes from Session.list, gather or a widget; pandas drops it when frames with different sources are combined)
    """
    info = df.attrs.get(INFO_KEY)
    if not isinstance(info, ListInfo):
        raise ConfigError(
            "this DataFrame carries no cpexplore list information",
            hint="it comes from Session.list, gather or a widget; pandas drops it when frames "
            "with different sources are combined",
        )
    return info


def with_info(df: pd.DataFrame, info: ListInfo) -> pd.DataFrame:
    """``df`` carrying ``info`` (the frame itself, changed in place, is returned)."""
    df.attrs[INFO_KEY] = info
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


# -- cache ------------------------------------------------------------------------------
@dataclass
class _Entry:
    frame: pd.DataFrame
    fetched_at: datetime
    stored: float


class ListCache:
    """Per-session cache of list results, keyed by resource, parameters, region, interface.

    Frames go in and come out as copies, so a caller's changes never reach the cache.
    """

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = float(ttl)
        self._entries: dict[tuple, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(resource: str, params: Mapping[str, Any], region: str | None, interface: str) -> tuple:
        def freeze(v: Any) -> Any:
            if isinstance(v, list | tuple):
                return tuple(freeze(x) for x in v)
            if isinstance(v, dict):
                return tuple(sorted((k, freeze(x)) for k, x in v.items()))
            return v

        return (resource, freeze(dict(params)), region, interface)

    def get(self, key: tuple) -> tuple[pd.DataFrame, datetime] | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.stored > self.ttl:
                del self._entries[key]
                return None
        return _copy(entry.frame), entry.fetched_at

    def put(self, key: tuple, frame: pd.DataFrame, fetched_at: datetime) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = _Entry(_copy(frame), fetched_at, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def info(self) -> pd.DataFrame:
        now = time.monotonic()
        with self._lock:
            items = list(self._entries.items())
        return pd.DataFrame(
            {
                "resource": [k[0] for k, _ in items],
                "params": [dict(k[1]) for k, _ in items],
                "region": [k[2] for k, _ in items],
                "interface": [k[3] for k, _ in items],
                "rows": [len(e.frame) for _, e in items],
                "bytes": [int(e.frame.memory_usage(deep=True).sum()) for _, e in items],
                "fetched_at": pd.to_datetime([e.fetched_at for _, e in items], utc=True),
                "expires_in_s": [max(0.0, self.ttl - (now - e.stored)) for _, e in items],
            }
        )


def _copy(frame: pd.DataFrame) -> pd.DataFrame:
    # Copy-on-write (pandas ≥ 3) makes a shallow copy safe and nearly free.
    deep = int(pd.__version__.split(".")[0]) < 3
    out = frame.copy(deep=deep)
    out.attrs = copy.deepcopy(frame.attrs)
    return out


def now_utc() -> datetime:
    return datetime.now(UTC)
