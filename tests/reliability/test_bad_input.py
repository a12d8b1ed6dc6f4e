"""R3 bad input: each case gets a specific exception class and one line that says what to fix.
R5 transport safety: TLS verified by default, ``insecure`` warns, timeouts always set."""

from __future__ import annotations

import errno
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from fakes import drop, reply, serve

from cpexplore import (
    AuthError,
    ConfigError,
    ConnectError,
    CpExploreError,
    EndpointNotFound,
    ExportError,
    MissingColumns,
    ProtocolError,
    Session,
    TransportError,
    UnknownResource,
    files,
    plots,
)
from cpexplore.config import parse_rc
from cpexplore.http import InsecureTransportWarning
from cpexplore.sandbox import Sandbox

CASES: dict[str, tuple[type[CpExploreError], str, Callable]] = {}


def case(name: str, error: type[CpExploreError], says: str):
    """Register a bad-input case: ``run(sandbox, session, tmp_path)`` must raise ``error``."""

    def register(run: Callable) -> Callable:
        CASES[name] = (error, says, run)
        return run

    return register


def _session(sb: Sandbox, **kw) -> Session:
    return Session(**{**sb.settings(), **kw}, env={}, progress=False)


@case("auth URL without a port", ConfigError, ":30500")
def _(sb, s, tmp):
    _session(sb, auth_url="https://cloud.example.com/v3")


@case("auth URL without a scheme", ConfigError, "https://")
def _(sb, s, tmp):
    _session(sb, auth_url=sb.auth_url.split("://", 1)[1])


@case("auth URL of a web page (HTML)", ProtocolError, "HTML")
def _(sb, s, tmp):
    with serve(reply(200, "<html><body>Welcome</body></html>", "text/html")) as url:
        _session(sb, auth_url=url + "/v3")


@case("auth URL answering 405 (a front end without the port)", ProtocolError, "port")
def _(sb, s, tmp):
    with serve(reply(405, "405 Method Not Allowed", "text/plain")) as url:
        _session(sb, auth_url=url + "/v3")


@case("wrong secret key", AuthError, "OS_SECRET_KEY")
def _(sb, s, tmp):
    _session(sb, secret_key="not-the-secret")


@case("wrong password", AuthError, "OS_PASSWORD")
def _(sb, s, tmp):
    Session(sb.auth_url, username=sb.username, password="wrong", project="system", env={})


@case("unknown user", AuthError, "OS_USERNAME")
def _(sb, s, tmp):
    Session(sb.auth_url, username="nobody", password="x", project="system", env={})


@case("unknown project", AuthError, "OS_PROJECT_NAME")
def _(sb, s, tmp):
    Session(sb.auth_url, username=sb.username, password=sb.password, project="nope", env={})


@case("no credentials at all", ConfigError, "OS_ACCESS_KEY")
def _(sb, s, tmp):
    Session(sb.auth_url, env={})


@case("an expired token given explicitly", AuthError, "OS_AUTH_TOKEN")
def _(sb, s, tmp):
    with Sandbox(servers=5, token_ttl=0.5) as short:
        token = _session(short).token.id
        time.sleep(0.7)
        Session(short.auth_url, token=token, env={})


@case("unknown region", EndpointNotFound, "region0")
def _(sb, s, tmp):
    s.list("servers", region="mars")


@case("unknown interface", ConfigError, "public")
def _(sb, s, tmp):
    s.list("servers", interface="sideways")


@case("unknown resource", UnknownResource, "servers")
def _(sb, s, tmp):
    s.list("sever")


@case("malformed filter expression", ConfigError, "field.op(args)")
def _(sb, s, tmp):
    s.list("servers", filters="status = running")


@case("unknown filter operator", ConfigError, "contains")
def _(sb, s, tmp):
    s.list("servers", filters="name.has('web')")


@case("non-JSON answer", ProtocolError, "instead of JSON")
def _(sb, s, tmp):
    with serve(reply(200, "this is not json", "text/plain")) as url:
        s.get_json(url + "/servers")


@case("truncated JSON", ProtocolError, "truncated")
def _(sb, s, tmp):
    with serve(reply(200, '{"servers":[{"id":"a"', "application/json")) as url:
        s.get_json(url + "/servers")


@case("list envelope missing its key", ProtocolError, "'servers'")
def _(sb, s, tmp):
    from cpexplore.lists.pages import fetch_all

    with serve(reply(200, '{"data_rows":[],"total":0}')) as url:
        fetch_all(lambda p: s.get_json(url + "/servers", p), "servers", {}, progress=False)


@case("a server that closes the connection", TransportError, "closed the connection")
def _(sb, s, tmp):
    with serve(drop) as url:
        s.get_json(url + "/servers")


