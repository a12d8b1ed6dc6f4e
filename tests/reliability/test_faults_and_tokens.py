"""R1 nothing is lost under faults; R2 a token expiring mid-list; R7 drift during paging."""

from __future__ import annotations

import math
import time
import warnings

import pytest

from cpexplore import ApiError, CpExploreError, Session, TransportError
from cpexplore.errors import PagingDriftWarning
from cpexplore.lists.info import list_info
from cpexplore.sandbox import Sandbox, servers_for_rows


@pytest.fixture(scope="module")
def faulty():
    """100 000 servers to list; one request in ten is answered 429/503 (Retry-After) or dropped."""
    with Sandbox(
        servers=servers_for_rows(100_000, seed=1), seed=1, fault_rate=0.1, retry_after=1
    ) as sb:
        yield sb


@pytest.mark.parametrize("workers", [1, 8], ids=["sequential", "concurrent"])
def test_r1_listing_100k_servers_under_faults_loses_and_doubles_nothing(faulty, workers):
    before = dict(faulty.faults.counts)
    with Session(**faulty.settings(), env={}, progress=False, cache_ttl=0) as s:
        df = s.list("servers", scope="system", max_workers=workers, page_size=1000)
    expected = faulty.ids("servers")
    assert len(expected) >= 100_000
    assert len(df) == len(expected) and df["id"].is_unique and set(df["id"]) == expected
    injected = {k: faulty.faults.counts[k] - before[k] for k in before}
    assert sum(injected.values()) >= 3, injected
    if workers > 1:  # by now, the sequential and the concurrent run have met every kind of fault
        assert all(n > 0 for n in faulty.faults.counts.values()), faulty.faults.counts
    print(f"R1 {workers} worker(s): {len(df)} rows checked, faults injected {injected}")


def test_r1_exhausted_retries_raise_a_clear_error_or_give_a_partial_result():
    with (
        Sandbox(servers=20_000, seed=5, fault_rate=0.6, retry_after=0) as sb,
        Session(**sb.settings(), env={}, progress=False, retries=1, cache_ttl=0) as s,
    ):
        with pytest.raises((ApiError, TransportError)) as info:
            for _ in range(5):  # the first page may get through; some later page will not
                s.list("servers", scope="system", page_size=500, max_workers=1)
        text = str(info.value)
        assert "\n" not in text and ("retries" in text or "closed the connection" in text)
        if isinstance(info.value, TransportError):  # the urllib3/requests error stays attached
            assert info.value.__cause__ is not None and info.value.__suppress_context__
        for _ in range(10):
            try:
                part = s.list("servers", scope="system", page_size=500, on_error="partial")
            except CpExploreError:
                continue  # the first page failed: nothing to be partial about
            if list_info(part).failed_pages:
                break
        failed = list_info(part).failed_pages
        assert list_info(part).partial is True and failed
        assert all({"offset", "limit", "error"} <= set(f) for f in failed)
        assert part["id"].is_unique
        assert len(part) + sum(f["limit"] for f in failed) == list_info(part).total
        assert set(part["id"]) <= sb.ids("servers")
        # a partial result is never cached
        assert s.cache_info().empty


def test_r2_a_token_expiring_mid_list_is_renewed_the_minimum_number_of_times():
    ttl = 3.0
    with Sandbox(servers=6000, seed=9, token_ttl=ttl, latency=0.4) as sb:
        with Session(**sb.settings(), env={}, progress=False, page_size=100, max_workers=2) as s:
            start = time.monotonic()
            df = s.list("servers", scope="system")
            took = time.monotonic() - start
        assert set(df["id"]) == sb.ids("servers")
        assert took > 2 * ttl  # the list outlasted the token twice
        minimum = math.floor(took / ttl)
        assert minimum <= s.reauths <= minimum + 1
        assert sb.logins == s.logins == s.reauths + 1
        print(
            f"R2 list of {len(df)} rows took {took:.1f}s with {ttl:.0f}s tokens: {s.reauths} re-auths"
        )


def test_r2_a_token_refused_by_the_server_is_replaced_once_even_with_many_threads(fresh_sandbox):
    sb = fresh_sandbox
    with Session(
        **sb.settings(), env={}, progress=False, page_size=20, max_workers=8, cache_ttl=0
    ) as s:
        s.list("zones")
        sb.identity.expire_all()  # the server forgets every token at once
        df = s.list("servers", scope="system")
        assert set(df["id"]) == sb.ids("servers")
        assert s.reauths == 1


def _drifting(session: Session, sb: Sandbox, change) -> None:
    """Make the inventory change right after the first page has been fetched."""
    client = session._client
    real = client.get
    calls = {"n": 0}

    def get(url, params=None):
        out = real(url, params)
        calls["n"] += 1
        if calls["n"] == 1:
            change()
        return out

    client.get = get  # type: ignore[method-assign]


@pytest.mark.parametrize("what", ["created", "deleted"])
def test_r7_rows_created_or_deleted_while_paging_never_double_and_are_reported(what):
    with (
        Sandbox(servers=3000, seed=17) as sb,
        Session(
            **sb.settings(), env={}, progress=False, page_size=250, max_workers=1, cache_ttl=0
        ) as s,
    ):
        before = s.list("servers", scope="system")
        if what == "created":
            _drifting(s, sb, lambda: sb.create_servers(7))
        else:
            _drifting(s, sb, lambda: [sb.delete("servers", i) for i in before["id"][:7]])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = s.list("servers", scope="system", refresh=True)
        assert df["id"].is_unique
        drift = list_info(df).drift
        # in the order the pages saw them: the message says which way the list moved
        assert drift and list(drift["totals_seen"]) == [
            len(before),
            len(before) + (7 if what == "created" else -7),
        ]
        assert any(issubclass(w.category, PagingDriftWarning) for w in caught)
        if what == "created":
            assert (
                list_info(df).duplicates_dropped == 7
            )  # the shifted rows came twice and were dropped


def test_r7_a_list_without_drift_reports_none(session):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PagingDriftWarning)
        df = session.list("servers", scope="system", refresh=True)
    assert list_info(df).drift is None and list_info(df).duplicates_dropped == 0
