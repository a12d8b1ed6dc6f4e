"""How cpexplore writes and reads files: one module the reports and the snapshots share.

Cells:

* :func:`cell_value` is the one plain form of a cell that every text output starts from
  (CSV here, the command line's tables, the widgets' HTML tables): ``None`` when missing,
  JSON text for lists and dicts, ISO-8601 UTC with ``Z`` for timestamps.
* :func:`escape_formula` / :func:`unescape_formula` neutralise spreadsheet formulas the
  way OWASP recommends (a leading ``'``). Only CSV, which spreadsheets open, is escaped;
  JSON is data for programs and keeps every value as it is.
* :func:`jsonable` and :func:`json_dumps` turn numpy scalars, timestamps and non-finite
  floats into JSON.

Files:

* :func:`to_csv` / :func:`csv_text` write every field quoted, UTF-8 (``bom=True`` for
  Excel), timestamps as ISO-8601 ``Z``, lists and dicts as JSON, formulas escaped.
  :func:`read_csv` reads such a file back with its types: see :func:`infer_kinds`.
* :func:`to_json` / :func:`json_text` write records (or JSON Lines) with raw values.
* :func:`write_csv` / :func:`write_json` write the same bytes as the files to an open
  binary handle (``sys.stdout.buffer``) without making one large Python string first.
* All of them work a column at a time (100 000 servers in about a second), with the same
  text, byte for byte, as writing each cell through :func:`cell_value`.
* :func:`atomic_write` writes through a temporary file and a rename; :func:`make_dir`
  creates an output folder; both raise :class:`~cpexplore.errors.ExportError` with a
  hint (:func:`export_error`).
* :func:`column_kind` names how a column is stored (``int``, ``float``, ``bool``,
  ``datetime``, ``category``, ``json``, ``string``); :func:`restore_kinds` turns text
  read from a file back into those types. Snapshots record the kinds in their manifest;
  :func:`read_csv` infers them.
* :func:`session_meta` is what a report or snapshot says about where its data came from
  (never a secret).

Example:
    >>> df = pd.DataFrame({"name": ["=1+1", "-3", "web"], "tags": [["a"], [], None]})
    >>> print(csv_text(df), end="")
    "name","tags"
    "'=1+1","[""a""]"
    "-3","[]"
    "web",""
    >>> json_text(df.head(1))
    '[{"name": "=1+1", "tags": ["a"]}]'
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import errno
import functools
import gzip
import io
import itertools
import json
import math
import os
import re
import secrets
import stat
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .errors import CpExploreError, ExportError

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = [
    "FORMULA_TRIGGERS",
    "KINDS",
    "escape_formula",
    "unescape_formula",
    "iso_utc",
    "jsonable",
    "json_dumps",
    "is_missing",
    "cell_value",
    "export_error",
    "atomic_write",
    "make_dir",
    "write_csv_handle",
    "csv_text",
    "write_csv",
    "to_csv",
    "read_csv",
    "json_text",
    "write_json",
    "to_json",
    "column_kind",
    "infer_kinds",
    "restore_kinds",
    "session_meta",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
#: How a column is stored in a file and read back (see :func:`column_kind`).
KINDS = ("int", "float", "bool", "datetime", "category", "json", "string")

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INT_TEXT = r"-?(?:0|[1-9][0-9]*)"
_FLOAT_TEXT = r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?|-?inf"
_TIME_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# --------------------------------------------------------------------------- cells


def escape_formula(text: str) -> str:
    """Neutralise one text cell for spreadsheets: prefix ``'`` if it could start a formula.

    Plain numbers (``-3``, ``+1.5e3``) are left alone so they stay numbers; text that
    already starts with ``'`` before a trigger gets one more, so :func:`unescape_formula`
    can undo exactly what was done.

    >>> escape_formula("=SUM(A1)"), escape_formula("-3"), escape_formula("web-1")
    ("'=SUM(A1)", '-3', 'web-1')
    """
    if (
        (text[:1] in FORMULA_TRIGGERS or text[:1] == "'")
        and text.lstrip("'")[:1] in FORMULA_TRIGGERS
        and not _NUMBER.match(text)
    ):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Undo :func:`escape_formula` (``unescape_formula(escape_formula(s)) == s``).

    >>> unescape_formula("'=SUM(A1)"), unescape_formula("'quoted")
    ('=SUM(A1)', "'quoted")
    """
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def iso_utc(value: Any) -> str:
    """A timestamp as ISO-8601 UTC with ``Z`` (naive values are taken to be UTC).

    >>> iso_utc(pd.Timestamp("2026-11-26 23:54:23", tz="Asia/Shanghai"))
    '2026-11-26T15:54:23Z'
    """
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if (ts.microsecond or ts.nanosecond) else "%Y-%m-%dT%H:%M:%S"
    return ts.strftime(fmt) + "Z"


def is_missing(value: Any) -> bool:
    """Is this one cell a missing value (None, NA, NaT, NaN)?

    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NaT), is_missing(0)
    (True, True, True, False)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return isinstance(value, float | np.floating) and math.isnan(value)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, timestamps and non-finite floats made JSON-friendly.

    >>> jsonable({"n": np.int64(3), "x": float("nan"), "t": pd.Timestamp("2026-01-02", tz="UTC")})
    {'n': 3, 'x': None, 't': '2026-01-02T00:00:00Z'}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def json_dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text of :func:`jsonable` ``value`` (UTF-8 kept as is).

    >>> json_dumps({"b": 1, "a": ["x"]}, sort_keys=True)
    '{"a": ["x"], "b": 1}'
    """
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=sort_keys, default=str)


