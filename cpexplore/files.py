"""How cpexplore writes and reads files: one writer per format, and a reader for CSV.

:func:`cell_value` is the plain form of a cell every text output starts from; only CSV,
which spreadsheets open, is escaped against formulas (:func:`escape_formula`, as OWASP
recommends). As in pandas, ``to_csv(df)`` returns the text, ``to_csv(df, "x.csv")`` writes
a file atomically (``.gz``: compressed) and ``to_csv(df, fh)`` writes to an open handle.
CSV is Arrow's writer's, JSON DuckDB's, both a column at a time.

Example:
    >>> df = pd.DataFrame({"name": ["=1+1", "-3", "web"], "tags": [["a"], [], None]})
    >>> print(to_csv(df), end="")
    "name","tags"
    "'=1+1","[""a""]"
    "-3","[]"
    "web",""
    >>> to_json(df.head(1))
    '[\\n{"name":"=1+1","tags":["a"]}\\n]\\n'
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import gzip
import io
import json
import math
import os
import re
import secrets
import stat
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import duckdb
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .errors import CpExploreError, ExportError
from .lists.dtypes import utc_timestamps

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
    "to_csv",
    "to_json",
    "read_csv",
    "column_kind",
    "infer_kinds",
    "restore_kinds",
    "session_meta",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
#: How a column is stored in a file and read back (see :func:`column_kind`).
KINDS = ("int", "float", "bool", "datetime", "category", "json", "string")

_INT_TEXT = r"-?(?:0|[1-9][0-9]*)"
_FLOAT_TEXT = r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?|-?inf"
_TIME_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# what escape_formula escapes (plain numbers such as -3 are not), also a column at a time
_FORMULA_START = r"^'*[=+\-@\t\r\n]"
_PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(_PLAIN_NUMBER, re.ASCII)

PathOrBuffer = str | os.PathLike[str] | BinaryIO | io.TextIOBase | None


# --------------------------------------------------------------------------- cells


def escape_formula(text: str) -> str:
    """Neutralise one text cell for spreadsheets: prefix ``'`` if it could start a formula.

    Plain numbers (``-3``, ``+1.5e3``) are left alone so they stay numbers; text that
    already starts with ``'`` before a trigger gets one more, so :func:`unescape_formula`
    can undo exactly what was done.

    >>> escape_formula("=SUM(A1)"), escape_formula("-3"), escape_formula("web-1")
    ("'=SUM(A1)", '-3', 'web-1')
    """
    if text.lstrip("'")[:1] in FORMULA_TRIGGERS and not _NUMBER.fullmatch(text):
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
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text of :func:`jsonable` ``value`` (UTF-8 kept as is).

    >>> json_dumps({"b": 1, "a": ["x"]}, sort_keys=True)
    '{"a": ["x"], "b": 1}'
    """
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=sort_keys, default=str)


