"""Paging against a region that misbehaves the way real ones can: the rows and the requests.

Every test lists through ``Session.list`` from a :class:`fakes.FakeRegion` and checks both
what the user gets (every row once, in order, no more than asked) and what the region was
asked (how many requests, with which ``limit``/``offset``/``paging_marker``).
"""

from __future__ import annotations

import warnings

import pytest
from fakes import FakeRegion

from cpexplore import PagingDriftWarning, PartialResultWarning, Session, list_info
from cpexplore.errors import ApiError


def _servers(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"s{i:05d}", "name": f"vm-{i:05d}"} for i in range(start, start + n)]


def _list(region: FakeRegion, resource: str = "servers", **kwargs):
    with Session(**region.settings(), env={}, progress=False, cache_ttl=0) as s:
        return s.list(resource, **kwargs)


def _asked(region: FakeRegion) -> list[tuple]:
    return [(r.get("limit"), r.get("offset"), r.get("paging_marker")) for r in region.requests]


def test_every_page_is_fetched_once_and_put_back_in_order() -> None:
    with FakeRegion(_servers(5000)) as region:
        df = _list(region, page_size=1000)
    assert df["id"].tolist() == [f"s{i:05d}" for i in range(5000)]
    assert sorted(_asked(region)) == sorted(
        [("1000", str(off), None) for off in range(0, 5000, 1000)]
    )


def test_short_pages_advance_by_the_rows_received() -> None:
    """A region that answers at most 300 rows whatever ``limit`` asks (a proxy, a cap)."""
    with FakeRegion(_servers(1000), max_page=300) as region, warnings.catch_warnings():
        warnings.simplefilter("error", PagingDriftWarning)
        df = _list(region)
    assert df["id"].tolist() == [f"s{i:05d}" for i in range(1000)]
    asked = sorted(_asked(region), key=lambda r: int(r[1]))
    assert asked == [
        ("2048", "0", None),
        ("300", "300", None),
        ("300", "600", None),
        ("100", "900", None),
    ]


def test_a_limit_smaller_than_a_page_is_one_request_for_those_rows() -> None:
    with FakeRegion(_servers(20000)) as region, warnings.catch_warnings():
        warnings.simplefilter("error")  # no drift warning: the limit is not missing rows
        df = _list(region, limit=5)
    assert df["id"].tolist() == [f"s{i:05d}" for i in range(5)]
    assert _asked(region) == [("5", "0", None)]


def test_a_limit_across_pages_asks_only_for_what_is_left() -> None:
    with FakeRegion(_servers(20000)) as region:
        df = _list(region, limit=250, page_size=100)
    assert df["id"].tolist() == [f"s{i:05d}" for i in range(250)]
    assert sorted(_asked(region), key=lambda r: int(r[1])) == [
        ("100", "0", None),
        ("100", "100", None),
        ("50", "200", None),
    ]


def test_rows_deleted_while_paging_are_reported_never_invented() -> None:
    def delete_ten(n: int, params: dict, region: FakeRegion) -> None:
        if n == 1:
            del region.rows[:10]

    with (
        FakeRegion(_servers(300), before_page=delete_ten) as region,
        pytest.warns(PagingDriftWarning, match="total went 300 → 290"),
    ):
        df = _list(region, page_size=100, max_workers=1)
    ids = df["id"].tolist()
    assert len(ids) == len(set(ids)) == 290
    assert set(ids) <= {f"s{i:05d}" for i in range(300)}
    drift = list_info(df).drift
    assert drift["totals_seen"] == (300, 290) and drift["missing"] == 10


def test_rows_inserted_while_paging_are_never_doubled() -> None:
    def insert_ten(n: int, params: dict, region: FakeRegion) -> None:
        if n == 1:
            region.rows[:0] = _servers(10, start=90000)

    with (
        FakeRegion(_servers(300), before_page=insert_ten) as region,
        pytest.warns(PagingDriftWarning, match="total went 300 → 310"),
    ):
        df = _list(region, page_size=100, max_workers=1)
    ids = df["id"].tolist()
    assert len(ids) == len(set(ids)) == 290  # the 10 rows pushed into the next page: once
    assert list_info(df).duplicates_dropped == 10
    assert list_info(df).drift["missing"] == 10


def test_fewer_rows_than_the_total_promises_is_drift() -> None:
    def truncate(n: int, params: dict, region: FakeRegion) -> None:
        if n == 2:
            region.max_page = 40

    with (
        FakeRegion(_servers(300), before_page=truncate) as region,
        pytest.warns(PagingDriftWarning, match="came back short"),
    ):
        df = _list(region, page_size=100, max_workers=1)
    assert len(df) == 240
    assert list_info(df).drift["short_pages"] == (200,)


@pytest.mark.parametrize("kind", [int, str], ids=["numeric markers", "string markers"])
def test_marker_pages_follow_next_marker(kind) -> None:
    events = [{"id": kind(i) if kind is int else f"{i:06d}", "action": "x"} for i in range(1, 46)]
    with FakeRegion([], events=events) as region:
        df = _list(region, "events", page_size=20)
    want = sorted((e["id"] for e in events), reverse=True)
    assert df["id"].tolist() == want
    markers = [r[2] for r in _asked(region)]
    assert markers == [None, str(want[20]), str(want[40])]
    assert [r[0] for r in _asked(region)] == ["20", "20", "20"]


def test_a_limit_on_marker_pages_stops_at_it() -> None:
    events = [{"id": i, "action": "x"} for i in range(1, 101)]
    with FakeRegion([], events=events) as region:
        df = _list(region, "events", page_size=20, limit=30)
    assert df["id"].tolist() == list(range(100, 70, -1))
    assert [r[0] for r in _asked(region)] == ["20", "10"]


def test_a_failed_marker_page_keeps_what_arrived_when_asked() -> None:
    events = [{"id": i, "action": "x"} for i in range(1, 61)]
    with (
        FakeRegion([], events=events, fail_pages=frozenset({1})) as region,
        pytest.warns(PartialResultWarning, match="1 page"),
    ):
        df = _list(region, "events", page_size=20, on_error="partial")
    assert df["id"].tolist() == list(range(60, 40, -1))
    info = list_info(df)
    assert info.partial and info.failed_pages[0]["paging_marker"] == "40"
    with (
        FakeRegion([], events=events, fail_pages=frozenset({1})) as region,
        pytest.raises(ApiError, match="boom"),
    ):
        _list(region, "events", page_size=20)


def test_a_failed_offset_page_is_named_and_the_rest_kept() -> None:
    with (
        FakeRegion(_servers(500), fail_pages=frozenset({2})) as region,
        pytest.warns(PartialResultWarning),
    ):
        df = _list(region, page_size=100, max_workers=1, on_error="partial")
    assert len(df) == 400
    assert [dict(p)["offset"] for p in list_info(df).failed_pages] == [200]


def test_an_empty_list_is_one_request() -> None:
    with FakeRegion([]) as region:
        df = _list(region)
    assert df.empty and _asked(region) == [("2048", "0", None)]
