"""SQL over the cloud, in-process with DuckDB: every resource is a table, fetched on first use.

Each resource a query names is listed through ``Session.list`` and read by DuckDB where it
lies; the views ``server_inventory`` (:func:`server_inventory`) and ``host_capacity``
(:func:`host_capacity`) are made when named; ``history.<resource>`` reads every snapshot of a
store (:func:`cpexplore.snapshots.history`). Each query runs in a cursor of its own.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from .errors import ConfigError, SqlError, UnknownResource, did_you_mean, one_line
from .lists.info import info_or_none
from .resources import RESOURCES, resource_spec
from .summaries import capacity_table

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

VIEWS = {"server_inventory": "servers", "host_capacity": "hosts"}  # view → the resource it reads

# server_inventory: the columns people read first, from a servers frame with details, each
# with the type of the NULL column it is when the frame lacks it; and their new names
_INVENTORY = {
    **dict.fromkeys(("id", "name", "status", "hypervisor"), "VARCHAR"),
    **dict.fromkeys(("vcpu_count", "vmem_size", "disk"), "BIGINT"),
    **dict.fromkeys(("host", "host_id", "zone", "cloudregion", "tenant", "tenant_id"), "VARCHAR"),
    **dict.fromkeys(("project_domain", "os_type"), "VARCHAR"),
    "created_at": "TIMESTAMPTZ",
}
_RENAMES = {"tenant": "project", "tenant_id": "project_id", "disk": "disk_mb"}


@dataclass(frozen=True)
class SqlResult:
    """What a query read (each table, how fresh), the scope, the time: ``df.attrs["cpexplore"]``."""

    query: str
    tables: Mapping[str, str]  # table → "fetched 2026-11-28 12:00:01 UTC" or "from the cache, …"
    seconds: float
    scope: str | None = None
    history: str | None = None

    def summary(self) -> str:
        """One line: what was read, in which scope."""
        read = "; ".join(f"{t} ({how})" for t, how in self.tables.items()) or "no table"
        return f"read {read}; scope {self.scope or 'default'}; {self.seconds:.2f} s"


def referenced_tables(query: str) -> list[str]:
    """The tables a query reads (qualified names as written, e.g. ``history.servers``).

    >>> referenced_tables("WITH x AS (SELECT * FROM zones) SELECT * FROM x, history.hosts AS h")
    ['history.hosts', 'zones']
    """
    try:
        names = duckdb.get_table_names(query, qualified=True)
    except duckdb.Error as e:
        raise SqlError(one_line(e), hint="check the SQL syntax") from e
    # "servers AS s" → "servers": the alias is the query's business, not the table's name
    return sorted({re.split(r"\s+AS\s+", n, maxsplit=1, flags=re.I)[0] for n in names})


def referenced_columns(query: str, database: Any) -> set[str] | None:
    """The column names a query mentions (unqualified), or ``None`` when it reads every
    column (``*``, a table's row as in ``SELECT s FROM servers s``) or cannot be analysed:
    then every column of its tables is handed over.

    >>> sorted(referenced_columns("SELECT s.status, count(*) FROM servers s GROUP BY 1", duckdb.connect()))
    ['status']
    """
    names: set[str] = set()
    rows = {"*"}  # the names that read a whole row: the tables' and their aliases

    def note(node: dict[str, Any]) -> dict[str, Any]:
        if node.get("class") == "COLUMN_REF" and node.get("column_names"):
            names.add(str(node["column_names"][-1]))
        if "STAR" in (node.get("class"), node.get("type")):
            names.add("*")
        if node.get("type") == "BASE_TABLE":
            rows.add(str(node.get("alias") or node.get("table_name")))
        return node

    try:
        with database.cursor() as con:
            text = con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0]
        tree = json.loads(text, object_hook=note)
    except (duckdb.Error, ValueError, IndexError):
        return None
    return None if tree.get("error") or names & rows else names


def server_inventory(servers: pd.DataFrame) -> pd.DataFrame:
    """The ``server_inventory`` view over ``servers`` (with details): each server's placement
    and owner names and size (``disk_mb``); an unscheduled server's host and zone are missing.

    >>> df = pd.DataFrame({"id": ["a"], "name": ["vm"], "vcpu_count": [2], "host": ["h1"]})
    >>> list(server_inventory(df).columns)[:4]
    ['id', 'name', 'status', 'hypervisor']
    """
    return run_sql("SELECT * FROM server_inventory", lambda _: servers)


def host_capacity(hosts: pd.DataFrame) -> pd.DataFrame:
    """Each host's commit figures as the region computes them (running guests only; see
    :func:`cpexplore.summaries.capacity_table`)."""
    return capacity_table(hosts, source="hosts").reset_index(drop=True)


def _inventory_view(servers: pd.DataFrame) -> str:
    cols = (
        (f'"{c}"' if c in servers.columns else f"CAST(NULL AS {t})") + f' AS "{_RENAMES.get(c, c)}"'
        for c, t in _INVENTORY.items()
    )
    return f"CREATE TEMP VIEW server_inventory AS SELECT {', '.join(cols)} FROM servers"


def _for_duckdb(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without ``attrs`` (DuckDB's ``df[c]`` copies them), objects as JSON text."""
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    fixes = {}
    for c in [c for c, t in df.dtypes.items() if t == "O"]:
        kinds = {type(v) for v in df[c].dropna().head(1000)}
        if len(kinds) > 1 or kinds & {list, dict}:  # DuckDB's guess turns numbers to text
            fixes[c] = df[c].map(encode, na_action="ignore")
    out = df.assign(**fixes)  # a new frame, its data not copied
    out.attrs = {}
    return out


