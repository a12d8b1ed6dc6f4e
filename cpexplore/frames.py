"""Turn Cloudpods list records into tidy, typed pandas DataFrames.

Cloudpods list answers are lists of flat-ish JSON objects in which *every* field is
optional: empty strings and nulls are left out, and which fields appear depends on
``details``, privilege and server version (cloudpods-api.md §3.4, §8.2 D14).  This module turns such
a list into a :class:`pandas.DataFrame` with one row per record and compact, honest dtypes:

* strings like ``2026-11-26T23:54:23.000000Z`` in ``*_at`` columns (and in any other
  column whose every value is such a timestamp) become ``datetime64[ns, UTC]``;
* integer columns are ``int64``, or the nullable ``Int64`` when some records lack the
  field: never narrower, so ``vcpu_count * 1000`` or ``vmem_size * 1024**2`` cannot wrap
  (memory is saved with categories instead);
* booleans become ``bool`` (or nullable ``boolean``); int/float mixes become ``float64``;
* repeated strings (status, zone, tenant, …) become ``category``; unique ones (``id``,
  ``name``) stay ``object``;
* a column of small flat dicts (``metadata``, ``_i18n``, ``spec``) is spread into
  ``parent.key`` columns; lists (``nics``, ``disks_info``) stay whole in one object cell;
* anything else, including mixed-type columns, stays ``object`` with the values untouched.

Nothing here talks HTTP, and the input records are never modified.

Example:
    >>> df = records_to_frame([
    ...     {"name": "vm1", "id": "a1", "status": "running", "vcpu_count": 2},
    ...     {"id": "b2", "name": "vm2", "status": "running"},
    ... ])
    >>> list(df.columns)
    ['id', 'name', 'status', 'vcpu_count']
    >>> str(df["vcpu_count"].dtype), str(df["status"].dtype)
    ('Int64', 'category')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

# pandas' default text dtype ("str"): Arrow-backed strings, NaN where a value is missing
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def records_to_frame(
    records: list[dict],
    *,
    key_columns: Sequence[str] = ("id", "name", "status"),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build a typed DataFrame from a list of Cloudpods records (one row per record).

    The columns are the union of the records' keys in first-seen order, with the
    ``key_columns`` that are present moved to the front (in the order given).  Small
    flat dict fields are spread into ``parent.key`` columns placed where the parent was.

    With ``columns=[...]`` the frame has exactly those columns in that order
    (``key_columns`` is then ignored); a name no record carries becomes an all-missing
    ``object`` column.  Naming a dict field (``"metadata"``) keeps it as one column of
    dicts; naming ``"parent.key"`` picks that key out of a dict field even when the field
    would not be spread automatically.

    Args:
        records: the records of a list answer (mappings); they are not modified.
        key_columns: columns to put first when present.
        columns: if given, the exact columns wanted, in order.

    Returns:
        A DataFrame with a fresh ``RangeIndex``; ``len(df) == len(records)``.  An empty
        ``records`` gives an empty frame (no columns unless ``columns`` was given).

    Raises:
        TypeError: if a record is not a mapping or ``columns`` is a plain string.
        ValueError: if ``columns`` names a column twice.

    Example:
        >>> df = records_to_frame(
        ...     [{"id": "x", "created_at": "2026-11-26T23:54:23.000000Z",
        ...       "metadata": {"env": "prod"}}],
        ...     columns=["id", "metadata.env", "zone"],
        ... )
        >>> list(df.columns), str(df["zone"].dtype)
        (['id', 'metadata.env', 'zone'], 'object')
    """
    recs = _record_list(records)
    n = len(recs)
    wanted = _wanted_columns(columns)

    keys = _ordered_keys(recs)
    taken = set(keys)
    if wanted is not None:
        needed = set(wanted) | {c.split(".", 1)[0] for c in wanted if isinstance(c, str)}
        keys = [k for k in keys if k in needed]

    data: dict[Any, Any] = {}
    for key, raw in zip(keys, _raw_columns(recs, keys), strict=True):
        for name, array in _build_columns(key, raw, taken, wanted):
            data[name] = array

    if wanted is not None:
        order = list(wanted)
        for name in order:
            if name not in data:
                data[name] = np.full(n, None, dtype=object)
    else:
        present = [k for k in key_columns if k in data]
        first = set(present)
        order = present + [k for k in data if k not in first]

    index = pd.RangeIndex(n)
    if not order:
        return pd.DataFrame(index=index)
    return pd.DataFrame(
        {name: as_series(data[name], index) for name in order}, index=index, copy=False
    )


