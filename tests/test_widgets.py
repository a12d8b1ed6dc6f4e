"""The explorers' logic as plain functions, and the widgets driven from Python.

The browser test (test_browser.py) drives the same widgets in Chromium through Voilà;
here every control is set from Python and what the widget then holds (filtered rows,
HTML table, matplotlib Figure, messages, download links) is checked.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
from dataclasses import replace
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cpexplore.catalog import filter_endpoints  # noqa: E402
from cpexplore.errors import EndpointNotFound, MissingColumns, TransportError  # noqa: E402
from cpexplore.files import to_csv  # noqa: E402
from cpexplore.gather import listing_regions  # noqa: E402
from cpexplore.lists.info import ListInfo, list_info, with_info  # noqa: E402
from cpexplore.markup import (  # noqa: E402
    CsvDownload,
    capacity_view,
    csv_download,
    download_html,
    error_html,
    frame_to_html,
    status_legend_html,
)
from cpexplore.session import Session  # noqa: E402
from cpexplore.summaries import (  # noqa: E402
    capacity_table,
    rate_text,
    status_label,
    summarize_servers,
)
from cpexplore.widgets import (  # noqa: E402
    ALL,
    CapacityExplorer,
    CatalogExplorer,
    InventoryExplorer,
    capacity_explorer,
    catalog_explorer,
    explore,
    export_csv,
    fetch_servers,
    filter_options,
    filter_servers,
    inventory_explorer,
)


def bar_totals(fig) -> dict[str, float]:
    """Bar label → total length, from the first Axes of a figure of horizontal bars."""
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = [round(float(t), 6) for t in ax.get_yticks()]
    totals: dict[float, float] = {}
    for p in ax.patches:
        y = round(p.get_y() + p.get_height() / 2, 6)
        totals[y] = totals.get(y, 0.0) + p.get_width()
    return {label: totals.get(y, 0.0) for label, y in zip(labels, ticks, strict=True)}


def status_bars(counts: pd.Series) -> dict[str, int]:
    """Status counts keyed as a chart labels them: ``ready (stopped)``."""
    return {status_label(k): v for k, v in counts.to_dict().items()}


def table_rows(markup: str) -> list[list[str]]:
    """The body rows of the first table in ``markup`` (cells unescaped)."""
    body = markup.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for tr in body.split("<tr>")[1:]:
        cells = [c.split("</td>", 1)[0] for c in tr.split("<td")[1:]]
        rows.append([html.unescape(c.split(">", 1)[1]) for c in cells])
    return rows


def footer_cells(markup: str) -> list[str]:
    """The cells of the table's total row."""
    foot = markup.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    return [html.unescape(c.split(">", 1)[1].split("</td>", 1)[0]) for c in foot.split("<td")[1:]]


def link_of(markup: str) -> tuple[str, bytes]:
    """(download name, decoded bytes) of the data: link in ``markup``."""
    name = html.unescape(markup.split('download="', 1)[1].split('"', 1)[0])
    href = markup.split('href="', 1)[1].split('"', 1)[0]
    head, payload = href.split(",", 1)
    assert head == "data:text/csv;charset=utf-8;base64"
    return name, base64.b64decode(payload)


@pytest.fixture(scope="module")
def inventory(session):
    """One inventory explorer over the shared sandbox (progress off; loads region0)."""
    return inventory_explorer(session, progress=False)


# ------------------------------------------------------------------- catalog logic


def test_the_explorers_filter_the_catalog_with_the_catalogs_own_filter(session):
    cat = session.catalog
    r1 = filter_endpoints(cat, region="region1", interface="public")
    assert r1[["service_type", "region_id", "interface"]].values.tolist() == [
        ["compute_v2", "region1", "public"]
    ]
    # a region-zone id is its own choice: region1 does not include region1-zone1
    assert set(filter_endpoints(cat, region="region1")["region_id"]) == {"region1"}
    assert len(filter_endpoints(cat)) == len(cat)
    internal = filter_endpoints(cat, interface="internal")
    assert (
        set(internal["interface"]) == {"internal"}
        and len(internal) == (cat["interface"] == "internal").sum()
    )
    ident = filter_endpoints(cat, service="KEYSTONE")
    assert set(ident["service_type"]) == {"identity"}
    assert filter_endpoints(cat, service="comp")["service_type"].unique().tolist() == ["compute_v2"]
    assert filter_endpoints(cat, region="nowhere").empty
    before = cat.copy()
    filter_endpoints(cat, region="region0", interface="public", service="image")
    pd.testing.assert_frame_equal(cat, before)
    ex = CatalogExplorer(cat.drop(columns="service_name"))  # the explorer names what is missing
    assert "needs column 'service_name'" in html.unescape(ex.message_html.value)
    # the explorer's table is the catalog filter's rows
    ex = catalog_explorer(session, region="region1", interface="internal")
    pd.testing.assert_frame_equal(
        ex.filtered, filter_endpoints(cat, region="region1", interface="internal")
    )


