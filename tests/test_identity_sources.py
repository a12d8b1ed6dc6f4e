"""Who logs in: one identity, from one source, never completed or replaced by another.

Sources, highest first: keyword arguments > profile > rc file > environment. The highest
source that names an identity (an access key, a user name or a token) provides every
credential and the user's domain; when that source is a file (rc or profile) and a lower one
held other credentials, an ``IgnoredSettingWarning`` says which were left out. The table
below tries every pair of sources with every pair of credential kinds.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import pytest

import cpexplore
from cpexplore.config import ENV_VARS, resolve_settings
from cpexplore.errors import AuthError, ConfigError, IgnoredSettingWarning

AUTH_URL = "https://10.0.0.1:30500/v3"

# One identity of each kind per source, as the variables climc reads.
KINDS = {
    "aksk": lambda who: {"OS_ACCESS_KEY": f"ak-{who}", "OS_SECRET_KEY": f"sk-{who}"},
    "password": lambda who: {"OS_USERNAME": f"user-{who}", "OS_PASSWORD": f"pw-{who}"},
    "token": lambda who: {"OS_AUTH_TOKEN": f"token-{who}"},
}
SOURCES = ("keywords", "profile", "rc", "env")  # highest first


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CONFIG_HOME", "CPEXPLORE_CONFIG", "CPEXPLORE_PROFILE", *ENV_VARS):
        monkeypatch.delenv(var, raising=False)


def _resolve(tmp_path: Path, given: dict[str, dict[str, str]]):
    """resolve_settings with each source's variables placed where that source lives."""
    env: dict[str, str] = {"OS_AUTH_URL": AUTH_URL}
    kwargs: dict[str, object] = {}
    options: dict[str, object] = {}
    for source, variables in given.items():
        if source == "env":
            env.update(variables)
        elif source == "keywords":
            kwargs.update({ENV_VARS[k]: v for k, v in variables.items()})
        elif source == "rc":
            rc = tmp_path / "alice.rc"
            rc.write_text("".join(f"export {k}={v}\n" for k, v in variables.items()))
            options["rc_path"] = rc
        else:
            cfg = tmp_path / "config.ini"
            keys = "".join(f"{ENV_VARS[k]} = {v}\n" for k, v in variables.items())
            cfg.write_text(f"[profile p]\n{keys}")
            cfg.chmod(0o600)
            options.update(profile="p", config_path=cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = resolve_settings(env=env, **options, **kwargs)
    return settings, [w for w in caught if issubclass(w.category, IgnoredSettingWarning)]


def _identity(settings) -> tuple[str, str]:
    method = settings.auth_method
    value = {
        "aksk": settings.access_key,
        "password": settings.username,
        "token": settings.token,
    }[method]
    return method, value


CASES = [
    (high, low, kind_high, kind_low)
    for high, low in itertools.combinations(SOURCES, 2)
    for kind_high, kind_low in itertools.product(KINDS, repeat=2)
]


@pytest.mark.parametrize(("high", "low", "kind_high", "kind_low"), CASES)
def test_the_highest_source_naming_an_identity_logs_in_alone(
    tmp_path: Path, high: str, low: str, kind_high: str, kind_low: str
) -> None:
    given = {high: KINDS[kind_high](high), low: KINDS[kind_low](low)}
    settings, ignored = _resolve(tmp_path, given)

    method, value = _identity(settings)
    assert method == kind_high
    assert value.endswith(f"-{high}")
    # nothing of the lower source rides along: no other credential of any kind
    others = [settings.access_key, settings.secret_key, settings.username, settings.password]
    others.append(settings.token)
    assert not [v for v in others if v and v.endswith(f"-{low}")]
    if high in ("rc", "profile"):
        assert len(ignored) == 1, "a file that overrides other credentials says so"
        text = str(ignored[0].message)
        assert ("rc file" if high == "rc" else "profile 'p'") in text
        secrets = [v for k, v in given[low].items() if k in ("OS_SECRET_KEY", "OS_PASSWORD")]
        assert not [s for s in secrets if s in text], "the warning names variables, never secrets"
    else:
        assert not ignored


def test_the_admin_key_in_the_environment_never_logs_in_for_an_rc_file(tmp_path: Path) -> None:
    rc = tmp_path / "alice.rc"
    rc.write_text(
        f"export OS_AUTH_URL={AUTH_URL}\nexport OS_USERNAME=alice\nexport OS_PASSWORD=a-pw\n"
        "export OS_PROJECT_NAME=proj-a\n"
    )
    env = {"OS_AUTH_URL": AUTH_URL, "OS_ACCESS_KEY": "admin-ak", "OS_SECRET_KEY": "admin-sk"}
    with pytest.warns(IgnoredSettingWarning, match=r"user 'alice'.*OS_ACCESS_KEY='admin-ak'"):
        s = resolve_settings(env=env, rc_path=rc)
    assert (s.auth_method, s.username, s.access_key, s.secret_key) == (
        "password",
        "alice",
        None,
        None,
    )


def test_a_user_domain_below_the_identity_is_never_used(tmp_path: Path) -> None:
    """An OS_DOMAIN_NAME left in the environment would look up another user of that name."""
    rc = tmp_path / "alice.rc"
    rc.write_text("export OS_USERNAME=alice\nexport OS_PASSWORD=a-pw\n")
    env = {"OS_AUTH_URL": AUTH_URL, "OS_USER_DOMAIN_NAME": "other-domain"}
    with pytest.warns(IgnoredSettingWarning, match="OS_USER_DOMAIN_NAME='other-domain'"):
        s = resolve_settings(env=env, rc_path=rc)
    assert s.domain is None
    # a domain given with the identity, or explicitly above it, is used
    with pytest.warns(IgnoredSettingWarning):
        assert resolve_settings(env=env, rc_path=rc, domain="d2").domain == "d2"
    both = {**env, "OS_USERNAME": "bob", "OS_PASSWORD": "b"}
    assert resolve_settings(env=both).domain == "other-domain"


def test_of_two_user_domains_above_the_identity_the_higher_wins(tmp_path: Path) -> None:
    user = {"OS_USERNAME": "bob", "OS_PASSWORD": "b-pw"}
    settings, _ = _resolve(
        tmp_path,
        {
            "keywords": {"OS_USER_DOMAIN_NAME": "kd"},
            "profile": {"OS_USER_DOMAIN_NAME": "pd"},
            "env": user,
        },
    )
    assert (settings.username, settings.domain) == ("bob", "kd")


def test_a_secret_alone_may_complete_an_identity_of_a_file_but_never_another_identity(
    tmp_path: Path,
) -> None:
    rc = tmp_path / "rc"
    rc.write_text("export OS_ACCESS_KEY=ak-file\n")
    s = resolve_settings(env={"OS_AUTH_URL": AUTH_URL, "OS_SECRET_KEY": "sk"}, rc_path=rc)
    assert (s.access_key, s.secret_key) == ("ak-file", "sk")
    env = {"OS_AUTH_URL": AUTH_URL, "OS_ACCESS_KEY": "ak-env", "OS_SECRET_KEY": "sk-env"}
    with (
        pytest.raises(ConfigError, match="access key 'ak-file' has no secret"),
        pytest.warns(IgnoredSettingWarning, match="OS_ACCESS_KEY='ak-env', OS_SECRET_KEY$"),
    ):
        resolve_settings(env=env, rc_path=rc)


@pytest.mark.parametrize(
    ("climc", "openstack", "field"),
    [
        ("OS_DOMAIN_NAME", "OS_USER_DOMAIN_NAME", "domain"),
        ("OS_PROJECT_DOMAIN", "OS_PROJECT_DOMAIN_NAME", "project_domain"),
    ],
)
def test_openstack_names_are_aliases_and_a_conflict_is_an_error(
    climc: str, openstack: str, field: str
) -> None:
    base = {"OS_AUTH_URL": AUTH_URL, "OS_USERNAME": "u", "OS_PASSWORD": "p"}
    assert getattr(resolve_settings(env={**base, openstack: "d1"}), field) == "d1"
    assert getattr(resolve_settings(env={**base, climc: "d1", openstack: "d1"}), field) == "d1"
    with pytest.raises(ConfigError, match=f"{climc}='d1' and {openstack}='d2'"):
        resolve_settings(env={**base, climc: "d1", openstack: "d2"})


def test_domain_ids_go_into_the_login_body() -> None:
    from cpexplore.auth import method_from_settings

    env = {
        "OS_AUTH_URL": AUTH_URL,
        "OS_USERNAME": "u",
        "OS_PASSWORD": "p",
        "OS_USER_DOMAIN_ID": "dom-1",
        "OS_PROJECT_NAME": "proj",
        "OS_PROJECT_DOMAIN_ID": "dom-2",
    }
    body = method_from_settings(resolve_settings(env=env)).body(AUTH_URL)
    assert '"domain":{"id":"dom-1"}' in body
    assert '"scope":{"project":{"domain":{"id":"dom-2"},"name":"proj"}}' in body


# -- against the sandbox ------------------------------------------------------------------------


def _member_rc(sandbox, path: Path, **extra: str) -> Path:
    lines = {
        "OS_AUTH_URL": sandbox.auth_url,
        "OS_USERNAME": sandbox.member_username,
        "OS_PASSWORD": sandbox.member_password,
        "OS_PROJECT_NAME": sandbox.member_project,
        "OS_REGION_NAME": sandbox.region,
        **extra,
    }
    path.write_text("".join(f"export {k}={v}\n" for k, v in lines.items()))
    return path


def test_from_rc_logs_in_as_the_rc_user_whatever_admin_key_the_environment_holds(
    sandbox, tmp_path: Path
) -> None:
    rc = _member_rc(sandbox, tmp_path / "member.rc")
    admin = {"OS_ACCESS_KEY": sandbox.access_key, "OS_SECRET_KEY": sandbox.secret_key}
    with pytest.warns(IgnoredSettingWarning, match="OS_ACCESS_KEY"):
        s = cpexplore.Session.from_rc(rc, env=admin, progress=False)
    with s:
        assert s.token.user == sandbox.member_username
        assert not s.token.is_admin
        with pytest.raises(cpexplore.errors.Forbidden):
            s.list("servers", scope="system")


def test_the_cli_rc_option_logs_in_as_the_rc_user(sandbox, tmp_path: Path, capsys, monkeypatch):
    from cpexplore.cli import main

    rc = _member_rc(sandbox, tmp_path / "member.rc")
    monkeypatch.setenv("OS_ACCESS_KEY", sandbox.access_key)
    monkeypatch.setenv("OS_SECRET_KEY", sandbox.secret_key)
    monkeypatch.setenv("OS_AUTH_URL", sandbox.auth_url)
    assert main(["--rc", str(rc), "list", "servers", "--scope", "system", "-c", "name"]) == 1
    err = capsys.readouterr().err
    assert "ignored the other credentials of the environment" in err
    assert "403" in err and sandbox.secret_key not in err


def test_a_user_domain_that_does_not_exist_is_refused(sandbox) -> None:
    settings = {**sandbox.settings(), "access_key": None, "secret_key": None}
    with pytest.raises(AuthError, match="nope"):
        cpexplore.Session(
            env={},
            **{**settings, "username": sandbox.username, "password": sandbox.password},
            domain="nope",
        )


def test_an_aksk_login_to_a_project_the_key_is_not_bound_to_is_an_error(sandbox) -> None:
    with pytest.raises(AuthError, match=r"bound to project 'system', not 'nope'") as exc:
        cpexplore.Session(env={}, **sandbox.settings(), project="nope")
    assert sandbox.secret_key not in str(exc.value)
    with cpexplore.Session(env={}, **sandbox.settings(), project="SYSTEM") as s:
        assert s.token.project == "system"  # names compare without regard to case
