"""SQL over the cloud, in-process with DuckDB: every resource is a table, fetched on first use.

``Session.sql("SELECT status, count(*) AS n FROM servers GROUP BY status")`` finds the table
names in the query; each that is a resource (``servers``, ``hosts``, any name
``session.resources()`` lists) is listed through ``Session.list`` (its cache, progress and
typing) and handed to DuckDB, which reads the frame where it lies. Two views join what
people join every day:

* ``server_inventory``: each server with its host, zone, cloud region, project and domain
  names and its vCPUs, memory and disk (:func:`server_inventory`);
* ``host_capacity``: each host with its CPU and memory commit as the region computes it
  (running guests only) and whether it is over its bound (:func:`host_capacity`).

``history.<resource>`` reads every stored snapshot of a store at once
(:func:`cpexplore.snapshots.history`), without loading them into pandas.

Nothing here keeps state between calls: each query runs in a cursor of its own (the frames
it registers are the cursor's), and a query over ``history`` in a database of its own.

>>> referenced_tables("SELECT h.name, count(*) FROM servers s JOIN hosts h ON s.host_id = h.id GROUP BY 1")
['hosts', 'servers']
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
from .resources import RESOURCES, resource_spec
from .summaries import capacity_table

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

VIEWS = ("server_inventory", "host_capacity")

# server_inventory: the columns people read first, from a servers frame with details
_INVENTORY_COLUMNS = (
    "id",
    "name",
    "status",
    "hypervisor",
    "vcpu_count",
    "vmem_size",
    "disk",
    "host",
    "host_id",
    "zone",
    "cloudregion",
    "tenant",
    "tenant_id",
    "project_domain",
    "os_type",
    "created_at",
)


@dataclass(frozen=True)
class SqlResult:
    """What a query read: each table and how fresh it was, the scope, the time spent.

    ``Session.sql`` attaches it to its result: ``df.attrs["cpexplore"]``.
    """

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


def referenced_columns(query: str, con: Any = None) -> set[str] | None:
    """The column names a query mentions (unqualified), or ``None`` when it reads every
    column (``*``) or cannot be analysed: then every column of its tables is handed over.

    >>> sorted(referenced_columns("SELECT s.status, count(*) FROM servers s GROUP BY 1"))
    ['status']
    """
    own = con is None
    con = duckdb.connect() if own else con
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    except (duckdb.Error, ValueError, IndexError):
        return None
    finally:
        if own:
            con.close()
    if tree.get("error"):
        return None
    names: set[str] = set()
    star = False

    def walk(node: Any) -> None:
        nonlocal star
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF" and node.get("column_names"):
                names.add(str(node["column_names"][-1]))
            if node.get("class") == "STAR" or node.get("type") == "STAR":
                star = True
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return None if star else names


def server_inventory(servers: pd.DataFrame) -> pd.DataFrame:
    """Each server with its placement and owner names and its size (``disk`` in MB).

    Unscheduled servers keep missing host, zone and region names.

    >>> df = pd.DataFrame({"id": ["a"], "name": ["vm"], "vcpu_count": [2], "host": ["h1"]})
    >>> list(server_inventory(df).columns)[:4]
    ['id', 'name', 'status', 'hypervisor']
    """
    out = servers.reindex(columns=list(_INVENTORY_COLUMNS))
    return out.rename(columns={"tenant": "project", "tenant_id": "project_id", "disk": "disk_mb"})


def host_capacity(hosts: pd.DataFrame) -> pd.DataFrame:
    """Each host's commit figures as the region computes them (see
    :func:`cpexplore.summaries.capacity_table`): running guests only, over-committed when a
    rate is above the host's bound."""
    return capacity_table(hosts, source="hosts").reset_index(drop=True)