def run_sql(
    query: str,
    tables: Callable[[str], pd.DataFrame],
    *,
    history: str | os.PathLike[str] | None = None,
    scope: str | None = None,
    database: Any = None,
) -> pd.DataFrame:
    """Run ``query`` with each resource it (or a view it names) reads got from ``tables(name)``,
    once each, in a cursor of ``database`` (a DuckDB connection; default: a fresh one).
    ``history`` adds the ``history`` schema over a snapshot store. Errors are one line; the
    result carries a :class:`SqlResult` in ``df.attrs["cpexplore"]``.

    >>> run_sql("SELECT count(*) AS n FROM zones", lambda name: pd.DataFrame({"id": [1, 2]}))
       n
    0  2
    """
    start = time.monotonic()
    names = referenced_tables(query)
    live = _live_tables(names, history)
    store = history if len(live) < len(names) else None
    own = database is None
    database = duckdb.connect() if own else database
    try:
        # DuckDB types every column of a registered frame when a query binds it (~1 ms a
        # column of 20 000 servers): it gets the columns the query names (bench/sql_columns.py)
        columns = referenced_columns(query, database)
        try:
            out, used = _run(database, query, live, tables, store, columns)
        except SqlError:
            if columns is None:
                raise
            # a name the query uses was left out (or DuckDB would suggest one): run again
            # with every column, so the answer or the error and its hints are DuckDB's own
            out, used = _run(database, query, live, tables, store, None)
    finally:
        if own:
            database.close()
    seconds = round(time.monotonic() - start, 3)
    out.attrs["cpexplore"] = SqlResult(
        query, used, seconds, scope, None if history is None else str(history)
    )
    return out


def _live_tables(names: list[str], history: str | os.PathLike[str] | None) -> list[str]:
    """The resources and views among ``names``; a ``history.*`` one needs a store."""
    for name in names:
        schema = name.rpartition(".")[0]
        if schema == "history" and history is None:
            raise ConfigError(
                f"the query reads {name}, but no snapshot store was given",
                hint="pass history='path/to/store' (CLI: --history DIR)",
            )
        if schema not in ("", "history"):
            raise UnknownResource(
                f"unknown schema {schema!r} in {name!r}",
                hint="tables are resources (servers, hosts, …), the views "
                f"{', '.join(VIEWS)}, or history.<resource> over snapshots",
            )
    return [n for n in names if "." not in n]


def _run(
    database: Any,
    query: str,
    live: list[str],
    tables: Callable[[str], pd.DataFrame],
    history: str | os.PathLike[str] | None,
    columns: set[str] | None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    con = database.cursor()
    used: dict[str, str] = {}
    try:
        for name in sorted({VIEWS.get(t, t) for t in live}):
            frame = tables(name)
            used[name] = _freshness(frame)
            if name == "hosts" and "host_capacity" in live:
                con.register("capacity_table", host_capacity(frame))
                con.execute("CREATE TEMP VIEW host_capacity AS SELECT * FROM capacity_table")
            # a resource only a view reads: the view's columns; else the query's and the view's
            keep = columns if name in live else set()
            if keep is not None and name == "servers" and "server_inventory" in live:
                keep = keep | set(_INVENTORY)
            if keep is not None:
                frame = frame[[c for c in frame.columns if c in keep] or list(frame.columns[:1])]
            con.register(name, _for_duckdb(frame))
            if name == "servers" and "server_inventory" in live:
                con.execute(_inventory_view(frame))
        if history is not None:
            from .snapshots import attach_history

            attach_history(con, history)
        try:
            return _utc(_exact_integers(con.sql(query)).df()), used
        except duckdb.Error as e:
            raise SqlError(
                one_line(e), hint="the tables are listed with session.resources()"
            ) from e
    finally:
        con.close()


def _exact_integers(rel: Any) -> Any:
    """HUGEINT columns (DuckDB's sums of BIGINT; pandas makes them floats) back to BIGINT."""
    if rel is None or not any(str(t) == "HUGEINT" for t in rel.types):
        return rel
    parts = [
        f'CAST("{c}" AS BIGINT) AS "{c}"' if str(t) == "HUGEINT" else f'"{c}"'
        for c, t in zip(rel.columns, rel.types, strict=True)
    ]
    return rel.project(", ".join(parts))


def _freshness(frame: pd.DataFrame) -> str:
    info = info_or_none(frame)
    if info is None:
        return "computed"
    when = f"{info.fetched_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"{'from the cache, ' if info.from_cache else ''}fetched {when}"


def _utc(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps back in UTC nanoseconds, as every other cpexplore frame has them."""
    fixes = {
        c: df[c].dt.tz_convert("UTC").dt.as_unit("ns")
        for c in df.columns
        if isinstance(df[c].dtype, pd.DatetimeTZDtype)
    }
    return df.assign(**fixes) if fixes else df


def session_tables(
    session: Session, *, scope: str | None, refresh: bool
) -> Callable[[str], pd.DataFrame]:
    """``tables(name)`` for :func:`run_sql` over a session: its resources, listed quietly
    (a cached list is said to be so in the result, not warned about)."""

    def table(name: str) -> pd.DataFrame:
        try:
            spec = resource_spec(name)
        except UnknownResource as e:
            known = [r.name for r in RESOURCES] + list(VIEWS)
            raise UnknownResource(
                f"no table {name!r}",
                hint=f"{did_you_mean(name, known)}tables are the resources "
                f"session.resources() lists ({len(RESOURCES)}) and the views {', '.join(VIEWS)}",
            ) from e
        return session.list(
            spec.name, scope=scope, refresh=refresh, warn_cached=False, progress=None
        )

    return table


__all__ = [
    "VIEWS",
    "SqlError",
    "SqlResult",
    "referenced_tables",
    "run_sql",
    "server_inventory",
    "host_capacity",
    "session_tables",
]
