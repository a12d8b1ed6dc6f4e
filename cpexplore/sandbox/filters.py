"""List filters of the sandbox: ``filter``, ``filter_any``, ``search`` and exact filters.

The sandbox answers list requests the way a real Cloudpods service does. This module turns the
query parameters into predicates over record dicts. Every predicate is compiled once; the
returned callables do no parsing and build no regex, so they can run over a million records.

What the real server does (read from the Cloudpods sources, see "Sources" below)
================================================================================

Grammar of ``filter=field.op(args)``
    The whole expression must match ``^(\\w+)\\.(\\w+)\\((.*)\\)`` (Go ``regexp``: ``\\w`` is
    ASCII ``[0-9A-Za-z_]``, ``.`` does not cross a newline, nothing anchors the end). So
    ``field`` and ``op`` are ASCII word characters only. A dotted field such as ``a.b.equals(1)``
    does not match. ``(.*)`` is greedy: the arguments run to the **last** ``)`` on the
    first line, and any text after that ``)`` is ignored. Op names are case-sensitive
    (``name.EQUALS(x)`` is an unknown op).

    The argument text is split by ``utils.FindWords``:

    * words are separated by any of ``space : , tab newline } ]``; blanks (space, tab, CR,
      LF) around a word are skipped. So ``in(a,b)``, ``in(a, b)`` and ``in(a:b)`` give
      ``["a", "b"]``, and ``ge(10:00)`` gives two words;
    * a word that starts with ``'`` or ``"`` runs to the matching quote. Inside it,
      separators are plain characters and a backslash escapes the next character (``\\n``,
      ``\\r`` and ``\\t`` become control characters). An unterminated quote runs to the end;
    * ``()`` gives no words; ``( )`` gives one empty word; ``a,,b`` gives ``a``, ``""``, ``b``;
      a trailing ``,`` adds nothing;
    * after a word (and its blanks), the next character must be a separator. Otherwise
      (``equals(a b)``, ``equals('a'b)``, an unquoted ``2024-01-01 10:00:00``) FindWords
      **panics** with ``Malformed multi value string: <rest>``. The HTTP worker recovers
      the panic, and the request fails with **500 InternalServerError**
      ``"Internal server error: Malformed multi value string: ..."``. This happens
      before the field is checked, so it happens even for unknown fields.

Grammar of ``joint_filter=model.key(local).field.op(args)``
    ``^(\\w+)\\.(\\w+)\\((\\w+)\\).(\\w+)\\.(\\w+)\\((.*)\\)`` (one hop; the ``.`` after the first
    ``)`` matches any character), the arguments split as above. :func:`parse_joint_filter`
    parses it; ``lists.py`` applies it (the local column IN the remote key of the remote rows
    that pass ``field.op(args)``).

Which expressions are dropped silently (no error, no narrowing)
    * text that does not match the regex (``name=foo``, ``name.equals``, ``a.b.c(1)``);
    * a field that is not a listable/searchable column of the resource's **table**
      (``searchFields``): unknown columns, columns above the caller's privilege, and the
      joined/detail fields a ``details=true`` record carries (``zone``, ``host``,
      ``cloudregion``, ``tenant``, ``zone_id``…). The real region with data confirmed it
      (cloudpods-api.md §9: ``zone.equals('zone-a')`` answered the unfiltered 2 600 rows);
    * an unknown op, or an op given the wrong number of arguments (``between`` needs
      exactly 2; ``ge gt le lt notequals`` exactly 1; ``equals like contains startswith
      endswith`` at least 1).

    A dropped expression is left out of the AND/OR entirely. If nothing is left, the list
    is not filtered. The region with data showed it for a joined field, an unknown field
    (``nmae.contains('web')``), an unknown op and a missing ``)`` (cloudpods-api.md §9).

Semantics of the ops (sqlchemy conditions on a MySQL/MariaDB column)
    ``equals`` ``=`` (several args: OR); ``notequals`` ``NOT (=)``; ``in``/``notin``
    ``IN``/``NOT IN``. An empty list compiles to the SQL constant ``0``, so both **match
    nothing**. ``between`` ``BETWEEN a AND b`` (inclusive); ``ge gt le lt`` ``>= > <= <``;
    ``like`` raw ``LIKE`` pattern (``%`` any run, ``_`` one character, ``\\`` escapes; inside a
    quoted argument FindWords consumes one backslash first, so write ``'100\\\\%'`` there);
    ``contains``/``startswith``/``endswith`` ``LIKE`` with ``%``/``_`` escaped, i.e. a literal
    substring, prefix or suffix (several args: OR); ``isnull``/``isnotnull`` ``IS [NOT] NULL``;
    ``isempty`` ``LENGTH(x) = 0``; ``isnotempty`` ``x IS NOT NULL AND LENGTH(x) > 0``;
    ``isnullorempty`` ``x IS NULL OR LENGTH(x) = 0``. SQL three-valued logic applies: every
    comparison with NULL is unknown, so ``notequals``, ``notin`` and ``like`` never match NULL.
    Nothing is rejected; what the column cannot hold is read as a value all the same (the
    real region, cloudpods-api.md §10): a number column compares with the string as MySQL
    casts it (``8abc`` is 8, ``abc`` 0, ``8.5`` 8.5), so ``vcpu_count.ge(abc)`` matches every
    row and ``vcpu_count.lt(eight)`` none; booleans are converted by sqlchemy first
    (``1 true ok yes on`` → 1, any other word 0); times too (``timeutils.ParseTimeStr``, and
    anything else is Go's zero time: ``created_at.gt('yesterday')`` matches every row). A
    FLOAT column holds 4-byte floats, so ``mem_cmtbound.equals(1.2)`` matches nothing
    (1.2 is stored as 1.2000000476837158). The LIKE family binds its text as it is.

``search``
    Each non-blank ``search`` value (trimmed) becomes ``Contains`` (literal, case-insensitive
    substring) on **every** searchable column: text columns (not integers, booleans or
    datetimes) that the caller may list. Plus manager-specific extra conditions, all ORed.
    Several ``search`` values are ORed too.

Exact filters (``status=a&status=b``, ``name=a``, ``id=...``)
    The managers apply ``q.In(column, values)`` when the list is non-empty (collation rules
    as for ``in``); an absent or empty list applies no filter.

Choices made here (where the sources leave it to the database, MySQL-like)
==========================================================================

* NULL: a missing key and ``None`` are NULL.
* Text comparison follows the default collations (``utf8mb4_unicode_ci``/``ascii_general_ci``).
  It is **case-insensitive** for ``equals notequals in notin ge gt le lt between`` and for
  every LIKE-style op (the real ``hypervisor.equals('ESXi')`` matched the ``esxi`` rows,
  cloudpods-api.md §9), and it ignores trailing spaces (PAD SPACE) for ``=``/``IN``/ordering
  but not for LIKE. Accent-insensitivity (``é = e``) is not modelled.
* A column's type is the type of the record value: ``int``, ``float`` (a 4-byte FLOAT, as
  most of Cloudpods' float columns are), ``bool`` (TINYINT 1/0), a date-shaped string
  (DATETIME), else text.
* Timestamps: a record string in one of ParseTimeStr's forms (the API's own
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` among them) is a DATETIME. Arguments in those forms
  (``2024-01-01``, ``2024-01-01T10:00Z``, ``2024-01-01 10:00:00``, fractions of 3-9 digits,
  ``+08:00``-style zones converted to UTC; no zone is UTC) compare as times; any other
  argument is Go's zero time (``ZERO_TIME``), earlier than every record. For the LIKE family
  a timestamp is matched as MySQL renders a DATETIME: ``YYYY-MM-DD HH:MM:SS`` (so
  ``created_at.startswith('2024-01-01 1')`` works and ``contains('T')`` does not).
* Lists and dicts (JSON columns) are compared as their compact JSON text, keys sorted.
* ``isempty``: only ``""`` is empty (numbers, booleans, ``[]`` and ``{}`` have a length).
* ``compile_filters`` without ``known_fields`` treats every field as a column. Pass the
  resource's column names to get the server's "unknown column is ignored" behaviour.
* ``search_predicate(fields=None)`` searches every string value of the record except
  timestamps (datetime columns are not searchable); explicit ``fields`` are searched as given.

Sources (public code)
=====================
* yunionio/cloudpods ``vendor/yunion.io/x/pkg/util/filterclause/filterclause.go``
  (``ParseFilterClause``, ``QueryCondition``, ``condFunc``);
  the older yunionio/pkg ``util/filterclause/filterclause.go`` lacks the arity checks and
  ``isnullorempty``.
* yunionio/cloudpods ``vendor/yunion.io/x/pkg/utils/tags.go`` (``FindWords``, ``FindWords2``,
  ``_findWord``, ``skipEmpty``).
* yunionio/cloudpods ``pkg/cloudcommon/db/db_dispatcher.go`` (``listItemQueryFiltersRaw``,
  ``ApplyListItemsGeneralFilters``, ``applyListItemsSearchFilters``, ``listItemsQueryByColumn``),
  ``pkg/cloudcommon/db/fieldtags.go`` (``searchFields``), ``pkg/cloudcommon/db/standalone.go``
  (``name`` → ``q.In``), ``pkg/appsrv/appsrv.go`` + ``workers.go`` (panic → 500).
* yunionio/sqlchemy ``conditions.go`` (``In``/``NotIn`` on an empty list, ``likeEscape``,
  ``Contains``, ``IsEmpty``...), ``backends/mysql/column.go`` (collations, boolean columns).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

__all__ = [
    "OPS",
    "Clause",
    "JointClause",
    "FilterSyntaxError",
    "FilterArgumentError",
    "parse_filter",
    "parse_joint_filter",
    "compile_clause",
    "compile_filters",
    "search_predicate",
    "exact_predicate",
]

Predicate = Callable[[dict], bool]

#: The ops a real server understands (anything else is dropped).
OPS = frozenset(
    {
        "in",
        "notin",
        "between",
        "ge",
        "gt",
        "le",
        "lt",
        "like",
        "contains",
        "startswith",
        "endswith",
        "equals",
        "notequals",
        "isnull",
        "isnotnull",
        "isempty",
        "isnotempty",
        "isnullorempty",
    }
)


class FilterSyntaxError(ValueError):
    """A ``filter`` expression is not ``field.op(args)``.

    The real server drops such an expression silently; :func:`compile_filters` does the same.
    """


class FilterArgumentError(FilterSyntaxError):
    """The argument list of ``field.op(args)`` cannot be split into words.

    The real server panics on it and answers **500** ``InternalServerError`` with details
    ``"Internal server error: " + str(error)``. :func:`compile_filters` raises it.
    """


@dataclass(frozen=True, slots=True)
class Clause:
    """One parsed ``field.op(args)`` expression."""

    field: str
    op: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JointClause:
    """One parsed ``joint_filter``: ``<model>.<key>(<local>).<clause>``."""

    model: str  # as written: the server cuts one trailing "s" (hosts, host)
    key: str  # the remote column the local one must be IN
    local: str
    clause: Clause  # on the remote table


# --------------------------------------------------------------------------------------------
# Parsing

_CLAUSE = re.compile(r"(\w+)\.(\w+)\((.*)\)", re.ASCII)  # used with .match: anchored at start
# filterclause.go's jointFilterClausePattern, the unescaped "." included
_JOINT = re.compile(r"(\w+)\.(\w+)\((\w+)\).(\w+)\.(\w+)\((.*)\)", re.ASCII)
_SEPARATORS = frozenset(" :,\t\n}]")
_BLANKS = frozenset(" \t\n\r")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def _split_args(text: str) -> list[str]:
    """Split the text between the parentheses into words, as FindWords does."""
    words: list[str] = []
    n = len(text)
    pos = 0
    while pos < n:
        start = pos
        i = pos
        while i < n and text[i] in _BLANKS:
            i += 1
        chars: list[str] = []
        if i < n and text[i] in "'\"":
            quote = text[i]
            i += 1
            while i < n:
                ch = text[i]
                if ch == "\\":
                    if i + 1 >= n:
                        break  # a lone backslash at the very end stops the word
                    chars.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                    i += 2
                elif ch == quote:
                    i += 1
                    break
                else:
                    chars.append(ch)
                    i += 1
        else:
            while i < n and text[i] not in _SEPARATORS:
                chars.append(text[i])
                i += 1
        words.append("".join(chars))
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            break
        if text[i] not in _SEPARATORS:
            raise FilterArgumentError(f"Malformed multi value string: {text[start:]}")
        pos = i + 1
    return words


def parse_filter(expr: str) -> Clause:
    """Parse one ``filter`` value.

    >>> parse_filter("name.in('a,b', c)")
    Clause(field='name', op='in', args=('a,b', 'c'))

    Raises :class:`FilterSyntaxError` when the text is not ``field.op(args)``, and its
    subclass :class:`FilterArgumentError` when the arguments cannot be split. Any ``\\w+`` op
    parses; :data:`OPS` lists the ones that mean something.
    """
    if not isinstance(expr, str):
        raise FilterSyntaxError(f"filter must be a string, not {type(expr).__name__}")
    match = _CLAUSE.match(expr)
    if match is None:
        raise FilterSyntaxError(f"not a field.op(args) filter: {expr!r}")
    field, op, inner = match.groups()
    return Clause(field, op, tuple(_split_args(inner)))


def parse_joint_filter(expr: str) -> JointClause | None:
    """Parse one ``joint_filter`` value (filterclause.go ``ParseJointFilterClause``), or
    None when it does not match the grammar (the server ignores it).

    >>> parse_joint_filter("hosts.id(host_id).zone_id.equals('z')")
    JointClause(model='hosts', key='id', local='host_id', clause=Clause(field='zone_id', op='equals', args=('z',)))

    Raises :class:`FilterArgumentError` when the values cannot be split (a 500).
    """
    match = _JOINT.match(expr) if isinstance(expr, str) else None
    if match is None:
        return None
    model, key, local, field, op, inner = match.groups()
    return JointClause(model, key, local, Clause(field, op, tuple(_split_args(inner))))


# --------------------------------------------------------------------------------------------
# Values: every non-NULL record value falls into one of four kinds

_STR, _NUM, _BOOL, _TS, _FLOAT = 0, 1, 2, 3, 4

_TRUE_WORDS = frozenset({"true", "yes", "on", "ok", "1"})
_NUMBER_PREFIX = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
# timeutils.ParseTimeStr's formats (regutils), the ones a filter value can take: date, ISO
# with or without seconds, a fraction of 3-9 digits, a zone (Z or ±HH:MM); T or a space
_TIME_FORMS = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})"),
    re.compile(
        r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{3,9}))?)?"
        r"(?:(Z)|([+-])(\d{2}):(\d{2}))"
    ),
    re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})"),
    re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3,9})"),
    re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})"),
)
#: Go's zero time: what sqlchemy binds for a value it cannot read as a time
ZERO_TIME = "0001-01-01 00:00:00.000000"


def _mysql_number(text: str) -> float:
    """A string as MySQL casts it to a number: the numeric prefix, or 0.

    >>> _mysql_number("8abc"), _mysql_number("abc"), _mysql_number(" 8.5")
    (8.0, 0.0, 8.5)
    """
    match = _NUMBER_PREFIX.match(text)
    return float(match.group(1)) if match else 0.0


def _float32(value: float) -> float:
    """A value as a FLOAT (4-byte) column stores it: 1.2 is kept as 1.2000000476837158."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except (OverflowError, struct.error):
        return value


