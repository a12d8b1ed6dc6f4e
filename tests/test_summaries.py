"""``cpexplore.summaries``: one set of numbers for the plots, the widgets, the report and the CLI."""

from __future__ import annotations

import doctest

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import cpexplore.summaries  # noqa: E402
from cpexplore import files, markup  # noqa: E402
from cpexplore.errors import MissingColumns  # noqa: E402
from cpexplore.plots import plot_capacity  # noqa: E402
from cpexplore.summaries import (  # noqa: E402
    CAPACITY_COLUMNS,
    CAPACITY_EXPLANATION,
    COUNTED_STATUS,
    DEFAULT_CPU_COMMIT_BOUND,
    DEFAULT_MEM_COMMIT_BOUND,
    MISSING_LABEL,
    STATUS_MEANINGS,
    UNSCHEDULED_LABEL,
    capacity_table,
    column_label,
    commit_bounds,
    fold_summary,
    group_keys,
    group_labels,
    group_noun,
    other_label,
    over_committed,
    rate_text,
    require_columns,
    shown_groups,
    status_label,
    status_meaning,
    summarize_servers,
    summary_table,
    unscheduled,
    usable_cpus,
    usable_memory,
)
from cpexplore.terminal import cell as _cell  # noqa: E402


def servers_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list("abcdef"),
            "status": ["running", "running", "ready", "running", None, "ready"],
            "hypervisor": ["kvm", "kvm", "kvm", "aws", "aws", "esxi"],
            "cloudregion": ["Default", "Default", "Default", "AWS/x", "AWS/x", "VMware/y"],
            "vcpu_count": [2, 4, 8, 1, None, 2],
            "vmem_size": [2048, 4096, 8192, 1024, 1024, 3072],
        }
    ).astype({"status": "category"})


def hosts_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["i1", "i2", "i3"],
            "name": ["h1", "h2", "h3"],
            "cpu_count": [4, 8, 16],
            "mem_size": [8192, 17408, 32768],
            "mem_reserved": [0, 1024, 0],
            "storage_size": [1000, None, 4000],
            "cpu_cmtbound": [2.0, 8.0, 8.0],
            "mem_cmtbound": [1.0, 1.0, 1.0],
        }
    )


def test_the_module_examples_hold():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(cpexplore.summaries, optionflags=flags)
    assert result.failed == 0 and result.attempted >= 10


# -- labels and columns ------------------------------------------------------------------------------
def test_labels_and_required_columns():
    assert column_label("cloudregion") == "cloud region"
    assert column_label("region_id") == "catalog region"
    assert column_label("vcpu_count") == "vcpu count"
    assert group_labels(pd.Series([1, None, "x"])).tolist() == ["1", MISSING_LABEL, "x"]
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(MissingColumns, match=r"needs columns 'b', 'c'; the frame has a \(hint\)"):
        require_columns(frame, ["a", "b", "c"], "this", hint="hint")
    require_columns(frame, ["a", "b"], "this", any_of=True)
    with pytest.raises(MissingColumns, match="needs one of the columns 'b', 'c'"):
        require_columns(frame, ["b", "c"], "this", any_of=True)
    with pytest.raises(TypeError, match="takes a pandas DataFrame"):
        require_columns([1], ["a"], "this")


# -- server summaries --------------------------------------------------------------------------------
def test_summarize_servers_one_grouping():
    df = servers_frame()
    before = df.copy()
    out = summarize_servers(df, "status")
    assert out.to_dict("list") == {
        "status": ["running", "ready", "(none)"],
        "servers": [3, 2, 1],
        "share_pct": [50.0, 33.3, 16.7],
        "vcpus": [7, 10, 0],  # a missing vCPU count adds nothing
        "memory_gib": [7.0, 11.0, 1.0],
    }
    assert out["servers"].dtype == "int64" and out["vcpus"].dtype == "int64"
    pd.testing.assert_frame_equal(df, before)
    # vCPUs and memory only when the frame has them
    assert list(summarize_servers(df[["hypervisor"]], "hypervisor").columns) == [
        "hypervisor",
        "servers",
        "share_pct",
    ]
    empty = summarize_servers(df.iloc[0:0], "status")
    assert empty.empty and list(empty.columns) == list(out.columns)
    with pytest.raises(MissingColumns, match="'zone'"):
        summarize_servers(df, "zone")


