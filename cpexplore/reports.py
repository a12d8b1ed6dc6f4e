"""Files a person can open: safe CSV/JSON and an inventory report.

Everything here takes DataFrames and writes files, except :func:`inventory_report`, which
takes a :class:`~cpexplore.Session` to fetch what it writes.

* :func:`to_csv` / :func:`to_json` write UTF-8 (``bom=True`` adds a BOM for Excel),
  timestamps as ISO-8601 with ``Z``, lists and dicts as JSON, atomically (a temporary
  file in the same folder, then a rename), and neutralise spreadsheet formulas the way
  OWASP recommends: a text cell that starts with ``= + - @``, tab, CR or LF (and is not
  a plain number such as ``-3``) gets a leading ``'``. The visible ``'`` is the price of
  safety; pass ``escape_formulas=False`` for machine consumers. :func:`read_csv` reads
  such a file back and removes exactly the quotes that were added.
* :func:`cell_value` is the one plain form of a cell that every text output starts from
  (CSV here, the command line's tables, the widgets' HTML tables).
* :func:`inventory_report` writes ``servers.csv``, ``hosts.csv``, ``endpoints.csv``,
  ``summary.csv`` and ``capacity.csv`` (the tables of :mod:`cpexplore.summaries`), PNG
  charts and an ``index.html`` tying them together.

Snapshots and diffs live in :mod:`cpexplore.snapshots`; ``snapshot``, ``snapshots``,
``load_snapshot``, ``diff``, ``diff_snapshots`` and ``Diff`` stay importable from here.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["=1+1", "-3", "web"], "tags": [["a"], [], None]})
    >>> print(csv_text(df), end="")
    "name","tags"
    "'=1+1","[""a""]"
    "-3","[]"
    "web",""
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import html
import io
import json
import math
import os
import re
import secrets
import stat
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .errors import CpExploreError, ExportError, Forbidden, MissingColumns
from .summaries import capacity_table, summary_table

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

#: Names that moved to :mod:`cpexplore.snapshots` and stay importable from here (``__getattr__``).
_MOVED_TO_SNAPSHOTS = ("snapshot", "snapshots", "load_snapshot", "diff", "diff_snapshots", "Diff")

__all__ = [
    "to_csv",
    "to_json",
    "csv_text",
    "json_text",
    "read_csv",
    "escape_formula",
    "unescape_formula",
    "cell_value",
    "summary_table",
    "capacity_table",
    "write_inventory_report",
    "inventory_report",
    *_MOVED_TO_SNAPSHOTS,
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


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


def _iso(value: Any) -> str:
    """A timestamp as ISO-8601 UTC with ``Z`` (naive values are taken to be UTC).

    >>> _iso(pd.Timestamp("2026-11-26 23:54:23", tz="Asia/Shanghai"))
    '2026-11-26T15:54:23Z'
    """
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if (ts.microsecond or ts.nanosecond) else "%Y-%m-%dT%H:%M:%S"
    return ts.strftime(fmt) + "Z"


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, timestamps and non-finite floats made JSON-friendly."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def _json_dumps(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=sort_keys, default=str)


def _missing(value: Any) -> bool:
    """Is this one cell a missing value (None, NA, NaT, NaN)?"""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return isinstance(value, float | np.floating) and math.isnan(value)


def cell_value(value: Any) -> Any:
    """One cell in the plain form every text output starts from.

    ``None`` for a missing value; compact JSON text for lists, tuples, sets, dicts and
    arrays; ISO-8601 UTC text with ``Z`` for timestamps; Python scalars for numpy ones;
    anything else unchanged. What each output adds stays with it: formula escaping for
    files (:func:`escape_formula`), HTML escaping for widgets, control-character escaping
    and cutting for terminals.

    >>> cell_value(float("nan")), cell_value(["a", 1]), cell_value(np.int64(3))
    (None, '["a", 1]', 3)
    >>> cell_value(pd.Timestamp("2026-01-02 03:04:05", tz="UTC"))
    '2026-01-02T03:04:05Z'
    """
    if isinstance(value, dict | list | tuple | set | np.ndarray):
        return _json_dumps(value)
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return _iso(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text_cell(value: Any, escape: bool) -> Any:
    """One object cell as CSV wants it: :func:`cell_value`, with text formula-escaped."""
    value = cell_value(value)
    return escape_formula(value) if escape and isinstance(value, str) else value


def _iso_column(s: pd.Series) -> pd.Series:
    """A datetime64 column as ISO-8601 ``Z`` strings (``None`` where missing)."""
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    present = utc.dropna()
    frac = bool(((present.dt.microsecond != 0) | (present.dt.nanosecond != 0)).any())
    text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f" if frac else "%Y-%m-%dT%H:%M:%S") + "Z"
    return text.astype(object).where(utc.notna(), None)


def _is_text_like(s: pd.Series) -> bool:
    return (
        s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _prepare(df: pd.DataFrame, *, escape: bool, nested: str, index: bool | None) -> pd.DataFrame:
    """A copy of ``df`` ready to write: times as text, containers as JSON, text escaped.

    ``nested="json"`` turns lists and dicts into JSON text (CSV); ``nested="keep"`` leaves
    them as objects (JSON output). The input is never modified.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, not {type(df).__name__}")
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    frame = df.reset_index() if index else df
    out: dict[int, Any] = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[i] = _iso_column(s)
        elif _is_text_like(s):
            values = s.astype(object)
            if nested == "keep":
                out[i] = values.map(
                    lambda v: (
                        None
                        if _missing(v)
                        else (escape_formula(v) if escape and isinstance(v, str) else v)
                    )
                )
            else:
                out[i] = values.map(lambda v: _text_cell(v, escape))
        else:
            out[i] = s
    names = [str(c) for c in frame.columns]
    if escape:
        names = [escape_formula(n) for n in names]
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    result.columns = names
    return result


