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
import ipaddress
import json
import logging
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .session import Session

FORMATS = ("table", "csv", "json")
_CELL_WIDTH = 40  # table cells are cut to this many characters (csv/json are never cut)
_USAGE_ERRORS = (ConfigError, UnknownResource, MissingColumns, EndpointNotFound, SqlError)


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    if not _loopback(args.host) and not args.allow_remote:
        raise CpExploreError(
            f"refusing to serve the sandbox on non-loopback address {args.host!r}",
            hint="the sandbox has no real security; add --allow-remote if you mean it",
        )
    sb = Sandbox(
        servers=args.servers,
        seed=args.seed,
        host=args.host,
        port=args.port,
        access_key=args.access_key,
        secret_key=args.secret_key,
        username=args.username,
        password=args.password,
        latency=args.latency,
        fault_rate=args.fault_rate,
        token_ttl=args.token_ttl,
        row_cost=args.row_cost,
        details_row_cost=args.details_row_cost,
    )
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


# --------------------------------------------------------------------------- output helpers


def _safe_text(text: str) -> str:
    """Text with control characters made visible, so a name cannot break a table or a terminal.

    >>> _safe_text("db-line1\\nline2\\x1b[31m")
    'db-line1\\\\nline2\\\\x1b[31m'
    """
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _cell(value: Any, width: int | None = _CELL_WIDTH) -> str:
    """One value as table text: :func:`~cpexplore.reports.cell_value` (ISO times, compact
    JSON), short floats, control characters escaped, cut to ``width``."""
    from .reports import cell_value

    value = cell_value(value)
    if value is None:
        return ""
    text = f"{value:g}" if isinstance(value, float) and math.isfinite(value) else str(value)
    text = _safe_text(text)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _table(
    df: pd.DataFrame,
    *,
    width: int | None = _CELL_WIDTH,
    out: TextIO,
    fit: int | None = None,
) -> list[str]:
    """Print ``df`` with tabulate: numbers right-aligned, text exactly as it is (escaped).

    With ``fit`` (a terminal width), cells are cut with ``…`` and, if even that is not
    enough, columns are left off from the right; the names of those left off are returned.
    """
    import pandas as pd
    from tabulate import tabulate

    if df.empty:
        out.write("(no rows)\n")
        return []
    cells = {c: [_cell(v, width) for v in df[c].tolist()] for c in df.columns}
    names = [str(c) for c in df.columns]
    widths = {
        c: max([_width(_safe_text(str(c)))] + [_width(v) for v in cells[c]]) for c in df.columns
    }
    dropped: list[str] = []
    if fit is not None:
        # tabulate makes a column at least its header + 2 wide; cells can shrink to 6
        columns = list(df.columns)

        def least(c: Any) -> int:
            return _width(_safe_text(str(c))) + 2

        def total() -> int:
            return sum(max(min(widths[c], 6), least(c)) for c in columns) + 2 * (len(columns) - 1)

        while len(columns) > 1 and total() > fit:
            dropped.insert(0, str(columns.pop()))
        budget = fit - 2 * (len(columns) - 1)
        while sum(max(widths[c], least(c)) for c in columns) > budget:
            widest = max(columns, key=lambda c: widths[c] - max(6, least(c)))
            if widths[widest] <= max(6, least(widest)):
                break
            widths[widest] -= 1
        for c in columns:
            cells[c] = [_cut(v, widths[c]) for v in cells[c]]
        names = [str(c) for c in columns]
        df = df[columns]
    headers = [_safe_text(n) for n in names]
    align = [
        "right"
        if pd.api.types.is_numeric_dtype(df[c].dtype)
        and not pd.api.types.is_bool_dtype(df[c].dtype)
        else "left"
        for c in df.columns
    ]
    rows = list(zip(*(cells[c] for c in df.columns), strict=True))
    out.write(
        tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True, colalign=align)
        + "\n"
    )
    return dropped


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in ``…`` when cut."""
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _missing(value: Any) -> bool:
    """True for None, NaN, NA and NaT (not for empty lists or dicts, which are values)."""
    try:
        return bool(value is None or (not isinstance(value, list | dict) and value != value))
    except (TypeError, ValueError):
        return False


def _terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins), 80 when not a terminal."""
    return shutil.get_terminal_size((80, 24)).columns


