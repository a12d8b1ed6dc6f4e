"""Every command and snippet of the README, and every example of ``--help``, runs.

Python blocks run in order in one interpreter, shell blocks one by one, against a sandbox:
the ``OS_*`` variables, ``~/.onecloud_rcadmin`` and the ``prod`` profile all point at it, and
the README's example address and keys are replaced by the sandbox's. A block preceded by
``<!-- runs in tests/FILE -->`` is run by that test (checked here), and one preceded by
``<!-- not run: why -->`` says why it cannot run inside the suite.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cpexplore import Session
from cpexplore.cli import build_parser
from cpexplore.config import parse_rc
from cpexplore.sandbox import Sandbox
from cpexplore.snapshots import snapshot

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"(?:<!-- (?P<note>[^>]*) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
EXAMPLE_URL = "http://10.0.0.1:30500/v3"
EXAMPLE_KEY = "0f4c8d7a1b2e4f6a"


def blocks(lang: str) -> list[tuple[str | None, str]]:
    return [(m["note"], m["body"]) for m in BLOCK.finditer(README) if m["lang"] == lang]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A sandbox, and a home folder and environment that point every README example at it."""
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    with Sandbox(servers=1500, seed=2) as sb:
        (home / ".onecloud_rcadmin").write_text(sb.rc())
        ini = next(body for _, body in blocks("ini"))
        config = home / ".config" / "cpexplore" / "config.ini"
        config.parent.mkdir(parents=True)
        config.write_text(_for(sb, ini))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OS_", "CPEXPLORE_", "YUNION_"))
        }
        env.update(parse_rc(sb.rc()))
        env.update(
            HOME=str(home),
            PROD_SECRET_KEY=sb.secret_key,
            MPLBACKEND="Agg",
            COLUMNS="100",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        # the diff examples need two snapshots, whichever examples ran before
        with Session(**sb.settings(), env={}, progress=False) as s:
            snapshot(s, work / "snaps")
            snapshot(s, work / "snaps")
        yield sb, env, work


def _for(sb: Sandbox, text: str) -> str:
    """An example as it runs against the sandbox: its address and keys in place of the README's."""
    text = text.replace(EXAMPLE_URL, sb.auth_url).replace(EXAMPLE_KEY, sb.access_key)
    return text.replace('secret_key="..."', f'secret_key="{sb.secret_key}"')


def test_every_block_is_run_or_says_why_not():
    for note, body in blocks("bash") + blocks("python"):
        if note is None:
            continue
        if note.startswith("runs in "):
            test_file = REPO / note.removeprefix("runs in ").strip()
            command = body.strip()
            assert test_file.is_file(), note
            text = test_file.read_text()
            assert all(Path(part).name in text for part in shlex.split(command)), note
        else:
            assert note.startswith("not run: "), note


def test_the_python_snippets_run_in_order(cloud):
    sb, env, work = cloud
    code = "\n\n".join(_for(sb, body) for note, body in blocks("python") if note is None)
    script = work / "readme_snippets.py"
    script.write_text(code)
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]


SHELL_BLOCKS = [
    (i, body)
    for i, (note, body) in enumerate(blocks("bash"))
    if note is None and "pip install" not in body
]


@pytest.mark.parametrize("index, body", SHELL_BLOCKS, ids=[f"bash-{i}" for i, _ in SHELL_BLOCKS])
def test_the_shell_commands_run(cloud, index, body):
    sb, env, work = cloud
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + body
    out = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, f"{body}\n{out.stderr[-3000:]}"


def test_the_set_up_commands_install_and_run_the_demo(tmp_path, cloud):
    """The README's install commands, in a copy of the repository, as a new user runs them."""
    _, env, _ = cloud
    copy = tmp_path / "checkout"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "test-artifacts", "*.egg-info", "build"),
    )
    env = {k: v for k, v in env.items() if not k.startswith("OS_")}  # the demo needs no cloud
    for note, body in blocks("bash"):
        if note is None and "pip install" in body:
            out = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + body],
                cwd=copy,
                env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
                capture_output=True,
                text=True,
                timeout=1800,
            )
            assert out.returncode == 0, f"{body}\n{out.stderr[-3000:]}"
            if "demo" in body:
                assert "== Keep exploring" in out.stdout


def _help_examples() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "list" in a.choices)
    out = []
    for name, p in sub.choices.items():
        if name in ("sandbox", "demo"):
            continue  # run by the shell blocks and tests/test_cli.py
        text = p.epilog or ""
        out += [line.strip() for line in text.splitlines()[1:] if line.strip()]
    return out


@pytest.mark.parametrize("command", _help_examples())
def test_every_help_example_runs(cloud, command):
    sb, env, work = cloud
    if "xdg-open" in command:
        command = command.split("&&")[0]
    script = f"set -euo pipefail\n{command} > /dev/null"
    out = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"{command}\n{out.stderr[-2000:]}"
