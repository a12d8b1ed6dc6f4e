"""Benchmark: listing servers with cpexplore, against what an expert writes and the real cost.

The sandbox runs in its own process (``python -m cpexplore sandbox``), as a real server
would. Everything is measured in one run, on the same data, as medians of several runs with
their spread, and printed as ratios against baselines measured in the same run. Nothing here
asserts anything about time, and nothing here touches the garbage collector of the process
except the expert floor, which switches it off around its own loop as an expert would.

Scenarios:

* **plain** (100 000 servers, no added server cost): the expert floor (the same pages, 8
  threads, ``orjson.loads``, collector off), the naive loop (sequential ``requests`` +
  ``pd.json_normalize``), cpexplore cold and cached, the frames' memory, and the CLI
  writing CSV and JSON of the same rows.
* **real cost** (20 000 servers; the sandbox spends 0.0035 s per row of a details page and
  0.0007 s per row of a bare page, one page at a time, as the real 2-core region did):
  the naive loop, cpexplore ``details=True`` and ``details="lean"``.
* **scale** (``--scale``): cpexplore cold at ten times the rows.

    python bench/list_servers.py                  # plain + real cost
    python bench/list_servers.py --servers 5000 --real-servers 2000 --repeat 1   # quick
    python bench/list_servers.py --scale          # also 1 000 000 rows
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import orjson
import pandas as pd
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cpexplore  # noqa: E402
from cpexplore.config import parse_rc  # noqa: E402
from cpexplore.lists.lean import lean_columns  # noqa: E402
from cpexplore.sandbox import servers_for_rows  # noqa: E402
from cpexplore.signing import aksk_auth_body  # noqa: E402

PAGE = 2048
REAL_ROW_COST = 0.0007  # server seconds per row without details (cloudpods-api.md §9)
REAL_DETAILS_ROW_COST = 0.0035  # and with details


@contextmanager
def sandbox_process(servers: int, seed: int = 0, **knobs: float):
    """Start ``cpexplore sandbox`` in a child process; yield its rc variables."""
    cmd = [sys.executable, "-m", "cpexplore", "sandbox", "--servers", str(servers)]
    cmd += ["--seed", str(seed)]
    for name, value in knobs.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = []
        while not any(line.startswith("export OS_ENDPOINT_TYPE") for line in lines):
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
    resp = requests.post(
        env["OS_AUTH_URL"] + "/auth/tokens",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


def _servers_url(env: dict) -> str:
    return env["OS_AUTH_URL"].rsplit("/v3", 1)[0] + "/servers"


def _query(offset: int, details: bool = True) -> dict:
    return {
        "scope": "system",
        "details": "true" if details else "false",
        "limit": PAGE,
        "offset": offset,
    }


def expert(env: dict) -> tuple[float, int]:
    """What an expert writes in ten lines: the first page gives the total, the others come
    from 8 threads, decoded by orjson with the collector off; no DataFrame."""
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
    headers = {"X-Auth-Token": _token(env)}
    url = _servers_url(env)

    def page(offset: int) -> list:
        resp = http.get(url, params=_query(offset), headers=headers, timeout=600)
        return orjson.loads(resp.content)["servers"]

    was = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        first = orjson.loads(http.get(url, params=_query(0), headers=headers, timeout=600).content)
        with ThreadPoolExecutor(8) as pool:
            rest = list(pool.map(page, range(PAGE, first["total"], PAGE)))
        elapsed = time.perf_counter() - t
    finally:
        if was:
            gc.enable()
    return elapsed, len(first["servers"]) + sum(map(len, rest))


def naive(env: dict, details: bool = True) -> tuple[float, pd.DataFrame]:
    """What a user writes today: one page after another, then ``pd.json_normalize``."""
    http = requests.Session()
    headers = {"X-Auth-Token": _token(env)}
    url = _servers_url(env)
    t = time.perf_counter()
    records, offset, total = [], 0, None
    while total is None or offset < total:
        body = http.get(url, params=_query(offset, details), headers=headers, timeout=600).json()
        records += body["servers"]
        total = body.get("total", 0)
        offset += len(body["servers"])
        if not body["servers"]:
            break
    df = pd.json_normalize(records)
    return time.perf_counter() - t, df


def cp_list(session: cpexplore.Session, **kw) -> tuple[float, pd.DataFrame]:
    t = time.perf_counter()
    df = session.list("servers", scope="system", refresh=True, **kw)
    return time.perf_counter() - t, df


def cp_cached(session: cpexplore.Session) -> float:
    import warnings

    from cpexplore.errors import CachedResultWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CachedResultWarning)
        t = time.perf_counter()
        session.list("servers", scope="system")
        return time.perf_counter() - t


def cli(env: dict, fmt: str) -> float:
    """``cpexplore list servers --scope system -f FMT`` as a shell user runs it."""
    cmd = [sys.executable, "-m", "cpexplore", "list", "servers", "--scope", "system", "-f", fmt]
    t = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - t


class Timings:
    """Runs of each measure: the median is reported, with the spread of the runs."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.runs: dict[str, list[float]] = {}

    def measure(self, name: str, f, repeat: int | None = None):
        result = None
        for _ in range(repeat or self.repeat):
            out = f()
            elapsed, result = (out[0], out) if isinstance(out, tuple) else (out, out)
            self.runs.setdefault(name, []).append(elapsed)
        return result

    def median(self, name: str) -> float:
        return statistics.median(self.runs[name])

    def text(self, name: str, unit: str = "s") -> str:
        runs = self.runs[name]
        scale = 1000 if unit == "ms" else 1
        med = self.median(name) * scale
        if len(runs) == 1:
            return f"{med:.2f} {unit} (1 run)"
        spread = (max(runs) - min(runs)) / self.median(name) * 100
        return f"{med:.2f} {unit} (n={len(runs)}, spread {spread:.0f} %)"


