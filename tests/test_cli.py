"""The ``cpexplore`` command against the sandbox: every command, its errors, and the demo."""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import cpexplore.sandbox
from cpexplore import __version__
from cpexplore.cli import build_parser, main
from cpexplore.config import parse_rc
from cpexplore.files import escape_formula, read_csv
from cpexplore.sandbox import Sandbox
from cpexplore.sandbox.inventory import HOSTILE_NAMES

COMMANDS = ["catalog", "list", "show", "report", "snapshot", "diff", "demo", "sandbox"]
CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[1]


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in list(os.environ):
        if k.startswith(("OS_", "CPEXPLORE_", "YUNION_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("CPEXPLORE_CONFIG", str(tmp_path / "no-config.ini"))


def _use(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    _clean_env(monkeypatch, tmp_path)
    for k, v in parse_rc(sb.rc()).items():
        monkeypatch.setenv(k, v)
    return sb


@pytest.fixture
def cloud(sandbox, monkeypatch, tmp_path):
    """The shared sandbox, reached through the OS_* variables as a shell user would."""
    return _use(sandbox, monkeypatch, tmp_path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cpexplore") and "error:" in lines[0]
    assert "Traceback" not in err
    assert "(" in lines[0] and lines[0].endswith(")"), "every error carries a hint"
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _secrets(sb: Sandbox) -> list[str]:
    return [sb.access_key, sb.secret_key, sb.password, sb.member_password, *sb.identity.tokens]


def _all_bytes(folder: Path) -> dict[str, bytes]:
    out = {}
    for p in folder.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out[str(p)] = gzip.decompress(data) if p.suffix == ".gz" else data
    return out


# -- help, version, parser ---------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_shows_an_example(command, capsys):
    rc, out, _ = run(capsys, command, "--help")
    assert rc == 0
    assert "example:" in out and f"cpexplore {command}" in out.split("example:")[1]


def test_top_level_help_version_and_no_command(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "examples:" in out and all(c in out for c in COMMANDS)
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.strip() == f"cpexplore {__version__}"
    rc, _, err = run(capsys)
    assert rc == 2 and "usage:" in err


def test_usage_errors_are_one_line(capsys):
    rc, _, err = run(capsys, "list")
    assert rc == 2
    assert_one_line_error(err, "RESOURCE", "--help")
    rc, _, err = run(capsys, "list", "servers", "--limit", "0")
    assert rc == 2
    assert_one_line_error(err, "--limit", "positive")
    rc, _, err = run(capsys, "list", "servers", "-f", "xlsx")
    assert rc == 2
    assert_one_line_error(err, "invalid choice")


def test_python_dash_m_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "cpexplore", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == f"cpexplore {__version__}"


# -- catalog, list, show ------------------------------------------------------------------------------
def test_catalog_as_table_csv_and_json(cloud, session, capsys):
    rc, out, err = run(capsys, "catalog")
    assert rc == 0 and err == ""
    assert out.splitlines()[0].split() == [
        "service_type",
        "service_name",
        "interface",
        "region_id",
        "url",
    ]
    assert len(out.strip().splitlines()) == 2 + len(session.catalog)
    rc, out, _ = run(capsys, "catalog", "-f", "csv")
    df = pd.read_csv(io.StringIO(out))
    assert list(df.columns) == list(session.catalog.columns) and len(df) == len(session.catalog)
    rc, out, _ = run(capsys, "--region", "region1", "catalog", "-f", "json")
    rows = json.loads(out)
    # one catalog filter for the CLI and the widgets: a region-zone id is its own region
    assert rows and {r["region_id"] for r in rows} == {"region1"}
    rc, out, _ = run(capsys, "catalog", "--interface", "internal", "-f", "json")
    assert {r["interface"] for r in json.loads(out)} == {"internal"}


def test_list_table_shows_key_columns_and_a_footer(cloud, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, err = run(capsys, "list", "hosts", "--scope", "max")
    assert rc == 0 and err == ""
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["name", "status", "host_status"]
    assert lines[-1].startswith(f"{cloud.count('hosts')} hosts in region0;")
    assert "more columns: -c NAME to choose" in lines[-1]
    assert max(len(line) for line in lines[:-1]) <= 80  # the table fits the terminal


def test_an_admins_default_list_says_a_wider_scope_shows_more(cloud, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, _ = run(capsys, "list", "servers")
    assert rc == 0 and "--scope system lists all" in out.strip().splitlines()[-1]
    assert max(len(line) for line in out.strip().splitlines()[:-1]) <= 80


def test_show_leaves_out_empty_fields_in_a_table(cloud, capsys):
    rc, out, _ = run(capsys, "show", "servers", "web-prod-0000001")
    assert rc == 0 and "fields without a value not shown" in out
    assert "web-prod-0000001" in out


def test_list_columns_sort_limit_and_json(cloud, session, capsys):
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "-c", "name", "-c", "vcpu_count",
        "--sort-column", "vcpu_count", "--sort-column", "name", "--limit", "7", "-f", "json",
    )  # fmt: skip
    rows = json.loads(out)
    assert len(rows) == 7 and set(rows[0]) == {"name", "vcpu_count"}
    keys = [(r["vcpu_count"], r["name"]) for r in rows]
    assert keys == sorted(keys)
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "-c", "name", "-c", "vcpu_count",
        "--sort-column", "vcpu_count", "--sort-descending", "-f", "json",
    )  # fmt: skip
    rows = json.loads(out)
    assert len(rows) == cloud.count("servers")
    assert rows[0]["vcpu_count"] == session.list("servers", scope="max")["vcpu_count"].max()


def test_sorting_by_a_column_that_is_not_shown(cloud, session, capsys):
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "-c", "name", "--sort-column", "created_at",
        "--limit", "4", "-f", "json",
    )  # fmt: skip
    rows = json.loads(out)
    assert rc == 0 and [set(r) for r in rows] == [{"name"}] * 4
    oldest = session.list("servers", scope="max").sort_values("created_at")["name"].head(4)
    assert [r["name"] for r in rows] == oldest.tolist()


def test_list_filters_search_scope_and_details(cloud, capsys):
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "--filter", "status.equals('ready')",
        "--filter", "vcpu_count.ge(8)", "-c", "status", "-c", "vcpu_count", "-f", "json",
    )  # fmt: skip
    rows = json.loads(out)
    assert rows and all(r["status"] == "ready" and r["vcpu_count"] >= 8 for r in rows)
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "--search", "k8s-node", "-f", "csv"
    )
    names = read_csv(io.StringIO(out))["name"]
    assert len(names) and names.str.contains("k8s-node").all()
    rc, out, _ = run(
        capsys, "list", "servers", "-f", "csv", "-c", "tenant"
    )  # default: project scope
    assert set(read_csv(io.StringIO(out))["tenant"]) == {"system"}
    rc, out, _ = run(capsys, "list", "servers", "--scope", "max", "--limit", "3", "-f", "csv")
    full = pd.read_csv(io.StringIO(out)).shape[1]
    rc, out, _ = run(
        capsys, "list", "servers", "--scope", "max", "--limit", "3", "--no-details", "-f", "csv"
    )
    assert rc == 0 and 0 < pd.read_csv(io.StringIO(out)).shape[1] < full


def test_list_csv_escapes_hostile_names_and_round_trips(cloud, capsys):
    rc, out, err = run(
        capsys, "list", "servers", "--scope", "max", "-c", "id", "-c", "name", "-f", "csv"
    )
    assert rc == 0 and err == ""
    plain = pd.read_csv(io.StringIO(out))
    assert len(plain) == cloud.count("servers")
    assert {escape_formula(n) for n in HOSTILE_NAMES} <= set(plain["name"])
    assert set(HOSTILE_NAMES) <= set(read_csv(io.StringIO(out))["name"])
    rc, out, _ = run(
        capsys,
        "list",
        "servers",
        "--scope",
        "max",
        "-c",
        "name",
        "-f",
        "csv",
        "--no-escape-formulas",
    )
    assert set(HOSTILE_NAMES) <= set(pd.read_csv(io.StringIO(out), keep_default_na=False)["name"])


def test_table_output_cannot_be_broken_by_names(cloud, capsys):
    rc, out, _ = run(capsys, "list", "servers", "--scope", "max", "-c", "name", "-c", "status")
    assert "db-line1\\nline2" in out and "\\tindented" in out
    assert not any(line.startswith("line2") for line in out.splitlines())
    assert "\t" not in out and "\x1b" not in out


def test_show_one_record(cloud, session, capsys):
    servers = session.list("servers", scope="max")
    row = servers[servers["host"].notna()].iloc[0]  # a scheduled server has nics
    rc, out, err = run(capsys, "show", "servers", row["id"])
    assert rc == 0 and err == ""
    fields = {line.split(None, 1)[0] for line in out.splitlines()[2:] if line.strip()}
    assert {"id", "name", "status", "nics"} <= fields
    rc, out, _ = run(capsys, "show", "server", row["name"], "-f", "json")
    rec = json.loads(out)
    assert rec["id"] == row["id"] and isinstance(rec["nics"], list)
    rc, out, _ = run(capsys, "show", "servers", row["id"], "-f", "csv")
    assert read_csv(io.StringIO(out)).iloc[0]["id"] == row["id"]
    rc, _, err = run(capsys, "show", "servers", "no-such-server")
    assert rc == 1
    assert_one_line_error(err, "404", "cpexplore list servers")


def test_global_options_work_before_or_after_the_command(cloud, capsys):
    a = run(capsys, "--region", "region1", "list", "zones", "-f", "csv")
    b = run(capsys, "list", "zones", "--region", "region1", "-f", "csv")
    assert a == b and a[0] == 0
    assert len(pd.read_csv(io.StringIO(a[1]))) == cloud.count("zones", "region1")


def test_rc_file_and_profile(sandbox, monkeypatch, tmp_path, capsys):
    _clean_env(monkeypatch, tmp_path)
    rc_file = tmp_path / "rc"
    rc_file.write_text(sandbox.rc())
    rc, out, err = run(capsys, "--rc", str(rc_file), "list", "zones", "-f", "json")
    assert rc == 0 and len(json.loads(out)) == sandbox.count("zones")
    cfg = tmp_path / "config.ini"
    cfg.write_text(
        f"[profile lab]\nauth_url = {sandbox.auth_url}\naccess_key = {sandbox.access_key}\n"
        f"secret_key = {sandbox.secret_key}\nregion = region1\n"
    )
    cfg.chmod(0o600)
    monkeypatch.setenv("CPEXPLORE_CONFIG", str(cfg))
    rc, out, err = run(capsys, "list", "zones", "--profile", "lab", "-f", "json")
    assert rc == 0 and len(json.loads(out)) == sandbox.count("zones", "region1")
    rc, _, err = run(capsys, "--profile", "nope", "catalog")
    assert rc == 2
    assert_one_line_error(err, "profile 'nope'")


def test_insecure_is_accepted_and_warns_in_one_line(cloud, capsys):
    rc, out, err = run(capsys, "--insecure", "list", "zones", "-f", "json")
    assert rc == 0 and json.loads(out)
    assert all(line.startswith("cpexplore: warning:") for line in err.splitlines())


# -- report, snapshot, diff ----------------------------------------------------------------------------
def test_report_command(cloud, tmp_path, capsys):
    out_dir = tmp_path / "report"
    rc, out, err = run(capsys, "report", "--out", str(out_dir))
    assert rc == 0 and err == ""
    assert f"open {out_dir / 'index.html'}" in out
    for name in (
        "servers.csv",
        "hosts.csv",
        "endpoints.csv",
        "summary.csv",
        "capacity.csv",
        "index.html",
    ):
        assert (out_dir / name).is_file() and str(out_dir / name) in out
    assert set(HOSTILE_NAMES) <= set(read_csv(out_dir / "servers.csv")["name"])
    rc, out, err = run(capsys, "report", "--out", str(tmp_path / "r2"), "--no-charts", "--bom")
    assert rc == 0 and not list((tmp_path / "r2").glob("*.png"))
    assert (tmp_path / "r2" / "servers.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_snapshot_and_diff_commands_find_exactly_the_changes(
    fresh_sandbox, monkeypatch, tmp_path, capsys
):
    sb = _use(fresh_sandbox, monkeypatch, tmp_path)
    store = tmp_path / "snaps"
    rc, out, err = run(capsys, "snapshot", "--store", str(store), "--format", "csv")
    assert rc == 0 and err == "" and out.startswith("snapshot ")
    first = out.split()[1]
    assert f"servers {sb.count('servers')}" in out
    rc, _, err = run(capsys, "diff", "--store", str(store))
    assert rc == 1
    assert_one_line_error(err, "needs two snapshots", "cpexplore snapshot --store")

    ids = sorted(sb.ids("servers"))
    sb.update("servers", ids[0], status="start_fail")
    sb.delete("servers", ids[1])
    (new_id,) = sb.create_servers(1)
    rc, out, _ = run(
        capsys, "snapshot", "--store", str(store), "--resource", "servers", "--format", "csv"
    )
    second = out.split()[1]

    rc, out, err = run(capsys, "diff", "--store", str(store))
    assert rc == 0 and err == ""
    # the status, and the updated_at and update_version every write moves
    assert out.splitlines()[0].startswith("servers: 1 added, 1 removed, 1 changed (3 cells)")
    assert "hosts" not in out  # the second snapshot holds servers only
    bookkeeping = ("--ignore", "updated_at", "--ignore", "update_version")
    rc, out, _ = run(
        capsys, "diff", "--store", str(store), first, second[:-1], *bookkeeping, "-f", "csv"
    )
    changes = read_csv(io.StringIO(out))
    got = sorted(changes[["change", "id"]].itertuples(index=False, name=None))
    assert got == sorted([("added", new_id), ("removed", ids[1]), ("changed", ids[0])])
    changed = changes[changes["change"] == "changed"].iloc[0]
    assert (changed["column"], changed["new"]) == ("status", "start_fail")
    rc, out, _ = run(
        capsys, "diff", "--store", str(store), "--ignore", "status", *bookkeeping, "-f", "json"
    )
    assert {r["change"] for r in json.loads(out)} == {"added", "removed"}
    rc, _, err = run(capsys, "diff", "--store", str(store), "1999", second)
    assert rc == 1
    assert_one_line_error(err, "'1999' does not exist")


# -- errors -------------------------------------------------------------------------------------------
def test_unknown_resource_and_bad_filter_exit_2_with_a_hint(cloud, capsys):
    rc, _, err = run(capsys, "list", "serverz")
    assert rc == 2
    assert_one_line_error(err, "unknown resource 'serverz'", "did you mean")
    rc, _, err = run(capsys, "list", "servers", "--filter", "status=ready")
    assert rc == 2
    assert_one_line_error(err, "malformed filter", "field.op(args)")
    rc, _, err = run(capsys, "list", "servers", "--sort-column", "nope", "--limit", "2")
    assert rc == 2
    assert_one_line_error(err, "no field 'nope'")
    rc, _, err = run(capsys, "list", "servers", "--region", "atlantis")
    assert rc == 2
    assert_one_line_error(err, "atlantis")


def test_unwritable_report_folder(cloud, tmp_path, capsys):
    target = Path("/sys/cpexplore-report") if os.geteuid() == 0 else tmp_path / "ro" / "report"
    if os.geteuid() != 0:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o500)
    rc, out, err = run(capsys, "report", "--out", str(target), "--no-charts")
    assert rc == 1 and out == ""
    assert_one_line_error(err, "no permission", str(target))


def test_a_file_where_a_folder_belongs(cloud, tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    rc, _, err = run(capsys, "report", "--out", str(f))
    assert rc == 1
    assert_one_line_error(err, "is not a directory")
    rc, _, err = run(capsys, "snapshot", "--store", str(f))
    assert rc == 1
    assert_one_line_error(err, "is not a directory")
    rc, _, err = run(capsys, "--rc", str(tmp_path), "catalog")  # a directory as the rc file
    assert rc == 2
    assert_one_line_error(err, "is a directory")


def test_full_disk_during_a_report(cloud, tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    rc, out, err = run(capsys, "report", "--out", str(tmp_path / "r"), "--no-charts")
    assert rc == 1 and out == ""
    assert_one_line_error(err, "disk is full", "free some space")
    assert not [p for p in (tmp_path / "r").iterdir()]  # no half-written file, no temp file


def test_login_errors(sandbox, monkeypatch, tmp_path, capsys):
    _clean_env(monkeypatch, tmp_path)
    rc, _, err = run(capsys, "catalog")
    assert rc == 2
    assert_one_line_error(err, "OS_AUTH_URL")
    _use(sandbox, monkeypatch, tmp_path)
    monkeypatch.setenv("OS_SECRET_KEY", "not-the-secret")
    rc, _, err = run(capsys, "list", "servers")
    assert rc == 1
    assert_one_line_error(err)
    assert "not-the-secret" not in err


def test_debug_shows_the_traceback(cloud, capsys):
    rc, _, err = run(capsys, "--debug", "list", "servers", "--filter", "oops")
    assert rc == 2 and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("cpexplore: error: malformed filter")


# -- progress, secrets, demo ----------------------------------------------------------------------
def test_long_lists_show_progress_on_a_tty(monkeypatch, tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    with Sandbox(servers=5000, seed=2) as sb:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CPEXPLORE_"))}
        env.update(parse_rc(sb.rc()), CPEXPLORE_CONFIG=str(tmp_path / "none"))
        sb.latency = 0.8
        master, slave = pty.openpty()
        # a fresh pty is 0x0 and tqdm draws nothing in 0 columns: make it a 100-column terminal
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        csv_out = (tmp_path / "servers.csv").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cpexplore", "list", "servers", "--scope", "max", "-f", "csv"],
            stdout=csv_out,
            stderr=slave,
            env=env,
            cwd=REPO,
        )
        os.close(slave)
        csv_out.close()
        seen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == 0
    assert len(pd.read_csv(tmp_path / "servers.csv")) == sb.count("servers")
    text = seen.decode(errors="replace")
    assert "servers" in text and "rows" in text, text  # tqdm: "servers: 40%|####  | 2048/5000 rows"


def test_no_secret_reaches_any_output(cloud, tmp_path, capsys):
    outputs = []
    for argv in (
        ["catalog", "-f", "json"],
        ["--debug", "list", "hosts", "--scope", "max", "-f", "csv"],
        ["list", "servers", "--scope", "max"],
        ["--debug", "report", "--out", str(tmp_path / "r")],
        ["snapshot", "--store", str(tmp_path / "s"), "--format", "csv"],
    ):
        rc, out, err = run(capsys, *argv)
        assert rc == 0, err
        outputs += [out, err]
    blob = "\n".join(outputs).encode() + b"".join(_all_bytes(tmp_path).values())
    for s in _secrets(cloud):
        assert s.encode() not in blob


def test_demo_in_process_prints_no_secret(monkeypatch, tmp_path, capsys):
    made: list[Sandbox] = []

    class Recording(Sandbox):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setattr(cpexplore.sandbox, "Sandbox", Recording)
    rc, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--servers", "400")
    assert rc == 0, err
    (sb,) = made
    assert sb.identity.tokens  # it did log in
    blob = (out + err).encode() + b"".join(_all_bytes(tmp_path / "demo").values())
    for s in _secrets(sb):
        assert s.encode() not in blob
    assert "Logged in with AK/SK as sysadmin" in out


@pytest.mark.parametrize("servers", ["1", "3"])
def test_demo_works_on_a_small_inventory(servers, monkeypatch, tmp_path, capsys):
    _clean_env(monkeypatch, tmp_path)
    rc, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--servers", servers)
    assert rc == 0, err
    assert err == ""
    changed = next(line for line in out.splitlines() if line.startswith("the sandbox then"))
    assert changed.endswith("3 created")
    assert "servers: 3 added," in out and "== Where everything is" in out
    assert (tmp_path / "demo" / "report" / "index.html").is_file()
    assert len(list((tmp_path / "demo" / "snapshots").iterdir())) == 2


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``cpexplore demo`` run as a user runs it, in a fresh process with a clean environment."""
    out_dir = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CPEXPLORE_"))}
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cpexplore", "demo", "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    return done, time.monotonic() - t0, out_dir


def test_demo_end_to_end(demo):
    done, elapsed, out_dir = demo
    assert done.returncode == 0, done.stderr
    print(f"cpexplore demo took {elapsed:.1f} s")  # a figure, not a test: see bench/
    out = done.stdout
    assert done.stderr == ""
    for heading in (
        "== Catalog",
        "== Inventory",
        "== Report",
        "== Snapshots",
        "== Where everything is",
    ):
        assert heading in out
    assert "Logged in with AK/SK" in out
    assert "compute_v2" in out and "Aliyun/cn-beijing" in out
    assert "servers: 3 added, 2 removed, 4 changed (4 cells)" in out
    assert "hosts: 0 added, 0 removed" in out  # their commit figures follow the servers
    index = out_dir / "report" / "index.html"
    assert index.is_file() and str(index) in out
    assert f"cpexplore diff --store {out_dir / 'snapshots'}" in out
    assert len(list((out_dir / "snapshots").iterdir())) == 2
    # the printed command works, as printed
    printed = next(line for line in out.splitlines() if "cpexplore diff --store" in line)
    command = shlex.split(printed[printed.index("cpexplore diff") :])
    assert command[-4:] == ["--ignore", "updated_at", "--ignore", "update_version"]
    again = subprocess.run(
        [sys.executable, "-m", *command, "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert again.returncode == 0
    changes = json.loads(again.stdout)
    servers = [c["change"] for c in changes if c["resource"] == "servers"]
    assert sorted(servers) == ["added"] * 3 + ["changed"] * 4 + ["removed"] * 2


def _image_widths(index: Path) -> list[int]:
    """naturalWidth of every <img> once the page has loaded, in headless Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return _image_widths_cli(index)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(index.as_uri(), wait_until="load")
            return page.evaluate(
                "Array.from(document.images, i => i.complete ? i.naturalWidth : 0)"
            )
        finally:
            browser.close()


def _image_widths_cli(index: Path) -> list[int]:
    """Without Playwright: a copy of the page that writes the widths into the DOM, dumped."""
    probe = index.with_name("probe.html")
    script = (
        "<script>addEventListener('load',()=>{document.body.dataset.widths="
        "Array.from(document.images,i=>i.naturalWidth).join(',')})</script>"
    )
    probe.write_text(index.read_text(encoding="utf-8").replace("</body>", script + "</body>"))
    try:
        done = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri(),
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        probe.unlink()
    marker = 'data-widths="'
    start = done.stdout.index(marker) + len(marker)
    return [int(w) for w in done.stdout[start : done.stdout.index('"', start)].split(",") if w]


def test_demo_report_renders_in_headless_chromium(demo):
    done, _, out_dir = demo
    assert done.returncode == 0, done.stderr
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        assert os.environ.get("CI") != "true", "CI must have chromium (tests/install-and-run.sh)"
        pytest.skip("chromium is not installed (tests/install-and-run.sh installs it)")
    index = out_dir / "report" / "index.html"
    widths = _image_widths(index)
    assert len(widths) == 5, widths
    assert all(w > 0 for w in widths), widths


def test_parser_has_the_documented_options():
    parser = build_parser()
    args = parser.parse_args(
        ["--profile", "p", "--rc", "f", "--region", "r", "--interface", "internal", "--insecure",
         "--debug", "list", "servers", "-c", "a", "-c", "b", "--sort-column", "a", "--filter", "x.equals(1)",
         "--search", "s", "--scope", "system", "--limit", "3", "-f", "csv", "--no-details"]
    )  # fmt: skip
    assert (args.profile, args.rc, args.region, args.interface) == ("p", "f", "r", "internal")
    assert args.insecure and args.debug and args.details is False
    assert args.column == ["a", "b"] and args.filter == ["x.equals(1)"] and args.limit == 3
