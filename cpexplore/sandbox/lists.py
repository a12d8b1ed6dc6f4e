"""List and get semantics shared by every sandbox resource (spec §3, §8).

A query runs in two steps: :meth:`Lister.select` turns the parameters into an ordered
list of row indices (cached per query and inventory version, so paging through a large
result costs work proportional to the page), then :meth:`Lister.page` serialises one
slice into the real envelope.

>>> from cpexplore.sandbox.inventory import Inventory
>>> lister = Lister(Inventory(servers=3))
>>> lister.limit_of({"limit": ["0"]})
2048
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import Fault, forbidden
from .filters import FilterArgumentError, compile_filters, exact_predicate, search_predicate
from .inventory import Inventory, Table

MAX_LIMIT = 2048
MARKER_LIMIT = 20
SCOPES = {"none": 0, "user": 1, "project": 1, "domain": 2, "system": 3}
_SCOPE_NAMES = {0: "none", 1: "project", 2: "domain", 3: "system"}
_TRUE = {"true", "on", "yes", "1"}
_INDEXED = re.compile(r"\.\d+$")

# Filters by a related object that accept its id or its name (spec §3.1, ServerListInput).
_RELATED = {
    "host": ("host_id", "host"),
    "host_id": ("host_id", "host"),
    "zone": ("zone_id", "zone"),
    "zone_id": ("zone_id", "zone"),
    "cloudregion": ("cloudregion_id", "cloudregion"),
    "cloudregion_id": ("cloudregion_id", "cloudregion"),
    "region": ("cloudregion_id", "cloudregion"),
    "vpc": ("vpc_id", "vpc"),
    "vpc_id": ("vpc_id", "vpc"),
    "wire": ("wire_id", "wire"),
    "storage": ("storage_id", "storage"),
    "guest": ("guest_id", "guest"),
    "server": ("guest_id", "guest"),
}
_PLAIN = (
    "id",
    "name",
    "status",
    "hypervisor",
    "os_type",
    "provider",
    "brand",
    "cloud_env",
    "host_type",
    "host_status",
    "disk_type",
    "storage_type",
    "medium_type",
    "server_type",
    "instance_type",
    "billing_type",
    "obj_type",
    "action",
    "disk_format",
    "vcpu_count",
    "vmem_size",
    "enabled",
    "is_gpu",
    "is_public",
    "ip_addr",
    "access_ip",
    "interface",
    "service_id",
    "region_id",
    "type",
)
_OWNER_PARAMS = ("project", "tenant", "project_id", "tenant_id")
_CONTROL = {
    "limit",
    "offset",
    "details",
    "scope",
    "filter",
    "filter_any",
    "search",
    "order_by",
    "order",
    "field",
    "summary_stats",
    "with_meta",
    "paging_marker",
    "paging_order",
    "force_no_paging",
    "admin",
    "show_fail_reason",
    "pending_delete",
    "system",
    "show_emulated",
    "project_domain",
    "domain_id",
    "export_keys",
    "export_limit",
    *_OWNER_PARAMS,
}


@dataclass(frozen=True)
class Caller:
    """Who asks: the token's project (index) and domain, and the highest scope allowed."""

    allowed: int  # 0 none (no or bad token), 1 project, 3 system
    project: int | None = None
    domain_id: str | None = None


@dataclass(frozen=True)
class ResourceRule:
    """Which service a resource belongs to and how its owner is checked (spec §3.1, §8.2 D12)."""

    service: str
    default_scope: int  # scope used when the query gives none
    require: int  # lowest scope a caller needs to list it at all


def multi(params: Mapping[str, list[str]], key: str) -> list[str]:
    """All values of ``key``, whether repeated (``k=a&k=b``) or indexed (``k.0=a&k.1=b``)."""
    values = list(params.get(key, []))
    i = 0
    while f"{key}.{i}" in params:
        values.extend(params[f"{key}.{i}"])
        i += 1
    return values


def first(params: Mapping[str, list[str]], key: str) -> str | None:
    vals = multi(params, key)
    return vals[0] if vals else None