def test_a_chart_or_table_shows_the_top_groups_and_never_folds_a_lone_remainder():
    assert [shown_groups(n, 15) for n in (1, 15, 16, 17, 100)] == [1, 15, 16, 15, 15]
    assert other_label("host", 87) == "other (87 hosts)"
    assert [group_noun(c, 2) for c in ("status", "cloudregion", "tenant", "zone")] == [
        "2 statuses",
        "2 cloud regions",
        "2 projects",
        "2 zones",
    ]
    hosts = ["h1"] * 5 + ["h2"] * 3 + ["h3"] * 2 + ["h4"]
    summary = summarize_servers(
        pd.DataFrame({"host": hosts, "vcpu_count": [2] * len(hosts)}), "host"
    )
    folded = fold_summary(summary, "host", 2)
    assert folded.to_dict("list") == {
        "host": ["h1", "h2", "other (2 hosts)"],
        "servers": [5, 3, 3],
        "share_pct": [45.5, 27.3, 27.3],
        "vcpus": [10, 6, 6],
    }
    assert folded["servers"].sum() == len(hosts) and folded.dtypes.equals(summary.dtypes)
    # one host left over is shown as itself, not as "other (1 host)"
    assert fold_summary(summary, "host", 3)["host"].tolist() == ["h1", "h2", "h3", "h4"]
    assert fold_summary(summary.head(1), "host", 1)["host"].tolist() == ["h1"]


def test_statuses_say_what_they_mean(session):
    # every status the sandbox's servers have, as a real region's do, is explained
    servers = session.list("servers", scope="system", refresh=True)
    assert set(servers["status"].dropna().astype(str)) <= set(STATUS_MEANINGS)
    assert status_meaning("ready").startswith("stopped")
    assert status_meaning("running") == "powered on"
    assert status_meaning("start_fail") == "failed to start (stays stopped)"
    assert status_meaning(None) is None and status_meaning("no-such") is None
    assert status_label("ready") == "ready (stopped)"
    assert status_label("sched_fail") == "sched_fail (no host found)"
    assert status_label("(none)") == "(none)" and status_label("weird") == "weird"
    assert all(len(status_label(s)) <= 40 for s in STATUS_MEANINGS)  # short enough for a tick


def test_a_commit_rate_reads_the_same_in_the_chart_and_the_table_and_agrees_with_its_colour():
    assert rate_text(10.53125) == "10.53×"
    assert rate_text(1.0, 1.0) == "1.00×"  # at the bound: within it
    assert rate_text(1.004, 1.0) == "1.004×"  # over it: never written as 1.00×
    assert rate_text(0.99999, 1.0) == "1.00×"  # within it, and reads so
    assert rate_text(8.0000001, 8) == "8.000000100×"
    assert rate_text(float("nan")) == rate_text(None) == rate_text(pd.NA) == ""
    for rate in np.linspace(0.99, 1.01, 41):
        text = rate_text(rate, 1.0)
        assert (float(text.rstrip("×")) > 1.0) == bool(over_committed([rate], [1.0])[0]), rate


