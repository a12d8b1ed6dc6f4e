"""What the server is asked for a list, and what cpexplore does itself with the rows.

A real region applies ``filter=`` and ``order_by=`` only to columns of the resource's table;
one on a joined field (``zone``, ``host``…) is silently ignored and every row comes back
(``cloudpods-api.md`` §9). So :func:`plan_for` sends table-column filters and sorts to the
server and applies the rest to the rows, then the row limit. Pure.

>>> from cpexplore.lists.request import list_request
>>> plan = plan_for(list_request("servers", region=None, interface="public", limit=3,
...                  filters=["zone.equals('zone-a')", "status.equals('running')"]))
>>> plan.query["filter"], [f.text for f in plan.local_filters], plan.server_limit
(["status.equals('running')"], ["zone.equals('zone-a')"], None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .filters import Filter
from .lean import lean_columns, lean_keys, lean_sources
from .request import ListRequest, asked_names


@dataclass(frozen=True)
class Plan:
    """How one list is carried out.

    ``query`` goes to the server; ``local_filters`` (ORed with ``filter_any``) and
    ``local_order`` are applied to the fetched rows, then ``local_limit``; ``page_columns``
    are the columns the pages must keep (``None``: all); ``sources`` are the small lists a
    lean list joins; ``check_fields`` are checked against the rows of a resource whose
    fields are not known in advance.
    """

    query: dict[str, Any]
    local_filters: tuple[Filter, ...] = ()
    filter_any: bool = False
    local_order: tuple[str, ...] = ()
    descending: bool = True
    server_limit: int | None = None
    local_limit: int | None = None
    page_columns: tuple[str, ...] | None = None
    sources: tuple[str, ...] = ()
    check_fields: tuple[tuple[str, str], ...] = ()


def plan_for(req: ListRequest) -> Plan:
    """Split ``req`` into the server's query and the work done on the fetched rows."""
    spec, details = req.spec, req.details
    query: dict[str, Any] = {"details": "true" if details is True else "false"}
    if req.scope:
        query["scope"] = req.scope
    local = _split_filters(req, query)
    if req.search:
        query["search"] = req.search
    local_order = _split_order(req, query)
    rebuilt = set(lean_columns(spec.name)) if details == "lean" else set()
    needed = [f.field for f in local] + list(local_order)
    if details == "lean":  # the keys a lean list joins on must come along
        needed += list(lean_keys(spec.name))
    field_list = list(req.fields)
    if req.columns is not None and not field_list:
        field_list = [c.split(".", 1)[0] for c in req.columns]
    if field_list:
        query["field"] = sorted((set(field_list) | {"id"} | set(needed)) - rebuilt)
    query.update({k: list(v) if isinstance(v, tuple) else v for k, v in req.params})

    is_local = bool(local or local_order)
    return Plan(
        query=query,
        local_filters=tuple(local),
        filter_any=req.filter_any,
        local_order=local_order,
        descending=req.order != "asc",
        server_limit=None if is_local else req.limit,
        local_limit=req.limit if is_local else None,
        page_columns=None if req.columns is None else tuple(dict.fromkeys([*req.columns, *needed])),
        sources=lean_sources(spec.name) if details == "lean" else (),
        check_fields=tuple(asked_names(req.filters, req.order_by, req.fields, req.columns)),
    )


def _split_filters(req: ListRequest, query: dict[str, Any]) -> list[Filter]:
    """Put the filters the server applies in ``query``; return those applied here (both
    for a resource whose table is not known: the server may or may not apply them)."""
    spec = req.spec
    server_side = [f for f in req.filters if spec.server_applies(f.field)]
    local = [f for f in req.filters if not spec.is_table_column(f.field)]
    if req.filter_any and any(f not in server_side for f in local):
        server_side, local = [], list(req.filters)  # an OR cannot be split
    if server_side:
        query["filter"] = [f.text for f in server_side]
        if req.filter_any:
            query["filter_any"] = "true"
    return local


def _split_order(req: ListRequest, query: dict[str, Any]) -> tuple[str, ...]:
    """Put the sort the server applies in ``query``; return the keys sorted here."""
    spec = req.spec
    server = all(spec.is_table_column(k) for k in req.order_by)  # True without order_by
    if req.order_by and (server or spec.table_columns is None):
        query["order_by"] = list(req.order_by)
    if server and req.order:
        query["order"] = req.order
    return () if server else req.order_by


__all__ = ["Plan", "plan_for"]