def connect(env: dict) -> cpexplore.Session:
    return cpexplore.Session(env=env, progress=False)


def _joined_equal(full: pd.DataFrame, lean: pd.DataFrame) -> bool:
    full, lean = full.set_index("id"), lean.set_index("id").reindex(full["id"])
    for column in lean_columns("servers"):
        if column not in full.columns:
            continue
        a, b = lean[column].astype(object), full[column].astype(object)
        if not ((a == b) | (a.isna() & b.isna())).all():
            return False
    return True


def plain(args: argparse.Namespace, tm: Timings, rows: list, res: dict) -> None:
    """100 000 servers, no added server cost: floor, naive, cold, cached, memory, CLI."""
    generated = servers_for_rows(args.servers)
    with sandbox_process(generated) as env:
        s = connect(env)
        gc_state = (gc.isenabled(), gc.get_freeze_count())
        cp_list(s)  # warm the server's record cache, so every method meets the same server
        tm.measure("expert", lambda: expert(env))
        _, naive_df = tm.measure("naive", lambda: naive(env))
        _, cp_df = tm.measure("cold", lambda: cp_list(s))
        tm.measure("cached", lambda: cp_cached(s), max(args.repeat, 5))
        assert (gc.isenabled(), gc.get_freeze_count()) == gc_state, "cpexplore touched gc"
        n = len(cp_df)
        assert len(naive_df) == n and set(naive_df["id"]) == set(cp_df["id"])
        res["mem_naive"] = naive_df.memory_usage(deep=True).sum() / 2**20
        res["mem_cp"] = cp_df.memory_usage(deep=True).sum() / 2**20
        int_widths = {str(cp_df[c].dtype) for c in cp_df if pd.api.types.is_integer_dtype(cp_df[c])}
        del naive_df, cp_df
        tm.measure("csv", lambda: cli(env, "csv"), max(1, args.repeat // 2))
        tm.measure("json", lambda: cli(env, "json"), max(1, args.repeat // 2))
        rows += [
            ("rows listed (servers of catalog region region0)", f"{n} of {generated} generated"),
            ("expert floor: 8 threads + orjson, collector off", tm.text("expert")),
            ("naive: sequential pages + pd.json_normalize", tm.text("naive")),
            ("cpexplore cold (collector untouched)", tm.text("cold")),
            ("cpexplore cached", tm.text("cached", "ms")),
            ("naive DataFrame deep memory", f"{res['mem_naive']:.1f} MiB"),
            ("cpexplore DataFrame deep memory", f"{res['mem_cp']:.1f} MiB"),
            ("cpexplore integer dtypes", ", ".join(sorted(int_widths))),
            ("cpexplore list servers -f csv (whole command)", tm.text("csv")),
            ("cpexplore list servers -f json (whole command)", tm.text("json")),
        ]
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--servers", type=int, default=100_000, help="rows of the plain scenario")
    ap.add_argument("--real-servers", type=int, default=20_000, help="rows of the real-cost one")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measure (median reported)")
    ap.add_argument("--scale", action="store_true", help="also list ten times --servers rows")
    ap.add_argument("--skip-real-cost", action="store_true")
    ap.add_argument("--skip-plain", action="store_true", help="only the real-cost scenario")
    args = ap.parse_args()
    tm = Timings(args.repeat)
    rows: list[tuple[str, str]] = []
    res: dict[str, float] = {}

    if not args.skip_plain:
        plain(args, tm, rows, res)

    if not args.skip_real_cost:
        real = servers_for_rows(args.real_servers)
        knobs = {"row_cost": REAL_ROW_COST, "details_row_cost": REAL_DETAILS_ROW_COST}
        with sandbox_process(real, **knobs) as env:
            s = connect(env)
            tm.measure("real_naive", lambda: naive(env), 1)
            _, full = tm.measure("real_full", lambda: cp_list(s), 1)
            _, lean = tm.measure("real_lean", lambda: cp_list(s, details="lean"), 3)
            res["lean_equal"] = float(_joined_equal(full, lean))
            rows += [
                (f"real cost ({len(full)} rows): naive, details", tm.text("real_naive")),
                ("real cost: cpexplore details=True", tm.text("real_full")),
                ('real cost: cpexplore details="lean"', tm.text("real_lean")),
                (
                    "real cost: lean joined columns equal details=True's",
                    str(bool(res["lean_equal"])),
                ),
            ]
            s.close()

    if args.scale:
        with sandbox_process(servers_for_rows(10 * args.servers)) as env:
            s = connect(env)
            cp_list(s)
            _, big = tm.measure("cold_10x", lambda: cp_list(s), max(1, args.repeat // 2))
            rows.append((f"cpexplore cold, {len(big)} rows", tm.text("cold_10x")))
            del big
            s.close()

    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  ----------")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print()
    targets = []
    if "cold" in tm.runs:
        cold = tm.median("cold")
        targets = [
            ("P1", "expert_floor_ratio", cold / tm.median("expert"), "<=", 1.5),
            ("P3", "memory_ratio", res["mem_cp"] / res["mem_naive"], "<=", 0.30),
            ("P4", "cache_speedup", cold / tm.median("cached"), ">=", 100),
            ("P6", "csv_output_ratio", tm.median("csv") / cold, "<=", 1.5),
            ("P6", "json_output_ratio", tm.median("json") / cold, "<=", 1.5),
        ]
    if "real_lean" in tm.runs:
        lean_t = tm.median("real_lean")
        targets[1:1] = [
            ("P2", "lean_vs_details_speedup", tm.median("real_full") / lean_t, ">=", 3),
            ("P2", "lean_vs_naive_speedup", tm.median("real_naive") / lean_t, ">=", 10),
            ("P2", "lean_joined_columns_equal", res["lean_equal"], ">=", 1),
        ]
    if "cold_10x" in tm.runs:
        targets.append(("P5", "scale_ratio", tm.median("cold_10x") / tm.median("cold"), "<=", 11))
    for name, label, value, op, limit in targets:
        ok = value <= limit if op == "<=" else value >= limit
        print(f"{name} {label}={value:.2f} target{op}{limit:g} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