def _for_duckdb(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as DuckDB reads it in place; only columns of mixed Python objects (some
    lists, some text) become JSON text, which DuckDB cannot type otherwise."""
    from .files import json_dumps

    fixes = {}
    for c in df.columns:
        if df[c].dtype == object:
            kinds = {type(v) for v in df[c].dropna().head(1000)}
            if len(kinds) > 1:
                fixes[c] = df[c].map(lambda v: None if v is None else json_dumps(v))
    return df.assign(**fixes) if fixes else df


def run_sql(
    query: str,
    tables: Callable[[str], pd.DataFrame],
    *,
    history: str | os.PathLike[str] | None = None,
    scope: str | None = None,
    database: Any = None,
) -> pd.DataFrame:
    """Run ``query`` with each table it names got from ``tables(name)``.

    ``database`` is a DuckDB connection to run in (a fresh cursor of it, closed after);
    opening one costs about 20 ms, so a session keeps one.

    ``tables`` is called once per resource or view the query names; ``history`` adds the
    ``history`` schema over a snapshot store. Errors are one line. The result carries a
    :class:`SqlResult` in ``df.attrs["cpexplore"]``.

    >>> run_sql("SELECT count(*) AS n FROM zones", lambda name: pd.DataFrame({"id": [1, 2]}))
       n
    0  2
    """
    start = time.monotonic()
    names = referenced_tables(query)
    # DuckDB binds every column of a registered frame; handing over only the columns the
    # query names keeps a query over a 160-column frame as fast as over a narrow one
    own = database is None
    database = duckdb.connect() if own else database
    try:
        probe = database.cursor()
        try:
            columns = referenced_columns(query, probe)
        finally:
            probe.close()
        try:
            return _run(database, query, names, tables, history, scope, columns, start)
        except SqlError:
            if columns is None:
                raise
            # a name the query uses was left out (or DuckDB would suggest one): run again
            # with every column, so the answer or the error and its hints are DuckDB's own
            return _run(database, query, names, tables, history, scope, None, start)
    finally:
        if own:
            database.close()


def _run(
    database: Any,
    query: str,
    names: list[str],
    tables: Callable[[str], pd.DataFrame],
    history: str | os.PathLike[str] | None,
    scope: str | None,
    columns: set[str] | None,
    start: float,
) -> pd.DataFrame:
    con = database.cursor()
    used: dict[str, str] = {}
    try:
        for name in names:
            schema, _, table = name.rpartition(".")
            if schema == "history":
                if history is None:
                    raise ConfigError(
                        f"the query reads {name}, but no snapshot store was given",
                        hint="pass history='path/to/store' (CLI: --history DIR)",
                    )
                continue
            if schema:
                raise UnknownResource(
                    f"unknown schema {schema!r} in {name!r}",
                    hint="tables are resources (servers, hosts, …), the views "
                    f"{', '.join(VIEWS)}, or history.<resource> over snapshots",
                )
            frame = tables(table)
            if columns is not None:
                keep = [c for c in frame.columns if c in columns] or list(frame.columns[:1])
                frame = frame[keep]
            con.register(table, _for_duckdb(frame))
            used[table] = _freshness(frame)
        if history is not None and any(n.startswith("history.") for n in names):
            from .snapshots import attach_history

            attach_history(con, history)
        try:
            out = _exact_integers(con.sql(query)).df()
        except duckdb.Error as e:
            raise SqlError(
                one_line(e), hint="the tables are listed with session.resources()"
            ) from e
    finally:
        con.close()
    out = _utc(out)
    out.attrs["cpexplore"] = SqlResult(
        query,
        used,
        round(time.monotonic() - start, 3),
        scope,
        None if history is None else str(history),
    )
    return out


def _exact_integers(rel: Any) -> Any:
    """DuckDB sums BIGINTs as HUGEINT, which pandas would turn into floats: cast them back
    to BIGINT, so a sum of vCPUs stays an integer (and one that overflows is an error)."""
    if rel is None or not any(str(t) == "HUGEINT" for t in rel.types):
        return rel
    parts = [
        f'CAST("{c}" AS BIGINT) AS "{c}"' if str(t) == "HUGEINT" else f'"{c}"'
        for c, t in zip(rel.columns, rel.types, strict=True)
    ]
    return rel.project(", ".join(parts))


def _freshness(frame: pd.DataFrame) -> str:
    from .listing import INFO_KEY

    info = frame.attrs.get(INFO_KEY)
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
    """``tables(name)`` for :func:`run_sql` over a session: resources and the views."""

    def servers() -> pd.DataFrame:
        return _quiet_list(session, "servers", scope=scope, refresh=refresh)

    def table(name: str) -> pd.DataFrame:
        if name == "server_inventory":
            return server_inventory(servers())
        if name == "host_capacity":
            return host_capacity(_quiet_list(session, "hosts", scope=scope, refresh=refresh))
        try:
            spec = resource_spec(name)
        except UnknownResource as e:
            known = [r.name for r in RESOURCES] + list(VIEWS)
            raise UnknownResource(
                f"no table {name!r}",
                hint=f"{did_you_mean(name, known)}tables are the resources "
                f"session.resources() lists ({len(RESOURCES)}) and the views {', '.join(VIEWS)}",
            ) from e
        if spec.name == "servers":
            return servers()
        return _quiet_list(session, spec.name, scope=scope, refresh=refresh)

    return table


def _quiet_list(session: Session, name: str, **kw: Any) -> pd.DataFrame:
    """A list for SQL; a cached one is said to be so in the result, not warned about."""
    return session.list(name, warn_cached=False, progress=None, **kw)


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
