"""Shared fixtures: one sandbox per test session, on a free port of 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cpexplore.sandbox import Sandbox

SHARED = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail("tests/data (the reference vectors and transcripts) is missing")
    return SHARED


@pytest.fixture(scope="session")
def vectors(shared: Path) -> dict:
    return json.loads((shared / "vectors" / "aksk_vectors.json").read_text())


@pytest.fixture(scope="session")
def sandbox():
    """The session's sandbox: 3000 servers, no faults; tests must not mutate it."""
    with Sandbox(servers=3000, seed=7) as sb:
        yield sb


@pytest.fixture(scope="session")
def session(sandbox):
    """An AK/SK session against the shared sandbox (no environment read)."""
    from cpexplore import Session

    with Session(**sandbox.settings(), env={}, progress=False) as s:
        yield s


@pytest.fixture
def fresh_sandbox():
    """A private sandbox for tests that change settings or the inventory."""
    with Sandbox(servers=500, seed=11) as sb:
        yield sb