# --------------------------------------------------------------------------- atomic files


def _export_error(exc: OSError, target: Path) -> ExportError:
    """One-line :class:`ExportError` that says what to do about ``exc``."""
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


def _atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Write a file through ``write(binary_handle)`` into a temp file, then rename it.

    Readers never see a half-written file, and a failed write (full disk, ...) leaves
    any previous file untouched. New files get the usual ``0o666 & ~umask`` mode.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise _export_error(IsADirectoryError(errno.EISDIR, "Is a directory"), target)
    parent = target.parent
    if not parent.is_dir():
        raise _export_error(FileNotFoundError(errno.ENOENT, "No such directory"), target)
    tmp = parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _export_error(e, target) from None
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
            raise _export_error(e, target) from None
        raise
    return target


def _write_csv_handle(fh: BinaryIO, frame: pd.DataFrame, encoding: str, gz: bool) -> None:
    raw: BinaryIO = gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) if gz else fh  # type: ignore[assignment]
    try:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        frame.to_csv(text, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
        text.flush()
        text.detach()
    finally:
        if gz:
            raw.close()


# --------------------------------------------------------------------------- CSV and JSON


def csv_text(df: pd.DataFrame, *, escape_formulas: bool = True, index: bool | None = None) -> str:
    """``df`` as CSV text, exactly as :func:`to_csv` would write it (without a BOM).

    >>> csv_text(pd.DataFrame({"n": [-3], "s": ["@x"]}))
    '"n","s"\\n"-3","\\'@x"\\n'
    """
    frame = _prepare(df, escape=escape_formulas, nested="json", index=index)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return buf.getvalue()


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
    could start a formula get a leading ``'`` unless ``escape_formulas=False``. A path
    ending in ``.gz`` is gzip-compressed. The index is written only when it is not a
    plain ``RangeIndex`` (``index=True/False`` decides explicitly). The write is atomic.

    Raises :class:`~cpexplore.ExportError` when the path is a directory, its folder is
    missing or not writable, or the disk is full.

    >>> to_csv(servers, "servers.csv", bom=True)          # doctest: +SKIP
    PosixPath('servers.csv')
    """
    frame = _prepare(df, escape=escape_formulas, nested="json", index=index)
    gz = str(path).endswith(".gz")
    encoding = "utf-8-sig" if bom else "utf-8"
    return _atomic_write(path, lambda fh: _write_csv_handle(fh, frame, encoding, gz))


def read_csv(
    path: str | os.PathLike[str], *, unescape_formulas: bool = True, **kwargs: Any
) -> pd.DataFrame:
    """Read a CSV written by :func:`to_csv` back, removing the quotes escaping added.

    Empty fields are missing values; other text (``"NA"``, ``"null"``) stays text. Extra
    keyword arguments go to :func:`pandas.read_csv`.

    >>> read_csv("servers.csv")["name"].head()            # doctest: +SKIP
    """
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    kwargs.setdefault("encoding", "utf-8-sig")
    df = pd.read_csv(path, **kwargs)
    if unescape_formulas:
        df.columns = [unescape_formula(c) if isinstance(c, str) else c for c in df.columns]
        for c in df.columns:
            if _is_text_like(df[c]):
                df[c] = df[c].map(lambda v: unescape_formula(v) if isinstance(v, str) else v)
    return df


def _records(df: pd.DataFrame, escape: bool, index: bool | None) -> list[dict[str, Any]]:
    frame = _prepare(df, escape=escape, nested="keep", index=index)
    cols = list(frame.columns)
    rows = frame.astype(object).to_numpy()
    return [
        {c: (None if _missing(v) else _jsonable(v)) for c, v in zip(cols, row, strict=True)}
        for row in rows
    ]


def json_text(
    df: pd.DataFrame,
    *,
    escape_formulas: bool = True,
    index: bool | None = None,
    indent: int | None = None,
    lines: bool = False,
) -> str:
    """``df`` as JSON text, exactly as :func:`to_json` would write it.

    >>> json_text(pd.DataFrame({"n": [1], "t": [pd.Timestamp("2026-01-02", tz="UTC")]}))
    '[{"n": 1, "t": "2026-01-02T00:00:00Z"}]'
    """
    recs = _records(df, escape_formulas, index)
    if lines:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    return json.dumps(recs, ensure_ascii=False, indent=indent)


def to_json(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    escape_formulas: bool = True,
    index: bool | None = None,
    indent: int | None = None,
    lines: bool = False,
) -> Path:
    """Write ``df`` as a JSON array of records (or JSON Lines with ``lines=True``).

    Like :func:`to_csv`: UTF-8, ISO-8601 ``Z`` timestamps, atomic, and text cells that could
    start a spreadsheet formula escaped unless ``escape_formulas=False`` (JSON files end up
    in Excel's Power Query too). Lists and dicts stay JSON values; missing values are
    ``null``.

    >>> to_json(servers, "servers.json", escape_formulas=False)     # doctest: +SKIP
    PosixPath('servers.json')
    """
    data = json_text(df, escape_formulas=escape_formulas, index=index, indent=indent, lines=lines)
    payload = data.encode("utf-8") + (b"" if lines or not data else b"\n")
    return _atomic_write(path, lambda fh: fh.write(payload))


# --------------------------------------------------------------------------- the report

# (file name, caption, chart kind); drawn by _draw_chart with cpexplore.plots
_CHARTS: tuple[tuple[str, str, str], ...] = (
    ("chart_status.png", "Servers by status", "status"),
    ("chart_regions.png", "Servers by cloud region and status", "regions"),
    ("chart_capacity.png", "Host capacity: allocated vs. physical", "capacity"),
    ("chart_timeline.png", "Servers created per month", "timeline"),
    ("chart_endpoints.png", "Catalog endpoints by service type and interface", "endpoints"),
)


def _bars_height(bars: int) -> float:
    """Figure height (inches) giving each horizontal bar room for its label."""
    return float(min(11.0, max(2.4, 1.3 + 0.3 * bars)))


def _groups(df: pd.DataFrame, column: str, top: int = 20) -> int:
    return min(top + 1, int(df[column].nunique())) if column in df.columns else 1


def _draw_chart(
    kind: str, plots: Any, servers: pd.DataFrame, hosts: pd.DataFrame, catalog: pd.DataFrame
) -> bytes:
    """Draw one report chart on a private Figure (no pyplot state) and return PNG bytes.

    Raises ``MissingColumns`` (from :mod:`cpexplore.plots`) when the data lacks a column.
    """
    from matplotlib.figure import Figure

    if kind == "status":
        fig = Figure(figsize=(7.0, _bars_height(_groups(servers, "status"))), layout="constrained")
        plots.plot_inventory(servers, by="status", ax=fig.add_subplot())
    elif kind == "regions":
        bars = _groups(servers, "cloudregion")
        fig = Figure(figsize=(8.0, _bars_height(bars)), layout="constrained")
        plots.plot_inventory(servers, by="cloudregion", stack="status", ax=fig.add_subplot())
    elif kind == "capacity":
        fig = Figure(figsize=(9.0, _bars_height(min(20, len(hosts)))), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        plots.plot_capacity(hosts, servers, ax=(axes[0], axes[1]))
    elif kind == "timeline":
        fig = Figure(figsize=(8.0, 3.2), layout="constrained")
        plots.plot_timeline(servers, freq="M", ax=fig.add_subplot())
    else:
        bars = _groups(catalog, "service_type")
        fig = Figure(figsize=(7.0, _bars_height(bars)), layout="constrained")
        plots.plot_endpoints(catalog, by="service_type", hue="interface", ax=fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _html_table(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    shown = df.head(max_rows)
    text = shown.to_html(index=False, border=0, escape=True, na_rep="", classes="t")
    if len(df) > max_rows:
        text += f"<p class='more'>{len(df) - max_rows} more rows in the CSV.</p>"
    return text


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} table.t{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
table.t th,table.t td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
table.t td{font-variant-numeric:tabular-nums} .grid{display:flex;flex-wrap:wrap;gap:1.5rem}
.grid>div{flex:1 1 300px} figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555} .more,.note{font-size:.85rem;color:#777}
"""


def _index_html(
    *,
    title: str,
    meta: Mapping[str, Any],
    files: Sequence[tuple[str, str, int | None, int]],
    summary: pd.DataFrame,
    capacity: pd.DataFrame,
    charts: Sequence[tuple[str, str]],
    notes: Sequence[str],
) -> str:
    e = html.escape
    meta_html = " · ".join(f"{e(str(k))}: <b>{e(str(v))}</b>" for k, v in meta.items())
    file_rows = "".join(
        f"<tr><td><a href='{e(name)}'>{e(name)}</a></td><td>{e(desc)}</td>"
        f"<td>{'' if rows is None else rows}</td><td>{size:,}</td></tr>"
        for name, desc, rows, size in files
    )
    blocks = []
    for by, part in summary.groupby("by", sort=False):
        blocks.append(
            f"<div><h3>By {e(str(by))}</h3>{_html_table(part.drop(columns='by'), max_rows=15)}</div>"
        )
    cap_cols = [
        c
        for c in (
            "host",
            "zone",
            "servers",
            "vcpu_allocated",
            "vcpu_physical",
            "vcpu_ratio",
            "memory_ratio",
            "storage_ratio",
            "over_limit",
        )
        if c in capacity.columns
    ]
    cap_html = _html_table(capacity[cap_cols], max_rows=10) if len(capacity) else ""
    chart_html = "".join(
        f"<figure><img src='{e(name)}' alt='{e(caption)}' loading='eager'>"
        f"<figcaption>{e(caption)}</figcaption></figure>"
        for name, caption in charts
    )
    notes_html = "".join(f"<p class='note'>{e(n)}</p>" for n in notes)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(title)}</h1><p class='meta'>{meta_html}</p>"
        f"<h2>Files</h2><table class='t'><tr><th>file</th><th>what</th><th>rows</th>"
        f"<th>bytes</th></tr>{file_rows}</table>"
        f"<h2>Summary</h2><div class='grid'>{''.join(blocks)}</div>"
        f"<h2>Most over-committed hosts</h2>{cap_html}"
        f"<h2>Charts</h2>{chart_html}{notes_html}"
        "<p class='note'>Generated by cpexplore. CSV cells that could start a spreadsheet "
        "formula begin with a ' (OWASP CSV injection advice).</p>"
        "</body></html>\n"
    )


