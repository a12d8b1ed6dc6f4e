"""The dtype rules of every list frame, in one place.

Records leave empty fields out, and which appear depends on ``details``, privilege and
version (cloudpods-api.md §3.4, §8.2 D14). However a column is built (either decoding path of
:mod:`.decode`, the lean joins, :func:`cpexplore.gather`), it becomes:

=========================================================  =================================
what the column holds                                       dtype
=========================================================  =================================
text, in a field named ``*_at``                             ``datetime64[ns, UTC]`` (bad: NaT)
text, every value an ISO 8601 time with a zone              ``datetime64[ns, UTC]``
text, ``id``                                                ``str``
text, at least 2 values, at most half of them distinct     ``category`` (sorted categories)
other text                                                  ``str`` (Arrow-backed)
whole numbers                                               ``int64``; ``Int64`` if some miss
booleans                                                    ``bool``; ``boolean`` if some miss
numbers with a fraction, or whole and fractional            ``float64``
a small flat dict (1-32 text keys of scalars)               spread into ``parent.key`` columns
lists, other dicts, mixed types, integers past int64        ``object``: the values as they are
nothing at all                                              ``object``, all ``None``
=========================================================  =================================

Numbers are never narrower than 64 bits, so ``vcpu_count * 1000`` cannot wrap; memory is saved
with categories instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

# pandas' default text dtype ("str"): Arrow-backed strings, NaN where a value is missing
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
#: a dict field with more keys than this stays one column of dicts
MAX_SPREAD = 32
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
)


# -- the rules ---------------------------------------------------------------------------------
def text_dtype(name: str, *, present: int, distinct: int, all_times: bool) -> str:
    """``"time"``, ``"category"`` or ``"str"`` for a column of text.

    ``all_times``: the first value looks like a time (:func:`looks_like_timestamp`) and
    every value parses as one (so nothing is lost).

    >>> [text_dtype(n, present=3, distinct=1, all_times=False) for n in ("created_at", "zone", "id")]
    ['time', 'category', 'str']
    """
    if name.endswith("_at") or all_times:
        return "time"
    if name != "id" and present >= 2 and distinct <= present / 2:
        return "category"
    return "str"


def number_dtype(kind: str, *, missing: bool) -> str:
    """The dtype of a column of ``integer``, ``boolean`` or ``floating`` values.

    >>> number_dtype("integer", missing=False), number_dtype("boolean", missing=True)
    ('int64', 'boolean')
    """
    if kind == "integer":
        return "Int64" if missing else "int64"
    if kind == "boolean":
        return "boolean" if missing else "bool"
    return "float64"


def spreads(keys: Sequence[Any], *, scalars: bool, taken: Iterable[str], name: str) -> bool:
    """Whether a column of dicts is spread into ``name.key`` columns: 1 to ``MAX_SPREAD``
    text keys, scalar values only, and no ``name.key`` that another column already has.

    >>> spreads(["cpu", "mem"], scalars=True, taken={"spec"}, name="spec")
    True
    """
    if not (0 < len(keys) <= MAX_SPREAD and scalars and all(isinstance(k, str) for k in keys)):
        return False
    return not set(taken) & {f"{name}.{k}" for k in keys}


# -- columns of those dtypes ------------------------------------------------------------------
def looks_like_timestamp(value: Any) -> bool:
    """True for an ISO 8601 date-time with a zone, as Cloudpods writes them.

    >>> looks_like_timestamp("2026-11-26T23:54:23.000000Z"), looks_like_timestamp("x")
    (True, False)
    """
    return isinstance(value, str) and _TIMESTAMP.fullmatch(value) is not None


def utc_timestamps(raw: Any) -> Any:
    """Strings as ``datetime64[ns, UTC]``; anything unparsable (or outside the nanosecond
    range, like Go's zero time ``0001-01-01``) becomes NaT.

    >>> stamps = utc_timestamps(np.array(["2026-11-27T07:54:58+08:00", "junk"]))
    >>> str(stamps.dtype), str(stamps[0]), stamps.isna().tolist()
    ('datetime64[ns, UTC]', '2026-11-26 23:54:58+00:00', [False, True])
    """
    stamps = pd.to_datetime(
        pd.Series(raw, dtype=object, copy=False), format="ISO8601", utc=True, errors="coerce"
    )
    if getattr(stamps.dt, "unit", "ns") != "ns":
        low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        stamps = stamps.where((stamps >= low) & (stamps <= high)).dt.as_unit("ns")
    return stamps.array


def categorical(codes: np.ndarray, uniques: Sequence[Any]) -> pd.Categorical:
    """A category column from first-seen ``codes`` (-1: missing), its categories sorted.

    >>> categorical(np.array([1, 0, -1]), ["b", "a"]).tolist()
    ['a', 'b', nan]
    """
    order = np.argsort(np.asarray(uniques, dtype=object))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.where(codes < 0, -1, rank[np.maximum(codes, 0)])
    categories = pd.Index(np.asarray(uniques, dtype=object)[order])
    return pd.Categorical.from_codes(codes, categories=categories)


def as_series(array: Any, index: pd.Index) -> pd.Series:
    """Wrap an array so that pandas keeps its dtype (no string inference).

    >>> as_series(np.array(["a"], dtype=object), pd.RangeIndex(1)).dtype
    dtype('O')
    """
    if isinstance(array, np.ndarray) and array.dtype == object:
        return pd.Series(array, index=index, dtype=object, copy=False)
    return pd.Series(array, index=index, copy=False)


def with_schema(df: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """``df`` with an empty ``category`` column (one byte a row) at the end for each of
    ``names`` it lacks, so code written against one cloud runs on another. A dict field
    spread into ``name.key`` columns counts as present.

    >>> list(with_schema(pd.DataFrame({"id": ["a"], "spec.cpu": [2]}), ["spec", "zone"]).columns)
    ['id', 'spec.cpu', 'zone']
    """
    have = set(df.columns) | {str(c).split(".", 1)[0] for c in df.columns}
    missing = [n for n in names if n not in have]
    if not missing:
        return df
    empty = {n: pd.Series(_no_values(len(df)), index=df.index) for n in missing}
    out = pd.concat([df, pd.DataFrame(empty, index=df.index)], axis=1)
    out.attrs = dict(df.attrs)
    return out


def _no_values(n: int) -> pd.Categorical:
    """An empty category column (one byte a row)."""
    return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])


def concat_frames(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames of one resource stacked, each column typed by the parts that have values in
    it: a part without it widens integers to ``Int64`` and booleans to ``boolean`` (never
    floats), categories stay categories (their categories joined), an empty column is an
    empty category.

    >>> a = pd.DataFrame({"n": [1, 2]}); b = pd.DataFrame({"z": ["x"]})
    >>> out = concat_frames([a, b]); str(out["n"].dtype), out["n"].tolist()
    ('Int64', [1, 2, <NA>])
    """
    parts = [p for p in parts if len(p)]
    names = list(dict.fromkeys(c for p in parts for c in p.columns))
    data = {}
    for name in names:
        pieces = [p[name] if name in p.columns and p[name].notna().any() else None for p in parts]
        present = [x for x in pieces if x is not None]
        if not present:
            data[name] = pd.Series(_no_values(sum(map(len, parts))))
            continue
        dtype = present[0].dtype
        categorical_ = all(isinstance(x.dtype, pd.CategoricalDtype) for x in present)
        if not categorical_ and pd.api.types.is_integer_dtype(dtype):
            dtype = pd.Int64Dtype()
        elif pd.api.types.is_bool_dtype(dtype):
            dtype = pd.BooleanDtype()
        filled = [
            (x.astype(object) if categorical_ else x.astype(dtype) if x.dtype != dtype else x)
            if x is not None
            else pd.Series([None] * len(p), dtype=object if categorical_ else dtype)
            for x, p in zip(pieces, parts, strict=True)
        ]
        joined = pd.concat(filled, ignore_index=True)
        data[name] = joined.astype("category") if categorical_ else joined
    return pd.DataFrame(data)


def frame_memory(df: pd.DataFrame) -> int:
    """The deep memory use of ``df`` in bytes (index included).

    >>> frame_memory(pd.DataFrame()) >= 0
    True
    """
    return int(df.memory_usage(deep=True, index=True).sum())


__all__ = [
    "TEXT",
    "MAX_SPREAD",
    "text_dtype",
    "number_dtype",
    "spreads",
    "looks_like_timestamp",
    "utc_timestamps",
    "categorical",
    "as_series",
    "with_schema",
    "concat_frames",
    "frame_memory",
]
