"""``cpexplore.plots`` draws what the data says: bar lengths, labels, colours, titles.

Small hand-made frames pin exact numbers; the shared sandbox checks the plots on the
frames a Session really returns.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cpexplore.errors import ConfigError, CpExploreError, MissingColumns  # noqa: E402
from cpexplore.plots import (  # noqa: E402
    OTHER_COLOR,
    PALETTE,
    inventory_counts,
    plot_capacity,
    plot_capacity_table,
    plot_endpoints,
    plot_inventory,
    plot_timeline,
)
from cpexplore.summaries import capacity_table  # noqa: E402

_OVER = "#D55E00"  # vermillion, the over-committed colour


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def bars(ax) -> list[tuple[str, float]]:
    """(y tick label, total bar length) per bar, top to bottom, for horizontal bar charts."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    totals: dict[float, float] = {}
    for p in ax.patches:
        y = round(p.get_y() + p.get_height() / 2, 6)
        totals[y] = totals.get(y, 0.0) + p.get_width()
    ticks = [round(float(t), 6) for t in ax.get_yticks()]
    return [(label, totals.get(y, 0.0)) for label, y in zip(labels, ticks, strict=True)]


def value_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def servers_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status": ["running"] * 5 + ["ready"] * 3 + ["stopped", None],
            "hypervisor": ["kvm", "kvm", "kvm", "esxi", "esxi", "kvm", "aws", "aws", "kvm", "kvm"],
            "vcpu_count": [2, 4, 8, 1, 1, 2, 2, 2, 16, 4],
        }
    ).astype({"status": "category", "hypervisor": "category"})


# --------------------------------------------------------------------- plot_inventory


def test_inventory_bars_are_counts_largest_first_with_value_labels():
    df = servers_frame()
    ax = plot_inventory(df, by="status")
    # statuses say what they mean; a value Cloudpods does not use stays as it is
    assert bars(ax) == [
        ("running (powered on)", 5),
        ("ready (stopped)", 3),
        ("(none)", 1),
        ("stopped", 1),
    ]
    assert value_labels(ax) == ["5", "3", "1", "1"]
    assert ax.get_title() == "Servers by status (10)"
    assert ax.get_xlabel() == "servers (count)"
    assert ax.get_ylabel() == "status"
    assert {to_hex(p.get_facecolor()) for p in ax.patches} == {PALETTE[0].lower()}


def test_inventory_sums_the_long_tail_on_a_separate_line_not_as_a_bar():
    hosts = [f"host-{i:02d}" for i in range(25) for _ in range(30 - i)]
    df = pd.DataFrame({"host": hosts})
    ax = plot_inventory(df, by="host", top=20)
    drawn = bars(ax)
    assert len(drawn) == 21
    assert drawn[0] == ("host-00", 30)
    assert drawn[19] == ("host-19", 11)
    tail = sum(30 - i for i in range(20, 25))
    # the 5 other hosts are one line below the bars, with their total written, no bar
    assert drawn[20] == ("other (5 hosts)", 0.0)
    assert len(ax.patches) == 20 and sum(w for _, w in drawn) == len(df) - tail
    assert value_labels(ax)[:20] == [str(30 - i) for i in range(20)]
    assert (
        value_labels(ax)[-1].strip().startswith(f"{tail} servers ({100 * tail / len(df):.1f}% of")
    )
    assert ax.get_xlim()[1] < 30 * 1.2  # the axis is scaled to the bars, not to the tail
    other_tick = ax.get_yticklabels()[-1]
    assert other_tick.get_fontstyle() == "italic"
    assert [line.get_linestyle() for line in ax.lines] == ["--"]  # the rule above "other"
    assert inventory_counts(df, by="host", top=20).loc["other (5 hosts)", "count"] == tail


def test_inventory_never_folds_a_lone_remainder():
    df = pd.DataFrame({"host": ["a"] * 3 + ["b"] * 2 + ["c"]})
    assert [label for label, _ in bars(plot_inventory(df, by="host", top=2))] == ["a", "b", "c"]
    assert inventory_counts(df, by="host", top=2).index.tolist() == ["a", "b", "c"]
    assert inventory_counts(df, by="host", top=1).index.tolist() == ["a", "other (2 hosts)"]
    # a filter that leaves one host shows that host, even with top=1
    one = df[df["host"] == "c"]
    assert bars(plot_inventory(one, by="host", top=1)) == [("c", 1)]


