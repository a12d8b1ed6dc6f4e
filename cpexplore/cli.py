"""The ``cpexplore`` command: the catalog, lists, records, reports, snapshots and diffs.

Examples::

    cpexplore demo                                   # a sandbox, a login, tables, a report, a diff
    cpexplore catalog                                # endpoints of the cloud in $OS_AUTH_URL
    cpexplore --profile prod list servers --scope system -c name -c status \\
        --filter "status.equals('running')" --sort-column name
    cpexplore show servers web-prod-0000001
    cpexplore sql "SELECT status, count(*) AS n FROM servers GROUP BY status"
    cpexplore resources                              # what can be listed
    cpexplore report --out report/                   # CSVs, charts and index.html
    cpexplore snapshot --store snaps/ && cpexplore diff --store snaps/
    cpexplore sandbox --servers 100000               # a local Cloudpods; prints an rc block

Settings come from ``--profile``, ``--rc FILE`` or the ``OS_*`` variables climc reads.
Errors are one line on stderr with a hint (exit 2: what was typed or configured is wrong;
1: the cloud or the disk refused; 3: this cloud does not offer the service asked for);
``--debug`` adds HTTP logs (tokens masked) and tracebacks.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AmbiguousName,
    ConfigError,
    CpExploreError,
    EndpointNotFound,
    MissingColumns,
    NotFound,
    ServiceNotOffered,
    SqlError,
    UnknownResource,
    one_line,
)
from .terminal import CELL_WIDTH, cell, print_diff, table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .session import Session

FORMATS = ("table", "csv", "json")
_USAGE_ERRORS = (ConfigError, UnknownResource, MissingColumns, EndpointNotFound, SqlError)
# the `cpexplore sandbox` options that are Sandbox arguments of the same name
_SANDBOX_ARGS = (  # noqa: SIM905 (a list literal takes a line per name)
    "servers seed host port access_key secret_key username password latency fault_rate "
    "token_ttl row_cost details_row_cost server_cores"
).split()


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    if not _loopback(args.host) and not args.allow_remote:
        raise CpExploreError(
            f"refusing to serve the sandbox on non-loopback address {args.host!r}",
            hint="the sandbox has no real security; add --allow-remote if you mean it",
        )
    sb = Sandbox(**{name: getattr(args, name) for name in _SANDBOX_ARGS})
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        # Ctrl-C and SIGTERM both stop the server from another thread, then serve_forever returns
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=sb.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sys.stdout.write(sb.rc())
    sys.stdout.write(
        f"# cpexplore sandbox: {sb.inventory.n_servers} servers (seed {args.seed}) at {sb.auth_url}\n"
        f"# member login: {sb.member_username} in project {sb.member_project}; Ctrl-C stops\n"
    )
    sys.stdout.flush()
    sb.serve_forever()  # returns at once if a signal already asked it to stop
    sb.wait_stopped()
    sys.stderr.write("cpexplore sandbox stopped\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.out, servers=args.servers, seed=args.seed)
    return 0


def _emit(df: pd.DataFrame, args: argparse.Namespace, width: int | None = CELL_WIDTH) -> None:
    """Write ``df`` as ``-f`` asks (formula escaping and ``--bom``: CSV only)."""
    from .files import to_csv, to_json

    out = sys.stdout
    if args.format == "table":
        table(df, out, width=width)
        return
    raw = getattr(out, "buffer", None)
    utf8 = (getattr(out, "encoding", "") or "").lower().replace("-", "") == "utf8"
    target = raw if raw is not None and utf8 else out  # bytes straight to stdout when we can
    out.flush()
    if args.format == "csv":
        to_csv(df, target, escape_formulas=not args.no_escape_formulas, bom=args.bom, index=False)
    else:
        to_json(df, target, index=False)
    if target is raw:
        raw.flush()


def _names(values: Sequence[str] | None) -> list[str]:
    """Repeatable options that also take comma lists: ``-c name,status -c zone``."""
    out = [part.strip() for v in values or () for part in str(v).split(",")]
    return list(dict.fromkeys(p for p in out if p))


def _session(args: argparse.Namespace) -> Session:
    """Log in with the global options (``--rc`` applies over the environment, like ``source``)."""
    from .session import Session

    return Session(
        rc=args.rc,
        profile=args.profile,
        region=args.region,
        interface=args.interface,
        insecure=args.insecure or None,
    )


def _cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog import filter_endpoints

    with _session(args) as s:
        cat = filter_endpoints(s.catalog, region=args.region, interface=args.interface)
    cat = cat.sort_values(["service_type", "region_id", "interface"], kind="stable")
    if args.format == "table":
        cat = cat[["service_type", "service_name", "interface", "region_id", "url"]]
    _emit(cat.reset_index(drop=True), args, width=None)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .lists.info import list_info
    from .resources import resource_spec

    spec = resource_spec(args.resource)  # before logging in: a typo costs no round trip
    columns = _names(args.column) or None
    sort = _names(args.sort_column)
    with _session(args) as s:
        # the library sorts (on the server for table columns, here for joined ones) before
        # --limit picks the first rows, so the rows shown are the true top N
        df = s.list(
            spec.name,
            scope=args.scope,
            details=args.details,
            filters=args.filter or None,
            search=args.search,
            limit=args.limit,
            order_by=sort or None,
            order=("desc" if args.sort_descending else "asc") if sort else None,
            columns=columns,
        )
        scope_hint = _wider_scope_hint(s, spec, df) if args.format == "table" else None
    if args.format != "table":
        _emit(df, args)
        return 0
    shown = df
    if columns is None:  # the few columns a person reads first, that have values here
        shown = df[[c for c in spec.key_columns if c in df.columns and df[c].notna().any()]]
    dropped = table(shown, sys.stdout, fit=shutil.get_terminal_size((80, 24)).columns)
    info = list_info(df)
    # the server's total counts rows before the filters cpexplore applied itself
    total = info.total if not info.filtered_here else None
    of = f" of {total}" if isinstance(total, int) and total > len(df) else ""
    notes = [f"{len(df)}{of} {spec.name} in {info.region or 'the default region'}"]
    hidden = df.shape[1] - shown.shape[1] + len(dropped)
    if hidden:
        notes.append(f"{hidden} more columns: -c NAME to choose, -f csv for all")
    if args.scope is None and scope_hint is not None:
        notes.append(scope_hint)
    print("; ".join(notes))
    return 0


def _wider_scope_hint(s: Session, spec: Any, df: pd.DataFrame) -> str | None:
    """For an admin who listed without --scope: how many rows --scope system would show."""
    from .lists.info import list_info

    tok = s.token
    if not tok.is_admin or spec.service_type == "identity":
        return None
    try:
        body = s.get_json(list_info(df).url, {"scope": "system", "limit": 1, "details": "false"})
    except CpExploreError:
        return None
    total = body.get("total") if isinstance(body, dict) else None
    if not isinstance(total, int) or total <= len(df):
        return None
    return f"your project only ({tok.project}): --scope system lists all {total}"


def _cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

    from .files import is_missing, to_json
    from .resources import resource_spec

    spec = resource_spec(args.resource)
    with _session(args) as s:
        try:
            rec = s.get(spec.name, args.id)
        except NotFound as e:
            e.hint = f"see what exists with `cpexplore list {spec.name} --search {args.id}`"
            raise
        except AmbiguousName as e:
            e.hint = (
                f"use the id: `cpexplore list {spec.name} --scope max "
                f"--filter \"name.equals('{args.id}')\" -c name,id` lists the ones you may see"
            )
            raise
    record = {str(k): v for k, v in rec.items()}
    if args.format == "table":
        present = {k: v for k, v in record.items() if not is_missing(v)}
        fields = {"field": list(present), "value": [cell(v, None) for v in present.values()]}
        table(pd.DataFrame(fields), sys.stdout, width=None)
        if empty := len(record) - len(present):
            print(f"({empty} fields without a value not shown; -f json shows every field)")
    elif args.format == "csv":
        _emit(pd.DataFrame([record]), args)
    else:
        row = json.loads(str(to_json(pd.DataFrame([record]), index=False)))[0]
        print(json.dumps(row, ensure_ascii=False, indent=1))
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    from .sql import referenced_tables, run_sql

    live = [t for t in referenced_tables(args.query) if not t.startswith("history.")]
    if args.history is None or live:
        with _session(args) as s:
            df = s.sql(args.query, scope=args.scope, history=args.history)
    else:  # a query over snapshots alone needs no login
        df = run_sql(args.query, _no_live_tables, history=args.history)
    _emit(df, args)
    if args.format == "table":
        print(f"{len(df)} rows; {df.attrs['cpexplore'].summary()}")
    return 0


def _no_live_tables(name: str) -> Any:
    raise AssertionError(f"{name} is not a history table")  # every table was history.*


def _cmd_resources(args: argparse.Namespace) -> int:
    from .resources import resources_frame

    frame = resources_frame()
    if args.format == "table":
        frame = frame[["name", "service_type", "path", "description"]]
    _emit(frame, args, width=None)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from .reports import inventory_report

    with _session(args) as s:
        paths = inventory_report(
            s,
            args.out,
            scope=args.scope,
            charts=not args.no_charts,
            bom=args.bom,
            escape_formulas=not args.no_escape_formulas,
        )
    sizes = [(str(p), p.stat().st_size) for p in paths.values()]
    table(pd.DataFrame(sizes, columns=["file", "bytes"]), sys.stdout, width=None)
    print(f"open {paths['index.html']} in a browser")
    return 0


def _cmd_snapshot(args: argparse.Namespace) -> int:
    from .snapshots import snapshot, snapshots

    with _session(args) as s:
        path = snapshot(
            s,
            args.store,
            resources=args.resource or ("servers", "hosts"),
            scope=args.scope,
            format=args.format,
        )
    info = snapshots(args.store).set_index("id").loc[path.name]
    rows = ", ".join(f"{k} {v}" for k, v in info["rows"].items())
    print(f"snapshot {path.name} ({info['format']}): {rows} rows in {path}")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    import pandas as pd

    from .snapshots import diff_snapshots

    diffs = diff_snapshots(
        args.store, args.old, args.new, resources=args.resource, ignore=args.ignore or ()
    )
    if args.format == "table":
        print_diff(diffs, max_rows=args.max_rows, out=sys.stdout)
        return 0
    parts = [d.to_frame() for d in diffs.values()]
    for name, part in zip(diffs, parts, strict=True):
        part.insert(0, "resource", name)
    _emit(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(), args)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that say where help is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global options; on subcommands they default to SUPPRESS so either place works."""
    d = None if top else argparse.SUPPRESS
    g = parser.add_argument_group("connection options (also accepted before the command)")
    g.add_argument("--profile", default=d, help="profile in ~/.config/cpexplore/config.ini")
    rc_help = "rc file such as ~/.onecloud_rcadmin (parsed, not run)"
    g.add_argument("--rc", metavar="FILE", default=d, help=rc_help)
    g.add_argument("--region", default=d, help="catalog region (default: OS_REGION_NAME)")
    interface_help = "endpoint interface: public, internal, admin (default public)"
    g.add_argument("--interface", default=d, help=interface_help)
    insecure_default = False if top else argparse.SUPPRESS
    insecure_help = "do not verify TLS certificates (warns)"
    g.add_argument("--insecure", action="store_true", default=insecure_default, help=insecure_help)


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default="table", help="output format (default table)"
    )
    _csv_options(parser)