def _go_bool(text: str) -> int:
    """sqlchemy's ``ConvertValueToBool``: 1 for ``1 true ok yes on`` (any case), else 0."""
    return 1 if text.lower() in _TRUE_WORDS else 0


@lru_cache(maxsize=65536)
def _parse_datetime(text: str) -> str | None:
    """A time in one of ``timeutils.ParseTimeStr``'s forms → ``YYYY-MM-DD HH:MM:SS.ffffff``
    in UTC (a time without a zone is UTC), else None."""
    text = text.strip()
    for form in _TIME_FORMS:
        match = form.fullmatch(text)
        if match is not None:
            break
    else:
        return None
    parts = list(match.groups()) + [None] * (11 - len(match.groups()))
    year, month, day, hour, minute, second, frac, _z, sign, off_h, off_m = parts
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "")[:6].ljust(6, "0")),
        )
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            value = value - offset if sign == "+" else value + offset
    except (ValueError, OverflowError):
        return None
    return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"


def _record_datetime(value: str) -> str | None:
    """The canonical form of a record string that is a timestamp, else None."""
    if len(value) == 27 and value[26] == "Z" and value[10] == "T" and value[19] == ".":
        return value[:10] + " " + value[11:26]  # the API's own format: no parsing needed
    if len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
        return _parse_datetime(value)
    return None


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _collation_key(text: str) -> str:
    return text.lower().rstrip(" ")


