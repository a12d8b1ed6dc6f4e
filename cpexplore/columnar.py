"""List pages decoded straight into columns (pyarrow), then one typed DataFrame.

Decoding a 2 048-row page of servers into Python dicts and then building columns out of them
costs about as much again as the decoding, and leaves millions of small Python objects for
the garbage collector to walk. pyarrow's JSON reader parses a page in C++ (without the GIL,
so pages parse in parallel) straight into typed columns: no per-record Python object is made.
:func:`page_table` turns one answer into an Arrow table of its records plus the envelope
(``total``, ``limit``, ``next_marker``…); :func:`tables_to_frame` joins the pages and applies
the dtype rules of :func:`cpexplore.frames.records_to_frame` once to the whole list, so a
frame built either way is the same.

Where Arrow cannot hold a page exactly (a field that is a number in one record and text in
another, an integer beyond 2⁵³ that it would turn into an inexact float, date-like text it
would turn into timestamps), :func:`page_table` says so by returning ``None`` and the caller
decodes that page the ordinary way. Nothing is ever converted inexactly.

>>> table, envelope = page_table(b'{"servers":[{"id":"a","n":1},{"id":"b"}],"total":2}', "servers")
>>> table.num_rows, envelope
(2, {'total': 2})
>>> df = tables_to_frame([table])
>>> df["n"].tolist(), str(df["n"].dtype)
([1, <NA>], 'Int64')
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .frames import TEXT, as_series, looks_like_timestamp, utc_timestamps

_EXACT_FLOAT_INT = 2.0**53
_MAX_SPREAD = 32  # a dict field with more keys than this stays one column of dicts
_SCALAR = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)


def page_table(body: bytes, list_key: str) -> tuple[pa.Table, dict[str, Any]] | None:
    """One list answer as (an Arrow table of its records, the envelope), or ``None`` when
    Arrow cannot represent the page exactly (the caller then decodes it with orjson).

    >>> page_table(b'{"servers":[{"v":1},{"v":"x"}]}', "servers") is None
    True
    """
    try:
        whole = pj.read_json(
            io.BytesIO(body),
            read_options=pj.ReadOptions(block_size=max(len(body) + 1, 1 << 20)),
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
    records = pc.list_flatten(column).combine_chunks()
    table = pa.Table.from_struct_array(records)
    if not _exact(table.schema):
        return None
    if any(_inexact_floats(table.column(i)) for i, f in enumerate(table.schema) if _floaty(f.type)):
        return None
    return table, envelope


def _exact(schema: pa.Schema) -> bool:
    """False if the reader turned text into timestamps or dates anywhere (it may not keep
    the text as it was)."""
    for f in schema:
        t = f.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
            return False
        if pa.types.is_struct(t) and not _exact(pa.schema(list(t))):
            return False
        if pa.types.is_list(t) and not _exact(pa.schema([pa.field("x", t.value_type)])):
            return False
    return True


def _floaty(t: pa.DataType) -> bool:
    return pa.types.is_floating(t)


def _inexact_floats(column: pa.ChunkedArray) -> bool:
    """True when a float column holds an integral value too large to be exact (JSON had an
    integer the reader could not keep as int64)."""
    big = pc.greater_equal(pc.abs(column), _EXACT_FLOAT_INT)
    return bool(pc.any(big).as_py())


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
    if not _exact(joined.schema):
        return None
    for i, f in enumerate(joined.schema):
        if _floaty(f.type) and _inexact_floats(joined.column(i)):
            return None
    return joined


def table_records(table: pa.Table) -> list[dict]:
    """The records of a page table as dicts, without the keys Arrow filled with nulls
    (the fallback when pages cannot be joined as columns)."""
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
    n = table.num_rows
    index = pd.RangeIndex(n)
    names = list(table.column_names)
    wanted = list(columns) if columns is not None else None
    taken = set(names)
    data: dict[str, pd.Series] = {}
    for name in names:
        col = table.column(name)
        if wanted is not None:
            picks = [c for c in wanted if c == name or c.startswith(name + ".")]
            if not picks:
                continue
            if pa.types.is_struct(col.type):
                if name in wanted:
                    data[name] = _objects(col, index)
                for c in picks:
                    if c != name:
                        data[c] = _struct_child(col, c[len(name) + 1 :], c, index)
                continue
        if pa.types.is_struct(col.type) and wanted is None:
            spread = _spread(name, col, taken, index)
            if spread is not None:
                taken.update(spread)
                data.update(spread)
                continue
        if name in ready and pa.types.is_list(col.type):
            data[name] = as_series(ready[name], index)
            continue
        data[name] = _convert(name, col, index)
    if wanted is not None:
        order = wanted
        for name in order:
            if name not in data:
                data[name] = as_series(np.full(n, None, dtype=object), index)
    else:
        first = [k for k in key_columns if k in data]
        order = first + [k for k in data if k not in set(first)]
    if not order:
        return pd.DataFrame(index=index)
    return pd.DataFrame({k: data[k] for k in order}, index=index, copy=False)


def _spread(
    name: str, col: pa.ChunkedArray, taken: set[str], index: pd.Index
) -> dict[str, pd.Series] | None:
    """A struct column of scalars spread into ``name.key`` columns, as records_to_frame does
    for small flat dicts; ``None`` to keep it whole."""
    fields = list(col.type)
    if not 0 < len(fields) <= _MAX_SPREAD:
        return None
    if not all(any(test(f.type) for test in _SCALAR) or pa.types.is_null(f.type) for f in fields):
        return None
    names = [f"{name}.{f.name}" for f in fields]
    if any(n in taken for n in names):
        return None
    if col.null_count == len(col):
        return None
    return {n: _struct_child(col, f.name, n, index) for n, f in zip(names, fields, strict=True)}


def _struct_child(col: pa.ChunkedArray, child: str, name: str, index: pd.Index) -> pd.Series:
    if child not in [f.name for f in col.type]:
        return as_series(np.full(len(col), None, dtype=object), index)
    values = pc.struct_field(col, child)
    if not any(test(values.type) for test in _SCALAR):
        return _objects(values, index)
    return _convert(name, values, index)


def _convert(name: str, col: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    t = col.type
    n = len(col)
    present = n - col.null_count
    if pa.types.is_null(t) or present == 0:
        return as_series(np.full(n, None, dtype=object), index)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        numpy_type = np.int64 if pa.types.is_integer(t) else bool
        values = pc.fill_null(col, 0 if numpy_type is np.int64 else False)
        values = values.to_numpy(zero_copy_only=False).astype(numpy_type, copy=False)
        if not col.null_count:
            return as_series(values, index)
        mask = col.is_null().to_numpy(zero_copy_only=False)
        array = pd.arrays.IntegerArray if numpy_type is np.int64 else pd.arrays.BooleanArray
        return pd.Series(array(values, mask), index=index)
    if pa.types.is_floating(t):
        return as_series(col.to_numpy(zero_copy_only=False).astype(np.float64), index)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(name, col, present, index)
    return _objects(col, index)


def _strings(name: str, col: pa.ChunkedArray, present: int, index: pd.Index) -> pd.Series:
    """Timestamps, categories or object text, by the rules of records_to_frame."""
    if name.endswith("_at"):
        return as_series(_timestamps(col), index)
    first = col.drop_null()[0].as_py()
    if looks_like_timestamp(first):
        stamps = _timestamps(col)
        if len(col) - int(pd.isna(stamps).sum()) == present:
            return as_series(stamps, index)
    distinct = pc.count_distinct(col).as_py()
    if name != "id" and present >= 2 and distinct <= present / 2:
        encoded = col.combine_chunks().dictionary_encode()
        categories = encoded.dictionary.to_pylist()
        order = np.argsort(np.array(categories, dtype=object))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        idx = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        codes = np.where(idx < 0, -1, rank[np.maximum(idx, 0)])
        cats = pd.Index(np.asarray(categories, dtype=object)[order])
        return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=index)
    return pd.Series(col.to_pandas(types_mapper={col.type: TEXT}.get).array, index=index)


def _timestamps(col: pa.ChunkedArray) -> Any:
    """UTC timestamps parsed by Arrow; values it cannot parse (or that pandas cannot hold,
    like Go's zero time) become NaT, exactly as ``records_to_frame`` makes them."""
    try:
        stamps = pc.cast(col, pa.timestamp("ns", "UTC")).to_pandas()
        return pd.Series(stamps).array
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return utc_timestamps(_text_objects(col))


def _text_objects(col: pa.ChunkedArray) -> np.ndarray:
    out = np.empty(len(col), dtype=object)
    out[:] = col.to_pylist()
    return out


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
    """The rows of a struct array of scalars as dicts, without the null-filled keys (built
    from the child columns: much faster than converting each row and cleaning it)."""
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
    "arrow_page",
    "page_table",
    "concat_tables",
    "tables_to_frame",
    "table_records",
]