def test_the_inventory_offers_the_catalog_regions_gather_lists(session):
    cat = session.catalog

    def compute_regions(interface: str) -> list[str]:
        rows = filter_endpoints(cat, interface=interface)
        return sorted(set(rows.loc[rows["service_type"] == "compute_v2", "region_id"]))

    assert compute_regions("public") == ["region0", "region1", "region1-zone1"]
    assert compute_regions("internal") == ["region0", "region1"]
    # region1-zone1 has region1's URL: asked once, by the one rule gather uses too
    assert listing_regions(session, "compute_v2", interface="public") == ["region0", "region1"]
    ex = inventory_explorer(session, progress=False, load=False)
    assert [v for _, v in ex.catalog_region_dropdown.options] == [ALL, "region0", "region1"]


# ------------------------------------------------------------------- catalog widget


def test_catalog_explorer_controls_and_labels(session):
    ex = catalog_explorer(session)
    assert isinstance(ex, CatalogExplorer) and isinstance(ex, ipywidgets.VBox)
    values = [v for _, v in ex.region_dropdown.options]
    assert values == [ALL, *session.regions]
    assert ex.region_dropdown.value == ALL
    assert "Catalog region (which endpoint to call)" in ex.region_dropdown.description
    assert list(ex.interface_buttons.options) == ["public", "internal", "admin", "all"]
    assert ex.interface_buttons.value == session.interface == "public"
    assert "cpx-endpoint-table" in ex.table_html._dom_classes
    assert "cpx-endpoint-plot" in ex.plot_output._dom_classes
    assert ex.message_html.value == ""


def test_catalog_explorer_follows_region_and_interface(session):
    ex = catalog_explorer(session)
    public = session.catalog[session.catalog["interface"] == "public"]
    assert len(ex.filtered) == len(public)
    assert bar_totals(ex.figure) == public["service_type"].value_counts().to_dict()

    ex.region_dropdown.value = "region1"
    rows = table_rows(ex.table_html.value)
    assert [r[3] for r in rows] == ["region1"] and [r[2] for r in rows] == ["public"]
    assert bar_totals(ex.figure) == {"compute_v2": 1}
    first = ex.figure

    ex.interface_buttons.value = "internal"
    rows = table_rows(ex.table_html.value)
    assert rows == [
        ["compute_v2", "region2", "internal", "region1", "https://region1-region:30888"]
    ]
    assert ex.figure is not first
    assert [t.get_text() for t in ex.figure.axes[0].get_legend().get_texts()] == ["internal"]
    assert "1 of 18 endpoints" in ex.summary_html.value

    ex.interface_buttons.value = "all"
    ex.region_dropdown.value = "region0"
    ex.service_text.value = "ident"
    assert sorted(ex.filtered["interface"]) == ["admin", "internal", "public"]
    assert bar_totals(ex.figure) == {"identity": 3}


def test_catalog_explorer_escapes_every_cell():
    cat = pd.DataFrame(
        {
            "service_name": ["<script>alert(1)</script>"],
            "service_type": ["x&y"],
            "interface": ["public"],
            "region_id": ['r"0'],
            "url": ["http://h/?a=1&b=<2>"],
        }
    )
    ex = CatalogExplorer(cat)
    markup = ex.table_html.value
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "x&amp;y" in markup and "http://h/?a=1&amp;b=&lt;2&gt;" in markup
    assert table_rows(markup)[0][0] == "x&y"
    assert "<script>" not in ex.summary_html.value


def test_catalog_explorer_shows_errors_inside_the_widget(session):
    ex = catalog_explorer(session)
    ex.catalog = ex.catalog.drop(columns="service_name")  # breaks the next update
    ex.interface_buttons.value = "admin"  # must not raise out of the callback
    assert 'class="cpx-error"' in ex.message_html.value
    assert "Showing the endpoints failed" in ex.message_html.value
    assert "service_name" in ex.message_html.value


# ------------------------------------------------------------------- HTML


def test_frame_to_html_escapes_headers_caption_cells_and_footer():
    df = pd.DataFrame({"<h>": ["<i>x</i>", None], "n": [1234567, 2]})
    markup = frame_to_html(df, caption="<cap>", footer=["<tot>", 1234569])
    for raw in ("<h>", "<i>", "<cap>", "<tot>"):
        assert raw not in markup
    assert "&lt;h&gt;" in markup and "&lt;cap&gt;" in markup and "&lt;tot&gt;" in markup
    assert table_rows(markup) == [["<i>x</i>", "1,234,567"], ["", "2"]]
    assert '<td class="num">1,234,567</td>' in markup


