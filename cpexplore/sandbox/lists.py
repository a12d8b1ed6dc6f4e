"""List and get semantics shared by every sandbox resource (cloudpods-api.md §3, §8, §9).

A query runs in two steps: :meth:`Lister.select` turns the parameters into an ordered
list of row indices (cached per query and inventory version, so paging through a large
result costs work proportional to the page), then :meth:`Lister.page` serialises one
slice into the real envelope.

What the real region does with a query, and so the sandbox (cloudpods-api.md §9):

* ``filter=`` acts on the **columns of the resource's table** only; a filter on a joined
  field (``zone``, ``host``, ``tenant``…), an unknown field or op or a malformed expression
  is ignored: the list is not narrowed; a value the column cannot hold is its zero value
  (``vcpu_count.ge(abc)`` is ``>= 0``);
* the parameter forms ``zone=``, ``host=``, ``cloudregion=``, ``project=``… filter, by id or
  name, and an unknown name in them is a 404;
* ``order_by=`` on a column sorts; on anything else it is ignored and the default key
  (``created_at``) is used, in the ``order`` given (an unknown order word is ``desc``);
* ``details=false`` returns the table columns only; ``metadata`` comes with details.

>>> from cpexplore.sandbox.inventory import Inventory
>>> lister = Lister(Inventory(servers=3))
>>> lister.limit_of({"limit": ["0"]})
2048
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import Fault, forbidden, wrapped, wrapped_fault
from .filters import (
    Clause,
    FilterArgumentError,
    FilterSyntaxError,
    JointClause,
    compile_clause,
    compile_filters,
    exact_predicate,
    parse_filter,
    parse_joint_filter,
    search_predicate,
)
from .inventory import Inventory, Table

MAX_LIMIT = 2048
MARKER_LIMIT = 20
SCOPES = {"none": 0, "user": 1, "project": 1, "domain": 2, "system": 3}
_SCOPE_NAMES = {0: "none", 1: "project", 2: "domain", 3: "system"}
_TRUE = {"true", "on", "yes", "1"}
_INDEXED = re.compile(r"\.\d+$")

# Query parameters that filter by a related object, given by id or name (ServerListInput and
# friends): parameter → (related table, keyword, the record field holding the related id).
_RELATED = {
    "host": ("hosts", "host", "host_id"),
    "host_id": ("hosts", "host", "host_id"),
    "zone": ("zones", "zone", "zone_id"),
    "zone_id": ("zones", "zone", "zone_id"),
    "cloudregion": ("cloudregions", "cloudregion", "cloudregion_id"),
    "cloudregion_id": ("cloudregions", "cloudregion", "cloudregion_id"),
    "region": ("cloudregions", "cloudregion", "cloudregion_id"),
    "vpc": ("vpcs", "vpc", "vpc_id"),
    "vpc_id": ("vpcs", "vpc", "vpc_id"),
    "wire": ("wires", "wire", "wire_id"),
    "storage": ("storages", "storage", "storage_id"),
    "guest": ("servers", "server", "guest_id"),
    "server": ("servers", "server", "guest_id"),
}
# How the real region words an unknown related object (the Go error chain, hostresource.go,
# zoneresource.go, cloudregionresource.go, managedresource.go).
_NOT_FOUND_CHAIN = {
    "host": "ValidateHostResourceInput",
    "zone": "SZoneResourceBaseManager.ListItemFilter: managedResourceFilterByZone: "
    "ValidateZoneResourceInput",
    "cloudregion": "SZoneResourceBaseManager.ListItemFilter: "
    "SCloudregionResourceBaseManager.ListItemFilter: ValidateCloudregionResourceInput",
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
_SCALARS = ("limit", "offset")  # a scalar given twice is the real "unmarshal type mismatch"
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
RowTest = Callable[[int], bool]
_NOT_IN_QUERY_KEY = {"limit", "offset", "field", "details", "with_meta", "summary_stats"}
_DEFAULT_ORDER = ("created_at", "name", "id")
_PRIVILEGE_TAGS = "[tags:[allow] domain:[] project:[] object:[]]"
_NIL_FIELD = (
    "Internal server error: runtime error: invalid memory address or nil pointer dereference"
)


@dataclass(frozen=True)
class Caller:
    """Who asks: the token's project (index) and domain, and the highest scope allowed."""

    allowed: int  # 0 none (no or bad token), 1 project, 3 system
    project: int | None = None
    domain_id: str | None = None


