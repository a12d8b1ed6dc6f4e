"""Reports: safe CSV/JSON, the inventory report, snapshots and diffs — against the sandbox."""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpexplore.files
import cpexplore.reports
import cpexplore.snapshots
from cpexplore import ExportError, MissingColumns
from cpexplore.errors import ConfigError, CpExploreError
from cpexplore.files import escape_formula, read_csv, to_csv, to_json, unescape_formula
from cpexplore.reports import inventory_report, write_inventory_report
from cpexplore.sandbox.inventory import HOSTILE_NAMES
from cpexplore.snapshots import Diff, diff, diff_snapshots, load_snapshot, snapshot, snapshots
from cpexplore.summaries import capacity_table, summary_table

TRIGGERS = tuple("=+-@\t\r\n")


def _dangerous(cell: str) -> bool:
    """Would a spreadsheet read this cell as a formula?"""
    if not cell or cell[0] not in TRIGGERS:
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def _csv_cells(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _unwritable_dir(tmp_path: Path) -> Path:
    """A folder this process may not write to (root ignores modes, so use /sys then)."""
    if os.geteuid() == 0:
        return Path("/sys")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return d


# -- cells -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@import", "'@import"),
        ("\tindented", "'\tindented"),
        ("\rcr", "'\rcr"),
        ("\nlf", "'\nlf"),
        ("'=already", "''=already"),
        ("-3", "-3"),
        ("+1.5e3", "+1.5e3"),
        ("-0.25", "-0.25"),
        ("'-3", "''-3"),
        ("web-1", "web-1"),
        ("'quoted", "'quoted"),
        ("", ""),
        ("测试服务器-北京", "测试服务器-北京"),
    ],
)
def test_formula_cells_are_neutralised_and_plain_numbers_are_not(raw, escaped):
    assert escape_formula(raw) == escaped
    assert unescape_formula(escape_formula(raw)) == raw


def test_csv_text_quotes_everything_writes_json_and_iso_z_timestamps():
    df = pd.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "-3", 'say "hi"', None],
            "n": pd.array([1, None, -3, 4], dtype="Int64"),
            "tags": [["a", "b"], {"k": "v", "n": 1}, [], None],
            "at": pd.to_datetime(
                ["2026-11-26 23:54:23", None, "2026-01-01 00:00:00", "2026-01-01 00:00:00.5"],
                format="ISO8601",
            ).tz_localize("Asia/Shanghai"),
            "status": pd.Categorical(["@up", "ok", "ok", "ok"]),
        }
    )
    text = to_csv(df)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "n", "tags", "at", "status"]
    assert rows[1] == [
        "'=cmd|' /C calc'!A0",
        "1",
        '["a", "b"]',
        "2026-11-26T15:54:23.000000Z",
        "'@up",
    ]
    assert rows[2] == ["-3", "", '{"k": "v", "n": 1}', "", "ok"]
    assert rows[3][2:4] == ["[]", "2025-12-31T16:00:00.000000Z"]
    assert rows[4][0] == "" and rows[4][3] == "2025-12-31T16:00:00.500000Z"
    assert all(line.startswith('"') for line in text.splitlines())  # every field quoted
    assert to_csv(df, escape_formulas=False).splitlines()[1].startswith('"=cmd')
    # the input is never modified
    assert df.loc[0, "name"].startswith("=") and df["status"].dtype == "category"


def test_whole_second_timestamps_have_no_fraction_and_naive_ones_are_utc():
    df = pd.DataFrame({"t": pd.to_datetime(["2026-11-26 23:54:23", "2026-11-27 00:00:00"])})
    assert to_csv(df).splitlines()[1:] == ['"2026-11-26T23:54:23Z"', '"2026-11-27T00:00:00Z"']


def test_a_meaningful_index_is_written_a_range_index_is_not():
    df = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "b"], name="key"))
    assert to_csv(df).splitlines()[0] == '"key","n"'
    assert to_csv(df.reset_index(drop=True)).splitlines()[0] == '"n"'
    assert to_csv(df, index=False).splitlines()[0] == '"n"'