def test_frame_to_html_caps_rows_and_says_so():
    markup = frame_to_html(pd.DataFrame({"a": range(10)}), max_rows=3)
    assert len(table_rows(markup)) == 4
    assert "7 more rows not shown" in markup
    assert "(no rows)" in frame_to_html(pd.DataFrame({"a": []}))


def test_error_html_is_escaped_and_names_what_failed():
    markup = error_html(
        TransportError("cannot reach <host>", hint="check & retry"), doing="Fetching"
    )
    assert "Fetching failed" in markup
    assert "&lt;host&gt;" in markup and "check &amp; retry" in markup
    assert "(ValueError)" in error_html(ValueError("x"), doing="Drawing")


# ------------------------------------------------------------------- inventory logic


def small_servers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list("abcdef"),
            "status": ["running", "running", "ready", "running", None, "ready"],
            "hypervisor": ["kvm", "kvm", "kvm", "aws", "aws", "esxi"],
            "cloudregion": ["Default", "Default", "Default", "AWS/x", "AWS/x", "VMware/y"],
            "zone": ["z0", "z1", "z1", "x-a", "x-b", "y-1"],
            "vcpu_count": [2, 4, 8, 1, 1, 2],
            "vmem_size": [2048, 4096, 8192, 1024, 1024, 3072],
        }
    ).astype({"status": "category", "hypervisor": "category"})


def test_filter_servers_combines_filters_and_keeps_input():
    df = small_servers()
    before = df.copy()
    assert filter_servers(df)["id"].tolist() == list("abcdef")
    assert filter_servers(df, cloudregion="Default", status="running")["id"].tolist() == ["a", "b"]
    assert filter_servers(df, zone="z1", hypervisor="kvm")["id"].tolist() == ["b", "c"]
    assert filter_servers(df, status="(none)")["id"].tolist() == ["e"]
    assert filter_servers(df, hypervisor="xen").empty
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(MissingColumns, match="zone"):
        filter_servers(df.drop(columns="zone"), zone="z1")


def test_filter_options_have_all_first_and_counts():
    df = small_servers()
    assert filter_options(df, column="status") == [
        ("all (6)", ALL),
        ("(none) (1)", "(none)"),
        ("ready (2)", "ready"),
        ("running (3)", "running"),
    ]
    assert filter_options(df, column="missing") == [("all (6)", ALL)]


def test_summarize_servers_counts_vcpus_and_memory():
    summary = summarize_servers(small_servers(), "hypervisor")
    assert summary.to_dict("list") == {
        "hypervisor": ["kvm", "aws", "esxi"],
        "servers": [3, 2, 1],
        "share_pct": [50.0, 33.3, 16.7],
        "vcpus": [14, 2, 2],
        "memory_gib": [14.0, 2.0, 3.0],
    }
    assert summarize_servers(small_servers(), "status")["status"].tolist() == [
        "running",
        "ready",
        "(none)",
    ]
    with pytest.raises(MissingColumns, match="'host'"):
        summarize_servers(small_servers(), "host")


def test_fetch_servers_uses_the_cache_unless_refreshed(session, sandbox):
    steps = []
    first = fetch_servers(session, catalog_region="region0", on_step=lambda *a: steps.append(a))
    assert steps == [(0, 1, "region0"), (1, 1, None)]
    assert len(first) == sandbox.count("servers", "region0")
    assert set(first["catalog_region"]) == {"region0"}
    again = fetch_servers(session, catalog_region="region0")
    assert list_info(again).from_cache is True
    before = sandbox.requests
    fresh = fetch_servers(session, catalog_region="region0", refresh=True)
    assert list_info(fresh).from_cache is False and sandbox.requests > before
    assert list_info(fresh).regions == ("region0",)


def test_fetch_servers_from_every_catalog_region(session, sandbox):
    steps = []
    every = fetch_servers(session, catalog_region=ALL, on_step=lambda *a: steps.append(a))
    assert [s[2] for s in steps] == ["region0", None]  # the regions are listed at once
    assert len(every) == sandbox.count("servers", "region0") + sandbox.count("servers", "region1")
    assert every["id"].is_unique
    assert list_info(every).regions == ("region0", "region1")
    assert every["catalog_region"].astype(str).value_counts().to_dict() == {
        "region0": sandbox.count("servers", "region0"),
        "region1": sandbox.count("servers", "region1"),
    }


# ------------------------------------------------------------------- CSV


