"""Inventory summaries: the numbers every view (plots, widgets, report, CLI) shows.

Frames in, frames out; inputs are never modified and a missing column or value never
raises ``KeyError``. Sizes from the API are MiB (``*_mib`` columns), GiB for people
(``*_gib``). A server with neither ``host_id`` nor ``host`` is ``(unscheduled)``.

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

#: How a missing value is shown as a group.
MISSING_LABEL = "(none)"
#: How a server without a host is shown when grouped by where it runs.
UNSCHEDULED_LABEL = "(unscheduled)"
#: The columns that say where a server runs.
PLACEMENT_COLUMNS: tuple[str, ...] = (
    "host",
    "host_id",
    "zone",
    "zone_id",
    "cloudregion",
    "cloudregion_id",
)
MIB_PER_GIB = 1024
#: The groupings of :func:`summary_table` (and of the report's ``summary.csv``).
SUMMARY_DIMENSIONS: tuple[str, ...] = ("status", "hypervisor", "zone", "cloudregion")
#: The status of the servers commits count (the region's ``IgnoreNonrunningGuests``).
COUNTED_STATUS = "running"
#: The region's default commit bounds, for a host that sets none.
DEFAULT_CPU_COMMIT_BOUND = 8.0
DEFAULT_MEM_COMMIT_BOUND = 1.0
#: One line for captions and notes: what the capacity ratios mean.
CAPACITY_EXPLANATION = (
    "commit rate = vCPUs (memory) of the host's running servers ÷ its CPUs (memory) "
    "less reserved, as the region computes cpu_commit_rate and mem_commit_rate; "
    "over-committed = a rate above the host's commit bound"
)
#: The columns of :func:`capacity_table`, in order.
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

#: What Cloudpods' server statuses (``pkg/apis/compute``'s ``VM_*``) mean, for legends.
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
#: How the line summing the groups left out starts: ``other (K hosts)``.
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
_HOST_FACTS = ("zone", "cloudregion", "host_type", "status", "enabled")  # copied when present
_SOURCES = ("auto", "hosts", "servers")


def column_label(column: str | None) -> str:
    """A readable name for a column.

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
    """A status with the start of its meaning in brackets: ``ready (stopped)``.

    >>> status_label("ready"), status_label("running"), status_label("(none)")
    ('ready (stopped)', 'running (powered on)', '(none)')
    """
    meaning = status_meaning(status)
    if not meaning or meaning == str(status):
        return str(status)
    return f"{status} ({meaning.split(' (')[0]})"


def group_noun(column: str | None, n: int) -> str:
    """``n`` groups of ``column``, for "other" lines.

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
    """How many of ``groups`` groups a chart or table shows; the rest fold into ``other``.

    The ``top`` largest, but a lone remainder is shown as itself, never ``other (1 host)``.

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
    """Which rows have neither ``host_id`` nor ``host`` (none when the frame has neither column).

    >>> unscheduled(pd.DataFrame({"host": ["h1", None], "host_id": [None, None]})).tolist()
    [False, True]
    """
    present = [c for c in ("host_id", "host") if c in servers.columns]
    if not present:
        return np.zeros(len(servers), dtype=bool)
    return servers[present].isna().all(axis=1).to_numpy(dtype=bool)


def group_keys(frame: pd.DataFrame, column: str) -> pd.Series:
    """The group of each row by ``column``, as every group-by names it: the value as text.

    A missing value is ``(unscheduled)`` for a :data:`PLACEMENT_COLUMNS` column of a
    server on no host (:func:`unscheduled`), else ``(none)``.

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

    With ``any_of=True`` one of them is enough; ``hint`` replaces the default advice.

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
    """A column as floats, NaN where not a number (``default`` if no such column)."""
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


def summarize_servers(servers: pd.DataFrame, by: str = "status") -> pd.DataFrame:
    """Per ``by`` group (:func:`group_keys`): servers, share (%), vCPUs and memory (GiB).

    ``vcpus`` / ``memory_gib`` only when the frame has ``vcpu_count`` / ``vmem_size``.
    Most servers first, then by value.

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
    """A :func:`summarize_servers` table cut to the groups a chart with ``top`` shows.

    The rows past :func:`shown_groups` are summed into one last ``other (K hosts)`` row.

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
    """:func:`summarize_servers` for each column of ``by``, stacked: ``by``, ``value``, ...

    Columns the frame lacks are left out; rows but none of them raise ``MissingColumns``.

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


def usable_cpus(hosts: pd.DataFrame) -> np.ndarray:
    """Each host's ``cpu_count`` less ``cpu_reserved`` (when above 0 and below the count).

    >>> usable_cpus(pd.DataFrame({"cpu_count": [32, 8, 4], "cpu_reserved": [2, 8, None]})).tolist()
    [30.0, 8.0, 4.0]
    """
    return _less_reserved(_numbers(hosts, "cpu_count"), _numbers(hosts, "cpu_reserved", 0.0))


