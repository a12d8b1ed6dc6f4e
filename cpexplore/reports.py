"""Files a person can open: safe CSV/JSON, an inventory report, snapshots and what changed.

Everything here takes DataFrames and writes files, except :func:`inventory_report` and
:func:`snapshot`, which take a :class:`~cpexplore.Session` to fetch what they write.

* :func:`to_csv` / :func:`to_json` write UTF-8 (``bom=True`` adds a BOM for Excel),
  timestamps as ISO-8601 with ``Z``, lists and dicts as JSON, atomically (a temporary
  file in the same folder, then a rename), and neutralise spreadsheet formulas the way
  OWASP recommends: a text cell that starts with ``= + - @``, tab, CR or LF (and is not
  a plain number such as ``-3``) gets a leading ``'``. The visible ``'`` is the price of
  safety; pass ``escape_formulas=False`` for machine consumers. :func:`read_csv` reads
  such a file back and removes exactly the quotes that were added.
* :func:`inventory_report` writes ``servers.csv``, ``hosts.csv``, ``endpoints.csv``,
  ``summary.csv``, ``capacity.csv``, PNG charts and an ``index.html`` tying them together.
* :func:`snapshot` stores servers and hosts (gzip CSV, or Parquet when ``pyarrow`` is
  importable) under a timestamped id; :func:`snapshots` lists them, :func:`load_snapshot`
  reads one back, :func:`diff` says what was added, removed and changed.

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
import shutil
import stat
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .errors import CpExploreError, ExportError, Forbidden, MissingColumns

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = [
    "to_csv",
    "to_json",
    "csv_text",
    "json_text",
    "read_csv",
    "escape_formula",
    "unescape_formula",
    "summary_table",
    "capacity_table",
    "write_inventory_report",
    "inventory_report",
    "snapshot",
    "snapshots",
    "load_snapshot",
    "diff",
    "diff_snapshots",
    "Diff",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_MANIFEST = "manifest.json"


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
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _text_cell(value: Any, escape: bool) -> Any:
    """One object cell as CSV wants it: JSON for containers, ISO for times, escaped text."""
    if _missing(value):
        return None
    if isinstance(value, str):
        return escape_formula(value) if escape else value
    if isinstance(value, dict | list | tuple | set | np.ndarray):
        return _json_dumps(value)
    if isinstance(value, pd.Timestamp | datetime):
        return _iso(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


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


# --------------------------------------------------------------------------- summaries

_SUMMARY_DIMENSIONS = (
    ("status", "status"),
    ("hypervisor", "hypervisor"),
    ("zone", "zone"),
    ("cloud region", "cloudregion"),
)


def _need(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, list(df.columns)[:12])) or "none"
        raise MissingColumns(
            f"{what} needs column(s) {', '.join(missing)}; the frame has {have}",
            hint="list with details=True and without columns=..., e.g. session.list('servers')",
        )


def summary_table(servers: pd.DataFrame) -> pd.DataFrame:
    """Server counts by status, hypervisor, zone and cloud region, one row per value.

    Columns: ``by``, ``value``, ``servers``, ``share`` (percent of all servers), and
    ``vcpus``/``memory_gb`` when the frame has ``vcpu_count``/``vmem_size``. Dimensions the
    frame lacks are left out; a frame with rows but none of them raises ``MissingColumns``;
    no servers at all give an empty table.

    >>> summary_table(pd.DataFrame({"status": ["running", "ready", "running"]}))
           by    value  servers  share
    0  status  running        2   66.7
    1  status    ready        1   33.3
    """
    dims = [(label, col) for label, col in _SUMMARY_DIMENSIONS if col in servers.columns]
    if not len(servers):
        return pd.DataFrame(
            {"by": [], "value": [], "servers": pd.Series([], dtype="int64"), "share": []}
        )
    if not dims:
        _need(servers, ["status"], "the inventory summary")
    n = len(servers)
    parts = []
    for label, col in dims:
        key = servers[col].astype(object).where(servers[col].notna(), "(none)")
        grouped = pd.DataFrame({"key": key})
        agg: dict[str, Any] = {"servers": grouped.groupby("key", sort=False).size()}
        if "vcpu_count" in servers.columns:
            agg["vcpus"] = (
                pd.to_numeric(servers["vcpu_count"], errors="coerce").groupby(key.values).sum()
            )
        if "vmem_size" in servers.columns:
            mem = pd.to_numeric(servers["vmem_size"], errors="coerce").groupby(key.values).sum()
            agg["memory_gb"] = (mem / 1024).round(1)
        part = pd.DataFrame(agg)
        part = part.sort_values("servers", ascending=False, kind="stable")
        part.insert(0, "value", part.index.astype(str))
        part.insert(0, "by", label)
        part["share"] = (100.0 * part["servers"] / n).round(1) if n else 0.0
        parts.append(part.reset_index(drop=True))
    out = pd.concat(parts, ignore_index=True)
    cols = ["by", "value", "servers", "share"] + [
        c for c in ("vcpus", "memory_gb") if c in out.columns
    ]
    out = out[cols]
    out["servers"] = out["servers"].astype("int64")
    if "vcpus" in out.columns:
        out["vcpus"] = out["vcpus"].astype("int64")
    return out


def capacity_table(hosts: pd.DataFrame, servers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per host: allocated vs. physical vCPU, memory and storage, with over-commit ratios.

    Allocations are summed from ``servers`` (``host_id``, ``vcpu_count``, ``vmem_size``,
    ``disk``) when given; otherwise the hosts' own ``cpu_commit``/``mem_commit``/
    ``storage_used`` are used. Ratios are allocated ÷ physical (memory: ÷ (``mem_size`` −
    ``mem_reserved``), as Cloudpods computes ``mem_commit_rate``); ``*_limit`` are the hosts'
    allowed over-commit (``cpu_cmtbound``, ``mem_cmtbound``) and ``over_limit`` says
    whether a ratio exceeds its limit. Sorted by vCPU ratio, highest first.

    >>> hosts = pd.DataFrame({"id": ["h1"], "name": ["h1"], "cpu_count": [32],
    ...                       "mem_size": [65536], "storage_size": [1000]})
    >>> servers = pd.DataFrame({"host_id": ["h1", "h1"], "vcpu_count": [16, 32],
    ...                         "vmem_size": [4096, 8192], "disk": [100, 200]})
    >>> capacity_table(hosts, servers)[["host", "vcpu_allocated", "vcpu_ratio"]]
      host  vcpu_allocated  vcpu_ratio
    0   h1              48         1.5
    """
    _need(hosts, ["id", "name", "cpu_count", "mem_size"], "the capacity table")
    out = pd.DataFrame(
        {"host": hosts["name"].astype(object), "host_id": hosts["id"].astype(object)}
    )
    for col in ("zone", "cloudregion", "host_type", "status", "enabled"):
        if col in hosts.columns:
            out[col] = hosts[col].astype(object).to_numpy()
    num = lambda df, c: pd.to_numeric(df[c], errors="coerce") if c in df.columns else None  # noqa: E731
    use_servers = (
        servers is not None
        and "host_id" in servers.columns
        and "vcpu_count" in servers.columns
        and "vmem_size" in servers.columns
    )
    if use_servers:
        assert servers is not None
        key = servers["host_id"].astype(object)
        sums = (
            pd.DataFrame(
                {
                    "servers": 1,
                    "vcpu": num(servers, "vcpu_count"),
                    "mem": num(servers, "vmem_size"),
                    "disk": num(servers, "disk") if "disk" in servers.columns else 0,
                }
            )
            .groupby(key.to_numpy(), sort=False)
            .sum()
        )
        sums = sums.reindex(out["host_id"].to_numpy()).fillna(0)
        out["servers"] = sums["servers"].to_numpy().astype("int64")
        vcpu, mem, disk = (sums[c].to_numpy() for c in ("vcpu", "mem", "disk"))
    else:
        zeros = np.zeros(len(hosts))
        vcpu = num(hosts, "cpu_commit").to_numpy() if "cpu_commit" in hosts.columns else zeros
        mem = num(hosts, "mem_commit").to_numpy() if "mem_commit" in hosts.columns else zeros
        disk = num(hosts, "storage_used").to_numpy() if "storage_used" in hosts.columns else zeros
        if "guests" in hosts.columns:
            out["servers"] = num(hosts, "guests").fillna(0).astype("int64").to_numpy()
    cpu = num(hosts, "cpu_count").to_numpy(dtype=float)
    mem_size = num(hosts, "mem_size").to_numpy(dtype=float)
    reserved = (
        num(hosts, "mem_reserved").fillna(0).to_numpy(dtype=float)
        if "mem_reserved" in hosts.columns
        else np.zeros(len(hosts))
    )
    storage = (
        num(hosts, "storage_size").to_numpy(dtype=float)
        if "storage_size" in hosts.columns
        else np.full(len(hosts), np.nan)
    )

    def ratio(a: Any, b: Any) -> np.ndarray:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(b > 0, a / b, np.nan)
        return np.round(r, 3)

    out["vcpu_allocated"] = np.asarray(vcpu, dtype=float).astype("int64")
    out["vcpu_physical"] = cpu.astype("int64")
    out["vcpu_ratio"] = ratio(vcpu, cpu)
    out["memory_allocated_mb"] = np.asarray(mem, dtype=float).astype("int64")
    out["memory_physical_mb"] = mem_size.astype("int64")
    out["memory_reserved_mb"] = reserved.astype("int64")
    out["memory_ratio"] = ratio(mem, mem_size - reserved)
    out["storage_allocated_mb"] = np.asarray(disk, dtype=float).astype("int64")
    out["storage_physical_mb"] = pd.array(storage, dtype="Float64").round().astype("Int64")
    out["storage_ratio"] = ratio(disk, storage)
    over = np.zeros(len(hosts), dtype=bool)
    for src, dst, r in (
        ("cpu_cmtbound", "vcpu_limit", "vcpu_ratio"),
        ("mem_cmtbound", "memory_limit", "memory_ratio"),
    ):
        if src in hosts.columns:
            out[dst] = num(hosts, src).to_numpy(dtype=float)
            over |= np.nan_to_num(out[r].to_numpy(dtype=float)) > np.nan_to_num(
                out[dst].to_numpy(dtype=float), nan=np.inf
            )
    out["over_limit"] = over
    out = out.sort_values(["vcpu_ratio", "host"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


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
    :func:`summary_table`), ``capacity.csv`` (see :func:`capacity_table`), the PNG charts
    of :mod:`cpexplore.plots` and ``index.html``, which shows the summary, the most
    over-committed hosts and the charts and links every file. ``out_dir`` is created.
    A chart whose data is missing is skipped and noted in ``index.html``, as are ``notes``.

    >>> paths = write_inventory_report(servers, hosts, s.catalog, "report")   # doctest: +SKIP
    >>> paths["index.html"]                                               # doctest: +SKIP
    PosixPath('report/index.html')
    """
    out = _make_dir(out_dir)
    summary = summary_table(servers)
    capacity = capacity_table(hosts, servers) if len(hosts) else pd.DataFrame()
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
    notes = list(notes)
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


# --------------------------------------------------------------------------- snapshots


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _kind(s: pd.Series) -> str:
    """How a column is stored and read back in a snapshot."""
    dt = s.dtype
    if isinstance(dt, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dt):
        return "datetime"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    values = s.dropna()
    if any(isinstance(v, dict | list | tuple | np.ndarray) for v in values):
        return "json"
    if len(values) and all(isinstance(v, pd.Timestamp | datetime) for v in values):
        return "datetime"
    return "string"


def _storable(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """The frame with JSON columns as text and mixed object columns as strings (for Parquet)."""
    out = {}
    for c in df.columns:
        k = kinds[c]
        s = df[c]
        if k == "json":
            out[c] = s.map(lambda v: None if _missing(v) else _json_dumps(v))
        elif k == "string":
            out[c] = s.map(lambda v: None if _missing(v) else (v if isinstance(v, str) else str(v)))
        elif k == "datetime" and s.dtype == object:
            out[c] = pd.to_datetime(s, utc=True)
        else:
            out[c] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _restore(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Undo :func:`_storable`/CSV text: parse JSON, timestamps, nullable ints and booleans."""
    out = {}
    for c in df.columns:
        k = kinds.get(c, "string")
        s = df[c]
        if k == "json":
            out[c] = s.astype(object).map(
                lambda v: json.loads(v) if isinstance(v, str) and v else None
            )
        elif k == "datetime":
            out[c] = pd.to_datetime(s, utc=True, format="ISO8601")
        elif k == "int":
            out[c] = pd.to_numeric(s).astype("Int64") if s.isna().any() else s.astype("int64")
        elif k == "float":
            out[c] = pd.to_numeric(s).astype("float64")
        elif k == "bool":
            mapped = s.map(
                lambda v: (
                    None
                    if _missing(v)
                    else (v if isinstance(v, bool | np.bool_) else str(v) == "True")
                )
            )
            out[c] = mapped.astype("boolean") if mapped.isna().any() else mapped.astype(bool)
        elif k == "category":
            out[c] = s.astype(object).where(s.notna(), None).astype("category")
        else:
            out[c] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _new_snapshot_id(store: Path) -> str:
    now = datetime.now(timezone.utc)
    for _ in range(1000):
        sid = now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"
        if not (store / sid).exists():
            return sid
        now = now.fromtimestamp(now.timestamp() + 0.001, timezone.utc)
    raise ExportError(f"could not find a free snapshot id in {store}", hint="try again")


def snapshot(
    session: Session,
    store_dir: str | os.PathLike[str],
    resources: Sequence[str] = ("servers", "hosts"),
    *,
    scope: str | None = "max",
    region: str | None = None,
    format: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Store the current ``resources`` under a new timestamped id in ``store_dir``.

    Each resource is a ``NAME.csv.gz`` (gzip CSV, no formula escaping: it is for
    machines) or, when ``pyarrow`` is importable, ``NAME.parquet``; ``format="csv"`` or
    ``"parquet"`` forces one. ``manifest.json`` records when, where (cloud, region,
    project — never a credential) and each column's type, so :func:`load_snapshot`
    gives back typed frames. The snapshot folder appears atomically. Returns its path;
    its name (e.g. ``20261127T101500.123Z``) is the id.

    >>> snapshot(s, "snapshots").name                          # doctest: +SKIP
    '20261127T101500.123Z'
    """
    fmt = format or ("parquet" if _parquet_available() else "csv")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', not {format!r}")
    if fmt == "parquet" and not _parquet_available():
        raise CpExploreError(
            "Parquet snapshots need pyarrow",
            hint="pip install 'cpexplore[parquet]' or use format='csv'",
        )
    store = _make_dir(store_dir)
    meta = _session_meta(session, region)
    frames = {}
    for name in resources:
        kw = {"scope": scope, "region": region, "refresh": True, "progress": progress}
        frames[name] = session.list(name, **kw)
    sid = _new_snapshot_id(store)
    tmp = store / f".tmp-{sid}-{secrets.token_hex(3)}"
    try:
        tmp.mkdir()
    except OSError as e:
        raise _export_error(e, store / sid) from None
    try:
        manifest: dict[str, Any] = {
            "id": sid,
            "taken_at": _iso(pd.Timestamp(datetime.strptime(sid, "%Y%m%dT%H%M%S.%fZ"), tz="UTC")),
            "format": fmt,
            **meta,
            "scope": scope,
            "resources": {},
        }
        for name, frame in frames.items():
            kinds = {str(c): _kind(frame[c]) for c in frame.columns}
            frame = frame.rename(columns=str)
            if fmt == "parquet":
                fname = f"{name}.parquet"
                stored = _storable(frame, kinds)
                buf = io.BytesIO()
                stored.to_parquet(buf, index=False)
                data = buf.getvalue()
                _atomic_write(tmp / fname, lambda fh, d=data: fh.write(d))
            else:
                fname = f"{name}.csv.gz"
                to_csv(frame, tmp / fname, escape_formulas=False, index=False)
            manifest["resources"][name] = {"file": fname, "rows": len(frame), "columns": kinds}
        text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        _atomic_write(tmp / _MANIFEST, lambda fh: fh.write(text))
        final = store / sid
        os.rename(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, CpExploreError):
            raise _export_error(e, store / sid) from None
        raise
    return final


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def snapshots(store_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """What ``store_dir`` holds: one row per snapshot, oldest first.

    Columns: ``id``, ``taken_at`` (UTC), ``format``, ``cloud``, ``region``, ``project``,
    ``resources`` (names), ``rows`` (name → row count), ``path``. A missing store is
    empty, not an error.

    >>> snapshots("snapshots")[["id", "taken_at", "rows"]]      # doctest: +SKIP
    """
    store = Path(store_dir).expanduser()
    cols = ["id", "taken_at", "format", "cloud", "region", "project", "resources", "rows", "path"]
    rows = []
    if store.is_dir():
        for folder in sorted(store.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            m = _read_manifest(folder)
            if m is None:
                continue
            res = m.get("resources") or {}
            rows.append(
                {
                    "id": folder.name,
                    "taken_at": pd.Timestamp(m.get("taken_at")),
                    "format": m.get("format"),
                    "cloud": m.get("cloud"),
                    "region": m.get("region"),
                    "project": m.get("project"),
                    "resources": list(res),
                    "rows": {k: v.get("rows") for k, v in res.items()},
                    "path": folder,
                }
            )
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df["taken_at"] = pd.to_datetime(df["taken_at"], utc=True)
        df = df.sort_values(["taken_at", "id"], kind="stable").reset_index(drop=True)
    return df


def _resolve_snapshot(store: Path, ref: str | None, known: pd.DataFrame, *, default: int) -> str:
    ids = list(known["id"])
    if not ids:
        raise CpExploreError(
            f"no snapshots in {store}",
            hint=f"take one with: cpexplore snapshot --store {store}",
        )
    if ref is None:
        if len(ids) < abs(default):
            raise CpExploreError(
                f"a diff needs two snapshots and {store} has {len(ids)} ({', '.join(ids)})",
                hint=f"take another with: cpexplore snapshot --store {store}",
            )
        return ids[default]
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(ids[-5:])
    what = "is ambiguous" if matches else "does not exist"
    raise CpExploreError(
        f"snapshot {ref!r} {what} in {store}",
        hint=f"give a full id or a unique prefix; the latest are {shown}",
    )


def load_snapshot(
    store_dir: str | os.PathLike[str], snapshot_id: str | None = None, resource: str = "servers"
) -> pd.DataFrame:
    """One resource of a stored snapshot as a typed DataFrame (the latest snapshot by default).

    ``snapshot_id`` may be a unique prefix. ``df.attrs`` holds the manifest facts.

    >>> load_snapshot("snapshots", resource="hosts").shape      # doctest: +SKIP
    """
    store = Path(store_dir).expanduser()
    sid = _resolve_snapshot(store, snapshot_id, snapshots(store), default=-1)
    folder = store / sid
    m = _read_manifest(folder) or {}
    res = (m.get("resources") or {}).get(resource)
    if res is None:
        have = ", ".join(m.get("resources") or {}) or "nothing"
        raise CpExploreError(
            f"snapshot {sid} has no {resource!r}; it holds {have}",
            hint="take a snapshot with that resource, e.g. resources=('servers', 'hosts')",
        )
    kinds = res.get("columns") or {}
    path = folder / res["file"]
    if res["file"].endswith(".parquet"):
        raw = pd.read_parquet(path)
    else:
        dtypes = {c: str for c, k in kinds.items() if k in ("string", "json", "category")}
        raw = pd.read_csv(
            path, dtype=dtypes, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
    df = _restore(raw, kinds)
    df.attrs.update(
        {k: v for k, v in m.items() if k not in ("resources",)}, resource=resource, snapshot=sid
    )
    return df


# --------------------------------------------------------------------------- diff


def _canon(value: Any) -> Any:
    """A comparable form of a cell: equal for the same data read back from CSV or Parquet."""
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return int(f) if f.is_integer() else f
    if isinstance(value, pd.Timestamp | datetime):
        return _iso(value)
    if isinstance(value, dict | list | tuple | np.ndarray):
        return _json_dumps(value, sort_keys=True)
    return value if isinstance(value, str) else str(value)


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise "unchanged" for two aligned columns, missing == missing."""
    if a.dtype == b.dtype and not isinstance(a.dtype, pd.CategoricalDtype) and a.dtype != object:
        try:
            eq = (a.to_numpy() == b.to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())
            return np.asarray(eq, dtype=bool)
        except (TypeError, ValueError):
            pass
    ca = [_canon(v) for v in a.to_numpy(dtype=object)]
    cb = [_canon(v) for v in b.to_numpy(dtype=object)]
    return np.fromiter((x == y for x, y in zip(ca, cb, strict=True)), dtype=bool, count=len(ca))


@dataclass(frozen=True)
class Diff:
    """What changed between two frames of the same resource (see :func:`diff`).

    ``added`` and ``removed`` are the rows only in the new / old frame; ``changed`` has
    one row per changed cell: the key, ``name`` (when the frames have one), ``column``,
    ``old`` and ``new``. ``columns_added``/``columns_removed`` list schema changes.
    """

    key: str
    added: pd.DataFrame
    removed: pd.DataFrame
    changed: pd.DataFrame
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    old_id: str | None = None
    new_id: str | None = None

    @property
    def changed_keys(self) -> list[Any]:
        """Keys of the rows with at least one changed cell, in the new frame's order."""
        return list(dict.fromkeys(self.changed[self.key].tolist()))

    @property
    def empty(self) -> bool:
        return not (len(self.added) or len(self.removed) or len(self.changed))

    def __bool__(self) -> bool:
        return not self.empty

    def summary(self) -> pd.DataFrame:
        """Counts: rows added, removed and changed, and cells changed."""
        return pd.DataFrame(
            {
                "change": ["added", "removed", "changed"],
                "rows": [len(self.added), len(self.removed), len(self.changed_keys)],
                "cells": [None, None, len(self.changed)],
            }
        ).astype({"cells": "Int64"})

    def to_frame(self, columns: Sequence[str] = ("name",)) -> pd.DataFrame:
        """One long table: ``change``, key, ``name``, ``column``, ``old``, ``new``.

        Added and removed rows appear once each (``column`` empty); changed cells once each.
        """
        extra = [c for c in columns if c != self.key]
        parts = []
        for change, rows in (("added", self.added), ("removed", self.removed)):
            if len(rows):
                part = pd.DataFrame({"change": change, self.key: rows[self.key].to_numpy()})
                for c in extra:
                    part[c] = rows[c].to_numpy() if c in rows.columns else None
                parts.append(part)
        if len(self.changed):
            part = self.changed.copy()
            part.insert(0, "change", "changed")
            parts.append(part)
        cols = ["change", self.key, *extra, "column", "old", "new"]
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True).reindex(columns=cols)

    def __repr__(self) -> str:
        return (
            f"Diff(key={self.key!r}, added={len(self.added)}, removed={len(self.removed)}, "
            f"changed={len(self.changed_keys)} rows / {len(self.changed)} cells)"
        )


def _keys(df: pd.DataFrame, key: str, which: str) -> pd.Index:
    _need(df, [key], f"diff ({which} frame)")
    keys = pd.Index([_canon(v) for v in df[key].to_numpy(dtype=object)], dtype=object)
    if keys.hasnans:
        raise CpExploreError(
            f"the {which} frame has rows without a {key!r}", hint="drop them or choose another key"
        )
    if not keys.is_unique:
        dupes = keys[keys.duplicated()].unique()[:3].tolist()
        raise CpExploreError(
            f"{key!r} is not unique in the {which} frame (e.g. {', '.join(map(str, dupes))})",
            hint="choose a unique key column, e.g. key='id'",
        )
    return keys


def diff(
    old: pd.DataFrame,
    new: pd.DataFrame,
    key: str = "id",
    *,
    ignore: Iterable[str] = (),
    columns: Iterable[str] | None = None,
) -> Diff:
    """Rows added, removed and changed from ``old`` to ``new``, matched on ``key``.

    For changed rows, :attr:`Diff.changed` says which columns changed from what to what.
    Values are compared as data, not as dtypes: ``int8`` 3 equals ``Int64`` 3, a list
    equals its JSON read back, a timestamp equals its ISO text. Only columns present in
    both frames are compared (``columns=`` narrows them, ``ignore=`` drops some).

    >>> old = pd.DataFrame({"id": ["a", "b"], "status": ["running", "ready"]})
    >>> new = pd.DataFrame({"id": ["b", "c"], "status": ["running", "ready"]})
    >>> d = diff(old, new)
    >>> d
    Diff(key='id', added=1, removed=1, changed=1 rows / 1 cells)
    >>> d.changed
      id  column    old      new
    0  b  status  ready  running
    """
    ko, kn = _keys(old, key, "old"), _keys(new, key, "new")
    in_old = kn.isin(ko)
    in_new = ko.isin(kn)
    added = new.loc[~in_old].reset_index(drop=True)
    removed = old.loc[~in_new].reset_index(drop=True)
    skip = set(ignore) | {key}
    common_cols = [c for c in new.columns if c in set(old.columns) and c not in skip]
    if columns is not None:
        wanted = list(columns)
        common_cols = [c for c in common_cols if c in wanted]
    ni = np.flatnonzero(in_old)
    oi = ko.get_indexer(kn[ni])
    keys_common = new[key].to_numpy(dtype=object)[ni]
    names = (
        new["name"].to_numpy(dtype=object)[ni] if "name" in new.columns and key != "name" else None
    )
    rec_key, rec_name, rec_col, rec_old, rec_new, rec_pos = [], [], [], [], [], []
    for ci, c in enumerate(common_cols):
        a = old[c].iloc[oi].reset_index(drop=True)
        b = new[c].iloc[ni].reset_index(drop=True)
        if a.dtype == b.dtype and a.equals(b):
            continue
        changed = np.flatnonzero(~_same(a, b))
        if not len(changed):
            continue
        av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
        for j in changed:
            rec_key.append(keys_common[j])
            if names is not None:
                rec_name.append(names[j])
            rec_col.append(c)
            rec_old.append(None if _missing(av[j]) else av[j])
            rec_new.append(None if _missing(bv[j]) else bv[j])
            rec_pos.append((j, ci))
    order = sorted(range(len(rec_pos)), key=lambda i: rec_pos[i])
    data: dict[str, list[Any]] = {key: [rec_key[i] for i in order]}
    if names is not None:
        data["name"] = [rec_name[i] for i in order]
    data["column"] = [rec_col[i] for i in order]
    data["old"] = [rec_old[i] for i in order]
    data["new"] = [rec_new[i] for i in order]
    changed_df = pd.DataFrame(data, dtype=object)
    return Diff(
        key=key,
        added=added,
        removed=removed,
        changed=changed_df,
        columns_added=[str(c) for c in new.columns if c not in set(old.columns)],
        columns_removed=[str(c) for c in old.columns if c not in set(new.columns)],
    )


def diff_snapshots(
    store_dir: str | os.PathLike[str],
    old: str | None = None,
    new: str | None = None,
    *,
    resources: Iterable[str] | None = None,
    key: str = "id",
    ignore: Iterable[str] = (),
) -> dict[str, Diff]:
    """Diff two stored snapshots, resource by resource (the latest two by default).

    ``old``/``new`` are ids or unique prefixes; with only ``old`` the new one is the latest.

    >>> for name, d in diff_snapshots("snapshots").items():     # doctest: +SKIP
    ...     print(name, d)
    """
    store = Path(store_dir).expanduser()
    known = snapshots(store)
    if new is None and old is not None:
        new_id = _resolve_snapshot(store, None, known, default=-1)
        old_id = _resolve_snapshot(store, old, known, default=-1)
    else:
        new_id = _resolve_snapshot(store, new, known, default=-1)
        old_id = _resolve_snapshot(store, old, known, default=-2)
    row_old = known.loc[known["id"] == old_id].iloc[0]
    row_new = known.loc[known["id"] == new_id].iloc[0]
    names = [r for r in row_new["resources"] if r in set(row_old["resources"])]
    if resources is not None:
        wanted = list(resources)
        names = [r for r in wanted if r in names]
        if not names:
            raise CpExploreError(
                f"snapshots {old_id} and {new_id} do not both hold {', '.join(wanted)}",
                hint=f"they share: {', '.join(r for r in row_new['resources'] if r in set(row_old['resources'])) or 'nothing'}",
            )
    out = {}
    for name in names:
        a = load_snapshot(store, old_id, name)
        b = load_snapshot(store, new_id, name)
        out[name] = replace(diff(a, b, key=key, ignore=ignore), old_id=old_id, new_id=new_id)
    return out