def test_export_csv_is_formula_safe_and_typed(tmp_path):
    df = pd.DataFrame(
        {
            "name": ["=1+1", "+cmd", "-2", "@sum", "\tx", "-3.5e2", "ok", "-x", "\rr", "\nn"],
            "delta": [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10],
            "ips": [["10.0.0.1"]] + [[]] * 9,
            "created_at": pd.to_datetime(["2026-01-02T03:04:05Z"] * 10, utc=True),
        }
    )
    df.loc[1, "created_at"] = pd.NaT
    path = export_csv(df, tmp_path, stem="x", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert path == tmp_path.resolve() / "x-20260102-030405.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert [r["name"] for r in rows] == [
        "'=1+1",
        "'+cmd",
        "-2",
        "'@sum",
        "'\tx",
        "-3.5e2",
        "ok",
        "'-x",
        "'\rr",
        "'\nn",
    ]
    assert [r["delta"] for r in rows] == [str(-i) for i in range(1, 11)]
    assert rows[0]["ips"] == '["10.0.0.1"]' and rows[1]["ips"] == "[]"
    assert rows[0]["created_at"].startswith("2026-01-02T03:04:05")
    assert rows[0]["created_at"].endswith("Z") and rows[1]["created_at"] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left


def test_export_csv_never_overwrites_and_reports_unwritable(tmp_path):
    df = pd.DataFrame({"a": [1]})
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = export_csv(df, tmp_path, stem="../s p", now=now)
    second = export_csv(df, tmp_path, stem="../s p", now=now)
    assert first.parent == second.parent == tmp_path.resolve()
    assert first.name == "s_p-20260101-000000.csv" and second.name == "s_p-20260101-000000-2.csv"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from cpexplore.errors import ExportError

    with pytest.raises(ExportError):
        export_csv(df, blocker / "sub")


# ------------------------------------------------------------------- inventory widget


def test_inventory_explorer_loads_and_labels_the_two_regions(inventory, session, sandbox):
    ex = inventory
    assert isinstance(ex, InventoryExplorer) and ex.loaded
    assert ex.catalog_region_dropdown.value == session.region == "region0"
    assert [v for _, v in ex.catalog_region_dropdown.options] == [
        ALL,
        *listing_regions(session, "compute_v2", interface="public"),
    ]
    assert "Catalog region (which endpoint to call)" in ex.catalog_region_dropdown.description
    assert "Cloud region (where VMs live)" in ex.cloudregion_dropdown.description
    n = sandbox.count("servers", "region0")
    assert len(ex.servers) == len(ex.filtered) == n
    assert f"{n:,} servers from catalog region region0" in ex.status_html.value
    assert ex.progress_bar.layout.display == "none"  # shown only while fetching
    assert ex.message_html.value == ""
    expected = ex.servers["status"].astype(str).value_counts()
    assert bar_totals(ex.figure) == status_bars(expected)
    assert ex.summary["servers"].tolist() == expected.tolist()
    clouds = [v for _, v in ex.cloudregion_dropdown.options]
    named = ex.servers["cloudregion"].dropna().astype(str).unique()
    unplaced = ["(unscheduled)"] if ex.servers["host_id"].isna().any() else []
    assert clouds == [ALL, *sorted([*named, *unplaced])]  # unscheduled servers are a choice


def test_inventory_explorer_filters_group_and_summary(inventory):
    ex = inventory
    ex.group_by_dropdown.value = "hypervisor"
    ex.status_dropdown.value = "running"
    running = ex.servers[ex.servers["status"] == "running"]
    assert len(ex.filtered) == len(running)
    assert bar_totals(ex.figure) == running["hypervisor"].astype(str).value_counts().to_dict()
    summary = ex.summary.set_index("hypervisor")
    kvm = running[running["hypervisor"] == "kvm"]
    assert summary.loc["kvm", "servers"] == len(kvm)
    assert summary.loc["kvm", "vcpus"] == int(kvm["vcpu_count"].sum())
    assert summary.loc["kvm", "memory_gib"] == round(kvm["vmem_size"].sum() / 1024, 1)
    rows = table_rows(ex.summary_html.value)
    assert rows[0][0] == summary.index[0]
    assert "<tfoot>" in ex.summary_html.value and f"{len(running):,}" in ex.summary_html.value

    # cloud region narrows the zone choices
    cloud = "Aliyun/cn-beijing"
    ex.cloudregion_dropdown.value = cloud
    zones = {v for _, v in ex.zone_dropdown.options} - {ALL}
    in_cloud = ex.servers[ex.servers["cloudregion"] == cloud]
    assert zones == set(in_cloud["zone"].astype(str))
    zone = sorted(zones)[0]
    ex.zone_dropdown.value = zone
    assert set(ex.filtered["zone"].astype(str)) == {zone}
    assert set(ex.filtered["cloudregion"].astype(str)) == {cloud}
    assert set(ex.filtered["status"].astype(str)) == {"running"}
    assert "cloudregion Aliyun/cn-beijing" in ex.count_html.value

    ex.hue_dropdown.value = "status"
    assert [t.get_text() for t in ex.figure.axes[0].get_legend().get_texts()] == [
        "running (powered on)"
    ]
    for control in (ex.cloudregion_dropdown, ex.zone_dropdown, ex.status_dropdown):
        control.value = ALL
    ex.hue_dropdown.value = ""
    ex.group_by_dropdown.value = "status"
    assert len(ex.filtered) == len(ex.servers)