def typed_column(name: str, values: Iterable[Any], index: pd.Index | None = None) -> pd.Series:
    """One column typed by the rules of :func:`records_to_frame` (``None``/NaN are missing).

    Example:
        >>> str(typed_column("zone", ["a", "a", None]).dtype)
        'category'
    """
    raw = np.array(list(values), dtype=object)
    mask = pd.isna(raw)
    raw[mask] = None
    array = _convert(name, raw, infer_dtype(raw, skipna=True))
    return as_series(array, pd.RangeIndex(len(raw)) if index is None else index)


def with_schema(df: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """``df`` with an all-missing column for each of ``names`` it lacks, added at the end
    (an empty ``category`` column, so absent fields cost almost no memory).

    Real records leave empty fields out, so a field can be absent from every row of one
    cloud; the resource's known fields are always columns, so code written against one
    cloud runs on another. A dict field spread into ``name.key`` columns counts as present.

    Example:
        >>> list(with_schema(pd.DataFrame({"id": ["a"], "spec.cpu": [2]}), ["spec", "zone"]).columns)
        ['id', 'spec.cpu', 'zone']
    """
    have = set(df.columns) | {str(c).split(".", 1)[0] for c in df.columns}
    missing = [n for n in names if n not in have]
    if not missing:
        return df
    # an empty category column costs one byte a row, however many fields are absent
    codes = np.full(len(df), -1, dtype=np.int8)
    empty = {
        n: pd.Series(pd.Categorical.from_codes(codes, categories=[]), index=df.index)
        for n in missing
    }
    out = pd.concat([df, pd.DataFrame(empty, index=df.index)], axis=1)
    out.attrs = dict(df.attrs)
    return out


def frame_memory(df: pd.DataFrame) -> int:
    """Return the deep memory use of ``df`` in bytes (index included).

    Example:
        >>> frame_memory(records_to_frame([])) >= 0
        True
    """
    return int(df.memory_usage(deep=True, index=True).sum())


# --------------------------------------------------------------------------- helpers


def _record_list(records: Iterable[Mapping[Any, Any]]) -> list[dict[Any, Any]]:
    """Return ``records`` as a list of dicts; other mappings are copied into dicts.

    The caller's list and records are never modified.

    Example:
        >>> from types import MappingProxyType
        >>> _record_list((MappingProxyType({"a": 1}),))
        [{'a': 1}]
    """
    recs = records if isinstance(records, list) else list(records)
    if all(type(r) is dict for r in recs):  # the usual case, checked cheaply
        return recs
    out: list[dict[Any, Any]] = []
    for i, r in enumerate(recs):
        if type(r) is dict:
            out.append(r)
        elif isinstance(r, Mapping):
            out.append(dict(r))
        else:
            raise TypeError(f"record {i} is a {type(r).__name__}, not a mapping")
    return out


def _wanted_columns(columns: Sequence[str] | None) -> list[str] | None:
    """Validate the ``columns=`` argument and return it as a list (or ``None``).

    Example:
        >>> _wanted_columns(("id", "name"))
        ['id', 'name']
    """
    if columns is None:
        return None
    if isinstance(columns, str):
        raise TypeError("columns must be a sequence of column names, not a string")
    wanted = list(columns)
    if len(set(wanted)) != len(wanted):
        dupes = sorted({c for c in wanted if wanted.count(c) > 1}, key=str)
        raise ValueError(f"columns names these more than once: {dupes}")
    return wanted


def _ordered_keys(dicts: Sequence[Mapping[Any, Any]]) -> list[Any]:
    """Union of the keys of ``dicts`` in first-seen order.

    The set of all keys is found in C (``set().union``); the loop over records stops as
    soon as every key has been placed, and skips records that bring nothing new.

    Example:
        >>> _ordered_keys([{"b": 1, "a": 2}, {"c": 3, "a": 4}])
        ['b', 'a', 'c']
    """
    if not dicts:
        return []
    total = len(set().union(*dicts))
    order: dict[Any, None] = {}
    for d in dicts:
        if d.keys() <= order.keys():
            continue
        for k in d:
            order.setdefault(k)
        if len(order) == total:
            break
    return list(order)


def _raw_columns(dicts: list[dict[Any, Any]], keys: list[Any]) -> list[np.ndarray]:
    """One ``object`` array per key, in order; a missing key gives NaN (``None`` stays).

    The transposition is done by pandas in C (``pd.DataFrame(list_of_dicts,
    dtype=object)``), which is several times faster than a Python loop per column.

    Example:
        >>> [a.tolist() for a in _raw_columns([{"a": 1}, {"b": None}], ["a", "b"])]
        [[1, nan], [nan, None]]
    """
    if not keys:
        return []
    block = pd.DataFrame(dicts, columns=pd.Index(keys, dtype=object), dtype=object).to_numpy()
    return [block[:, i] for i in range(len(keys))]


def _build_columns(
    key: Any,
    raw: np.ndarray,
    taken: set[Any],
    wanted: list[str] | None,
) -> list[tuple[Any, Any]]:
    """Convert one top-level field into ``(name, array)`` pairs (several if spread).

    Example:
        >>> [n for n, _ in _build_columns("m", _raw_columns([{"m": {"a": 1}}], ["m"])[0],
        ...                               {"m"}, None)]
        ['m.a']
    """
    kind = infer_dtype(raw, skipna=True)
    if kind == "mixed" and isinstance(key, str):
        mask = pd.isna(raw)
        if _all_dicts(raw, mask):
            spread = _spread_dict(key, raw, mask, taken, wanted)
            if spread is not None:
                taken.update(name for name, _ in spread)
                return spread
            return [(key, _object_array(raw, mask))]
    return [(key, _convert(key, raw, kind))]


def _all_dicts(raw: np.ndarray, mask: np.ndarray) -> bool:
    """True if every present value is a ``dict`` (and there is at least one).

    Example:
        >>> _all_dicts(np.array([{}, None, {"a": 1}]), np.array([False, True, False]))
        True
    """
    present = raw[~mask]
    return len(present) > 0 and all(type(v) is dict for v in present)


def _spread_dict(
    key: str,
    raw: np.ndarray,
    mask: np.ndarray,
    taken: set[Any],
    wanted: list[str] | None,
    max_keys: int = 32,
) -> list[tuple[Any, Any]] | None:
    """Spread a column of dicts into ``key.sub`` columns, or ``None`` to keep it whole.

    Automatic (``wanted is None``): only when the dicts hold scalars only, there are
    1..``max_keys`` distinct sub-keys (all strings) and no ``key.sub`` name clashes
    with another column.  With ``wanted``: the parent is kept whole if it was named,
    and every named ``key.sub`` is picked out whatever it holds.

    Example:
        >>> raw = np.array([{"cpu": 8}, {"mem": 1}])
        >>> [n for n, _ in _spread_dict("spec", raw, np.zeros(2, bool), {"spec"}, None)]
        ['spec.cpu', 'spec.mem']
    """
    empty: dict[str, Any] = {}
    dicts = [empty if missing else value for value, missing in zip(raw, mask, strict=True)]
    if wanted is not None:
        prefix = key + "."
        out: list[tuple[Any, Any]] = []
        if key in wanted:
            out.append((key, _object_array(raw, mask)))
        names = [c for c in wanted if isinstance(c, str) and c.startswith(prefix)]
        names = [c for c in names if c not in taken]
        subkeys = [c[len(prefix) :] for c in names]
        for name, sub_raw in zip(names, _raw_columns(dicts, subkeys), strict=True):
            out.append((name, _convert(name, sub_raw, infer_dtype(sub_raw, skipna=True))))
        return out

    subkeys = _ordered_keys(dicts)
    if not subkeys or len(subkeys) > max_keys:
        return None
    if not all(isinstance(s, str) for s in subkeys):
        return None
    names = [f"{key}.{s}" for s in subkeys]
    if any(name in taken for name in names):
        return None
    scalar_kinds = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}
    scalar_types = {str, int, float, bool}
    columns = []
    for name, sub_raw in zip(names, _raw_columns(dicts, subkeys), strict=True):
        kind = infer_dtype(sub_raw, skipna=True)
        if kind not in scalar_kinds and not all(
            type(v) in scalar_types for v in sub_raw[~pd.isna(sub_raw)]
        ):
            return None
        columns.append((name, sub_raw, kind))
    return [(name, _convert(name, sub_raw, kind)) for name, sub_raw, kind in columns]


