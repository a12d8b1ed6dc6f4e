"""``cpexplore demo``: the tour on the built-in sandbox — a login with AK/SK, the catalog and
inventory as tables, a report, two snapshots around a few changes, and their diff."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from .reports import inventory_report
from .session import Session
from .snapshots import diff_snapshots, snapshot
from .summaries import summarize_servers
from .terminal import print_diff, table

if TYPE_CHECKING:  # pragma: no cover
    from .sandbox import Sandbox

# columns every write moves: the diff shows what changed, not that something did
_BOOKKEEPING = ("updated_at", "update_version")


def run_demo(out: str | Path | None = None, *, servers: int = 2000, seed: int = 0) -> Path:
    """Run the demo: print to stdout, write to ``out`` (default: a temporary folder); return it."""
    from .sandbox import Sandbox  # looked up now: tests swap it for one that records

    started = time.monotonic()
    out = Path(out).expanduser() if out else Path(tempfile.mkdtemp(prefix="cpexplore-demo-"))
    report_dir, store = out / "report", out / "snapshots"
    say, stdout = sys.stdout.write, sys.stdout

    with Sandbox(servers=servers, seed=seed) as sb:
        plural = "s" * (servers != 1)
        say(f"Started a sandbox Cloudpods at {sb.auth_url} with {servers} server{plural}.\n")
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
            pub = pub.sort_values(["service_type", "region_id"]).reset_index(drop=True)
            table(pub, stdout, width=None)

            inventory = s.list("servers", scope="max")
            say(f"\n== Inventory: {len(inventory)} servers in catalog region {s.region}\n")
            _inventory_tables(inventory, stdout)

            say("\n== Report\n")
            paths = inventory_report(s, report_dir)
            say(f"wrote {len(paths)} files to {report_dir}\n")

            say("\n== Snapshots and what changed\n")
            first = snapshot(s, store)
            say(f"snapshot {first.name} taken\n")
            say(f"the sandbox then changed: {_change(sb, inventory)}\n")
            second = snapshot(s, store)
            say(f"snapshot {second.name} taken\n\n")
        say("(updated_at and update_version, which every write moves, are not compared)\n")
        diffs = diff_snapshots(store, first.name, second.name, ignore=_BOOKKEEPING)
        print_diff(diffs, max_rows=30, out=stdout)

    elapsed = time.monotonic() - started
    say("\n== Where everything is\n")
    csvs = ",".join(n[:-4] for n in paths if n.endswith(".csv"))
    pngs = ",".join(n[:-4] for n in paths if n.endswith(".png"))
    rows = [
        ("report", str(paths["index.html"])),
        ("tables", f"{report_dir}/{{{csvs}}}.csv"),
        ("charts", f"{report_dir}/{{{pngs}}}.png"),
        ("snapshots", str(store)),
        (
            "diff again",
            f"cpexplore diff --store {store} " + " ".join(f"--ignore {c}" for c in _BOOKKEEPING),
        ),
    ]
    table(pd.DataFrame(rows, columns=["what", "where"]), stdout, width=None)
    say(f"done in {elapsed:.1f} s\n")
    say(
        "\n== Keep exploring\n"
        "cpexplore sandbox > sandbox.rc &       # a sandbox that keeps running; its rc block first\n"
        "sleep 2 && source sandbox.rc && cpexplore list servers --scope system\n"
        "pip install 'cpexplore[jupyter]' && jupyter lab notebooks/   # the notebooks, with widgets\n"
    )
    return out


def _inventory_tables(servers: pd.DataFrame, stdout: TextIO) -> None:
    """Servers by cloud region and status, then by hypervisor."""
    counts = servers.groupby(["cloudregion", "status"], observed=True).size().unstack(fill_value=0)
    counts = counts.loc[:, counts.sum().sort_values(ascending=False).index]
    counts.insert(0, "cloud region", counts.index.astype(str))
    counts["total"] = counts.iloc[:, 1:].sum(axis=1)
    table(counts.reset_index(drop=True), stdout)
    stdout.write("\n")
    table(summarize_servers(servers, "hypervisor"), stdout)


def _change(sb: Sandbox, servers: pd.DataFrame) -> str:
    """Stop, delete, resize and create a few servers so the diff shows something; say what."""
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