def _classify(value: object) -> tuple[int, object]:
    """(kind, comparison key) of a non-NULL record value."""
    kind = type(value)
    if kind is str:
        if len(value) >= 10 and value[4] == "-" and value[7] == "-":
            stamp = _record_datetime(value)
            if stamp is not None:
                return _TS, stamp
        return _STR, _collation_key(value)
    if kind is bool:
        return _BOOL, int(value)
    if kind is int:
        return _NUM, value
    if kind is float:
        return _FLOAT, _float32(value)
    if kind is dict or kind is list:
        return _STR, _collation_key(_json_text(value))
    if isinstance(value, bool):
        return _BOOL, int(value)
    if isinstance(value, int):
        return _NUM, value
    if isinstance(value, float):
        return _FLOAT, _float32(value)
    return _STR, _collation_key(str(value))


def _format_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value).replace("e+", "e")


def _like_text(value: object) -> str:
    """The text a LIKE sees: what MySQL prints for the column value."""
    kind = type(value)
    if kind is str:
        n = len(value)
        if (
            (n == 27 or n == 20)
            and value[n - 1] == "Z"
            and value[10] == "T"
            and value[13] == ":"
            and value[16] == ":"
        ):
            return value[:10] + " " + value[11:19]  # DATETIME renders without T, fraction, Z
        return value
    if kind is bool or isinstance(value, bool):
        return "1" if value else "0"
    if kind is int:
        return str(value)
    if kind is float:
        return _format_float(value)
    if kind is dict or kind is list:
        return _json_text(value)
    return str(value)