def _convert(name: Any, raw: np.ndarray, kind: str) -> Any:
    """Convert one ``object`` column of scalars to the best array type.

    ``kind`` is ``pandas.api.types.infer_dtype(raw, skipna=True)``; missing values
    (absent key, ``None`` or NaN) become NA of the chosen type.

    Example:
        >>> _convert("n", np.array([1, 2, 300], dtype=object), "integer").dtype
        dtype('int64')
    """
    if kind == "string":
        return _string_array(name, raw)
    mask = pd.isna(raw)
    if kind == "integer":
        return _int_array(raw, mask)
    if kind == "boolean":
        return _bool_array(raw, mask)
    if kind in ("floating", "mixed-integer-float"):
        return _float_array(raw, mask, kind)
    return _object_array(raw, mask)


def _int_array(raw: np.ndarray, mask: np.ndarray) -> Any:
    """``int64`` array, nullable ``Int64`` if values are missing.

    Python ints outside int64 leave the column as ``object`` (exact, never wrapped).

    Example:
        >>> raw = np.array([1, None, 70000], dtype=object)
        >>> _int_array(raw, pd.isna(raw)).dtype
        Int64Dtype()
    """
    has_missing = bool(mask.any())
    try:
        values = (raw[~mask] if has_missing else raw).astype(np.int64)
    except (OverflowError, TypeError, ValueError):
        return _object_array(raw, mask)
    if not has_missing:
        return values
    full = np.zeros(len(raw), dtype=np.int64)
    full[~mask] = values
    return pd.arrays.IntegerArray(full, mask.copy())


