"""SQL over the cloud: resources are tables, fetched on first use; the joined views; history
over every snapshot of a store; one-line errors."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest
from test_cli import assert_one_line_error, cloud, run  # noqa: F401  (cloud is a fixture)

from cpexplore import SqlError, UnknownResource
from cpexplore.snapshots import history, store_snapshot
from cpexplore.sql import referenced_columns, server_inventory
from cpexplore.summaries import capacity_table


def test_sql_answers_equal_the_pandas_computation(session):
    got = session.sql("SELECT status, count(*) AS n FROM servers GROUP BY status ORDER BY status")
    servers = session.list("servers", scope="max", warn_cached=False)
    want = servers["status"].astype(str).value_counts().sort_index()
    assert got["status"].tolist() == want.index.tolist()
    assert got["n"].tolist() == want.tolist() and got["n"].dtype == "int64"


def test_a_join_of_two_resources_equals_a_hand_made_merge(session):
    got = session.sql(
        "SELECT h.name AS host, sum(s.vcpu_count) AS vcpus FROM servers s "
        "JOIN hosts h ON s.host_id = h.id GROUP BY h.name ORDER BY h.name"
    )
    servers = session.list("servers", scope="max", warn_cached=False)
    hosts = session.list("hosts", scope="max", warn_cached=False)
    merged = servers.merge(hosts[["id", "name"]], left_on="host_id", right_on="id")
    want = merged.groupby(merged["name_y"].astype(str))["vcpu_count"].sum().sort_index()
    assert got["host"].tolist() == want.index.tolist()
    assert got["vcpus"].tolist() == want.tolist()


def test_the_server_inventory_view_equals_the_servers_own_joined_fields(session):
    got = session.sql(
        "SELECT id, host, zone, cloudregion, project, vcpu_count FROM server_inventory"
    )
    servers = session.list("servers", scope="max", warn_cached=False).set_index("id")
    got = got.set_index("id").loc[servers.index]
    for ours, theirs in (("host", "host"), ("zone", "zone"), ("project", "tenant")):
        a, b = got[ours].astype(object), servers[theirs].astype(object)
        assert ((a == b) | (a.isna() & b.isna())).all(), ours
    assert session.inventory().shape[0] == len(servers)


def test_the_host_capacity_view_uses_the_regions_own_commit_rates(session):
    got = session.sql("SELECT host_id, cpu_commit_rate, over_committed FROM host_capacity")
    hosts = session.list("hosts", scope="max", warn_cached=False).set_index("id")
    rates = got.set_index("host_id")["cpu_commit_rate"]
    assert (rates - hosts.loc[rates.index, "cpu_commit_rate"]).abs().max() < 1e-9


INVENTORY = [
    "id",
    "name",
    "status",
    "hypervisor",
    "vcpu_count",
    "vmem_size",
    "disk_mb",
    "host",
    "host_id",
    "zone",
    "cloudregion",
    "project",
    "project_id",
    "project_domain",
    "os_type",
    "created_at",
]


def test_the_views_are_sql_views_in_the_querys_cursor(session):
    got = session.sql(
        "SELECT view_name, sql FROM duckdb_views(), "
        "(SELECT count(*) FROM server_inventory, host_capacity) WHERE NOT internal"
    )
    views = dict(zip(got["view_name"], got["sql"], strict=True))
    assert re.search(
        r"VIEW server_inventory AS SELECT .*tenant AS project.* FROM servers",
        views["server_inventory"],
    )
    assert re.search(r"VIEW host_capacity AS SELECT .* FROM capacity_table", views["host_capacity"])
    assert "server_inventory" not in set(
        session.sql("SELECT view_name FROM duckdb_views()")["view_name"]
    )


def test_the_server_inventory_view_renames_and_keeps_the_servers_values(session):
    got = session.sql("SELECT * FROM server_inventory")
    assert list(got.columns) == INVENTORY
    assert got["vcpu_count"].dtype == "int64" and got["created_at"].dtype == "datetime64[ns, UTC]"
    servers = session.list("servers", scope="max", warn_cached=False)
    source = {"project": "tenant", "project_id": "tenant_id", "disk_mb": "disk"}
    want = servers.set_index("id")
    got = got.set_index("id").loc[want.index]
    for c in INVENTORY[1:]:
        a, b = got[c].astype(object), want[source.get(c, c)].astype(object)
        assert ((a == b) | (a.isna() & b.isna())).all(), c
    pd.testing.assert_frame_equal(
        session.inventory(), session.sql("SELECT * FROM server_inventory")
    )
    # a query naming only a renamed column, or the servers too, still gets the view's values
    named = session.sql("SELECT project, disk_mb FROM server_inventory")
    assert named["project"].notna().all() and named["disk_mb"].sum() == servers["disk"].sum()
    both = session.sql(
        "SELECT count(*) AS n FROM servers s JOIN server_inventory i ON s.id = i.id "
        "WHERE i.project = s.tenant AND i.disk_mb = s.disk"
    )
    assert both["n"].iloc[0] == len(servers)


def test_a_column_the_servers_lack_is_a_typed_null_in_the_inventory():
    got = server_inventory(pd.DataFrame({"id": ["a"], "tenant": ["p"], "vcpu_count": [2]}))
    assert list(got.columns) == INVENTORY
    assert got["project"].tolist() == ["p"] and got["vcpu_count"].tolist() == [2]
    assert got[["host", "disk_mb", "created_at"]].isna().all().all()
    assert pd.api.types.is_integer_dtype(got["disk_mb"]) and got["host"].dtype == object
    assert got["created_at"].dtype == "datetime64[ns, UTC]"


def test_the_host_capacity_view_is_the_capacity_table(session):
    hosts = session.list("hosts", scope="max", warn_cached=False)
    want = capacity_table(hosts, source="hosts").reset_index(drop=True)
    got = session.sql("SELECT * FROM host_capacity")
    pd.testing.assert_frame_equal(got, want, check_categorical=False)
    pd.testing.assert_frame_equal(session.host_capacity(), want)
    over = session.sql("SELECT count(*) AS n FROM host_capacity WHERE over_committed")
    assert over["n"].iloc[0] == want["over_committed"].sum()


def test_lists_and_dicts_reach_sql_as_json_text_with_their_values(session):
    got = session.sql(
        "SELECT id, nics, nics->>'$[0].ip_addr' AS ip, json_extract(disks_info, '$[0].size') AS size "
        "FROM servers WHERE nics IS NOT NULL AND disks_info IS NOT NULL LIMIT 20"
    )
    servers = session.list("servers", scope="max", warn_cached=False).set_index("id")
    assert len(got) == 20
    for row in got.itertuples():
        assert json.loads(row.nics) == servers.at[row.id, "nics"]
        assert row.ip == servers.at[row.id, "nics"][0]["ip_addr"]
        assert json.loads(row.size) == servers.at[row.id, "disks_info"][0]["size"]  # a number


def test_only_the_named_columns_reach_duckdb_and_a_row_is_every_column(session):
    zones = session.list("zones", scope="max", warn_cached=False)
    row = session.sql("SELECT z FROM zones z LIMIT 1")["z"].iloc[0]
    assert set(row) == set(zones.columns)
    assert sorted(referenced_columns("SELECT s.status FROM servers s", duckdb.connect())) == [
        "status"
    ]
    for query in ("SELECT * FROM servers", "SELECT s FROM servers s", "SELEC 1"):
        assert referenced_columns(query, duckdb.connect()) is None, query


def test_the_result_says_what_it_read_and_how_fresh(session):
    df = session.sql("SELECT count(*) AS n FROM zones")
    info = df.attrs["cpexplore"]
    assert set(info.tables) == {"zones"} and info.scope == "max"
    assert "fetched" in info.tables["zones"]


@pytest.mark.parametrize(
    "query, error, needle",
    [
        ("SELECT * FROM serverz", UnknownResource, "did you mean 'servers'"),
        ("SELEC 1", SqlError, "syntax error"),
        ("SELECT nmae FROM servers", SqlError, '"name"'),
        ("SELECT * FROM history.servers", Exception, "no snapshot store"),
    ],
)
def test_errors_are_one_line(session, query, error, needle):
    with pytest.raises(error, match=needle.replace("(", r"\(")) as e:
        session.sql(query)
    assert "\n" not in str(e.value)


def _day(frame: pd.DataFrame, day: int, rng_seed: int) -> pd.DataFrame:
    """The inventory a few days on: some servers stopped, a few new ones."""
    out = frame.copy()
    flip = out.sample(frac=0.1, random_state=rng_seed).index
    out.loc[flip, "status"] = "ready"
    return out


def test_history_spans_csv_era_and_parquet_snapshots(session, tmp_path):
    servers = session.list("servers", scope="max", warn_cached=False)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store_snapshot(tmp_path, {"servers": servers}, taken_at=start, format="csv")
    for d in (1, 2):
        store_snapshot(
            tmp_path, {"servers": _day(servers, d, d)}, taken_at=start + timedelta(days=d)
        )
    con = history(tmp_path)
    got = con.sql(
        "SELECT snapshot_at::date AS day, count(*) AS n, count(*) FILTER (status = 'running') AS up "
        "FROM history.servers GROUP BY ALL ORDER BY day"
    ).df()
    con.close()
    assert got["n"].tolist() == [len(servers)] * 3
    running = int((servers["status"].astype(str) == "running").sum())
    assert got["up"].iloc[0] == running and got["up"].iloc[1] < running
    typed = session.sql(
        "SELECT typeof(vcpu_count) AS t, typeof(created_at) AS c FROM history.servers LIMIT 1",
        history=tmp_path,
    )
    assert typed["t"].iloc[0] == "BIGINT" and typed["c"].iloc[0].startswith("TIMESTAMP")


def test_the_sql_command_prints_tables_csv_and_json(cloud, capsys):  # noqa: F811
    query = "SELECT name FROM servers WHERE name LIKE '=%' OR name LIKE '+%'"
    rc, out, _ = run(capsys, "sql", query, "-f", "csv")
    assert rc == 0
    names = [r[0] for r in csv.reader(io.StringIO(out))][1:]
    assert names and all(n.startswith("'") for n in names)  # spreadsheet-safe
    rc, out, _ = run(capsys, "sql", query, "-f", "json")
    assert rc == 0 and all(r["name"][0] in "=+" for r in json.loads(out))  # raw
    rc, out, _ = run(capsys, "sql", "SELECT count(*) AS n FROM zones")
    assert rc == 0 and "read zones" in out


def test_sql_command_errors_exit_2_with_one_line(cloud, capsys):  # noqa: F811
    rc, _, err = run(capsys, "sql", "SELECT * FROM serverz")
    assert rc == 2
    assert_one_line_error(err, "no table 'serverz'")
    rc, _, err = run(capsys, "sql", "SELEC 1")
    assert rc == 2
    assert_one_line_error(err, "syntax error")


def test_the_resources_command_lists_the_registry(capsys):
    rc, out, _ = run(capsys, "resources", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and {"servers", "elasticcaches", "policies"} <= {r["name"] for r in rows}