def cell_value(value: Any) -> Any:
    """One cell in the plain form every text output starts from (each then adds its own
    escaping): ``None`` when missing, JSON text for lists, dicts and arrays, ISO-8601 UTC
    ``Z`` text for timestamps, Python scalars for numpy ones, anything else as it is.

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


# --------------------------------------------------------------------------- writing


def to_csv(
    df: pd.DataFrame,
    path_or_buf: PathOrBuffer = None,
    *,
    escape_formulas: bool = True,
    bom: bool = False,
    index: bool | None = None,
) -> str | Path | None:
    """``df`` as CSV that is safe to open in a spreadsheet: the text (no ``path_or_buf``),
    a file written atomically (``.gz`` compresses; the path is returned), or the bytes
    written to an open handle.

    Every field is quoted; UTF-8 (``bom=True`` adds the BOM Excel wants); timestamps
    ISO-8601 UTC ``Z``; lists and dicts JSON; cells that could start a formula (``= + -
    @``, tab, CR, LF; not plain numbers such as ``-3``) get a leading ``'`` unless
    ``escape_formulas=False``. The index is written only when it is not a ``RangeIndex``
    (``index=`` decides). A file that cannot be written raises
    :class:`~cpexplore.errors.ExportError`.

    >>> to_csv(pd.DataFrame({"n": [-3], "s": ["@x"]}))
    '"n","s"\\n"-3","\\'@x"\\n'
    """
    frame = _output_frame(df, index)
    names = [escape_formula(str(c)) if escape_formulas else str(c) for c in frame.columns]
    columns = [_csv_column(frame.iloc[:, i], escape_formulas) for i in range(frame.shape[1])]
    table = pa.table(columns, names=names)

    def write(fh: BinaryIO) -> None:
        if bom:
            fh.write(codecs.BOM_UTF8)
        if table.num_columns:
            pa_csv.write_csv(table, fh, pa_csv.WriteOptions(quoting_style="all_valid"))
        else:
            fh.write(b"\n" * (len(frame) + 1))

    return _deliver(write, path_or_buf)


def to_json(
    df: pd.DataFrame,
    path_or_buf: PathOrBuffer = None,
    *,
    index: bool | None = None,
    lines: bool = False,
) -> str | Path | None:
    """``df`` as a JSON array of records, one a line (JSON Lines with ``lines=True``),
    delivered as :func:`to_csv` does. Timestamps are ISO-8601 ``Z``, lists and dicts JSON
    values, missing values and infinities ``null``; text is written exactly as it is (no
    formula escaping: JSON is read by programs, which must treat it as data).

    >>> to_json(pd.DataFrame({"n": [1], "t": [pd.Timestamp("2026-01-02", tz="UTC")]}))
    '[\\n{"n":1,"t":"2026-01-02T00:00:00Z"}\\n]\\n'
    """
    rows = _json_rows(_output_frame(df, index))
    text = "".join(f"{r}\n" for r in rows) if lines else "[\n" + ",\n".join(rows) + "\n]\n"
    return _deliver(lambda fh: fh.write(text.encode("utf-8")), path_or_buf)


def _deliver(write: Callable[[BinaryIO], Any], target: PathOrBuffer) -> str | Path | None:
    """Run ``write(binary handle)`` for the text, a file (atomically; ``.gz``) or a handle."""
    if target is None or isinstance(target, io.TextIOBase):
        buf = io.BytesIO()
        write(buf)
        text = buf.getvalue().decode("utf-8")
        if target is None:
            return text
        target.write(text)
        return None
    if isinstance(target, str | os.PathLike):
        if not str(target).endswith(".gz"):
            return atomic_write(target, write)

        def compressed(fh: BinaryIO) -> None:
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                write(gz)  # type: ignore[arg-type]

        return atomic_write(target, compressed)
    write(target)
    return None


def _output_frame(df: pd.DataFrame, index: bool | None) -> pd.DataFrame:
    """``df`` with its index as columns when it carries information (not a RangeIndex)."""
    show = index if index is not None else not isinstance(df.index, pd.RangeIndex)
    return df.reset_index() if show else df


def _iso_text(s: pd.Series) -> pa.Array:
    """A datetime column as ISO-8601 UTC ``Z`` text (a fraction only when some value has one)."""
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    arr = pa.array(utc, from_pandas=True)
    present = utc.dropna()
    frac = bool(((present.dt.microsecond != 0) | (present.dt.nanosecond != 0)).any())
    arr = pc.cast(arr, pa.timestamp("us" if frac else "s", "UTC"), safe=False)
    return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ")


def _csv_column(s: pd.Series, escape: bool) -> pa.Array:
    """One column as the text of its CSV cells (missing: empty), a column at a time."""
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return pc.fill_null(_iso_text(s), "")
    if pd.api.types.is_bool_dtype(dtype):
        arr = pa.array(s, from_pandas=True, type=pa.bool_())
        return pc.fill_null(pc.if_else(arr, "True", "False"), "")
    if pd.api.types.is_float_dtype(dtype):
        return pc.fill_null(_float_texts(pa.array(s, from_pandas=True, type=pa.float64())), "")
    if pd.api.types.is_integer_dtype(dtype):
        return pc.fill_null(pc.cast(pa.array(s, from_pandas=True), pa.string()), "")
    if isinstance(dtype, pd.CategoricalDtype):  # each category formatted once
        names = _texts(s.cat.categories)
        text = pc.take(names, pa.array(s.cat.codes.to_numpy(), mask=s.cat.codes.to_numpy() < 0))
    elif isinstance(dtype, pd.StringDtype):
        text = pa.array(s.astype(object), from_pandas=True, type=pa.string())
    else:  # objects: lists and dicts as JSON, times as ISO text, anything else as text
        text = _texts(s)
    if escape:
        risky = pc.and_(
            pc.match_substring_regex(text, _FORMULA_START),
            pc.invert(pc.match_substring_regex(text, f"^{_PLAIN_NUMBER}$")),
        )
        escaped = pc.binary_join_element_wise("'", text, "")
        text = pc.if_else(pc.fill_null(risky, False), escaped, text)
    return pc.fill_null(text, "")


def _float_texts(arr: pa.Array) -> pa.Array:
    """Floats as the shortest text that reads back exactly, whole ones with ``.0``.

    >>> _float_texts(pa.array([2.0, 0.5, 1e20, float("inf")])).to_pylist()
    ['2.0', '0.5', '1e+20', 'inf']
    """
    text = pc.cast(arr, pa.string())
    whole = pc.and_(pc.is_finite(arr), pc.equal(arr, pc.floor(arr)))
    plain = pc.invert(pc.match_substring(text, "e"))
    return pc.if_else(pc.and_(whole, plain), pc.binary_join_element_wise(text, ".0", ""), text)


def _texts(values: Any) -> pa.Array:
    """Values as the text :func:`cell_value` gives them (``None`` stays missing)."""
    cells = (cell_value(v) for v in np.asarray(values, dtype=object))
    return pa.array([None if c is None else str(c) for c in cells], type=pa.string())


def _json_value(value: Any) -> str:
    """One value as JSON text (:func:`jsonable`; integers past 64 bits too)."""
    value = jsonable(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _json_rows(frame: pd.DataFrame) -> list[str]:
    """Each row as compact JSON text, by DuckDB (exact numbers, text as it is)."""
    names = [str(c) for c in frame.columns]
    if not names:
        return ["{}"] * len(frame)
    columns, nested = [], []
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        dtype = s.dtype
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
            columns.append(_iso_text(s))
        elif pd.api.types.is_float_dtype(dtype):
            arr = pa.array(s, from_pandas=True, type=pa.float64())
            columns.append(pc.if_else(pc.is_finite(arr), arr, pa.scalar(None, pa.float64())))
        elif isinstance(dtype, pd.StringDtype):
            columns.append(pa.array(s.astype(object), from_pandas=True, type=pa.string()))
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
            columns.append(pa.array(s, from_pandas=True))
        else:  # objects, categories: each value as its JSON text
            nested.append(i)
            texts = (_json_value(v) for v in np.asarray(s.astype(object), dtype=object))
            columns.append(pa.array([None if t == "null" else t for t in texts], pa.string()))
    table = pa.table(columns, names=[f"c{i}" for i in range(len(names))])
    fields = ", ".join(
        f"'{n.replace(chr(39), chr(39) * 2)}': " + (f"json(c{i})" if i in nested else f"c{i}")
        for i, n in enumerate(names)
    )
    with duckdb.connect() as con:
        con.register("t", table)
        out = con.sql(f"SELECT to_json({{{fields}}}) AS j FROM t").to_arrow_table()
    return out.column("j").to_pylist()


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
    """Create the folder ``path`` (and its parents) if needed and return it, or raise
    :class:`~cpexplore.errors.ExportError`."""
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


# --------------------------------------------------------------------------- reading, column kinds


def read_csv(
    path: str | os.PathLike[str] | Any,
    *,
    unescape_formulas: bool = True,
    infer_types: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV written by :func:`to_csv` back as a typed frame.

    Empty fields are missing; other text (``"NA"``, ``"null"``) stays text. With
    ``infer_types`` each column gets the type its text shows (:func:`infer_kinds`); text
    loses the ``'`` that formula escaping added unless ``unescape_formulas=False``. A BOM
    is skipped. Lossless for what :func:`to_csv` writes, but for one limit of CSV: a text
    column whose every value looks like a number, a timestamp or JSON reads back as that.
    Extra keyword arguments go to :func:`pandas.read_csv`; columns given a ``dtype`` there
    are left as pandas reads them.

    >>> df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "s": ["=x", "y"]})
    >>> back = read_csv(io.StringIO(to_csv(df)))
    >>> back["n"].dtype, back["s"].tolist()
    (Int64Dtype(), ['=x', 'y'])
    """
    given = kwargs.pop("dtype", None)
    typed: set[str] | None = set() if given is None else None  # the caller's (None: all)
    if isinstance(given, Mapping):  # the columns not named are read as text
        typed, given = {str(c) for c in given}, defaultdict(lambda: object, given)
    options = {"keep_default_na": False, "na_values": [""], "encoding": "utf-8-sig", **kwargs}
    raw = pd.read_csv(path, dtype=object if given is None else given, **options)
    if unescape_formulas:
        raw.columns = [unescape_formula(c) if isinstance(c, str) else c for c in raw.columns]
    free = [] if typed is None else [c for c in raw.columns if str(c) not in typed]
    kinds = infer_kinds(raw[free]) if infer_types else dict.fromkeys(free, "string")
    texts = [c for c, kind in kinds.items() if kind == "string" and unescape_formulas]
    raw[texts] = raw[texts].map(lambda v: unescape_formula(v) if isinstance(v, str) else v)
    return restore_kinds(raw, kinds)