def cell_value(value: Any) -> Any:
    """One cell in the plain form every text output starts from.

    ``None`` for a missing value; compact JSON text for lists, tuples, sets, dicts and
    arrays; ISO-8601 UTC text with ``Z`` for timestamps; Python scalars for numpy ones;
    anything else unchanged. What each output adds stays with it: formula escaping for
    CSV files (:func:`escape_formula`), HTML escaping for widgets, control-character
    escaping and cutting for terminals.

    >>> cell_value(float("nan")), cell_value(["a", 1]), cell_value(np.int64(3))
    (None, '["a", 1]', 3)
    >>> cell_value(pd.Timestamp("2026-01-02 03:04:05", tz="UTC"))
    '2026-01-02T03:04:05Z'
    """
    if isinstance(value, dict | list | tuple | set | np.ndarray):
        return json_dumps(value)
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return iso_utc(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_text_like(s: pd.Series) -> bool:
    return (
        s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _iso_column(s: pd.Series) -> pd.Series:
    """A datetime64 column as ISO-8601 ``Z`` strings (``None`` where missing)."""
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    present = utc.dropna()
    frac = bool(((present.dt.microsecond != 0) | (present.dt.nanosecond != 0)).any())
    text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f" if frac else "%Y-%m-%dT%H:%M:%S") + "Z"
    return text.astype(object).where(utc.notna(), None)


def _prepare_column(s: pd.Series, *, escape: bool, nested: str) -> pd.Series:
    """One column of :func:`_prepare`: times as text, containers as JSON, text escaped."""
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        return _iso_column(s)
    if _is_text_like(s):
        values = s.astype(object)
        if nested == "keep":
            cells = [None if is_missing(v) else v for v in values]
        else:
            cells = [_csv_cell(v, escape) for v in values]
        # object, as they are: Series.map would make [1, None] floats, written "1.0"
        return pd.Series(cells, index=s.index, dtype=object)
    return s


def _prepare(df: pd.DataFrame, *, escape: bool, nested: str, index: bool | None) -> pd.DataFrame:
    """A copy of ``df`` ready to write cell by cell: times as text, containers as JSON, text
    escaped (what :func:`write_csv_handle` takes, and what the column-wise writers stand for).

    ``nested="json"`` turns lists and dicts into JSON text (CSV); ``nested="keep"`` leaves
    them as objects (JSON output). The input is never modified.
    """
    frame = _output_frame(df, index)
    out = {
        i: _prepare_column(frame.iloc[:, i], escape=escape, nested=nested)
        for i in range(frame.shape[1])
    }
    names = [str(c) for c in frame.columns]
    if escape:
        names = [escape_formula(n) for n in names]
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    result.columns = names
    return result


def _csv_cell(value: Any, escape: bool) -> Any:
    """One object cell as CSV wants it: :func:`cell_value`, with text formula-escaped."""
    value = cell_value(value)
    return escape_formula(value) if escape and isinstance(value, str) else value


# --------------------------------------------------------------------------- columns as text
#
# CSV and JSON are written a column at a time. Each column becomes the text of its cells as
# one Arrow array (or one text, when every cell reads the same): numbers, booleans and
# timestamps formatted once per column, categories once per category, text looked at by a
# vectorised check so that only the few cells it flags are escaped in Python, lists and
# dicts through one orjson call per column. Arrow's CSV writer then writes the rows (every
# field quoted, quotes doubled), or Arrow joins them into JSON records. The text is the
# same, byte for byte, as writing every cell through cell_value / escape_formula /
# jsonable and pandas' CSV or json's writer (tests/test_files_speed.py keeps that
# cell-by-cell writer to compare against); what the fast paths do not cover (other dtypes,
# odd objects, an indent that is not spaces) is still written that way.

_TEXT = pa.large_string()
#: What escape_formula may change: text whose first character after any ``'`` is a trigger.
_FORMULA_START = r"^'*[=+\-@\t\r\n]"
#: Text that json.dumps writes otherwise than between two ``"``.
_JSON_ESCAPED = r'["\\\x00-\x1f]'
#: orjson refuses (TypeError) what jsonable would change or json.dumps writes otherwise:
#: numpy scalars, timestamps and dates, sets, subclasses, non-text keys, huge integers.
_PLAIN = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_MISSING, _STRING, _CONTAINER, _FLOAT, _OTHER = range(5)
_CELL_TYPE = {
    type(None): _MISSING,
    str: _STRING,
    float: _FLOAT,
    list: _CONTAINER,
    dict: _CONTAINER,
    tuple: _CONTAINER,
}
_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_NL, _SPACE, _COMMA = ord("\n"), ord(" "), ord(",")
#: What the fast paths cannot do; the cell-by-cell writer then does it (or raises).
_NOT_FAST = (pa.ArrowException, UnicodeError)

#: One column's cells: one text for every row, or an array of texts (no nulls).
Cells = str | pa.Array
#: Frames of this many cells or more are written by a few threads: numpy, Arrow and the
#: writes let go of the GIL, so the columns (and the CSV rows or JSON records, in order)
#: are made side by side.
_PARALLEL_CELLS = 200_000
_WORKERS = min(4, os.cpu_count() or 1)
_ROWS = 8192  # rows written or joined at a time


@contextlib.contextmanager
def _pool(df: Any) -> Iterator[ThreadPoolExecutor | None]:
    """Threads to write ``df`` with, or None when one is enough."""
    shape = getattr(df, "shape", (0, 0))
    if _WORKERS < 2 or len(shape) != 2 or shape[0] * shape[1] < _PARALLEL_CELLS:
        yield None
        return
    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="cpexplore-files") as pool:
        yield pool


def _ordered(
    fn: Callable[[Any], Any], items: Iterable[Any], pool: ThreadPoolExecutor | None
) -> Iterator[Any]:
    """``map(fn, items)``, by the threads of ``pool`` (a few items ahead) when there is one."""
    if pool is None:
        yield from map(fn, items)
        return
    ahead: collections.deque[Future[Any]] = collections.deque()
    for item in items:
        ahead.append(pool.submit(fn, item))
        if len(ahead) > 2 * _WORKERS:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, _TEXT)


