"""Inventory summaries: DataFrames in, DataFrames out, one set of rules for every view.

The plots, the widgets, the report files and the command line all show the same numbers,
because they all take them from here. Nothing in this module reads files, talks HTTP or
draws; the input frames are never modified.

Units: memory and storage sizes come from the API in MiB (``vmem_size``, ``mem_size``,
``disk``, ...) and keep that unit in columns named ``*_mib``; columns meant for people
are converted to GiB and named ``*_gib``. Servers belong to a host by ``host_id`` (the
host's ``id``); a server whose ``host_id`` is missing or unknown falls back to its
``host`` name (the host's ``name``).

* :func:`summarize_servers`: one grouping (``by="hypervisor"``, ...): servers, share,
  vCPUs and memory per value.
* :func:`summary_table`: several groupings stacked into one long table.
* :func:`capacity_table`: per host, allocated against physical vCPU, memory and storage.

Example:
    >>> servers = pd.DataFrame({"status": ["running", "running", "ready"],
    ...                         "vcpu_count": [2, 4, 1], "vmem_size": [2048, 4096, 1024]})
    >>> summarize_servers(servers, "status")
        status  servers  share_pct  vcpus  memory_gib
    0  running        2       66.7      6         6.0
    1    ready        1       33.3      1         1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .errors import MissingColumns

__all__ = [
    "MISSING_LABEL",
    "MIB_PER_GIB",
    "SUMMARY_DIMENSIONS",
    "column_label",
    "group_labels",
    "require_columns",
    "summarize_servers",
    "summary_table",
    "capacity_table",
]

#: How a missing value is shown as a group (a bar, a table row, a dropdown choice).
MISSING_LABEL = "(none)"
#: The API gives sizes in MiB; people read GiB.
MIB_PER_GIB = 1024
#: The groupings of :func:`summary_table` (and of the report's ``summary.csv``).
SUMMARY_DIMENSIONS: tuple[str, ...] = ("status", "hypervisor", "zone", "cloudregion")

_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "cloudregion": "cloud region",
        "region_id": "catalog region",
        "catalog_region": "catalog region",
        "tenant": "project",
        "os_type": "OS type",
    }
)
_DEFAULT_HINT = "list with details=True and without columns=... that leave them out"
# host columns copied into the capacity table when present
_HOST_FACTS = ("zone", "cloudregion", "host_type", "status", "enabled")


# --------------------------------------------------------------------------- helpers


def column_label(column: str | None) -> str:
    """A readable name for a column, for titles, labels and the summary's ``by``.

    >>> column_label("cloudregion"), column_label("service_type"), column_label("status")
    ('cloud region', 'service type', 'status')
    """
    if column is None:
        return ""
    return _LABELS.get(column, column.replace("_", " "))


def group_labels(series: pd.Series) -> pd.Series:
    """The values of ``series`` as strings, missing ones as ``(none)``.

    >>> group_labels(pd.Series(["a", None], dtype="category")).tolist()
    ['a', '(none)']
    """
    values = series.astype(object)
    return values.where(values.notna(), MISSING_LABEL).map(str)


def require_columns(
    frame: pd.DataFrame,
    columns: Iterable[str],
    what: str,
    *,
    any_of: bool = False,
    hint: str | None = None,
) -> None:
    """Raise :class:`~cpexplore.errors.MissingColumns` if ``frame`` lacks ``columns``.

    With ``any_of=True`` one of them is enough. The message names what is missing and
    what the frame has; ``hint`` replaces the default advice.

    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "a plot")
    >>> require_columns(pd.DataFrame({"a": [1]}), ["b"], "a plot")
    Traceback (most recent call last):
    ...
    cpexplore.errors.MissingColumns: a plot needs column 'b'; the frame has a (list with ...)
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} takes a pandas DataFrame, not {type(frame).__name__}")
    wanted = list(columns)
    missing = [c for c in wanted if c not in frame.columns]
    if not missing or (any_of and len(missing) < len(wanted)):
        return
    names = ", ".join(repr(c) for c in missing)
    if any_of and len(missing) > 1:
        need = f"one of the columns {names}"
    else:
        need = f"column{'s' if len(missing) > 1 else ''} {names}"
    have = ", ".join(map(str, frame.columns[:20])) or "none"
    more = ", ..." if len(frame.columns) > 20 else ""
    raise MissingColumns(
        f"{what} needs {need}; the frame has {have}{more}", hint=hint or _DEFAULT_HINT
    )


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (NaN where missing or not a number)."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _whole(values: Any) -> Any:
    """Rounded whole numbers: ``int64``, or nullable ``Int64`` when some are missing."""
    arr = np.round(np.asarray(values, dtype=float))
    if np.isnan(arr).any():
        return pd.array(arr, dtype="Float64").astype("Int64")
    return arr.astype("int64")


