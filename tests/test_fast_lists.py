"""Fast lists: concurrent pages equal a sequential fetch; a visible cache; lean frames."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cpexplore import Session
from cpexplore.errors import PagingDriftWarning
from cpexplore.lists.cache import ListCache
from cpexplore.lists.info import list_info
from cpexplore.lists.pages import PAGE_SIZE, fetch_all
from cpexplore.lists.request import list_request
from cpexplore.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def big():
    """A sandbox large enough for many pages (≈ 7 000 rows in region0)."""
    with Sandbox(servers=10_000, seed=21) as sb:
        yield sb


def _session(sb: Sandbox, **kw) -> Session:
    return Session(**sb.settings(), env={}, progress=False, **kw)


def test_concurrent_and_sequential_fetches_are_identical(big):
    with _session(big, page_size=500, cache_ttl=0) as s:
        seq = s.list("servers", scope="system", max_workers=1)
        par = s.list("servers", scope="system", max_workers=8)
    assert list_info(seq).pages == list_info(par).pages > 10
    pd.testing.assert_frame_equal(seq, par)
    assert list(par["id"]) == [r["id"] for r in _raw_order(big)]


def _raw_order(sb: Sandbox) -> list[dict]:
    table = sb.inventory.tables["servers"]
    return [table.record(i) for i in range(table.count) if table.region[i] == "region0"][::-1]


def test_concurrent_and_sequential_are_identical_under_faults():
    with (
        Sandbox(servers=6000, seed=8, fault_rate=0.2, retry_after=0) as sb,
        _session(sb, page_size=400, cache_ttl=0) as s,
    ):
        seq = s.list("servers", scope="system", max_workers=1)
        par = s.list("servers", scope="system", max_workers=6)
        pd.testing.assert_frame_equal(seq, par)
        assert set(par["id"]) == sb.ids("servers") and par["id"].is_unique
        assert sum(sb.faults.counts.values()) > 5


def test_the_page_size_defaults_to_the_server_maximum(session):
    df = session.list("servers", scope="system", refresh=True)
    assert PAGE_SIZE == 2048 and list_info(df).pages == -(-len(df) // 2048)


def test_marker_paged_resources_stay_sequential():
    calls = []

    def get_page(p):
        calls.append(dict(p))
        start = int(p.get("paging_marker", 10))
        ids = list(range(start, max(start - p["limit"], 0), -1))
        nxt = str(ids[-1] - 1) if ids and ids[-1] > 1 else None
        return {"events": [{"id": i} for i in ids], **({"next_marker": nxt} if nxt else {})}

    res = fetch_all(
        get_page, "events", {}, marker_paged=True, page_size=3, max_workers=8, progress=False
    )
    assert [r["id"] for r in res.records] == list(range(10, 0, -1))
    assert [c.get("paging_marker") for c in calls] == [None, "7", "4", "1"]


def test_rows_are_deduplicated_by_id_keeping_order():
    pages = {
        0: {"x": [{"id": 1}, {"id": 2}], "total": 4},
        2: {"x": [{"id": 2}, {"id": 3}], "total": 4},
    }
    with pytest.warns(PagingDriftWarning, match="1 row.s. came twice"):
        res = fetch_all(lambda p: pages[p["offset"]], "x", {}, page_size=2, progress=False)
    assert [r["id"] for r in res.records] == [1, 2, 3] and res.duplicates == 1
    assert res.drift["missing"] == 1  # a row came twice, so another one was never seen


# -- progress ------------------------------------------------------------------------------------
def test_progress_shows_rows_when_asked_and_stays_off_when_not_interactive(session, capsys):
    session.list("servers", scope="system", refresh=True, progress=True, page_size=500)
    err = capsys.readouterr().err
    assert "servers" in err and "rows" in err and "pages" in err
    session.list(
        "servers", scope="system", refresh=True, progress=None
    )  # pytest's stderr is no TTY
    session.list("servers", scope="system", refresh=True, progress=False)
    assert capsys.readouterr().err == ""


# -- cache -----------------------------------------------------------------------------------------
def test_a_second_list_comes_from_the_cache_and_says_so(big):
    with _session(big) as s:
        first = s.list("servers", scope="system")
        before = big.requests
        again = s.list("servers", scope="system")
        assert big.requests == before  # no request at all
        assert list_info(first).from_cache is False and list_info(again).from_cache is True
        assert list_info(again).fetched_at == list_info(first).fetched_at
        pd.testing.assert_frame_equal(first, again, check_like=False)


def test_refresh_forces_a_fetch_and_ttl_zero_disables_the_cache(big):
    with _session(big) as s:
        s.list("zones")
        before = big.requests
        assert list_info(s.list("zones", refresh=True)).from_cache is False
        assert big.requests > before
    with _session(big, cache_ttl=0) as s:
        s.list("zones")
        assert list_info(s.list("zones")).from_cache is False
        assert s.cache_info().empty


def test_the_cache_expires_after_its_ttl(big):
    with _session(big, cache_ttl=0.3) as s:
        s.list("zones")
        assert list_info(s.list("zones")).from_cache is True
        time.sleep(0.4)
        assert list_info(s.list("zones")).from_cache is False


def test_the_cache_key_is_resource_parameters_region_and_interface(big):
    with _session(big) as s:
        s.list("servers", scope="system")
        assert list_info(s.list("servers", scope="system", region="region1")).from_cache is False
        assert list_info(s.list("servers", scope="max")).from_cache is False
        assert (
            list_info(
                s.list("servers", scope="system", filters="status.equals('running')")
            ).from_cache
            is False
        )
        assert list_info(s.list("servers", scope="system")).from_cache is True
        info = s.cache_info()
        assert {"resource", "params", "region", "interface", "rows", "bytes", "fetched_at"} <= set(
            info.columns
        )
        assert len(info) == 4 and set(info["region"]) == {"region0", "region1"}
        assert (
            isinstance(info["fetched_at"].dtype, pd.DatetimeTZDtype) and (info["bytes"] > 0).all()
        )
        s.clear_cache()
        assert s.cache_info().empty


def test_a_cached_result_never_sees_the_callers_changes(big):
    with _session(big) as s:
        first = s.list("servers", scope="system")
        original = first["status"].copy()
        first["status"] = "tampered"
        first.loc[first.index[0], "vcpu_count"] = 100
        with pytest.raises(TypeError):  # what a list was cannot be rewritten afterwards
            list_info(first).params["scope"] = "tampered"
        del first["name"]
        again = s.list("servers", scope="system")
        assert (again["status"] == original).all() and "name" in again.columns
        assert again["vcpu_count"].max() < 100 and list_info(again).params["scope"] == "system"


def test_list_cache_copies_on_the_way_in_and_out():
    cache = ListCache(ttl=60)
    df = pd.DataFrame({"a": [1, 2]})
    key = list_request("servers", region=None, interface="public", params={"p": [1]})
    cache.put(key, df, pd.Timestamp.now(tz="UTC").to_pydatetime())
    df.loc[0, "a"] = 5
    got, _ = cache.get(key)
    assert got["a"].tolist() == [1, 2]
    got.loc[1, "a"] = 7
    assert cache.get(key)[0]["a"].tolist() == [1, 2]


def test_a_listed_frame_can_be_changed_in_place_without_a_cache(big):
    """Columns decoded from Arrow are the frame's own, writable arrays."""
    with _session(big, cache_ttl=0) as s:
        df = s.list("servers", scope="system", limit=5)
        df.loc[0, "vcpu_count"] = 1000
        df.loc[1, "disable_delete"] = not df.loc[1, "disable_delete"]
        assert df.loc[0, "vcpu_count"] == 1000


