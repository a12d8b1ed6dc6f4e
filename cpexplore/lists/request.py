"""One list, asked: every keyword of ``Session.list`` checked once, before any request.

:func:`list_request` gives a frozen :class:`ListRequest`, or a ``ConfigError`` naming what is
wrong and what exists. The request is also the cache key (:attr:`ListRequest.key`).

>>> req = list_request("servers", region="region0", interface="public",
...                    filters="zone.equals('zone-a')", limit=3)
>>> req.spec.name, req.limit, [f.text for f in req.filters]
('servers', 3, ["zone.equals('zone-a')"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from numbers import Integral
from typing import Any

from ..errors import ConfigError, UnknownField, did_you_mean
from ..resources import ResourceSpec, resource_spec
from .filters import Filter, as_list, check_value, parse_filter
from .lean import LEAN_JOINS, lean_columns, lean_sources
from .pages import DEFAULT_WORKERS, PAGE_SIZE

# rbacscope's scopes and "max", the widest the token allows ("user": cloudpods-api.md §10)
SCOPES = ("project", "domain", "system", "max")


@dataclass(frozen=True)
class ListRequest:
    """What one list asks for, checked. Fields marked ``key=False`` say how to fetch, not
    what: they are left out of :attr:`key`."""

    spec: ResourceSpec
    region: str | None  # the catalog region (None: the first that has the service)
    interface: str
    scope: str | None = None
    details: bool | str = True  # True, False or "lean", after the bare-columns rule
    filters: tuple[Filter, ...] = ()
    filter_any: bool = False
    search: str | None = None
    order_by: tuple[str, ...] = ()
    order: str | None = None
    fields: tuple[str, ...] = ()
    limit: int | None = None
    columns: tuple[str, ...] | None = None
    params: tuple[tuple[str, Any], ...] = ()  # the resource's own, then raw ones, encoded
    page_size: int = field(default=PAGE_SIZE, metadata={"key": False})
    max_workers: int = field(default=DEFAULT_WORKERS, metadata={"key": False})
    progress: bool | None = field(default=None, metadata={"key": False})
    on_error: str = field(default="raise", metadata={"key": False})

    @property
    def key(self) -> tuple:
        """Everything that decides the rows (the cache key): the service and path rather
        than the name, since a custom resource may share a name."""
        parts = [
            (f.name, getattr(self, f.name)) for f in fields(self) if f.metadata.get("key", True)
        ]
        return (self.spec.service_type, self.spec.path, *parts[1:])


def list_request(
    resource: str | ResourceSpec,
    *,
    region: str | None,
    interface: str,
    scope: str | None = None,
    details: bool | str = True,
    filters: str | Iterable[str] | None = None,
    filter_any: bool = False,
    search: str | None = None,
    order_by: str | Iterable[str] | None = None,
    order: str | None = None,
    fields: str | Iterable[str] | None = None,
    limit: int | None = None,
    columns: Iterable[str] | None = None,
    params: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    page_size: int = PAGE_SIZE,
    max_workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    on_error: str = "raise",
) -> ListRequest:
    """Check every keyword of a list and return the :class:`ListRequest` (``ConfigError``
    naming the first mistake). ``query`` holds the resource's own query parameters
    (``zone=``, ``host=``…, checked), ``params`` anything sent unchecked."""
    spec = resource_spec(resource)
    wanted = _names(columns, "columns") if columns is not None else None
    parsed = tuple(parse_filter(f) for f in as_list(filters))
    keys = tuple(as_list(order_by))
    field_list = tuple(as_list(fields))
    encoded = encode_query(spec, query, params)
    for flt in parsed:
        check_value(flt, spec.kind_of(flt.field), f"the field {flt.field!r} of {spec.name}")
    if spec.table_columns is not None:  # the fields are known: a typo costs no request
        check_names(spec, asked_names(parsed, keys, field_list, wanted), set(spec.known_fields))
    details = _check_details(spec, details, wanted, parsed, keys, field_list)
    return ListRequest(
        spec=spec,
        region=region,
        interface=interface,
        scope=check_scope(scope),
        details=details,
        filters=parsed,
        filter_any=_boolean(filter_any, "filter_any"),
        search=search or None,
        order_by=keys,
        order=_check_order(order),
        fields=field_list,
        limit=_count(limit, "limit", "rows", none_ok=True),
        columns=wanted,
        params=tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in encoded),
        page_size=_count(page_size, "page_size", "rows a page"),
        max_workers=_count(max_workers, "max_workers", "pages at once"),
        progress=progress,
        on_error=_check_on_error(on_error),
    )


def check_scope(scope: str | None) -> str | None:
    """The scope in the server's spelling, or ``ConfigError`` for one the server does not know.

    >>> check_scope("SYSTEM")
    'system'
    """
    if scope is None:
        return None
    name = str(scope).strip().lower()
    if name == "user":
        raise ConfigError(
            "scope 'user' does not narrow a list: a real region answers it with every row, "
            "to any caller",
            hint="use scope='project' for your project's rows, or scope='max' for all you may see",
        )
    if name not in SCOPES:
        raise ConfigError(
            f"unknown scope {scope!r}",
            hint=f"{did_you_mean(name, SCOPES)}use one of {', '.join(SCOPES)}",
        )
    return name


def check_names(spec: ResourceSpec, names: Iterable[tuple[str, str]], known: set[str]) -> None:
    """``UnknownField`` for the first ``(what, name)`` that ``known`` lacks."""
    for what, name in names:
        if name not in known:
            raise UnknownField(
                f"{spec.name} have no field {name!r} (asked as {what})",
                hint=f"{did_you_mean(name, sorted(known))}list the fields with "
                f"session.list({spec.name!r}, limit=1).columns",
            )


def encode_param(value: Any) -> Any:
    """A query value as the server reads it: booleans as ``true``/``false``, lists repeated.

    >>> encode_param(True), encode_param(("a", 1))
    ('true', ['a', 1])
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return [encode_param(v) for v in value]
    return value


