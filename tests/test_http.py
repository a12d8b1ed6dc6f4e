"""The transport: errors chosen by exception type, causes kept, logins that fail fast,
diagnostics that name the actual mistake, and no process-wide warning filter.

Every server here listens on 127.0.0.1; host names other than 127.0.0.1/localhost are
answered by a fake resolver, so nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import requests
import trustme
import urllib3.util.connection
from fakes import drop, reply, serve

from cpexplore import ConnectError, TransportError, __version__
from cpexplore.catalog import Catalog
from cpexplore.http import Transport
from cpexplore.sandbox import Sandbox

TOKEN = "gAAAA-secret-token-value-0123456789"
LOCAL = ("127.0.0.1", "localhost")


@pytest.fixture
def refused_port() -> int:
    """A port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only 127.0.0.1 and localhost resolve; any other name fails as an unknown host does."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOCAL:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every connection attempt urllib3 makes, in order."""
    seen: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def spy(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return seen


@pytest.fixture(scope="module")
def http_sandbox() -> Iterator[Sandbox]:
    with Sandbox(servers=10) as sb:
        yield sb


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[tuple[Sandbox, str]]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with Sandbox(servers=10, tls=ctx) as sb, ca.cert_pem.tempfile() as pem:
        yield sb, pem


def assert_plain(error: BaseException) -> str:
    """One line, no repr of a urllib3 object, no token; the cause kept."""
    text = str(error)
    assert "\n" not in text and len(text) < 400, text
    for leak in ("NewConnectionError(", "HTTPConnectionPool", "object at 0x", "Max retries", TOKEN):
        assert leak not in text, text
    assert isinstance(error.__cause__, requests.RequestException), repr(error.__cause__)
    assert error.__suppress_context__  # raised "from" the cause, not "from None"
    return text


# -- logins fail fast -------------------------------------------------------------------------
def test_a_login_to_a_refused_port_tries_once_and_says_so_in_one_line(refused_port, connects):
    t = Transport(retries=5)
    with pytest.raises(ConnectError) as info:
        t.login_request("POST", f"http://127.0.0.1:{refused_port}/v3/auth/tokens", data="{}")
    assert len(connects) == 1  # one try: no back-off to wait out
    text = assert_plain(info.value)
    assert text.startswith(
        f"connection refused at 127.0.0.1:{refused_port} \N{EM DASH} is keystone running there?"
    )
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_list_requests_keep_their_retries_and_say_how_many(refused_port, connects):
    t = Transport(retries=2, backoff=0)
    with pytest.raises(ConnectError, match=f"refused at 127.0.0.1:{refused_port} after 2 retries"):
        t.request("GET", f"http://127.0.0.1:{refused_port}/servers", token=TOKEN)
    assert len(connects) == 3


def test_the_no_retry_switch_is_per_call(refused_port):
    t = Transport(retries=3)
    adapter = t.session.get_adapter("http://x")
    with pytest.raises(ConnectError):
        t.login_request("GET", f"http://127.0.0.1:{refused_port}/v3/auth/tokens")
    assert adapter.max_retries is t.retry


def test_an_unknown_host_says_the_name_does_not_resolve(fake_dns, connects):
    with pytest.raises(ConnectError) as info:
        Transport().login_request("POST", "http://keystone.invalid:30500/v3/auth/tokens")
    text = assert_plain(info.value)
    assert text.startswith("the host name 'keystone.invalid' does not resolve")


# -- diagnostics that name the mistake ---------------------------------------------------------
@pytest.mark.parametrize("login", [True, False], ids=["login", "list"])
def test_https_on_a_plain_http_port_says_to_use_http(http_sandbox, login):
    port = http_sandbox.port
    t = Transport()
    url = f"https://127.0.0.1:{port}/v3/auth/tokens"
    with pytest.raises(TransportError) as info:
        t.login_request("POST", url, data="{}") if login else t.request("GET", url)
    text = assert_plain(info.value)
    assert text.startswith(f"the server at 127.0.0.1:{port} speaks plain HTTP")
    assert f"http://127.0.0.1:{port}/v3" in info.value.hint
    assert "insecure" not in text and "verification" not in text
    assert isinstance(info.value.__cause__, requests.exceptions.SSLError)


def test_an_untrusted_certificate_names_verification(tls_sandbox):
    sb, _ = tls_sandbox
    with pytest.raises(TransportError) as info:
        Transport().login_request("POST", f"{sb.auth_url}/auth/tokens", data="{}")
    text = assert_plain(info.value)
    assert text.startswith(f"TLS verification failed for https://127.0.0.1:{sb.port}")
    assert "ca_bundle" in text


def test_an_unreachable_internal_endpoint_names_it_and_suggests_public(fake_dns, http_sandbox):
    internal = "http://default-region:30888"
    public = f"http://127.0.0.1:{http_sandbox.port}"
    cat = Catalog.from_token(
        [
            {
                "id": "s",
                "name": "region2",
                "type": "compute_v2",
                "endpoints": [
                    {"id": "a", "interface": "internal", "region_id": "region0", "url": internal},
                    {"id": "b", "interface": "public", "region_id": "region0", "url": public},
                ],
            }
        ]
    )
    url = cat.url_for("compute", interface="internal") + "/servers"
    with pytest.raises(ConnectError) as info:
        try:
            Transport(retries=0).request("GET", url, token=TOKEN)
        except ConnectError as e:
            raise cat.unreachable(e, url, interface="internal") from e
    text = str(info.value)
    assert "\n" not in text and TOKEN not in text
    assert "the internal endpoint of compute_v2 in region region0" in text
    assert internal in text and "does not resolve" in text
    assert "interface='public'" in text and "--interface public" in text and public in text
    assert isinstance(info.value.__cause__.__cause__, requests.ConnectionError)


# -- every error path keeps its cause ------------------------------------------------------------
def _chunked_then_gone(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    h.wfile.write(b'5\r\n{"a":\r\n')
    h.wfile.flush()
    h.close_connection = True
    h.connection.shutdown(socket.SHUT_RDWR)


def _slow(h: BaseHTTPRequestHandler) -> None:
    time.sleep(1.0)
    with contextlib.suppress(OSError):  # the client gave up, as it should
        reply(200, "{}")(h)


def _loop(h: BaseHTTPRequestHandler) -> None:
    reply(302, "", headers={"Location": "/again"})(h)


def _connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_connect(address, *args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", slow_connect)


PATHS: dict[str, tuple[Callable | None, Callable | None, type, str]] = {
    # name: (server behaviour, monkeypatch, error class, start of the message)
    "closed": (drop, None, TransportError, "http://127.0.0.1:{port} closed the connection"),
    "truncated": (_chunked_then_gone, None, TransportError, "http://127.0.0.1:{port} closed"),
    "read-timeout": (_slow, None, TransportError, "http://127.0.0.1:{port} did not answer"),
    "redirect-loop": (_loop, None, TransportError, "GET http://127.0.0.1:{port}/x redirects"),
    "connect-timeout": (None, _connect_timeout, ConnectError, "timed out connecting to"),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_every_transport_error_is_one_plain_line_with_its_cause(name, monkeypatch):
    behaviour, patch, error, start = PATHS[name]
    t = Transport(timeout=(1, 0.3), retries=0)
    if patch is not None:
        patch(monkeypatch)
    if behaviour is None:
        with pytest.raises(error) as info:
            t.request("GET", "http://127.0.0.1:9/x", token=TOKEN)
    else:
        with serve(behaviour) as url, pytest.raises(error) as info:
            t.request("GET", url + "/x?secret=no", token=TOKEN)
        start = start.format(port=url.rsplit(":", 1)[1])
    text = assert_plain(info.value)
    assert type(info.value) is error and text.startswith(start), text
    assert "secret=no" not in text


def test_a_malformed_url_is_one_line_with_its_cause():
    with pytest.raises(TransportError) as info:
        Transport().request("GET", "http//127.0.0.1:5000/v3")
    text = assert_plain(info.value)
    assert "malformed" in text and "https://http" not in text


def test_messages_never_carry_user_info_from_a_url(refused_port):
    with pytest.raises(ConnectError) as info:
        Transport(retries=0).request("GET", f"http://u:pw-123@127.0.0.1:{refused_port}/x")
    assert "pw-123" not in assert_plain(info.value)


# -- warnings ----------------------------------------------------------------------------------
def test_an_insecure_transport_changes_no_warning_filter_and_silences_no_one_else(tls_sandbox):
    sb, _ = tls_sandbox
    script = textwrap.dedent(
        f"""
        import warnings, requests, urllib3
        import cpexplore
        from cpexplore.http import InsecureTransportWarning, Transport
        before = list(warnings.filters)
        with warnings.catch_warnings(record=True) as mine:
            warnings.simplefilter("always")
            t = Transport(verify=False)
            assert t.request("GET", "{sb.base_url}/v3").status_code < 500
            t.request("GET", "{sb.base_url}/v3")
        assert list(warnings.filters) == before, "filters changed"
        kinds = [w.category for w in mine]
        assert kinds == [InsecureTransportWarning], kinds
        t2 = Transport(verify=False)  # warns outside any catch_warnings: filters stay as they were
        t2.request("GET", "{sb.base_url}/v3")
        assert list(warnings.filters) == before, "filters changed"
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            requests.get("{sb.base_url}/v3", verify=False, timeout=10)
        assert [w.category for w in theirs] == [urllib3.exceptions.InsecureRequestWarning]
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_user_agent_names_the_version():
    assert f"cpexplore/{__version__} " in Transport().session.headers["User-Agent"]