def _emit(
    df: pd.DataFrame,
    fmt: str,
    *,
    escape: bool,
    out: TextIO,
    width: int | None = _CELL_WIDTH,
    bom: bool = False,
) -> None:
    """Write ``df`` as a table, CSV or JSON. Formula escaping (``escape``) and the UTF-8 BOM
    are for spreadsheets, so they apply to CSV only; JSON carries the values as they are."""
    from .files import csv_text, json_text, write_csv, write_json

    raw = getattr(out, "buffer", None)
    utf8 = (getattr(out, "encoding", "") or "").lower().replace("-", "") == "utf8"
    if fmt in ("csv", "json") and raw is not None and utf8:
        # straight to the bytes of stdout: a 100 000-row list is hundreds of MB of text
        out.flush()
        if fmt == "csv":
            write_csv(df, raw, escape_formulas=escape, bom=bom, index=False)
        else:
            write_json(df, raw, index=False, indent=1)
        raw.flush()
    elif fmt == "csv":
        out.write(("\ufeff" if bom else "") + csv_text(df, escape_formulas=escape, index=False))
    elif fmt == "json":
        out.write(json_text(df, index=False, indent=1) + "\n")
    else:
        _table(df, width=width, out=out)


def _emit_args(df: pd.DataFrame, args: argparse.Namespace, width: int | None = _CELL_WIDTH) -> None:
    """:func:`_emit` with the command's ``-f``, ``--no-escape-formulas`` and ``--bom``."""
    _emit(
        df,
        args.format,
        escape=not args.no_escape_formulas,
        out=sys.stdout,
        width=width,
        bom=bool(getattr(args, "bom", False)),
    )


def _names(values: Sequence[str] | None) -> list[str]:
    """Repeatable options that also take comma lists: ``-c name,status -c zone``.

    >>> _names(["name,status", " zone ", "name"])
    ['name', 'status', 'zone']
    """
    out = [part.strip() for v in values or () for part in str(v).split(",")]
    return list(dict.fromkeys(p for p in out if p))


def _session(args: argparse.Namespace) -> Session:
    """Log in with the global options (``--rc`` applies over the environment, like ``source``)."""
    from .session import Session

    kw: dict[str, Any] = {
        "profile": args.profile,
        "region": args.region,
        "interface": args.interface,
        "insecure": True if args.insecure else None,
    }
    return Session(rc=args.rc, **kw)


# --------------------------------------------------------------------------- commands


def _cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog import filter_endpoints

    with _session(args) as s:
        cat = filter_endpoints(s.catalog, region=args.region, interface=args.interface)
    cat = cat.sort_values(["service_type", "region_id", "interface"], kind="stable")
    if args.format == "table":
        cat = cat[["service_type", "service_name", "interface", "region_id", "url"]]
    _emit_args(cat.reset_index(drop=True), args, width=None)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .resources import resource_spec

    spec = resource_spec(args.resource)  # before logging in: a typo costs no round trip
    columns = _names(args.column) or None
    sort = _names(args.sort_column)
    from .listing import list_info

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
        _emit_args(df, args)
        return 0
    shown = df
    if columns is None:  # the few columns a person reads first, that have values here
        shown = df[[c for c in spec.key_columns if c in df.columns and df[c].notna().any()]]
    dropped = _table(shown, out=sys.stdout, fit=_terminal_width())
    info = list_info(df)
    where = info.region or "the default region"
    total = info.total
    # the server's total counts rows before the filters cpexplore applied itself
    filtered = bool(info.filtered_here)
    of = f" of {total}" if isinstance(total, int) and total > len(df) and not filtered else ""
    notes = [f"{len(df)}{of} {spec.name} in {where}"]
    hidden = df.shape[1] - shown.shape[1] + len(dropped)
    if hidden:
        notes.append(f"{hidden} more columns: -c NAME to choose, -f csv for all")
    if args.scope is None and scope_hint is not None:
        notes.append(scope_hint)
    print("; ".join(notes))
    return 0