def encode_query(
    spec: ResourceSpec, query: Mapping[str, Any] | None, params: Mapping[str, Any] | None
) -> list[tuple[str, Any]]:
    """The resource's own ``query`` parameters (checked), then raw ``params``, encoded."""
    pairs = []
    for name, value in (query or {}).items():
        if value is not None:
            spec.check_param(name)
            pairs.append((name, encode_param(value)))
    return pairs + [(str(k), encode_param(v)) for k, v in (params or {}).items() if v is not None]


def asked_names(
    filters: tuple[Filter, ...],
    keys: tuple[str, ...],
    field_list: tuple[str, ...],
    columns: tuple[str, ...] | None,
) -> list[tuple[str, str]]:
    """Every field the request names, as ``(how it was asked, name)``, once each."""
    named = [("filter field", f.field) for f in filters]
    named += [("order_by field", k) for k in keys] + [("field", f) for f in field_list]
    named += [("column", c.split(".", 1)[0]) for c in columns or ()]
    return list(dict.fromkeys(named))


def _check_details(
    spec: ResourceSpec,
    details: bool | str,
    columns: tuple[str, ...] | None,
    filters: tuple[Filter, ...],
    keys: tuple[str, ...],
    field_list: tuple[str, ...],
) -> bool | str:
    """``details`` checked; ``False`` when only table columns are asked for (no joins)."""
    if details not in (True, False, "lean"):
        raise ConfigError(
            f"details must be True, False or 'lean', not {details!r}",
            hint="'lean' fetches bare rows and rebuilds host, zone, region and project names",
        )
    if details == "lean" and not lean_sources(spec.name):
        offered = ", ".join(sorted(LEAN_JOINS))
        raise ConfigError(
            f"details='lean' is not offered for {spec.name}", hint=f"it is for {offered}"
        )
    if details is not True:  # a joined field needs the details that bring it
        rebuilt = set(lean_columns(spec.name)) if details == "lean" else set()
        joined = spec.detail_fields - rebuilt
        for flt in filters:
            if flt.field in joined and not spec.is_table_column(flt.field):
                raise ConfigError(
                    f"the filter {flt.text!r} is on {flt.field!r}, which only details=True brings",
                    hint=f"leave details on{spec.param_hint(flt.field)}",
                )
        if any(k in joined for k in keys):
            raise ConfigError(
                f"order_by {list(keys)} names a field only details=True brings",
                hint="leave details on to sort by it",
            )
    if details is True and columns and not field_list:
        named = [c.split(".", 1)[0] for c in columns] + [f.field for f in filters] + list(keys)
        if all(spec.is_table_column(c) for c in named):
            return False
    return details


def _check_order(order: str | None) -> str | None:
    if order is None:
        return None
    word = str(order).strip().lower()
    if word not in ("asc", "desc"):
        raise ConfigError(f"order must be 'asc' or 'desc', not {order!r}")
    return word


def _check_on_error(on_error: str) -> str:
    if on_error not in ("raise", "partial"):
        raise ConfigError(
            f"on_error must be 'raise' or 'partial', not {on_error!r}",
            hint="'partial' keeps the pages that arrived when others fail",
        )
    return on_error


def _count(value: Any, name: str, what: str, *, none_ok: bool = False) -> Any:
    """A positive whole number of ``what`` (``None`` allowed with ``none_ok``)."""
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ConfigError(
            f"{name} must be a positive whole number of {what}, not {value!r}",
            hint="leave it out to fetch every row" if name == "limit" else f"e.g. {name}=8",
        )
    return int(value)


def _boolean(value: Any, name: str) -> bool:
    if value not in (True, False):
        raise ConfigError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigError(f"{what} takes a list of names, not the string {values!r}")
    names = tuple(str(v) for v in values)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{what} names {', '.join(map(repr, twice))} more than once")
    return names


__all__ = ["SCOPES", "ListRequest", "list_request", "check_scope", "check_names", "encode_param"]
