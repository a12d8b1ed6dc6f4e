"""Carry out one list on an endpoint: the cache, every page, the lean joins, the local work.

    request → plan → pages (concurrent) → frame → lean joins → local filters, sorts, limit → ListInfo

The endpoint only has to ``get(path, params) -> bytes`` (a fake in tests); the small lists a
lean list joins are runs of their own, on the endpoints ``source`` gives by service type.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

import pandas as pd

from ..errors import CachedResultWarning, ConfigError, CpExploreError, PartialResultWarning
from ..resources import resource_spec
from ..signing import join_url
from .cache import ListCache
from .decode import page_fields, pages_to_frame, read_page
from .dtypes import with_schema
from .filters import apply_filters, sort_frame
from .info import ListInfo, duration, list_info, now_utc, with_info
from .lean import join_lean, lean_columns
from .pages import fetch_all
from .plan import Plan, plan_for
from .request import ListRequest, check_names, list_request

log = logging.getLogger("cpexplore.lists")


class Endpoint(Protocol):
    """One service at one catalog region and interface, that can GET a path."""

    service_type: str
    region: str | None
    interface: str
    url: str

    def get(self, path: str, params: list[tuple[str, Any]] | None = None) -> bytes: ...


def run_list(
    request: ListRequest,
    endpoint: Endpoint,
    *,
    cache: ListCache,
    source: Callable[[str], Endpoint],
    refresh: bool = False,
    origin: str | None = None,
) -> tuple[pd.DataFrame, bool]:
    """The rows of ``request`` from ``endpoint`` and whether they came from ``cache``.

    ``source(service_type)`` gives the endpoint of a small list a lean list joins;
    ``origin`` names the cloud in the frame's :class:`~cpexplore.lists.info.ListInfo`.
    """
    if not refresh:
        hit = cache.get(request)
        if hit is not None:
            return hit[0], True
    plan = plan_for(request)
    spec = request.spec
    fields: set[str] = set()  # the fields the records had, from the threads that fetch
    lock = threading.Lock()

    def page(params: Mapping[str, Any]) -> Any:
        got = read_page(endpoint.get(spec.path, _encode(params)), spec.list_key, plan.page_columns)
        with lock:
            fields.update(page_fields(got))
        return got

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="cpexplore-lean") as pool:
        small = {
            name: pool.submit(_small_list, name, request, source, cache, refresh)
            for name in plan.sources
        }
        result = fetch_all(
            page,
            spec.list_key,
            plan.query,
            marker_paged=spec.marker_paged,
            limit=plan.server_limit,
            page_size=request.page_size,
            max_workers=request.max_workers,
            progress=request.progress,
            on_error=request.on_error,
        )
        joined = {name: future.result() for name, future in small.items()}
    fetched_at = now_utc()
    frame = pages_to_frame(result.chunks, columns=plan.page_columns)
    if plan.sources:
        frame = join_lean(spec.name, frame, joined)
        fields.update(lean_columns(spec.name))
    if spec.table_columns is None and (spec.known_fields or fields):
        # fields not known in advance (a custom resource): checked against the rows
        bases = {c.split(".", 1)[0] for c in fields}
        check_names(spec, plan.check_fields, set(spec.known_fields) | bases)
    frame = _local(frame, request, plan)
    info = ListInfo(
        resource=spec.name,
        region=endpoint.region,
        interface=endpoint.interface,
        url=join_url(endpoint.url, spec.path),
        fetched_at=fetched_at,
        params=plan.query,
        scope=plan.query.get("scope"),
        details=request.details,
        source=origin,
        total=result.total,
        rows=len(frame),
        pages=result.pages,
        failed_pages=tuple(result.failed_pages),
        drift=result.drift,
        duplicates_dropped=result.duplicates,
        elapsed_s=round(result.elapsed, 3),
        filtered_here=tuple(f.text for f in plan.local_filters),
        sorted_here=plan.local_order,
    )
    with_info(frame, info)
    if result.failed_pages:
        warnings.warn(
            f"{spec.name}: {len(result.failed_pages)} page(s) failed, so the frame is "
            f"incomplete ({len(frame)} rows); list_info(df).failed_pages says which",
            PartialResultWarning,
            stacklevel=4,
        )
    else:  # a partial result is never kept
        cache.put(request, frame, fetched_at)
    return frame, False


def _local(frame: pd.DataFrame, request: ListRequest, plan: Plan) -> pd.DataFrame:
    """Local filters, sorts and limit, then the columns asked for (or the known fields)."""
    spec = request.spec
    if plan.local_filters:
        frame = apply_filters(frame, plan.local_filters, any_=plan.filter_any)
    if plan.local_order:
        frame = sort_frame(frame, plan.local_order, descending=plan.descending)
    if plan.local_limit is not None:
        frame = frame.head(plan.local_limit).reset_index(drop=True)
    if request.columns is not None:
        return frame[list(request.columns)]
    if request.fields:
        return frame
    lean = lean_columns(spec.name) if request.details == "lean" else ()
    frame = with_schema(frame, spec.schema_fields(request.details is True) + lean)
    first = [c for c in spec.key_columns if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in set(first)]]


def _small_list(
    name: str,
    request: ListRequest,
    source: Callable[[str], Endpoint],
    cache: ListCache,
    refresh: bool,
) -> pd.DataFrame:
    """A small list a lean list joins (hosts, projects, domains): a run of its own."""
    spec = resource_spec(name)
    small = list_request(
        spec, region=request.region, interface=request.interface, scope="max", progress=False
    )
    try:
        endpoint = source(spec.service_type)
        frame, _ = run_list(small, endpoint, cache=cache, source=source, refresh=refresh)
    except CpExploreError as e:
        raise ConfigError(
            f"details='lean' needs to list {name}, and that failed: {e.message}",
            hint="use details=True, which has the server join them",
        ) from e
    return frame


def mark_cached(frame: pd.DataFrame, *, warn: bool = True) -> pd.DataFrame:
    """Say, where the user looks, that ``frame`` comes from the cache and how old it is."""
    info = list_info(frame)
    note = (
        f"{info.resource}: from the cache, fetched {duration(info.age_s)} ago "
        f"({info.fetched_at:%H:%M:%S} UTC); refresh=True fetches anew"
    )
    log.info(note)
    if warn:
        warnings.warn(note, CachedResultWarning, stacklevel=3)
    return with_info(frame, replace(info, from_cache=True))


def _encode(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Query parameters as pairs, a list value repeated (``filter=a&filter=b``)."""
    return [(k, x) for k, v in params.items() for x in (v if isinstance(v, list | tuple) else [v])]


__all__ = ["Endpoint", "run_list", "mark_cached"]