def test_summary_table_stacks_the_groupings_with_their_readable_names():
    df = servers_frame()
    table = summary_table(df)
    assert list(table.columns) == ["by", "value", "servers", "share_pct", "vcpus", "memory_gib"]
    assert table["by"].unique().tolist() == ["status", "hypervisor", "cloud region"]  # no zone
    for column, label in (("status", "status"), ("cloudregion", "cloud region")):
        part = table[table["by"] == label].drop(columns="by").reset_index(drop=True)
        alone = summarize_servers(df, column).rename(columns={column: "value"})
        pd.testing.assert_frame_equal(part, alone)
    assert summary_table(df, by="hypervisor")["by"].unique().tolist() == ["hypervisor"]
    assert summary_table(pd.DataFrame()).empty
    with pytest.raises(MissingColumns, match="one of the columns"):
        summary_table(pd.DataFrame({"id": ["a"]}))


def test_the_summary_numbers_are_pinned():
    """Three kvm servers and one esxi: counts, shares, vCPUs and memory (GiB), by hypervisor."""
    df = pd.DataFrame(
        {
            "hypervisor": ["kvm", "kvm", "esxi", "kvm"],
            "vcpu_count": [2, 4, 8, 1],
            "vmem_size": [2048, 4096, 16384, 1024],
        }
    )
    table = summarize_servers(df, "hypervisor")
    assert table["hypervisor"].tolist() == ["kvm", "esxi"]
    assert table["servers"].tolist() == [3, 1]
    assert table["share_pct"].tolist() == [75.0, 25.0]
    assert table["vcpus"].tolist() == [7, 8]
    assert table["memory_gib"].tolist() == [7.0, 16.0]


# -- capacity ----------------------------------------------------------------------------------------
# host-0049 as a real region (Cloudpods v1.6.2) answered GET /hosts/<id>: 51 guests, 26 running
# with 337 vCPUs; cpu_commit counts the running ones only (IgnoreNonrunningGuests is true).
HOST_0049 = {
    "id": "50f0fd0a-750c-ab75-4ccc-9bc2a53f8a28",
    "name": "host-0049",
    "zone": "zone-east-1",
    "cpu_count": 32,
    "cpu_reserved": 0,
    "cpu_cmtbound": 8,
    "cpu_commit": 337,
    "cpu_commit_bound": 8,
    "cpu_commit_rate": 10.53125,
    "mem_size": 131072,
    "mem_reserved": 0,
    "mem_cmtbound": 1,
    "mem_commit": 964608,
    "mem_commit_bound": 1,
    "mem_commit_rate": 7.359375,
    "guests": 51,
    "running_guests": 26,
}


def host_0049_servers() -> pd.DataFrame:
    """51 servers on host-0049: 26 running (337 vCPUs, 964608 MiB), 25 not (231 vCPUs)."""
    running_cpu = [13] * 25 + [12]  # 337
    idle_cpu = [9] * 24 + [15]  # 231: all 51 would be 568 vCPUs
    return pd.DataFrame(
        {
            "host_id": HOST_0049["id"],
            "host": "host-0049",
            "status": ["running"] * 26 + ["ready"] * 15 + ["unknown"] * 10,
            "vcpu_count": running_cpu + idle_cpu,
            "vmem_size": [37100] * 25 + [37108] + [4096] * 25,  # running: 964608 MiB
        }
    )


def test_capacity_counts_running_servers_only_as_the_region_does():
    hosts = pd.DataFrame([{k: v for k, v in HOST_0049.items() if "commit" not in k}])
    servers = host_0049_servers()
    row = capacity_table(hosts, servers).iloc[0]
    assert row["running_servers"] == 26 and row["servers"] == 51
    assert row["cpu_commit"] == 337  # not 568: stopped servers hold no CPUs
    assert row["cpu_commit_rate"] == pytest.approx(10.53, abs=0.005)  # not 17.75
    assert row["cpu_commit_rate"] == 337 / 32  # unrounded, as the region reports it
    assert row["mem_commit_mib"] == 964608
    assert row["mem_commit_rate"] == 964608 / 131072
    assert row["commit_source"] == "servers"
    # over-committed: a rate above the bound (8 for CPUs, 1 for memory)
    assert row["cpu_over_committed"] and row["mem_over_committed"] and row["over_committed"]
    assert row["bound_used"] == pytest.approx(7.359375)  # memory: 7.36 ÷ 1 beats 10.53 ÷ 8