def test_to_csv_writes_bom_gzip_and_reads_back(tmp_path):
    df = pd.DataFrame({"name": list(HOSTILE_NAMES), "n": range(len(HOSTILE_NAMES))})
    p = to_csv(df, tmp_path / "h.csv", bom=True)
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "测试服务器-北京".encode() in raw
    back = read_csv(p)
    assert back["name"].tolist() == list(HOSTILE_NAMES)
    assert back["n"].tolist() == list(range(len(HOSTILE_NAMES)))
    plain = pd.read_csv(p, encoding="utf-8-sig")  # what a plain pandas user sees
    assert plain["name"].tolist() == [escape_formula(n) for n in HOSTILE_NAMES]
    gz = to_csv(df, tmp_path / "h.csv.gz")
    assert gzip.decompress(gz.read_bytes()).decode().startswith('"name","n"')
    assert read_csv(gz)["name"].tolist() == list(HOSTILE_NAMES)


def test_to_csv_is_atomic_and_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    to_csv(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == '"a"\n"1"\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp file left


def test_export_errors_are_one_line_with_a_hint(tmp_path, monkeypatch):
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ExportError, match="is a directory") as e:
        to_csv(df, tmp_path)
    assert e.value.hint and "\n" not in str(e.value)
    with pytest.raises(ExportError, match="does not exist"):
        to_csv(df, tmp_path / "no" / "such" / "x.csv")
    with pytest.raises(ExportError, match="no permission") as e:
        to_csv(df, _unwritable_dir(tmp_path) / "x.csv")
    assert isinstance(e.value, OSError)


def test_full_disk_leaves_the_previous_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "servers.csv"
    target.write_text("previous report")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ExportError, match="disk is full") as e:
        to_csv(pd.DataFrame({"a": range(1000)}), target)
    assert "free some space" in e.value.hint
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["servers.csv"]


def test_to_json_keeps_nested_values_and_raw_text(tmp_path):
    df = pd.DataFrame(
        {
            "name": ["@import", '=HYPERLINK("http://evil.example/","x")'],
            "nics": [[{"ip": "10.0.0.1"}], None],
            "n": pd.array([np.int8(3), None], dtype="Int8"),
            "x": [0.5, np.nan],
            "at": pd.to_datetime(["2026-11-26T23:54:23Z", None], utc=True),
        }
    )
    p = to_json(df, tmp_path / "s.json")
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data == [
        {
            "name": "@import",  # JSON is data: never formula-escaped
            "nics": [{"ip": "10.0.0.1"}],
            "n": 3,
            "x": 0.5,
            "at": "2026-11-26T23:54:23Z",
        },
        {
            "name": '=HYPERLINK("http://evil.example/","x")',
            "nics": None,
            "n": None,
            "x": None,
            "at": None,
        },
    ]
    assert json.loads(to_json(df)) == data
    assert to_csv(df).splitlines()[2].startswith("\"'=HYPERLINK(")  # CSV is escaped
    lines = to_json(df, lines=True).splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["name"].startswith("=HYPERLINK(")
    with pytest.raises(ExportError, match="is a directory"):
        to_json(df, tmp_path)


def round_trip_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "-3", 'say "hi"', None],
            "status": pd.Categorical(["running", "ready", None, "running"]),
            "vcpu_count": np.array([1, 2, 3, 4], dtype="int8"),
            "disk": pd.array([10, None, 30, 2**40], dtype="Int64"),
            "rate": [0.5, np.nan, 10.53125, 1.0],
            "enabled": [True, False, True, True],
            "is_gpu": pd.array([True, None, False, False], dtype="boolean"),
            "created_at": pd.to_datetime(
                ["2026-11-26T23:54:23Z", None, "2024-01-01T00:00:00.5Z", "2025-06-01T12:00:00Z"],
                utc=True,
                format="ISO8601",
            ),
            "nics": [[{"ip": "10.0.0.1"}], [], None, [{"ip": "10.0.0.2"}]],
            "metadata": [{"k": "v"}, None, {}, {"n": 1}],
            "sn": ["007", "12", "x", None],  # text with a leading zero stays text
        }
    )


