"""Hints that send a person the right way, in the words of where they are read.

Every hint a CLI user can meet here is taken at its word: a ``cpexplore …`` command it names
is run, and every ``--option`` it names is an option of the command it is about. Python hints
name keywords that exist.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex

import pytest
from fakes import reply, serve

import cpexplore
from cpexplore import Session
from cpexplore.cli import build_parser, main
from cpexplore.errors import AuthError, ServiceNotOffered


@pytest.fixture
def cli_env(sandbox, monkeypatch):
    monkeypatch.setenv("OS_AUTH_URL", sandbox.auth_url)
    monkeypatch.setenv("OS_ACCESS_KEY", sandbox.access_key)
    monkeypatch.setenv("OS_SECRET_KEY", sandbox.secret_key)
    monkeypatch.setenv("OS_REGION_NAME", sandbox.region)
    for var in ("OS_USERNAME", "OS_PASSWORD", "OS_AUTH_TOKEN", "CPEXPLORE_PROFILE"):
        monkeypatch.delenv(var, raising=False)


def _options(command: str) -> set[str]:
    """Every option string the subcommand accepts (and the global ones)."""
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = {o for a in parser._actions for o in a.option_strings}
    found |= {o for a in subs.choices[command]._actions for o in a.option_strings}
    return found


COMMAND = re.compile(r"`cpexplore ([^`]+)`")  # hints quote the commands they name


def _commands_in(hint: str) -> list[list[str]]:
    """The ```cpexplore …``` commands a hint names, as argument lists."""
    return [shlex.split(m.group(1)) for m in COMMAND.finditer(hint)]


# (the command that goes wrong, the subcommand its hint is about, a word the error has)
MISTAKES = [
    (["show", "servers", "dup-name"], "show", "several servers are named"),
    (["show", "servers", "no-such-server"], "show", "not found"),
    (["list", "servers", "--filter", "nmae.contains('x')"], "list", "no field 'nmae'"),
    (["list", "servers", "--sort-column", "crated_at"], "list", "no field 'crated_at'"),
    (["list", "servers", "--filter", "vcpu_count.ge(abc)"], "list", "not a number"),
    (["list", "servers", "--scope", "sytem"], "list", "unknown scope"),
    (["list", "servers", "--scope", "user"], "list", "scope 'user'"),
    (["list", "serverz"], "list", "unknown resource"),
    (["--region", "regoin0", "list", "servers"], "list", "regoin0"),
    (["--interface", "privat", "catalog"], "catalog", "unknown interface"),
    (["list", "hosts", "--details", "--filter", "cpu_cmtbound.equals(1.2)"], "list", "4-byte"),
]


@pytest.mark.parametrize(("argv", "command", "says"), MISTAKES, ids=[m[2] for m in MISTAKES])
def test_every_cli_hint_works_as_written(cli_env, capsys, argv, command, says) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 or "not found" in says or "several" in says, err
    assert says in err
    assert "session." not in err and "=..." not in err, "a Python hint in the CLI"
    assert not re.search(r"\b(scope|region|interface|filters)=", err), err
    assert "cpexplore " not in COMMAND.sub("", err.removeprefix("cpexplore: error: ")), (
        f"a command not quoted as one: {err}"
    )
    options = _options(command)
    for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", COMMAND.sub("", err)):
        assert option in options, f"{option} is no option of {command}: {err}"
    for suggested in _commands_in(err):
        assert main(suggested) == 0, f"the suggested command fails: {suggested}"
        capsys.readouterr()


def test_a_service_this_cloud_does_not_offer_is_its_own_error_and_exit_code(
    cli_env, capsys, session
) -> None:
    with pytest.raises(ServiceNotOffered, match="this cloud offers no scheduledtask service"):
        session.list("scheduledtasks")
    assert main(["list", "scheduledtasks"]) == 3
    err = capsys.readouterr().err
    assert "offers no scheduledtask service" in err and "looked up as" not in err


def test_an_auth_url_on_a_service_that_is_not_keystone_says_so() -> None:
    """f_region_port_post_auth_tokens: a region answers a login 404 Handler … not found."""
    body = json.dumps(
        {"class": "NotFoundError", "code": 404, "details": "Handler /v3/auth/tokens not found"}
    )
    with serve(reply(404, body)) as url, pytest.raises(AuthError) as exc:
        Session(f"{url}/v3", access_key="ak", secret_key="sk", env={})
    assert "the service there is not keystone" in str(exc.value)
    assert "30500" in str(exc.value)


def test_a_token_sessions_repr_names_what_the_session_knows(sandbox) -> None:
    with Session(**sandbox.settings(), env={}) as admin:
        token = admin.token.id
        with Session(sandbox.auth_url, token=token, env={}) as s:
            text = repr(s)
    assert "None" not in text and token not in text
    assert f"user='{sandbox.username}'" in text and "login='a given token (token)'" in text


def test_python_hints_name_keywords_that_exist(session) -> None:
    with pytest.raises(cpexplore.AmbiguousName) as exc:
        session.get("servers", "dup-name")
    hint = exc.value.hint
    call = re.search(r"session\.list\((.*)\) lists", hint).group(1)
    assert len(eval(f"_session.list({call})", {"_session": session})) == 2  # noqa: S307
