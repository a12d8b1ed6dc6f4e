"""Benchmark: listing servers with cpexplore against the floor and the naive loop.

The sandbox runs in its own process (``python -m cpexplore sandbox``), as a real server
would; everything is measured in one run on the same data and printed as ratios against
the baselines. Nothing here asserts anything about time.

    python bench/list_servers.py                 # 100 000 servers
    python bench/list_servers.py --servers 5000  # quick
    python bench/list_servers.py --scale         # also 1 000 000 against 100 000
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import pandas as pd
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cpexplore  # noqa: E402
from cpexplore.config import parse_rc  # noqa: E402
from cpexplore.sandbox import servers_for_rows  # noqa: E402
from cpexplore.signing import aksk_auth_body  # noqa: E402


@contextmanager
def sandbox_process(servers: int, latency: float = 0.0, seed: int = 0):
    """Start ``cpexplore sandbox`` in a child process; yield its rc variables."""
    cmd = [
        sys.executable,
        "-m",
        "cpexplore",
        "sandbox",
        "--servers",
        str(servers),
        "--seed",
        str(seed),
        "--latency",
        str(latency),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = []
        while len(lines) < 9:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox did not start")
            lines.append(line)
        yield parse_rc("".join(lines))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _token(env: dict) -> str:
    body = aksk_auth_body(env["OS_AUTH_URL"], env["OS_ACCESS_KEY"], env["OS_SECRET_KEY"])
    resp = requests.post(env["OS_AUTH_URL"] + "/auth/tokens", data=body, timeout=30)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


def _pages(env: dict, http: requests.Session, token: str) -> list[dict]:
    """What a user writes today: one page after another (the answers, decoded)."""
    base = env["OS_AUTH_URL"].rsplit("/v3", 1)[0]
    bodies, offset, total = [], 0, None
    while total is None or offset < total:
        resp = http.get(
            f"{base}/servers",
            params={"scope": "system", "details": "true", "limit": 2048, "offset": offset},
            headers={"X-Auth-Token": token},
            timeout=120,
        )
        body = resp.json()
        bodies.append(body)
        total = body.get("total", 0)
        offset += len(body["servers"])
        if not body["servers"]:
            break
    return bodies


def floor(env: dict) -> float:
    http = requests.Session()
    token = _token(env)
    t = time.perf_counter()
    _pages(env, http, token)
    return time.perf_counter() - t


def naive(env: dict) -> tuple[float, pd.DataFrame]:
    http = requests.Session()
    token = _token(env)
    t = time.perf_counter()
    bodies = _pages(env, http, token)
    df = pd.json_normalize([r for b in bodies for r in b["servers"]])
    return time.perf_counter() - t, df


def cp_cold(session: cpexplore.Session) -> tuple[float, pd.DataFrame]:
    t = time.perf_counter()
    df = session.list("servers", scope="system", refresh=True)
    return time.perf_counter() - t, df


def cp_cached(session: cpexplore.Session) -> float:
    t = time.perf_counter()
    session.list("servers", scope="system")
    return time.perf_counter() - t


def best(f, repeat: int):
    times = []
    result = None
    for _ in range(repeat):
        gc.collect()
        out = f()
        times.append(out[0] if isinstance(out, tuple) else out)
        result = out
    return min(times), statistics.median(times), result


def connect(env: dict, **kw) -> cpexplore.Session:
    return cpexplore.Session(env=env, progress=False, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--servers", type=int, default=100_000, help="rows to list (default 100 000)")
    ap.add_argument("--latency", type=float, default=0.25)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--workers", type=int, default=None, help="cpexplore max_workers (default: its default)"
    )
    ap.add_argument(
        "--scale", action="store_true", help="also time 1 000 000 servers against --servers"
    )
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    kw = {"max_workers": args.workers} if args.workers else {}
    rows: list[tuple[str, str]] = []
    res: dict[str, float] = {}

    generated = servers_for_rows(args.servers)
    with sandbox_process(generated) as env:
        s = connect(env, **kw)
        cp_cold(s)  # warm the server's record cache so every method sees the same server
        res["floor"], _, _ = best(lambda: floor(env), args.repeat)
        res["naive"], _, (_, naive_df) = best(lambda: naive(env), args.repeat)
        res["cold"], _, (_, cp_df) = best(lambda: cp_cold(s), args.repeat)
        res["cached"], _, _ = best(lambda: cp_cached(s), max(args.repeat, 5))
        n = len(cp_df)
        assert len(naive_df) == n and set(naive_df["id"]) == set(cp_df["id"])
        res["mem_naive"] = naive_df.memory_usage(deep=True).sum() / 2**20
        res["mem_cp"] = cp_df.memory_usage(deep=True).sum() / 2**20
        rows += [
            ("rows listed (servers of catalog region region0)", f"{n} of {generated} generated"),
            ("floor: sequential requests.get + .json()", f"{res['floor']:.2f} s"),
            ("naive: sequential pages + pd.json_normalize", f"{res['naive']:.2f} s"),
            ("cpexplore cold", f"{res['cold']:.2f} s"),
            ("cpexplore cached", f"{res['cached'] * 1000:.2f} ms"),
            ("naive DataFrame deep memory", f"{res['mem_naive']:.1f} MiB"),
            ("cpexplore DataFrame deep memory", f"{res['mem_cp']:.1f} MiB"),
        ]
        del naive_df, cp_df
        s.close()

    if not args.skip_latency:
        with sandbox_process(generated, latency=args.latency) as env:
            s = connect(env, **kw)
            cp_cold(s)  # warm this server too, so that neither method pays for building records
            res["naive_lat"], _, _ = best(lambda: naive(env), 1)
            res["cold_lat"], _, _ = best(lambda: cp_cold(s), 1)
            rows += [
                (f"naive under {args.latency} s latency", f"{res['naive_lat']:.2f} s"),
                (f"cpexplore under {args.latency} s latency", f"{res['cold_lat']:.2f} s"),
            ]
            s.close()

    if args.scale:
        with sandbox_process(servers_for_rows(10 * args.servers)) as env:
            s = connect(env, **kw)
            cp_cold(s)
            res["cold_1m"], _, _ = best(lambda: cp_cold(s), max(1, args.repeat - 1))
            rows.append((f"cpexplore cold, {10 * args.servers} rows", f"{res['cold_1m']:.2f} s"))
            s.close()

    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  ----------")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print()
    targets = [
        ("P1", "floor_ratio", res["cold"] / res["floor"], "<=", 1.25),
        ("P3", "memory_ratio", res["mem_cp"] / res["mem_naive"], "<=", 0.30),
        ("P4", "cache_speedup", res["cold"] / res["cached"], ">=", 100),
    ]
    if "naive_lat" in res:
        targets.insert(1, ("P2", "latency_speedup", res["naive_lat"] / res["cold_lat"], ">=", 3.5))
    if "cold_1m" in res:
        targets.append(("P5", "scale_ratio", res["cold_1m"] / res["cold"], "<=", 12))
    for name, label, value, op, limit in targets:
        ok = value <= limit if op == "<=" else value >= limit
        print(f"{name} {label}={value:.2f} target{op}{limit:g} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