def _arrow_text(values: Any) -> pa.Array:
    """``values`` as one large_string Arrow array (nulls where missing)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == _TEXT else arr.cast(_TEXT)


def _flagged(arr: pa.Array, pattern: str) -> np.ndarray:
    """Positions of the cells of a text array that match ``pattern`` (RE2)."""
    if not len(arr):
        return np.empty(0, dtype=np.int64)
    hit = pc.match_substring_regex(arr, pattern).fill_null(False)
    return np.flatnonzero(hit.to_numpy(zero_copy_only=False))


def _put(arr: pa.Array, positions: np.ndarray, texts: list[str]) -> pa.Array:
    """``arr`` with the cells at (ascending) ``positions`` replaced by ``texts``."""
    if not len(positions):
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[positions] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, type=_TEXT))


def _pick(table: pa.Array, codes: np.ndarray) -> Cells:
    """``table[code]`` for each code: one text when the codes are all the same."""
    if len(codes) and (codes == codes[0]).all():
        return table[int(codes[0])].as_py()
    return table.take(pa.array(codes))


def _edges(n: int, middle: str, first: str | None = None, last: str | None = None) -> Cells:
    """``n`` texts: ``middle``, but ``first`` in the first row and ``last`` in the last."""
    if first is None and last is None:
        return middle
    codes = np.ones(n, dtype=np.int8)
    if first is not None:
        codes[0] = 0
    if last is not None:
        codes[-1] = 2
    return pa.array([first or "", middle, last or ""], type=_TEXT).take(pa.array(codes))


def _joined(
    pieces: list[Cells], n: int, pool: ThreadPoolExecutor | None = None
) -> Iterator[memoryview]:
    """The ``n`` rows made of ``pieces`` (texts the same in every row, and columns), one
    after the other, as UTF-8 bytes, :data:`_ROWS` rows at a time (so no buffer holds it
    all)."""
    folded: list[Cells] = []
    for piece in pieces:  # neighbouring constants become one, so Arrow copies less
        if isinstance(piece, str) and folded and isinstance(folded[-1], str):
            folded[-1] += piece
        else:
            folded.append(piece)
    if len(folded) == 1 and isinstance(folded[0], str):
        yield memoryview((folded[0] * n).encode())
        return
    args = [_lit(p) if isinstance(p, str) else p for p in folded]

    def rows(start: int) -> memoryview:
        part = [a if isinstance(a, pa.Scalar) else a.slice(start, _ROWS) for a in args]
        joined = pc.binary_join_element_wise(*part, _lit("")) if len(part) > 1 else part[0]
        _, offsets_buf, data = joined.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)
        first, end = int(offsets[joined.offset]), int(offsets[joined.offset + len(joined)])
        return memoryview(data)[first:end]

    yield from _ordered(rows, range(0, n, _ROWS), pool)


# -- one cell the slow way (what the fast paths stand for)


def _csv_field(value: Any, escape: bool) -> str:
    """One object cell as the text of its CSV field, as pandas writes it."""
    cell = _csv_cell(value, escape)
    if cell is None:
        return ""
    if not isinstance(cell, str):
        na = pd.isna(cell)
        cell = "" if isinstance(na, bool | np.bool_) and na else str(cell)
    return cell


def _json_value(value: Any, unit: str | None, level: int) -> str:
    """One cell as JSON text, indented for ``level`` when ``unit`` is given."""
    value = None if is_missing(value) else jsonable(value)
    text = json.dumps(value, ensure_ascii=False, indent=unit)
    return text if unit is None else text.replace("\n", "\n" + unit * level)


def _pandas_fields(s: pd.Series, escape: bool) -> pa.Array:
    """CSV fields of a column of any dtype, exactly as pandas' writer writes them."""
    buf = io.StringIO()
    prepared = pd.DataFrame({"c": _prepare_column(s, escape=escape, nested="json")})
    prepared.to_csv(buf, index=False, header=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    texts = [row[0] for row in csv.reader(io.StringIO(buf.getvalue()))]
    return pa.array(texts, type=_TEXT)


# -- lists and dicts through orjson


def _python_floats(data: np.ndarray, ends: np.ndarray) -> bytes | None:
    """orjson's indented text (``data``) with every float as Python writes it (``1e-05``,
    not ``0.00001``); None when there is nothing to change. ``ends``: where the lines that
    end in a digit end (before a comma).

    A number is the last token of its line (strings never hold a raw newline), after a space;
    it is a float when it holds ``.``, ``e`` or ``E``. Found with numpy, fixed in Python.
    """
    pos, which, floats = ends, np.arange(len(ends)), []
    while pos.size:  # walk back through each number, dropping those done
        pos = pos - 1
        c = data[pos]
        dot_or_e = (c == ord(".")) | (c == ord("e")) | (c == ord("E"))
        floats.append(which[dot_or_e])
        going = ((c >= ord("0")) & (c <= ord("9"))) | (c == ord("-")) | (c == ord("+"))
        pos, which = pos[going], which[going]
    float_ends = ends[np.sort(np.concatenate(floats))] if floats else ends[:0]
    if not float_ends.size:
        return None
    pos, starts = float_ends.copy(), np.empty(len(float_ends), dtype=np.int64)
    which = np.arange(len(pos))
    while pos.size:  # and back to where each float starts
        c = data[pos - 1]
        done = ~(((c >= ord("0")) & (c <= ord("9"))) | np.isin(c, list(b".eE+-")))
        starts[which[done]] = pos[done]
        pos, which = pos[~done] - 1, which[~done]
    raw, out, prev = data.tobytes(), [], 0
    for start, end in zip(starts.tolist(), (float_ends + 1).tolist(), strict=True):
        token = raw[start:end]
        text = repr(float(token)).encode()
        if text != token:
            out += [raw[prev:start], text]
            prev = end
    if not out:
        return None
    out.append(raw[prev:])
    return b"".join(out)


def _lines(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``text`` as bytes and the positions of its newlines."""
    data = np.frombuffer(text, dtype=np.uint8)
    return data, np.flatnonzero(data == _NL)


def _spread(
    data: np.ndarray, nl: np.ndarray, count: np.ndarray, cut: np.ndarray, target: np.ndarray, n: int
) -> pa.Array:
    """The cells of :func:`_nested_texts` when lines get ``target`` spaces, more than the
    ``count`` orjson wrote: each byte repeated as often as it is written (spaces added to
    the first of a line, the rest dropped; the newline and comma before a cell dropped)."""
    rep = np.ones(len(data), dtype=np.int64)
    rep[nl[cut]] = 0
    rep[nl[cut] - 1] = 0
    for k in range(1, int(count.max(initial=0))):
        rep[nl[count > k] + 1 + k] = 0
    rep[nl + 1] = target
    out = np.repeat(data, rep)
    fewer = np.cumsum((count - target) + 2 * cut)  # bytes fewer, up to each line's content
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0], offsets[-1] = 0, len(out)
    offsets[1:-1] = (nl[cut] + 1 + count[cut]) - fewer[cut]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))


def _nested_texts(
    cells: list[Any], unit: str | None, level: int, blank: np.ndarray | None = None
) -> tuple[pa.Array, list[int]]:
    """Lists and dicts as JSON text: as :func:`json_dumps` writes them (``unit=None``), or as
    an indented json.dumps writes them at ``level``; None as ``null``, or as nothing for the
    cells at ``blank``. Also the indices orjson refused: their texts are placeholders, to be
    written the slow way.

    One orjson call writes the whole column, two spaces a level, a cell a line apart
    (``[\n  cell,\n  cell\n]``). Strings never hold a raw newline, so numpy can read the
    layout from the ends of the lines: their depth (a line ending in ``[`` or ``{`` opens a
    level, a line that is only ``]`` or ``}`` closes one), then drop or add the spaces and
    newlines json.dumps would not or would write, and find where each cell starts.
    """
    if unit is not None and unit.strip(" "):
        raise pa.ArrowInvalid("an indent not made of spaces")  # json.dumps's own indent="\t"
    dump = functools.partial(orjson.dumps, option=_PLAIN | orjson.OPT_INDENT_2)
    refused: list[int] = []
    try:
        whole = dump(cells)
    except TypeError:  # orjson.JSONEncodeError too
        kept: list[Any] = []
        for i, cell in enumerate(cells):
            try:
                dump(cell)
                kept.append(cell)
            except TypeError:
                kept.append([])
                refused.append(i)
        cells = kept
        whole = dump(cells)
    n = len(cells)
    if not n:
        return pa.array([], type=_TEXT), refused
    data, nl = _lines(whole)
    data, nl = data[4:-2], nl[1:-1] - 4  # without "[\n  " and "\n]"
    while True:
        ends = np.append(nl - 1, len(data) - 1)  # each line's last character, before a comma
        ends -= data[ends] == _COMMA
        last = data[ends]
        fixed = _python_floats(data, ends[(last >= ord("0")) & (last <= ord("9"))])
        if fixed is None:
            break
        data, nl = _lines(fixed)
    opens = (last == ord("[")) | (last == ord("{"))
    closes = ((last == ord("]")) | (last == ord("}"))) & (data[ends - 1] == _SPACE)
    depth = 1 + np.cumsum(opens[:-1]) - np.cumsum(closes[1:])  # of the line after each newline
    count = 2 * depth  # the spaces starting it
    start = nl + 1 + count  # where each line's content starts
    if len(nl) and (
        (depth < 1).any() or (data[start - 1] != _SPACE).any() or (data[start] == _SPACE).any()
    ):
        raise pa.ArrowInvalid("unexpected orjson layout")
    comma = data[nl - 1] == _COMMA
    cut = comma & (count == 2)  # ",\n  " then a new cell: dropped, and a cell starts there
    if int(cut.sum()) != n - 1:
        raise pa.ArrowInvalid("unexpected orjson layout")
    # What is kept of each line is one run of the text (the first line's from 0):
    #   compact:  its content, and ", " for ",\n" (the newline made a space)
    #   indented: "\n", `target` spaces and its content (a newline written just before
    #             the last `target` spaces)
    # and a cell's first line starts at its content, its last before the "," that follows.
    data = data.copy()
    if unit is None:
        keep_newline = comma & ~cut
        data[nl[keep_newline]] = _SPACE
        end = nl + keep_newline
    else:
        target = len(unit) * (depth - 1 + level)
        if (target > count).any():  # more spaces than orjson's two a level
            return _spread(data, nl, count, cut, np.where(cut, 0, target), n), refused
        shifted = ~cut & (target < count)
        data[(nl + count - target)[shifted]] = _NL
        start = np.where(cut, start, nl + count - target)
        end = nl.copy()
    end[cut] -= 1  # the comma between two cells
    bounds = np.empty(2 * len(nl) + 4, dtype=np.int64)  # gap, run, gap, run, …, run, gap
    bounds[:2], bounds[-2:] = 0, len(data)
    bounds[2:-2:2], bounds[3:-2:2] = end, start
    first_line = np.append(0, np.flatnonzero(cut) + 1)  # of each cell
    if blank is not None and len(blank):  # "null", a line of its own: an empty run instead
        lines = first_line[blank]
        bounds[2 + 2 * lines] = bounds[1 + 2 * lines]
    pieces = pa.LargeStringArray.from_buffers(
        len(bounds) - 1, pa.py_buffer(bounds), pa.py_buffer(data)
    )
    runs = pieces.take(pa.array(np.arange(1, len(bounds) - 1, 2)))
    _, run_offsets, out = runs.buffers()
    offsets = np.frombuffer(run_offsets, dtype=np.int64)[np.append(first_line, len(nl) + 1)]
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), out)
    return arr, refused


# -- one column


def _digits(out: np.ndarray, at: int, value: np.ndarray, width: int) -> None:
    for i in range(width):
        out[:, at + width - 1 - i] = value // 10**i % 10 + ord("0")


def _iso_text(s: pd.Series, before: str, after: str, missing: str) -> pa.Array | None:
    """A datetime column as ISO-8601 UTC text between ``before`` and ``after`` (``missing``
    where missing), as :func:`_iso_column` writes it; None when that must do it (years
    before 1000 or after 9999, which strftime writes otherwise)."""
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    arr = utc.array
    per = _SECOND.get(getattr(arr, "unit", ""))
    if per is None or not isinstance(arr, pd.arrays.DatetimeArray):
        return None
    missing_at = np.asarray(arr.isna())
    ticks = np.where(missing_at, 0, arr.asi8)
    present = ticks[~missing_at]
    if present.size and arr.unit != "ns":
        low = np.datetime64("1000-01-01", arr.unit).astype(np.int64)
        high = np.datetime64("10000-01-01", arr.unit).astype(np.int64)
        if present.min() < low or present.max() >= high:
            return None
    frac = bool((present % per != 0).any())
    seconds, part = np.divmod(ticks, per)
    days, day_seconds = np.divmod(seconds, 86400)
    # the civil date of a day number (H. Hinnant's days → year, month, day)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    head, tail = before.encode(), ("Z" + after).encode()
    width = len(head) + (26 if frac else 19) + len(tail)
    out = np.empty((len(ticks), width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, width - len(tail) :] = np.frombuffer(tail, dtype=np.uint8)
    at = len(head)
    for sep, value, w in (
        ("-", year, 4),
        ("-", month, 2),
        ("T", day, 2),
        (":", day_seconds // 3600, 2),
        (":", day_seconds // 60 % 60, 2),
        (".", day_seconds % 60, 2),
    ):
        _digits(out, at, value, w)
        if sep != "." or frac:
            out[:, at + w] = ord(sep)
        at += w + 1
    if frac:
        micro = part // (per // 10**6) if per >= 10**6 else part * (10**6 // per)
        _digits(out, at, micro, 6)
    offsets = np.arange(0, (len(ticks) + 1) * width, width, dtype=np.int64)
    text = pa.LargeStringArray.from_buffers(len(ticks), pa.py_buffer(offsets), pa.py_buffer(out))
    if missing_at.any():
        text = pc.if_else(pa.array(missing_at), _lit(missing), text)
    return text


class _Writer:
    """How one format writes a cell: the fast ways and the slow one."""

    def __init__(self, fmt: str, escape: bool, unit: str | None) -> None:
        self.csv = fmt == "csv"
        self.escape = escape
        self.unit = None if self.csv else unit
        self.missing = "" if self.csv else "null"
        self.true, self.false = ("True", "False") if self.csv else ("true", "false")

    def slow(self, value: Any) -> str:
        if self.csv:
            return _csv_field(value, self.escape)
        return _json_value(value, self.unit, 2)

    def text(self, arr: pa.Array) -> pa.Array:
        """Text cells (nulls stay null)."""
        if self.csv:
            if self.escape:
                at = _flagged(arr, _FORMULA_START)
                arr = _put(arr, at, [escape_formula(v) for v in arr.take(at).to_pylist()])
            return arr
        at = _flagged(arr, _JSON_ESCAPED)
        out = pc.binary_join_element_wise(_lit('"'), arr, _lit('"'), _lit(""))
        texts = [json.dumps(v, ensure_ascii=False) for v in arr.take(at).to_pylist()]
        return _put(out, at, texts)

    def nested(self, cells: list[Any], blank: np.ndarray | None = None) -> pa.Array:
        arr, refused = _nested_texts(cells, self.unit, 2, blank)
        if refused:
            arr = _put(arr, np.asarray(refused), [self.slow(cells[i]) for i in refused])
        return arr

    def objects(self, s: pd.Series) -> pa.Array:
        """An object column: missing cells, text, lists and dicts each their fast way, the
        rest cell by cell."""
        values = s.to_numpy(dtype=object)
        n = len(values)
        kind = np.fromiter(map(_CELL_TYPE.get, map(type, values), [_OTHER] * n), np.int8, n)
        at = np.flatnonzero(kind == _FLOAT)
        if at.size:  # NaN is missing; other floats are written as cell_value says
            kind[at] = np.where(np.isnan(values[at].astype(np.float64)), _MISSING, _OTHER)
        if not ((kind != _CONTAINER) & (kind != _MISSING)).any():  # lists, dicts, missing
            missing = np.flatnonzero(kind == _MISSING)
            cells = values.tolist()
            for i in missing.tolist():
                cells[i] = None
            return self.nested(cells, missing if self.csv else None)
        order = np.zeros(n, dtype=np.int64)  # where each cell's text is in `pieces`
        pieces = [pa.array([self.missing], type=_TEXT)]
        start = 1
        for k in (_STRING, _CONTAINER, _OTHER):
            at = np.flatnonzero(kind == k)
            if not at.size:
                continue
            if k == _STRING:
                texts = self.text(pa.array(values[at], type=_TEXT))
            elif k == _CONTAINER:
                texts = self.nested(values[at].tolist())
            else:
                texts = pa.array([self.slow(v) for v in values[at]], type=_TEXT)
            order[at] = np.arange(start, start + at.size)
            pieces.append(texts)
            start += at.size
        return pa.concat_arrays(pieces).take(pa.array(order))

    def column(self, s: pd.Series) -> Cells:
        """One column's cells: the text of CSV fields (not yet quoted) or JSON values."""
        dtype, kind, missing = s.dtype, s.dtype.kind, self.missing
        numpy = isinstance(dtype, np.dtype)
        if isinstance(dtype, pd.CategoricalDtype):
            categories, codes = s.cat.categories, s.cat.codes.to_numpy()
            if isinstance(categories.dtype, pd.StringDtype):
                table = self.text(_arrow_text(categories.array))
            else:  # each category as s.astype(object) gives it (ints become floats with NaN)
                probe = list(range(len(categories))) + ([-1] if (codes < 0).any() else [])
                values = pd.Categorical.from_codes(probe, dtype=dtype).astype(object)
                texts = [self.slow(v) for v in values[: len(categories)]]
                table = pa.array(texts, type=_TEXT)
            table = pa.concat_arrays([table, pa.array([missing], type=_TEXT)])
            return _pick(table, np.where(codes < 0, len(table) - 1, codes))
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
            quote = "" if self.csv else '"'
            iso = _iso_text(s, quote, quote, missing)
            if iso is not None:
                return iso
        elif isinstance(dtype, pd.StringDtype):
            return self.text(_arrow_text(s.array)).fill_null(_lit(missing))
        elif kind == "O" and numpy:
            return self.objects(s)
        elif kind == "b" and numpy:
            table = pa.array([self.false, self.true], type=_TEXT)
            return _pick(table, s.to_numpy().view(np.int8))
        elif kind == "b" and isinstance(dtype, pd.BooleanDtype):
            flags = pa.array(s.array)
            return pc.if_else(flags, _lit(self.true), _lit(self.false)).fill_null(_lit(missing))
        elif kind in "iu" and (numpy or dtype.name[:1] in "IU"):
            ints = pa.array(s.to_numpy() if numpy else s.array)
            return pc.cast(ints, _TEXT).fill_null(_lit(missing))
        elif kind == "f" and numpy and dtype.itemsize <= 8:
            floats = s.to_numpy(dtype=np.float64)
            blank = np.isnan(floats) if self.csv else ~np.isfinite(floats)
            if self.csv and dtype.itemsize < 8:  # pandas writes float32 as float32 ("1e-05")
                texts = pa.array([str(v) for v in s.to_numpy()], type=_TEXT, mask=blank)
            else:  # json, as jsonable: the float64 value
                texts = pa.array(list(map(repr, floats.tolist())), type=_TEXT, mask=blank)
            return texts.fill_null(_lit(missing))
        if self.csv:
            return _pandas_fields(s, self.escape)
        prepared = _prepare_column(s, escape=False, nested="keep").astype(object)
        return pa.array([self.slow(v) for v in prepared], type=_TEXT)


def _columns(
    writer: _Writer, frame: pd.DataFrame, which: Iterable[int], pool: ThreadPoolExecutor | None
) -> list[Cells]:
    """The cells of the columns ``which`` of ``frame``, by the threads of ``pool`` if any
    (lists and dicts first: they take longest)."""
    series = [frame.iloc[:, i] for i in which]
    if pool is None:
        return [writer.column(s) for s in series]
    first = sorted(range(len(series)), key=lambda j: series[j].dtype != object)
    futures = {j: pool.submit(writer.column, series[j]) for j in first}
    return [futures[j].result() for j in range(len(series))]


def _output_frame(df: pd.DataFrame, index: bool | None) -> pd.DataFrame:
    """``df`` with its index as columns when it is written, rows numbered 0, 1, 2, …"""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, not {type(df).__name__}")
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    frame = df.reset_index() if index else df
    if not frame.index.equals(pd.RangeIndex(len(frame))):  # e.g. df[mask] with index=False
        frame = frame.set_axis(pd.RangeIndex(len(frame)))
    return frame


def _csv_table(
    df: pd.DataFrame, *, escape: bool, index: bool | None, pool: ThreadPoolExecutor | None = None
) -> pa.Table | None:
    """The text of every CSV field of ``df``, a column at a time (None when the cell-by-cell
    writer must do it: a frame without columns)."""
    frame = _output_frame(df, index)
    names = [str(c) for c in frame.columns]
    if escape:
        names = [escape_formula(n) for n in names]
    if not names:  # pandas writes an empty line per row; not worth a fast path
        return None
    n, same = len(frame), {}
    columns = _columns(_Writer("csv", escape, None), frame, range(len(names)), pool)
    for i, cells in enumerate(columns):
        if isinstance(cells, str):  # a column whose cells all read the same
            columns[i] = same.setdefault(cells, pa.repeat(_lit(cells), n))
    return pa.Table.from_arrays(columns, names=names)


def _write_table(table: pa.Table, fh: Any, pool: ThreadPoolExecutor | None = None) -> None:
    """Write the fields of :func:`_csv_table` as CSV to ``fh``: Arrow's CSV writer quotes
    every field and doubles the quotes in it, as Python's csv module does with
    ``QUOTE_ALL``, and hands ``fh`` a few thousand rows at a time."""
    if pool is None:
        pa_csv.write_csv(table, fh, pa_csv.WriteOptions(quoting_style="all_valid", batch_size=4096))
        return

    def rows(start: int) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(
            quoting_style="all_valid", batch_size=_ROWS, include_header=start == 0
        )
        pa_csv.write_csv(table.slice(start, _ROWS), sink, options)
        return sink.getvalue()

    for data in _ordered(rows, range(0, max(len(table), 1), _ROWS), pool):
        fh.write(data)


class _TextSink(io.RawIOBase):
    """A binary file that keeps what it is given as text."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._decode = codecs.getincrementaldecoder("utf-8")().decode

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(self._decode(data))
        return len(data)

    def text(self) -> str:
        return "".join(self.parts) + self._decode(b"", final=True)


def _json_bytes(
    df: pd.DataFrame,
    index: bool | None,
    indent: int | str | None,
    lines: bool,
    pool: ThreadPoolExecutor | None = None,
) -> Iterator[memoryview]:
    """``df`` as UTF-8 bytes of what :func:`json_text` writes, in pieces: the columns are
    made here, a column at a time; the rows are joined as the pieces are taken."""
    frame = _output_frame(df, index)
    last: dict[str, int] = {}  # a repeated name keeps its first place and its last column
    for i, c in enumerate(frame.columns):
        last[str(c)] = i
    n = len(frame)
    if not n:
        return iter([memoryview(b"" if lines else b"[]")])
    unit = None if lines or indent is None else indent
    if isinstance(unit, int):
        unit = " " * unit
    writer = _Writer("json", False, unit)
    keys = [json.dumps(k, ensure_ascii=False) for k in last]
    if unit is None:  # {"a": 1, "b": 2}
        open_, close = "{", "}"
        seps = [("" if j == 0 else ", ") + k + ": " for j, k in enumerate(keys)]
    else:
        open_, close = unit + "{\n", "\n" + unit + "}"
        seps = [("" if j == 0 else ",\n") + unit * 2 + k + ": " for j, k in enumerate(keys)]
    if not keys:
        open_, close = ("" if unit is None else unit) + "{}", ""
    if lines:
        pieces: list[Cells] = [open_]
        end = _edges(n, close + "\n")
    elif unit is None:  # [{...}, {...}]
        pieces = [_edges(n, open_, first="[" + open_)]
        end = _edges(n, close + ", ", last=close + "]")
    else:
        pieces = [_edges(n, open_, first="[\n" + open_)]
        end = _edges(n, close + ",\n", last=close + "\n]")
    for sep, cells in zip(seps, _columns(writer, frame, last.values(), pool), strict=True):
        pieces += [sep, cells]
    pieces.append(end)
    return _joined(pieces, n, pool)


# --------------------------------------------------------------------------- atomic files


def export_error(exc: OSError, target: Path) -> ExportError:
    """A one-line :class:`~cpexplore.errors.ExportError` that says what to do about ``exc``.

    >>> str(export_error(OSError(errno.ENOSPC, "full"), Path("x.csv"))).split(" (")[0]
    'the disk is full: could not write x.csv'
    """
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return ExportError(
            f"the disk is full: could not write {target}",
            hint=f"free some space or choose another folder; {target} was left as it was",
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ExportError(
            f"no permission to write {target}",
            hint="choose a folder you can write to, e.g. under your home directory",
        )
    if code == errno.EISDIR or target.is_dir():
        return ExportError(
            f"{target} is a directory, not a file",
            hint=f"give a file name inside it, e.g. {target / 'report.csv'}",
        )
    if code in (errno.ENOENT, errno.ENOTDIR):
        return ExportError(
            f"cannot write {target}: the folder {target.parent} does not exist",
            hint="create the folder first or choose another path",
        )
    return ExportError(
        f"could not write {target}: {exc.strerror or exc}", hint="choose another path"
    )


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], Any]) -> Path:
    """Write a file through ``write(binary_handle)`` into a temp file, then rename it; return it.

    Readers never see a half-written file, and a failed or interrupted write (full disk,
    Ctrl-C, ...) leaves any previous file untouched and no temporary file behind. A file
    that is replaced keeps its mode; new files get the usual ``0o666 & ~umask``.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise export_error(IsADirectoryError(errno.EISDIR, "Is a directory"), target)
    parent = target.parent
    if not parent.is_dir():
        raise export_error(FileNotFoundError(errno.ENOENT, "No such directory"), target)
    tmp = parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise export_error(e, target) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, CpExploreError):
            raise export_error(e, target) from None
        raise
    return target


def make_dir(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` (and its parents) if needed; return it.

    Raises :class:`~cpexplore.errors.ExportError` when it is a file or cannot be created.
    """
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise ExportError(
            f"{out} exists and is not a directory",
            hint="give a directory for the report, e.g. --out report",
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise export_error(e, out) from None
    return out


def write_csv_handle(fh: BinaryIO, frame: pd.DataFrame, *, encoding: str, gz: bool) -> None:
    """Write a frame prepared for CSV to a binary handle (gzip-compressed when ``gz``)."""
    raw: BinaryIO = gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) if gz else fh  # type: ignore[assignment]
    try:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        frame.to_csv(text, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
        text.flush()
        text.detach()
    finally:
        if gz:
            raw.close()


# --------------------------------------------------------------------------- CSV


def csv_text(df: pd.DataFrame, *, escape_formulas: bool = True, index: bool | None = None) -> str:
    """``df`` as CSV text, exactly as :func:`to_csv` would write it (without a BOM).

    >>> csv_text(pd.DataFrame({"n": [-3], "s": ["@x"]}))
    '"n","s"\\n"-3","\\'@x"\\n'
    """
    with _pool(df) as pool, contextlib.suppress(*_NOT_FAST):
        table = _csv_table(df, escape=escape_formulas, index=index, pool=pool)
        if table is not None:
            sink = _TextSink()
            _write_table(table, sink, pool)
            return sink.text()
    frame = _prepare(df, escape=escape_formulas, nested="json", index=index)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return buf.getvalue()


def write_csv(
    df: pd.DataFrame,
    fh: BinaryIO,
    *,
    escape_formulas: bool = True,
    bom: bool = False,
    index: bool | None = None,
) -> None:
    """Write ``df`` as CSV to the open binary handle ``fh`` (``sys.stdout.buffer``, a
    socket, …): the very bytes :func:`to_csv` writes to an uncompressed file, without
    building the text as a Python string first.

    >>> buf = io.BytesIO(); write_csv(pd.DataFrame({"s": ["@x"]}), buf); buf.getvalue()
    b'"s"\\n"\\'@x"\\n'
    """
    with _pool(df) as pool:
        table = None
        with contextlib.suppress(*_NOT_FAST):
            table = _csv_table(df, escape=escape_formulas, index=index, pool=pool)
        if table is None:
            frame = _prepare(df, escape=escape_formulas, nested="json", index=index)
            write_csv_handle(fh, frame, encoding="utf-8-sig" if bom else "utf-8", gz=False)
            return
        if bom:
            fh.write(codecs.BOM_UTF8)
        _write_table(table, fh, pool)


def to_csv(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    escape_formulas: bool = True,
    bom: bool = False,
    index: bool | None = None,
) -> Path:
    """Write ``df`` to ``path`` as CSV that is safe to open in a spreadsheet; return the path.

    Every field is quoted; text is UTF-8 (``bom=True`` adds the BOM Excel wants to detect
    UTF-8); timestamps are ISO-8601 UTC with ``Z``; lists and dicts are JSON; cells that
    could start a formula (``= + - @``, tab, CR, LF; not plain numbers such as ``-3``) get
    a leading ``'`` unless ``escape_formulas=False``. A path ending in ``.gz`` is
    gzip-compressed. The index is written only when it is not a plain ``RangeIndex``
    (``index=True/False`` decides explicitly). The write is atomic. :func:`read_csv` reads
    the file back with its types.

    Raises :class:`~cpexplore.errors.ExportError` when the path is a directory, its folder
    is missing or not writable, or the disk is full.

    >>> to_csv(servers, "servers.csv", bom=True)          # doctest: +SKIP
    PosixPath('servers.csv')
    """
    gz = str(path).endswith(".gz")
    with _pool(df) as pool:
        table = None
        with contextlib.suppress(*_NOT_FAST):
            table = _csv_table(df, escape=escape_formulas, index=index, pool=pool)
        if table is None:
            frame = _prepare(df, escape=escape_formulas, nested="json", index=index)
            encoding = "utf-8-sig" if bom else "utf-8"
            return atomic_write(
                path, lambda fh: write_csv_handle(fh, frame, encoding=encoding, gz=gz)
            )

        def write(fh: BinaryIO) -> None:
            raw: BinaryIO = gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) if gz else fh  # type: ignore[assignment]
            try:
                if bom:
                    raw.write(codecs.BOM_UTF8)
                _write_table(table, raw, pool)
            finally:
                if gz:
                    raw.close()

        return atomic_write(path, write)


def read_csv(
    path: str | os.PathLike[str] | Any,
    *,
    unescape_formulas: bool = True,
    infer_types: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV written by :func:`to_csv` back as a typed frame.

    Empty fields are missing values; other text (``"NA"``, ``"null"``) stays text. With
    ``infer_types`` (the default) each column gets the type its text shows, as
    :func:`infer_kinds` decides: ISO ``…Z`` timestamps → UTC datetimes; whole numbers →
    ``int64`` (``Int64`` when some are missing); other numbers → ``float64``;
    ``True``/``False`` → ``bool`` (``boolean`` when some are missing); JSON lists and
    dicts → lists and dicts; anything else stays text, with the ``'`` that formula
    escaping added removed (``unescape_formulas=False`` keeps it). A BOM is skipped.

    Reading is lossless for what :func:`to_csv` writes, with one limit a CSV file cannot
    avoid: a text column whose every value looks like a number, a timestamp or JSON
    reads back as that (``infer_types=False`` keeps every column as text). Extra keyword
    arguments go to :func:`pandas.read_csv`; columns given a ``dtype`` there are left as
    pandas reads them.

    >>> df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "s": ["=x", "y"]})
    >>> back = read_csv(io.StringIO(csv_text(df)))
    >>> back["n"].dtype, back["s"].tolist()
    (Int64Dtype(), ['=x', 'y'])
    """
    given = kwargs.pop("dtype", None)
    typed: set[str] | None = set()  # columns whose type the caller chose (None: all)
    if isinstance(given, Mapping):  # the columns not named are read as text
        typed = {str(c) for c in given}
        kwargs["dtype"] = defaultdict(lambda: object, given)
    elif given is not None:
        typed, kwargs["dtype"] = None, given
    else:
        kwargs["dtype"] = object
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    kwargs.setdefault("encoding", "utf-8-sig")
    raw = pd.read_csv(path, **kwargs)
    if unescape_formulas:
        raw.columns = [unescape_formula(c) if isinstance(c, str) else c for c in raw.columns]
    free = [] if typed is None else [c for c in raw.columns if str(c) not in typed]
    kinds = infer_kinds(raw[free]) if infer_types else dict.fromkeys(free, "string")
    if unescape_formulas:
        for c, kind in kinds.items():
            if kind == "string":
                raw[c] = (
                    raw[c]
                    .astype(object)
                    .map(lambda v: unescape_formula(v) if isinstance(v, str) else v)
                )
    return restore_kinds(raw, kinds)


# --------------------------------------------------------------------------- JSON


def _records(df: pd.DataFrame, index: bool | None) -> list[dict[str, Any]]:
    frame = _prepare(df, escape=False, nested="keep", index=index)
    cols = list(frame.columns)
    rows = frame.astype(object).to_numpy()
    return [
        {c: (None if is_missing(v) else jsonable(v)) for c, v in zip(cols, row, strict=True)}
        for row in rows
    ]


def _no_escape(escape_formulas: bool | None, where: str) -> None:
    if escape_formulas:  # False asks for what JSON always does
        warnings.warn(
            f"{where}: escape_formulas is ignored; JSON keeps every value as it is "
            "(formula escaping is for CSV, which spreadsheets open)",
            DeprecationWarning,
            stacklevel=3,
        )


def json_text(
    df: pd.DataFrame,
    *,
    index: bool | None = None,
    indent: int | None = None,
    lines: bool = False,
    escape_formulas: bool | None = None,
) -> str:
    """``df`` as JSON text, exactly as :func:`to_json` would write it.

    ``escape_formulas`` is accepted for older callers and ignored (``True`` warns with a
    ``DeprecationWarning``): JSON values are never changed.

    >>> json_text(pd.DataFrame({"n": [1], "t": [pd.Timestamp("2026-01-02", tz="UTC")]}))
    '[{"n": 1, "t": "2026-01-02T00:00:00Z"}]'
    """
    _no_escape(escape_formulas, "json_text")
    with _pool(df) as pool:
        chunks = None
        with contextlib.suppress(*_NOT_FAST):
            chunks = _json_bytes(df, index, indent, lines, pool)
        if chunks is None:
            return _json_slow(df, index, indent, lines)
        return "".join([str(chunk, "utf-8") for chunk in chunks])  # whole rows: whole characters


def _json_slow(df: pd.DataFrame, index: bool | None, indent: int | None, lines: bool) -> str:
    """What :func:`json_text` writes, a record at a time (for what the fast way cannot)."""
    recs = _records(df, index)
    if lines:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    return json.dumps(recs, ensure_ascii=False, indent=indent)


def _json_chunks(
    df: pd.DataFrame,
    index: bool | None,
    indent: int | None,
    lines: bool,
    pool: ThreadPoolExecutor | None,
) -> Iterator[bytes | memoryview]:
    """The bytes of a JSON file, in pieces: :func:`json_text`, UTF-8, a newline after an array.
    What can fail is done before the first piece is taken."""
    chunks: Iterator[bytes | memoryview] | None = None
    with contextlib.suppress(*_NOT_FAST):
        chunks = _json_bytes(df, index, indent, lines, pool)
    if chunks is None:
        chunks = iter([_json_slow(df, index, indent, lines).encode("utf-8")])
    return itertools.chain(chunks, [] if lines else [b"\n"])


def write_json(
    df: pd.DataFrame,
    fh: BinaryIO,
    *,
    index: bool | None = None,
    indent: int | None = None,
    lines: bool = False,
) -> None:
    """Write ``df`` as JSON to the open binary handle ``fh``: the very bytes :func:`to_json`
    writes to a file (:func:`json_text`, UTF-8, then a newline unless ``lines``), without
    building the text as a Python string first.

    >>> buf = io.BytesIO(); write_json(pd.DataFrame({"n": [1]}), buf); buf.getvalue()
    b'[{"n": 1}]\\n'
    """
    with _pool(df) as pool:
        for chunk in _json_chunks(df, index, indent, lines, pool):
            fh.write(chunk)


def to_json(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    index: bool | None = None,
    indent: int | None = None,
    lines: bool = False,
    escape_formulas: bool | None = None,
) -> Path:
    """Write ``df`` as a JSON array of records (or JSON Lines with ``lines=True``).

    UTF-8, ISO-8601 ``Z`` timestamps, atomic, like :func:`to_csv`; unlike it, text is
    written exactly as it is (a name ``=HYPERLINK(…)`` stays ``=HYPERLINK(…)``): JSON is
    read by programs, which must treat it as data. Lists and dicts stay JSON values;
    missing values are ``null``. ``escape_formulas`` is ignored, as in :func:`json_text`.

    >>> to_json(servers, "servers.json")     # doctest: +SKIP
    PosixPath('servers.json')
    """
    _no_escape(escape_formulas, "to_json")
    with _pool(df) as pool:
        chunks = _json_chunks(df, index, indent, lines, pool)

        def write(fh: BinaryIO) -> None:
            for chunk in chunks:
                fh.write(chunk)

        return atomic_write(path, write)


# --------------------------------------------------------------------------- column kinds


def column_kind(s: pd.Series) -> str:
    """How a column is stored in a file and read back: one of :data:`KINDS`.

    Object columns are looked at value by value: lists and dicts make ``json``, all
    timestamps ``datetime``, all booleans ``bool``, all whole numbers ``int``, all
    numbers ``float``; anything else (and a column of missing values) is ``string``.

    >>> [column_kind(pd.Series(v)) for v in ([1, 2], [0.5], [True], [["a"]], ["x", None])]
    ['int', 'float', 'bool', 'json', 'string']
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return "datetime"
    values = [v for v in s.to_numpy(dtype=object) if not is_missing(v)]
    if not values:
        return "string"
    if any(isinstance(v, dict | list | tuple | np.ndarray) for v in values):
        return "json"
    if all(isinstance(v, pd.Timestamp | datetime) for v in values):
        return "datetime"
    if all(isinstance(v, bool | np.bool_) for v in values):
        return "bool"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return "int"
    if all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in values
    ):
        return "float"
    return "string"


def _text_kind(values: pd.Series) -> str:
    """The kind of one column of CSV text (missing values already dropped)."""
    if not len(values):
        return "string"
    text = values.astype(str)
    if text.isin(["True", "False"]).all():
        return "bool"
    if text.str.fullmatch(_INT_TEXT).all():
        ints = [int(v) for v in text]
        if min(ints) >= _INT64_MIN and max(ints) <= _INT64_MAX:
            return "int"
        return "string"
    if text.str.fullmatch(_FLOAT_TEXT).all():
        # only the forms numbers are written in, so "1.50" or "007" stay text
        if all(
            v in ("inf", "-inf") or repr(float(v)) == v or re.fullmatch(_INT_TEXT, v) for v in text
        ):
            return "float"
        return "string"
    if text.str.fullmatch(_TIME_TEXT).all():
        return "datetime"
    first = text.str[:1]
    if first.isin(["[", "{"]).all():
        try:
            parsed = [json.loads(v) for v in text]
        except ValueError:
            return "string"
        if all(isinstance(v, list | dict) for v in parsed):
            return "json"
    return "string"


def infer_kinds(raw: pd.DataFrame) -> dict[Any, str]:
    """The kind of each column of a frame of CSV text, as :func:`read_csv` reads it.

    A column is a number, boolean, timestamp or JSON only when *every* value present is
    written exactly the way :func:`to_csv` writes that type (``12``, ``-0.5``, ``True``,
    ``2026-01-02T03:04:05Z``, ``["a"]``); otherwise it is ``string``. A column without
    any value is ``string`` (its type is unknown).

    >>> raw = pd.DataFrame({"a": ["1", None], "b": ["1.5", "2"], "c": ["007", "8"]}, dtype=object)
    >>> infer_kinds(raw)
    {'a': 'int', 'b': 'float', 'c': 'string'}
    """
    return {c: _text_kind(raw[c].dropna()) for c in raw.columns}


def _to_bool(v: Any) -> Any:
    if is_missing(v):
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    return str(v) == "True"


def _to_int(v: Any) -> Any:
    if is_missing(v):
        return None
    return int(v) if not isinstance(v, str) else int(v.strip())


def restore_kinds(frame: pd.DataFrame, kinds: Mapping[Any, str]) -> pd.DataFrame:
    """``frame`` (text read from a file) with each column turned into its kind.

    ``int`` → ``int64`` (``Int64`` with missing values), ``float`` → ``float64``,
    ``bool`` → ``bool`` (``boolean`` with missing values), ``datetime`` → UTC datetimes,
    ``json`` → lists and dicts, ``category`` → ``category``, ``string`` → text with
    ``None`` where missing. Columns not in ``kinds`` are kept as they are. A new frame
    is returned.

    >>> raw = pd.DataFrame({"n": ["1", None], "t": ["2026-01-02T00:00:00Z", None]}, dtype=object)
    >>> back = restore_kinds(raw, {"n": "int", "t": "datetime"})
    >>> str(back["n"].dtype), str(back["t"].dt.tz)
    ('Int64', 'UTC')
    """
    out = {}
    for c in frame.columns:
        s = frame[c]
        k = kinds.get(c)
        if k is None:
            out[c] = s
        elif k == "json":
            out[c] = s.astype(object).map(
                lambda v: json.loads(v) if isinstance(v, str) and v else None
            )
        elif k == "datetime":
            out[c] = pd.to_datetime(s, utc=True, format="ISO8601")
        elif k == "int":
            values = s.astype(object).map(_to_int)
            has_na = values.isna().any()
            out[c] = (
                pd.array(values.tolist(), dtype="Int64")
                if has_na
                else values.to_numpy(dtype=np.int64)
            )
        elif k == "float":
            out[c] = pd.to_numeric(s.astype(object).where(s.notna(), np.nan)).astype("float64")
        elif k == "bool":
            mapped = s.astype(object).map(_to_bool)
            out[c] = (
                mapped.astype("boolean") if mapped.isna().any() else mapped.to_numpy(dtype=bool)
            )
        elif k == "category":
            out[c] = s.astype(object).where(s.notna(), None).astype("category")
        else:
            out[c] = s.astype(object).where(s.notna(), None)
    result = pd.DataFrame(out, index=frame.index)
    result.attrs = dict(frame.attrs)
    return result


# --------------------------------------------------------------------------- provenance


def session_meta(session: Session, region: str | None) -> dict[str, Any]:
    """Who and where, for report headers and snapshot manifests — never a secret.

    Keys: ``cloud`` (host:port of the auth URL), ``user``, ``project``, ``region`` and
    ``interface``.
    """
    tok = session.token
    parts = urlsplit(session.settings.auth_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return {
        "cloud": host,
        "user": tok.user,
        "project": tok.project,
        "region": region or session.region or "(default)",
        "interface": session.interface,
    }
