"""climc's filter grammar ``field.op(args)``, checked before anything is asked
(:func:`parse_filter`, :func:`check_value`), and the server's matching rules applied to
fetched rows for the filters and sorts it would ignore (:func:`apply_filters`,
:func:`sort_frame`; which those are: :mod:`.plan`). Pure functions.
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ..errors import ConfigError, did_you_mean

# climc's filter operators and how many arguments each takes: (at least, at most).
FILTER_OPS: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(("in", "notin"), (0, None)),
    "between": (2, 2),
    **dict.fromkeys(("ge", "gt", "le", "lt"), (1, 1)),
    **dict.fromkeys(("like", "contains", "startswith", "endswith", "equals"), (1, None)),
    "notequals": (1, 1),
    **dict.fromkeys(("isnull", "isnotnull", "isempty", "isnotempty", "isnullorempty"), (0, 0)),
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
        with contextlib.suppress(ValueError):  # e.g. 2026-02-30
            stamp = pd.Timestamp(text.replace(" ", "T").removesuffix("Z"))
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if kind not in _KIND_WORDS:
        return arg
    raise ValueError(f"{arg!r} is not {_KIND_WORDS[kind][0]}")


def _server_reads_time(
    sep: str | None, second: str | None, frac: str | None, zone: str | None
) -> bool:
    """Whether timeutils.ParseTimeStr reads a time of this shape (else: Go's zero time)."""
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
        inexact = kind == "float32" and struct.unpack("f", struct.pack("f", value))[0] != value
        if inexact and flt.op in ("equals", "notequals", "in", "notin"):
            raise ConfigError(
                f"filter {flt.text!r}: {where} holds 4-byte floats, which never equal {arg} "
                "exactly (a real region answers no rows)",
                hint=f"compare a range instead, e.g. {_KIND_WORDS[kind][1]}",
            )


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


def as_list(value: str | Iterable[str] | None) -> list[str]:
    """One name or several as a list of names.

    >>> as_list("zone"), as_list(("a", "b")), as_list(None)
    (['zone'], ['a', 'b'], [])
    """
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
    >>> apply_filters(df, [parse_filter("zone.in('ZONE-b')")])["n"].tolist()
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
    op, args = flt.op, flt.args
    if flt.field in df.columns:
        col = df[flt.field]
    else:
        col = pd.Series([None] * len(df), dtype=object, index=df.index)
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
            return np.zeros(len(df), dtype=bool)
        hit = values.isin(wanted).to_numpy(dtype=bool)
        return ~missing & (~hit if op in ("notequals", "notin") else hit)
    if op == "between":
        low, high = (_arg(col, flt, a) for a in args)
        return _compare(values, "ge", low) & _compare(values, "le", high)
    return _compare(values, op, _arg(col, flt, args[0]))


def _text(col: pd.Series) -> pd.Series:
    """A column as nullable strings, as the database prints its values for ``LIKE``."""
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
    """``arg`` read as the server reads a value of the column's kind (or ``ConfigError``)."""
    kind = _kind(col)
    check_value(Filter(flt.field, flt.op, (arg,), flt.text), kind, f"the column {col.name!r}")
    value = read_value(kind, arg)
    if kind == "bool":
        return int(value)
    if kind == "text":
        return arg.casefold().rstrip(" ")
    return value


_COMPARE = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


def _compare(values: pd.Series, op: str, arg: Any) -> np.ndarray:
    return pd.Series(_COMPARE[op](values, arg)).fillna(False).to_numpy(dtype=bool)


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
    return df.sort_values(
        present,
        ascending=not descending,
        kind="stable",
        na_position="last" if descending else "first",
        key=lambda col: _comparable(col) if _kind(col) == "text" else col,
    ).reset_index(drop=True)


__all__ = [
    "FILTER_OPS",
    "VALUE_OPS",
    "Filter",
    "parse_filter",
    "read_value",
    "check_value",
    "as_list",
    "apply_filters",
    "filter_mask",
    "sort_frame",
]