@pytest.mark.parametrize("bom", [False, True])
def test_read_csv_restores_what_to_csv_wrote(tmp_path, bom):
    df = round_trip_frame()
    path = to_csv(df, tmp_path / "servers.csv", bom=bom)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
    back = read_csv(path)
    assert list(back.columns) == list(df.columns)
    for column in df.columns:
        assert back[column].dtype.kind == df[column].dtype.kind, column
    assert back["name"].tolist() == ["=cmd|' /C calc'!A0", "-3", 'say "hi"', None]
    assert back["vcpu_count"].dtype == "int64"  # whole numbers: int64
    assert back["disk"].dtype == "Int64" and back["disk"].tolist()[3] == 2**40  # nullable
    assert back["rate"].dtype == "float64" and back["rate"].iloc[2] == 10.53125
    assert back["enabled"].dtype == bool and back["is_gpu"].dtype == "boolean"
    assert str(back["created_at"].dt.tz) == "UTC"
    assert back["created_at"].isna().tolist() == [False, True, False, False]
    assert (back["created_at"].dropna() == df["created_at"].dropna()).all()
    assert back["nics"].tolist() == df["nics"].tolist()
    assert back["metadata"].tolist() == df["metadata"].tolist()
    assert back["sn"].tolist() == ["007", "12", "x", None]
    values = back.astype(object).where(back.notna(), None)
    expected = df.astype(object).where(df.notna(), None)
    assert values.to_dict("list") == expected.to_dict("list")
    # the file itself stays safe for spreadsheets
    assert _csv_cells(path)[1][0] == "'=cmd|' /C calc'!A0"
    # as text only, when asked
    plain = read_csv(path, infer_types=False)
    assert plain["vcpu_count"].tolist() == ["1", "2", "3", "4"] and plain["name"][0][0] == "="
    kept = read_csv(path, unescape_formulas=False)
    assert kept["name"][0] == "'=cmd|' /C calc'!A0"


def test_read_csv_is_cautious_with_text_that_looks_like_other_types():
    text = to_csv(
        pd.DataFrame(
            {
                "ids": ["1", "2"],  # all whole numbers: read as numbers (a CSV cannot tell)
                "mixed": ["1", "web"],
                "floats": ["1.50", "2"],  # not how a float is written: text
                "listish": ["[not json", "[]"],
                "times": ["2026-01-01T00:00:00Z", "yesterday"],
                "bools": ["True", "yes"],
                "empty": [None, None],
            }
        )
    )
    back = read_csv(io.StringIO(text))
    assert back["ids"].tolist() == [1, 2]
    assert back["mixed"].tolist() == ["1", "web"]
    assert back["floats"].tolist() == ["1.50", "2"]
    assert back["listish"].tolist() == ["[not json", "[]"]
    assert back["times"].tolist() == ["2026-01-01T00:00:00Z", "yesterday"]
    assert back["bools"].tolist() == ["True", "yes"]
    assert back["empty"].tolist() == [None, None]
    typed = read_csv(io.StringIO(text), dtype={"ids": str})  # the caller decides
    assert typed["ids"].tolist() == ["1", "2"] and typed["mixed"].tolist() == ["1", "web"]


# -- summaries ---------------------------------------------------------------------------------
def test_summary_table_counts_by_status_hypervisor_zone_and_cloud_region(session):
    servers = session.list("servers", scope="max")
    summary = summary_table(servers)
    assert list(summary.columns) == ["by", "value", "servers", "share_pct", "vcpus", "memory_gib"]
    assert set(summary["by"]) == {"status", "hypervisor", "zone", "cloud region"}
    no_host = int(servers["host_id"].isna().sum())  # unscheduled: no host, zone, cloud region
    for by, col in [("status", "status"), ("zone", "zone"), ("cloud region", "cloudregion")]:
        part = summary[summary["by"] == by].set_index("value")["servers"]
        values = servers[col].astype(object)
        expected = values.where(values.notna(), "(unscheduled)").value_counts().to_dict()
        assert part.to_dict() == expected
        assert part.get("(unscheduled)", 0) == (no_host if col != "status" else 0)
        assert part.sum() == len(servers)
    running = summary[(summary["by"] == "status") & (summary["value"] == "running")].iloc[0]
    assert running["vcpus"] == servers.loc[servers["status"] == "running", "vcpu_count"].sum()
    with pytest.raises(MissingColumns):
        summary_table(pd.DataFrame({"id": ["a"]}))


