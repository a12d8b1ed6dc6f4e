"""Pages decoded straight into Arrow columns give exactly the frame the dicts would give;
where Arrow could not hold a page exactly, the page goes the ordinary way."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
import requests

from cpexplore.lists.decode import page_table, pages_to_frame, records_to_frame, tables_to_frame


def _pages(session, resource: str, size: int = 500) -> list[bytes]:
    url = session.url_for("compute") + f"/{resource}"
    out, offset = [], 0
    while True:
        resp = requests.get(
            url,
            params={"scope": "system", "limit": size, "offset": offset},
            headers={"X-Auth-Token": session.token.id},
            timeout=30,
        )
        body = orjson.loads(resp.content)
        out.append(resp.content)
        offset += len(body[resource])
        if not body[resource] or offset >= body.get("total", 0):
            return out


@pytest.mark.parametrize("resource", ["servers", "hosts", "networks", "disks", "events"])
def test_arrow_pages_make_the_same_frame_as_dicts(session, resource):
    pages = _pages(session, resource) if resource != "events" else _pages(session, resource, 2048)
    tables = [page_table(p, resource)[0] for p in pages]
    records = [r for p in pages for r in orjson.loads(p)[resource]]
    pd.testing.assert_frame_equal(tables_to_frame(tables), records_to_frame(records))


def test_nested_values_come_back_as_the_json_had_them(session):
    pages = _pages(session, "servers")
    frame = tables_to_frame([page_table(p, "servers")[0] for p in pages])
    raw = {r["id"]: r for p in pages for r in orjson.loads(p)["servers"]}
    for rid, nics in zip(frame["id"], frame["nics"], strict=True):
        assert nics == raw[rid].get("nics")  # no keys filled with None


@pytest.mark.parametrize(
    "body",
    [
        b'{"servers":[{"id":"a","v":1},{"id":"b","v":"x"}]}',  # number and text in one field
        b'{"servers":[{"id":"a","v":18446744073709551615}]}',  # beyond int64
        b'{"servers":[{"id":"a","v":9007199254740993.0}]}',  # not exact as a float
        b'{"servers":[{"id":"a","v":"2026-01-01"}]}',  # Arrow would make it a date
        b"<html>not json</html>",
    ],
)
def test_pages_arrow_cannot_hold_exactly_are_left_to_the_dicts(body):
    assert page_table(body, "servers") is None


def test_pages_whose_types_differ_are_joined_through_the_dicts():
    a, _ = page_table(b'{"servers":[{"id":"a","v":1}]}', "servers")
    b, _ = page_table(b'{"servers":[{"id":"b","v":"x"}]}', "servers")
    df = pages_to_frame([a, b])
    assert df["v"].tolist() == [1, "x"]


def test_the_envelope_and_empty_pages():
    table, envelope = page_table(b'{"limit":20,"servers":[],"total":0}', "servers")
    assert table.num_rows == 0 and envelope == {"limit": 20, "total": 0}
    _, marker = page_table(b'{"events":[{"id":3}],"next_marker":"2"}', "events")
    assert marker == {"next_marker": "2"}


def test_pages_with_their_lists_converted_early_make_the_same_frame(session):
    from cpexplore.lists.decode import arrow_page

    pages = _pages(session, "servers")
    early = [arrow_page(page_table(p, "servers")[0]) for p in pages]
    late = [page_table(p, "servers")[0] for p in pages]
    pd.testing.assert_frame_equal(tables_to_frame(early), tables_to_frame(late))
    kept = early[0].filter([i % 2 == 0 for i in range(early[0].num_rows)])
    assert kept.num_rows == len(kept.lists["nics"]) == (early[0].num_rows + 1) // 2
