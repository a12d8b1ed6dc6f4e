"""gather(): one resource from many clouds, concurrently, with provenance and per-source errors."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import cpexplore
import cpexplore.errors
from cpexplore import ConfigError, Session, UnknownResource
from cpexplore.gather import Gathered, gather, listing_regions
from cpexplore.lists.info import list_info
from cpexplore.sandbox import Sandbox


@pytest.fixture
def profiles(sandbox, fresh_sandbox, tmp_path):
    """A config file with profiles for the shared and the fresh sandbox."""
    cfg = tmp_path / "config.ini"
    text = ""
    for name, sb in (("big", sandbox), ("small", fresh_sandbox)):
        text += (
            f"[profile {name}]\nauth_url = {sb.auth_url}\naccess_key = {sb.access_key}\n"
            f"secret_key = {sb.secret_key}\nregion = region0\n\n"
        )
    cfg.write_text(text)
    cfg.chmod(0o600)
    return cfg


def test_gather_is_exported_from_the_package():
    assert cpexplore.gather is gather and cpexplore.Gathered is Gathered


def test_gather_profiles_with_one_failing_source(sandbox, fresh_sandbox, profiles):
    opts = {"env": {"CPEXPLORE_CONFIG": str(profiles)}}
    got = gather(["big", "small", "missing"], "servers", scope="max", session_options=opts)
    assert isinstance(got, Gathered) and not got.ok
    frame, errors = got  # unpacks like a tuple
    assert list(frame.columns[:2]) == ["source", "region"]
    assert frame["source"].value_counts().to_dict() == {
        "big": sandbox.count("servers"),
        "small": fresh_sandbox.count("servers"),
    }
    assert set(frame["region"]) == {"region0"}
    # the records' own region and source fields are kept under the resource keyword
    assert {"server.region", "server.source"} <= set(frame.columns)
    assert str(frame["source"].dtype) == "category" and str(frame["status"].dtype) == "category"
    assert errors.to_dict("records") == [
        {
            "source": "missing",
            "region": None,
            "error": "ConfigError",
            "message": errors.iloc[0]["message"],
        }
    ]
    assert (
        "profile 'missing'" in errors.iloc[0]["message"] and "\n" not in errors.iloc[0]["message"]
    )
    assert got.sources[["source", "ok"]].values.tolist() == [
        ["big", True],
        ["small", True],
        ["missing", False],
    ]
    info = list_info(frame)
    assert info.resource == "servers" and len(got.infos) == 2 and len(got.failures) == 1
    assert set(info.regions) <= {"region0", "region1", None}
    assert repr(got) == f"Gathered({len(frame)} rows from 2 of 3 sources; 1 failed)"


def test_an_unreachable_cloud_is_one_error_row_not_a_failure(session, sandbox):
    dead = Sandbox(servers=50, seed=3).start()
    gone = Session(**dead.settings(), env={}, progress=False, retries=0)
    dead.stop()
    gone.close()  # drop the kept-alive connection: the next request must connect anew
    try:
        got = gather({"alive": session, "dead": gone}, "hosts", scope="max")
    finally:
        gone.close()
    assert got.frame["source"].unique().tolist() == ["alive"]
    assert len(got.frame) == sandbox.count("hosts")
    assert got.errors[["source", "region"]].values.tolist() == [["dead", "region0"]]
    kind = getattr(cpexplore.errors, got.errors.loc[0, "error"])  # the class's own name
    assert issubclass(kind, cpexplore.errors.TransportError)


def test_gather_every_region_of_one_cloud(session, sandbox):
    got = gather(session, "servers", regions="all", scope="max")
    assert got.ok
    # region1-zone1 has the same endpoint as region1, so it is not listed twice
    assert got.sources["region"].tolist() == ["region0", "region1"]
    # the one rule for "every region", which the inventory explorer's "all" uses too
    assert listing_regions(session, "compute_v2") == ["region0", "region1"]
    counts = got.frame.groupby("region", observed=True).size().to_dict()
    assert counts == {
        "region0": sandbox.count("servers"),
        "region1": sandbox.count("servers", "region1"),
    }
    assert got.frame["id"].is_unique


def test_a_region_without_the_service_is_an_error_row(session):
    got = gather({"here": session}, "zones", regions=["region0", "atlantis"])
    assert got.sources["ok"].tolist() == [True, False]
    assert got.errors.iloc[0]["error"] == "EndpointNotFound"
    assert "atlantis" in got.errors.iloc[0]["message"]


def test_same_session_twice_gets_distinct_labels_and_params_pass_through(session):
    got = gather(
        [session, session], "servers", scope="max", filters="status.equals('ready')", limit=5
    )
    labels = got.frame["source"].unique().tolist()
    assert len(labels) == 2 and labels[1] == labels[0] + "#2"
    assert len(got.frame) == 10 and set(got.frame["status"]) == {"ready"}


def test_mistakes_every_source_would_make_raise_at_once(session):
    with pytest.raises(UnknownResource):
        gather([session], "serverz")
    with pytest.raises(ConfigError, match="filter"):
        gather([session], "servers", filters="status=ready")
    with pytest.raises(TypeError):
        gather([42], "servers")
    with pytest.raises(ValueError):
        gather([], "servers")


def test_all_failed_gives_an_empty_frame_with_provenance_columns(profiles):
    got = gather(
        ["nope1", "nope2"], "servers", session_options={"env": {"CPEXPLORE_CONFIG": str(profiles)}}
    )
    assert got.frame.empty and list(got.frame.columns) == ["source", "region"]
    assert got.errors["source"].tolist() == ["nope1", "nope2"]


def test_sources_are_listed_concurrently(monkeypatch):
    """Each source's list waits until all four are under way: listed one after the other,
    the first would wait alone and the barrier would break."""
    together = threading.Barrier(4, timeout=60)
    listed = Session.list

    def list_together(self, *args, **kwargs):
        together.wait()
        return listed(self, *args, **kwargs)

    with Sandbox(servers=100, seed=5) as sb:
        sessions = {f"s{i}": Session(**sb.settings(), env={}, progress=False) for i in range(4)}
        monkeypatch.setattr(Session, "list", list_together)
        got = gather(sessions, "hosts")
        for s in sessions.values():
            s.close()
    assert got.ok and len(got.sources) == 4, got.errors
    assert isinstance(got.frame, pd.DataFrame) and len(got.frame) == 4 * sb.count("hosts")
