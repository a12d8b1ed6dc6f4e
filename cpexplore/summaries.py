"""Inventory summaries: DataFrames in, DataFrames out, one set of rules for every view.

The plots, the widgets, the report files and the command line all show the same numbers,
because they all take them from here. Nothing in this module reads files, talks HTTP or
draws; the input frames are never modified. Every field of a record is optional, as it is
in Cloudpods' answers: a missing column or value never raises ``KeyError``.

Units: memory and storage sizes come from the API in MiB (``vmem_size``, ``mem_size``,
``disk``, ...) and keep that unit in columns named ``*_mib``; columns meant for people
are converted to GiB and named ``*_gib``. Servers belong to a host by ``host_id`` (the
host's ``id``); a server whose ``host_id`` is missing or unknown falls back to its
``host`` name (the host's ``name``). A server with neither is **unscheduled** (the region
leaves ``host``, ``zone`` and ``cloudregion`` out of its record): group-bys show it as
``(unscheduled)``, never drop it.

* :func:`summarize_servers`: one grouping (``by="hypervisor"``, ...): servers, share,
  vCPUs and memory per value.
* :func:`summary_table`: several groupings stacked into one long table.
* :func:`capacity_table`: per host, what the region commits against what the host has,
  and whether it is over-committed (:func:`over_committed`, the one definition).

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
    "UNSCHEDULED_LABEL",
    "PLACEMENT_COLUMNS",
    "MIB_PER_GIB",
    "SUMMARY_DIMENSIONS",
    "COUNTED_STATUS",
    "DEFAULT_CPU_COMMIT_BOUND",
    "DEFAULT_MEM_COMMIT_BOUND",
    "CAPACITY_EXPLANATION",
    "CAPACITY_COLUMNS",
    "STATUS_MEANINGS",
    "OTHER_PREFIX",
    "column_label",
    "status_meaning",
    "status_label",
    "group_noun",
    "other_label",
    "shown_groups",
    "fold_summary",
    "rate_text",
    "group_labels",
    "group_keys",
    "unscheduled",
    "require_columns",
    "summarize_servers",
    "summary_table",
    "commit_bounds",
    "usable_cpus",
    "usable_memory",
    "over_committed",
    "capacity_table",
]

#: How a missing value is shown as a group (a bar, a table row, a dropdown choice).
MISSING_LABEL = "(none)"
#: How a server without a host is shown when grouped by where it runs.
UNSCHEDULED_LABEL = "(unscheduled)"
#: The columns that say where a server runs; an unscheduled server has none of them.
PLACEMENT_COLUMNS: tuple[str, ...] = (
    "host",
    "host_id",
    "zone",
    "zone_id",
    "cloudregion",
    "cloudregion_id",
)
#: The API gives sizes in MiB; people read GiB.
MIB_PER_GIB = 1024
#: The groupings of :func:`summary_table` (and of the report's ``summary.csv``).
SUMMARY_DIMENSIONS: tuple[str, ...] = ("status", "hypervisor", "zone", "cloudregion")

#: The status of the servers a host's ``cpu_commit``/``mem_commit`` count. The region
#: counts running guests only (its option ``IgnoreNonrunningGuests``, true by default).
COUNTED_STATUS = "running"
#: The region's default commit bounds, used for a host that sets none
#: (``DefaultCPUOvercommitBound`` and ``DefaultMemoryOvercommitBound`` of the compute service).
DEFAULT_CPU_COMMIT_BOUND = 8.0
DEFAULT_MEM_COMMIT_BOUND = 1.0
#: One line for captions and notes: what the capacity ratios mean.
CAPACITY_EXPLANATION = (
    "commit rate = vCPUs (memory) of the host's running servers ÷ its CPUs (memory) "
    "less reserved, as the region computes cpu_commit_rate and mem_commit_rate; "
    "over-committed = a rate above the host's commit bound"
)
#: The columns of :func:`capacity_table`, in order (host facts follow ``host_id`` when present).
CAPACITY_COLUMNS: tuple[str, ...] = (
    "host",
    "host_id",
    "servers",
    "running_servers",
    "cpu_count",
    "cpu_reserved",
    "cpu_usable",
    "cpu_commit",
    "cpu_commit_rate",
    "cpu_commit_bound",
    "mem_size_mib",
    "mem_reserved_mib",
    "mem_usable_mib",
    "mem_commit_mib",
    "mem_commit_rate",
    "mem_commit_bound",
    "storage_size_mib",
    "storage_used_mib",
    "storage_ratio",
    "cpu_over_committed",
    "mem_over_committed",
    "over_committed",
    "bound_used",
    "commit_source",
)

#: What Cloudpods' server statuses mean, for legends and tooltips (``pkg/apis/compute``'s
#: ``VM_*`` statuses; the ``*_fail`` ones leave the server as it was before the step).
STATUS_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "running": "powered on",
        "ready": "stopped (created, powered off)",
        "init": "being created",
        "schedule": "looking for a host",
        "sched_fail": "no host found",
        "network": "networks being set up",
        "net_fail": "network setup failed",
        "disk": "disks being created",
        "disk_fail": "disk creation failed",
        "image_caching": "image being cached",
        "create_fail": "creation failed",
        "start_deploy": "about to be deployed",
        "deploying": "being deployed",
        "deploy_fail": "deployment failed",
        "start_start": "asked to start",
        "starting": "powering on",
        "start_fail": "failed to start (stays stopped)",
        "start_stop": "asked to stop",
        "stopping": "powering off",
        "stop_fail": "failed to stop (still running)",
        "suspend": "suspended",
        "suspending": "being suspended",
        "resuming": "being resumed",
        "start_delete": "asked to be deleted",
        "deleting": "being deleted",
        "delete_fail": "deletion failed",
        "deallocated": "stopped, resources freed",
        "migrating": "moving to another host",
        "live_migrating": "moving host, running",
        "migrate_failed": "host move failed",
        "rebuild_root": "system disk being rebuilt",
        "change_flavor": "CPU or memory changing",
        "sync_config": "configuration being synced",
        "sync_fail": "configuration sync failed",
        "block_stream": "disk being copied (running)",
        "admin": "held by an administrator",
        "import": "being imported",
        "unknown": "host not reporting",
    }
)
#: How the line that sums the groups a chart or table leaves out starts: ``other (K hosts)``.
OTHER_PREFIX = "other ("

_NOUNS: Mapping[str, str] = MappingProxyType(
    {"status": "statuses", "tenant": "projects", "os_type": "OS types"}
)

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
_SOURCES = ("auto", "hosts", "servers")


# --------------------------------------------------------------------------- helpers


def column_label(column: str | None) -> str:
    """A readable name for a column, for titles, labels and the summary's ``by``.

    >>> column_label("cloudregion"), column_label("service_type"), column_label("status")
    ('cloud region', 'service type', 'status')
    """
    if column is None:
        return ""
    return _LABELS.get(column, column.replace("_", " "))


def status_meaning(status: Any) -> str | None:
    """What a Cloudpods server status means, or ``None`` for one not in :data:`STATUS_MEANINGS`.

    >>> status_meaning("ready"), status_meaning("no-such")
    ('stopped (created, powered off)', None)
    """
    return STATUS_MEANINGS.get(str(status)) if status is not None else None


def status_label(status: Any) -> str:
    """A status with its meaning in brackets, where plots name statuses: ``ready (stopped)``.

    Only the part of the meaning before any bracket is used, to keep labels short.

    >>> status_label("ready"), status_label("running"), status_label("(none)")
    ('ready (stopped)', 'running (powered on)', '(none)')
    """
    meaning = status_meaning(status)
    if not meaning or meaning == str(status):
        return str(status)
    return f"{status} ({meaning.split(' (')[0]})"


def group_noun(column: str | None, n: int) -> str:
    """``1 host``, ``87 hosts``, ``2 statuses``: ``n`` groups of ``column``, for "other" lines.

    >>> group_noun("host", 87), group_noun("status", 2), group_noun("cloudregion", 1)
    ('87 hosts', '2 statuses', '1 cloud region')
    """
    single = column_label(column) or "group"
    plural = _NOUNS.get(column or "", single + "s")
    return f"{n:,} {single if n == 1 else plural}"


def other_label(column: str | None, n: int) -> str:
    """The label of the line summing ``n`` groups left out: ``other (87 hosts)``.

    >>> other_label("host", 87)
    'other (87 hosts)'
    """
    return f"{OTHER_PREFIX}{group_noun(column, n)})"


def shown_groups(groups: int, top: int) -> int:
    """How many of ``groups`` groups (largest first) a chart or table shows on their own.

    The ``top`` largest; the rest are summed into one ``other`` line — but a lone
    remainder is shown as itself, never folded into ``other (1 host)``.

    >>> shown_groups(10, 15), shown_groups(16, 15), shown_groups(17, 15)
    (10, 16, 15)
    """
    return groups if groups <= top + 1 else top


def group_labels(series: pd.Series) -> pd.Series:
    """The values of ``series`` as strings, missing ones as ``(none)``.

    >>> group_labels(pd.Series(["a", None], dtype="category")).tolist()
    ['a', '(none)']
    """
    values = series.astype(object)
    return values.where(values.notna(), MISSING_LABEL).map(str)


def unscheduled(servers: pd.DataFrame) -> np.ndarray:
    """Which rows are servers placed on no host: without ``host_id`` and without ``host``.

    A frame with neither column says nothing about placement: no row is unscheduled.

    >>> unscheduled(pd.DataFrame({"host": ["h1", None], "host_id": [None, None]})).tolist()
    [False, True]
    """
    present = [c for c in ("host_id", "host") if c in servers.columns]
    if not present:
        return np.zeros(len(servers), dtype=bool)
    return servers[present].isna().all(axis=1).to_numpy(dtype=bool)


def group_keys(frame: pd.DataFrame, column: str) -> pd.Series:
    """The group each row falls in by ``column``: its value as text, or a label.

    A missing value is ``(unscheduled)`` when ``column`` says where a server runs
    (:data:`PLACEMENT_COLUMNS`) and the server has no host (:func:`unscheduled`), and
    ``(none)`` otherwise. This is the one naming every group-by uses: summaries, plots,
    dropdowns and filters.

    >>> df = pd.DataFrame({"host": ["h1", None], "zone": ["z1", None]})
    >>> group_keys(df, "zone").tolist()
    ['z1', '(unscheduled)']
    """
    labels = group_labels(frame[column])
    if column in PLACEMENT_COLUMNS and len(frame):
        away = frame[column].isna().to_numpy(dtype=bool) & unscheduled(frame)
        if away.any():
            labels = labels.where(~away, UNSCHEDULED_LABEL)
    return labels


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


def _numbers(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    """A column as floats (NaN where missing or not a number; ``default`` if no such column)."""
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    return pd.to_numeric(frame[column].astype(object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )


def _whole(values: Any) -> Any:
    """Rounded whole numbers: ``int64``, or nullable ``Int64`` when some are missing."""
    arr = np.round(np.asarray(values, dtype=float))
    if np.isnan(arr).any():
        return pd.array(arr, dtype="Float64").astype("Int64")
    return arr.astype("int64")


def _ratio(a: Any, b: Any) -> np.ndarray:
    """``a / b``; NaN where ``b`` is not positive or either is unknown."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)


