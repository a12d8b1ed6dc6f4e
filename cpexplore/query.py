"""What a list asks the server, and what cpexplore must do itself: filters, order, limit.

A real Cloudpods region applies ``filter=`` and ``order_by=`` only to **columns of the
resource's table**. A filter on a joined field (``zone``, ``host``, ``project``…), an unknown
field or an unknown operator is silently ignored and the whole list comes back; an
``order_by`` on a joined field is ignored too (``tests/data/reference/cloudpods-api.md`` §9).
So :func:`build_list_query` splits the request: table-column filters and sorts go to the
server, everything else is applied here to the fetched rows by :func:`apply_filters` and
:func:`sort_frame`, and a row ``limit`` is applied after them. The rows returned always match
what was asked, on the sandbox and on a real region alike.

Everything here is a pure function of its arguments.

>>> from cpexplore.resources import resource_spec
>>> plan = build_list_query(resource_spec("servers"), filters=["zone.equals('zone-a')",
...                         "status.equals('running')"], limit=3)
>>> plan.query["filter"], [f.text for f in plan.local_filters], plan.server_limit
(["status.equals('running')"], ["zone.equals('zone-a')"], None)
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .errors import ConfigError, UnknownField, did_you_mean
from .lean import lean_columns, lean_keys
from .resources import GENERIC_PARAMS, ResourceSpec

# The scopes a Cloudpods list understands (rbacscope: system, domain, project) and "max",
# which the server resolves to the widest the token allows. rbacscope's "user" is refused:
# a real region applies no owner filter for it and answers every row (cloudpods-api.md §10).
SCOPES = ("project", "domain", "system", "max")

# climc's filter operators and how many arguments each takes: (at least, at most).
FILTER_OPS: dict[str, tuple[int, int | None]] = {
    "in": (0, None),
    "notin": (0, None),
    "between": (2, 2),
    "ge": (1, 1),
    "gt": (1, 1),
    "le": (1, 1),
    "lt": (1, 1),
    "like": (1, None),
    "contains": (1, None),
    "startswith": (1, None),
    "endswith": (1, None),
    "equals": (1, None),
    "notequals": (1, 1),
    "isnull": (0, 0),
    "isnotnull": (0, 0),
    "isempty": (0, 0),
    "isnotempty": (0, 0),
    "isnullorempty": (0, 0),
}
_FILTER = re.compile(r"^(\w+)\.(\w+)\((.*)\)$", re.ASCII | re.DOTALL)
_SEPARATORS = " :,\t\n}]"


@dataclass(frozen=True)
class Filter:
    """One climc filter ``field.op(args)``, parsed.

    >>> parse_filter("status.in('running', 'ready')")
    Filter(field='status', op='in', args=('running', 'ready'), text="status.in('running', 'ready')")
    """

    field: str
    op: str
    args: tuple[str, ...]
    text: str


def parse_filter(expr: str) -> Filter:
    """Parse and check one filter expression; ``ConfigError`` says what is wrong with it.

    >>> parse_filter("vcpu_count.ge(8)").args
    ('8',)
    """
    text = str(expr).strip()
    m = _FILTER.match(text)
    if not m:
        raise ConfigError(
            f"malformed filter {expr!r}",
            hint="the form is field.op(args), e.g. name.contains('web') or vcpu_count.ge(4)",
        )
    name, op, inner = m.groups()
    if op not in FILTER_OPS:
        guess = did_you_mean(op, FILTER_OPS, n=1)
        raise ConfigError(
            f"unknown filter operator {op!r} in {expr!r}",
            hint=f"{guess}the operators are {', '.join(FILTER_OPS)}",
        )
    try:
        args = tuple(_split_args(inner))
    except ValueError:
        raise ConfigError(
            f"unbalanced quotes in filter {expr!r}", hint="quote each argument: name.in('a','b')"
        ) from None
    low, high = FILTER_OPS[op]
    if len(args) < low or (high is not None and len(args) > high):
        want = str(low) if low == high else f"at least {low}" if high is None else f"{low}-{high}"
        raise ConfigError(
            f"{op} takes {want} argument(s), {len(args)} given in {expr!r}",
            hint="e.g. vcpu_count.between(2,8), name.equals('web'), host_id.isnull()",
        )
    return Filter(name, op, args, text)


# The ops whose arguments the server converts to the field's type before comparing (and
# reads as the type's zero value when it cannot: vcpu_count.ge(abc) is >= 0 there).
VALUE_OPS = frozenset({"equals", "notequals", "in", "notin", "between", "ge", "gt", "le", "lt"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TRUE_WORDS, _FALSE_WORDS = ("1", "true", "yes", "on", "ok"), ("0", "false", "no", "off")
# the forms of timeutils.ParseTimeStr a person writes: a date; a time with T or a space,
# with or without seconds, a fraction and a zone (Z or ±HH:MM; none means UTC)
_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{3,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?",
    re.ASCII,
)
_KIND_WORDS = {
    "int": ("a number", "vcpu_count.ge(4)"),
    "float": ("a number", "cpu_commit_rate.gt(1.5)"),
    "float32": ("a number", "cpu_cmtbound.between(1.19, 1.21)"),
    "bool": ("true or false", "enabled.equals(true)"),
    "time": ("a time", "created_at.gt('2026-01-01') or created_at.lt('2026-01-01T08:00:00Z')"),
}


def read_value(kind: str, arg: str) -> Any:
    """A filter argument as the server reads a value of ``kind`` (``int``, ``float``,
    ``float32``, ``bool``, ``time``; anything else is text), or ``ValueError`` where the
    server would silently read something else (MySQL reads ``8abc`` as 8 and ``abc`` as 0;
    sqlchemy an unknown time as year 1).

    >>> read_value("int", "8"), read_value("bool", "Yes"), read_value("time", "2026-01-02")
    (8.0, True, Timestamp('2026-01-02 00:00:00+0000', tz='UTC'))
    >>> read_value("int", "8abc")
    Traceback (most recent call last):
    ...
    ValueError: '8abc' is not a number
    """
    text = arg.strip() if kind == "time" else arg
    if kind in ("int", "float", "float32") and _NUMBER.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    if kind == "bool" and text.lower() in _TRUE_WORDS + _FALSE_WORDS:
        return text.lower() in _TRUE_WORDS
    m = _TIME.fullmatch(text) if kind == "time" else None
    if m and _server_reads_time(*m.group(4, 7, 8, 9)):
        try:
            stamp = pd.Timestamp(text.replace(" ", "T").removesuffix("Z"))
        except ValueError:  # e.g. 2026-02-30
            stamp = None
        if stamp is not None:
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if kind not in _KIND_WORDS:
        return arg
    raise ValueError(f"{arg!r} is not {_KIND_WORDS[kind][0]}")


def _server_reads_time(
    sep: str | None, second: str | None, frac: str | None, zone: str | None
) -> bool:
    """Whether timeutils.ParseTimeStr reads a time of this shape (else: Go's zero time). A
    date alone is read; without seconds a zone is needed; with T, a fraction and no zone
    the fraction has 6 digits."""
    if sep is None:
        return True
    if second is None:
        return zone is not None
    return not (sep == "T" and frac is not None and zone is None and len(frac) != 6)


def check_value(flt: Filter, kind: str | None, where: str) -> None:
    """``ConfigError`` unless every argument of ``flt`` is a value of ``kind``, the type of
    its field (``where`` names it for the message); other ops and kinds pass."""
    if kind not in _KIND_WORDS or flt.op not in VALUE_OPS:
        return
    for arg in flt.args:
        try:
            value = read_value(kind, arg)
        except ValueError as e:
            raise ConfigError(
                f"filter {flt.text!r}: {e}, as {where} needs",
                hint=f"a real region would silently read it as 0 or nothing and answer "
                f"the wrong rows; e.g. {_KIND_WORDS[kind][1]}",
            ) from None
        exact = (
            struct.unpack("f", struct.pack("f", value))[0] == value if kind == "float32" else True
        )
        if flt.op in ("equals", "notequals", "in", "notin") and not exact:
            raise ConfigError(
                f"filter {flt.text!r}: {where} holds 4-byte floats, which never equal {arg} "
                "exactly (a real region answers no rows)",
                hint=f"compare a range instead, e.g. {_KIND_WORDS[kind][1]}",
            )


def check_filter(expr: str) -> str:
    """Check one filter expression and return it stripped (``ConfigError`` if malformed).

    >>> check_filter(" name.contains('web') ")
    "name.contains('web')"
    """
    return parse_filter(expr).text


def _split_args(text: str) -> list[str]:
    """Split filter arguments as climc's server does: separators, quotes with escapes."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        if text[i] in _SEPARATORS:
            i += 1
            continue
        if text[i] in "'\"":
            quote, i, word = text[i], i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                word.append(text[i])
                i += 1
            if i >= n:
                raise ValueError("unterminated quote")
            words.append("".join(word))
            i += 1
        else:
            start = i
            while i < n and text[i] not in _SEPARATORS:
                i += 1
            words.append(text[start:i].strip())
    return words


@dataclass(frozen=True)
class ListPlan:
    """How one ``Session.list`` call is carried out.

    ``query`` goes to the server; ``local_filters``/``local_order`` are applied to the fetched
    rows (then ``local_limit``); ``check_fields`` must exist once the rows are in.
    """

    query: dict[str, Any]
    local_filters: tuple[Filter, ...] = ()
    filter_any: bool = False
    local_order: tuple[str, ...] = ()
    descending: bool = True
    server_limit: int | None = None
    local_limit: int | None = None
    check_fields: tuple[tuple[str, str], ...] = field(default=())  # (what, name)

    @property
    def is_local(self) -> bool:
        """True when cpexplore filters or sorts rows itself (every page is fetched)."""
        return bool(self.local_filters or self.local_order)


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


def build_list_query(
    spec: ResourceSpec,
    *,
    scope: str | None = None,
    details: bool | str = True,
    filters: str | Iterable[str] | None = None,
    filter_any: bool = False,
    search: str | None = None,
    order_by: str | Iterable[str] | None = None,
    order: str | None = None,
    fields: str | Iterable[str] | None = None,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    raw_params: Mapping[str, Any] | None = None,
) -> ListPlan:
    """Split a list request into the server's query and the work done on the fetched rows.

    ``params`` are the resource's known query parameters (``zone=``, ``host=``,
    ``hypervisor=``…; an unknown name is a ``ConfigError`` with a did-you-mean), and
    ``raw_params`` pass anything to the server unchecked.

    >>> from cpexplore.resources import resource_spec
    >>> build_list_query(resource_spec("servers"), order_by="zone", limit=5).local_limit
    5
    """
    if limit is not None and (isinstance(limit, bool) or int(limit) < 1):
        raise ConfigError(
            f"limit must be a positive number of rows, not {limit!r}",
            hint="leave it out to fetch every row",
        )
    query: dict[str, Any] = {"details": "true" if details is True else "false"}
    # fields this list has without the server's joins: lean lists rebuild some of them
    rebuilt = set(lean_columns(spec.name)) if details == "lean" else set()
    sc = check_scope(scope)
    if sc:
        query["scope"] = sc
    checks: list[tuple[str, str]] = []

    parsed = [parse_filter(f) for f in as_list(filters)]
    # known table columns go to the server; other fields are filtered here (and, for a
    # resource whose table is not known, both, since the server may or may not apply them)
    server_side = [f for f in parsed if spec.server_applies(f.field)]
    local = [f for f in parsed if not spec.is_table_column(f.field)]
    if filter_any and any(f not in server_side for f in local):
        server_side, local = [], parsed  # an OR cannot be split between server and client
    for f in parsed:
        check_value(f, spec.kind_of(f.field), f"the field {f.field!r} of {spec.name}")
        checks.append(("filter field", f.field))
        if details is not True and f in local and f.field in spec.detail_fields - rebuilt:
            raise ConfigError(
                f"the filter {f.text!r} is on {f.field!r}, which only details=True brings",
                hint=f"leave details on{spec.param_hint(f.field)}",
            )
    if server_side:
        query["filter"] = [f.text for f in server_side]
        if filter_any:
            query["filter_any"] = "true"
    if search:
        query["search"] = search

    keys = as_list(order_by)
    direction = _check_order(order)
    local_order: tuple[str, ...] = ()
    if keys:
        checks.extend(("order_by field", k) for k in keys)
        if all(spec.is_table_column(k) for k in keys):
            query["order_by"] = keys
            if direction:
                query["order"] = direction
        else:
            # joined fields, and any field of a resource whose table is not known (the server
            # may ignore it): sorted here, over every row
            local_order = tuple(keys)
            if spec.table_columns is None:
                query["order_by"] = keys
            if details is not True and any(k in spec.detail_fields - rebuilt for k in keys):
                raise ConfigError(
                    f"order_by {keys} names a field only details=True brings",
                    hint="leave details on to sort by it",
                )
    elif direction:
        query["order"] = direction

    field_list = as_list(fields)
    checks.extend(("field", f) for f in field_list)
    wanted = list(columns) if columns is not None else None
    if wanted is not None and not field_list:
        field_list = [c.split(".", 1)[0] for c in wanted]
    if field_list:
        needed = {f.field for f in local} | set(local_order)
        if details == "lean":  # the keys a lean list joins on must come along
            needed |= set(lean_keys(spec.name))
        query["field"] = sorted((set(field_list) | {"id"} | needed) - rebuilt)
    if wanted is not None:
        checks.extend(("column", c.split(".", 1)[0]) for c in wanted)

    for name, value in (params or {}).items():
        if value is None:
            continue
        spec.check_param(name)
        query[name] = encode_param(value)
    for name, value in (raw_params or {}).items():
        if value is not None:
            query[str(name)] = encode_param(value)

    is_local = bool(local or local_order)
    if spec.table_columns is not None:  # the fields are known: a typo costs no request
        _check_names(spec, tuple(dict.fromkeys(checks)), set(spec.known_fields))
    return ListPlan(
        query=query,
        local_filters=tuple(local),
        filter_any=bool(filter_any),
        local_order=local_order,
        descending=direction != "asc",
        server_limit=None if is_local else limit,
        local_limit=limit if is_local else None,
        check_fields=tuple(dict.fromkeys(checks)),
    )


def _check_order(order: str | None) -> str | None:
    if order is None:
        return None
    word = str(order).strip().lower()
    if word not in ("asc", "desc"):
        raise ConfigError(f"order must be 'asc' or 'desc', not {order!r}")
    return word


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


def check_fields(spec: ResourceSpec, plan: ListPlan, present: Iterable[str]) -> None:
    """For a resource whose fields are not known in advance (a custom resource): raise
    ``UnknownField`` for a field named in the request that no fetched row has. (A known
    resource's names were checked by :func:`build_list_query`, before any request.)
    """
    present = {str(c).split(".", 1)[0] for c in present}
    if spec.table_columns is not None or (not spec.known_fields and not present):
        return  # checked already, or nothing to check against (no rows)
    _check_names(spec, plan.check_fields, set(spec.known_fields) | present)


def _check_names(spec: ResourceSpec, names: Iterable[tuple[str, str]], known: set[str]) -> None:
    for what, name in names:
        if name not in known:
            raise UnknownField(
                f"{spec.name} have no field {name!r} (asked as {what})",
                hint=f"{did_you_mean(name, sorted(known))}list the fields with "
                f"session.list({spec.name!r}, limit=1).columns",
            )


def as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


# -- applying filters and order to fetched rows ------------------------------------------------
def apply_filters(
    df: pd.DataFrame, filters: Sequence[Filter], *, any_: bool = False
) -> pd.DataFrame:
    """The rows of ``df`` that match every filter (any of them with ``any_=True``).

    Matching follows the server's SQL: text compares case-insensitively, a missing value
    matches nothing but ``isnull``/``isnullorempty``, numbers and timestamps compare as such.

    >>> df = pd.DataFrame({"zone": ["zone-a", "Zone-B", None], "n": [1, 8, 3]})
    >>> apply_filters(df, [parse_filter("zone.in('zone-b')")])["n"].tolist()
    [8]
    """
    if not filters:
        return df
    masks = [filter_mask(df, f) for f in filters]
    mask = np.logical_or.reduce(masks) if any_ else np.logical_and.reduce(masks)
    return df[mask].reset_index(drop=True)


def filter_mask(df: pd.DataFrame, flt: Filter) -> np.ndarray:
    """A boolean array: which rows of ``df`` match ``flt`` (a column no row has is all
    missing: only ``isnull``/``isnullorempty`` match it).

    >>> df = pd.DataFrame({"name": ["web-1", "db-1", None]})
    >>> filter_mask(df, parse_filter("name.startswith('WEB')")).tolist()
    [True, False, False]
    """
    n = len(df)
    op, args = flt.op, flt.args
    if flt.field not in df.columns:
        col = pd.Series([None] * n, dtype=object, index=df.index)
    else:
        col = df[flt.field]
    missing = col.isna().to_numpy(dtype=bool)
    if op == "isnull":
        return missing
    if op == "isnotnull":
        return ~missing
    text = _text(col)
    if op in ("isempty", "isnotempty", "isnullorempty"):
        empty = (text.str.len() == 0).fillna(False).to_numpy(dtype=bool)
        return {
            "isempty": empty,
            "isnotempty": ~missing & ~empty,
            "isnullorempty": missing | empty,
        }[op]
    if op in ("like", "contains", "startswith", "endswith"):
        pattern = "|".join(_like_pattern(op, a) for a in args)
        hit = text.str.contains(pattern, case=False, regex=True, flags=re.DOTALL)
        return hit.fillna(False).to_numpy(dtype=bool)
    values = _comparable(col)
    if op in ("equals", "in", "notequals", "notin"):
        wanted = [_arg(col, flt, a) for a in args]
        if not wanted:  # IN () and NOT IN () compile to the SQL constant 0: no row
            return np.zeros(n, dtype=bool)
        hit = values.isin(wanted).to_numpy(dtype=bool)
        return ~missing & (~hit if op in ("notequals", "notin") else hit)
    if op == "between":
        low, high = (_arg(col, flt, a) for a in args)
        return _compare(values, ">=", low) & _compare(values, "<=", high)
    symbol = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[op]
    return _compare(values, symbol, _arg(col, flt, args[0]))


def _text(col: pd.Series) -> pd.Series:
    """A column as nullable strings, as the database prints its values for ``LIKE``: times
    as ``YYYY-MM-DD HH:MM:SS``, booleans as 1/0, whole floats without ``.0``, lists and
    dicts as their compact JSON with sorted keys.

    >>> _text(pd.Series([True, None], dtype="boolean")).tolist()
    ['1', <NA>]
    """
    kind = _kind(col)
    if kind == "time":
        return col.dt.strftime("%Y-%m-%d %H:%M:%S").astype("string")
    if kind == "bool":
        return col.astype("Int64").astype("string")
    if kind == "float":
        return col.map(_float_text, na_action="ignore").astype("string")
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if col.dtype == object:
        col = col.map(_json_text, na_action="ignore")
    return col.astype("string")


def _float_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _json_text(value: Any) -> Any:
    if isinstance(value, list | dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


def _kind(col: pd.Series) -> str:
    """The kind of value a fetched column holds (``int``, ``float``, ``bool``, ``time``, ``text``)."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(col.dtype):
        return "int"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return "float"
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        return "time"
    return "text"


def _comparable(col: pd.Series) -> pd.Series:
    kind = _kind(col)
    if kind == "text":
        return _text(col).str.casefold().str.rstrip(" ")
    if kind == "bool":
        return col.astype("Int64")
    if kind in ("int", "float"):
        return col.astype("Float64")
    return col


def _arg(col: pd.Series, flt: Filter, arg: str) -> Any:
    """``arg`` read as the server reads a value of the column's kind (``ConfigError`` if it
    cannot be: the check for fields whose type is known only once the rows are in)."""
    kind = _kind(col)
    check_value(Filter(flt.field, flt.op, (arg,), flt.text), kind, f"the column {col.name!r}")
    value = read_value(kind, arg)
    if kind == "bool":
        return int(value)
    if kind == "text":
        return arg.casefold().rstrip(" ")
    return value


def _compare(values: pd.Series, symbol: str, arg: Any) -> np.ndarray:
    result = {
        ">=": values >= arg,
        ">": values > arg,
        "<=": values <= arg,
        "<": values < arg,
    }[symbol]
    return pd.Series(result).fillna(False).to_numpy(dtype=bool)


def _like_pattern(op: str, arg: str) -> str:
    if op == "like":  # SQL LIKE: % any run, _ one character, backslash escapes
        out, i = [], 0
        while i < len(arg):
            c = arg[i]
            if c == "\\" and i + 1 < len(arg):
                out.append(re.escape(arg[i + 1]))
                i += 2
                continue
            out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
            i += 1
        return "^(?:" + "".join(out) + ")$"
    body = re.escape(arg)
    return {"contains": body, "startswith": "^" + body, "endswith": body + "$"}[op]


def sort_frame(df: pd.DataFrame, keys: Sequence[str], *, descending: bool = True) -> pd.DataFrame:
    """``df`` sorted by ``keys`` as the server sorts: text case-insensitively, stable, and
    missing values first when ascending, last when descending (MySQL's NULL order).

    >>> df = pd.DataFrame({"zone": ["b", None, "A"]}, dtype=object)
    >>> sort_frame(df, ["zone"], descending=False)["zone"].tolist()
    [None, 'A', 'b']
    """
    present = [k for k in keys if k in df.columns]
    if not present or df.empty:
        return df

    def key(col: pd.Series) -> pd.Series:
        return _comparable(col) if _kind(col) == "text" else col

    return df.sort_values(
        present,
        ascending=not descending,
        kind="stable",
        na_position="last" if descending else "first",
        key=key,
    ).reset_index(drop=True)


__all__ = [
    "SCOPES",
    "FILTER_OPS",
    "GENERIC_PARAMS",
    "Filter",
    "ListPlan",
    "parse_filter",
    "check_filter",
    "check_scope",
    "build_list_query",
    "check_fields",
    "encode_param",
    "apply_filters",
    "filter_mask",
    "sort_frame",
    "did_you_mean",
    "as_list",
]