def test_inventory_explorer_refresh_bypasses_the_cache(inventory, sandbox):
    ex = inventory
    before = sandbox.requests
    ex.refresh_button.click()
    assert sandbox.requests > before
    assert list_info(ex.servers).from_cache is False
    assert "from the cache" not in ex.status_html.value
    # choosing the region again is served from the cache, and says so
    ex.catalog_region_dropdown.value = "region1"
    ex.catalog_region_dropdown.value = "region0"
    assert list_info(ex.servers).from_cache is True
    assert "from the cache; press Refresh" in ex.status_html.value


def test_inventory_explorer_every_catalog_region(inventory, sandbox):
    ex = inventory
    ex.catalog_region_dropdown.value = ALL
    total = sandbox.count("servers", "region0") + sandbox.count("servers", "region1")
    assert len(ex.servers) == total
    ex.group_by_dropdown.value = "catalog_region"
    assert bar_totals(ex.figure) == {
        "region0": sandbox.count("servers", "region0"),
        "region1": sandbox.count("servers", "region1"),
    }
    ex.group_by_dropdown.value = "hypervisor"
    assert {"aws", "esxi", "kvm", "aliyun"} <= set(bar_totals(ex.figure))
    ex.group_by_dropdown.value = "status"
    ex.catalog_region_dropdown.value = "region0"


def test_csv_download_is_a_named_spreadsheet_safe_file_in_memory():
    df = pd.DataFrame({"name": ["=1+1", "web", "-2"], "ips": [["10.0.0.1"], [], []]})
    now = datetime(2026, 11, 7, 10, 15, tzinfo=UTC)
    got = csv_download(df, stem="servers-region0", now=now)
    name, data = got  # a (filename, bytes) pair
    assert isinstance(got, CsvDownload) and name == "servers-region0-20261107-101500.csv"
    assert data == to_csv(df).encode("utf-8")  # the one CSV writer, formula escaping on
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows == [["name", "ips"], ["'=1+1", '["10.0.0.1"]'], ["web", "[]"], ["-2", "[]"]]
    assert csv_download(df, now=now, bom=True).data == b"\xef\xbb\xbf" + data
    assert csv_download(df, stem="../a b", now=now).filename == "a_b-20261107-101500.csv"
    assert got.href == "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode()


def test_download_html_is_a_link_holding_the_file():
    got = CsvDownload('s<"x">.csv', b'"a"\n"1"\n')
    markup = download_html(got, what="1 server")
    assert link_of(markup) == ('s<"x">.csv', got.data)
    assert '<"x">' not in markup  # the name is escaped where it is shown
    assert "Download s&lt;&quot;x&quot;&gt;.csv" in markup and "(1 server, 8 bytes)" in markup
    assert 'class="cpx-download-link"' in markup and "onclick=" in markup


def test_inventory_explorer_export_offers_a_browser_download_and_writes_nothing(
    inventory, tmp_path, monkeypatch
):
    ex = inventory
    monkeypatch.chdir(tmp_path)
    ex.status_dropdown.value = "ready"
    try:
        assert ex.download_html.value == ""
        ex.export_button.click()
        got = ex.last_export
        assert got is not None and got.filename.startswith("servers-region0-")
        assert got.filename.endswith(".csv")
        name, data = link_of(ex.download_html.value)
        assert (name, data) == got
        written = pd.read_csv(io.BytesIO(data))
        assert len(written) == len(ex.filtered) == (ex.servers["status"] == "ready").sum()
        assert set(written["status"]) == {"ready"}
        assert set(written["id"]) == set(ex.filtered["id"])
        assert f"({len(written):,} servers, " in html.unescape(ex.download_html.value)
        assert os.listdir(tmp_path) == []  # nothing on the server
        # a new export is a new link; a change of the rows takes the stale link away
        ex.group_by_dropdown.value = "hypervisor"  # the same rows: the link stays
        assert link_of(ex.download_html.value)[1] == data
        ex.status_dropdown.value = "running"
        assert ex.download_html.value == ""
        ex.export_button.click()
        assert set(pd.read_csv(io.BytesIO(link_of(ex.download_html.value)[1]))["status"]) == {
            "running"
        }
    finally:
        ex.status_dropdown.value = ALL
        ex.group_by_dropdown.value = "status"


