"""``cpexplore sandbox`` serves in the foreground, prints an rc block first and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from cpexplore.config import parse_rc
from cpexplore.signing import aksk_auth_body

JSON = {"Content-Type": "application/json"}  # keystone decodes only a body declared JSON


def _start(*args: str) -> tuple[subprocess.Popen, dict[str, str], float]:
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cpexplore", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [proc.stdout.readline() for _ in range(9)]
    return proc, parse_rc("".join(lines)), time.monotonic() - start


def test_the_rc_block_comes_first_and_logs_in(tmp_path):
    proc, rc, _ = _start(
        "--servers", "200", "--seed", "3", "--username", "admin", "--password", "pw-1"
    )
    try:
        assert list(rc) == [
            "OS_AUTH_URL",
            "OS_ACCESS_KEY",
            "OS_SECRET_KEY",
            "OS_USERNAME",
            "OS_PASSWORD",
            "OS_PROJECT_NAME",
            "OS_PROJECT_DOMAIN",
            "OS_REGION_NAME",
            "OS_ENDPOINT_TYPE",
        ]
        assert rc["OS_AUTH_URL"].startswith("http://127.0.0.1:") and rc["OS_AUTH_URL"].endswith(
            "/v3"
        )
        assert rc["OS_USERNAME"] == "admin" and rc["OS_PASSWORD"] == "pw-1"
        assert rc["OS_ENDPOINT_TYPE"] == "publicURL" and rc["OS_PROJECT_NAME"] == "system"
        body = aksk_auth_body(rc["OS_AUTH_URL"], rc["OS_ACCESS_KEY"], rc["OS_SECRET_KEY"])
        assert (
            requests.post(
                rc["OS_AUTH_URL"] + "/auth/tokens", data=body, headers=JSON, timeout=10
            ).status_code
            == 200
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err


def test_ctrl_c_stops_it_cleanly():
    proc, rc, _ = _start("--servers", "50")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err


def test_100k_servers_start_quickly_and_a_deep_page_is_right():
    proc, rc, took = _start("--servers", "100000", "--seed", "1")
    try:
        body = aksk_auth_body(rc["OS_AUTH_URL"], rc["OS_ACCESS_KEY"], rc["OS_SECRET_KEY"])
        token = requests.post(
            rc["OS_AUTH_URL"] + "/auth/tokens", data=body, headers=JSON, timeout=10
        ).headers["X-Subject-Token"]
        base = rc["OS_AUTH_URL"].rsplit("/v3", 1)[0]
        page = requests.get(
            f"{base}/servers",
            params={"scope": "system", "limit": 2048, "offset": 98000},
            headers={"X-Auth-Token": token},
            timeout=60,
        ).json()
        total = page["total"]
        assert page["offset"] == 98000 and len(page["servers"]) == max(0, min(2048, total - 98000))
        r1 = requests.get(
            f"{base}/region1/servers",
            params={"scope": "system", "limit": 1},
            headers={"X-Auth-Token": token},
            timeout=60,
        ).json()
        assert total + r1["total"] == 100_000
        print(f"cpexplore sandbox --servers 100000 answered its rc block after {took:.2f}s")
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_non_loopback_host_needs_allow_remote():
    out = subprocess.run(
        [sys.executable, "-m", "cpexplore", "sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert out.returncode != 0 and "--allow-remote" in out.stderr and "Traceback" not in out.stderr