# -- lean frames ------------------------------------------------------------------------------------
def test_frames_are_built_without_json_normalize(session, monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("pd.json_normalize is the slow path")

    monkeypatch.setattr(pd, "json_normalize", forbidden)
    df = session.list("servers", scope="system", refresh=True)
    assert df["status"].dtype == "category" and df["vcpu_count"].dtype == "int64"


def test_columns_keep_only_what_is_asked_for_and_ask_the_server_for_fields(session, sandbox):
    df = session.list(
        "servers", scope="system", columns=["name", "status", "vcpu_count"], refresh=True
    )
    assert list(df.columns) == ["name", "status", "vcpu_count"]
    assert list(list_info(df).params["field"]) == ["id", "name", "status", "vcpu_count"]
    assert len(df) == sandbox.count("servers")


def test_cpexplore_frames_are_far_leaner_than_json_normalize(session, sandbox):
    df = session.list("servers", scope="system", refresh=True)
    wire = [{k: v for k, v in r.items() if v not in ("", None)} for r in _raw_order(sandbox)]
    naive = pd.json_normalize(wire)
    assert len(naive) == len(df) and set(naive["id"]) == set(df["id"])
    # pandas 3 keeps json_normalize's text in Arrow too, so the margin is smaller than it was
    # with object strings; nested lists (nics, disks) are Python lists on both sides
    assert df.memory_usage(deep=True).sum() < 0.5 * naive.memory_usage(deep=True).sum()


# -- the benchmark runs (it asserts nothing about time) ----------------------------------------------
def test_the_benchmark_runs_on_a_small_inventory():
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "list_servers.py"),
            "--servers",
            "3000",
            "--real-servers",
            "300",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if re.match(r"P\d ", ln)]
    assert [ln.split()[0] for ln in lines] == ["P1", "P2", "P2", "P2", "P3", "P4", "P6", "P6"]
    assert "lean_joined_columns_equal=1.00" in out.stdout
    for ln in lines:
        assert re.fullmatch(r"P\d \w+=\d+\.\d\d target(<=|>=)[\d.]+ (ok|MISSED)", ln), ln
    assert "naive DataFrame deep memory" in out.stdout


def test_short_pages_are_reported_as_missing_rows_even_when_total_is_stable():
    pages = {
        0: {"x": [{"id": 1}, {"id": 2}], "total": 6},
        2: {"x": [{"id": 3}], "total": 6},  # one row short
        4: {"x": [{"id": 5}, {"id": 6}], "total": 6},
    }
    with pytest.warns(PagingDriftWarning, match="1 of the 6 expected rows missing"):
        res = fetch_all(lambda p: pages[p["offset"]], "x", {}, page_size=2, progress=False)
    assert [r["id"] for r in res.records] == [1, 2, 3, 5, 6]
    assert res.drift == {"totals_seen": [6], "short_pages": [2], "missing": 1, "rows": 5}


def test_dotted_columns_ask_the_server_for_their_parent(session):
    df = session.list("images", columns=["name", "properties.os_distribution"], refresh=True)
    assert list(df.columns) == ["name", "properties.os_distribution"]
    assert df["properties.os_distribution"].notna().all()
    assert list(list_info(df).params["field"]) == ["id", "name", "properties"]


def test_a_list_never_touches_the_garbage_collector(session):
    """The user's kernel keeps its own collector settings, during and after a list."""
    import gc
    import threading

    before = (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold())
    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.append((gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        session.list("servers", scope="system", refresh=True)
    finally:
        done.set()
        watcher.join()
    assert set(seen) <= {before}
    assert (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()) == before