def test_capacity_table_is_the_regions_commit_per_host(session):
    servers = session.list("servers", scope="max")
    hosts = session.list("hosts", scope="max")
    cap = capacity_table(hosts, servers)
    assert len(cap) == len(hosts)
    mine = hosts.set_index("id").loc[cap["host_id"]]
    if "cpu_commit_rate" in hosts.columns:  # the region's own figures are taken as they are
        assert (cap["cpu_commit"].to_numpy() == mine["cpu_commit"].to_numpy()).all()
        assert np.allclose(cap["cpu_commit_rate"], mine["cpu_commit_rate"].astype(float))
        assert (cap["commit_source"] == "host").all()
    summed = capacity_table(hosts, servers, source="servers")
    row = summed.iloc[0]
    on_host = servers[(servers["host_id"] == row["host_id"]) & (servers["status"] == "running")]
    assert row["running_servers"] == len(on_host)
    assert row["cpu_commit"] == on_host["vcpu_count"].sum()
    assert row["mem_commit_mib"] == on_host["vmem_size"].sum()
    assert row["cpu_commit_rate"] == pytest.approx(row["cpu_commit"] / row["cpu_usable"])
    assert (cap["over_committed"] == (cap["cpu_over_committed"] | cap["mem_over_committed"])).all()
    assert (cap["cpu_over_committed"] == (cap["cpu_commit_rate"] > cap["cpu_commit_bound"])).all()
    # over-committed first, then by the share of the bound used
    assert cap["over_committed"].is_monotonic_decreasing
    for _, part in cap.groupby("over_committed"):
        assert part["bound_used"].is_monotonic_decreasing
    with pytest.raises(MissingColumns, match="cpu_count"):
        capacity_table(pd.DataFrame({"id": ["h"], "name": ["h"]}))


# -- the inventory report ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report(session, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, inventory_report(session, out)


