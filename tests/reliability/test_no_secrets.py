"""R4 no secret anywhere: every text cpexplore can emit is scanned for every secret.

Secrets: the secret key, the passwords, every token the sandbox issued, and every signed
``access_key_secret`` blob (found by its signature) that reached the sandbox.
Texts: DEBUG logs, reprs, ``_repr_html_``, exception messages, warnings, widget HTML,
CLI stdout/stderr, CSV/JSON/HTML report files, snapshot files and notebook outputs.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import cpexplore
from cpexplore import CpExploreError, Session, files, reports, snapshots, widgets
from cpexplore.config import parse_rc
from cpexplore.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
# A token no server issued: servers quote such a token back in their errors (a real keystone:
# 'token "ffff…" not found'), so the errors built from their answers must mask it.
BAD_TOKEN = "f" * 64


class Collector(logging.Handler):
    """Every log record of every logger, formatted with its arguments."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(scope="module")
def leaky():
    """A sandbox that records the auth bodies it receives, to know every signed blob."""
    with Sandbox(servers=400, seed=23, password="Pw-0f-the-admin!") as sb:
        bodies: list[bytes] = []
        real = sb.identity.authenticate

        def authenticate(raw: bytes, ip: str):
            bodies.append(raw)
            return real(raw, ip)

        sb.identity.authenticate = authenticate  # type: ignore[method-assign]
        sb.auth_bodies = bodies  # type: ignore[attr-defined]
        yield sb


def _secrets(sb: Sandbox) -> dict[str, str]:
    found = {
        "secret key": sb.secret_key,
        "admin password": sb.password,
        "member password": sb.member_password,
        "bad token": BAD_TOKEN,
    }
    for token in list(sb.identity.tokens):
        found[f"token {token[:6]}"] = token
    for raw in sb.auth_bodies:
        try:
            ident = json.loads(raw)["auth"]["identity"]
        except (ValueError, KeyError, TypeError):
            continue
        if "access_key_secret" in ident:
            blob = json.loads(ident["access_key_secret"])
            found[f"signature {blob['signature'][:6]}"] = blob["signature"]
            found["signed blob"] = ident["access_key_secret"]
    return found


def _widget_texts(widget) -> list[str]:
    out = []
    stack = [widget]
    while stack:
        w = stack.pop()
        for attr in ("value", "description", "placeholder", "tooltip"):
            v = getattr(w, attr, None)
            if isinstance(v, str):
                out.append(v)
        out.extend(str(o) for o in getattr(w, "outputs", ()) or ())
        stack.extend(getattr(w, "children", ()) or ())
    return out