@case("an unreachable host", ConnectError, "connection refused at 127.0.0.1:9")
def _(sb, s, tmp):
    _session(sb, auth_url="http://127.0.0.1:9/v3", timeout=2)


@case("https:// on a plain-HTTP keystone", TransportError, "speaks plain HTTP")
def _(sb, s, tmp):
    _session(sb, auth_url=sb.auth_url.replace("http://", "https://"))


@case("a mistyped scheme (http//)", ConfigError, "did you mean 'http://127.0.0.1:5000/v3'")
def _(sb, s, tmp):
    _session(sb, auth_url="http//127.0.0.1:5000/v3")


@case("the login path given as the auth URL", ConfigError, "ends in /auth/tokens")
def _(sb, s, tmp):
    _session(sb, auth_url=sb.auth_url + "/auth/tokens")


@case("a misspelt setting", ConfigError, "did you mean 'region'")
def _(sb, s, tmp):
    _session(sb, regoin="region0")


@case("a self-signed certificate with verification on", TransportError, "ca_bundle")
def _(sb, s, tmp):
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with Sandbox(servers=5, tls=ctx) as tls:
        _session(tls)


@case("an unreadable rc file (not text)", ConfigError, "garbage.rc")
def _(sb, s, tmp):
    (tmp / "garbage.rc").write_bytes(b"\xff\xfe\x00export OS_AUTH_URL=\x80\x81")
    Session.from_rc(tmp / "garbage.rc", env={})


@case("an rc path that is a directory", ConfigError, "directory")
def _(sb, s, tmp):
    Session.from_rc(tmp, env={})


@case("a missing rc file", ConfigError, "no-such-rc")
def _(sb, s, tmp):
    Session.from_rc(tmp / "no-such-rc", env={})


@case("a profile that does not exist", ConfigError, "'prod'")
def _(sb, s, tmp):
    cfg = tmp / "config.ini"
    cfg.write_text(f"[profile dev]\nauth_url = {sb.auth_url}\n")
    Session(profile="prod", env={"CPEXPLORE_CONFIG": str(cfg)})


@case("a limit that is not positive", ConfigError, "limit")
def _(sb, s, tmp):
    s.list("servers", limit=0)


def _frame():
    import pandas as pd

    return pd.DataFrame({"id": ["a"], "status": ["running"]})


@case("an export path that is a directory", ExportError, "is a directory")
def _(sb, s, tmp):
    files.to_csv(_frame(), tmp)


@case("an export path nobody may write to", ExportError, "permission")
def _(sb, s, tmp):
    folder = Path("/sys") if os.geteuid() == 0 else tmp / "ro"
    if folder != Path("/sys"):
        folder.mkdir()
        folder.chmod(0o500)
    files.to_csv(_frame(), folder / "servers.csv")


@case("an export to a full disk (simulated)", ExportError, "disk is full")
def _(sb, s, tmp):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    real = os.fsync
    os.fsync = full
    try:
        files.to_csv(_frame(), tmp / "servers.csv")
    finally:
        os.fsync = real


@case("a DataFrame without the columns a plot needs", MissingColumns, "hypervisor")
def _(sb, s, tmp):
    plots.plot_inventory(_frame(), by="hypervisor")


@pytest.mark.parametrize("name", list(CASES))
def test_r3_bad_input_gets_a_specific_error_and_one_line_saying_what_to_fix(
    name, sandbox, session, tmp_path
):
    error, says, run = CASES[name]
    with pytest.raises(CpExploreError) as info:
        run(sandbox, session, tmp_path)
    assert type(info.value) is error, f"{name}: {type(info.value).__name__}: {info.value}"
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    assert says in text, text
    assert info.value.hint or "(" in text  # every message carries what to do


def test_r3_there_are_at_least_twenty_distinct_cases():
    assert len(CASES) >= 20
    print(f"R3: {len(CASES)} bad-input cases")