def test_inventory_hue_splits_each_bar_into_segments():
    df = servers_frame()
    ax = plot_inventory(df, by="hypervisor", hue="status")
    assert bars(ax) == [("kvm", 6), ("aws", 2), ("esxi", 2)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["running (powered on)", "ready (stopped)", "(none)", "stopped"]
    assert ax.get_legend().get_title().get_text() == "status"
    counts = inventory_counts(df, by="hypervisor", hue="status")
    assert counts.loc["kvm"].to_dict() == {"running": 3, "ready": 1, "(none)": 1, "stopped": 1}
    # the running segment of kvm is 3 long and blue
    running = [p for p in ax.containers[0].patches]
    assert [p.get_width() for p in running] == [3, 0, 2]
    assert to_hex(running[0].get_facecolor()) == PALETTE[0].lower()
    assert value_labels(ax) == ["6", "2", "2"]


def test_inventory_hue_with_many_values_folds_segments_into_other():
    df = pd.DataFrame({"zone": ["z"] * 10, "status": [f"s{i}" for i in range(10)]})
    ax = plot_inventory(df, by="zone", hue="status")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == len(PALETTE)
    assert legend[-1] == "other"
    assert bars(ax) == [("z", 10)]


def test_inventory_missing_column_is_a_clear_error():
    with pytest.raises(MissingColumns) as e:
        plot_inventory(pd.DataFrame({"name": ["a"]}), by="hypervisor")
    assert "'hypervisor'" in str(e.value) and "name" in str(e.value)
    assert isinstance(e.value, CpExploreError) and isinstance(e.value, ValueError)
    with pytest.raises(MissingColumns, match="'status'"):
        plot_inventory(servers_frame().drop(columns="status"), by="hypervisor", hue="status")


def test_inventory_of_nothing_says_so():
    ax = plot_inventory(servers_frame().iloc[0:0], by="status")
    assert len(ax.patches) == 0
    assert value_labels(ax) == ["no servers match"]


def test_inventory_does_not_modify_its_input_and_draws_on_a_given_axes():
    df = servers_frame()
    before = df.copy()
    fig, ax = plt.subplots()
    assert plot_inventory(df, by="status", ax=ax, title="mine") is ax
    assert ax.get_title() == "mine"
    pd.testing.assert_frame_equal(df, before)


def test_inventory_figure_grows_with_the_bars():
    df = pd.DataFrame({"host": [f"h{i}" for i in range(40)]})
    small = plot_inventory(df, by="host", top=3).figure.get_size_inches()[1]
    large = plot_inventory(df, by="host", top=30).figure.get_size_inches()[1]
    assert large > small


def test_inventory_rejects_a_bad_top():
    with pytest.raises(ConfigError, match="top"):
        plot_inventory(servers_frame(), top=0)
    hosts, servers = capacity_frames()
    with pytest.raises(ConfigError, match="top must be a whole number"):
        plot_capacity(hosts, servers, top=2.5)


def test_inventory_on_sandbox_servers(session, sandbox):
    servers = session.list("servers", scope="system")
    ax = plot_inventory(servers, by="hypervisor")
    expected = servers["hypervisor"].astype(str).value_counts()
    assert dict(bars(ax)) == expected.to_dict()
    assert [label for label, _ in bars(ax)] == list(expected.index)
    assert sum(w for _, w in bars(ax)) == sandbox.count("servers")


# --------------------------------------------------------------------- plot_endpoints


def test_endpoints_count_per_service_type_split_by_interface(session):
    catalog = session.catalog
    ax = plot_endpoints(catalog)
    expected = catalog["service_type"].value_counts()
    assert dict(bars(ax)) == expected.to_dict()
    assert bars(ax)[0][0] == expected.index[0]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == set(catalog["interface"])
    assert ax.get_title() == f"Catalog endpoints by service type and interface ({len(catalog)})"
    assert ax.get_xlabel() == "endpoints (count)"


def test_endpoints_by_region_without_hue():
    catalog = pd.DataFrame(
        {
            "region_id": ["r0", "r0", "r1"],
            "interface": ["public", "internal", "public"],
            "service_type": ["compute_v2", "compute_v2", "compute_v2"],
        }
    )
    ax = plot_endpoints(catalog, by="region_id", hue=None)
    assert bars(ax) == [("r0", 2), ("r1", 1)]
    assert ax.get_legend() is None
    assert ax.get_ylabel() == "catalog region"
    with pytest.raises(MissingColumns, match="'service_name'"):
        plot_endpoints(catalog, by="service_name")


def test_endpoints_of_an_empty_catalog():
    ax = plot_endpoints(pd.DataFrame({"service_type": [], "interface": []}))
    assert len(ax.patches) == 0 and value_labels(ax) == ["no endpoints match"]


# --------------------------------------------------------------------- plot_capacity


def capacity_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    hosts = pd.DataFrame(
        {
            "id": ["i1", "i2", "i3"],
            "name": ["h1", "h2", "h3"],
            "cpu_count": [4, 8, 16],
            "cpu_cmtbound": [2.0, 8.0, 8.0],
            "mem_size": [8192, 17408, 32768],
            "mem_reserved": [0, 1024, 0],
            "cpu_commit": [12, 2, 0],
            "mem_commit": [4096, 32768, 0],
        }
    )
    servers = pd.DataFrame(
        {
            "host_id": ["i1", "i1", "i1", "i2", "i2"],
            "host": ["h1", "h1", "h1", "h2", "h2"],
            "status": ["running", "running", "running", "running", "ready"],
            "vcpu_count": [4, 4, 4, 2, 64],
            "vmem_size": [1024, 1024, 2048, 32768, 65536],
        }
    )
    return hosts, servers


def test_capacity_draws_usable_committed_and_the_bound_with_overcommit_coloured():
    hosts, servers = capacity_frames()
    cpu_ax, mem_ax = plot_capacity(hosts, servers, source="servers").axes
    # over-committed first, the host using most of its bound on top: h2 (memory 2.0 of 1),
    # h1 (CPU 3.0 of 2), then h3 (idle)
    assert [t.get_text() for t in cpu_ax.get_yticklabels()] == ["h2", "h1", "h3"]
    usable = [p.get_width() for p in cpu_ax.containers[0].patches]
    committed = [p.get_width() for p in cpu_ax.containers[1].patches]
    assert usable == [8, 4, 16] and committed == [2, 12, 0]  # the stopped 64-vCPU VM holds none
    colours = [to_hex(p.get_facecolor()) for p in cpu_ax.containers[1].patches]
    assert colours == [PALETTE[0].lower(), "#d55e00", PALETTE[0].lower()]
    assert value_labels(cpu_ax) == ["0.25×", "3.00×", "0.00×"]
    assert {t.get_zorder() for t in cpu_ax.texts} == {4}  # above the bound ticks they cross
    bound_ticks = cpu_ax.collections[0].get_offsets()[:, 0].tolist()
    assert bound_ticks == [64.0, 8.0, 128.0]  # usable × bound
    mem_usable = [p.get_width() for p in mem_ax.containers[0].patches]
    mem_committed = [p.get_width() for p in mem_ax.containers[1].patches]
    assert mem_usable == [16.0, 8.0, 32.0]  # GiB, less mem_reserved
    assert mem_committed == [32.0, 4.0, 0.0]
    assert value_labels(mem_ax) == ["2.00×", "0.50×", "0.00×"]
    mem_colours = [to_hex(p.get_facecolor()) for p in mem_ax.containers[1].patches]
    assert mem_colours == ["#d55e00", PALETTE[0].lower(), PALETTE[0].lower()]
    assert cpu_ax.get_title() == "vCPUs" and mem_ax.get_title() == "Memory (GiB)"
    assert mem_ax.get_xlabel() == "GiB"
    figure = cpu_ax.figure
    assert "3 hosts" in figure.get_suptitle() and "2 over-committed" in figure.get_suptitle()
    assert "running servers" in figure.get_supxlabel() and "commit bound" in figure.get_supxlabel()


def test_capacity_legend_names_each_swatch_itself_without_a_misleading_title():
    hosts, servers = capacity_frames()
    _cpu_ax, mem_ax = plot_capacity(hosts, servers).axes
    legend = mem_ax.get_legend()
    assert legend.get_title().get_text() == ""  # no heading sitting above the usable swatch
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == [
        "usable: CPUs, memory less reserved",
        "committed to running servers",
        "committed, over the bound",
        "commit bound (usable × bound)",
        "1.50× at a bar: commit rate",
    ]
    swatches = [to_hex(h.get_facecolor()) for h in legend.legend_handles[:3]]
    assert swatches == [OTHER_COLOR.lower(), PALETTE[0].lower(), _OVER.lower()]


def test_capacity_bars_at_the_bound_follow_one_colour_rule_and_their_labels_agree():
    # memory bound 1: exactly 1.0 is within it, 1.004 is over and must not read "1.00×"
    hosts = pd.DataFrame(
        {
            "id": ["i1", "i2"],
            "name": ["at", "just-over"],
            "cpu_count": [10, 10],
            "mem_size": [1000, 1000],
            "cpu_commit": [10, 10],
            "mem_commit": [1000, 1004],
            "mem_cmtbound": [1.0, 1.0],
        }
    )
    table = capacity_table(hosts)
    cpu_ax, mem_ax = plot_capacity_table(table).axes
    names = [t.get_text() for t in cpu_ax.get_yticklabels()]  # the panels share the host axis
    assert names == table["host"].tolist() == ["just-over", "at"]
    colours = [to_hex(p.get_facecolor()) for p in mem_ax.containers[1].patches]
    assert colours == [_OVER.lower(), PALETTE[0].lower()]
    assert value_labels(mem_ax) == ["1.004×", "1.00×"]
    # both CPU bars are at 1.00× of a bound of 8: the same colour
    cpu_colours = {to_hex(p.get_facecolor()) for p in cpu_ax.containers[1].patches}
    assert cpu_colours == {PALETTE[0].lower()} and value_labels(cpu_ax) == ["1.00×", "1.00×"]


def test_capacity_chart_and_table_agree_on_which_hosts_are_over_committed():
    hosts, servers = capacity_frames()
    hosts = hosts.assign(cpu_commit=[12, 2, 130], mem_commit=[4096, 16384, 0])  # h3: 8.125 > 8
    table = capacity_table(hosts, servers)
    cpu_ax, mem_ax = plot_capacity(hosts, servers).axes
    names = [t.get_text() for t in cpu_ax.get_yticklabels()]
    assert names == table["host"].tolist()
    vermillion = to_hex(_OVER)
    drawn_over = {
        name: (
            to_hex(c.get_facecolor()) == vermillion,
            to_hex(m.get_facecolor()) == vermillion,
        )
        for name, c, m in zip(
            names, cpu_ax.containers[1].patches, mem_ax.containers[1].patches, strict=True
        )
    }
    in_table = {r.host: (r.cpu_over_committed, r.mem_over_committed) for r in table.itertuples()}
    assert (
        drawn_over == in_table == {"h1": (True, False), "h3": (True, False), "h2": (False, False)}
    )
    assert f"{int(table['over_committed'].sum())} over-committed" in cpu_ax.figure.get_suptitle()
    # drawing a table draws exactly that table
    a, b = plot_capacity_table(table, top=2).axes
    assert [t.get_text() for t in a.get_yticklabels()] == names[:2]


def test_capacity_from_host_commit_columns_and_top():
    hosts, _ = capacity_frames()
    cpu_ax, _mem = plot_capacity(hosts, top=1).axes
    assert [t.get_text() for t in cpu_ax.get_yticklabels()] == ["h2"]
    assert [p.get_width() for p in cpu_ax.containers[1].patches] == [2]
    assert "top 1 of 3 hosts" in cpu_ax.figure.get_suptitle()


def test_capacity_needs_some_capacity_and_owns_its_figure():
    hosts, servers = capacity_frames()
    with pytest.raises(MissingColumns, match="'cpu_count', 'mem_size'"):
        plot_capacity(hosts.drop(columns=["cpu_count", "mem_size"]), servers)
    with pytest.raises(MissingColumns, match="cpu_commit"):
        plot_capacity(hosts.drop(columns=["cpu_commit"]))
    with pytest.raises(MissingColumns, match="vmem_size"):
        plot_capacity(hosts, servers.drop(columns="vmem_size"), source="servers")
    with pytest.raises(MissingColumns, match="capacity_table"):
        plot_capacity_table(hosts)
    # figure-level: it owns its figure, two panels, and returns it
    fig, ax = plt.subplots()
    with pytest.raises(TypeError, match="ax"):
        plot_capacity(hosts, servers, ax=[ax])
    figures = plt.get_fignums()
    drawn = plot_capacity(hosts, servers, pyplot=False)
    assert isinstance(drawn, Figure) and len(drawn.axes) == 2
    assert plt.get_fignums() == figures  # pyplot=False: not tracked by pyplot


def test_capacity_of_sparse_frames_draws_and_says_what_was_not_counted():
    hosts, _ = capacity_frames()
    bare = hosts.drop(columns=["cpu_commit", "mem_commit", "mem_reserved", "cpu_cmtbound", "id"])
    servers = pd.DataFrame(
        {
            "host": ["h1", None, None],
            "zone": ["z", None, None],
            "status": ["running", "sched_fail", "running"],
            "vcpu_count": [2, 4, 8],
            "vmem_size": pd.array([1024, None, 2048], dtype="Int64"),
        }
    )
    cpu_ax, _ = plot_capacity(bare, servers).axes
    assert [p.get_width() for p in cpu_ax.containers[1].patches] == [2, 0, 0]
    assert "2 servers on no host listed here (2 unscheduled)" in cpu_ax.figure.get_supxlabel()
    empty_ax, _ = plot_capacity(bare.iloc[0:0], servers).axes
    assert value_labels(empty_ax) == ["no hosts"]


def test_capacity_on_sandbox_agrees_with_the_hosts_commit(session):
    hosts = session.list("hosts", scope="system")
    servers = session.list("servers", scope="system")
    cpu_ax, _ = plot_capacity(hosts, servers, top=len(hosts)).axes
    names = [t.get_text() for t in cpu_ax.get_yticklabels()]
    allocated = dict(zip(names, (p.get_width() for p in cpu_ax.containers[1].patches), strict=True))
    commit = dict(zip(hosts["name"], hosts["cpu_commit"], strict=True))
    assert allocated == {n: commit[n] for n in names}
    table = capacity_table(hosts, servers)  # the chart's rows are the table's, in its order
    for drawn, host in zip(names, table["host"], strict=True):
        assert drawn == host or (len(host) > 28 and "…" in drawn)


# --------------------------------------------------------------------- plot_timeline


def timeline_bars(ax) -> list[tuple[int, float, bool]]:
    """(x, height, drawn as partial) per bar, left to right."""
    out = [
        (round(p.get_x() + p.get_width() / 2), p.get_height(), p.get_hatch() is not None)
        for p in ax.patches
    ]
    return sorted(out)


def test_timeline_counts_per_month_with_empty_months():
    df = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2024-01-03T10:00:00Z", "2024-01-31T23:59:59Z", "2024-03-01T00:00:00Z"], utc=True
            )
        }
    )
    ax = plot_timeline(df, until="2024-03-31T12:00:00Z")
    assert [h for _, h, _ in timeline_bars(ax)] == [2, 0, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert ax.get_title() == "Servers created per month (3)"
    assert ax.get_ylabel() == "servers created (per month)"
    assert ax.get_xlabel() == "month created (UTC)"


def test_timeline_weeks_have_short_labels_and_partial_weeks_are_marked():
    stamps = ["2026-11-04T08:00:00Z", "2026-11-05T09:00:00Z", "2026-11-10T10:00:00Z"]
    stamps += ["2026-11-17T00:00:00Z", "2026-12-29T00:00:00Z", "2027-01-05T00:00:00Z"]
    df = pd.DataFrame({"created_at": pd.to_datetime(stamps, utc=True)})
    ax = plot_timeline(df, freq="W", until="2027-01-06T12:00:00Z")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    # each week by its Monday, the year under the first tick and where it changes
    assert labels[:3] == ["Nov 02\n2026", "Nov 09", "Nov 16"]
    assert labels[-1] == "Jan 04\n2027"
    assert all(len(line) <= 6 for text in labels for line in text.split("\n")[:1])
    drawn = timeline_bars(ax)
    assert [h for _, h, _ in drawn][:3] == [2, 1, 1] and sum(h for _, h, _ in drawn) == 6
    # the data starts on a Wednesday and ends on a Wednesday: both ends are partial
    partial = [x for x, _, p in drawn if p]
    assert partial == [0, len(drawn) - 1]
    assert all(p.get_alpha() < 1 for p in ax.patches if p.get_hatch())
    note = [t.get_text() for t in ax.get_legend().get_texts()]
    assert note == ["partial week: the data runs from Nov 04 2026 to Jan 06 2027"]
    # weeks the data covers in full are not marked
    full = pd.DataFrame({"created_at": pd.to_datetime(["2026-11-02T00:00:00Z"], utc=True)})
    ax = plot_timeline(full, freq="W", until="2026-11-08T23:00:00Z")
    assert timeline_bars(ax) == [(0, 1, False)] and ax.get_legend() is None


def test_timeline_runs_to_when_the_list_was_fetched():
    from cpexplore.lists.info import ListInfo, with_info

    df = pd.DataFrame({"created_at": pd.to_datetime(["2026-10-01T00:00:00Z"], utc=True)})
    fetched = pd.Timestamp("2026-11-28T23:00:00Z").to_pydatetime()
    with_info(df, ListInfo("servers", "region0", "public", "u", fetched))
    ax = plot_timeline(df, freq="M")
    # October, and November so far: drawn, empty and marked partial
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-10", "2026-11"]
    assert timeline_bars(ax) == [(0, 1, False), (1, 0, True)]


def test_timeline_quarters_and_thinned_ticks(session):
    servers = session.list("servers", scope="system")
    ax = plot_timeline(servers, freq="Q")
    assert sum(p.get_height() for p in ax.patches) == len(servers)
    weekly = plot_timeline(servers, freq="W")
    assert all(len(t.get_text().split("\n")[0]) == 6 for t in weekly.get_xticklabels())
    assert all(t.get_text()[4] == "Q" for t in ax.get_xticklabels())
    monthly = plot_timeline(servers, freq="ME")
    assert len(monthly.patches) > 12
    assert len(monthly.get_xticklabels()) <= 12


def test_timeline_errors_and_empty():
    with pytest.raises(MissingColumns, match="created_at"):
        plot_timeline(pd.DataFrame({"name": ["a"]}))
    with pytest.raises(ValueError, match="unknown freq"):
        plot_timeline(pd.DataFrame({"created_at": ["2024-01-01T00:00:00Z"]}), freq="fortnight")
    ax = plot_timeline(pd.DataFrame({"created_at": pd.Series([], dtype="datetime64[ns, UTC]")}))
    assert len(ax.patches) == 0 and value_labels(ax) == ["no creation times to plot"]


def test_palette_is_the_okabe_ito_set():
    assert PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")
    assert len(set(PALETTE)) == len(PALETTE)
    assert np.all([c.startswith("#") for c in PALETTE])


def test_each_plot_is_axes_level_or_figure_level_with_keywords_after_the_data():
    import inspect

    import cpexplore.plots as plots

    axes_level = {"plot_endpoints", "plot_inventory", "plot_timeline"}
    figure_level = {"plot_capacity", "plot_capacity_table"}
    assert {n for n in plots.__all__ if n.startswith("plot_")} == axes_level | figure_level
    for name in plots.__all__:
        if not inspect.isfunction(getattr(plots, name)):
            continue
        params = list(inspect.signature(getattr(plots, name)).parameters.values())
        data = 2 if name == "plot_capacity" else 1  # hosts and servers
        assert all(p.kind is p.KEYWORD_ONLY for p in params[data:]), name
        names = [p.name for p in params]
        assert ("ax" in names) == (name in axes_level), name
        assert ("pyplot" in names) == (name in figure_level or name == "new_figure"), name
        assert "stack" not in names, name  # a column colouring the bars is hue=
    servers = servers_frame()
    assert isinstance(plot_inventory(servers, by="status"), plt.Axes)
    hosts, servers = capacity_frames()
    assert isinstance(plot_capacity(hosts, servers), Figure)


def test_one_height_rule_sizes_every_figure():
    from cpexplore.plots import new_figure

    df = pd.DataFrame({"host": [f"h{i}" for i in range(12)]})
    drawn = plot_inventory(df, by="host", top=5).figure.get_size_inches()[1]
    assert drawn == new_figure(6, pyplot=False).get_size_inches()[1]  # 5 bars and "other"
    hosts, servers = capacity_frames()
    fig = plot_capacity(hosts, servers, pyplot=False)
    assert fig.get_size_inches()[1] == new_figure(3 + 2, pyplot=False).get_size_inches()[1]
