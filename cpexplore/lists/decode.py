"""List pages → typed DataFrames: Arrow columns straight from the JSON bytes, or dicts.

:func:`read_page` parses a page with pyarrow's JSON reader (in C++, while other pages are on
the way), or with orjson into dicts where Arrow cannot hold it exactly (mixed types, integers
past 2⁵³, text it would turn into timestamps). :func:`tables_to_frame` (Arrow) and
:func:`records_to_frame` (dicts) type columns by the same rules (:mod:`.dtypes`).

>>> page = read_page(b'{"servers":[{"id":"a","n":1},{"id":"b"}],"total":2}', "servers")
>>> page.envelope, page.ids
({'total': 2}, ['a', 'b'])
>>> df = pages_to_frame([page.rows])
>>> df["n"].tolist(), str(df["n"].dtype)
([1, <NA>], 'Int64')
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from pandas.api.types import infer_dtype

from ..errors import ProtocolError
from .dtypes import (
    TEXT,
    as_series,
    categorical,
    looks_like_timestamp,
    number_dtype,
    spreads,
    text_dtype,
    utc_timestamps,
)
from .pages import Page, page_from_body

_EXACT_FLOAT_INT = 2.0**53  # past it, a float does not hold every integer
_SCALAR = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)


def read_page(body: bytes, list_key: str, columns: Sequence[str] | None = None) -> Page:
    """One list answer as a :class:`~cpexplore.lists.pages.Page`: Arrow columns when Arrow
    can hold them exactly, else dicts; ``columns`` keeps only the fields they need."""
    parsed = page_table(body, list_key)
    if parsed is None:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise ProtocolError(
                f"the list answer for {list_key} is not JSON ({len(body)} bytes)",
                hint="the server or a proxy sent a broken answer; retry, and check the URL",
            ) from e
        return page_from_body(decoded, list_key)
    table, envelope = parsed
    ids = table.column("id").to_pylist() if "id" in table.column_names else []
    if len(ids) != table.num_rows:
        ids = [None] * table.num_rows
    if columns is not None:
        bases = {c.split(".", 1)[0] for c in columns}
        table = table.select([c for c in table.column_names if c in bases])
    return Page(envelope, ids, arrow_page(table))


def page_fields(page: Page) -> set[str]:
    """The fields the records of a page have."""
    if isinstance(page.rows, ArrowPage):
        return set(page.rows.table.column_names)
    return set().union(*page.rows) if page.rows else set()


def pages_to_frame(chunks: list[Any], *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The pages of one list as one typed frame: Arrow pages joined as columns; pages that
    came as dicts (or Arrow pages that cannot be joined exactly) through the dicts."""
    if chunks and all(isinstance(c, ArrowPage | pa.Table) for c in chunks):
        frame = tables_to_frame(chunks, columns=columns)
        if frame is not None:
            return frame
    records: list[dict] = []
    for chunk in chunks:
        if isinstance(chunk, ArrowPage):
            chunk = chunk.table
        records.extend(table_records(chunk) if isinstance(chunk, pa.Table) else chunk)
    return records_to_frame(records, columns=columns)