def column_kind(s: pd.Series) -> str:
    """How a column is stored in a file and read back: one of :data:`KINDS`.

    Object columns by their values: lists and dicts make ``json``; all timestamps, booleans,
    integers or numbers ``datetime``, ``bool``, ``int``, ``float``; anything else ``string``.

    >>> [column_kind(pd.Series(v)) for v in ([1, 2], [0.5], [True], [["a"]], ["x", None])]
    ['int', 'float', 'bool', 'json', 'string']
    """
    kind = next((k for test, k in _DTYPE_KINDS if test(s.dtype)), None)
    if kind is not None:
        return kind
    values = [v for v in s.to_numpy(dtype=object) if not is_missing(v)]
    if not values:
        return "string"
    if any(isinstance(v, dict | list | tuple | np.ndarray) for v in values):
        return "json"
    return next((k for k, test in _VALUE_KINDS if all(map(test, values))), "string")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


# the kind of a typed column, by its dtype, then of an object column, by all its values
_DTYPE_KINDS: tuple[tuple[Callable[[Any], bool], str], ...] = (
    (lambda d: isinstance(d, pd.CategoricalDtype), "category"),
    (pd.api.types.is_bool_dtype, "bool"),
    (pd.api.types.is_integer_dtype, "int"),
    (pd.api.types.is_float_dtype, "float"),
    (
        lambda d: isinstance(d, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(d),
        "datetime",
    ),
)
_VALUE_KINDS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("datetime", lambda v: isinstance(v, pd.Timestamp | datetime)),
    ("bool", lambda v: isinstance(v, bool | np.bool_)),
    ("int", lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool)),
    ("float", _is_number),
)