def test_report_writes_every_file_and_returns_the_paths(report, session):
    out, paths = report
    expected = ["servers.csv", "hosts.csv", "endpoints.csv", "summary.csv", "capacity.csv"]
    assert list(paths)[:5] == expected and list(paths)[-1] == "index.html"
    for name, p in paths.items():
        assert p == out / name and p.is_file() and p.stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(paths)  # nothing else, no temp files
    servers = read_csv(paths["servers.csv"])
    assert len(servers) == session.list("servers", scope="max").shape[0]
    hosts = read_csv(paths["hosts.csv"])
    assert len(hosts) == len(read_csv(paths["capacity.csv"]))
    assert len(read_csv(paths["endpoints.csv"])) == len(session.catalog)
    summary = read_csv(paths["summary.csv"])
    assert summary.groupby("by")["servers"].sum().eq(len(servers)).all()
    raw = pd.read_csv(paths["servers.csv"], dtype=str)  # what the file holds
    assert raw["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert str(servers["created_at"].dt.tz) == "UTC"  # and what read_csv makes of it
    placed = servers["host_id"].notna()  # an unscheduled server has no NICs yet
    assert servers.loc[placed, "nics"].map(lambda v: isinstance(v, list)).all()
    capacity = read_csv(paths["capacity.csv"])
    assert capacity["over_committed"].dtype == bool
    assert capacity["cpu_commit"].dtype == "int64"


def test_report_csvs_hold_the_hostile_names_escaped_and_round_trip(report, sandbox):
    _, paths = report
    raw = paths["servers.csv"].read_text(encoding="utf-8")
    for name in HOSTILE_NAMES:
        assert escape_formula(name).replace('"', '""') in raw
    for file in ("servers.csv", "hosts.csv", "endpoints.csv", "summary.csv", "capacity.csv"):
        cells = _csv_cells(paths[file])
        assert not [c for row in cells for c in row if _dangerous(c)], file
    plain = pd.read_csv(paths["servers.csv"])  # pandas as is: escaped, still one row per server
    hostile = set(HOSTILE_NAMES)
    names = set(plain["name"])
    assert {escape_formula(n) for n in hostile} <= names
    assert len(plain) == len(read_csv(paths["servers.csv"]))
    back = read_csv(paths["servers.csv"])  # and cpexplore's reader gives the names back
    assert hostile <= set(back["name"])
    multiline = back[back["name"] == "db-line1\nline2"]
    assert len(multiline) == 1 and multiline.iloc[0]["status"] in {
        "running",
        "ready",
        "unknown",
        "deploying",
        "starting",
        "stopping",
        "start_fail",
    }


def test_report_index_html_shows_tables_charts_and_links(report):
    out, paths = report
    page = paths["index.html"].read_text(encoding="utf-8")
    for name in ("servers.csv", "hosts.csv", "endpoints.csv", "summary.csv", "capacity.csv"):
        assert f"href='{name}'" in page
    assert "By status" in page and "By cloud region" in page and "over-committed" in page
    assert "commit rate = vCPUs (memory) of the host&#x27;s running servers" in page
    assert "<script" not in page.lower()
    # the tables are the widgets' renderer's (cpexplore.markup), their style given once
    assert 'class="cpx-table"' in page and page.count(".cpx-table{") == 1
    pngs = [n for n in paths if n.endswith(".png")]
    assert len(pngs) == 5
    for n in pngs:
        assert f"src='{n}'" in page
        data = paths[n].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_report_never_contains_a_secret(report, sandbox):
    out, _ = report
    secrets = [sandbox.access_key, sandbox.secret_key, sandbox.password, sandbox.member_password]
    secrets += list(sandbox.identity.tokens)
    for p in out.iterdir():
        data = p.read_bytes()
        for s in secrets:
            assert s.encode() not in data, p.name


def test_member_report_has_its_project_and_notes_hidden_hosts(sandbox, tmp_path):
    from cpexplore import Session

    env = {
        "OS_AUTH_URL": sandbox.auth_url,
        "OS_USERNAME": sandbox.member_username,
        "OS_PASSWORD": sandbox.member_password,
        "OS_PROJECT_NAME": sandbox.member_project,
        "OS_REGION_NAME": "region0",
    }
    with Session(env=env, progress=False) as s:
        # without a scope a member may not list hosts (the region asks for domain rights)
        with pytest.warns(RuntimeWarning, match="Hosts are not visible"):
            paths = inventory_report(s, tmp_path / "project", scope=None, charts=False)
        # with scope=max it sees the hosts its project uses, with the region's figures
        wide = inventory_report(s, tmp_path / "max", charts=False)
    servers = read_csv(paths["servers.csv"])
    assert len(servers) == sandbox.count("servers", project=sandbox.member_project)
    assert set(servers["tenant"]) == {sandbox.member_project}
    assert "Hosts are not visible" in paths["index.html"].read_text(encoding="utf-8")
    assert not any(n.endswith(".png") for n in paths)
    hosts = read_csv(wide["hosts.csv"])
    capacity = read_csv(wide["capacity.csv"])
    assert len(capacity) == len(hosts) > 0
    assert "Hosts are not visible" not in wide["index.html"].read_text(encoding="utf-8")


def test_an_empty_inventory_still_makes_a_report(tmp_path):
    empty = pd.DataFrame()
    paths = write_inventory_report(empty, empty, empty, tmp_path / "r")
    assert list(paths) == [
        "servers.csv",
        "hosts.csv",
        "endpoints.csv",
        "summary.csv",
        "capacity.csv",
        "index.html",
    ]
    assert read_csv(paths["summary.csv"]).empty
    assert "not drawn" in paths["index.html"].read_text(encoding="utf-8")


def test_report_into_a_file_or_an_unwritable_place_fails_cleanly(session, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ExportError, match="not a directory"):
        write_inventory_report(pd.DataFrame({"status": ["a"]}), pd.DataFrame(), pd.DataFrame(), f)
    with pytest.raises(ExportError, match="no permission"):
        inventory_report(session, _unwritable_dir(tmp_path) / "report", charts=False)


# -- snapshots and diffs -----------------------------------------------------------------------------
def test_snapshot_diff_finds_exactly_the_changes_made(fresh_sandbox, tmp_path):
    from cpexplore import Session

    store = tmp_path / "snaps"
    with Session(**fresh_sandbox.settings(), env={}, progress=False) as s:
        first = snapshot(s, store, format="csv")
        servers = s.list("servers", scope="max")
        ids = sorted(servers["id"])
        stopped = [i for i in ids if servers.set_index("id").loc[i, "status"] == "running"][:2]
        resized, gone = ids[-1], ids[-3:-1]
        old_cpu = int(servers.set_index("id").loc[resized, "vcpu_count"])
        for i in stopped:
            fresh_sandbox.update("servers", i, status="ready")
        fresh_sandbox.update("servers", resized, vcpu_count=old_cpu + 1)
        for i in gone:
            fresh_sandbox.delete("servers", i)
        created = fresh_sandbox.create_servers(2)
        second = snapshot(s, store, format="csv")
        live = s.list("servers", scope="max", refresh=True)

    listed = snapshots(store)
    assert listed["id"].tolist() == [first.name, second.name]
    assert listed.iloc[0]["rows"] == {
        "servers": len(servers),
        "hosts": listed.iloc[0]["rows"]["hosts"],
    }
    assert listed["format"].tolist() == ["csv", "csv"]
    assert (first / "servers.csv.gz").is_file() and (first / "manifest.json").is_file()

    # every write moves updated_at and update_version, as on a real region
    bookkeeping = {"updated_at", "update_version"}
    everything = diff_snapshots(store)["servers"].changed
    assert set(everything["column"]) == {"status", "vcpu_count"} | bookkeeping
    assert set(everything.loc[everything["column"].isin(bookkeeping), "id"]) == {*stopped, resized}
    diffs = diff_snapshots(store, ignore=bookkeeping)
    d = diffs["servers"]
    assert isinstance(d, Diff) and (d.old_id, d.new_id) == (first.name, second.name)
    assert set(d.added["id"]) == set(created)
    assert set(d.removed["id"]) == set(gone)
    got = {(r.id, r.column, r.old, r.new) for r in d.changed.itertuples()}
    want = {(i, "status", "running", "ready") for i in stopped}
    want.add((resized, "vcpu_count", old_cpu, old_cpu + 1))
    assert got == want
    assert sorted(d.changed_keys) == sorted([*stopped, resized])
    # hosts change only in what they count of their guests, as the region's do
    hosts = diffs["hosts"]
    assert hosts.added.empty and hosts.removed.empty
    counters = {c for c in hosts.changed["column"]}
    assert counters and all(
        c.endswith(("_guests", "guests", "_commit", "_rate", "_used", "_free")) for c in counters
    )
    assert {"cpu_commit", "running_guests"} <= counters  # the stopped servers freed their CPUs
    touched = set(servers.set_index("id").loc[[*stopped, resized, *gone], "host_id"].dropna())
    touched |= set(live.set_index("id").loc[created, "host_id"].dropna())
    assert set(hosts.changed["id"]) <= touched
    assert d.summary()["rows"].tolist() == [2, 2, 3]
    long = d.to_frame()
    assert long["change"].value_counts().to_dict() == {"changed": 3, "added": 2, "removed": 2}

    # a snapshot reads back typed, and equal as data to a fresh list
    back = load_snapshot(store, second.name[:-1], "servers")  # a unique prefix
    assert str(back["created_at"].dtype) == "datetime64[ns, UTC]" or "UTC" in str(
        back["created_at"].dtype
    )
    assert isinstance(back["nics"].dropna().iloc[0], list)
    assert back.attrs["snapshot"] == second.name
    assert diff(live, back).empty


def test_snapshot_stores_no_secret_and_reads_hostile_names_back(session, sandbox, tmp_path):
    path = snapshot(session, tmp_path, resources=("servers",), format="csv")
    back = load_snapshot(tmp_path, path.name, "servers")
    assert set(HOSTILE_NAMES) <= set(back["name"])  # machine format: not escaped
    secrets = [sandbox.access_key, sandbox.secret_key, sandbox.password, *sandbox.identity.tokens]
    for p in path.iterdir():
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        assert not any(s.encode() in data for s in secrets), p.name
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["user"] == sandbox.username and manifest["resources"]["servers"]["rows"] == len(
        back
    )


def test_parquet_snapshot_round_trips(session, tmp_path):
    pytest.importorskip("pyarrow")
    path = snapshot(session, tmp_path, resources=("servers", "hosts"))  # default: parquet
    assert (path / "servers.parquet").is_file()
    back = load_snapshot(tmp_path, resource="servers")
    assert set(HOSTILE_NAMES) <= set(back["name"])
    assert diff(session.list("servers", scope="max"), back).empty


def test_snapshot_errors(session, tmp_path):
    with pytest.raises(CpExploreError, match="no snapshots"):
        diff_snapshots(tmp_path)
    snapshot(session, tmp_path, resources=("hosts",), format="csv")
    with pytest.raises(CpExploreError, match="needs two snapshots"):
        diff_snapshots(tmp_path)
    with pytest.raises(CpExploreError, match="does not exist"):
        load_snapshot(tmp_path, "1999")
    with pytest.raises(CpExploreError, match="has no 'servers'"):
        load_snapshot(tmp_path, resource="servers")
    with pytest.raises(ConfigError, match="format"):
        snapshot(session, tmp_path, format="xlsx")
    assert snapshots(tmp_path / "missing").empty


def test_diff_compares_data_not_dtypes():
    old = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "n": np.array([1, 2, 3], dtype="int8"),
            "tags": [["x"], [], None],
            "at": pd.to_datetime(["2026-01-01", "2026-01-02", None], utc=True),
            "gone": [1, 2, 3],
        }
    )
    new = pd.DataFrame(
        {
            "id": pd.Categorical(["c", "b", "a"]),
            "n": pd.array([3, 5, 1], dtype="Int64"),
            "tags": [None, "[]", '["x"]'],
            "at": [None, "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"],
            "fresh": [0, 0, 0],
        }
    )
    d = diff(old, new)
    assert d.added.empty and d.removed.empty
    assert d.changed.to_dict("records") == [{"id": "b", "column": "n", "old": 2, "new": 5}]
    assert d.columns_added == ["fresh"] and d.columns_removed == ["gone"]
    assert diff(old, new, ignore=["n"]).empty
    assert repr(d) == "Diff(key='id', added=0, removed=0, changed=1 rows / 1 cells)"