def test_capacity_takes_the_regions_own_figures_when_the_hosts_have_them():
    hosts = pd.DataFrame([HOST_0049])
    region = capacity_table(hosts).iloc[0]  # no servers needed
    summed = capacity_table(hosts, host_0049_servers(), source="servers").iloc[0]
    for column in ("cpu_commit", "cpu_commit_rate", "mem_commit_mib", "mem_commit_rate"):
        assert region[column] == summed[column], column
    assert region["commit_source"] == "host" and summed["commit_source"] == "servers"
    assert region["cpu_commit_rate"] == HOST_0049["cpu_commit_rate"]
    # the hosts' figures win over servers given too (a project's servers are not the host's)
    mine = capacity_table(hosts, host_0049_servers().head(3)).iloc[0]
    assert mine["cpu_commit"] == 337 and mine["running_servers"] == 26
    with pytest.raises(ValueError, match="source"):
        capacity_table(hosts, source="guess")
    with pytest.raises(ValueError, match="needs the servers"):
        capacity_table(hosts, source="servers")


def test_usable_capacity_and_bounds_follow_the_region():
    hosts = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "cpu_count": [32, 8, 16],
            "cpu_reserved": [2, 8, None],  # a reservation counts only when below the count
            "mem_size": [65536, 8192, 16384],
            "mem_reserved": [8192, 0, 16384],
            "cpu_cmtbound": [4.0, 0.0, None],  # 0 or missing: the region's default, 8
            "mem_cmtbound": [1.5, None, 2.0],
            "page_size_kb": [4, 4, 2048],  # huge pages: a memory bound of 1
        }
    )
    assert usable_cpus(hosts).tolist() == [30.0, 8.0, 16.0]
    assert usable_memory(hosts).tolist() == [57344.0, 8192.0, 16384.0]
    cpu, mem = commit_bounds(hosts)
    assert cpu.tolist() == [4.0, DEFAULT_CPU_COMMIT_BOUND, 8.0]
    assert mem.tolist() == [1.5, DEFAULT_MEM_COMMIT_BOUND, 1.0]
    assert (DEFAULT_CPU_COMMIT_BOUND, DEFAULT_MEM_COMMIT_BOUND) == (8.0, 1.0)
    # a reported bound wins over cmtbound
    cpu, _ = commit_bounds(hosts.assign(cpu_commit_bound=[16.0, None, None]))
    assert cpu.tolist() == [16.0, 8.0, 8.0]


def test_over_committed_is_a_rate_above_the_bound_and_nothing_else():
    assert over_committed([8.0, 8.01, 0.5, np.nan], [8, 8, 1, 1]).tolist() == [
        False,
        True,
        False,
        False,
    ]
    hosts = pd.DataFrame(
        {
            "id": ["i1", "i2", "i3"],
            "name": ["h1", "h2", "h3"],
            "cpu_count": [4, 4, 4],
            "mem_size": [4096, 4096, 4096],
            "cpu_commit": [32, 33, 40],  # 8.0×, 8.25×, 10×
            "mem_commit": [4096, 1024, 1024],  # 1.0×, 0.25×, 0.25×
            "cpu_commit_bound": [8.0, 8.0, 16.0],
        }
    )
    cap = capacity_table(hosts).set_index("host")
    assert cap["cpu_over_committed"].to_dict() == {"h2": True, "h1": False, "h3": False}
    assert cap["over_committed"].to_dict() == {"h2": True, "h1": False, "h3": False}
    # over-committed first, then by the share of the bound used (h1 uses all of its)
    assert list(cap.index) == ["h2", "h1", "h3"]
    assert cap.loc["h3", "bound_used"] == 10 / 16