# --------------------------------------------------------------------------- server summaries


def summarize_servers(servers: pd.DataFrame, by: str = "status") -> pd.DataFrame:
    """Per ``by`` value: servers, their share of all (percent), vCPUs and memory (GiB).

    Columns: ``by`` (the values as text; missing ones ``(none)``, or ``(unscheduled)``
    for a server without a host grouped by ``host``, ``zone`` or ``cloudregion``, see
    :func:`group_keys`), ``servers``, ``share_pct``, and ``vcpus`` / ``memory_gib`` when
    the frame has ``vcpu_count`` / ``vmem_size`` (a missing count adds 0). Most servers
    first, then by value.

    >>> df = pd.DataFrame({"hypervisor": ["kvm", "aws", "kvm"], "vcpu_count": [2, 4, 1]})
    >>> summarize_servers(df, "hypervisor").to_dict("list")
    {'hypervisor': ['kvm', 'aws'], 'servers': [2, 1], 'share_pct': [66.7, 33.3], 'vcpus': [3, 4]}
    """
    require_columns(servers, [by], "the server summary", hint="group by a column the frame has")
    n = len(servers)
    table = pd.DataFrame({"key": group_keys(servers, by).to_numpy(dtype=object)})
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
    out[by] = out[by].astype(object)
    out["servers"] = out["servers"].astype("int64")
    out = out.sort_values(["servers", by], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def fold_summary(summary: pd.DataFrame, by: str, top: int) -> pd.DataFrame:
    """A :func:`summarize_servers` table cut to the groups a chart shows, plus one ``other`` row.

    The first :func:`shown_groups` rows stay; the rest are summed into one last row
    labelled ``other (K hosts)`` (servers, share, vCPUs and memory added up), so the
    table lists the same groups as the chart drawn with the same ``top``. The input is
    not modified.

    >>> s = summarize_servers(pd.DataFrame({"host": list("aaabcd")}), "host")
    >>> fold_summary(s, "host", 1)[["host", "servers"]].values.tolist()
    [['a', 3], ['other (3 hosts)', 3]]
    """
    keep = shown_groups(len(summary), top)
    if keep >= len(summary):
        return summary.reset_index(drop=True)
    head, tail = summary.iloc[:keep], summary.iloc[keep:]
    other: dict[str, Any] = {by: other_label(by, len(tail))}
    for column in summary.columns:
        if column == by:
            continue
        total = tail[column].sum()
        other[column] = round(float(total), 1) if column in ("share_pct", "memory_gib") else total
    out = pd.concat([head, pd.DataFrame([other])], ignore_index=True)
    return out.astype(summary.dtypes.to_dict())


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


def usable_cpus(hosts: pd.DataFrame) -> np.ndarray:
    """Each host's CPUs as the region counts them: ``cpu_count`` less ``cpu_reserved``.

    The reservation counts only when it is above 0 and below ``cpu_count`` (Cloudpods'
    ``SHost.GetCpuCount``). NaN where ``cpu_count`` is unknown.

    >>> usable_cpus(pd.DataFrame({"cpu_count": [32, 8, 4], "cpu_reserved": [2, 8, None]})).tolist()
    [30.0, 8.0, 4.0]
    """
    return _less_reserved(_numbers(hosts, "cpu_count"), _numbers(hosts, "cpu_reserved", 0.0))


def usable_memory(hosts: pd.DataFrame) -> np.ndarray:
    """Each host's memory (MiB) as the region counts it: ``mem_size`` less ``mem_reserved``.

    The reservation counts only when it is above 0 and below ``mem_size`` (Cloudpods'
    ``SHost.GetMemSize``). NaN where ``mem_size`` is unknown.

    >>> usable_memory(pd.DataFrame({"mem_size": [65536], "mem_reserved": [8192]})).tolist()
    [57344.0]
    """
    return _less_reserved(_numbers(hosts, "mem_size"), _numbers(hosts, "mem_reserved", 0.0))


def _less_reserved(total: np.ndarray, reserved: np.ndarray) -> np.ndarray:
    reserved = np.nan_to_num(reserved)
    return np.where((reserved > 0) & (reserved < total), total - reserved, total)


def commit_bounds(hosts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each host's CPU and memory commit bounds: how far it may be over-committed.

    The region reports them as ``cpu_commit_bound`` / ``mem_commit_bound``; without those,
    the host's own ``cpu_cmtbound`` / ``mem_cmtbound`` when above 0, else the region's
    defaults (:data:`DEFAULT_CPU_COMMIT_BOUND` 8, :data:`DEFAULT_MEM_COMMIT_BOUND` 1).
    A host with huge pages (``page_size_kb`` above 4) has a memory bound of 1.

    >>> hosts = pd.DataFrame({"cpu_cmtbound": [4.0, None], "page_size_kb": [4, 2048],
    ...                       "mem_cmtbound": [1.5, 1.5]})
    >>> [b.tolist() for b in commit_bounds(hosts)]
    [[4.0, 8.0], [1.5, 1.0]]
    """
    cpu = _numbers(hosts, "cpu_cmtbound")
    cpu = np.where(cpu > 0, cpu, DEFAULT_CPU_COMMIT_BOUND)
    mem = _numbers(hosts, "mem_cmtbound")
    mem = np.where(mem > 0, mem, DEFAULT_MEM_COMMIT_BOUND)
    mem = np.where(_numbers(hosts, "page_size_kb") > 4, 1.0, mem)
    reported_cpu = _numbers(hosts, "cpu_commit_bound")
    reported_mem = _numbers(hosts, "mem_commit_bound")
    return (
        np.where(reported_cpu > 0, reported_cpu, cpu),
        np.where(reported_mem > 0, reported_mem, mem),
    )


def over_committed(rate: Any, bound: Any) -> np.ndarray:
    """The one definition of over-committed: a commit rate above the host's commit bound.

    Element-wise; an unknown rate is not over-committed. The bounds are the host's
    (:func:`commit_bounds` fills in the region's defaults). Every view (table, chart, widget, report) uses this function through
    :func:`capacity_table`'s ``cpu_over_committed``/``mem_over_committed``/``over_committed``.

    >>> over_committed([10.53, 8.0, float("nan")], [8, 8, 8]).tolist()
    [True, False, False]
    """
    rate = np.asarray(rate, dtype=float)
    bound = np.asarray(bound, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nan_to_num(rate, nan=-np.inf) > bound, dtype=bool)


def rate_text(rate: Any, bound: Any = None) -> str:
    """A commit rate as the capacity chart and table both write it: ``10.53×``.

    Two decimals, or more when two would hide which side of the ``bound`` the rate is on:
    a rate of 1.004 over a bound of 1 is ``1.004×``, never ``1.00×`` in the
    over-committed colour. An unknown rate is an empty string.

    >>> rate_text(10.53125), rate_text(1.004, 1.0), rate_text(1.0, 1.0), rate_text(None)
    ('10.53×', '1.004×', '1.00×', '')
    """
    try:
        value = float(rate)
    except (TypeError, ValueError):
        return ""
    if np.isnan(value):
        return ""
    try:
        limit = float(bound) if bound is not None else np.nan
    except (TypeError, ValueError):
        limit = np.nan
    text = f"{value:.2f}"
    if not np.isnan(limit):
        over = value > limit
        for digits in (2, 3, 4, 6, 9):
            text = f"{value:.{digits}f}"
            if (float(text) > limit) == over:
                break
    return f"{text}×"


def _host_rows(hosts: pd.DataFrame, servers: pd.DataFrame, column: str) -> np.ndarray:
    """The row number in ``hosts`` of each server's ``column`` host (NaN: none)."""

    def lookup(keys: pd.Series, by: str) -> np.ndarray:
        rows = pd.Series(np.arange(len(hosts), dtype=float), index=hosts[by].astype(object))
        rows = rows[~rows.index.duplicated() & rows.index.notna()]
        return keys.astype(object).map(rows).to_numpy(dtype=float, na_value=np.nan)

    where = np.full(len(servers), np.nan)
    if column in servers.columns and "id" in hosts.columns:
        where = lookup(servers[column], "id")
    return where


def _placement(hosts: pd.DataFrame, servers: pd.DataFrame) -> np.ndarray:
    """The row number in ``hosts`` of each server (NaN: none), by ``host_id``, then ``host``."""
    where = _host_rows(hosts, servers, "host_id")
    if "host" in servers.columns and "name" in hosts.columns:
        rows = pd.Series(np.arange(len(hosts), dtype=float), index=hosts["name"].astype(object))
        rows = rows[~rows.index.duplicated() & rows.index.notna()]
        by_name = servers["host"].astype(object).map(rows).to_numpy(dtype=float, na_value=np.nan)
        where = np.where(np.isnan(where), by_name, where)
    return where


def _sum_by_host(rows: np.ndarray, weights: np.ndarray | None, n: int) -> np.ndarray:
    known = ~np.isnan(rows)
    w = np.ones(int(known.sum())) if weights is None else np.nan_to_num(weights[known])
    return np.bincount(rows[known].astype(np.int64), weights=w, minlength=n).astype(float)


def _from_servers(hosts: pd.DataFrame, servers: pd.DataFrame) -> dict[str, Any]:
    """What the region would report for each host, summed from the servers.

    ``cpu_commit``/``mem_commit``: ``vcpu_count``/``vmem_size`` of the *running* servers
    whose ``host_id`` (or ``backup_host_id``, as the region does) is the host; ``servers``
    and ``running_servers``: servers placed on the host; ``disk``: their disks (MiB).
    """
    n = len(hosts)
    what = "the capacity table (servers)"
    require_columns(servers, ["vcpu_count", "vmem_size"], what)
    require_columns(
        servers,
        ["status"],
        what,
        hint=f"the region counts {COUNTED_STATUS} servers only, so it needs their status",
    )
    where = _placement(hosts, servers)
    running = (servers["status"].astype(object) == COUNTED_STATUS).to_numpy(dtype=bool)
    vcpu, vmem = _numbers(servers, "vcpu_count"), _numbers(servers, "vmem_size")
    on_host = np.where(running, where, np.nan)
    backup = np.where(running, _host_rows(hosts, servers, "backup_host_id"), np.nan)
    backup = np.where(backup == where, np.nan, backup)  # never count a server twice on one host
    return {
        "servers": _sum_by_host(where, None, n),
        "running": _sum_by_host(on_host, None, n),
        "cpu": _sum_by_host(on_host, vcpu, n) + _sum_by_host(backup, vcpu, n),
        "mem": _sum_by_host(on_host, vmem, n) + _sum_by_host(backup, vmem, n),
        "disk": _sum_by_host(where, _numbers(servers, "disk"), n),
        "unplaced": int(np.isnan(where).sum()),
        "unscheduled": int(unscheduled(servers).sum()),
    }


def _empty_capacity() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series([], dtype=object) for c in CAPACITY_COLUMNS})
    for c in ("cpu_over_committed", "mem_over_committed", "over_committed"):
        out[c] = out[c].astype(bool)
    return out


def capacity_table(
    hosts: pd.DataFrame, servers: pd.DataFrame | None = None, *, source: str = "auto"
) -> pd.DataFrame:
    """Per host: what the region commits of its CPUs and memory, and if it is over-committed.

    The numbers are the region's (Cloudpods ``SHost`` details). **Commit** counts the
    host's *running* servers only (the region's ``IgnoreNonrunningGuests``, true by
    default): ``cpu_commit`` is their vCPUs, ``mem_commit_mib`` their memory. **Usable** is
    ``cpu_count`` less ``cpu_reserved`` and ``mem_size`` less ``mem_reserved``
    (:func:`usable_cpus`, :func:`usable_memory`). The **commit rate** is commit ÷ usable
    (0 when either is 0, as the region gives it), unrounded; the **commit bound** is
    ``cpu_commit_bound``/``mem_commit_bound`` (:func:`commit_bounds`). A host is
    **over-committed** when a rate is above its bound (:func:`over_committed`); this is
    the only definition, and the chart of :func:`cpexplore.plots.plot_capacity`, the
    report and the widgets all show this table.

    Where the numbers come from (``commit_source``): with ``source="auto"`` a host's own
    ``cpu_commit``, ``mem_commit`` and their rates (what the region reports) are used
    when present; otherwise they are summed from ``servers`` (each counted on its host
    by ``host_id``, else by ``host`` name, and on its ``backup_host_id``; only
    ``status == "running"``). ``source="servers"`` always sums the servers;
    ``source="hosts"`` never does. ``servers`` / ``running_servers`` come from the host's
    ``guests`` / ``running_guests``, else are counted from ``servers``; storage from
    ``storage_used``, else the servers' ``disk``.

    Columns: :data:`CAPACITY_COLUMNS` (with ``zone``, ``cloudregion``, ``host_type``,
    ``status``, ``enabled`` after ``host_id`` when the hosts have them); memory and
    storage in MiB. ``bound_used`` is the larger of rate ÷ bound for CPU and memory
    (above 1: over-committed). Sorted over-committed first, then by ``bound_used``
    (highest first), then by host name. ``df.attrs`` says how many servers were on no
    listed host (``unplaced_servers``; ``unscheduled_servers`` of them have no host at
    all) and which statuses were counted.

    The 51-guests host of a real region: 26 running servers with 337 vCPUs on 32 CPUs.

    >>> hosts = pd.DataFrame({"id": ["h1"], "name": ["host-0049"], "cpu_count": [32],
    ...                       "mem_size": [131072], "cpu_cmtbound": [8.0]})
    >>> servers = pd.DataFrame({"host_id": ["h1"] * 3, "status": ["running", "running", "ready"],
    ...                         "vcpu_count": [300, 37, 231], "vmem_size": [4096, 4096, 4096]})
    >>> cap = capacity_table(hosts, servers)
    >>> cap[["host", "running_servers", "cpu_commit", "cpu_commit_rate", "over_committed"]]
            host  running_servers  cpu_commit  cpu_commit_rate  over_committed
    0  host-0049                2         337         10.53125            True
    """
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {', '.join(_SOURCES)}, not {source!r}")
    what = "the capacity table (hosts)"
    require_columns(hosts, ["name", "id"], what, any_of=True)
    if len(hosts) == 0:
        return _empty_capacity()
    require_columns(hosts, ["cpu_count", "mem_size"], what, any_of=True)
    n = len(hosts)
    own_commit = np.zeros(n, dtype=bool)
    if source != "servers":
        own_commit = ~np.isnan(_numbers(hosts, "cpu_commit")) & ~np.isnan(
            _numbers(hosts, "mem_commit")
        )
    summed = _summed(hosts, servers, source, own_commit)

    name = hosts["name"] if "name" in hosts.columns else hosts["id"]
    out = pd.DataFrame(
        {
            "host": name.astype(object).to_numpy(),
            "host_id": hosts["id"].astype(object).to_numpy() if "id" in hosts.columns else None,
        }
    )
    for column in _HOST_FACTS:
        if column in hosts.columns:  # with the hosts' own dtypes
            out[column] = hosts[column].reset_index(drop=True)

    def host_or_summed(column: str, key: str) -> np.ndarray:
        mine = _numbers(hosts, column)
        if summed is None:
            return mine
        return np.where(np.isnan(mine), summed[key], mine)

    out["servers"] = _whole(host_or_summed("guests", "servers"))
    out["running_servers"] = _whole(host_or_summed("running_guests", "running"))

    cpu_usable, mem_usable = usable_cpus(hosts), usable_memory(hosts)
    cpu_bound, mem_bound = commit_bounds(hosts)
    cpu_commit, cpu_rate = _commit(hosts, "cpu", own_commit, summed, cpu_usable)
    mem_commit, mem_rate = _commit(hosts, "mem", own_commit, summed, mem_usable)

    out["cpu_count"] = _whole(_numbers(hosts, "cpu_count"))
    out["cpu_reserved"] = _whole(np.nan_to_num(_numbers(hosts, "cpu_reserved")))
    out["cpu_usable"] = _whole(cpu_usable)
    out["cpu_commit"] = _whole(cpu_commit)
    out["cpu_commit_rate"] = cpu_rate
    out["cpu_commit_bound"] = cpu_bound
    out["mem_size_mib"] = _whole(_numbers(hosts, "mem_size"))
    out["mem_reserved_mib"] = _whole(np.nan_to_num(_numbers(hosts, "mem_reserved")))
    out["mem_usable_mib"] = _whole(mem_usable)
    out["mem_commit_mib"] = _whole(mem_commit)
    out["mem_commit_rate"] = mem_rate
    out["mem_commit_bound"] = mem_bound
    storage_size = _numbers(hosts, "storage_size")
    storage_used = host_or_summed("storage_used", "disk")
    out["storage_size_mib"] = _whole(storage_size)
    out["storage_used_mib"] = _whole(storage_used)
    out["storage_ratio"] = _ratio(storage_used, storage_size)
    out["cpu_over_committed"] = over_committed(cpu_rate, cpu_bound)
    out["mem_over_committed"] = over_committed(mem_rate, mem_bound)
    out["over_committed"] = out["cpu_over_committed"] | out["mem_over_committed"]
    with np.errstate(invalid="ignore"):
        used = np.fmax(_ratio(cpu_rate, cpu_bound), _ratio(mem_rate, mem_bound))
    out["bound_used"] = used
    source_of = np.full(n, "servers" if summed is not None else None, dtype=object)
    source_of[own_commit] = "host"
    source_of[np.isnan(cpu_commit) & np.isnan(mem_commit)] = None
    out["commit_source"] = source_of.astype(object)

    key = np.nan_to_num(used, nan=-np.inf)
    order = np.lexsort((out["host"].astype(str).to_numpy(), -key, ~out["over_committed"]))
    out = out.iloc[order].reset_index(drop=True)
    out.attrs = {
        "counted_status": COUNTED_STATUS,
        "explanation": CAPACITY_EXPLANATION,
        "unplaced_servers": 0 if summed is None else summed["unplaced"],
        "unscheduled_servers": 0 if summed is None else summed["unscheduled"],
    }
    return out


def _summed(
    hosts: pd.DataFrame, servers: pd.DataFrame | None, source: str, own_commit: np.ndarray
) -> dict[str, Any] | None:
    """The servers' sums per host when the table uses them (``None``: the hosts' own)."""
    if source == "servers" and servers is None:
        raise ValueError("source='servers' needs the servers: capacity_table(hosts, servers)")
    if source == "hosts" or servers is None:
        if not {"cpu_commit", "mem_commit"} <= set(hosts.columns):
            require_columns(
                hosts,
                ["cpu_commit", "mem_commit"],
                "the capacity table without servers",
                hint="pass the servers too, e.g. capacity_table(hosts, session.list('servers'))",
            )
        return None
    if len(servers):
        return _from_servers(hosts, servers)
    if own_commit.all():
        return None
    zeros = np.zeros(len(hosts))  # nothing runs anywhere: nothing is committed
    return {"servers": zeros, "running": zeros, "cpu": zeros, "mem": zeros, "disk": zeros,
            "unplaced": 0, "unscheduled": 0}  # fmt: skip


def _commit(
    hosts: pd.DataFrame, kind: str, own: np.ndarray, summed: dict | None, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``kind`` (``cpu``/``mem``) commit and rate per host: the host's own figures where it
    reports them, else summed from the servers, the rate computed where none is reported."""
    commit = np.where(own, _numbers(hosts, f"{kind}_commit"), np.nan)
    if summed is not None:
        commit = np.where(own, commit, summed[kind])
    reported = np.where(own, _numbers(hosts, f"{kind}_commit_rate"), np.nan)
    return commit, np.where(np.isnan(reported), _commit_rate(commit, usable), reported)


def _commit_rate(commit: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """commit ÷ usable as the region computes it: 0 when either is 0, NaN when unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where((usable > 0) & (commit > 0), commit / usable, 0.0)
    return np.where(np.isnan(commit) | np.isnan(usable), np.nan, rate)