def test_diff_needs_a_unique_key():
    df = pd.DataFrame({"id": ["a", "a"], "x": [1, 2]})
    with pytest.raises(CpExploreError, match="not unique"):
        diff(df, df)
    with pytest.raises(MissingColumns, match="uuid"):
        diff(df, df, key="uuid")


def test_reports_export_the_report_and_nothing_of_other_modules():
    """One import for each job: files for files, snapshots for snapshots."""
    assert cpexplore.reports.__all__ == ["write_inventory_report", "inventory_report"]
    for name in ("snapshot", "diff", "to_csv", "read_csv", "capacity_table", "summary_table"):
        assert name not in cpexplore.reports.__all__
    assert cpexplore.snapshots.Diff is Diff
    with pytest.raises(AttributeError, match="no_such_name"):
        cpexplore.reports.no_such_name  # noqa: B018


def test_a_report_whose_servers_lack_allocations_notes_the_capacity(tmp_path):
    servers = pd.DataFrame({"status": ["running"], "host_id": ["h1"]})
    hosts = pd.DataFrame({"id": ["h1"], "name": ["h1"], "cpu_count": [4], "mem_size": [8192]})
    paths = write_inventory_report(servers, hosts, pd.DataFrame(), tmp_path / "r", charts=False)
    assert paths["capacity.csv"].read_text(encoding="utf-8").strip() == ""
    page = paths["index.html"].read_text(encoding="utf-8")
    assert "Host capacity: not computed" in page and "vcpu_count" in page