def test_capacity_joins_by_host_id_then_by_host_name_and_counts_backup_hosts():
    hosts = hosts_frame()
    servers = pd.DataFrame(
        {
            "host_id": ["i1", "i1", None, "gone", "i3", "i3"],
            "host": ["h1", "h2", "h2", "h3", "nowhere", "h3"],  # h2 only where host_id is no help
            "backup_host_id": [None, None, None, None, None, "i2"],
            "status": ["running"] * 5 + ["running"],
            "vcpu_count": [4, 4, 2, 8, 1, 3],
            "vmem_size": [1024, 1024, 32768, 2048, 512, 256],
            "disk": [10, 20, 30, 40, None, 5],
        }
    )
    cap = capacity_table(hosts, servers).set_index("host")
    assert cap.loc[["h1", "h2", "h3"], "servers"].tolist() == [2, 1, 3]
    assert cap.loc[["h1", "h2", "h3"], "cpu_commit"].tolist() == [8, 5, 12]  # h2: + its backup
    assert cap.loc[["h1", "h2", "h3"], "mem_commit_mib"].tolist() == [2048, 33024, 2816]
    assert cap.loc[["h1", "h2", "h3"], "storage_used_mib"].tolist() == [30, 30, 45]
    assert cap.loc["h1", "cpu_commit_rate"] == 2.0
    assert cap.loc["h2", "mem_commit_rate"] == 33024 / 16384  # ÷ (mem_size − mem_reserved)
    assert pd.isna(cap.loc["h2", "storage_size_mib"]) and np.isnan(cap.loc["h2", "storage_ratio"])
    assert cap.loc[["h1", "h2", "h3"], "over_committed"].tolist() == [False, True, False]
    assert cap.attrs["unplaced_servers"] == 0  # "gone" and "nowhere" were found by their other key


def test_capacity_columns_say_what_they_count():
    cap = capacity_table(hosts_frame(), servers_frame().assign(host_id="i1"))
    assert [c for c in cap.columns if c not in ("zone", "cloudregion")] == list(CAPACITY_COLUMNS)
    assert list(cap["host"]) == ["h1", "h2", "h3"]  # h1 runs them all: over-committed
    assert cap.attrs["counted_status"] == COUNTED_STATUS == "running"
    assert "running servers" in cap.attrs["explanation"] == CAPACITY_EXPLANATION
    assert "commit bound" in CAPACITY_EXPLANATION
    assert cap["cpu_commit"].dtype == "int64" and cap["cpu_commit_rate"].dtype == "float64"
    assert cap["over_committed"].dtype == bool


def test_capacity_without_servers_with_none_running_and_with_missing_fields():
    hosts = hosts_frame()
    with pytest.raises(MissingColumns, match="'cpu_commit', 'mem_commit'"):
        capacity_table(hosts)
    own = capacity_table(
        hosts.assign(cpu_commit=[8, 2, None], mem_commit=[4096, 4096, None], guests=[3, 1, 0])
    )
    assert own.set_index("host").loc[["h1", "h2"], "cpu_commit"].tolist() == [8, 2]
    assert own["cpu_commit"].dtype == "Int64"  # h3 does not say
    sources = own.set_index("host")["commit_source"]
    assert sources.loc[["h1", "h2"]].tolist() == ["host", "host"] and pd.isna(sources["h3"])
    assert own.set_index("host")["servers"].tolist() == [3, 1, 0]
    idle = capacity_table(hosts, pd.DataFrame())  # no servers at all: nothing committed
    assert idle["cpu_commit"].tolist() == [0, 0, 0] and idle["servers"].tolist() == [0, 0, 0]
    assert not idle["over_committed"].any()
    with pytest.raises(MissingColumns, match="'vmem_size'"):
        capacity_table(hosts, servers_frame().drop(columns="vmem_size").assign(host="h1"))
    with pytest.raises(MissingColumns, match="'status'.*running servers only"):
        capacity_table(hosts, servers_frame().drop(columns="status").assign(host="h1"))
    # hosts that say little: no cpu_reserved, mem_reserved, bounds, storage, ids
    bare = capacity_table(pd.DataFrame({"name": ["h"], "cpu_count": [4]}), servers_frame())
    assert bare.loc[0, "cpu_usable"] == 4 and pd.isna(bare.loc[0, "mem_usable_mib"])
    assert bare.loc[0, "cpu_commit_bound"] == DEFAULT_CPU_COMMIT_BOUND
    with pytest.raises(MissingColumns, match="cpu_count"):
        capacity_table(pd.DataFrame({"id": ["h"], "name": ["h"]}))
    assert capacity_table(pd.DataFrame({"name": []})).empty


