"""Mutation testing of the list path, the capacity figures and the signer.

Would the tests notice a bug? mutmut plants small ones (``>`` for ``>=``, ``and`` for ``or``,
a dropped branch, a changed constant), one at a time, in the modules ``[tool.mutmut]`` of
``pyproject.toml`` names, and runs the tests that reach the mutated function. A mutant the
tests fail on is *killed*; one they pass is a bug they would miss. This prints one line per
module, ``module killed/total score%``, and with ``--survivors`` the mutants that lived.

A development tool, not part of the test command::

    pip install -e '.[dev]'
    python tests/mutation.py                          # every module, whole (hours on 2 cores)
    python tests/mutation.py --module lists/filters   # one module (a path under cpexplore/)
    python tests/mutation.py --sample 60 --seed 1     # a reproducible random sample (minutes)
    python tests/mutation.py --module summaries --survivors

It works in ``mutants/`` (ignored by git) and keeps mutmut's results there: a second run
tries only what was not killed before (new mutants, and survivors, against the tests as they
are now); ``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # failed, crashed, timed out, type error
NOTHING = "cpexplore.__no_mutant_matches_this__*"  # generates mutants and stats, tests none


def configured_modules() -> list[str]:
    """The modules ``[tool.mutmut] only_mutate`` names, as paths under ``cpexplore/``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [p.removeprefix("cpexplore/").removesuffix(".py") for p in config["only_mutate"]]


def mutmut(*args: str) -> subprocess.CompletedProcess:
    """Run mutmut in the project (it reads ``[tool.mutmut]`` from ``pyproject.toml``)."""
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run(
        [str(exe), *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def generate(workers: int, modules: list[str]) -> None:
    """Make the mutants and the map of which tests reach which function (mutmut's stats);
    mutmut then finds no mutant of that name to try, which is the point."""
    done = mutmut("run", "--max-children", str(workers), NOTHING)
    if not all((MUTANTS / "cpexplore" / f"{m}.py.meta").exists() for m in modules):
        sys.exit(f"mutmut could not make the mutants:\n{done.stderr[-3000:]}")


def results(module: str) -> dict[str, int | None]:
    """Mutant name → mutmut's exit code for one module (``None``: not tried yet)."""
    meta = MUTANTS / "cpexplore" / f"{module}.py.meta"
    if not meta.exists():
        return {}
    return json.loads(meta.read_text())["exit_code_by_key"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="a module under cpexplore/ (repeat)")
    parser.add_argument("--sample", type=int, help="this many mutants per module, at random")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="mutants at once (default 2)")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that lived")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    args = parser.parse_args(argv)

    known = configured_modules()
    modules = args.module or known
    unknown = sorted(set(modules) - set(known))
    if unknown:
        parser.error(f"not configured: {', '.join(unknown)} (configured: {', '.join(known)})")
    if args.fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    started = time.monotonic()
    generate(args.workers, modules)

    chosen: dict[str, list[str]] = {}
    rng = random.Random(args.seed)
    for module in modules:
        names = sorted(results(module))
        if args.sample is not None and args.sample < len(names):
            names = sorted(rng.sample(names, args.sample))
        chosen[module] = names
    # what has not been tried, and what lived last time (the tests may have grown since)
    known_codes = {n: c for module in modules for n, c in results(module).items()}
    todo = [n for names in chosen.values() for n in names if known_codes.get(n) not in KILLED]
    for start in range(0, len(todo), 500):  # a command line of a sane length
        done = mutmut("run", "--max-children", str(args.workers), *todo[start : start + 500])
        if done.returncode not in (0, 1):  # 1: some mutants lived
            sys.exit(f"mutmut run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")

    print(f"{'module':<24} {'killed/total':>13} {'score':>6}")
    for module, names in chosen.items():
        codes = results(module)
        killed = sum(codes.get(n) in KILLED for n in names)
        score = 100 * killed / len(names) if names else 100.0
        print(f"{module:<24} {f'{killed}/{len(names)}':>13} {score:5.1f}%")
        if args.survivors:
            for n in names:
                if codes.get(n) not in KILLED:
                    print(f"    {n}")
    print(f"({time.monotonic() - started:.0f} s; `mutmut show NAME` shows a mutant)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