def test_a_report_of_sparse_records_shows_unscheduled_servers(tmp_path):
    # as a real region answers: an unscheduled server has no host, zone or cloud region keys
    servers = pd.DataFrame(
        [
            {
                "id": "a",
                "name": "web",
                "status": "running",
                "host_id": "i1",
                "host": "h1",
                "zone": "z1",
                "cloudregion": "Default",
                "vcpu_count": 4,
                "vmem_size": 4096,
                "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
            },
            {
                "id": "b",
                "name": "new-2",
                "status": "sched_fail",
                "vcpu_count": 4,
                "vmem_size": 4096,
                "created_at": pd.Timestamp("2026-02-01", tz="UTC"),
            },
        ]
    )
    hosts = pd.DataFrame({"id": ["i1"], "name": ["h1"], "cpu_count": [2], "mem_size": [8192]})
    paths = write_inventory_report(servers, hosts, pd.DataFrame(), tmp_path / "r")
    summary = read_csv(paths["summary.csv"])
    zones = summary[summary["by"] == "zone"].set_index("value")["servers"].to_dict()
    assert zones == {"z1": 1, "(unscheduled)": 1}
    capacity = read_csv(paths["capacity.csv"])
    assert capacity.loc[0, "cpu_commit"] == 4 and capacity.loc[0, "cpu_commit_rate"] == 2.0
    assert not capacity.loc[0, "over_committed"]  # 2.0 is within the default bound of 8
    page = paths["index.html"].read_text(encoding="utf-8")
    assert "1 servers are on no host listed here (1 of them unscheduled)" in page
    assert "chart_capacity.png" in paths and "chart_regions.png" in paths
    # the same with no placement columns at all, and with all of them empty
    bare = servers.drop(columns=["host_id", "host", "zone", "cloudregion"])
    paths = write_inventory_report(bare, hosts, pd.DataFrame(), tmp_path / "bare")
    assert read_csv(paths["capacity.csv"]).loc[0, "cpu_commit"] == 0
    empty = servers.assign(host_id=None, host=None, zone=None, cloudregion=None)
    paths = write_inventory_report(empty, hosts, pd.DataFrame(), tmp_path / "empty")
    zones = read_csv(paths["summary.csv"]).query("by == 'zone'")["value"].tolist()
    assert zones == ["(unscheduled)"]