def test_unscheduled_servers_are_counted_apart_not_dropped():
    hosts = hosts_frame()
    servers = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "status": ["running", "sched_fail", "running", "init"],
            "host_id": ["i1", None, "elsewhere", None],
            "host": ["h1", None, "elsewhere", None],
            "zone": ["z1", None, "z9", None],
            "cloudregion": ["Default", None, "Default", None],
            "vcpu_count": [2, 4, 8, 1],
            "vmem_size": [1024] * 4,
        }
    )
    assert unscheduled(servers).tolist() == [False, True, False, True]
    cap = capacity_table(hosts, servers)
    assert cap["cpu_commit"].sum() == 2
    assert (cap.attrs["unplaced_servers"], cap.attrs["unscheduled_servers"]) == (3, 2)
    by_zone = summarize_servers(servers, "zone").set_index("zone")["servers"].to_dict()
    assert by_zone == {UNSCHEDULED_LABEL: 2, "z1": 1, "z9": 1}
    table = summary_table(servers)
    assert set(table.loc[table["by"] == "cloud region", "value"]) == {"Default", "(unscheduled)"}
    assert table.groupby("by")["servers"].sum().eq(4).all()  # every server in every grouping
    # records that leave the keys out altogether: no placement known, nothing placed
    sparse = servers.drop(columns=["host_id", "host", "zone", "cloudregion"])
    assert unscheduled(sparse).tolist() == [False] * 4
    cap = capacity_table(hosts, sparse)
    assert cap["cpu_commit"].sum() == 0 and cap.attrs["unplaced_servers"] == 4
    assert summary_table(sparse)["by"].unique().tolist() == ["status"]
    # a missing zone of a server that has a host is just missing
    placed = pd.DataFrame({"host": ["h1"], "zone": [None]})
    assert group_keys(placed, "zone").tolist() == [MISSING_LABEL]
    assert group_keys(pd.DataFrame({"status": [None]}), "status").tolist() == [MISSING_LABEL]


def test_all_na_and_nullable_columns_do_not_crash_the_summaries():
    servers = pd.DataFrame(
        {
            "status": pd.array([None, None], dtype="string"),
            "host_id": pd.Series([None, None], dtype=object),
            "host": pd.Series([None, None], dtype="category"),
            "zone": pd.Series([None, None], dtype=object),
            "cloudregion": pd.Series([None, None], dtype=object),
            "hypervisor": ["kvm", "kvm"],
            "vcpu_count": pd.array([None, 2], dtype="Int64"),
            "vmem_size": pd.array([None, None], dtype="Int64"),
        }
    )
    table = summary_table(servers)
    assert table.groupby("by")["servers"].sum().eq(2).all()
    assert "(unscheduled)" in set(table["value"]) and "(none)" in set(table["value"])
    cap = capacity_table(hosts_frame(), servers)
    assert cap["cpu_commit"].sum() == 0 and cap.attrs["unscheduled_servers"] == 2
    na_hosts = hosts_frame().assign(cpu_count=pd.array([None] * 3, dtype="Int64"))
    cap = capacity_table(na_hosts, servers_frame().assign(host_id="i1"))
    assert cap["cpu_commit_rate"].isna().all() and not cap["cpu_over_committed"].any()