def _bool_array(raw: np.ndarray, mask: np.ndarray) -> Any:
    """``bool`` array, or nullable ``boolean`` when values are missing.

    Example:
        >>> raw = np.array([True, None], dtype=object)
        >>> _bool_array(raw, pd.isna(raw)).dtype
        BooleanDtype
    """
    if not mask.any():
        return raw.astype(bool)
    full = np.zeros(len(raw), dtype=bool)
    full[~mask] = raw[~mask].astype(bool)
    return pd.arrays.BooleanArray(full, mask.copy())


def _float_array(raw: np.ndarray, mask: np.ndarray, kind: str) -> Any:
    """``float64`` array (missing → NaN) unless an int would lose precision.

    Example:
        >>> raw = np.array([1, 2.5, None], dtype=object)
        >>> _float_array(raw, pd.isna(raw), "mixed-integer-float").tolist()
        [1.0, 2.5, nan]
    """
    present = raw[~mask]
    if kind == "mixed-integer-float":
        exact = 2**53
        if any(type(v) is int and not -exact <= v <= exact for v in present):
            return _object_array(raw, mask)
    full = np.full(len(raw), np.nan, dtype=np.float64)
    full[~mask] = present.astype(np.float64)
    return full


def _string_array(name: Any, raw: np.ndarray) -> Any:
    """Timestamps, categories or text (pandas' ``str``) for an all-string column.

    * ``*_at`` names: parsed as UTC timestamps, unparsable values become NaT.
    * Other names: parsed only if the first value looks like an ISO 8601 date-time
      with a zone and *every* value parses (so nothing is lost).
    * Otherwise ``category`` (sorted categories) when there are at least 2 values and
      distinct values are at most half of them (never for ``id``); else ``str``.

    Example:
        >>> str(_string_array("st", np.array(["up", "up", None], dtype=object)).dtype)
        'category'
    """
    if isinstance(name, str) and name.endswith("_at"):
        return utc_timestamps(raw)
    codes, uniques = pd.factorize(raw)  # missing -> -1; uniques in first-seen order
    mask = codes < 0
    n_present = len(raw) - int(mask.sum())
    if looks_like_timestamp(uniques[0]):
        stamps = utc_timestamps(raw)
        if len(raw) - int(stamps.isna().sum()) == n_present:
            return stamps
    if name != "id" and n_present >= 2 and len(uniques) <= n_present / 2:
        order = np.argsort(uniques)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = np.where(mask, -1, rank[codes])
        categories = pd.Index(np.asarray(uniques, dtype=object)[order])
        return pd.Categorical.from_codes(codes, categories=categories)
    return text_array(raw, mask)