def test_report_capacity_is_in_the_charts_order(report):
    _, paths = report
    capacity = read_csv(paths["capacity.csv"])
    assert capacity["over_committed"].is_monotonic_decreasing
    page = paths["index.html"].read_text(encoding="utf-8")
    section = page.split("<h2>Host capacity", 1)[1]
    first_row = section.split("<td>", 2)[1].split("</td>", 1)[0]
    assert first_row == capacity.loc[0, "host"]  # the chart draws the same table from the top


def test_files_reports_and_snapshots_import_one_way_by_public_names():
    import ast
    import importlib
    import inspect

    names = ("files", "reports", "snapshots", "summaries", "plots", "widgets", "gather")
    modules = {
        n: ast.parse(inspect.getsource(importlib.import_module(f"cpexplore.{n}"))) for n in names
    }
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports {private} from .{node.module}"
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in functions, name
    imported_by_snapshots = {
        n.module for n in ast.walk(modules["snapshots"]) if isinstance(n, ast.ImportFrom)
    }
    assert "reports" not in imported_by_snapshots and "files" in imported_by_snapshots


def test_a_snapshot_reads_back_with_the_types_it_was_taken_with(session, tmp_path):
    path = snapshot(session, tmp_path, resources=("servers", "hosts"), format="csv")
    for resource in ("servers", "hosts"):
        live = session.list(resource, scope="max")
        back = load_snapshot(tmp_path, path.name, resource)
        assert list(back.columns) == list(live.columns)
        kinds = {c: (live[c].dtype.kind, back[c].dtype.kind) for c in live.columns}
        assert {c: k for c, k in kinds.items() if k[0] != k[1]} == {}, resource
        assert diff(live, back).empty