def _ratio(a: Any, b: Any) -> np.ndarray:
    """``a / b`` rounded to 3 places; NaN where ``b`` is not positive."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(np.where(b > 0, a / b, np.nan), 3)


# --------------------------------------------------------------------------- server summaries


def summarize_servers(servers: pd.DataFrame, by: str = "status") -> pd.DataFrame:
    """Per ``by`` value: servers, their share of all (percent), vCPUs and memory (GiB).

    Columns: ``by`` (the values as text, missing ones ``(none)``), ``servers``,
    ``share_pct``, and ``vcpus`` / ``memory_gib`` when the frame has ``vcpu_count`` /
    ``vmem_size`` (a missing count adds 0). Most servers first, then by value.

    >>> df = pd.DataFrame({"hypervisor": ["kvm", "aws", "kvm"], "vcpu_count": [2, 4, 1]})
    >>> summarize_servers(df, "hypervisor").to_dict("list")
    {'hypervisor': ['kvm', 'aws'], 'servers': [2, 1], 'share_pct': [66.7, 33.3], 'vcpus': [3, 4]}
    """
    require_columns(servers, [by], "the server summary", hint="group by a column the frame has")
    n = len(servers)
    table = pd.DataFrame({"key": group_labels(servers[by]).to_numpy()})
    if "vcpu_count" in servers.columns:
        table["vcpus"] = _numbers(servers, "vcpu_count")
    if "vmem_size" in servers.columns:
        table["memory_gib"] = _numbers(servers, "vmem_size")
    grouped = table.groupby("key", sort=False)
    out = grouped.size().to_frame("servers")
    out["share_pct"] = (100.0 * out["servers"] / n).round(1) if n else 0.0
    if "vcpus" in table.columns:
        out["vcpus"] = _whole(grouped["vcpus"].sum().to_numpy())
    if "memory_gib" in table.columns:
        out["memory_gib"] = (grouped["memory_gib"].sum() / MIB_PER_GIB).round(1)
    out = out.rename_axis(by).reset_index()
    out["servers"] = out["servers"].astype("int64")
    out = out.sort_values(["servers", by], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def summary_table(
    servers: pd.DataFrame, by: str | Iterable[str] = SUMMARY_DIMENSIONS
) -> pd.DataFrame:
    """:func:`summarize_servers` for each column of ``by``, stacked into one long table.

    Columns: ``by`` (the column's readable name, e.g. ``cloud region``), ``value``,
    ``servers``, ``share_pct``, and ``vcpus`` / ``memory_gib`` as in
    :func:`summarize_servers`. Columns of ``by`` the frame lacks are left out; a frame
    with rows but none of them raises ``MissingColumns``; no servers give an empty table.

    >>> summary_table(pd.DataFrame({"status": ["running", "ready", "running"]}))
           by    value  servers  share_pct
    0  status  running        2       66.7
    1  status    ready        1       33.3
    """
    wanted = [by] if isinstance(by, str) else list(by)
    dims = [c for c in wanted if c in servers.columns]
    if not dims:
        if len(servers):
            require_columns(servers, wanted, "the inventory summary", any_of=True)
        return pd.DataFrame(
            {"by": [], "value": [], "servers": pd.Series([], dtype="int64"), "share_pct": []}
        )
    parts = []
    for column in dims:
        part = summarize_servers(servers, column).rename(columns={column: "value"})
        part.insert(0, "by", column_label(column))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- host capacity


def _host_of_each_server(hosts: pd.DataFrame, servers: pd.DataFrame) -> np.ndarray:
    """The row number in ``hosts`` of each server (NaN: no such host), by id, then by name."""

    def lookup(keys: pd.Series, column: str) -> np.ndarray:
        rows = pd.Series(np.arange(len(hosts), dtype=float), index=hosts[column].astype(object))
        rows = rows[~rows.index.duplicated()]
        return keys.astype(object).map(rows).to_numpy(dtype=float, na_value=np.nan)

    where = np.full(len(servers), np.nan)
    if "host_id" in servers.columns and "id" in hosts.columns:
        where = lookup(servers["host_id"], "id")
    if "host" in servers.columns:
        where = np.where(np.isnan(where), lookup(servers["host"], "name"), where)
    return where


def _allocations(hosts: pd.DataFrame, servers: pd.DataFrame | None) -> dict[str, Any]:
    """Per host: servers (when known), vCPU, memory (MiB) and storage (MiB) allocated."""
    n = len(hosts)
    if servers is None:
        require_columns(
            hosts,
            ["cpu_commit", "mem_commit"],
            "the capacity table without servers",
            hint="pass the servers too, e.g. capacity_table(hosts, session.list('servers'))",
        )
        out: dict[str, Any] = {
            "vcpu": _numbers(hosts, "cpu_commit"),
            "mem": _numbers(hosts, "mem_commit"),
            "disk": (
                np.nan_to_num(_numbers(hosts, "storage_used"))
                if "storage_used" in hosts.columns
                else np.zeros(n)
            ),
        }
        if "guests" in hosts.columns:
            out["servers"] = np.nan_to_num(_numbers(hosts, "guests"))
        return out
    if not len(servers):  # nothing runs anywhere: nothing is allocated
        return {
            "servers": np.zeros(n),
            "vcpu": np.zeros(n),
            "mem": np.zeros(n),
            "disk": np.zeros(n),
        }
    what = "the capacity table (servers)"
    require_columns(servers, ["vcpu_count", "vmem_size"], what)
    require_columns(servers, ["host_id", "host"], what, any_of=True)
    where = _host_of_each_server(hosts, servers)
    known = ~np.isnan(where)
    rows = where[known].astype(np.int64)

    def total(column: str | None) -> np.ndarray:
        weights = np.ones(len(rows)) if column is None else _numbers(servers, column)[known]
        return np.bincount(rows, weights=np.nan_to_num(weights), minlength=n)

    return {
        "servers": total(None),
        "vcpu": total("vcpu_count"),
        "mem": total("vmem_size"),
        "disk": total("disk") if "disk" in servers.columns else np.zeros(n),
    }


def capacity_table(hosts: pd.DataFrame, servers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per host: allocated vs. physical vCPU, memory and storage, with over-commit ratios.

    Allocations are summed from ``servers`` (``vcpu_count``, ``vmem_size``, ``disk``;
    each server counted on its host by ``host_id``, else by ``host`` name) when given;
    otherwise the hosts' own ``cpu_commit``/``mem_commit``/``storage_used`` are used.
    Memory and storage are in MiB (``*_mib``), as the API gives them. Ratios are
    allocated ÷ physical (memory: ÷ (``mem_size`` − ``mem_reserved``), as Cloudpods
    computes ``mem_commit_rate``); ``*_limit`` are the hosts' allowed over-commit
    (``cpu_cmtbound``, ``mem_cmtbound``) and ``over_limit`` says whether a ratio exceeds
    its limit. Sorted by vCPU ratio, highest first, then by host name.

    >>> hosts = pd.DataFrame({"id": ["h1"], "name": ["h1"], "cpu_count": [32],
    ...                       "mem_size": [65536], "storage_size": [1000]})
    >>> servers = pd.DataFrame({"host_id": ["h1", "h1"], "vcpu_count": [16, 32],
    ...                         "vmem_size": [4096, 8192], "disk": [100, 200]})
    >>> capacity_table(hosts, servers)[["host", "vcpu_allocated", "vcpu_ratio"]]
      host  vcpu_allocated  vcpu_ratio
    0   h1              48         1.5
    """
    require_columns(hosts, ["name", "cpu_count", "mem_size"], "the capacity table (hosts)")
    n = len(hosts)
    out = pd.DataFrame(
        {
            "host": hosts["name"].astype(object).to_numpy(),
            "host_id": hosts["id"].astype(object).to_numpy() if "id" in hosts.columns else None,
        }
    )
    for column in _HOST_FACTS:
        if column in hosts.columns:
            out[column] = hosts[column].astype(object).to_numpy()
    alloc = _allocations(hosts, servers)
    if "servers" in alloc:
        out["servers"] = _whole(alloc["servers"])
    cpu = _numbers(hosts, "cpu_count")
    mem = _numbers(hosts, "mem_size")
    reserved = (
        np.nan_to_num(_numbers(hosts, "mem_reserved"))
        if "mem_reserved" in hosts.columns
        else np.zeros(n)
    )
    storage = (
        _numbers(hosts, "storage_size") if "storage_size" in hosts.columns else np.full(n, np.nan)
    )
    out["vcpu_allocated"] = _whole(alloc["vcpu"])
    out["vcpu_physical"] = _whole(cpu)
    out["vcpu_ratio"] = _ratio(alloc["vcpu"], cpu)
    out["memory_allocated_mib"] = _whole(alloc["mem"])
    out["memory_physical_mib"] = _whole(mem)
    out["memory_reserved_mib"] = _whole(reserved)
    out["memory_ratio"] = _ratio(alloc["mem"], mem - reserved)
    out["storage_allocated_mib"] = _whole(alloc["disk"])
    out["storage_physical_mib"] = _whole(storage)
    out["storage_ratio"] = _ratio(alloc["disk"], storage)
    over = np.zeros(n, dtype=bool)
    for source, limit, ratio in (
        ("cpu_cmtbound", "vcpu_limit", "vcpu_ratio"),
        ("mem_cmtbound", "memory_limit", "memory_ratio"),
    ):
        if source in hosts.columns:
            out[limit] = _numbers(hosts, source)
            over |= np.nan_to_num(out[ratio].to_numpy(dtype=float)) > np.nan_to_num(
                out[limit].to_numpy(dtype=float), nan=np.inf
            )
    out["over_limit"] = over
    out = out.sort_values(["vcpu_ratio", "host"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)