# -- the dict path -----------------------------------------------------------------------------
def records_to_frame(
    records: list[dict],
    *,
    key_columns: Sequence[str] = ("id", "name", "status"),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Records (mappings, left unchanged) as a typed frame, one row each, fresh index.

    Columns are the records' keys in first-seen order, ``key_columns`` first; small flat
    dicts are spread into ``parent.key`` columns. ``columns=[...]`` gives exactly those
    columns in order (one no record has: all ``None``); naming a dict field keeps it whole,
    ``"parent.key"`` picks one key out of it. ``TypeError`` for a record that is not a
    mapping or a string ``columns``; ``ValueError`` for a column named twice.

    >>> recs = [{"id": "x", "created_at": "2026-11-26T23:54:23Z", "metadata": {"env": "prod"}}]
    >>> df = records_to_frame(recs, columns=["id", "metadata.env", "zone"])
    >>> list(df.columns), str(df["zone"].dtype)
    (['id', 'metadata.env', 'zone'], 'object')
    """
    recs = _record_list(records)
    wanted = _wanted_columns(columns)
    keys = _ordered_keys(recs)
    taken = set(keys)
    if wanted is not None:
        needed = set(wanted) | {c.split(".", 1)[0] for c in wanted if isinstance(c, str)}
        keys = [k for k in keys if k in needed]
    index = pd.RangeIndex(len(recs))
    data: dict[Any, pd.Series] = {}
    for key, raw in zip(keys, _raw_columns(recs, keys), strict=True):
        for name, array in _build_columns(key, raw, taken, wanted):
            data[name] = as_series(array, index)
    return _frame(data, index, wanted, key_columns)


def _frame(
    data: dict[Any, pd.Series], index: pd.Index, wanted: list | None, key_columns: Sequence[str]
) -> pd.DataFrame:
    """The columns in order: ``wanted`` (absent ones all ``None``), else key columns first."""
    if wanted is not None:
        order = list(wanted)
        for name in order:
            if name not in data:
                data[name] = as_series(np.full(len(index), None, dtype=object), index)
    else:
        first = [k for k in key_columns if k in data]
        seen = set(first)
        order = first + [k for k in data if k not in seen]
    if not order:
        return pd.DataFrame(index=index)
    return pd.DataFrame({k: data[k] for k in order}, index=index, copy=False)


def typed_column(name: str, values: Iterable[Any], index: pd.Index | None = None) -> pd.Series:
    """One column typed by the rules of :func:`records_to_frame` (``None``/NaN are missing).

    >>> str(typed_column("zone", ["a", "a", None]).dtype)
    'category'
    """
    raw = np.array(list(values), dtype=object)
    mask = pd.isna(raw)
    raw[mask] = None
    array = convert_values(name, raw, infer_dtype(raw, skipna=True))
    return as_series(array, pd.RangeIndex(len(raw)) if index is None else index)


def _record_list(records: Iterable[Mapping[Any, Any]]) -> list[dict[Any, Any]]:
    """``records`` as a list of dicts (other mappings copied; the caller's left unchanged)."""
    recs = records if isinstance(records, list) else list(records)
    if all(type(r) is dict for r in recs):  # the usual case, checked cheaply
        return recs
    for i, r in enumerate(recs):
        if not isinstance(r, Mapping):
            raise TypeError(f"record {i} is a {type(r).__name__}, not a mapping")
    return [r if type(r) is dict else dict(r) for r in recs]


def _wanted_columns(columns: Sequence[str] | None) -> list[str] | None:
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
    """The keys of ``dicts`` in first-seen order (the loop stops once all are placed)."""
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
    """One ``object`` array per key (missing: NaN), transposed by pandas in C."""
    if not keys:
        return []
    block = pd.DataFrame(dicts, columns=pd.Index(keys, dtype=object), dtype=object).to_numpy()
    return [block[:, i] for i in range(len(keys))]


def _build_columns(
    key: Any, raw: np.ndarray, taken: set[Any], wanted: list[str] | None
) -> list[tuple[Any, Any]]:
    """One top-level field as ``(name, array)`` pairs (several if spread)."""
    kind = infer_dtype(raw, skipna=True)
    if kind == "mixed" and isinstance(key, str):
        mask = pd.isna(raw)
        if _all_dicts(raw, mask):
            spread = _spread_dict(key, raw, mask, taken, wanted)
            if spread is not None:
                taken.update(name for name, _ in spread)
                return spread
            return [(key, _object_array(raw, mask))]
    return [(key, convert_values(key, raw, kind))]


def _all_dicts(raw: np.ndarray, mask: np.ndarray) -> bool:
    present = raw[~mask]
    return len(present) > 0 and all(type(v) is dict for v in present)


def _spread_dict(
    key: str, raw: np.ndarray, mask: np.ndarray, taken: set[Any], wanted: list[str] | None
) -> list[tuple[Any, Any]] | None:
    """Dicts as ``key.sub`` columns (``None``: keep whole); with ``wanted``, the named ones."""
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
            out.append((name, convert_values(name, sub_raw, infer_dtype(sub_raw, skipna=True))))
        return out

    subkeys = _ordered_keys(dicts)
    raws = _raw_columns(dicts, subkeys)
    kinds = [infer_dtype(sub, skipna=True) for sub in raws]
    scalar_kinds = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}
    scalars = all(
        kind in scalar_kinds or all(type(v) in (str, int, float, bool) for v in sub[~pd.isna(sub)])
        for kind, sub in zip(kinds, raws, strict=True)
    )
    if not spreads(subkeys, scalars=scalars, taken=taken, name=key):
        return None
    return [
        (f"{key}.{sub_key}", convert_values(f"{key}.{sub_key}", sub, kind))
        for sub_key, sub, kind in zip(subkeys, raws, kinds, strict=True)
    ]


def convert_values(name: Any, raw: np.ndarray, kind: str) -> Any:
    """One ``object`` column of scalars in the dtype the rules give (``kind`` is
    ``infer_dtype(raw, skipna=True)``); missing values become NA of that dtype.

    >>> convert_values("n", np.array([1, 2, 300], dtype=object), "integer").dtype
    dtype('int64')
    """
    if kind == "string":
        return _string_array(name, raw)
    mask = pd.isna(raw)
    present = raw[~mask]
    if kind == "integer":
        if number_dtype(kind, missing=bool(mask.any())) == "int64":
            try:
                return raw.astype(np.int64)
            except (OverflowError, TypeError, ValueError):
                return _object_array(raw, mask)  # past int64: exact, never wrapped
        return _masked(present, mask, np.int64, pd.arrays.IntegerArray) or _object_array(raw, mask)
    if kind == "boolean":
        if number_dtype(kind, missing=bool(mask.any())) == "bool":
            return raw.astype(bool)
        return _masked(present, mask, bool, pd.arrays.BooleanArray)
    if kind in ("floating", "mixed-integer-float"):
        if kind == "mixed-integer-float" and any(  # an integer a float would round stays
            type(v) is int and not -_EXACT_FLOAT_INT <= v <= _EXACT_FLOAT_INT for v in present
        ):
            return _object_array(raw, mask)
        full = np.full(len(raw), np.nan, dtype=np.float64)
        full[~mask] = present.astype(np.float64)
        return full
    return _object_array(raw, mask)


def _masked(present: np.ndarray, mask: np.ndarray, numpy_type: type, array: type) -> Any:
    """A nullable array (``Int64``, ``boolean``), or ``None`` when the values do not fit."""
    try:
        values = present.astype(numpy_type)
    except (OverflowError, TypeError, ValueError):
        return None
    full = np.zeros(len(mask), dtype=numpy_type)
    full[~mask] = values
    return array(full, mask.copy())


def _string_array(name: Any, raw: np.ndarray) -> Any:
    """A column of text as :func:`~cpexplore.lists.dtypes.text_dtype` says."""
    codes, uniques = pd.factorize(raw)  # missing -> -1; uniques in first-seen order
    mask = codes < 0
    present = len(raw) - int(mask.sum())
    stamps = None
    if not str(name).endswith("_at") and looks_like_timestamp(uniques[0]):
        stamps = utc_timestamps(raw)
    all_times = stamps is not None and len(raw) - int(stamps.isna().sum()) == present
    kind = text_dtype(str(name), present=present, distinct=len(uniques), all_times=all_times)
    if kind == "time":
        return stamps if all_times else utc_timestamps(raw)
    if kind == "category":
        return categorical(codes, uniques)
    return pd.array(_object_array(raw, mask), dtype=TEXT)  # Arrow-backed: compact


def _object_array(raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A fresh ``object`` array of the values as they are, ``None`` where missing."""
    out = raw.copy()
    out[mask] = None
    return out


# -- the Arrow path ----------------------------------------------------------------------------
def page_table(body: bytes, list_key: str) -> tuple[pa.Table, dict[str, Any]] | None:
    """One list answer as (an Arrow table of its records, the envelope), or ``None`` when
    Arrow cannot represent the page exactly (the caller then decodes it with orjson).

    >>> page_table(b'{"servers":[{"v":1},{"v":"x"}]}', "servers") is None
    True
    """
    try:
        whole = pj.read_json(
            io.BytesIO(body), read_options=pj.ReadOptions(block_size=max(len(body) + 1, 1 << 20))
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if whole.num_rows != 1:
        return None
    key = list_key if list_key in whole.column_names else "data"
    if key not in whole.column_names:
        return None
    column = whole.column(key)
    envelope = {name: whole.column(name)[0].as_py() for name in whole.column_names if name != key}
    if not pa.types.is_list(column.type):
        return None
    item = column.type.value_type
    if pa.types.is_null(item):  # an empty list
        return pa.table({}), envelope
    if not pa.types.is_struct(item):
        return None
    table = pa.Table.from_struct_array(pc.list_flatten(column).combine_chunks())
    return (table, envelope) if _exact_table(table) else None


def _exact_table(table: pa.Table) -> bool:
    """False when the reader may have changed a value (text to a time, a big int to a float)."""
    floats = [table.column(i) for i, f in enumerate(table.schema) if pa.types.is_floating(f.type)]
    return _exact(table.schema) and not any(_inexact_floats(c) for c in floats)


def _exact(schema: pa.Schema) -> bool:
    """False if the reader turned text into timestamps or dates anywhere."""
    for f in schema:
        t = f.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
            return False
        if pa.types.is_struct(t) and not _exact(pa.schema(list(t))):
            return False
        if pa.types.is_list(t) and not _exact(pa.schema([pa.field("x", t.value_type)])):
            return False
    return True


def _inexact_floats(column: pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.greater_equal(pc.abs(column), _EXACT_FLOAT_INT)).as_py())


# -- the whole list ------------------------------------------------------------------------------
def concat_tables(tables: Sequence[pa.Table]) -> pa.Table | None:
    """The pages as one table (missing fields null, int/float widened), or ``None`` when
    their types cannot be joined exactly."""
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({})
    try:
        joined = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return joined if _exact_table(joined) else None


def table_records(table: pa.Table) -> list[dict]:
    """The records of a page table as dicts, without the keys Arrow filled with nulls."""
    return [_strip_nulls(r) for r in table.to_pylist()]


@dataclass(frozen=True)
class ArrowPage:
    """One page as Arrow columns, with its list columns (``nics``, ``disks_info``…) already
    made into Python objects by :func:`arrow_page`, in the thread that fetched the page while
    the other pages are still on the way: that is most of the Python work of a big list."""

    table: pa.Table
    lists: Mapping[str, np.ndarray]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def filter(self, keep: Sequence[bool]) -> ArrowPage:
        """The page with only the rows ``keep`` says (duplicates dropped while paging)."""
        mask = np.asarray(keep, dtype=bool)
        return ArrowPage(
            self.table.filter(pa.array(mask)), {k: v[mask] for k, v in self.lists.items()}
        )


def arrow_page(table: pa.Table) -> ArrowPage:
    """``table`` with its list columns converted now (see :class:`ArrowPage`)."""
    lists = {
        name: _object_values(table.column(name))
        for name in table.column_names
        if pa.types.is_list(table.column(name).type)
    }
    return ArrowPage(table, lists)


def _ready_lists(pages: Sequence[ArrowPage]) -> dict[str, np.ndarray]:
    """The list columns every page converted (or lacks entirely), joined in page order."""
    ready: dict[str, np.ndarray] = {}
    for name in set().union(*(p.lists for p in pages)):
        parts = []
        for p in pages:
            if name in p.lists:
                parts.append(p.lists[name])
            elif name not in p.table.column_names or p.table.column(name).null_count == p.num_rows:
                parts.append(np.full(p.num_rows, None, dtype=object))
            else:
                break
        else:
            ready[name] = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    return ready


def tables_to_frame(
    tables: Sequence[pa.Table | ArrowPage],
    *,
    key_columns: Sequence[str] = ("id", "name", "status"),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """The pages of one list as a typed DataFrame (the rules of ``records_to_frame``), or
    ``None`` when they cannot be joined exactly as columns."""
    pages = [t if isinstance(t, ArrowPage) else ArrowPage(t, {}) for t in tables]
    table = concat_tables([p.table for p in pages])
    if table is None:
        return None
    ready = _ready_lists(pages)
    index = pd.RangeIndex(table.num_rows)
    wanted = list(columns) if columns is not None else None
    taken = set(table.column_names)
    data: dict[str, pd.Series] = {}
    for name in table.column_names:
        data.update(_columns_of(name, table.column(name), wanted, ready, taken, index))
    return _frame(data, index, wanted, key_columns)


def _columns_of(
    name: str,
    col: pa.ChunkedArray,
    wanted: list[str] | None,
    ready: dict[str, np.ndarray],
    taken: set[str],
    index: pd.Index,
) -> dict[str, pd.Series]:
    """The frame columns one Arrow column gives: itself, or (some of) its ``name.key``."""
    struct = pa.types.is_struct(col.type)
    if wanted is not None:
        picks = [c for c in wanted if c == name or c.startswith(name + ".")]
        if not picks:
            return {}
        if struct:
            out = {name: _objects(col, index)} if name in wanted else {}
            children = [c for c in picks if c != name]
            return out | {c: _struct_child(col, c[len(name) + 1 :], c, index) for c in children}
    elif struct:
        spread = _spread(name, col, taken, index)
        if spread is not None:
            taken.update(spread)
            return spread
    if name in ready and pa.types.is_list(col.type):
        return {name: as_series(ready[name], index)}
    return {name: _arrow_column(name, col, index)}


def _spread(
    name: str, col: pa.ChunkedArray, taken: set[str], index: pd.Index
) -> dict[str, pd.Series] | None:
    """A struct column as ``name.key`` columns when the rules spread it; ``None`` otherwise."""
    fields = list(col.type)
    scalars = all(any(t(f.type) for t in _SCALAR) or pa.types.is_null(f.type) for f in fields)
    keys = [f.name for f in fields]
    if col.null_count == len(col) or not spreads(keys, scalars=scalars, taken=taken, name=name):
        return None
    return {f"{name}.{k}": _struct_child(col, k, f"{name}.{k}", index) for k in keys}


def _struct_child(col: pa.ChunkedArray, child: str, name: str, index: pd.Index) -> pd.Series:
    if child not in [f.name for f in col.type]:
        return as_series(np.full(len(col), None, dtype=object), index)
    values = pc.struct_field(col, child)
    if not any(test(values.type) for test in _SCALAR):
        return _objects(values, index)
    return _arrow_column(name, values, index)


def _arrow_column(name: str, col: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """One Arrow column in the dtype the rules give (:mod:`cpexplore.lists.dtypes`)."""
    t = col.type
    n = len(col)
    present = n - col.null_count
    if pa.types.is_null(t) or present == 0:
        return as_series(np.full(n, None, dtype=object), index)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        kind = "integer" if pa.types.is_integer(t) else "boolean"
        numpy_type = np.int64 if kind == "integer" else bool
        values = pc.fill_null(col, 0 if kind == "integer" else False)
        # a writable copy: Arrow's own buffers are read-only, and a user may change a cell
        values = values.to_numpy(zero_copy_only=False).astype(numpy_type, copy=True)
        if number_dtype(kind, missing=bool(col.null_count)) in ("int64", "bool"):
            return as_series(values, index)
        mask = col.is_null().to_numpy(zero_copy_only=False)
        array = pd.arrays.IntegerArray if kind == "integer" else pd.arrays.BooleanArray
        return pd.Series(array(values, mask), index=index)
    if pa.types.is_floating(t):
        return as_series(col.to_numpy(zero_copy_only=False).astype(np.float64, copy=True), index)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(name, col, present, index)
    return _objects(col, index)


def _strings(name: str, col: pa.ChunkedArray, present: int, index: pd.Index) -> pd.Series:
    """A column of text as the rules say (:func:`~cpexplore.lists.dtypes.text_dtype`)."""
    stamps = None
    if not name.endswith("_at") and looks_like_timestamp(col.drop_null()[0].as_py()):
        stamps = _timestamps(col)
    all_times = stamps is not None and len(col) - int(pd.isna(stamps).sum()) == present
    distinct = pc.count_distinct(col).as_py()
    kind = text_dtype(name, present=present, distinct=distinct, all_times=all_times)
    if kind == "time":
        return as_series(stamps if all_times else _timestamps(col), index)
    if kind == "category":
        encoded = col.combine_chunks().dictionary_encode()
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        uniques = encoded.dictionary.to_pylist()
        return pd.Series(categorical(codes.astype(np.int64), uniques), index=index)
    return pd.Series(col.to_pandas(types_mapper={col.type: TEXT}.get).array, index=index)


def _timestamps(col: pa.ChunkedArray) -> Any:
    """UTC timestamps parsed by Arrow, or as :func:`utc_timestamps` parses them (bad: NaT)."""
    try:
        stamps = pc.cast(col, pa.timestamp("ns", "UTC")).to_pandas()
        return pd.Series(stamps).array
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return utc_timestamps(col.to_pylist())


def _objects(col: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """Lists and dicts as Python objects, as the JSON had them (no null-filled keys)."""
    return as_series(_object_values(col), index)


def _object_values(col: pa.ChunkedArray) -> np.ndarray:
    """The values of a list or struct column as Python objects (no null-filled keys)."""
    out = np.empty(len(col), dtype=object)
    arr = col.combine_chunks()
    if pa.types.is_struct(arr.type) and _flat_struct(arr.type):
        dicts = _dicts(arr)
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        out[:] = [d if ok else None for d, ok in zip(dicts, valid, strict=True)]
    elif pa.types.is_list(arr.type) and _flat_struct(arr.type.value_type):
        items = _dicts(arr.flatten())
        offsets = arr.offsets.to_numpy()
        offsets = offsets - offsets[0]
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        out[:] = [items[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(arr))]
    else:
        out[:] = [_strip_nulls(v) for v in arr.to_pylist()]
    return out


def _flat_struct(t: pa.DataType) -> bool:
    return pa.types.is_struct(t) and not any(pa.types.is_nested(f.type) for f in t)


def _dicts(arr: pa.StructArray) -> list[dict]:
    """Struct rows as dicts without null keys, built from the child columns (much faster)."""
    names = [f.name for f in arr.type]
    children = [arr.field(i).to_pylist() for i in range(len(names))]
    if not names:
        return [{} for _ in range(len(arr))]
    return [
        {k: v for k, v in zip(names, values, strict=True) if v is not None}
        for values in zip(*children, strict=True)
    ]


def _strip_nulls(value: Any) -> Any:
    """Drop the dict keys Arrow filled with ``None`` (Cloudpods leaves empty values out)."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


__all__ = [
    "ArrowPage",
    "read_page",
    "page_fields",
    "page_table",
    "pages_to_frame",
    "tables_to_frame",
    "records_to_frame",
    "table_records",
    "typed_column",
    "convert_values",
]