@pytest.mark.parametrize(
    ("args", "change"),
    [
        (["catalog"], {"OS_AUTH_URL": "https://cloud.example.com/v3"}),
        (["catalog"], {"OS_SECRET_KEY": "wrong"}),
        (["list", "sever"], {}),
        (["list", "servers", "--filter", "status = running"], {}),
        (["--region", "mars", "list", "servers"], {}),
        (["--interface", "sideways", "catalog"], {}),
        (["report", "--out", "/sys/cpexplore-report"], {}),
        (["catalog"], {"OS_AUTH_URL": "http://127.0.0.1:9/v3"}),
        (["--rc", "/nonexistent/rc", "catalog"], {}),
        (["--profile", "prod", "catalog"], {"CPEXPLORE_CONFIG": "/nonexistent/config.ini"}),
    ],
    ids=[
        "no-port",
        "wrong-secret",
        "unknown-resource",
        "bad-filter",
        "unknown-region",
        "bad-interface",
        "unwritable-report",
        "unreachable",
        "missing-rc",
        "missing-profile",
    ],
)
def test_r3_the_cli_user_gets_one_line_and_no_traceback(sandbox, args, change):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CPEXPLORE_"))}
    env.update(parse_rc(sandbox.rc()))
    env.update(change)
    out = subprocess.run(
        [sys.executable, "-m", "cpexplore", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.strip() and "Warning" not in ln]
    assert len(lines) == 1 and lines[0].startswith("cpexplore: error:"), out.stderr


# -- R5 -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_sandbox():
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with Sandbox(servers=20, tls=ctx) as sb, ca.cert_pem.tempfile() as pem:
        yield sb, pem


def test_r5_tls_is_verified_by_default_and_a_ca_bundle_is_honoured(tls_sandbox):
    sb, pem = tls_sandbox
    with pytest.raises(TransportError, match="TLS verification failed") as info:
        Session(**sb.settings(), env={})
    assert info.value.__cause__ is not None
    with Session(**sb.settings(), env={}, ca_bundle=pem) as s:
        assert len(s.list("zones")) > 0


def test_r5_insecure_works_only_when_asked_and_warns(tls_sandbox, recwarn):
    sb, _ = tls_sandbox
    with Session(**sb.settings(), env={"YUNION_INSECURE": "true"}) as s:
        assert len(s.list("zones")) > 0
    assert [w.category for w in recwarn.list].count(InsecureTransportWarning) == 1
    assert not [w for w in recwarn.list if "InsecureRequestWarning" in w.category.__name__]


def test_r5_a_login_to_a_refused_port_fails_at_once_in_one_line():
    with socket.socket() as probe:  # a port of 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        Session(f"http://127.0.0.1:{port}/v3", access_key="a", secret_key="b", env={}, retries=5)
    text = str(info.value)
    assert "retries" not in text  # tried once: the list-page retry policy would wait 7.5 s
    assert "\n" not in text
    assert text.startswith(
        f"connection refused at 127.0.0.1:{port} \N{EM DASH} is keystone running there?"
    )
    assert info.value.__cause__ is not None


def test_r5_a_path_is_no_certificate(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Session(
            "https://127.0.0.1:30500/v3",
            access_key="a",
            secret_key="b",
            ca_bundle=str(tmp_path / "x"),
            env={},
        )


def test_r5_a_slow_server_hits_the_read_timeout(sandbox):
    with Sandbox(servers=5, latency=0) as slow:
        s = Session(**slow.settings(), env={}, timeout=(2, 0.5), retries=0)
        slow.latency = 1.0
        with pytest.raises(TransportError, match="did not answer within 0.5s") as info:
            s.list("zones")
        assert info.value.__cause__ is not None


def test_r5_redirects_to_another_host_drop_the_token(session):
    with serve(reply(200, '{"zones":[]}')) as target:
        landed = serve.seen
        with serve(
            reply(307, "", headers={"Location": target.replace("127.0.0.1", "localhost") + "/z"})
        ) as hop:
            session.get_json(hop + "/zones")
    assert landed and "X-Auth-Token" not in landed[-1]["headers"]
    assert Path(__file__).exists()


def test_r5_a_login_redirect_carries_no_credentials_anywhere(sandbox):
    with serve(reply(200, '{"token":{}}')) as elsewhere:
        landed = serve.seen
        with serve(reply(307, "", headers={"Location": elsewhere + "/v3/auth/tokens"})) as front:
            with pytest.raises(ProtocolError, match="redirects to"):
                Session(
                    f"{front}/v3",
                    access_key=sandbox.access_key,
                    secret_key=sandbox.secret_key,
                    env={},
                )
            with pytest.raises(ProtocolError, match="credentials are not sent on"):
                Session(f"{front}/v3", username="u", password="a-password", env={})
    assert landed == []  # nothing, not even the signed blob, reached the other host


def test_r5_insecure_sessions_do_not_silence_other_warnings(tls_sandbox, recwarn):
    import warnings

    from cpexplore.errors import PagingDriftWarning

    sb, _ = tls_sandbox
    before = list(warnings.filters)
    s = Session(**sb.settings(), env={}, insecure=True, max_workers=8, page_size=2)
    s.list("zones")
    assert list(warnings.filters) == before  # no process-wide filter was installed
    assert [w.category for w in recwarn.list] == [InsecureTransportWarning]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("still heard", PagingDriftWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["still heard"]