def truthy(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.strip().lower() in _TRUE


def clean(rec: dict) -> dict:
    """Drop empty strings and nulls, as the real services do (spec §8.2 D14)."""
    return {k: v for k, v in rec.items() if v is not None and v != ""}


def dumps(obj: object) -> str:
    """jsonutils-style JSON: sorted keys, no spaces, non-ASCII raw."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Lister:
    """List and get over an :class:`Inventory`, with a small cache of ordered results."""

    def __init__(
        self, inventory: Inventory, rules: Mapping[str, ResourceRule] | None = None
    ) -> None:
        self.inv = inventory
        self.rules = dict(rules or {})
        self._cache: OrderedDict[tuple, list[int]] = OrderedDict()
        self._json: dict[tuple[str, bool], dict[int, str]] = {}
        self._lock = threading.Lock()

    # -- parameters ----------------------------------------------------------------
    @staticmethod
    def limit_of(params: Mapping[str, list[str]], *, marker: bool = False) -> int:
        """``limit``: ≤ 0 or absent means the default; a non-integer is a 500 (spec §8.2 D5)."""
        raw = first(params, "limit")
        default = MARKER_LIMIT if marker else MAX_LIMIT
        if raw is None or raw == "":
            return default
        try:
            limit = int(raw)
        except ValueError:
            raise Fault(
                500, "UnclassifiedError", f'strconv.ParseInt: parsing "{raw}": invalid syntax'
            ) from None
        return default if limit <= 0 else limit

    @staticmethod
    def offset_of(params: Mapping[str, list[str]]) -> int:
        raw = first(params, "offset")
        if not raw:
            return 0
        try:
            return max(int(raw), 0)
        except ValueError:
            raise Fault(
                500, "UnclassifiedError", f'strconv.ParseInt: parsing "{raw}": invalid syntax'
            ) from None

    # -- access control ------------------------------------------------------------
    def query_scope(
        self, plural: str, params: Mapping[str, list[str]], caller: Caller
    ) -> int | None:
        """The scope the query runs at, or ``None`` for an unknown scope name (empty result, D9)."""
        rule = self.rules[plural]
        raw = (first(params, "scope") or "").strip().lower()
        if not raw and truthy(first(params, "admin")) and caller.allowed > SCOPES["project"]:
            raw = "max"
        if raw in ("max", "maxallowed"):
            scope = max(caller.allowed, rule.require) if caller.allowed else rule.default_scope
        elif raw:
            if raw not in SCOPES or raw == "none":
                if caller.allowed == 0:
                    self._refuse(plural, rule, caller, rule.default_scope)
                return None
            scope = max(SCOPES[raw], rule.require)
        else:
            scope = rule.default_scope
        if caller.allowed == 0 or scope > caller.allowed:
            self._refuse(plural, rule, caller, scope)
        return scope

    @staticmethod
    def _refuse(plural: str, rule: ResourceRule, caller: Caller, scope: int) -> None:
        name = _SCOPE_NAMES[scope]
        raise forbidden(
            "ListItems: listItemQueryFiltersRaw:",
            rule.service,
            plural,
            "list",
            name,
            _SCOPE_NAMES[caller.allowed],
            name,
        )

    def _owner_filter(
        self, table: Table, params: Mapping[str, list[str]], scope: int, caller: Caller
    ) -> Callable[[int], bool] | None:
        owner = table.owner
        wanted = next((v for k in _OWNER_PARAMS for v in multi(params, k)), None)
        if wanted is not None and owner is not None:
            try:
                p = self.inv.project_index(wanted)
            except KeyError:
                raise Fault(404, "ResourceNotFoundError", f"project {wanted} not found") from None
            if caller.allowed < SCOPES["domain"] and p != caller.project:
                raise forbidden(
                    "ListItems: listItemQueryFiltersRaw:",
                    self.rules[table.plural].service,
                    table.plural,
                    "list",
                    "system",
                    _SCOPE_NAMES[caller.allowed],
                    "project",
                )
            return lambda i: owner[i] == p
        if owner is None or table.owner_kind == "shared" or scope >= SCOPES["system"]:
            return None
        if scope == SCOPES["domain"]:
            projects = {
                i for i, pr in enumerate(self.inv.projects) if pr.domain_id == caller.domain_id
            }
            return lambda i: owner[i] in projects
        me = caller.project
        return lambda i: owner[i] == me

    # -- selection -------------------------------------------------------------------
    def select(
        self, table: Table, region: str, params: Mapping[str, list[str]], caller: Caller
    ) -> list[int] | None:
        """Ordered row indices matching the query, or ``None`` for an invalid scope (empty)."""
        scope = self.query_scope(table.plural, params, caller)
        if scope is None:
            return None
        key = (
            table.plural,
            table.version,
            region,
            scope,
            caller.project,
            caller.domain_id,
            tuple(
                sorted(
                    (k, tuple(v))
                    for k, v in params.items()
                    if k
                    not in (
                        "limit",
                        "offset",
                        "field",
                        "details",
                        "with_meta",
                        "summary_stats",
                        "paging_marker",
                        "scope",
                    )
                )
            ),
        )
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        rows = self._compute(table, region, params, scope, caller)
        with self._lock:
            self._cache[key] = rows
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return rows

    def _compute(
        self, table: Table, region: str, params: Mapping[str, list[str]], scope: int, caller: Caller
    ) -> list[int]:
        with table.lock:
            deleted = set(table.deleted)
            count = table.count
        reg = table.region
        rows = [i for i in range(count) if i not in deleted and (reg is None or reg[i] == region)]
        own = self._owner_filter(table, params, scope, caller)
        if own is not None:
            rows = [i for i in rows if own(i)]
        predicates = self._predicates(table, params)
        if predicates:
            build = table.record
            rows = [i for i in rows if all(p(rec) for rec in (build(i),) for p in predicates)]
        return self._order(table, rows, params)

    def _predicates(
        self, table: Table, params: Mapping[str, list[str]]
    ) -> list[Callable[[dict], bool]]:
        preds: list[Callable[[dict], bool]] = []
        bases = dict.fromkeys(_INDEXED.sub("", key) for key in params)
        for base in bases:
            if base in _CONTROL:
                continue
            values = multi(params, base)
            if base in _RELATED:
                id_field, name_field = _RELATED[base]
                wanted = set(values)
                preds.append(
                    lambda r, f=id_field, n=name_field, w=wanted: r.get(f) in w or r.get(n) in w
                )
            elif base in _PLAIN:
                preds.append(exact_predicate(base, values))
            elif base.startswith("@"):
                preds.append(exact_predicate(base[1:], values))
        filters = multi(params, "filter")
        if filters:
            known = frozenset(table.record(0)) if table.count else frozenset()
            try:
                preds.append(
                    compile_filters(
                        filters, filter_any=truthy(first(params, "filter_any")), known_fields=known
                    )
                )
            except FilterArgumentError as e:  # the real server panics and recovers with a 500
                raise Fault(500, "InternalServerError", f"Internal server error: {e}") from None
        search = first(params, "search")
        if search:
            preds.append(search_predicate(search, table.searchable))
        return preds

    @staticmethod
    def _order(table: Table, rows: list[int], params: Mapping[str, list[str]]) -> list[int]:
        """Default order: newest first by created_at, then name, then id (spec §3.1)."""
        desc = (first(params, "order") or first(params, "paging_order") or "desc").lower() != "asc"
        keys = [k for k in multi(params, "order_by") if k]
        if table.marker_paged:
            # log tables page by their integer id, DESC unless asked otherwise
            return sorted(rows, key=lambda i: table.record(i)["id"], reverse=desc)
        if not keys:
            created = table.created
            if all(
                created[a] < created[b] for a, b in zip(rows, rows[1:], strict=False)
            ) and not any("created_at" in p for p in table.patches.values()):
                return rows[::-1] if desc else rows
            keys = ["created_at", "name", "id"]
        recs = {i: table.record(i) for i in rows}

        def sort_key(i: int) -> tuple:
            rec = recs[i]
            return tuple(_sortable(rec.get(k)) for k in keys)

        return sorted(rows, key=sort_key, reverse=desc)

    # -- serialisation -------------------------------------------------------------------
    def serializer(self, table: Table, params: Mapping[str, list[str]]) -> Callable[[int], str]:
        """``row → JSON text`` as the service writes records, honouring details, field, with_meta.

        The options are read once per page, and plain records are cached as text, so a
        page of 2048 cached records costs little more than joining their strings.
        """
        details = truthy(first(params, "details"), default=True)
        fields = {f for f in multi(params, "field") if f}
        with_meta = truthy(first(params, "with_meta"))
        plain = not fields and not with_meta
        cache = self._json.setdefault((table.plural, details), {}) if plain else {}
        patches = table.patches
        hidden = table.detail_fields

        def build(i: int) -> str:
            rec = clean(table.record(i))
            if not details:
                rec = {k: v for k, v in rec.items() if k not in hidden}
            if with_meta:
                rec["metadata"] = table.metadata(i)
            if fields:
                rec = {k: v for k, v in rec.items() if k in fields}
            text = dumps(rec)
            if plain and i not in patches:
                cache[i] = text
            return text

        def one(i: int) -> str:
            hit = cache.get(i)
            return hit if hit is not None and i not in patches else build(i)

        return one

    def page(self, table: Table, rows: list[int] | None, params: Mapping[str, list[str]]) -> bytes:
        """The list envelope of spec §3.2 with the §8.2 corrections (D4, D5)."""
        if table.marker_paged:
            return self._marker_page(table, rows or [], params)
        if rows is None:
            return f'{{"{table.plural}":[]}}'.encode()
        total = len(rows)
        no_paging = truthy(first(params, "force_no_paging"))
        limit = self.limit_of(params)
        offset = self.offset_of(params)
        if no_paging:
            chosen = rows[offset:]
        else:
            if total > MAX_LIMIT and limit > MAX_LIMIT:
                limit = MAX_LIMIT
            chosen = rows[offset : offset + limit]
        one = self.serializer(table, params)
        body = "[" + ",".join([one(i) for i in chosen]) + "]"
        env: dict[str, str] = {table.plural: body}
        if table.always_counts:
            env.update(total=str(total), limit=str(limit), offset=str(offset))
        elif total > 0:
            env["total"] = str(total)
            if not no_paging:
                env["limit"] = str(limit)
            if offset > 0:
                env["offset"] = str(offset)
        if truthy(first(params, "summary_stats")) and total:
            env["totals"] = dumps(self._totals(table, rows))
        return _envelope(env)

    def _marker_page(self, table: Table, rows: list[int], params: Mapping[str, list[str]]) -> bytes:
        limit = min(self.limit_of(params, marker=True), MAX_LIMIT)
        desc = (first(params, "paging_order") or first(params, "order") or "desc").lower() != "asc"
        marker = first(params, "paging_marker")
        if marker:
            try:
                m = int(marker)
            except ValueError:
                raise Fault(400, "InputParameterError", f"invalid paging_marker {marker}") from None
            rows = [
                i
                for i in rows
                if (table.record(i)["id"] <= m if desc else table.record(i)["id"] >= m)
            ]
        chosen, rest = rows[:limit], rows[limit:]
        env = {
            table.plural: "[" + ",".join(map(self.serializer(table, params), chosen)) + "]",
            "limit": str(limit),
            "marker_field": '"id"',
            "marker_order": '"DESC"' if desc else '"ASC"',
        }
        if rest:
            env["next_marker"] = dumps(str(table.record(rest[0])["id"]))
        return _envelope(env)

    @staticmethod
    def _totals(table: Table, rows: list[int]) -> dict:
        by_status: dict[str, int] = {}
        for i in rows:
            st = table.record(i).get("status", "")
            by_status[st] = by_status.get(st, 0) + 1
        return {"count": len(rows), "status": dict(sorted(by_status.items()))}

    def get(
        self, table: Table, region: str, key: str, params: Mapping[str, list[str]], caller: Caller
    ) -> bytes:
        """``GET /<plural>/<id-or-name>`` → ``{"<keyword>": {...}}``; 404 before RBAC (D15)."""
        i = table.find(key)
        if i is None or (table.region is not None and table.region[i] != region):
            raise Fault(404, "ResourceNotFoundError", f"{table.keyword} {key} not found")
        rule = self.rules[table.plural]
        if caller.allowed == 0:
            raise forbidden("fetchItem:", rule.service, table.plural, "get", "none", "none", "none")
        own = self._owner_filter(table, {}, max(caller.allowed, rule.require), caller)
        if caller.allowed < rule.require or (own is not None and not own(i)):
            raise forbidden(
                "fetchItem:",
                rule.service,
                table.plural,
                "get",
                _SCOPE_NAMES[rule.default_scope],
                _SCOPE_NAMES[caller.allowed],
                _SCOPE_NAMES[rule.default_scope],
            )
        return f'{{"{table.keyword}":{self.serializer(table, params)(i)}}}'.encode()


def _envelope(parts: dict[str, str]) -> bytes:
    """Join pre-serialised values into an object with sorted keys, like jsonutils."""
    return ("{" + ",".join(f'"{k}":{parts[k]}' for k in sorted(parts)) + "}").encode()


def _sortable(value: object) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    return (2, 0, str(value).lower())
