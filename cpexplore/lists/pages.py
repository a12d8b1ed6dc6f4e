"""Fetching every page of a list: offset or marker paging, concurrent pages, drift, progress.

Offset paging: once the first page reveals ``total``, the other offsets are fetched by a
bounded thread pool and put back in order (without a total: on until an empty page).
Marker-paged resources (``events``, ``actions``) follow ``next_marker`` one page at a time.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import CpExploreError, PagingDriftWarning, ProtocolError

PAGE_SIZE = 2048  # the server maximum
# Pages in flight at once: enough to hide network latency, no more than a browser opens to
# one host. On a real region the time is the server's, and its pages come one at a time.
DEFAULT_WORKERS = 8


class Page(NamedTuple):
    """One page: the answer's envelope (``total``, ``next_marker``…), the ids of its rows in
    order, and the rows in the caller's form (dicts, an Arrow page)."""

    envelope: Mapping[str, Any]
    ids: list[Any]
    rows: Any

    @property
    def count(self) -> int:
        return len(self.ids)


GetPage = Callable[[dict[str, Any]], "Page | Mapping[str, Any]"]


@dataclass
class FetchResult:
    """Every page of a list (``chunks``: the rows, duplicates and rows past the limit removed),
    with what happened while fetching it."""

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


def page_from_body(body: Mapping[str, Any], list_key: str) -> Page:
    """A decoded list answer as a :class:`Page` (its rows, under the plural or ``data``, as dicts).

    >>> page_from_body({"servers": [{"id": "a"}], "total": 1}, "servers")
    Page(envelope={'total': 1}, ids=['a'], rows=[{'id': 'a'}])
    """
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
    ids = [r.get("id") if isinstance(r, dict) else None for r in rows]
    envelope = {k: v for k, v in body.items() if k not in (list_key, "data")}
    return Page(envelope, ids, rows)


def _progress_bar(progress: bool | None, total: int | None, desc: str) -> Any:
    show = progress
    if show is None:  # automatic: in a notebook or a terminal
        show = "ipykernel" in sys.modules or getattr(sys.stderr, "isatty", lambda: False)()
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
    size = max(1, min(page_size, limit or page_size))
    paging = _Paging(get_page, list_key, dict(params), size, limit, max_workers, progress, on_error)
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
    """The pages' rows less those seen before (by id) or past ``limit``; dups; rows kept."""
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
    """The kept rows of a page, in the page's own form (a list of dicts, an Arrow page)."""
    if isinstance(rows, list):
        return [r for r, k in zip(rows, keep, strict=True) if k]
    return rows.filter(keep)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
