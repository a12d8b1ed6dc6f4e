"""Benchmark: does ``run_sql`` still need to hand DuckDB only the columns a query names?

Lists the sandbox's servers with details (about 160 columns) and hosts, then times typical
queries through ``cpexplore.sql.run_sql`` as shipped (each registered frame cut to the
columns the query names) and with that guess switched off (every column registered), on one
DuckDB database as a session keeps it. Prints medians of several runs, the ratio, and what
the guess itself costs. It asserts nothing about time.

    python bench/sql_columns.py                      # a 20 000-server sandbox
    python bench/sql_columns.py --servers 2000 --repeat 3   # quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cpexplore  # noqa: E402
from cpexplore import sql  # noqa: E402
from cpexplore.sandbox import Sandbox  # noqa: E402

QUERIES = {
    "count by status": "SELECT status, count(*) AS n FROM servers GROUP BY status",
    "join servers-hosts": "SELECT h.name, sum(s.vcpu_count) AS vcpus FROM servers s "
    "JOIN hosts h ON s.host_id = h.id GROUP BY 1",
    "SELECT * LIMIT 10": "SELECT * FROM servers LIMIT 10",
    "server_inventory by zone": "SELECT zone, sum(vcpu_count) FROM server_inventory GROUP BY 1",
}


def medians_ms(runs: list[Callable[[], object]], repeat: int) -> list[float]:
    """The median time of each run, taken in turn so that a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in runs]
    for i in range(repeat + 1):  # the first round warms DuckDB's first scan of each frame
        for run, spent in zip(runs, times, strict=True):
            t = time.perf_counter()
            run()
            if i:
                spent.append(time.perf_counter() - t)
    return [statistics.median(t) * 1000 for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=20000, help="servers in the sandbox")
    ap.add_argument("--repeat", type=int, default=7, help="runs per figure (median)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    with (
        Sandbox(servers=args.servers, seed=7) as sb,
        cpexplore.Session(**sb.settings(), env={}, progress=False) as s,
    ):
        frames = {name: s.list(name, scope="system") for name in ("servers", "hosts")}
    rows, cols = frames["servers"].shape
    print(f"servers: {rows} rows x {cols} columns; hosts: {len(frames['hosts'])} rows")
    database = duckdb.connect()
    print(f"{'query':26} {'pruned ms':>10} {'all cols ms':>12} {'ratio':>6}")
    every_column = mock.patch.object(sql, "referenced_columns", lambda *_: None)
    for name, query in QUERIES.items():

        def run(query: str = query) -> object:
            return sql.run_sql(query, frames.get, database=database)

        def unpruned(query: str = query) -> object:
            with every_column:
                return run(query)

        pruned, every = medians_ms([run, unpruned], args.repeat)
        print(f"{name:26} {pruned:10.1f} {every:12.1f} {every / pruned:6.2f}")
    guess = medians_ms(
        [lambda: sql.referenced_columns(QUERIES["join servers-hosts"], database)], 20
    )[0]
    print(f"the guess itself (json_serialize_sql and its walk): {guess:.1f} ms")


if __name__ == "__main__":
    main()