def test_the_capacity_chart_draws_the_capacity_table():
    hosts = hosts_frame()
    servers = servers_frame().assign(host_id=["i1", "i1", "i2", "i2", "i3", None], host="h3")
    cap = capacity_table(hosts, servers)
    cpu_ax, mem_ax = plot_capacity(hosts, servers).axes
    try:
        names = [t.get_text() for t in cpu_ax.get_yticklabels()]
        assert names == cap["host"].tolist()  # the same rows in the same order
        drawn_cpu = [p.get_width() for p in cpu_ax.containers[1].patches]
        drawn_mem = [p.get_width() for p in mem_ax.containers[1].patches]
        assert drawn_cpu == cap["cpu_commit"].astype(float).tolist()
        assert drawn_mem == (cap["mem_commit_mib"] / 1024).tolist()
        labels = [t.get_text() for t in cpu_ax.texts]
        assert labels == [f"{r:.2f}×" for r in cap["cpu_commit_rate"]]
    finally:
        plt.close("all")


def test_capacity_on_the_sandbox_agrees_with_the_regions_commit_rates(session):
    hosts = session.list("hosts", scope="system")
    if "cpu_commit_bound" not in hosts.columns or hosts["cpu_commit_bound"].isna().all():
        pytest.skip("this sandbox's hosts do not carry the region's commit fields yet")
    servers = session.list("servers", scope="system")
    region = capacity_table(hosts).set_index("host_id")
    summed = capacity_table(hosts, servers, source="servers").set_index("host_id")
    summed = summed.loc[region.index]
    assert (summed["cpu_commit"] == region["cpu_commit"]).all()
    assert (summed["mem_commit_mib"] == region["mem_commit_mib"]).all()
    assert (summed["running_servers"] == region["running_servers"]).all()
    # the sandbox may round its rates to 2 places; the region does not
    assert np.allclose(summed["cpu_commit_rate"], region["cpu_commit_rate"], atol=0.006)
    assert np.allclose(summed["mem_commit_rate"], region["mem_commit_rate"], atol=0.006)
    mine = hosts.set_index("id").loc[region.index]
    assert (region["cpu_commit_rate"] == mine["cpu_commit_rate"].astype(float)).all()


# -- cells -------------------------------------------------------------------------------------------
def test_every_text_view_starts_from_the_same_cell_value():
    stamp = pd.Timestamp("2026-01-02 03:04:05", tz="Asia/Shanghai")
    for value, plain in (
        (["a", 1], '["a", 1]'),
        ({"k": None}, '{"k": null}'),
        (stamp, "2026-01-01T19:04:05Z"),
        (np.float64("nan"), None),
        (None, None),
        (pd.NaT, None),
        (np.datetime64("NaT"), None),
    ):
        assert files.cell_value(value) == plain
        assert _cell(value, None) == (plain or "")
        assert markup._cell_text(value) == (plain or "")
    # what each view adds stays its own
    assert files.to_csv(pd.DataFrame({"n": ["=1+1"]})).splitlines()[1] == '"\'=1+1"'
    assert _cell("a\nb\x1b", None) == "a\\nb\\x1b"
    assert markup._cell_text(1234567) == "1,234,567" and _cell(1234567) == "1234567"
    assert markup._cell_text(2.25) == "2.2" and _cell(2.25) == "2.25"


# -- capacity with the inputs a region really has ---------------------------------------------------
def _host(**fields) -> dict:
    base = {"id": "h1", "name": "host-a", "cpu_count": 32, "mem_size": 65536, "cpu_cmtbound": 8}
    return {**base, **fields}