def write_inventory_report(
    servers: pd.DataFrame,
    hosts: pd.DataFrame,
    endpoints: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "Cloudpods inventory",
    meta: Mapping[str, Any] | None = None,
    charts: bool = True,
    bom: bool = False,
    escape_formulas: bool = True,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the inventory report of these frames into ``out_dir``; return name → path.

    Files: ``servers.csv``, ``hosts.csv``, ``endpoints.csv``, ``summary.csv`` (see
    :func:`~cpexplore.summaries.summary_table`), ``capacity.csv`` (see
    :func:`~cpexplore.summaries.capacity_table`), the PNG charts of :mod:`cpexplore.plots`
    and ``index.html``, which shows the summary, the most over-committed hosts and the
    charts and links every file. ``out_dir`` is created. A chart whose data is missing is
    skipped, and a capacity table that cannot be computed is left empty; both are noted in
    ``index.html``, as are ``notes``.

    >>> paths = write_inventory_report(servers, hosts, s.catalog, "report")   # doctest: +SKIP
    >>> paths["index.html"]                                               # doctest: +SKIP
    PosixPath('report/index.html')
    """
    out = _make_dir(out_dir)
    notes = list(notes)
    summary = summary_table(servers)
    try:
        capacity = capacity_table(hosts, servers) if len(hosts) else pd.DataFrame()
    except MissingColumns as e:
        capacity = pd.DataFrame()
        notes.append(f"Host capacity: not computed ({e}).")
    paths: dict[str, Path] = {}
    files: list[tuple[str, str, int | None, int]] = []
    for name, frame, desc in (
        ("servers.csv", servers, "every server"),
        ("hosts.csv", hosts, "every host"),
        ("endpoints.csv", endpoints, "the service catalog"),
        ("summary.csv", summary, "server counts by status, hypervisor, zone, cloud region"),
        ("capacity.csv", capacity, "per host: allocated vs. physical, over-commit ratios"),
    ):
        p = to_csv(frame, out / name, escape_formulas=escape_formulas, bom=bom, index=False)
        paths[name] = p
        files.append((name, desc, len(frame), p.stat().st_size))

    drawn: list[tuple[str, str]] = []
    if charts:
        try:
            from . import plots
        except ImportError as e:
            plots = None
            notes.append(f"Charts were not drawn: cpexplore.plots could not be imported ({e}).")
            warnings.warn(f"inventory report without charts: {e}", RuntimeWarning, stacklevel=2)
        if plots is not None:
            for name, caption, kind in _CHARTS:
                try:
                    data = _draw_chart(kind, plots, servers, hosts, endpoints)
                except MissingColumns as e:
                    notes.append(f"{caption}: not drawn ({e}).")
                    continue
                p = _atomic_write(out / name, lambda fh, d=data: fh.write(d))
                paths[name] = p
                drawn.append((name, caption))
                files.append((name, caption, None, p.stat().st_size))

    page = _index_html(
        title=title,
        meta={
            "generated": _iso(pd.Timestamp.now(tz="UTC").floor("s")),
            **(meta or {}),
            "servers": len(servers),
            "hosts": len(hosts),
        },
        files=files,
        summary=summary,
        capacity=capacity,
        charts=drawn,
        notes=notes,
    )
    data = page.encode("utf-8")
    paths["index.html"] = _atomic_write(out / "index.html", lambda fh: fh.write(data))
    return paths


def _make_dir(path: str | os.PathLike[str]) -> Path:
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise ExportError(
            f"{out} exists and is not a directory",
            hint="give a directory for the report, e.g. --out report",
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _export_error(e, out) from None
    return out


def _session_meta(session: Session, region: str | None) -> dict[str, Any]:
    """Who and where, for report headers and manifests — never a secret."""
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


def _list_hosts(session: Session, **kw: Any) -> tuple[pd.DataFrame, str | None]:
    """Hosts, or an empty frame and a note when this account may not list them."""
    try:
        return session.list("hosts", **kw), None
    except Forbidden as e:
        return pd.DataFrame(), f"Hosts are not visible to this account ({e.message})."


def inventory_report(
    session: Session,
    out_dir: str | os.PathLike[str],
    *,
    scope: str | None = "max",
    region: str | None = None,
    charts: bool = True,
    bom: bool = False,
    escape_formulas: bool = True,
    progress: bool | None = None,
) -> dict[str, Path]:
    """Fetch servers, hosts and the catalog, and write the inventory report; return paths.

    ``scope="max"`` lets an admin see everything and a member its project. Lists are
    fetched fresh (not from the session cache). See :func:`write_inventory_report` for
    the files; the result maps file name → path, ``"index.html"`` last.

    >>> paths = inventory_report(cpexplore.connect(), "report")     # doctest: +SKIP
    >>> print(paths["index.html"])                                  # doctest: +SKIP
    report/index.html
    """
    kw: dict[str, Any] = {"scope": scope, "region": region, "refresh": True, "progress": progress}
    servers = session.list("servers", **kw)
    hosts, note = _list_hosts(session, **kw)
    meta = _session_meta(session, region)
    meta["scope"] = scope or "(server default)"
    paths = write_inventory_report(
        servers,
        hosts,
        session.catalog,
        out_dir,
        title=f"Cloudpods inventory — {meta['region']}",
        meta=meta,
        charts=charts,
        bom=bom,
        escape_formulas=escape_formulas,
        notes=[note] if note else [],
    )
    if note:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return paths


# --------------------------------------------------------------------------- moved names


def __getattr__(name: str) -> Any:
    """``cpexplore.reports.snapshot`` & co., which live in :mod:`cpexplore.snapshots`.

    Imported on first use: :mod:`cpexplore.snapshots` builds on this module.
    """
    if name in _MOVED_TO_SNAPSHOTS:
        from . import snapshots as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
