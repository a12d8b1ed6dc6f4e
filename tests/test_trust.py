"""No silently wrong data: what a list returns always matches what was asked, or fails.

The sandbox ignores filters and sorts on joined fields exactly as a real region does, so
these tests show that cpexplore's answers are right on a real Cloudpods too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import requests

from cpexplore import ConfigError
from cpexplore.errors import AmbiguousName, CachedResultWarning, UnknownField
from cpexplore.lists.info import list_info
from cpexplore.resources import resource_spec


def _raw(session, path: str, **params) -> dict:
    """What the server itself answers (no cpexplore in between)."""
    url = session.url_for("compute") + path
    resp = requests.get(url, params=params, headers={"X-Auth-Token": session.token.id}, timeout=30)
    resp.raise_for_status()
    return resp.json()


# -- joined-field filters and sorts --------------------------------------------------------------
def test_the_server_ignores_a_filter_on_a_joined_field(session):
    unfiltered = _raw(session, "/servers", scope="system", limit=1)["total"]
    ignored = _raw(session, "/servers", scope="system", limit=1, filter="zone.equals('x')")
    assert ignored["total"] == unfiltered


def test_a_joined_field_filter_gives_exactly_the_matching_rows(session):
    everything = session.list("servers", scope="system", refresh=True)
    zone = everything["zone"].dropna().astype(str).value_counts().index[0]
    got = session.list("servers", scope="system", filters=f"zone.equals('{zone}')", refresh=True)
    expected = everything[everything["zone"].astype(object) == zone]
    assert 0 < len(got) < len(everything)
    assert set(got["id"]) == set(expected["id"])
    assert list_info(got).filtered_here == (f"zone.equals('{zone}')",)


def test_joined_and_table_filters_combine(session):
    everything = session.list("servers", scope="system")
    host = everything["host"].dropna().astype(str).value_counts().index[0]
    got = session.list(
        "servers",
        scope="system",
        filters=[f"host.equals('{host}')", "status.equals('running')"],
    )
    want = everything[
        (everything["host"].astype(object) == host)
        & (everything["status"].astype(object) == "running")
    ]
    assert set(got["id"]) == set(want["id"])


def test_sorting_on_a_joined_field_with_a_limit_gives_the_true_top_rows(session):
    everything = session.list("servers", scope="system")
    top = session.list("servers", scope="system", order_by="zone", order="asc", limit=3)
    first_zone = everything["zone"].dropna().astype(str).str.casefold().min()
    assert len(top) == 3
    # MySQL order: unscheduled servers (no zone) come first when ascending
    unplaced = int(everything["zone"].isna().sum())
    if unplaced >= 3:
        assert top["zone"].isna().all()
    else:
        assert str(top["zone"].iloc[-1]).casefold() == first_zone


def test_an_unknown_filter_field_is_an_error_naming_the_nearest(session):
    with pytest.raises(UnknownField, match="'nmae'") as e:
        session.list("servers", scope="system", filters="nmae.contains('web')")
    assert "'name'" in str(e.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scop": "max"}, "did you mean 'scope'"),
        ({"scope": "sytem"}, "unknown scope"),
        ({"columns": ["nmae"]}, "did you mean 'name'"),
        ({"order_by": "nmae"}, "did you mean 'name'"),
        ({"filters": "status.nosuchop('x')"}, "unknown filter operator"),
    ],
)
def test_typos_are_errors_not_plausible_data(session, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        session.list("servers", **kwargs)


def test_a_known_field_absent_from_every_row_is_an_empty_column(session):
    df = session.list("servers", scope="system", limit=5, columns=["name", "expired_at"])
    assert list(df.columns) == ["name", "expired_at"] and len(df) == 5


def test_frames_keep_every_known_column_even_when_no_record_has_it(session):
    spec_fields = set(resource_spec("servers").schema_fields(details=True))
    assert {"zone", "host", "expired_at", "vcpu_count"} <= spec_fields
    df = session.list("servers", scope="system", filters="status.equals('nosuchstatus')")
    assert df.empty and spec_fields <= set(df.columns)


# -- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", ["servers", "hosts", "disks"])
def test_arithmetic_on_every_numeric_column_equals_python_int_arithmetic(session, resource):
    df = session.list(resource, scope="system", limit=300)
    raw = _raw(session, f"/{resource}", scope="system", limit=300)[resource]
    by_id = {r["id"]: r for r in raw}
    numeric = [
        c
        for c in df.columns
        if pd.api.types.is_integer_dtype(df[c].dtype) and "." not in str(c) and c != "id"
    ]
    assert numeric, f"{resource} have integer columns"
    for column in numeric:
        assert df[column].dtype in (np.dtype("int64"), pd.Int64Dtype()), column
        for rid, value in zip(df["id"], df[column], strict=True):
            if pd.isna(value):
                assert by_id[rid].get(column) is None
                continue
            exact = by_id[rid][column]
            assert int(value) * 1000 * 1024 * 1024 == exact * 1000 * 1024 * 1024


# -- get ------------------------------------------------------------------------------------------
def test_get_returns_the_same_types_as_a_list_row(session):
    row = session.list("servers", scope="system", limit=1).iloc[0]
    one = session.get("servers", row["id"])
    assert isinstance(one["created_at"], pd.Timestamp)
    assert one["created_at"] == row["created_at"]
    assert type(one["vcpu_count"]) is type(row["vcpu_count"])


def test_a_name_shared_by_two_servers_is_an_ambiguous_name_error(session):
    names = session.list("servers", scope="system")["name"].astype(object)
    dup = names[names.duplicated()].iloc[0]
    with pytest.raises(AmbiguousName, match="several servers") as e:
        session.get("servers", dup)
    assert "use the id" in str(e.value)


# -- the cache --------------------------------------------------------------------------------------
def test_a_cached_frame_says_so(session):
    fresh = session.list("zones", scope="system", refresh=True)
    assert list_info(fresh).from_cache is False
    with pytest.warns(CachedResultWarning, match="from the cache"):
        again = session.list("zones", scope="system")
    assert list_info(again).from_cache is True
    assert list_info(again).fetched_at == list_info(fresh).fetched_at
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list_info(session.list("zones", scope="system", refresh=True)).from_cache is False


# -- real error shapes -------------------------------------------------------------------------------
def test_a_bad_token_is_an_auth_error_not_a_raw_403(sandbox):
    from cpexplore import AuthError, Session

    with pytest.raises(AuthError, match="expired, revoked or unknown"):
        Session(auth_url=sandbox.auth_url, token="0" * 64, env={}, progress=False)


def test_a_get_across_projects_has_a_hint_that_fits_a_get(sandbox, session):
    from cpexplore import Forbidden, Session

    others = session.list("servers", scope="system")
    other = others[others["tenant"].astype(object) != sandbox.member_project].iloc[0]
    with (
        Session(
            auth_url=sandbox.auth_url,
            username=sandbox.member_username,
            password=sandbox.member_password,
            project=sandbox.member_project,
            env={},
            progress=False,
        ) as member,
        pytest.raises(Forbidden) as e,
    ):
        member.get("servers", other["id"])
    assert "belongs to a project your token cannot read" in str(e.value)


def test_gather_refuses_a_misspelled_keyword_at_once(session):
    from cpexplore import gather

    with pytest.raises(ConfigError, match="did you mean 'scope'"):
        gather(session, "servers", scop="max")
    with pytest.raises(ConfigError, match="unknown scope"):
        gather(session, "servers", scope="sytem")


def test_session_takes_every_setting_as_a_keyword(sandbox):
    from cpexplore import Session

    with Session(**sandbox.settings(zone="zone0"), env={}, progress=False) as s:
        assert s.settings.zone == "zone0"
    with pytest.raises(ConfigError, match="did you mean"):
        Session(**sandbox.settings(regoin="region0"), env={})