def test_reserved_cpus_are_left_out_of_the_rate():
    """200 vCPUs on 32 CPUs with 8 reserved: 200 / 24 = 8.33, over a bound of 8 (not 6.25)."""
    servers = pd.DataFrame(
        {"host_id": ["h1"], "status": ["running"], "vcpu_count": [200], "vmem_size": [1024]}
    )
    cap = capacity_table(pd.DataFrame([_host(cpu_reserved=8)]), servers).iloc[0]
    assert cap["cpu_usable"] == 24
    assert cap["cpu_commit_rate"] == pytest.approx(200 / 24)
    assert bool(cap["cpu_over_committed"]) and bool(cap["over_committed"])
    cap = capacity_table(pd.DataFrame([_host(cpu_reserved=0)]), servers).iloc[0]
    assert cap["cpu_commit_rate"] == pytest.approx(6.25) and not cap["cpu_over_committed"]


def test_reserved_memory_is_left_out_of_the_rate():
    servers = pd.DataFrame(
        {"host_id": ["h1"], "status": ["running"], "vcpu_count": [1], "vmem_size": [40000]}
    )
    host = _host(mem_size=65536, mem_reserved=32768, mem_cmtbound=1)
    cap = capacity_table(pd.DataFrame([host]), servers).iloc[0]
    assert cap["mem_usable_mib"] == 32768
    assert cap["mem_commit_rate"] == pytest.approx(40000 / 32768)
    assert bool(cap["mem_over_committed"])


def test_the_rates_a_host_reports_win_over_commit_over_usable():
    """The region's own figures are the truth, even where they are not commit ÷ usable."""
    host = _host(cpu_commit=200, mem_commit=1024, cpu_commit_rate=9.0, mem_commit_rate=0.5)
    cap = capacity_table(pd.DataFrame([host])).iloc[0]
    assert (cap["cpu_commit_rate"], cap["commit_source"]) == (9.0, "host")
    assert bool(cap["cpu_over_committed"])  # 9.0 > 8, though 200 / 32 = 6.25 is not


def test_a_pending_deleted_running_guest_counts_as_the_region_counts_it():
    """cloudpods-api.md §10: cpu_commit keeps it (626 with it), running_guests does not (29)."""
    host = _host(
        cpu_commit=626,
        mem_commit=1024,
        cpu_commit_rate=626 / 32,
        mem_commit_rate=0.02,
        running_guests=29,
        guests=59,
        pending_deleted_guests=3,
    )
    listed = pd.DataFrame(  # the list hides pending-deleted servers: they cannot be summed
        {"host_id": ["h1"] * 2, "status": ["running"] * 2, "vcpu_count": [300, 309]}
        | {"vmem_size": [512, 512]}
    )
    cap = capacity_table(pd.DataFrame([host]), listed).iloc[0]
    assert (cap["cpu_commit"], cap["running_servers"], cap["servers"]) == (626, 29, 59)
    summed = capacity_table(pd.DataFrame([host]), listed, source="servers").iloc[0]
    assert summed["cpu_commit"] == 609 and summed["commit_source"] == "servers"


def test_an_offline_host_keeps_its_figures_and_says_it_is_offline():
    hosts = pd.DataFrame(
        [
            _host(id="h1", name="a", host_status="offline", status="running", enabled=False),
            _host(id="h2", name="b", host_status="online", status="running", enabled=True),
        ]
    )
    servers = pd.DataFrame(
        {
            "host_id": ["h1", "h2", "h2"],
            "status": ["running", "running", "ready"],
            "vcpu_count": [300, 16, 64],
            "vmem_size": [1024, 1024, 1024],
        }
    )
    cap = capacity_table(hosts, servers).set_index("host")
    assert cap.loc["a", "cpu_commit"] == 300 and bool(cap.loc["a", "over_committed"])
    assert cap.loc["b", "cpu_commit"] == 16 and not cap.loc["b", "over_committed"]
    assert cap.loc["a", "enabled"] == False  # noqa: E712 - a numpy bool
    assert list(cap.index) == ["a", "b"]  # the over-committed host first