@dataclass(frozen=True)
class ResourceRule:
    """Which service a resource belongs to and how its owner is checked (cloudpods-api.md §3.1, §8.2 D12)."""

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
    """Drop empty strings and nulls, as the real services do (cloudpods-api.md §8.2 D14)."""
    return {k: v for k, v in rec.items() if v is not None and v != ""}


def dumps(obj: object) -> str:
    """jsonutils-style JSON: sorted keys, no spaces, non-ASCII raw."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _input_type(plural: str) -> str:
    """The Go input struct a list query is unmarshalled into (``ServerListInput``…)."""
    word = {"servers": "server", "isolated_devices": "isolated_device"}.get(plural, plural[:-1])
    return "".join(part.capitalize() for part in word.split("_")) + "ListInput"


def _unmarshal_error(
    plural: str, params: Mapping[str, list[str]], key: str, error_class: str, tail: str
) -> Fault:
    """500 for a query the region cannot unmarshal (``limit=abc``, ``limit=5&limit=10``)."""
    query = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
    value = query.get(key)
    message = (
        f"unable to convert '{dumps(query)}' to Type \"{_input_type(plural)}\": "
        f"jo.unmarshalValue: setStructFieldAt {key}: {dumps(value)}: "
        f"JSONDict.unmarshalStruct: {tail}"
    )
    prefix = "ListItems: listItemQueryFiltersRaw: ListItemFilter:"
    return wrapped_fault(prefix, 500, error_class, "%s", [message])


class Lister:
    """List and get over an :class:`Inventory`, with a small cache of ordered results.

    ``row_cost`` and ``details_row_cost`` are seconds of server time per row of a list page
    (``details=false`` and the default ``details=true``), whatever ``field=`` keeps. At most
    ``server_cores`` pages spend theirs at once, as on the real 2-core region, where four
    concurrent pages finished 1.5–2.1× sooner than one after another (cloudpods-api.md §10).
    ``spending``, ``waiting`` and ``peak_spending`` count pages; ``sleep`` spends the time.
    """

    def __init__(
        self,
        inventory: Inventory,
        rules: Mapping[str, ResourceRule] | None = None,
        *,
        row_cost: float = 0.0,
        details_row_cost: float = 0.0,
        server_cores: int = 2,
    ) -> None:
        self.inv = inventory
        self.rules = dict(rules or {})
        self.row_cost = float(row_cost)
        self.details_row_cost = float(details_row_cost)
        self._cache: OrderedDict[tuple, list[int]] = OrderedDict()
        self._json: dict[tuple[str, bool], tuple[tuple, dict[int, str]]] = {}
        self._lock = threading.Lock()
        self._cores = threading.Condition()
        self._server_cores = max(int(server_cores), 1)
        self.spending = self.waiting = self.peak_spending = 0
        self.sleep: Callable[[float], None] = time.sleep

    @property
    def server_cores(self) -> int:
        """How many pages may spend their row cost at once (at least 1)."""
        return self._server_cores

    @server_cores.setter
    def server_cores(self, cores: int) -> None:
        with self._cores:
            self._server_cores = max(int(cores), 1)
            self._cores.notify_all()

    # -- parameters ----------------------------------------------------------------
    @staticmethod
    def limit_of(
        params: Mapping[str, list[str]], *, marker: bool = False, plural: str = "servers"
    ) -> int:
        """``limit``: ≤ 0 or absent means the default; a non-integer is a 500 (cloudpods-api.md §8.2 D5)."""
        raw = Lister._scalar(params, "limit", plural)
        default = MARKER_LIMIT if marker else MAX_LIMIT
        if raw is None or raw == "":
            return default
        try:
            limit = int(raw)
        except ValueError:
            raise _unmarshal_error(
                plural,
                params,
                "limit",
                "UnclassifiedError",
                f'strconv.ParseInt: parsing "{raw}": invalid syntax',
            ) from None
        return default if limit <= 0 else limit

    @staticmethod
    def offset_of(params: Mapping[str, list[str]], plural: str = "servers") -> int:
        raw = Lister._scalar(params, "offset", plural)
        if not raw:
            return 0
        try:
            return max(int(raw), 0)
        except ValueError:
            raise _unmarshal_error(
                plural,
                params,
                "offset",
                "UnclassifiedError",
                f'strconv.ParseInt: parsing "{raw}": invalid syntax',
            ) from None

    @staticmethod
    def _scalar(params: Mapping[str, list[str]], key: str, plural: str) -> str | None:
        values = params.get(key)
        if values is not None and len(values) > 1:
            raise _unmarshal_error(
                plural, params, key, "unmarshal type mismatch", "unmarshal type mismatch"
            )
        return first(params, key)

    # -- access control ------------------------------------------------------------
    def query_scope(
        self, plural: str, params: Mapping[str, list[str]], caller: Caller
    ) -> int | None:
        """The scope the query runs at, or ``None`` for an empty answer.

        A scope word the region does not know (``scope=sytem``, ``Max``) counts as no scope,
        the resource's own (cloudpods-api.md §9, §10); keystone answered an empty list for one
        (D9). Upper case works for the rbac words (``SYSTEM``). On compute resources a project
        member may ask for ``scope=project`` (or ``max``) on domain resources such as hosts,
        and ``scope=user`` gives anyone every row (§10).
        """
        rule = self.rules[plural]
        identity = rule.service == "identity"
        given = (first(params, "scope") or "").strip()
        # rbac scope words compare without regard to case (SYSTEM works), "max" does not
        # (Max is an unknown word: the resource's own scope), cloudpods-api.md §10
        raw = given.lower()
        if raw in ("max", "maxallowed") and given != raw:
            raw = "unknown"
        if not raw and truthy(first(params, "admin")) and caller.allowed > SCOPES["project"]:
            raw = "max"
        if raw == "user" and not identity and caller.allowed:
            # a real region applies no owner filter for scope=user on these resources: any
            # caller, even a member, gets every row (cloudpods-api.md §10)
            return SCOPES["system"]
        if raw in ("max", "maxallowed"):
            if not caller.allowed:
                scope = rule.default_scope
            else:
                scope = max(caller.allowed, rule.require) if identity else caller.allowed
        elif raw in SCOPES and raw != "none":
            scope = max(SCOPES[raw], rule.require) if identity else SCOPES[raw]
        elif raw and identity:
            if caller.allowed == 0:
                self._refuse(plural, rule, caller, rule.default_scope)
            return None
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
                raise _project_not_found(wanted) from None
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
        """Ordered row indices matching the query, or ``None`` for an empty answer."""
        scope = self.query_scope(table.plural, params, caller)
        if scope is None:
            return None
        for key in _SCALARS:  # a malformed limit or offset fails before any work
            self._scalar(params, key, table.plural)
        key = (
            table.plural,
            table.stamp(),
            region,
            scope,
            caller.allowed,
            caller.project,
            caller.domain_id,
            tuple(sorted((k, tuple(v)) for k, v in params.items() if k not in _NOT_IN_QUERY_KEY)),
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
        raw = self._raw(params, caller)
        with table.lock:
            deleted = set() if raw else set(table.deleted)
            count = table.count
        reg = table.region
        rows = [i for i in range(count) if i not in deleted and (reg is None or reg[i] == region)]
        own = self._owner_filter(table, params, scope, caller)  # checks project= even when raw
        if not raw:
            rows = self._visible(table, rows, params, own)
        on_columns, on_records, needed = self._predicates(table, region, params)
        if on_columns:
            build = self._slim_record(table, needed)
            rows = [i for i in rows if all(p(rec) for rec in (build(i),) for p in on_columns)]
        if on_records:
            build = table.record
            rows = [i for i in rows if all(p(rec) for rec in (build(i),) for p in on_records)]
        return self._order(table, rows, params)

    @staticmethod
    def _raw(params: Mapping[str, list[str]], caller: Caller) -> bool:
        """``delete=all`` (exactly, lower case) from a caller allowed the system scope: a raw
        query (fetch.go ``isRawQuery``) that lists deleted rows too and skips the owner,
        pending-delete and system filters, whatever ``scope`` says (cloudpods-api.md §10).
        Anyone else's ``delete=all`` is ignored."""
        return params.get("delete") == ["all"] and caller.allowed >= SCOPES["system"]

    def _visible(
        self, table: Table, rows: list[int], params: Mapping[str, list[str]], own: RowTest | None
    ) -> list[int]:
        """The filters a raw query skips: pending deletes, system rows and the owner."""
        pending = self._pending_rows(table)
        if pending:
            wanted = (first(params, "pending_delete") or "").strip().lower()
            if wanted == "true":  # only the pending-deleted rows
                rows = [i for i in rows if i in pending]
            elif wanted in ("", "false"):  # the default: they are hidden
                rows = [i for i in rows if i not in pending]
        if table.system_row is not None and not truthy(first(params, "system")):
            hidden = table.system_row
            rows = [i for i in rows if not hidden(i)]
        return rows if own is None else [i for i in rows if own(i)]

    @staticmethod
    def _pending_rows(table: Table) -> set[int]:
        """Rows marked ``pending_deleted`` (only patched or created rows can be)."""
        with table.lock:
            return {i for i, p in table.patches.items() if p.get("pending_deleted")}

    @staticmethod
    def _slim_record(table: Table, needed: set[str] | None) -> Callable[[int], dict]:
        """``row → dict`` with the columns the predicates read: only those fields when the
        table has fast getters for all of them, else the row's columns."""
        if needed is None:
            return table.column_record
        getters = [(name, *table.getter(name)) for name in sorted(needed)]
        if not all(native for _n, _g, native in getters):
            return table.column_record
        pairs = [(name, get) for name, get, _native in getters]
        return lambda i: {name: get(i) for name, get in pairs}

    def _predicates(
        self, table: Table, region: str, params: Mapping[str, list[str]]
    ) -> tuple[list[Callable[[dict], bool]], list[Callable[[dict], bool]], set[str] | None]:
        """Predicates over the table columns and over full records (joined fields), and the
        columns the first ones read (``None``: not known)."""
        columns = table.column_names()
        on_columns: list[Callable[[dict], bool]] = []
        on_records: list[Callable[[dict], bool]] = []
        needed: set[str] | None = set()

        def add(field: str, predicate: Callable[[dict], bool]) -> None:
            if field in columns:
                on_columns.append(predicate)
                if needed is not None:
                    needed.add(field)
            else:
                on_records.append(predicate)

        bases = dict.fromkeys(_INDEXED.sub("", key) for key in params)
        for base in bases:
            if base in _CONTROL:
                continue
            values = [v for v in multi(params, base) if v != ""]
            if base in _RELATED:
                if values:
                    field, predicate = self._related(table, region, base, values)
                    add(field, predicate)
            elif base in _PLAIN:
                add(base, exact_predicate(base, values))
            elif base.startswith("@"):
                add(base[1:], exact_predicate(base[1:], values))
        search = first(params, "search")
        if search:
            fields = tuple(table.searchable)
            predicate = search_predicate(search, fields)
            if all(f in columns for f in fields):
                on_columns.append(predicate)
                if needed is not None:
                    needed.update(fields)
            else:
                on_records.append(predicate)
        filters = multi(params, "filter")
        if filters:
            on_columns.append(_filters(filters, params, columns, needed))
        for field, predicate in self._joint_filters(table, region, params):
            add(field, predicate)
        return on_columns, on_records, needed

    def _joint_filters(
        self, table: Table, region: str, params: Mapping[str, list[str]]
    ) -> list[tuple[str, Callable[[dict], bool]]]:
        """``joint_filter=<model>.<remote key>(<local column>).<remote column>.<op>(<values>)``
        (db_dispatcher.go ``applyListItemsGeneralJointFilters``): the local column IN the
        remote key of the remote table's live rows that pass the op, each ANDed on its own
        (``filter_any`` does not reach them). One trailing ``s`` is cut from the model; an
        unknown model is a 404, a local field that is not a column of this table a 400, a
        remote field that is not a column of the remote table drops the filter
        (cloudpods-api.md §10)."""
        out = []
        for expr in multi(params, "joint_filter"):
            try:
                joint = parse_joint_filter(expr)
            except FilterArgumentError as e:  # FindWords panics: a 500, as for filter=
                raise Fault(500, "InternalServerError", f"Internal server error: {e}") from None
            if joint is None:  # not the grammar: ignored
                continue
            other = self._joint_table(table, joint, expr)
            test = compile_clause(joint.clause)
            if joint.clause.field not in other.column_names() or test is None:
                continue
            if joint.key not in other.column_names():  # sqlchemy selects a nil field: a panic
                raise Fault(500, "InternalServerError", _NIL_FIELD)
            key, value = other.getter(joint.key)[0], other.getter(joint.clause.field)[0]
            field, reg = joint.clause.field, other.region
            keys = {
                str(k)
                for i in other.live_rows()
                if (reg is None or reg[i] == region) and test({field: value(i)})
                for k in (key(i),)
                if k is not None
            }
            matches = compile_clause(Clause(joint.local, "in", tuple(sorted(keys))))
            out.append((joint.local, matches or _nothing))
        return out

    def _joint_table(self, table: Table, joint: JointClause, expr: str) -> Table:
        """The remote table of a joint filter (GetModelManager: a model keyword the service of
        ``table`` serves), after the checks the region makes, in its order."""
        name, service = joint.model.removesuffix("s"), self.rules[table.plural].service
        rules = self.rules
        served = {
            t.keyword: t
            for p, t in self.inv.tables.items()
            if p in rules and rules[p].service == service
        }
        prefix = "ListItems: listItemQueryFiltersRaw: applyListItemsGeneralJointFilters:"
        if name not in served:
            raise wrapped_fault(
                prefix, 404, "ResourceNotFoundError", "invalid joint resources %s", [name]
            )
        if joint.local not in table.column_names():
            fmt = "invalid joint filter %s, because %s doesn't have %s field"
            raise wrapped_fault(
                prefix, 400, "InputParameterError", fmt, [expr, table.keyword, joint.local]
            )
        return served[name]

    def _related(
        self, table: Table, region: str, param: str, values: list[str]
    ) -> tuple[str, Callable[[dict], bool]]:
        """Resolve ``zone=``/``host=``/… values (id or name) or fail as the real region does:
        404 for an unknown one, 500 "duplicate entry" for a name two rows share (§10)."""
        plural, keyword, field = _RELATED[param]
        other, reg = self.inv.tables[plural], self.inv.tables[plural].region
        chain = _NOT_FOUND_CHAIN.get(keyword, f"Validate{keyword.capitalize()}ResourceInput")
        if table.plural == "servers" and keyword in _NOT_FOUND_CHAIN:
            chain = "SHostResourceBaseManager.ListItemFilter: " + chain
        chain = f"ListItems: listItemQueryFiltersRaw: ListItemFilter: {chain}"
        ids: set[str] = set()
        for value in values:
            i = other.find_id(value)
            named = [i] if i is not None else other.find_name(value)
            found = [j for j in named if reg is None or reg[j] == region]
            if len(found) > 1:
                manager = f"{keyword.capitalize()}Manager.FetchByIdOrName"
                raise Fault(500, "duplicate entry", f"{chain}: {manager}: duplicate entry")
            if not found:
                details = f"{chain}: {keyword} {value}: ResourceNotFoundError"
                raise Fault(404, "ResourceNotFoundError", details)
            ids.add(str(other.record(found[0])["id"]))
        if table.plural == "servers" and keyword in ("zone", "cloudregion"):
            # a server has a zone through its host: unscheduled servers have none
            hosts = self.inv.tables["hosts"]
            key = "zone_id" if keyword == "zone" else "cloudregion_id"
            host_ids = {
                str(rec["id"])
                for rec in (hosts.record(h) for h in hosts.live_rows())
                if rec.get(key) in ids
            }
            return "host_id", lambda r, w=frozenset(host_ids): r.get("host_id") in w
        wanted = frozenset(ids)
        return field, lambda r: r.get(field) in wanted

    @staticmethod
    def _order(table: Table, rows: list[int], params: Mapping[str, list[str]]) -> list[int]:
        """Sort by ``order_by`` columns, else (and for joined or unknown fields) the default
        key ``created_at`` (then name, id), in the ``order`` given: desc unless ``asc``
        (lower case: ``ASC`` is desc, cloudpods-api.md §10)."""
        # only a lower-case "asc" sorts ascending: the real region took ASC as desc (§10)
        desc = (first(params, "order") or first(params, "paging_order") or "desc") != "asc"
        columns = table.column_names()
        keys = [k for k in multi(params, "order_by") if k in columns or k in table.orderable]
        if table.marker_paged:
            # log tables page by their integer id, DESC unless asked otherwise
            return sorted(rows, key=lambda i: table.record(i)["id"], reverse=desc)
        if not keys:
            created = table.created
            if all(
                created[a] < created[b] for a, b in zip(rows, rows[1:], strict=False)
            ) and not any("created_at" in p for p in table.patches.values()):
                return rows[::-1] if desc else rows
            keys = list(_DEFAULT_ORDER)
            getters = [table.getter(k)[0] for k in keys]

            def default_key(i: int) -> tuple:
                return tuple(_sortable(get(i)) for get in getters)

            return sorted(rows, key=default_key, reverse=desc)
        getters = [table.getter(k)[0] for k in keys]
        created = table.created
        # ties fall back to the default order (created_at); the row index stands in for the id

        def sort_key(i: int) -> tuple:
            return (*(_sortable(get(i)) for get in getters), created[i], i)

        return sorted(rows, key=sort_key, reverse=desc)

    # -- serialisation -------------------------------------------------------------------
    def serializer(
        self, table: Table, params: Mapping[str, list[str]], *, single: bool = False
    ) -> Callable[[int], str]:
        """``row → JSON text`` as the service writes records, honouring details and field.

        ``details=false`` gives the table columns only; with details, ``metadata`` is added
        to records that have some (``with_meta`` changes nothing, cloudpods-api.md §9). Lists
        leave out the fields only a single GET shows. The options are read once per page,
        and plain records are cached as text, so a page of 2048 cached records costs little
        more than joining their strings.
        """
        details = truthy(first(params, "details"), default=True)
        fields = {f for f in multi(params, "field") if f}
        plain = not fields and not single
        stamp = table.stamp()
        if plain:
            with self._lock:
                held = self._json.get((table.plural, details))
                if held is None or held[0] != stamp:
                    held = (stamp, {})
                    self._json[(table.plural, details)] = held
            cache = held[1]
        else:
            cache = {}
        patches = table.patches
        columns = table.column_names() if table.columns is not None else None
        hidden = table.detail_fields
        list_hidden = () if single else table.list_hidden
        has_meta = table.meta is not None

        def build(i: int) -> str:
            rec = clean(table.record(i))
            if not details:
                if columns is not None:
                    rec = {k: v for k, v in rec.items() if k in columns}
                else:
                    rec = {k: v for k, v in rec.items() if k not in hidden}
                rec.pop("metadata", None)
            elif has_meta:
                meta = table.metadata(i)
                if meta:
                    rec["metadata"] = meta
                else:
                    rec.pop("metadata", None)
            for k in list_hidden:
                rec.pop(k, None)
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

    def _spend(self, rows: int, params: Mapping[str, list[str]]) -> None:
        """Spend the server time of a page of ``rows`` rows: per row returned, ``field=`` or
        not (the real region loads whole rows, cloudpods-api.md §10), on one of the
        ``server_cores`` (a page waits for a free one)."""
        details = truthy(first(params, "details"), default=True)
        cost = rows * (self.details_row_cost if details else self.row_cost)
        if cost <= 0:
            return
        with self._cores:
            self.waiting += 1
            self._cores.wait_for(lambda: self.spending < self._server_cores)
            self.waiting -= 1
            self.spending += 1
            self.peak_spending = max(self.peak_spending, self.spending)
        try:
            self.sleep(cost)
        finally:
            with self._cores:
                self.spending -= 1
                self._cores.notify_all()

    def page(self, table: Table, rows: list[int] | None, params: Mapping[str, list[str]]) -> bytes:
        """The list envelope of cloudpods-api.md §3.2 with the §8.2 corrections (D4, D5)."""
        if table.marker_paged:
            return self._marker_page(table, rows or [], params)
        if rows is None:
            return f'{{"{table.plural}":[]}}'.encode()
        total = len(rows)
        no_paging = truthy(first(params, "force_no_paging"))
        limit = self.limit_of(params, plural=table.plural)
        offset = self.offset_of(params, table.plural)
        if no_paging:
            chosen = rows[offset:]
        else:
            if total > MAX_LIMIT and limit > MAX_LIMIT:
                limit = MAX_LIMIT
            chosen = rows[offset : offset + limit]
        one = self.serializer(table, params)
        body = "[" + ",".join([one(i) for i in chosen]) + "]"
        self._spend(len(chosen), params)
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
        limit = min(self.limit_of(params, marker=True, plural=table.plural), MAX_LIMIT)
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
        self._spend(len(chosen), params)
        if rest:
            env["next_marker"] = dumps(str(table.record(rest[0])["id"]))
        return _envelope(env)

    @staticmethod
    def _totals(table: Table, rows: list[int]) -> dict:
        """``summary_stats``: the real shape (servers: CustomizedTotalCount of guests.go)."""
        by_status: dict[str, list[int]] = {}
        cpu = mem = disk_mb = disk_count = 0
        servers = table.plural == "servers"
        status, pending = table.getter("status")[0], table.getter("pending_deleted")[0]
        if servers:
            vcpu, vmem = table.getter("vcpu_count")[0], table.getter("vmem_size")[0]
            disk, disks = table.getter("disk")[0], table.getter("disk_count")[0]
        for i in rows:
            st = by_status.setdefault(str(status(i) or ""), [0, 0])
            st[0] += 1
            st[1] += bool(pending(i))
            if servers:
                cpu += int(vcpu(i) or 0)  # type: ignore[call-overload]
                mem += int(vmem(i) or 0)  # type: ignore[call-overload]
                disk_mb += int(disk(i) or 0)  # type: ignore[call-overload]
                disk_count += int(disks(i) or 0)  # type: ignore[call-overload]
        status_info = [
            {"pending_deleted_count": pending, "status": status, "total_count": count}
            for status, (count, pending) in sorted(by_status.items())
        ]
        if servers:
            # "count" is 0 in the real answer: the disk query overwrites it (guests.go)
            return {
                "count": 0,
                "cpu_count": cpu,
                "disk_count": disk_count,
                "disk_mb": disk_mb,
                "mem_mb": mem,
                "status_info": status_info,
            }
        return {"count": len(rows), "status_info": status_info}

    # -- single records --------------------------------------------------------------------
    def get(
        self, table: Table, region: str, key: str, params: Mapping[str, list[str]], caller: Caller
    ) -> bytes:
        """``GET /<plural>/<id-or-name>`` → ``{"<keyword>": {...}}`` (fetch.go ``fetchItem``).

        An id is looked up first, then RBAC decides (404 before 403, D15). A name is
        searched within the caller's allowed scope (an admin's: every project) or the
        ``scope`` asked for; two matches are the real 500 "duplicate entry". A deleted row
        is found only with ``delete=all`` from a caller allowed the system scope, and the
        pending-delete rule still applies to it (g4x: ``pending_delete=all`` too, §10).
        """
        rule = self.rules[table.plural]
        raw = self._raw(params, caller)

        def here(i: int) -> bool:
            return table.region is None or table.region[i] == region

        missing = Fault(404, "ResourceNotFoundError", f"{table.keyword} {key} not found")
        pending = self._pending_rows(table)
        wanted = (first(params, "pending_delete") or "").strip().lower()
        # a pending-deleted row answers a GET with no query at all, or one that asks for it;
        # any other query hides it (the real region, cloudpods-api.md §10)
        hidden = pending if params and wanted in ("", "false") else set()
        i = table.find_id(key, deleted=raw)
        if i is not None and (not here(i) or i in hidden):
            i = None
        if i is None:
            named = [j for j in table.find_name(key, deleted=raw) if here(j) and j not in hidden]
            if not named:
                raise missing
            if caller.allowed == 0:
                raise forbidden(
                    "fetchItem:", rule.service, table.plural, "get", "none", "none", "none"
                )
            if (first(params, "scope") or "").strip():
                # only a scope asked for narrows the search: without one, every project's
                # rows count, so a name two projects use is a 500 even for a member who
                # may see neither (cloudpods-api.md §10)
                scope = self._get_scope(table, params, caller)
                own = self._owner_filter(table, {}, scope, caller)
                named = [j for j in named if own is None or own(j)]
            if not named:
                raise missing
            if len(named) > 1:
                raise Fault(500, "duplicate entry", "fetchItem: duplicate entry")
            i = named[0]
        if caller.allowed == 0:
            raise forbidden("fetchItem:", rule.service, table.plural, "get", "none", "none", "none")
        if caller.allowed < rule.require:
            raise forbidden(
                "fetchItem:",
                rule.service,
                table.plural,
                "get",
                _SCOPE_NAMES[rule.default_scope],
                _SCOPE_NAMES[caller.allowed],
                _SCOPE_NAMES[rule.default_scope],
            )
        own = self._owner_filter(table, {}, caller.allowed, caller)
        if own is not None and not own(i):
            raise Fault(
                403,
                "ForbiddenError",
                "not enough privilege (require:domain,allow:project:resource:project) "
                + _PRIVILEGE_TAGS,
            )
        text = self.serializer(table, params, single=True)(i)
        return f'{{"{table.keyword}":{text}}}'.encode()

    def _get_scope(self, table: Table, params: Mapping[str, list[str]], caller: Caller) -> int:
        """The scope a GET by name searches when one is asked for (403 above the caller's)."""
        raw = (first(params, "scope") or "").strip().lower()
        if raw in SCOPES and raw != "none":
            scope = SCOPES[raw]
        elif raw in ("max", "maxallowed") or not raw:
            scope = caller.allowed
        else:
            scope = SCOPES["project"]
        if scope > caller.allowed:
            rule = self.rules[table.plural]
            raise forbidden(
                "fetchItem:",
                rule.service,
                table.plural,
                "get",
                _SCOPE_NAMES[scope],
                _SCOPE_NAMES[caller.allowed],
                _SCOPE_NAMES[scope],
            )
        return scope


