"""Benchmark: SQL over fetched tables (H2) and a year of daily snapshots (H1).

H1 — a year of daily snapshots of a 10 000-server cloud, generated from the sandbox's
inventory with day-to-day changes (servers created, deleted, stopped and started), stored
as Parquet by ``snapshots.store_snapshot``; then a per-day status count over all of it through
``snapshots.history`` in a fresh process, whose time and peak memory (RSS) are reported with
the size on disk.

H2 — ``Session.sql`` over tables the session already holds, against the same computation in
pandas (``session.list`` from the cache, then ``groupby``), for a light query (status counts)
and a heavier one (per zone and status: count, vCPUs, mean memory). Medians of several runs.

Nothing here asserts anything about time.

    python bench/sql_history.py                     # 365 days of 10 000 servers
    python bench/sql_history.py --days 20 --servers 1000 --repeat 3   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cpexplore  # noqa: E402
from cpexplore import snapshots  # noqa: E402
from cpexplore.sandbox import Sandbox, servers_for_rows  # noqa: E402

QUERY_H1 = (
    "SELECT snapshot_at::date AS day, status, count(*) AS servers "
    "FROM history.servers GROUP BY ALL ORDER BY ALL"
)
# run in a fresh process, so its peak RSS is the query's alone
_H1_CHILD = """
import json, resource, sys, time
from cpexplore.snapshots import history
t = time.perf_counter()
con = history(sys.argv[1])
df = con.sql(sys.argv[2]).df()
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "rows": len(df),
                  "rows_read": int(con.execute("SELECT count(*) FROM history.servers").fetchall()[0][0]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def evolve(servers: pd.DataFrame, day: int, rng: np.random.Generator) -> pd.DataFrame:
    """One day on: ~0.4 % of servers deleted, ~0.5 % created (copies with new ids), and
    ~2 % changing status between running and ready."""
    n = len(servers)
    keep = rng.random(n) > 0.004
    out = servers[keep].reset_index(drop=True)
    born = out.sample(n=max(1, int(n * 0.005)), random_state=day).copy()
    born["id"] = [f"day{day:03d}-{i:06d}" for i in range(len(born))]
    born["name"] = [f"new-{day:03d}-{i:04d}" for i in range(len(born))]
    out = pd.concat([out, born], ignore_index=True)
    status = out["status"].astype(object).to_numpy(copy=True)
    flip = rng.random(len(out)) < 0.02
    status[flip] = np.where(status[flip] == "running", "ready", "running")
    out["status"] = pd.Categorical(status)
    return out


def h1(servers: int, days: int) -> dict:
    with Sandbox(servers=servers_for_rows(servers), seed=3) as sb:
        s = cpexplore.connect(**sb.settings(), env={}, progress=False)
        base = s.list("servers", scope="system").head(servers)
        s.close()
    rng = np.random.default_rng(0)
    store = Path(tempfile.mkdtemp(prefix="cpexplore-h1-"))
    start = datetime(2025, 11, 28, tzinfo=UTC)
    t = time.perf_counter()
    state = base
    for day in range(days):
        snapshots.store_snapshot(store, {"servers": state}, taken_at=start + timedelta(days=day))
        state = evolve(state, day, rng)
    write_s = time.perf_counter() - t
    size = sum(p.stat().st_size for p in store.rglob("*.parquet"))
    child = subprocess.run(
        [sys.executable, "-c", _H1_CHILD, str(store), QUERY_H1],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    got = json.loads(child.stdout)
    return {"write_s": write_s, "parquet_mb": size / 2**20, "store": str(store), **got}


def h2(servers: int, repeat: int) -> list[tuple[str, float, float]]:
    heavy_sql = (
        "SELECT zone, status, count(*) AS n, sum(vcpu_count) AS vcpus, avg(vmem_size) AS mem "
        "FROM servers GROUP BY zone, status"
    )
    out = []
    with Sandbox(servers=servers_for_rows(servers), seed=3) as sb:
        s = cpexplore.connect(**sb.settings(), env={}, progress=False)
        s.list("servers", scope="max")  # fetched once; both sides read the session's copy

        def cached() -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return s.list("servers", scope="max")

        cases = {
            "status counts": (
                "SELECT status, count(*) AS n FROM servers GROUP BY status",
                lambda: cached().groupby("status", observed=True).size(),
            ),
            "zone x status: count, vCPUs, mean memory": (
                heavy_sql,
                lambda: (
                    cached()
                    .groupby(["zone", "status"], observed=True)
                    .agg(n=("id", "size"), vcpus=("vcpu_count", "sum"), mem=("vmem_size", "mean"))
                ),
            ),
        }
        for name, (query, pandas_way) in cases.items():
            sql_t, pd_t = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                s.sql(query)
                sql_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                pandas_way()
                pd_t.append(time.perf_counter() - t)
            out.append((name, statistics.median(sql_t), statistics.median(pd_t)))
        s.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--servers", type=int, default=10_000, help="servers per snapshot (H1)")
    ap.add_argument("--days", type=int, default=365, help="daily snapshots (H1)")
    ap.add_argument("--sql-servers", type=int, default=100_000, help="rows for H2")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    res = h1(args.servers, args.days)
    cases = h2(args.sql_servers, args.repeat)
    rows = [
        (
            f"H1 snapshots written ({args.days} days x ~{args.servers} servers)",
            f"{res['write_s']:.1f} s",
        ),
        ("H1 Parquet on disk", f"{res['parquet_mb']:.1f} MiB"),
        ("H1 rows in history.servers", f"{res['rows_read']:,}"),
        ("H1 per-day status count, fresh process", f"{res['seconds']:.2f} s"),
        ("H1 peak RSS of that process", f"{res['peak_rss_mb']:.0f} MiB"),
    ]
    for name, sql_s, pd_s in cases:
        rows.append((f"H2 {name}: s.sql / pandas", f"{sql_s * 1000:.1f} ms / {pd_s * 1000:.1f} ms"))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  ----------")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print()
    targets = [
        ("H1", "history_query_seconds", res["seconds"], "<=", 10),
        ("H1", "history_peak_rss_mib", res["peak_rss_mb"], "<=", 1024),
    ]
    for (_case, sql_s, pd_s), label in zip(
        cases, ("sql_overhead_light", "sql_overhead_heavy"), strict=True
    ):
        targets.append(("H2", label, sql_s / pd_s - 1, "<=", 0.10))
    for name, label, value, op, limit in targets:
        ok = value <= limit if op == "<=" else value >= limit
        print(f"{name} {label}={value:.2f} target{op}{limit:g} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