class _BrokenSession(Session):
    """The shared session (its login and catalog), whose lists always fail."""

    def __init__(self, session: Session) -> None:  # no second login
        vars(self).update(vars(session))
        self.calls = 0

    def list(self, resource: str, **kwargs: object) -> pd.DataFrame:
        self.calls += 1
        raise TransportError(
            "cannot reach https://10.0.0.1:30888", hint="check the auth URL's host and port"
        )


def test_inventory_explorer_shows_fetch_errors_inside_the_widget(session):
    broken = _BrokenSession(session)
    ex = inventory_explorer(broken, progress=False)  # must not raise
    assert broken.calls == 1 and not ex.loaded
    assert "Fetching the servers of region0 (public endpoint) failed" in ex.message_html.value
    assert "cannot reach https://10.0.0.1:30888" in ex.message_html.value
    assert ex.progress_bar.layout.display == "none"
    assert not ex.refresh_button.disabled
    ex.refresh_button.click()
    assert broken.calls == 2
    ex.export_button.click()
    assert "nothing to export yet" in ex.message_html.value


class _SwallowingOutput(ipywidgets.Output):
    """An Output that swallows what leaves its ``with`` block, as it does in a kernel."""

    def __exit__(self, *exc: object) -> bool:
        super().__exit__(*exc)
        return True


def test_fetch_errors_show_even_where_an_output_widget_swallows_them(session):
    broken = _BrokenSession(session)
    ex = inventory_explorer(broken, progress=False, load=False)
    ex.progress_output = _SwallowingOutput()
    ex.load()  # in Voilà this once left "Fetching…" on screen for ever
    assert not ex.loaded
    assert "Fetching the servers of region0 (public endpoint) failed" in ex.message_html.value
    assert ex.status_html.value == "" and not ex.refresh_button.disabled


class _FrameSession(Session):
    """The shared session (its login and catalog), listing fixed frames (recording the calls)."""

    def __init__(self, session: Session, **frames: pd.DataFrame) -> None:  # no second login
        vars(self).update(vars(session))
        self.frames = frames
        self.listed: list[str] = []
        self.calls: list[dict[str, object]] = []

    def list(self, resource: str, **kwargs: object) -> pd.DataFrame:
        self.listed.append(resource)
        self.calls.append(kwargs)
        out = self.frames[resource].copy()
        iface = str(kwargs.get("interface") or "public")
        info = ListInfo("servers", "region0", iface, "fake://", datetime.now(UTC))
        return with_info(out, replace(info, resource=resource))


def sparse_servers() -> pd.DataFrame:
    """As a real region lists them: unscheduled servers have no host, zone or cloud region."""
    return pd.DataFrame(
        {
            "id": list("abcd"),
            "name": ["web", "new-2", "db", "new-3"],
            "status": ["running", "sched_fail", "running", "init"],
            "hypervisor": ["kvm"] * 4,
            "host_id": ["i1", None, "i1", None],
            "host": ["h1", None, "h1", None],
            "zone": ["z1", None, "z1", None],
            "cloudregion": ["Default", None, "Default", None],
            "vcpu_count": pd.array([2, 4, None, 1], dtype="Int64"),
            "vmem_size": [2048, 4096, 1024, 1024],
        }
    )


def test_unscheduled_servers_are_a_group_a_filter_and_a_choice():
    df = sparse_servers()
    assert filter_options(df, column="zone") == [
        ("all (4)", ALL),
        ("(unscheduled) (2)", "(unscheduled)"),
        ("z1 (2)", "z1"),
    ]
    assert filter_servers(df, zone="(unscheduled)")["id"].tolist() == ["b", "d"]
    assert filter_servers(df, cloudregion="(unscheduled)", status="init")["id"].tolist() == ["d"]
    assert summarize_servers(df, "host")["host"].tolist() == ["(unscheduled)", "h1"]
    # a status that is merely missing stays "(none)"
    assert filter_options(df.assign(status=None), column="status")[1] == ("(none) (4)", "(none)")


@pytest.mark.parametrize(
    "servers",
    [
        sparse_servers(),
        sparse_servers().drop(columns=["host_id", "host", "zone", "cloudregion"]),
        sparse_servers().assign(host_id=None, host=None, zone=None, cloudregion=None),
    ],
    ids=["unscheduled", "no-placement-columns", "all-na"],
)
def test_inventory_explorer_works_on_sparse_frames(session, servers):
    fake = _FrameSession(session, servers=servers)
    ex = inventory_explorer(fake, progress=False)
    assert ex.loaded and ex.message_html.value == ""
    for by in [v for _, v in ex.group_by_dropdown.options]:
        ex.group_by_dropdown.value = by
        assert ex.message_html.value == "", by
        assert ex.summary["servers"].sum() == 4, by  # nobody dropped
    for dropdown in (ex.zone_dropdown, ex.cloudregion_dropdown):
        for value in [v for _, v in dropdown.options]:
            dropdown.value = value
            assert ex.message_html.value == "", value
            dropdown.value = ALL