def _csv_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-escape-formulas",
        action="store_true",
        help="csv: write cells starting with = + - @ as they are (for machines, not spreadsheets)",
    )
    parser.add_argument(
        "--bom", action="store_true", help="csv: start with a UTF-8 BOM (for older Excel)"
    )


def _sub(
    sub: Any, name: str, help: str, example: str, func: Any, *, connect: bool = True
) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n" + "\n".join(f"  {line}" for line in example.strip().splitlines()),
    )
    if connect:
        _connection_options(p, top=False)
    _debug_option(p, default=argparse.SUPPRESS)
    p.set_defaults(func=func)
    return p


def _debug_option(parser: argparse.ArgumentParser, default: Any) -> None:
    debug_help = "log HTTP at DEBUG (tokens masked) and show tracebacks"
    parser.add_argument("--debug", action="store_true", default=default, help=debug_help)


def build_parser() -> argparse.ArgumentParser:
    """The ``cpexplore`` argument parser (every command's ``--help`` shows an example)."""
    parser = _Parser(
        prog="cpexplore",
        description="Explore a Cloudpods cloud from the shell.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__ or "").replace("``", "").replace("Examples::", "examples:"),
    )
    parser.add_argument("--version", action="version", version=f"cpexplore {__version__}")
    _debug_option(parser, default=False)
    _connection_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _sub(
        sub,
        "catalog",
        "print the service catalog: one row per endpoint",
        "cpexplore catalog\ncpexplore --rc ~/.onecloud_rcadmin catalog -f csv > endpoints.csv",
        _cmd_catalog,
    )
    _format_option(p)

    p = _sub(
        sub,
        "list",
        "list every row of a resource (all pages)",
        "cpexplore list servers --scope system -c name -c status -c vcpu_count --sort-column name\n"
        "cpexplore list servers --filter \"status.equals('running')\" --filter 'vcpu_count.ge(8)' -f csv > big.csv\n"
        "cpexplore list hosts --search zone0 --limit 10 -f json",
        _cmd_list,
    )
    p.add_argument(
        "resource",
        metavar="RESOURCE",
        help="servers, hosts, zones, networks, disks, images, projects, ...",
    )
    p.add_argument(
        "-c",
        "--column",
        action="append",
        metavar="NAME",
        help="columns to show: -c name,status or -c name -c status (dotted names like "
        "metadata.env pick nested keys)",
    )
    p.add_argument(
        "--sort-column",
        action="append",
        metavar="NAME",
        help="sort by these columns before --limit (repeatable or comma list)",
    )
    p.add_argument("--sort-descending", action="store_true", help="sort from largest to smallest")
    p.add_argument(
        "--filter",
        action="append",
        metavar="EXPR",
        help="climc filter field.op(args), e.g. \"name.contains('web')\" (repeatable, all must hold)",
    )
    p.add_argument("--search", help="rows whose name contains this text")
    p.add_argument("--scope", help="project (server default), domain, system, or max")
    p.add_argument("--limit", type=_positive_int, help="at most this many rows")
    p.add_argument(
        "--details",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ask for detail fields (default: --details)",
    )
    _format_option(p)

    p = _sub(
        sub,
        "show",
        "show one record by id or name",
        "cpexplore show servers web-prod-0000001\ncpexplore show hosts host-zone0-00001 -f json",
        _cmd_show,
    )
    p.add_argument("resource", metavar="RESOURCE", help="servers, hosts, ...")
    p.add_argument("id", metavar="ID", help="id or name")
    _format_option(p)

    p = _sub(
        sub,
        "sql",
        "answer a SQL query over the cloud's resources (DuckDB, in-process)",
        'cpexplore sql "SELECT status, count(*) AS n FROM servers GROUP BY status ORDER BY n DESC"\n'
        'cpexplore sql "SELECT zone, sum(vcpu_count) AS vcpus FROM server_inventory GROUP BY zone"\n'
        'cpexplore sql --history snaps "SELECT snapshot_at::date AS day, count(*) AS servers '
        'FROM history.servers GROUP BY ALL ORDER BY day"',
        _cmd_sql,
    )
    p.add_argument(
        "query", metavar="QUERY", help="tables: resources (cpexplore resources) and views"
    )
    _scope_option(p)
    p.add_argument("--history", metavar="DIR", help="a snapshot store, read as history.<resource>")
    _format_option(p)

    p = _sub(
        sub,
        "resources",
        "list what can be listed: resource, service, path and description",
        "cpexplore resources\ncpexplore resources -f csv",
        _cmd_resources,
        connect=False,
    )
    _format_option(p)

    p = _sub(
        sub,
        "report",
        "write the inventory report: CSVs, charts and index.html",
        "cpexplore report --out report/ && xdg-open report/index.html",
        _cmd_report,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report (created)")
    _scope_option(p)
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    _csv_options(p)

    p = _sub(
        sub,
        "snapshot",
        "store servers and hosts as a timestamped snapshot",
        "cpexplore snapshot --store ~/cloud-snapshots        # e.g. daily from cron\n"
        "cpexplore snapshot --store snaps --resource servers --resource disks",
        _cmd_snapshot,
    )
    p.add_argument("--store", required=True, metavar="DIR", help="snapshot folder (created)")
    _resource_option(p, "what to store (repeatable; default servers and hosts)")
    _scope_option(p)
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default=None,
        help="gzip CSV or Parquet (default: Parquet when pyarrow is installed)",
    )

    p = _sub(
        sub,
        "diff",
        "show what was added, removed and changed between two snapshots",
        "cpexplore diff --store snaps                       # the latest two\n"
        'cpexplore diff --store snaps "$(ls snaps | head -1)" "$(ls snaps | tail -1)"  # ids or prefixes\n'
        "cpexplore diff --store snaps -f csv --ignore updated_at > changes.csv",
        _cmd_diff,
        connect=False,
    )
    p.add_argument("--store", required=True, metavar="DIR", help="snapshot folder")
    old_help = "older snapshot id or prefix (default: the one before NEW)"
    p.add_argument("old", nargs="?", metavar="OLD", help=old_help)
    new_help = "newer snapshot id or prefix (default: the latest)"
    p.add_argument("new", nargs="?", metavar="NEW", help=new_help)
    _resource_option(p, "only this resource (repeatable)")
    ignore_help = "do not compare this column (repeatable)"
    p.add_argument("--ignore", action="append", metavar="COLUMN", help=ignore_help)
    max_rows_help = "table lines per resource (default 50)"
    p.add_argument("--max-rows", type=_positive_int, default=50, help=max_rows_help)
    _format_option(p)

    p = _sub(
        sub,
        "sandbox",
        "serve a local Cloudpods-compatible API in the foreground",
        "cpexplore sandbox --servers 100000 --port 30500 > ~/.cpexplore_sandbox_rc\n"
        "source ~/.cpexplore_sandbox_rc && python -c 'import cpexplore; print(cpexplore.connect())'",
        _cmd_sandbox,
        connect=False,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    servers_help = "servers to generate (default 1000)"
    p.add_argument("--servers", type=_non_negative_int, default=1000, help=servers_help)
    p.add_argument("--seed", type=int, default=0, help="inventory seed (default 0)")
    p.add_argument("--access-key", help="AK (default random)")
    p.add_argument("--secret-key", help="SK (default random)")
    p.add_argument("--username", help="admin user name (default sysadmin)")
    p.add_argument("--password", help="admin password (default random)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    for name, what, real in (("row", "false", "0.0007"), ("details-row", "true", "0.0035")):
        cost_help = f"server seconds per row of a details={what} page (a real region: about {real})"
        p.add_argument(f"--{name}-cost", type=float, default=0.0, metavar="S", help=cost_help)
    cores_help = "pages that spend their row cost at once (default 2, as a real 2-core region)"
    p.add_argument("--server-cores", type=_positive_int, default=2, metavar="N", help=cores_help)
    fault_help = "fraction of GETs answered 429/503/dropped"
    p.add_argument("--fault-rate", type=float, default=0.0, help=fault_help)
    ttl_help = "token lifetime in seconds (default 86400)"
    p.add_argument("--token-ttl", type=float, default=86400, help=ttl_help)

    p = _sub(
        sub,
        "demo",
        "start a sandbox, log in with AK/SK, print tables, write a report, snapshot, change, diff",
        "cpexplore demo\ncpexplore demo --out demo/ --servers 5000",
        _cmd_demo,
        connect=False,
    )
    p.add_argument("--out", metavar="DIR", help="where to write (default: a new temporary folder)")
    demo_servers_help = "servers in the demo sandbox (default 2000)"
    p.add_argument("--servers", type=_positive_int, default=2000, help=demo_servers_help)
    p.add_argument("--seed", type=int, default=0, help="inventory seed (default 0)")
    return parser


def _scope_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scope", default="max", help="list scope (default max: all you may see)")


def _resource_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--resource", action="append", metavar="NAME", help=help)


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        what = "a positive number" if least > 0 else "zero or more"
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


_non_negative_int = functools.partial(_whole_number, least=0)
_positive_int = functools.partial(_whole_number, least=1)


_CLI_WORDS = (
    (re.compile(r"`cpexplore resources` \(session\.resources\(\)\)"), "`cpexplore resources`"),
    (re.compile(r"session\.resources\(\)"), "`cpexplore resources`"),
    (re.compile(r"; for another list use cpexplore\.custom_resource\([^)]*\)"), ""),
    (
        re.compile(r"session\.list\('([\w-]+)', limit=1\)\.columns"),
        r"`cpexplore list \1 --limit 1 -f json`",
    ),
    (re.compile(r"\b(region|interface|scope|profile|format)='([^']*)'"), r"--\1 \2"),
    (re.compile(r"\b(region|interface|scope|profile|format)=\.\.\."), r"--\1 ..."),
    (re.compile(r"\b(region|interface|scope|profile|format)=(?=[)\s,;]|$)"), r"--\1"),
    (re.compile(r"\bfilters=(\S+)"), r"--filter \1"),
    (re.compile(r"\binsecure=True\b"), "--insecure"),
    (re.compile(r"\brefresh=True\b"), "(the command always fetches anew)"),
    (re.compile(r"\bpass (--\w+)"), r"add \1"),
)


def cli_words(text: str) -> str:
    """A hint written for Python in the words of the command line.

    >>> cli_words("choose region='region0' or interface='public'; session.resources() lists all")
    'choose --region region0 or --interface public; `cpexplore resources` lists all'
    """
    for pattern, words in _CLI_WORDS:
        text = pattern.sub(words, text)
    return text


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    print(f"cpexplore: warning: {one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cpexplore`` command; return its exit code (0 ok, 1 failed, 2 bad input,
    3 a service this cloud does not offer)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return e.code if isinstance(e.code, int) else 2
    if args.debug:
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
        logging.getLogger("cpexplore").setLevel(logging.DEBUG)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cpexplore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cpexplore list servers -f csv | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as e:
        return _failed(e, debug=args.debug)


def _failed(e: Exception, *, debug: bool) -> int:
    """Say why the command failed in one line on stderr; return the exit code."""
    if debug:
        traceback.print_exc()
    if isinstance(e, CpExploreError):
        more = "" if e.hint or debug else " (add --debug for details)"
        message = cli_words(one_line(e)) + more
    elif isinstance(e, OSError):  # the system refused: a busy port, a full disk, no permission
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        message = f"{e.strerror or type(e).__name__}{where}"
    else:
        message = (
            f"unexpected {type(e).__name__}: {one_line(e)} "
            "(add --debug for a traceback, and please report it)"
        )
    print(f"cpexplore: error: {message}", file=sys.stderr)
    if isinstance(e, ServiceNotOffered):
        return 3
    return 2 if isinstance(e, _USAGE_ERRORS) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