def _arg_keys(arg: str) -> tuple[object, ...]:
    """The argument as it is compared with each kind of column: numbers as MySQL casts a
    string (its numeric prefix, else 0), booleans and times as sqlchemy converts them first
    (false; Go's zero time), never an error, so ``vcpu_count.ge(abc)`` is ``>= 0``
    (cloudpods-api.md §10)."""
    number = _mysql_number(arg)
    return (_collation_key(arg), number, _go_bool(arg), _parse_datetime(arg) or ZERO_TIME, number)


# --------------------------------------------------------------------------------------------
# Compiling one clause


def _non_null(field: str, test: Callable[[object], bool]) -> Predicate:
    def predicate(record: dict) -> bool:
        value = record.get(field)
        return value is not None and test(value)

    return predicate


def _never(record: dict) -> bool:
    return False


def _always(record: dict) -> bool:
    return True


_ORDER = {
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


def _equals_test(args: tuple[str, ...], negate: bool) -> Callable[[object], bool]:
    """``=``/``IN`` (negate=False) or ``NOT (=)``/``NOT IN`` (negate=True) over ``args``."""
    keys = [_arg_keys(a) for a in args]
    sets = tuple(frozenset(k[kind] for k in keys) for kind in range(5))
    if len(args) == 1 and not negate:
        single = keys[0]

        def test_one(value: object) -> bool:
            kind, key = _classify(value)
            return key == single[kind]

        return test_one

    if not negate:

        def test_in(value: object) -> bool:
            kind, key = _classify(value)
            return key in sets[kind]

        return test_in

    def test_not_in(value: object) -> bool:
        kind, key = _classify(value)
        return key not in sets[kind]

    return test_not_in


def _order_test(op: str, arg: str) -> Callable[[object], bool]:
    compare = _ORDER[op]
    keys = _arg_keys(arg)

    def test(value: object) -> bool:
        kind, key = _classify(value)
        return compare(key, keys[kind])

    return test


def _between_test(low: str, high: str) -> Callable[[object], bool]:
    lows, highs = _arg_keys(low), _arg_keys(high)

    def test(value: object) -> bool:
        kind, key = _classify(value)
        return lows[kind] <= key <= highs[kind]

    return test


def _like_regex(pattern: str) -> re.Pattern[str]:
    """A MySQL LIKE pattern (``%``, ``_``, ``\\`` escape) as a case-insensitive regex."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _like_test(op: str, args: tuple[str, ...]) -> Callable[[object], bool]:
    if op == "like":
        matchers = tuple(_like_regex(a).fullmatch for a in args)

        def test_like(value: object) -> bool:
            text = _like_text(value)
            for match in matchers:  # noqa: SIM110 - no generator per record
                if match(text) is not None:
                    return True
            return False

        return test_like
    needles = tuple(a.lower() for a in args)
    if op == "startswith":
        return lambda value: _like_text(value).lower().startswith(needles)
    if op == "endswith":
        return lambda value: _like_text(value).lower().endswith(needles)
    if len(needles) == 1:
        needle = needles[0]
        return lambda value: needle in _like_text(value).lower()

    def test_contains(value: object) -> bool:
        low = _like_text(value).lower()
        for needle in needles:  # noqa: SIM110 - no generator per record
            if needle in low:
                return True
        return False

    return test_contains


def _compile_clause(clause: Clause) -> Predicate | None:
    """A predicate for one clause, or None when the server would drop it."""
    field, op, args = clause.field, clause.op, clause.args
    if op == "isnull":
        return lambda record: record.get(field) is None
    if op == "isnotnull":
        return lambda record: record.get(field) is not None
    if op == "isempty":
        return lambda record: record.get(field) == ""  # NULL and non-strings are not ""
    if op == "isnotempty":
        return lambda record: (v := record.get(field)) is not None and v != ""
    if op == "isnullorempty":
        return lambda record: (v := record.get(field)) is None or v == ""
    if op in ("in", "notin"):
        if not args:
            return _never  # IN () and NOT IN () both compile to the constant 0
        return _non_null(field, _equals_test(args, negate=op == "notin"))
    if op == "equals":
        return _non_null(field, _equals_test(args, negate=False)) if args else None
    if op == "notequals":
        return _non_null(field, _equals_test(args, negate=True)) if len(args) == 1 else None
    if op in _ORDER:
        return _non_null(field, _order_test(op, args[0])) if len(args) == 1 else None
    if op == "between":
        return _non_null(field, _between_test(*args)) if len(args) == 2 else None
    if op in ("like", "contains", "startswith", "endswith"):
        return _non_null(field, _like_test(op, args)) if args else None
    return None


def compile_clause(clause: Clause) -> Predicate | None:
    """The predicate of one parsed clause, or None when the server would drop it (an unknown
    op, the wrong number of arguments), with the rules of :func:`compile_filters`."""
    return _compile_clause(clause)


def _all_of(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return _always
    if len(predicates) == 1:
        return predicates[0]
    chain = tuple(predicates)

    def every(record: dict) -> bool:
        for predicate in chain:  # noqa: SIM110 - no generator per record
            if not predicate(record):
                return False
        return True

    return every


def _any_of(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return _always  # nothing left to OR: the server applies no filter
    if len(predicates) == 1:
        return predicates[0]
    chain = tuple(predicates)

    def some(record: dict) -> bool:
        for predicate in chain:  # noqa: SIM110 - no generator per record
            if predicate(record):
                return True
        return False

    return some


# --------------------------------------------------------------------------------------------
# Public API


def compile_filters(
    filters: Iterable[str] | str,
    *,
    filter_any: bool = False,
    known_fields: Iterable[str] | None = None,
) -> Predicate:
    """Compile the ``filter`` values of a list request into one predicate over a record.

    The clauses are ANDed, or ORed with ``filter_any``. As on the real server, expressions
    that do not parse, name a field outside ``known_fields``, use an unknown op or the
    wrong number of arguments are dropped. With no clause left, every record matches.
    A value the column cannot hold is converted as sqlchemy converts it, to the column's
    zero value (``vcpu_count.ge(abc)`` is ``>= 0``: every row; ``lt(eight)`` none;
    ``created_at.gt('yesterday')`` compares with Go's zero time: every row), as the real
    region answers (cloudpods-api.md §10).
    Raises :class:`FilterArgumentError` for an argument list the server cannot split (the
    real answer is a 500).

    >>> keep = compile_filters(["name.contains('web')", "vcpu_count.ge(4)"])
    >>> keep({"name": "Web-1", "vcpu_count": 8}), keep({"name": "db", "vcpu_count": 8})
    (True, False)
    """
    if isinstance(filters, str):
        filters = [filters]
    columns = None if known_fields is None else frozenset(known_fields)
    predicates: list[Predicate] = []
    for expr in filters:
        try:
            clause = parse_filter(expr)
        except FilterArgumentError:
            raise
        except FilterSyntaxError:
            continue
        if columns is not None and clause.field not in columns:
            continue
        predicate = _compile_clause(clause)
        if predicate is not None:
            predicates.append(predicate)
    return _any_of(predicates) if filter_any else _all_of(predicates)


def search_predicate(
    text: str | Iterable[str],
    fields: tuple[str, ...] | None = ("name",),
) -> Predicate:
    """The ``search`` parameter: a literal, case-insensitive substring of a text field.

    ``text`` may be one value or several (repeated ``search``, ORed). Blank values are
    ignored; with none left every record matches. Only string values are searched, because
    numbers and booleans are not searchable columns. ``fields=None`` searches every string
    value of the record except timestamps, like the server's "all searchable columns".

    >>> search_predicate("WEB")({"name": "my-web-1"})
    True
    """
    terms = [text] if isinstance(text, str) else list(text)
    needles = tuple(t.strip().lower() for t in terms if isinstance(t, str) and t.strip())
    if not needles:
        return _always
    if fields is None:

        def anywhere(record: dict) -> bool:
            for value in record.values():
                if type(value) is str and _record_datetime(value) is None:
                    low = value.lower()
                    for needle in needles:
                        if needle in low:
                            return True
            return False

        return anywhere

    names = (fields,) if isinstance(fields, str) else tuple(fields)

    def in_fields(record: dict) -> bool:
        for name in names:
            value = record.get(name)
            if type(value) is str:
                low = value.lower()
                for needle in needles:
                    if needle in low:
                        return True
        return False

    return in_fields


def exact_predicate(field: str, values: Iterable[str] | str) -> Predicate:
    """An exact filter such as ``status=running&status=ready``: ``field IN (values)``.

    Same comparison rules as the ``in`` op (case-insensitive text, numbers, booleans,
    timestamps). NULL never matches. An empty list applies no filter, as on the server.

    >>> exact_predicate("status", ["running", "ready"])({"status": "Ready"})
    True
    """
    args = (values,) if isinstance(values, str) else tuple(str(v) for v in values)
    if not args:
        return _always
    return _non_null(field, _equals_test(args, negate=False))