class _InterfacesSession(_FrameSession):
    """A catalog with a compute endpoint on the admin interface and none on internal."""

    def url_for(self, service_type: str, *, region=None, interface=None) -> str:
        if interface == "internal":
            raise EndpointNotFound("no internal compute endpoint")
        return f"https://{region}-{interface}:30888"


def test_the_interfaces_offered_are_those_with_a_compute_endpoint_in_a_fixed_order(session):
    ex = inventory_explorer(session, progress=False, load=False)
    assert list(ex.interface_buttons.options) == ["public", "internal"]  # no admin compute
    fake = _InterfacesSession(session, servers=sparse_servers())
    ex = inventory_explorer(fake, progress=False, load=False)
    assert list(ex.interface_buttons.options) == ["public", "admin"]


def test_inventory_explorer_interface_picker_asks_that_endpoint(session):
    fake = _FrameSession(session, servers=sparse_servers())
    ex = inventory_explorer(fake, progress=False)
    assert list(ex.interface_buttons.options) == ["public", "internal"]
    assert ex.interface_buttons.value == "public" and fake.calls[-1]["interface"] == "public"
    assert "(public endpoint" in ex.status_html.value
    ex.interface_buttons.value = "internal"
    assert fake.calls[-1]["interface"] == "internal" and len(fake.calls) == 2  # fetched once
    assert "(internal endpoint" in ex.status_html.value
    # the catalog regions offered are those with an internal compute endpoint
    assert [v for _, v in ex.catalog_region_dropdown.options] == [ALL, "region0", "region1"]
    started = inventory_explorer(fake, progress=False, interface="internal", load=False)
    assert started.interface_buttons.value == "internal"


def test_inventory_explorer_explains_a_failing_interface(session):
    broken = _BrokenSession(session)
    ex = inventory_explorer(broken, progress=False, interface="internal")
    assert "Fetching the servers of region0 (internal endpoint) failed" in ex.message_html.value
    # what was shown before stays, and the status line says it is the earlier list
    fake = _FrameSession(session, servers=sparse_servers())
    ex = inventory_explorer(fake, progress=False)
    fake.frames = {}  # every list now fails
    ex.interface_buttons.value = "internal"
    assert "(internal endpoint) failed" in ex.message_html.value
    assert ex.status_html.value.startswith("Still showing: 4 servers from catalog region region0")
    assert "(public endpoint" in ex.status_html.value and len(ex.filtered) == 4


def test_inventory_side_table_shows_the_charts_groups_other_and_a_total(session):
    hosts = [f"host-{i:02d}" for i in range(6) for _ in range(8 - i)]
    servers = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(len(hosts))],
            "host": hosts,
            "host_id": hosts,
            "status": ["running"] * len(hosts),
            "vcpu_count": [2] * len(hosts),
        }
    )
    fake = _FrameSession(session, servers=servers)
    ex = inventory_explorer(fake, progress=False, group_by="host", top=3)
    rows = table_rows(ex.summary_html.value)
    assert [r[0] for r in rows] == ["host-00", "host-01", "host-02", "other (3 hosts)"]
    assert [int(r[1]) for r in rows] == [8, 7, 6, 5 + 4 + 3]
    assert footer_cells(ex.summary_html.value)[:3] == ["total", f"{len(servers)}", "100.0"]
    drawn = bar_totals(ex.figure)
    assert list(drawn) == [r[0] for r in rows]  # the chart and the table list the same groups
    assert drawn["other (3 hosts)"] == 0.0  # summed in words, not drawn as a bar
    assert len(ex.summary) == 6  # the full grouping stays available
    # a filter that leaves one host shows that host
    only = _FrameSession(session, servers=servers[servers["host"] == "host-05"])
    ex = inventory_explorer(only, progress=False, group_by="host", top=1)
    assert [r[0] for r in table_rows(ex.summary_html.value)] == ["host-05"]
    assert bar_totals(ex.figure) == {"host-05": 3}


def test_statuses_are_explained_where_they_are_shown(inventory):
    ex = inventory
    legend = html.unescape(ex.status_legend_html.value)
    assert "ready = stopped" in legend and "running = powered on" in legend
    assert 'class="cpx-status-legend"' in ex.status_legend_html.value
    ex.group_by_dropdown.value = "status"
    assert 'title="stopped (created, powered off)">ready</td>' in ex.summary_html.value
    assert "ready (stopped)" in bar_totals(ex.figure)
    assert status_legend_html(["weird"]) == ""
    assert "&lt;" not in status_legend_html(["running"])