def _filters(
    filters: list[str], params: Mapping[str, list[str]], columns: frozenset[str], needed: set | None
) -> Callable[[dict], bool]:
    """``filter=`` (ANDed, ORed with ``filter_any``) over the table columns; notes the
    columns read in ``needed``."""
    for expr in filters:
        try:
            field = parse_filter(expr).field
        except FilterSyntaxError:
            continue
        if field in columns and needed is not None:
            needed.add(field)
    try:
        return compile_filters(
            filters, filter_any=truthy(first(params, "filter_any")), known_fields=columns
        )
    except FilterArgumentError as e:  # the real server panics and recovers with a 500
        raise Fault(500, "InternalServerError", f"Internal server error: {e}") from None


def _nothing(record: dict) -> bool:
    return False


def _project_not_found(name: str) -> Fault:
    """404 for ``project=<unknown>``: FetchOwnerId's error, wrapped twice (cloudpods-api.md §9)."""
    inner = wrapped(
        "FetchOwnerId:", 404, "ResourceNotFoundError", "%s %s not found", ["project", name]
    )
    prefix = "ListItems: listItemQueryFiltersRaw:"
    return wrapped_fault(prefix, 404, "ResourceNotFoundError", "%s", [inner])


def _envelope(parts: dict[str, str]) -> bytes:
    """Join pre-serialised values into an object with sorted keys, like jsonutils."""
    return ("{" + ",".join(f'"{k}":{parts[k]}' for k in sorted(parts)) + "}").encode()


def _sortable(value: object) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    return (2, 0, str(value).lower())