def _wider_scope_hint(s: Session, spec: Any, df: pd.DataFrame) -> str | None:
    """For an admin who listed without --scope: how many rows --scope system would show."""
    from .listing import list_info

    tok = s.token
    if not tok.is_admin or spec.service_type == "identity":
        return None
    info = list_info(df)
    try:
        body = s.get_json(info.url, {"scope": "system", "limit": 1, "details": "false"})
    except CpExploreError:
        return None
    total = body.get("total") if isinstance(body, dict) else None
    if not isinstance(total, int) or total <= len(df):
        return None
    return f"your project only ({tok.project}): --scope system lists all {total}"


def _cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

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
    if args.format == "json":
        from .reports import json_text

        rows = json_text(pd.DataFrame([record]), escape_formulas=False, index=False, indent=1)
        print(json.dumps(json.loads(rows)[0], ensure_ascii=False, indent=1))
    elif args.format == "csv":
        _emit_args(pd.DataFrame([record]), args)
    else:
        present = {k: v for k, v in record.items() if not _missing(v)}
        table = pd.DataFrame(
            {"field": list(present), "value": [_cell(v, None) for v in present.values()]}
        )
        _table(table, width=None, out=sys.stdout)
        empty = len(record) - len(present)
        if empty:
            print(f"({empty} fields without a value not shown; -f json shows every field)")
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    from .sql import referenced_tables, run_sql

    live = [t for t in referenced_tables(args.query) if not t.startswith("history.")]
    if args.history is None or live:
        with _session(args) as s:
            df = s.sql(args.query, scope=args.scope, history=args.history)
    else:  # a query over snapshots alone needs no login
        df = run_sql(args.query, _no_live_tables, history=args.history)
    _emit_args(df, args)
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
    _emit_args(frame, args, width=None)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
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
    _print_paths(paths)
    return 0


def _print_paths(paths: dict[str, Path]) -> None:
    import pandas as pd

    df = pd.DataFrame(
        {
            "file": [str(p) for p in paths.values()],
            "bytes": [p.stat().st_size for p in paths.values()],
        }
    )
    _table(df, width=None, out=sys.stdout)
    print(f"open {paths['index.html']} in a browser")


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