def text_array(raw: np.ndarray, mask: np.ndarray) -> Any:
    """Text in pandas' own ``str`` dtype (Arrow-backed: compact, NaN where missing).

    Example:
        >>> a = text_array(np.array(["a", None], dtype=object), np.array([False, True]))
        >>> str(a.dtype), a[0]
        ('str', 'a')
    """
    out = raw.copy()
    out[mask] = None
    return pd.array(out, dtype=TEXT)


def looks_like_timestamp(value: str) -> bool:
    """True for an ISO 8601 date-time with a zone, as Cloudpods writes them.

    Example:
        >>> looks_like_timestamp("2026-11-26T23:54:23.000000Z"), looks_like_timestamp("x")
        (True, False)
    """
    pattern = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
    return re.fullmatch(pattern, value) is not None


def utc_timestamps(raw: np.ndarray) -> Any:
    """Parse strings to ``datetime64[ns, UTC]``; anything unparsable becomes NaT.

    Dates outside the nanosecond range (such as Go's zero time ``0001-01-01``)
    become NaT too.

    Example:
        >>> stamps = utc_timestamps(np.array(["2026-11-27T07:54:58+08:00", "junk"]))
        >>> str(stamps.dtype), str(stamps[0]), stamps.isna().tolist()
        ('datetime64[ns, UTC]', '2026-11-26 23:54:58+00:00', [False, True])
    """
    stamps = pd.to_datetime(
        pd.Series(raw, dtype=object, copy=False),
        format="ISO8601",
        utc=True,
        errors="coerce",
    )
    unit = getattr(stamps.dt, "unit", "ns")
    if unit != "ns":
        low = pd.Timestamp.min.tz_localize("UTC")
        high = pd.Timestamp.max.tz_localize("UTC")
        stamps = stamps.where((stamps >= low) & (stamps <= high))
        stamps = stamps.dt.as_unit("ns")
    return stamps.array


def _object_array(raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A fresh ``object`` array of the values as they are, ``None`` where missing.

    Example:
        >>> raw = np.array([[1, 2], float("nan")], dtype=object)
        >>> _object_array(raw, pd.isna(raw)).tolist()
        [[1, 2], None]
    """
    out = raw.copy()
    out[mask] = None
    return out


def as_series(array: Any, index: pd.Index) -> pd.Series:
    """Wrap an array so that pandas keeps its dtype (no string inference).

    Example:
        >>> as_series(np.array(["a"], dtype=object), pd.RangeIndex(1)).dtype
        dtype('O')
    """
    if isinstance(array, np.ndarray) and array.dtype == object:
        return pd.Series(array, index=index, dtype=object, copy=False)
    return pd.Series(array, index=index, copy=False)