def test_capacity_view_keeps_the_tables_order_and_names_its_columns():
    hosts = pd.DataFrame(
        {
            "id": ["i1", "i2"],
            "name": ["calm", "busy"],
            "cpu_count": [32, 32],
            "mem_size": [131072, 131072],
            "cpu_commit": [64, 337],
            "mem_commit": [1024, 1024],
        }
    )
    table = capacity_table(hosts)
    view = capacity_view(table)
    assert view["host"].tolist() == table["host"].tolist() == ["busy", "calm"]
    assert view["CPU commit rate"].tolist() == ["10.53×", "2.00×"]  # as the chart labels them
    assert view["CPU commit bound"].tolist() == ["8.00×", "8.00×"]
    assert view["over-committed"].tolist() == [True, False]
    assert "zone" not in view.columns  # columns the table lacks are left out


def test_capacity_explorer_shows_chart_and_table_in_one_order(session):
    ex = capacity_explorer(session, top=5)
    assert isinstance(ex, CapacityExplorer) and ex.loaded and ex.message_html.value == ""
    hosts = session.list("hosts", scope="max")
    pd.testing.assert_frame_equal(ex.table, capacity_table(hosts, ex.servers))
    cpu_ax = ex.figure.axes[0]
    drawn = [t.get_text() for t in cpu_ax.get_yticklabels()]
    rows = table_rows(ex.table_html.value)
    assert [r[0] for r in rows][:5] == ex.table["host"].head(5).tolist()
    for name, host in zip(drawn, ex.table["host"], strict=False):
        assert name == host or "…" in name
    labels = [t.get_text() for t in cpu_ax.texts]
    rates = [
        rate_text(r, b)
        for r, b in zip(ex.table["cpu_commit_rate"], ex.table["cpu_commit_bound"], strict=True)
    ]
    assert labels == rates[:5]
    assert [r[5] for r in rows] == rates  # the table writes each rate as the chart labels it
    assert '<td class="num">' + rates[0] + "</td>" in ex.table_html.value
    assert "The chart draws the first 5 of these" in ex.table_html.value
    legend = ex.figure.axes[1].get_legend()
    assert legend.get_title().get_text() == ""
    assert [t.get_text() for t in legend.get_texts()][0].startswith("usable")
    over = int(ex.table["over_committed"].sum())
    assert f"{over} over-committed" in ex.figure.get_suptitle()
    assert f"{over:,} over-committed" in ex.status_html.value
    assert "running servers" in ex.children[0].value  # the explanation comes first


def test_capacity_explorer_lists_servers_only_when_hosts_lack_the_regions_figures(session):
    hosts = pd.DataFrame({"id": ["i1"], "name": ["h1"], "cpu_count": [2], "mem_size": [4096]})
    fake = _FrameSession(session, hosts=hosts, servers=sparse_servers())
    ex = capacity_explorer(fake)
    assert fake.listed == ["hosts", "servers"]
    assert ex.table.loc[0, "cpu_commit"] == 2 and bool(ex.table.loc[0, "over_committed"]) is False
    assert "2 servers on no host listed here (2 unscheduled)" in ex.table_html.value
    fake = _FrameSession(
        session, hosts=hosts.assign(cpu_commit=[40], mem_commit=[1024]), servers=None
    )
    ex = capacity_explorer(fake)
    assert fake.listed == ["hosts"] and ex.servers is None
    assert bool(ex.table.loc[0, "cpu_over_committed"]) is True  # 20 > the default bound of 8
    broken = _BrokenSession(session)
    ex = capacity_explorer(broken)  # must not raise
    assert not ex.loaded and "Fetching the hosts failed" in ex.message_html.value
    assert "Not loaded yet" in capacity_explorer(broken, load=False).status_html.value


def test_explore_puts_both_in_tabs_and_loads_the_inventory_lazily(session):
    tabs = explore(session, progress=False)
    assert isinstance(tabs, ipywidgets.Tab)
    catalog, inventory = tabs.children
    assert isinstance(catalog, CatalogExplorer) and isinstance(inventory, InventoryExplorer)
    assert tuple(tabs.titles) == ("Catalog (endpoints)", "Inventory (servers)")
    assert not inventory.loaded and "Not loaded yet" in inventory.status_html.value
    tabs.selected_index = 1
    assert inventory.loaded and len(inventory.servers) > 0


@pytest.mark.parametrize("module", ["cpexplore.widgets", "cpexplore.plots", "cpexplore.markup"])
def test_modules_keep_no_mutable_module_state(module):
    import importlib

    mod = importlib.import_module(module)
    mutable = [
        name
        for name, value in vars(mod).items()
        if not name.startswith("__") and isinstance(value, list | dict | set | pd.DataFrame)
    ]
    assert mutable == []
