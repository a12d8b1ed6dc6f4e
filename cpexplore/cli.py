"""The ``cpexplore`` command.

Examples::

    cpexplore sandbox --servers 100000          # a local Cloudpods; prints an rc block
    cpexplore demo                              # the sandbox, a login, the catalog, an inventory
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from . import __version__
from .errors import CpExploreError


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
    )
    sys.stdout.write(sb.rc())
    sys.stdout.write(
        f"# cpexplore sandbox: {sb.inventory.n_servers} servers (seed {args.seed}) at {sb.auth_url}\n"
        f"# member login: {sb.member_username} in project {sb.member_project}; Ctrl-C stops\n"
    )
    sys.stdout.flush()
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()
        threading.Thread(target=sb.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    try:
        sb.serve_forever()
    except KeyboardInterrupt:
        sb.stop()
    sys.stderr.write("cpexplore sandbox stopped\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .sandbox import Sandbox
    from .session import Session

    with Sandbox(servers=args.servers, seed=args.seed) as sb:
        print(f"Started a sandbox Cloudpods at {sb.auth_url} with {args.servers} servers.")
        with Session(**sb.settings(), env={}) as s:
            print(f"Logged in with AK/SK: {s!r}\n")
            cat = s.catalog
            pub = cat[cat["interface"] == "public"][["service_type", "region_id", "url"]]
            print(tabulate(pub, headers="keys", tablefmt="github", showindex=False))
            servers = s.list("servers", scope="system")
            print(f"\n{len(servers)} servers in catalog region {s.region}:")
            counts = (
                servers.groupby(["cloudregion", "status"], observed=True)
                .size()
                .unstack(fill_value=0)
            )
            print(tabulate(counts, headers="keys", tablefmt="github"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpexplore",
        description="Explore a Cloudpods cloud from the shell.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--version", action="version", version=f"cpexplore {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="log HTTP at DEBUG (tokens masked) and show tracebacks"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    sp.add_argument("--servers", type=int, default=1000, help="servers to generate (default 1000)")
    sp.add_argument("--seed", type=int, default=0, help="inventory seed (default 0)")
    sp.add_argument("--access-key", help="AK (default random)")
    sp.add_argument("--secret-key", help="SK (default random)")
    sp.add_argument("--username", help="admin user name (default sysadmin)")
    sp.add_argument("--password", help="admin password (default random)")
    sp.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    sp.add_argument(
        "--fault-rate", type=float, default=0.0, help="fraction of GETs answered 429/503/dropped"
    )
    sp.add_argument(
        "--token-ttl", type=float, default=86400, help="token lifetime in seconds (default 86400)"
    )
    sp.set_defaults(func=_cmd_sandbox)

    dp = sub.add_parser(
        "demo",
        help="start a sandbox, log in with AK/SK and show the catalog and inventory",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  cpexplore demo",
    )
    dp.add_argument("--servers", type=int, default=2000, help="servers in the demo sandbox")
    dp.add_argument("--seed", type=int, default=0)
    dp.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CpExploreError as e:
        if args.debug:
            raise
        print(f"cpexplore: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
