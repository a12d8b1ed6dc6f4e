"""A Session logs in like climc and turns the catalog and every list into typed DataFrames."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
import warnings

import pandas as pd
import pytest
import requests
from fakes import drop, reply, serve

import cpexplore
from cpexplore import (
    AuthError,
    ConfigError,
    EndpointNotFound,
    Forbidden,
    NotFound,
    ProtocolError,
    Session,
    TransportError,
    UnknownResource,
)
from cpexplore.config import parse_rc
from cpexplore.http import InsecureTransportWarning, Transport, mask_token
from cpexplore.lists.info import list_info
from cpexplore.sandbox import Sandbox

CATALOG_COLUMNS = [
    "service_name",
    "service_type",
    "service_id",
    "interface",
    "region_id",
    "endpoint_id",
    "endpoint_name",
    "url",
]


# -- settings ------------------------------------------------------------------------------------
def test_settings_come_from_the_variables_climc_reads(sandbox):
    env = parse_rc(sandbox.rc())
    with Session(env=env, progress=False) as s:
        assert s.token.methods == ("aksk",)  # AK/SK is preferred over the password also present
        assert s.interface == "public" and s.region == "region0"
        assert s.token.project == "system"


def test_password_login_when_no_access_key(sandbox):
    env = {
        "OS_AUTH_URL": sandbox.auth_url,
        "OS_USERNAME": sandbox.username,
        "OS_PASSWORD": sandbox.password,
        "OS_PROJECT_NAME": "system",
        "OS_PROJECT_DOMAIN": "default",
        "OS_ENDPOINT_TYPE": "publicURL",
    }
    with Session(env=env) as s:
        assert s.token.methods == ("password",) and s.token.is_admin


def test_token_login_rescopes_an_existing_token(sandbox, session):
    with Session(sandbox.auth_url, token=session.token.id, project="system", env={}) as s:
        assert s.token.methods == ("token",)
    with Session(sandbox.auth_url, token=session.token.id, env={}) as s:  # validated, not re-scoped
        assert s.token.id == session.token.id and len(s.catalog)


def test_from_rc_reads_the_file_without_executing_it(sandbox, tmp_path):
    rc = tmp_path / "rc"
    marker = tmp_path / "executed"
    rc.write_text(sandbox.rc() + f'touch {marker}\nexport OS_REGION_NAME="region1"  # comment\n')
    with Session.from_rc(rc, env={}) as s:
        assert s.region == "region1"
        assert s.token.methods == ("aksk",)
    assert not marker.exists()


def test_named_profiles_keep_secrets_in_the_environment(sandbox, tmp_path):
    cfg = tmp_path / "config.ini"
    cfg.write_text(
        textwrap.dedent(f"""\
        [profile sandbox]
        auth_url = {sandbox.auth_url}
        access_key = {sandbox.access_key}
        region = region1

        [profile other]
        auth_url = https://cloud.example.com:30500/v3
        """)
    )
    env = {"CPEXPLORE_CONFIG": str(cfg), "OS_SECRET_KEY": sandbox.secret_key}
    with Session(profile="sandbox", env=env) as s:
        assert s.region == "region1" and s.token.methods == ("aksk",)
    with Session(env={**env, "CPEXPLORE_PROFILE": "sandbox"}) as s:
        assert s.settings.profile == "sandbox"
    with pytest.raises(ConfigError, match="'prod'.*sandbox.*other"):
        Session(profile="prod", env=env)


def test_connect_is_the_one_line_form(sandbox):
    """connect(...) is Session(...): the same login, settings and session options."""
    with cpexplore.connect(**sandbox.settings(), env={}, cache_ttl=0, page_size=100) as s:
        assert type(s) is Session
        assert (s.token.user, s.token.project, s.token.methods) == (
            sandbox.username,
            sandbox.project,
            ("aksk",),
        )
        assert (s.region, s.page_size, s._cache.ttl) == (sandbox.region, 100, 0.0)


def test_a_new_user_with_only_os_variables_set_gets_going(sandbox):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CPEXPLORE_"))}
    env.update(parse_rc(sandbox.rc()))
    code = "import cpexplore; s = cpexplore.connect(); print(len(s.catalog)); print(len(s.list('servers')))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    n_catalog, n_servers = map(int, out.stdout.split())
    assert n_catalog > 10 and n_servers == sandbox.count("servers", project="system")


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"OS_AUTH_URL": None}, ConfigError, "OS_AUTH_URL"),
        ({"OS_AUTH_URL": "127.0.0.1:1/v3"}, ConfigError, "https://127.0.0.1:1/v3"),
        ({"OS_AUTH_URL": "https://cloud.example.com/v3"}, ConfigError, "30500"),
        ({"OS_ENDPOINT_TYPE": "sideURL"}, ConfigError, "public"),
        ({"OS_ACCESS_KEY": None, "OS_USERNAME": None}, ConfigError, "OS_ACCESS_KEY"),
        ({"OS_SECRET_KEY": "wrong"}, AuthError, "OS_SECRET_KEY"),
        ({"OS_ACCESS_KEY": "f" * 32}, AuthError, "OS_ACCESS_KEY"),
        ({"OS_ACCESS_KEY": None, "OS_PASSWORD": "wrong"}, AuthError, "OS_PASSWORD"),
        ({"OS_ACCESS_KEY": None, "OS_USERNAME": "nobody"}, AuthError, "OS_USERNAME"),
        ({"OS_ACCESS_KEY": None, "OS_PROJECT_NAME": "nope"}, AuthError, "OS_PROJECT_NAME"),
    ],
    ids=[
        "no-url",
        "no-scheme",
        "no-port",
        "bad-interface",
        "no-credentials",
        "wrong-secret",
        "unknown-key",
        "wrong-password",
        "unknown-user",
        "unknown-project",
    ],
)
def test_each_wrong_setting_gives_one_line_that_says_what_to_fix(sandbox, change, error, says):
    env = parse_rc(sandbox.rc())
    for k, v in change.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    with pytest.raises(error) as info:
        Session(env=env)
    text = str(info.value)
    assert "\n" not in text and says in text
    assert sandbox.secret_key not in text and sandbox.password not in text


def test_an_unreachable_host_has_its_own_message():
    with pytest.raises(TransportError, match="connection refused at 127.0.0.1:9"):
        Session("http://127.0.0.1:9/v3", access_key="a", secret_key="b", env={}, timeout=2)


def test_an_auth_url_answering_405_or_html_says_to_add_the_port():
    with (
        serve(reply(405, "<html>Method Not Allowed</html>", "text/html")) as url,
        pytest.raises(ProtocolError, match="30500"),
    ):
        Session(f"{url}/v3", access_key="a", secret_key="b", env={})
    with (
        serve(reply(200, "<!doctype html><title>portal</title>", "text/html")) as url,
        pytest.raises(ProtocolError, match="HTML"),
    ):
        Session(f"{url}/v3", access_key="a", secret_key="b", env={})


# -- catalog -----------------------------------------------------------------------------------
def test_the_catalog_frame_has_exactly_the_documented_columns(session):
    cat = session.catalog
    assert list(cat.columns) == CATALOG_COLUMNS
    assert {"identity", "compute_v2", "image", "log"} <= set(cat["service_type"])
    assert session.regions == ["region0", "region1", "region1-zone1"]
    assert session.interfaces == ["admin", "internal", "public"]


def test_url_for_matches_regions_like_climc_and_normalises_interfaces(session, sandbox):
    assert session.url_for("compute") == sandbox.base_url
    assert (
        session.url_for("compute_v2", interface="publicURL", region="region1")
        == sandbox.base_url + "/region1"
    )
    assert session.url_for("compute", region="region1-zone1") == sandbox.base_url + "/region1"
    assert session.url_for("compute", interface="internalURL") == "https://default-region:30888"
    assert session.url_for("image") == sandbox.base_url + "/v1"


def test_a_failed_lookup_names_what_exists(session):
    with pytest.raises(EndpointNotFound) as info:
        session.url_for("image", region="region1")
    text = str(info.value)
    assert "image" in text and "region1" in text and "region0" in text and "public" in text
    with pytest.raises(EndpointNotFound, match="compute_v2"):
        session.url_for("nosuchservice")


# -- lists -------------------------------------------------------------------------------------
def test_listing_20000_servers_returns_every_id_once():
    with (
        Sandbox(servers=30_000, seed=2) as sb,
        Session(**sb.settings(), env={}, progress=False) as s,
    ):
        df = s.list("servers", scope="system")
        assert sb.count("servers") >= 20_000
        assert len(df) == df["id"].nunique() == sb.count("servers")
        assert set(df["id"]) == sb.ids("servers")
        assert list_info(df).total == len(df) and list_info(df).pages == -(-len(df) // 2048)


def test_the_frame_is_typed(session):
    df = session.list("servers", scope="system")
    assert list(df.columns[:3]) == ["name", "status", "vcpu_count"]  # what a person reads first
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"
    assert pd.api.types.is_integer_dtype(df["vcpu_count"]) and pd.api.types.is_integer_dtype(
        df["vmem_size"]
    )
    assert df["status"].dtype == "category" and df["hypervisor"].dtype == "category"
    nics, disks = df["nics"].dropna(), df["disks_info"].dropna()  # unscheduled servers have none
    assert isinstance(nics.iloc[0], list) and isinstance(disks.iloc[0][0], dict)
    assert df["id"].is_unique  # nested lists never explode rows
    info = list_info(df)
    assert info.resource == "servers" and info.region == "region0" and info.interface == "public"
    assert info.params["scope"] == "system" and info.total == len(df)
    assert info.fetched_at.tzinfo is not None


def test_limit_caps_rows_and_filters_search_order_fields_pass_through(session):
    assert len(session.list("servers", scope="system", limit=5)) == 5
    running = session.list(
        "servers", scope="system", filters=["status.equals('running')"], refresh=True
    )
    assert set(running["status"]) == {"running"}
    found = session.list("servers", scope="system", search="-prod-")
    assert found["name"].str.contains("-prod-").all()
    ordered = session.list("hosts", order_by="name", order="asc")
    assert list(ordered["name"]) == sorted(ordered["name"], key=str.lower)
    few = session.list("servers", scope="system", fields=["id", "status"], limit=10)
    assert set(few.columns) == {"id", "status"}
    bare = session.list("servers", scope="system", details=False, limit=3)
    assert "host" not in bare.columns


def test_marker_paged_resources_are_followed_to_the_end(session, sandbox):
    events = session.list("events", scope="system")
    assert len(events) == events["id"].nunique() == sandbox.count("events")
    assert list(events["id"]) == sorted(events["id"], reverse=True)
    assert len(session.list("events", scope="system", limit=30)) == 30
    assert len(session.list("actions")) == sandbox.count("actions", project="system")


def test_every_resource_the_sandbox_serves_lists(session, sandbox):
    served = [
        r for r in session.resources().query("available")["name"] if r in sandbox.inventory.tables
    ]
    assert len(served) >= 20
    for name in served:
        df = session.list(name, scope="max")
        table = sandbox.inventory.tables[name]
        if table.system_row is not None:  # hidden unless system=true, as real users are
            continue
        if table.marker_paged:  # the admin's log: rows of every project
            assert len(df) == df["id"].nunique() == sandbox.count(name), name
            continue
        if "id" not in df.columns:  # role assignments have no id of their own
            assert len(df) == sandbox.count(name), name
            continue
        assert set(df["id"].astype(str)) == sandbox.ids(name), name


def test_resources_lists_what_can_be_listed(session):
    res = session.resources()
    assert {"name", "service_type", "path", "available"} <= set(res.columns)
    assert res.set_index("name").loc["images", "path"] == "/v1/images"


def test_unknown_resources_suggest_the_close_ones(session):
    with pytest.raises(UnknownResource, match="servers"):
        session.list("severs")


def test_get_returns_one_record_as_a_series(session):
    first = session.list("servers", scope="system", limit=1).iloc[0]
    rec = session.get("servers", first["id"])
    assert isinstance(rec, pd.Series) and rec["id"] == first["id"]
    assert session.get("zones", "zone1")["name"] == "zone1"
    for hostile in ("@import", "+SUM(1,2)", "测试服务器-北京", "db-line1\nline2"):
        assert session.get("servers", hostile)["name"] == hostile  # names are quoted on the way
    with pytest.raises(NotFound, match="not found"):
        session.get("servers", "no-such-server")


def test_a_forbidden_scope_says_which_scope_was_refused(sandbox):
    with Session(
        sandbox.auth_url,
        username=sandbox.member_username,
        password=sandbox.member_password,
        project=sandbox.member_project,
        env={},
    ) as s:
        assert len(s.list("servers")) == sandbox.count("servers", project=sandbox.member_project)
        with pytest.raises(Forbidden) as info:
            s.list("servers", scope="system")
        text = str(info.value)
        assert "require:system,allow:project" in text and "scope='max'" in text
        assert s.reauths == 0  # a real refusal is not mistaken for a stale token


# -- tokens ------------------------------------------------------------------------------------
def test_a_short_lived_token_is_renewed_before_it_expires():
    with Sandbox(servers=50, token_ttl=2) as sb, Session(**sb.settings(), env={}, cache_ttl=0) as s:
        s.list("zones")
        time.sleep(2.2)
        assert len(s.list("zones")) > 0
        assert s.reauths >= 1 and sb.logins == s.logins


def test_a_revoked_token_is_replaced_once(fresh_sandbox):
    sb = fresh_sandbox
    with Session(**sb.settings(), env={}, cache_ttl=0) as s:
        old = s.token.id
        requests.delete(f"{sb.auth_url}/auth/tokens", headers={"X-Subject-Token": old}, timeout=10)
        assert len(s.list("zones")) > 0
        assert s.reauths == 1 and s.token.id != old


def test_retries_ride_out_injected_faults():
    with (
        Sandbox(servers=3000, fault_rate=0.3, retry_after=0, seed=4) as sb,
        Session(**sb.settings(), env={}, progress=False, page_size=200) as s,
    ):
        df = s.list("servers", scope="system")
        assert set(df["id"]) == sb.ids("servers")
        assert sum(sb.faults.counts.values()) > 0


# -- transport and safety -------------------------------------------------------------------------
def test_tls_is_verified_by_default_and_insecure_warns_once():
    assert Transport().session.verify is True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = Transport(verify=False)
    assert [w.category for w in caught] == [InsecureTransportWarning]
    assert t.timeout == (5.0, 60.0)
    assert Transport(verify="/etc/ssl/certs/ca-certificates.crt").session.verify.endswith(".crt")


def test_insecure_comes_from_yunion_insecure(sandbox):
    with pytest.warns(InsecureTransportWarning):
        s = Session(env={**parse_rc(sandbox.rc()), "YUNION_INSECURE": "true"})
    assert s.settings.insecure
    s.close()


def test_timeouts_are_always_set(session, monkeypatch):
    seen = []
    real = requests.Session.request

    def spy(self, method, url, **kw):
        seen.append(kw.get("timeout"))
        return real(self, method, url, **kw)

    monkeypatch.setattr(requests.Session, "request", spy)
    session.list("zones", refresh=True)
    assert seen and all(t == (5.0, 60.0) for t in seen)


def test_a_redirect_to_another_host_does_not_carry_the_token(session):
    with serve(reply(200, '{"zones":[]}')) as target:
        landed = serve.seen
        other = target.replace("127.0.0.1", "localhost")
        with serve(reply(302, "", headers={"Location": other + "/zones"})) as start:
            session.get_json(start + "/zones")
    assert landed and all("X-Auth-Token" not in r["headers"] for r in landed)


def test_debug_logs_mask_tokens_and_never_log_auth_bodies(sandbox, caplog):
    with caplog.at_level(logging.DEBUG, logger="cpexplore"):
        with Session(**sandbox.settings(), env={}) as s:
            s.list("zones")
            token = s.token.id
        with Session(
            sandbox.auth_url,
            username=sandbox.username,
            password=sandbox.password,
            project="system",
            env={},
        ) as s2:
            s2.list("zones")
    text = caplog.text
    assert mask_token(token) in text and "curl -X GET" in text
    for secret in (token, sandbox.secret_key, sandbox.password, "access_key_secret", '"catalog"'):
        assert secret not in text


def test_repr_and_html_show_who_and_never_a_secret(session, sandbox):
    for text in (repr(session), session._repr_html_()):
        assert (
            sandbox.access_key in text
            and "system" in text
            and "region0" in text
            and "public" in text
        )
        for secret in (sandbox.secret_key, sandbox.password, session.token.id):
            assert secret not in text
    assert session.token.id not in repr(session.token) and session.token.id not in repr(
        session.settings
    )


def test_wrapped_error_details_are_unwrapped(sandbox):
    with (
        Session(
            sandbox.auth_url,
            username=sandbox.member_username,
            password=sandbox.member_password,
            project=sandbox.member_project,
            env={},
        ) as s,
        pytest.raises(Forbidden) as info,
    ):
        s.list("hosts")
    assert info.value.details.startswith("not enough privilege to do compute:hosts:list")
    assert "listItemQueryFiltersRaw" not in str(info.value)


def test_non_json_and_dropped_connections_are_clear_errors(session):
    with (
        serve(reply(200, '{"zones": [', "application/json")) as url,
        pytest.raises(ProtocolError, match="JSON"),
    ):
        session.get_json(url + "/zones")
    with serve(drop) as url, pytest.raises(TransportError, match="closed the connection"):
        Transport(retries=1).request("GET", url + "/zones")
