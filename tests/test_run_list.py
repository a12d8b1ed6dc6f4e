"""The list executor on its own: a checked request, run on a fake endpoint of canned pages.

No session, no HTTP: :func:`cpexplore.lists.run.run_list` needs only something that can
``get(path, params) -> bytes``, as ``httpx.MockTransport`` lets a client be tested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import pytest

from cpexplore.errors import ConfigError, Forbidden
from cpexplore.lists.cache import ListCache
from cpexplore.lists.info import list_info
from cpexplore.lists.request import list_request
from cpexplore.lists.run import run_list


@dataclass
class FakeEndpoint:
    """Answers ``GET <path>`` with one page of ``rows[path]`` as a real region pages them."""

    rows: dict[str, list[dict]]
    service_type: str = "compute_v2"
    region: str | None = "region0"
    interface: str = "public"
    url: str = "https://region0:30888"
    asked: list[tuple[str, dict]] = field(default_factory=list)

    def get(self, path: str, params: list[tuple[str, object]] | None = None) -> bytes:
        query = dict(params or [])
        self.asked.append((path, query))
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 2048))
        rows = self.rows[path]
        page = rows[offset : offset + limit]
        return json.dumps(
            {path.rsplit("/", 1)[1]: page, "total": len(rows), "limit": limit}
        ).encode()


SERVERS = [
    {"id": f"s{i}", "name": f"vm{i}", "status": "running" if i % 2 else "ready",
     "vcpu_count": i, "host_id": "h1" if i < 3 else "", "tenant_id": "p1", "domain_id": "d1",
     "zone": "z1" if i < 3 else None, "created_at": "2026-12-01T00:00:00.000000Z"}
    for i in range(5)
]  # fmt: skip


def run(endpoint: FakeEndpoint, cache: ListCache | None = None, refresh: bool = False, **kw):
    request = list_request(
        "servers", region=endpoint.region, interface=endpoint.interface, progress=False, **kw
    )
    frame, cached = run_list(
        request,
        endpoint,
        cache=cache or ListCache(),
        source=lambda service: endpoint,
        refresh=refresh,
        origin="fake",
    )
    return frame, cached


def test_every_page_becomes_one_typed_frame_that_says_where_it_came_from():
    ep = FakeEndpoint({"/servers": SERVERS})
    frame, cached = run(ep, page_size=2)
    assert not cached
    assert frame["id"].tolist() == ["s0", "s1", "s2", "s3", "s4"]
    assert pd.api.types.is_integer_dtype(frame["vcpu_count"])
    assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
    assert [int(q["offset"]) for _, q in ep.asked] == [0, 2, 4]
    info = list_info(frame)
    assert (info.region, info.url, info.rows, info.total, info.pages) == (
        "region0",
        "https://region0:30888/servers",
        5,
        5,
        3,
    )
    assert info.source == "fake"


def test_a_joined_filter_is_applied_here_and_not_sent():
    ep = FakeEndpoint({"/servers": SERVERS})
    frame, _ = run(ep, filters="zone.equals('z1')")
    assert frame["id"].tolist() == ["s0", "s1", "s2"]
    assert all("filter" not in q for _, q in ep.asked)
    assert list_info(frame).filtered_here == ("zone.equals('z1')",)


def test_a_table_filter_is_sent_and_not_applied_twice():
    ep = FakeEndpoint({"/servers": SERVERS})  # the fake ignores filters: all rows come back
    frame, _ = run(ep, filters="status.equals('running')")
    assert ep.asked[0][1]["filter"] == "status.equals('running')"
    assert len(frame) == 5
    assert list_info(frame).filtered_here == ()


def test_the_cache_answers_the_same_request_and_refresh_asks_again():
    ep, cache = FakeEndpoint({"/servers": SERVERS}), ListCache()
    first, _ = run(ep, cache)
    asked = len(ep.asked)
    again, cached = run(ep, cache)
    assert cached and len(ep.asked) == asked
    pd.testing.assert_frame_equal(again, first)
    _, cached = run(ep, cache, refresh=True)
    assert not cached and len(ep.asked) == 2 * asked
    _, cached = run(ep, cache, limit=2)  # another request is another key
    assert not cached


def test_a_lean_list_joins_small_lists_from_their_own_runs():
    ep = FakeEndpoint(
        {
            "/servers": SERVERS,
            "/hosts": [{"id": "h1", "name": "host-1", "zone": "z1", "enabled": True}],
            "/v3/projects": [{"id": "p1", "name": "proj"}],
            "/v3/domains": [{"id": "d1", "name": "Default"}],
        }
    )
    frame, _ = run(ep, details="lean")
    assert frame["host"].tolist()[:3] == ["host-1"] * 3
    assert frame["host"].isna().tolist()[3:] == [True, True]
    assert set(frame["tenant"]) == {"proj"}
    assert {path for path, _ in ep.asked} == {"/servers", "/hosts", "/v3/projects", "/v3/domains"}
    assert next(q for p, q in ep.asked if p == "/servers")["details"] == "false"


def test_a_small_list_that_fails_says_what_lean_needed():
    class Refusing(FakeEndpoint):
        def get(self, path, params=None):
            if path != "/servers":
                raise Forbidden(403, "ForbiddenError", "require:system,allow:project")
            return super().get(path, params)

    refusing = Refusing({"/servers": SERVERS})
    with pytest.raises(ConfigError, match="details='lean' needs to list hosts"):
        run(refusing, details="lean")