def _text_kind(values: pd.Series) -> str:
    """The kind of one column of CSV text (missing values already dropped)."""
    if not len(values):
        return "string"
    text = values.astype(str)
    if text.isin(["True", "False"]).all():
        return "bool"
    if text.str.fullmatch(_FLOAT_TEXT).all():
        return _number_kind(text)
    if text.str.fullmatch(_TIME_TEXT).all():
        return "datetime"
    if text.str[:1].isin(["[", "{"]).all():
        with contextlib.suppress(ValueError):
            if all(isinstance(json.loads(v), list | dict) for v in text):
                return "json"
    return "string"


def _number_kind(text: pd.Series) -> str:
    """``int`` or ``float`` when every value is written as to_csv writes it, else ``string``."""
    if text.str.fullmatch(_INT_TEXT).all():
        ints = [int(v) for v in text]
        return "int" if min(ints) >= _INT64_MIN and max(ints) <= _INT64_MAX else "string"
    arr = pa.array(text.tolist(), pa.string())
    again = _float_texts(pc.cast(arr, pa.float64()))
    ints = pc.match_substring_regex(arr, f"^{_INT_TEXT}$")
    return "float" if pc.all(pc.or_(pc.equal(again, arr), ints)).as_py() else "string"


def infer_kinds(raw: pd.DataFrame) -> dict[Any, str]:
    """The kind of each column of a frame of CSV text, as :func:`read_csv` reads it.

    A column is a number, boolean, timestamp or JSON only when *every* value present is
    written the way :func:`to_csv` writes that type; otherwise (or empty) it is ``string``.

    >>> raw = pd.DataFrame({"a": ["1", None], "b": ["1.5", "2"], "c": ["007", "8"]}, dtype=object)
    >>> infer_kinds(raw)
    {'a': 'int', 'b': 'float', 'c': 'string'}
    """
    return {c: _text_kind(raw[c].dropna()) for c in raw.columns}