def test_r4_no_secret_in_any_text_cpexplore_emits(leaky, tmp_path, capsys):
    sb = leaky
    texts: list[tuple[str, str]] = []
    collector = Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # -- the library: sessions by AK/SK, password and token -------------------------------
            s = Session(**sb.settings(), env={}, progress=True)
            pw = Session(
                sb.auth_url, username=sb.username, password=sb.password, project="system", env={}
            )
            tk = Session(sb.auth_url, token=pw.token.id, project="system", env={})
            member = Session(
                sb.auth_url,
                username=sb.member_username,
                password=sb.member_password,
                project=sb.member_project,
                env={},
            )
            insecure = Session(**sb.settings(), env={"YUNION_INSECURE": "true"})
            for sess in (s, pw, tk, member, insecure):
                texts += [
                    ("repr", repr(sess)),
                    ("html", sess._repr_html_()),
                    ("repr token", repr(sess.token)),
                    ("repr settings", repr(sess.settings)),
                ]
            servers = s.list("servers", scope="system")
            hosts = s.list("hosts")
            texts += [
                ("catalog", s.catalog.to_string()),
                ("servers", servers.to_string()),
                ("attrs", repr(servers.attrs)),
                ("cache", s.cache_info().to_string()),
                ("resources", s.resources().to_string()),
                ("get", s.get("servers", servers.iloc[0]["id"]).to_string()),
                ("hosts", hosts.to_string()),
            ]
            # -- errors ----------------------------------------------------------------------------
            attempts = [
                lambda: Session(**sb.settings(secret_key="wrong-" + sb.secret_key), env={}),
                lambda: Session(
                    sb.auth_url, username=sb.username, password=sb.password + "x", env={}
                ),
                lambda: Session(sb.auth_url, token=pw.token.id + "0", env={}),
                lambda: Session(sb.auth_url, token=BAD_TOKEN, env={}),
                lambda: Session(sb.auth_url, token=BAD_TOKEN, project="system", env={}),
                lambda: Session(sb.auth_url, username=sb.username, password=BAD_TOKEN, env={}),
                lambda: member.list("servers", scope="system"),
                lambda: member.list("hosts"),
                lambda: s.list("nothing"),
                lambda: s.get("servers", "no-such"),
                lambda: Session(
                    "http://127.0.0.1:9/v3", access_key="a", secret_key=sb.secret_key, env={}
                ),
                lambda: Session("https://h/v3", username="u", password=sb.password, env={}),
            ]
            for attempt in attempts:
                try:
                    attempt()
                except CpExploreError as e:
                    texts += [
                        ("error", str(e)),
                        ("error repr", repr(e)),
                        ("error args", repr(e.args)),
                    ]
            # -- widgets, reports, snapshots, gather -----------------------------------------------
            inventory = widgets.inventory_explorer(s)
            inventory.export()
            texts.append(("download", inventory.last_export.data.decode()))
            for w in (widgets.catalog_explorer(s), inventory, widgets.explore(s)):
                texts += [("widget", t) for t in _widget_texts(w)]
            paths = reports.inventory_report(s, tmp_path / "report")
            files.to_json(servers, tmp_path / "servers.json")
            store = tmp_path / "snaps"
            snapshots.snapshot(s, store)
            sb.update("servers", servers.iloc[1]["id"], status="ready")
            snapshots.snapshot(s, store)
            texts += [
                ("diff", d.to_frame().to_string()) for d in snapshots.diff_snapshots(store).values()
            ]
            got = cpexplore.gather([s, pw], "zones")
            texts += [("gather", got.frame.to_string()), ("gather errors", got.errors.to_string())]
            for sess in (s, pw, tk, member, insecure):
                sess.close()
        texts += [("warning", str(w.message)) for w in caught]
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
    texts += [("log", t) for t in collector.texts]
    captured = capsys.readouterr()
    texts += [("stdout", captured.out), ("stderr", captured.err)]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".json", ".html", ".gz"):
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            texts.append((f"file {path.name}", data.decode("utf-8", "replace")))
    assert paths and any(k.endswith(".csv") for k in map(str, paths))

    # -- the CLI, in a child process, with the rc file's settings ----------------------------
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CPEXPLORE_"))}
    env.update(parse_rc(sb.rc()))
    first = servers.iloc[0]["id"]
    commands = [
        ["catalog"],
        ["list", "servers", "--scope", "system", "-f", "csv"],
        ["show", "servers", first],
        ["list", "hosts", "-f", "json"],
        ["report", "--out", str(tmp_path / "cli-report")],
        ["snapshot", "--store", str(tmp_path / "cli-snaps")],
        ["diff", "--store", str(tmp_path / "snaps")],
        ["list", "nothing"],
        ["--region", "mars", "list", "servers"],
    ]
    for args in commands:
        out = subprocess.run(
            [sys.executable, "-m", "cpexplore", "--debug", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        texts += [(f"cli {args[0]} stdout", out.stdout), (f"cli {args[0]} stderr", out.stderr)]
    bad = {**env, "OS_SECRET_KEY": "wrong-" + sb.secret_key, "OS_PASSWORD": "wrong"}
    out = subprocess.run(
        [sys.executable, "-m", "cpexplore", "catalog"],
        env=bad,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr
    texts += [("cli error", out.stderr)]
    for token_env in (
        {"OS_AUTH_TOKEN": BAD_TOKEN},
        {"OS_AUTH_TOKEN": BAD_TOKEN, "OS_PROJECT_NAME": "system"},
    ):
        only_token = {k: v for k, v in env.items() if k not in ("OS_ACCESS_KEY", "OS_USERNAME")}
        out = subprocess.run(
            [sys.executable, "-m", "cpexplore", "--debug", "catalog"],
            env={**only_token, **token_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1 and "token" in out.stderr
        texts += [("cli bad token", out.stderr + out.stdout)]
    for path in sorted(tmp_path.glob("cli-*/**/*")):
        if path.is_file() and path.suffix in (".csv", ".html", ".json"):
            texts.append((f"cli file {path.name}", path.read_text("utf-8", "replace")))

    # -- a notebook run against the sandbox as a real cloud (OS_AUTH_URL set) -----------------
    nb = nbformat.read(ROOT / "notebooks" / "01-quickstart.ipynb", as_version=4)
    with _environ(env):
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(("notebook", json.dumps(output, ensure_ascii=False)))

    secrets = _secrets(sb)
    assert len(secrets) > 8 and any(k.startswith("signature") for k in secrets)
    leaks = [
        (where, name) for where, text in texts for name, secret in secrets.items() if secret in text
    ]
    assert not leaks, leaks[:10]
    assert not [w for w, t in texts if "access_key_secret" in t]
    print(f"R4: {len(texts)} emitted texts scanned for {len(secrets)} secrets, no leak")


@contextlib.contextmanager
def _environ(env: dict[str, str]):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