def usable_memory(hosts: pd.DataFrame) -> np.ndarray:
    """Each host's ``mem_size`` (MiB) less ``mem_reserved``, as :func:`usable_cpus`.

    >>> usable_memory(pd.DataFrame({"mem_size": [65536], "mem_reserved": [8192]})).tolist()
    [57344.0]
    """
    return _less_reserved(_numbers(hosts, "mem_size"), _numbers(hosts, "mem_reserved", 0.0))


def _less_reserved(total: np.ndarray, reserved: np.ndarray) -> np.ndarray:
    reserved = np.nan_to_num(reserved)
    return np.where((reserved > 0) & (reserved < total), total - reserved, total)


def commit_bounds(hosts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each host's CPU and memory commit bounds: how far it may be over-committed.

    ``cpu_commit_bound`` / ``mem_commit_bound`` as reported, else ``cpu_cmtbound`` /
    ``mem_cmtbound`` when above 0, else the region's defaults; huge pages: memory 1.

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

    Element-wise; an unknown rate is not. Every view uses it through :func:`capacity_table`.

    >>> over_committed([10.53, 8.0, float("nan")], [8, 8, 8]).tolist()
    [True, False, False]
    """
    rate = np.asarray(rate, dtype=float)
    bound = np.asarray(bound, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nan_to_num(rate, nan=-np.inf) > bound, dtype=bool)


def rate_text(rate: Any, bound: Any = None) -> str:
    """A commit rate as the capacity chart and table write it: ``10.53×`` (unknown: ``""``).

    Two decimals, or more when two would hide which side of ``bound`` the rate is on.

    >>> rate_text(10.53125), rate_text(1.004, 1.0), rate_text(1.0, 1.0), rate_text(None)
    ('10.53×', '1.004×', '1.00×', '')
    """
    value, limit = _float(rate), _float(bound)
    if np.isnan(value):
        return ""
    text = f"{value:.2f}"
    if not np.isnan(limit):
        for digits in (2, 3, 4, 6, 9):
            text = f"{value:.{digits}f}"
            if (float(text) > limit) == (value > limit):
                break
    return f"{text}×"


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _host_rows(
    hosts: pd.DataFrame, servers: pd.DataFrame, column: str, by: str = "id"
) -> np.ndarray:
    """The row in ``hosts`` whose ``by`` is each server's ``column`` (NaN: none)."""
    if column not in servers.columns or by not in hosts.columns:
        return np.full(len(servers), np.nan)
    rows = pd.Series(np.arange(len(hosts), dtype=float), index=hosts[by].astype(object))
    rows = rows[~rows.index.duplicated() & rows.index.notna()]
    return servers[column].astype(object).map(rows).to_numpy(dtype=float, na_value=np.nan)


def _placement(hosts: pd.DataFrame, servers: pd.DataFrame) -> np.ndarray:
    """Each server's row in ``hosts`` (NaN: none), by ``host_id``, else by ``host`` name."""
    where = _host_rows(hosts, servers, "host_id")
    return np.where(np.isnan(where), _host_rows(hosts, servers, "host", "name"), where)


def _sum_by_host(rows: np.ndarray, weights: np.ndarray | None, n: int) -> np.ndarray:
    known = ~np.isnan(rows)
    w = np.ones(int(known.sum())) if weights is None else np.nan_to_num(weights[known])
    return np.bincount(rows[known].astype(np.int64), weights=w, minlength=n).astype(float)


def _from_servers(hosts: pd.DataFrame, servers: pd.DataFrame) -> dict[str, Any]:
    """What the region would report for each host, summed from the servers."""
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


def capacity_table(
    hosts: pd.DataFrame, servers: pd.DataFrame | None = None, *, source: str = "auto"
) -> pd.DataFrame:
    """Per host: what the region commits of its CPUs and memory, and if it is over-committed.

    The region's numbers (``SHost`` details): **commit** counts *running* servers only
    (:data:`COUNTED_STATUS`), **usable** is less the reservation (:func:`usable_cpus`),
    the **commit rate** is commit ÷ usable (0 when either is 0), the **bound** from
    :func:`commit_bounds`, and **over-committed** is :func:`over_committed`.

    ``source="auto"`` uses a host's own ``cpu_commit`` / ``mem_commit`` when present, else
    sums ``servers`` (on their ``host_id``, else ``host`` name, and ``backup_host_id``);
    ``"servers"`` always sums them, ``"hosts"`` never. Columns :data:`CAPACITY_COLUMNS`
    (host facts such as ``zone`` after ``host_id``), MiB; ``bound_used`` is the larger
    rate ÷ bound. Sorted over-committed first, then ``bound_used``, then name; ``df.attrs``
    counts ``unplaced_servers`` (on no listed host) and ``unscheduled_servers``.

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
    if len(hosts) == 0:  # the *over_committed flags are bool, the rest object
        return pd.DataFrame(
            {c: pd.Series([], dtype=bool if "over" in c else object) for c in CAPACITY_COLUMNS}
        )
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
    """``kind`` (``cpu``/``mem``) commit and rate per host: the host's own, else summed."""
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