def _to_bool(v: Any) -> Any:
    if is_missing(v):
        return None
    return bool(v) if isinstance(v, bool | np.bool_) else str(v) == "True"


# how restore_kinds converts an int or bool cell, and the dtypes with and without missing
_NULLABLE = {
    "int": (lambda v: None if is_missing(v) else int(v), "Int64", np.int64),
    "bool": (_to_bool, "boolean", bool),
}


def restore_kinds(frame: pd.DataFrame, kinds: Mapping[Any, str]) -> pd.DataFrame:
    """``frame`` (text read from a file) with each column turned into its kind.

    ``int`` → ``int64`` (``Int64`` with missing values), ``bool`` → ``bool`` (``boolean``),
    ``float`` → ``float64``, ``datetime`` → UTC, ``json`` → lists and dicts, ``category``,
    ``string`` → text with ``None`` where missing; other columns are kept. A new frame.

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
            out[c] = utc_timestamps(s.to_numpy(dtype=object))
        elif k in _NULLABLE:
            convert, nullable, plain = _NULLABLE[k]
            values = s.astype(object).map(convert)
            has_na = values.isna().any()
            out[c] = pd.array(values.tolist(), nullable) if has_na else values.to_numpy(plain)
        elif k == "float":
            out[c] = pd.to_numeric(s.astype(object).where(s.notna(), np.nan)).astype("float64")
        elif k == "category":
            out[c] = s.astype(object).where(s.notna(), None).astype("category")
        else:
            out[c] = s.astype(object).where(s.notna(), None)
    result = pd.DataFrame(out, index=frame.index)
    result.attrs = dict(frame.attrs)
    return result


def session_meta(session: Session, region: str | None) -> dict[str, Any]:
    """Who and where (``cloud`` is the auth URL's host:port), for report headers and
    snapshot manifests — never a secret."""
    tok = session.token
    parts = urlsplit(session.settings.auth_url)
    return {
        "cloud": (parts.hostname or "") + (f":{parts.port}" if parts.port else ""),
        "user": tok.user,
        "project": tok.project,
        "region": region or session.region or "(default)",
        "interface": session.interface,
    }