def _diff_frame(diffs: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    parts = []
    for name, d in diffs.items():
        part = d.to_frame()
        part.insert(0, "resource", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _print_diff(diffs: dict[str, Any], *, max_rows: int, out: TextIO) -> None:
    for name, d in diffs.items():
        head = (
            f"{name}: {len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed_keys)} changed ({len(d.changed)} cells)"
        )
        if d.old_id and d.new_id:
            head += f"  [{d.old_id} → {d.new_id}]"
        out.write(head + "\n")
        if d.columns_added or d.columns_removed:
            out.write(
                f"  columns added: {', '.join(d.columns_added) or '-'}; "
                f"removed: {', '.join(d.columns_removed) or '-'}\n"
            )
        if d.empty:
            continue
        frame = d.to_frame()
        _table(frame.head(max_rows), out=out)
        if len(frame) > max_rows:
            out.write(f"... {len(frame) - max_rows} more lines (--max-rows N, or -f csv for all)\n")
        out.write("\n")


def _cmd_diff(args: argparse.Namespace) -> int:
    from .snapshots import diff_snapshots

    diffs = diff_snapshots(
        args.store, args.old, args.new, resources=args.resource, ignore=args.ignore or ()
    )
    if args.format == "table":
        _print_diff(diffs, max_rows=args.max_rows, out=sys.stdout)
    else:
        _emit_args(_diff_frame(diffs), args)
    return 0


def _demo_changes(sb: Any, servers: pd.DataFrame) -> str:
    """Change the demo sandbox so the diff has something to show; say what was changed.

    Up to 3 running servers are stopped, then up to 2 more servers deleted and 1 resized
    (running ones first, each in id order), and 3 servers are created: any inventory of
    one server or more gives a diff.
    """
    ordered = servers.sort_values("id", kind="stable")
    running = (ordered["status"].astype(str) == "running").to_numpy()
    pool = [str(i) for i in ordered["id"][running]] + [str(i) for i in ordered["id"][~running]]
    stop = min(3, int(running.sum()))
    stopped, deleted, resized = pool[:stop], pool[stop : stop + 2], pool[stop + 2 : stop + 3]
    done = []
    for sid in stopped:
        sb.update("servers", sid, status="ready")
    if stopped:
        done.append(f"{len(stopped)} server{'s' * (len(stopped) != 1)} stopped")
    for sid in resized:
        old_cpu = int(servers.loc[servers["id"].astype(str) == sid, "vcpu_count"].iloc[0])
        sb.update("servers", sid, vcpu_count=old_cpu * 2)
        done.append(f"1 resized ({old_cpu} → {old_cpu * 2} vCPUs)")
    for sid in deleted:
        sb.delete("servers", sid)
    if deleted:
        done.append(f"{len(deleted)} deleted")
    done.append(f"{len(sb.create_servers(3))} created")
    return ", ".join(done)


def _cmd_demo(args: argparse.Namespace) -> int:
    import pandas as pd

    from .reports import inventory_report
    from .sandbox import Sandbox
    from .session import Session
    from .snapshots import diff_snapshots, snapshot
    from .summaries import summary_table

    started = time.monotonic()
    out = (
        Path(args.out).expanduser()
        if args.out
        else Path(tempfile.mkdtemp(prefix="cpexplore-demo-"))
    )
    report_dir, store = out / "report", out / "snapshots"
    say = sys.stdout.write

    with Sandbox(servers=args.servers, seed=args.seed) as sb:
        n = args.servers
        say(f"Started a sandbox Cloudpods at {sb.auth_url} with {n} server{'s' * (n != 1)}.\n")
        # the variables a user exports (or puts in an rc file), given without touching os.environ
        env = {
            "OS_AUTH_URL": sb.auth_url,
            "OS_ACCESS_KEY": sb.access_key,
            "OS_SECRET_KEY": sb.secret_key,
            "OS_REGION_NAME": sb.region,
        }
        with Session(env=env) as s:
            tok = s.token
            say(
                f"Logged in with AK/SK as {tok.user}, project {tok.project}, "
                f"region {s.region}, interface {s.interface}.\n\n"
            )
            cat = s.catalog
            pub = cat[cat["interface"] == "public"][["service_type", "region_id", "url"]]
            say("== Catalog (public endpoints)\n")
            _table(
                pub.sort_values(["service_type", "region_id"]).reset_index(drop=True),
                width=None,
                out=sys.stdout,
            )

            servers = s.list("servers", scope="max")
            say(f"\n== Inventory: {len(servers)} servers in catalog region {s.region}\n")
            counts = (
                servers.groupby(["cloudregion", "status"], observed=True)
                .size()
                .unstack(fill_value=0)
            )
            counts = counts.loc[:, counts.sum().sort_values(ascending=False).index]
            counts.insert(0, "cloud region", counts.index.astype(str))
            counts["total"] = counts.iloc[:, 1:].sum(axis=1)
            _table(counts.reset_index(drop=True), out=sys.stdout)
            by_hyper = summary_table(servers)
            by_hyper = by_hyper[by_hyper["by"] == "hypervisor"].drop(columns="by")
            say("\n")
            _table(
                by_hyper.rename(columns={"value": "hypervisor"}).reset_index(drop=True),
                out=sys.stdout,
            )

            say("\n== Report\n")
            paths = inventory_report(s, report_dir)
            say(f"wrote {len(paths)} files to {report_dir}\n")

            say("\n== Snapshots and what changed\n")
            first = snapshot(s, store)
            say(f"snapshot {first.name} taken\n")
            say(f"the sandbox then changed: {_demo_changes(sb, servers)}\n")
            second = snapshot(s, store)
            say(f"snapshot {second.name} taken\n\n")
        diffs = diff_snapshots(store, first.name, second.name)
        _print_diff(diffs, max_rows=30, out=sys.stdout)

    elapsed = time.monotonic() - started
    say("\n== Where everything is\n")
    csvs = [n for n in paths if n.endswith(".csv")]
    pngs = [n for n in paths if n.endswith(".png")]
    rows = [
        ("report", str(paths["index.html"])),
        ("tables", f"{report_dir}/{{{','.join(n[:-4] for n in csvs)}}}.csv"),
        ("charts", f"{report_dir}/{{{','.join(n[:-4] for n in pngs)}}}.png"),
        ("snapshots", str(store)),
        ("diff again", f"cpexplore diff --store {store}"),
    ]
    _table(pd.DataFrame(rows, columns=["what", "where"]), width=None, out=sys.stdout)
    say(f"done in {elapsed:.1f} s\n")
    say(
        "\n== Keep exploring\n"
        "cpexplore sandbox > sandbox.rc &       # a sandbox that keeps running; its rc block first\n"
        "sleep 2 && source sandbox.rc && cpexplore list servers --scope system\n"
        "pip install 'cpexplore[jupyter]' && jupyter lab notebooks/   # the notebooks, with widgets\n"
    )
    return 0


# --------------------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that say where help is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global options; on subcommands they default to SUPPRESS so either place works."""
    d = None if top else argparse.SUPPRESS
    g = parser.add_argument_group("connection options (also accepted before the command)")
    g.add_argument("--profile", default=d, help="profile in ~/.config/cpexplore/config.ini")
    g.add_argument(
        "--rc",
        metavar="FILE",
        default=d,
        help="rc file such as ~/.onecloud_rcadmin (parsed, not run)",
    )
    g.add_argument("--region", default=d, help="catalog region (default: OS_REGION_NAME)")
    g.add_argument(
        "--interface",
        default=d,
        help="endpoint interface: public, internal, admin (default public)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="do not verify TLS certificates (warns)",
    )


def _debug_option(parser: argparse.ArgumentParser, *, top: bool) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log HTTP at DEBUG (tokens masked) and show tracebacks",
    )


def _format_option(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default=default,
        help=f"output format (default {default})",
    )
    parser.add_argument(
        "--no-escape-formulas",
        action="store_true",
        help="csv: write cells starting with = + - @ as they are (for machines, not spreadsheets)",
    )
    parser.add_argument(
        "--bom", action="store_true", help="csv: start with a UTF-8 BOM (for older Excel)"
    )


def _sub(
    sub: Any, name: str, help: str, example: str, *, connect: bool = True
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
    _debug_option(p, top=False)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``cpexplore`` argument parser (every command's ``--help`` shows an example)."""
    parser = _Parser(
        prog="cpexplore",
        description="Explore a Cloudpods cloud from the shell.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__ or "").replace("``", "").replace("Examples::", "examples:"),
    )
    parser.add_argument("--version", action="version", version=f"cpexplore {__version__}")
    _debug_option(parser, top=True)
    _connection_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _sub(
        sub,
        "catalog",
        "print the service catalog: one row per endpoint",
        "cpexplore catalog\ncpexplore --rc ~/.onecloud_rcadmin catalog -f csv > endpoints.csv",
    )
    _format_option(p)
    p.set_defaults(func=_cmd_catalog)

    p = _sub(
        sub,
        "list",
        "list every row of a resource (all pages)",
        "cpexplore list servers --scope system -c name -c status -c vcpu_count --sort-column name\n"
        "cpexplore list servers --filter \"status.equals('running')\" --filter 'vcpu_count.ge(8)' -f csv > big.csv\n"
        "cpexplore list hosts --search zone0 --limit 10 -f json",
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
    p.set_defaults(func=_cmd_list)

    p = _sub(
        sub,
        "show",
        "show one record by id or name",
        "cpexplore show servers web-prod-0000001\ncpexplore show hosts host-zone0-00001 -f json",
    )
    p.add_argument("resource", metavar="RESOURCE", help="servers, hosts, ...")
    p.add_argument("id", metavar="ID", help="id or name")
    _format_option(p)
    p.set_defaults(func=_cmd_show)

    p = _sub(
        sub,
        "sql",
        "answer a SQL query over the cloud's resources (DuckDB, in-process)",
        'cpexplore sql "SELECT status, count(*) AS n FROM servers GROUP BY status ORDER BY n DESC"\n'
        'cpexplore sql "SELECT zone, sum(vcpu_count) AS vcpus FROM server_inventory GROUP BY zone"\n'
        'cpexplore sql --history snaps "SELECT snapshot_at::date AS day, count(*) AS servers '
        'FROM history.servers GROUP BY ALL ORDER BY day"',
    )
    p.add_argument(
        "query", metavar="QUERY", help="tables: resources (cpexplore resources) and views"
    )
    p.add_argument(
        "--scope", default="max", help="list scope of the tables (default max: all you may see)"
    )
    p.add_argument("--history", metavar="DIR", help="a snapshot store, read as history.<resource>")
    _format_option(p)
    p.set_defaults(func=_cmd_sql)

    p = _sub(
        sub,
        "resources",
        "list what can be listed: resource, service, path and description",
        "cpexplore resources\ncpexplore resources -f csv",
        connect=False,
    )
    _format_option(p)
    p.set_defaults(func=_cmd_resources)

    p = _sub(
        sub,
        "report",
        "write the inventory report: CSVs, charts and index.html",
        "cpexplore report --out report/ && xdg-open report/index.html",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report (created)")
    p.add_argument(
        "--scope",
        default="max",
        help="list scope (default max: an admin sees all, a member its project)",
    )
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    p.add_argument("--bom", action="store_true", help="start CSVs with a UTF-8 BOM (older Excel)")
    p.add_argument(
        "--no-escape-formulas",
        action="store_true",
        help="do not neutralise cells starting with = + - @",
    )
    p.set_defaults(func=_cmd_report)

    p = _sub(
        sub,
        "snapshot",
        "store servers and hosts as a timestamped snapshot",
        "cpexplore snapshot --store ~/cloud-snapshots        # e.g. daily from cron\ncpexplore snapshot --store snaps --resource servers --resource disks",
    )
    p.add_argument("--store", required=True, metavar="DIR", help="snapshot folder (created)")
    p.add_argument(
        "--resource",
        action="append",
        metavar="NAME",
        help="what to store (repeatable; default servers and hosts)",
    )
    p.add_argument("--scope", default="max", help="list scope (default max)")
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default=None,
        help="gzip CSV or Parquet (default: Parquet when pyarrow is installed)",
    )
    p.set_defaults(func=_cmd_snapshot)

    p = _sub(
        sub,
        "diff",
        "show what was added, removed and changed between two snapshots",
        "cpexplore diff --store snaps                       # the latest two\n"
        'cpexplore diff --store snaps "$(ls snaps | head -1)" "$(ls snaps | tail -1)"  # ids or prefixes\n'
        "cpexplore diff --store snaps -f csv --ignore updated_at > changes.csv",
        connect=False,
    )
    p.add_argument("--store", required=True, metavar="DIR", help="snapshot folder")
    p.add_argument(
        "old",
        nargs="?",
        metavar="OLD",
        help="older snapshot id or prefix (default: the one before NEW)",
    )
    p.add_argument(
        "new", nargs="?", metavar="NEW", help="newer snapshot id or prefix (default: the latest)"
    )
    p.add_argument(
        "--resource", action="append", metavar="NAME", help="only this resource (repeatable)"
    )
    p.add_argument(
        "--ignore",
        action="append",
        metavar="COLUMN",
        help="do not compare this column (repeatable)",
    )
    p.add_argument(
        "--max-rows", type=_positive_int, default=50, help="table lines per resource (default 50)"
    )
    _format_option(p)
    p.set_defaults(func=_cmd_diff)

    sp = sub.add_parser(
        "sandbox",
        help="serve a local Cloudpods-compatible API in the foreground",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  cpexplore sandbox --servers 100000 --port 30500 > ~/.cpexplore_sandbox_rc\n"
        "  source ~/.cpexplore_sandbox_rc && python -c 'import cpexplore; print(cpexplore.connect())'",
    )
    sp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sp.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    sp.add_argument(
        "--servers", type=_non_negative_int, default=1000, help="servers to generate (default 1000)"
    )
    sp.add_argument("--seed", type=int, default=0, help="inventory seed (default 0)")
    sp.add_argument("--access-key", help="AK (default random)")
    sp.add_argument("--secret-key", help="SK (default random)")
    sp.add_argument("--username", help="admin user name (default sysadmin)")
    sp.add_argument("--password", help="admin password (default random)")
    sp.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    sp.add_argument(
        "--row-cost",
        type=float,
        default=0.0,
        metavar="S",
        help="server seconds per row of a details=false page (a real region: about 0.0007)",
    )
    sp.add_argument(
        "--details-row-cost",
        type=float,
        default=0.0,
        metavar="S",
        help="server seconds per row of a details=true page (a real region: about 0.0035)",
    )
    sp.add_argument(
        "--fault-rate", type=float, default=0.0, help="fraction of GETs answered 429/503/dropped"
    )
    sp.add_argument(
        "--token-ttl", type=float, default=86400, help="token lifetime in seconds (default 86400)"
    )
    sp.set_defaults(func=_cmd_sandbox)

    p = _sub(
        sub,
        "demo",
        "start a sandbox, log in with AK/SK, print tables, write a report, snapshot, change, diff",
        "cpexplore demo\ncpexplore demo --out demo/ --servers 5000",
        connect=False,
    )
    p.add_argument("--out", metavar="DIR", help="where to write (default: a new temporary folder)")
    p.add_argument(
        "--servers",
        type=_positive_int,
        default=2000,
        help="servers in the demo sandbox (default 2000)",
    )
    p.add_argument("--seed", type=int, default=0, help="inventory seed (default 0)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        what = "a positive number" if least > 0 else "zero or more"
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def _non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


# A hint written for Python, in the words of the command line.
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
    """A hint written for Python (``region='region0'``, ``session.resources()``) in the
    words of the command line (``--region region0``, ``cpexplore resources``).

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
    debug = bool(getattr(args, "debug", False))
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
        logging.getLogger("cpexplore").setLevel(logging.DEBUG)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    for name in ("profile", "rc", "region", "interface", "insecure"):
        if not hasattr(args, name):
            setattr(args, name, None)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except CpExploreError as e:
        if debug:
            traceback.print_exc()
        more = "" if e.hint or debug else " (add --debug for details)"
        print(f"cpexplore: error: {cli_words(one_line(e))}{more}", file=sys.stderr)
        if isinstance(e, ServiceNotOffered):
            return 3
        return 2 if isinstance(e, _USAGE_ERRORS) else 1
    except KeyboardInterrupt:
        print("cpexplore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cpexplore list servers -f csv | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as e:  # the system refused: a busy port, a full disk, no permission
        if debug:
            traceback.print_exc()
        what = e.strerror or type(e).__name__
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        print(f"cpexplore: error: {what}{where}", file=sys.stderr)
        return 1
    except Exception as e:
        if debug:
            traceback.print_exc()
        print(
            f"cpexplore: error: unexpected {type(e).__name__}: {one_line(e)} "
            "(add --debug for a traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
