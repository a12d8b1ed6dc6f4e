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
from cpexplore import reports, widgets  # noqa: E402
from cpexplore.cli import _cell  # noqa: E402
from cpexplore.errors import MissingColumns  # noqa: E402
from cpexplore.plots import plot_capacity  # noqa: E402
from cpexplore.summaries import (  # noqa: E402
    MISSING_LABEL,
    capacity_table,
    column_label,
    group_labels,
    require_columns,
    summarize_servers,
    summary_table,
)


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


def test_the_widget_and_the_report_summaries_are_the_same_numbers():
    df = servers_frame()
    shown = widgets.summarize_servers(df, "hypervisor")
    stored = reports.summary_table(df)
    stored = stored[stored["by"] == "hypervisor"].drop(columns="by").reset_index(drop=True)
    pd.testing.assert_frame_equal(shown.rename(columns={"hypervisor": "value"}), stored)


# -- capacity ----------------------------------------------------------------------------------------
def test_capacity_joins_by_host_id_then_by_host_name():
    hosts = hosts_frame()
    servers = pd.DataFrame(
        {
            "host_id": ["i1", "i1", None, "gone", "i3"],
            "host": ["h1", "h2", "h2", "h3", "nowhere"],  # h2 only where host_id is no help
            "vcpu_count": [4, 4, 2, 8, 1],
            "vmem_size": [1024, 1024, 32768, 2048, 512],
            "disk": [10, 20, 30, 40, None],
        }
    )
    cap = capacity_table(hosts, servers).set_index("host")
    assert cap.loc[["h1", "h2", "h3"], "servers"].tolist() == [2, 1, 2]
    assert cap.loc[["h1", "h2", "h3"], "vcpu_allocated"].tolist() == [8, 2, 9]
    assert cap.loc[["h1", "h2", "h3"], "memory_allocated_mib"].tolist() == [2048, 32768, 2560]
    assert cap.loc[["h1", "h2", "h3"], "storage_allocated_mib"].tolist() == [30, 30, 40]
    assert cap.loc["h1", "vcpu_ratio"] == 2.0
    assert cap.loc["h2", "memory_ratio"] == 2.0  # ÷ (mem_size − mem_reserved)
    assert pd.isna(cap.loc["h2", "storage_physical_mib"]) and np.isnan(
        cap.loc["h2", "storage_ratio"]
    )
    assert cap.loc[["h1", "h2", "h3"], "over_limit"].tolist() == [False, True, False]


def test_capacity_columns_name_their_units():
    cap = capacity_table(hosts_frame(), servers_frame().assign(host_id="i1"))
    assert [c for c in cap.columns if "memory" in c or "storage" in c] == [
        "memory_allocated_mib",
        "memory_physical_mib",
        "memory_reserved_mib",
        "memory_ratio",
        "storage_allocated_mib",
        "storage_physical_mib",
        "storage_ratio",
        "memory_limit",
    ]
    assert list(cap["host"]) == ["h1", "h2", "h3"]  # by vCPU ratio: h1 has them all


def test_capacity_without_servers_and_with_none_running():
    hosts = hosts_frame()
    with pytest.raises(MissingColumns, match="'cpu_commit', 'mem_commit'"):
        capacity_table(hosts)
    own = capacity_table(hosts.assign(cpu_commit=[8, 2, None], mem_commit=4096, guests=[3, 1, 0]))
    assert own.set_index("host").loc[["h1", "h2"], "vcpu_allocated"].tolist() == [8, 2]
    assert own["vcpu_allocated"].dtype == "Int64"  # h3 does not say
    assert own["servers"].tolist() == [3, 1, 0]
    idle = capacity_table(hosts, pd.DataFrame())  # no servers at all: nothing allocated
    assert idle["vcpu_allocated"].tolist() == [0, 0, 0] and idle["servers"].tolist() == [0, 0, 0]
    with pytest.raises(MissingColumns, match="one of the columns 'host_id', 'host'"):
        capacity_table(hosts, servers_frame().drop(columns="id"))
    with pytest.raises(MissingColumns, match="'vmem_size'"):
        capacity_table(hosts, servers_frame().drop(columns="vmem_size").assign(host="h1"))


def test_the_capacity_chart_draws_the_capacity_table():
    hosts = hosts_frame()
    servers = servers_frame().assign(host_id=["i1", "i1", "i2", "i2", "i3", None], host="h3")
    cap = capacity_table(hosts, servers).set_index("host")
    cpu_ax, mem_ax = plot_capacity(hosts, servers)
    try:
        names = [t.get_text() for t in cpu_ax.get_yticklabels()]
        drawn_cpu = [p.get_width() for p in cpu_ax.containers[1].patches]
        drawn_mem = [p.get_width() for p in mem_ax.containers[1].patches]
        assert drawn_cpu == cap.loc[names, "vcpu_allocated"].astype(float).tolist()
        assert drawn_mem == (cap.loc[names, "memory_allocated_mib"] / 1024).tolist()
    finally:
        plt.close("all")


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
        assert reports.cell_value(value) == plain
        assert _cell(value, None) == (plain or "")
        assert widgets._cell_text(value) == (plain or "")
    # what each view adds stays its own
    assert reports.csv_text(pd.DataFrame({"n": ["=1+1"]})).splitlines()[1] == '"\'=1+1"'
    assert _cell("a\nb\x1b", None) == "a\\nb\\x1b"
    assert widgets._cell_text(1234567) == "1,234,567" and _cell(1234567) == "1234567"
    assert widgets._cell_text(2.25) == "2.2" and _cell(2.25) == "2.25"
