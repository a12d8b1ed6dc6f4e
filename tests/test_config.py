"""How cpexplore turns keyword arguments, profiles, climc's environment and rc files into Settings.

Every test passes an explicit ``env`` dict and works under ``tmp_path``; the autouse fixture
points HOME and the XDG/cpexplore variables at ``tmp_path`` so the real home is never read.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from pathlib import Path

import pytest

from cpexplore.config import (
    ENV_VARS,
    Settings,
    auth_url_hint,
    default_config_path,
    list_profiles,
    parse_rc,
    read_rc,
    resolve_settings,
    settings_summary,
)
from cpexplore.errors import ConfigError, CpExploreError

AUTH_URL = "https://10.0.0.1:30500/v3"
AKSK = {"OS_AUTH_URL": AUTH_URL, "OS_ACCESS_KEY": "ak-id-1", "OS_SECRET_KEY": "sk-secret-1"}

# The rc file printed in tests/data/reference/api-call-process.md, "Get authentication address".
RCADMIN = """\
export OS_AUTH_URL=https://10.211.55.9:30500/v3
export OS_USERNAME=sysadmin
export OS_PASSWORD=qNVaPTw9fCCMJ7eJ
export OS_PROJECT_DOMAIN=default
export OS_PROJECT_NAME=system
export YUNION_INSECURE=true
export OS_REGION_NAME=region0
export OS_ENDPOINT_TYPE=publicURL
"""


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real home, config or environment credentials."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "CPEXPLORE_CONFIG", "CPEXPLORE_PROFILE", *ENV_VARS):
        monkeypatch.delenv(var, raising=False)
    return home


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def config_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    return write(tmp_path / "config.ini", text, mode)


# --------------------------------------------------------------------------- precedence


class TestPrecedence:
    def test_keywords_beat_profile_beat_rc_file_beat_environment(self, tmp_path: Path) -> None:
        rc = write(
            tmp_path / "rc",
            "export OS_REGION_NAME=rc-region\nexport OS_ZONE_NAME=rc-zone\n"
            "export OS_PROJECT_NAME=rc-project\n",
        )
        cfg = config_file(tmp_path, "[profile p]\nregion = profile-region\nzone = profile-zone\n")
        env = {
            **AKSK,
            "OS_REGION_NAME": "env-region",
            "OS_ZONE_NAME": "env-zone",
            "OS_PROJECT_NAME": "env-project",
            "OS_PROJECT_DOMAIN": "env-domain",
        }

        s = resolve_settings(env=env, rc_path=rc, profile="p", config_path=cfg, region="kw-region")

        assert s.region == "kw-region"  # keyword wins over all
        assert s.zone == "profile-zone"  # profile wins over rc and env
        assert s.project == "rc-project"  # the rc file applies over the environment (source)
        assert s.project_domain == "env-domain"  # the environment fills what nobody else gives

    def test_a_keyword_of_none_means_not_given(self) -> None:
        s = resolve_settings(env={**AKSK, "OS_REGION_NAME": "r1"}, region=None)
        assert s.region == "r1"

    def test_an_empty_variable_counts_as_unset(self, tmp_path: Path) -> None:
        rc = write(tmp_path / "rc", "OS_REGION_NAME=\n")
        s = resolve_settings(env={**AKSK, "OS_REGION_NAME": "from-env"}, rc_path=rc)
        assert s.region == "from-env"

    def test_an_rc_file_alone_is_enough(self, tmp_path: Path) -> None:
        rc = write(tmp_path / "rc", RCADMIN)
        s = resolve_settings(env={}, rc_path=rc)
        assert (s.auth_url, s.username, s.project, s.region) == (
            "https://10.211.55.9:30500/v3",
            "sysadmin",
            "system",
            "region0",
        )
        assert (s.auth_method, s.interface, s.insecure) == ("password", "public", True)

    def test_rc_path_expands_the_home_directory(self, isolated_home: Path) -> None:
        write(isolated_home / ".onecloud_rcadmin", RCADMIN)
        s = resolve_settings(env={}, rc_path="~/.onecloud_rcadmin")
        assert s.username == "sysadmin"

    def test_env_defaults_to_os_environ(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for var, value in AKSK.items():
            monkeypatch.setenv(var, value)
        assert resolve_settings().access_key == "ak-id-1"

    def test_defaults(self) -> None:
        s = resolve_settings(env=AKSK)
        assert s.interface == "public"
        assert s.insecure is False
        assert s.timeout == (5.0, 60.0)
        assert s.source == "cli"
        assert s.profile is None
        assert s.ca_bundle is None

    def test_unknown_keyword_is_a_config_error_suggesting_the_closest_one(self) -> None:
        with pytest.raises(ConfigError, match="'auth_ur'.*did you mean 'auth_url'.*valid:"):
            resolve_settings(env=AKSK, auth_ur=AUTH_URL)
        with pytest.raises(ConfigError, match="'zoen'.*'zone'") as info:
            resolve_settings(env=AKSK, region="r", zoen="z", bogus=1)
        assert "'bogus'" in str(info.value) and "\n" not in str(info.value)

    def test_every_settings_field_is_a_keyword(self, tmp_path: Path) -> None:
        ca = write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\n")
        given = {
            "auth_url": "https://kw:30500/v3",
            "access_key": "ak",
            "secret_key": "sk",
            "username": "u",
            "password": "p",
            "domain": "d",
            "domain_id": "did",
            "project": "pr",
            "project_domain": "pd",
            "project_domain_id": "pdid",
            "project_id": "pid",
            "token": "t",
            "region": "r",
            "zone": "z",
            "interface": "internal",
            "insecure": True,
            "ca_bundle": str(ca),
            "timeout": (1.0, 2.0),
            "source": "web",
        }
        names = {f.name for f in dataclasses.fields(Settings)} - {"profile"}
        assert set(given) == names  # a new field must be added here, and accepted
        s = resolve_settings(env={}, **given)
        assert {k: getattr(s, k) for k in given} == given


# --------------------------------------------------------------------------- environment


class TestEnvironment:
    @pytest.mark.parametrize(
        ("var", "field"),
        [
            ("OS_ACCESS_KEY", "access_key"),
            ("OS_SECRET_KEY", "secret_key"),
            ("OS_USERNAME", "username"),
            ("OS_PASSWORD", "password"),
            ("OS_DOMAIN_NAME", "domain"),
            ("OS_USER_DOMAIN_NAME", "domain"),
            ("OS_USER_DOMAIN_ID", "domain_id"),
            ("OS_PROJECT_NAME", "project"),
            ("OS_PROJECT_DOMAIN", "project_domain"),
            ("OS_PROJECT_DOMAIN_NAME", "project_domain"),
            ("OS_PROJECT_DOMAIN_ID", "project_domain_id"),
            ("OS_PROJECT_ID", "project_id"),
            ("OS_AUTH_TOKEN", "token"),
            ("OS_REGION_NAME", "region"),
            ("OS_ZONE_NAME", "zone"),
        ],
    )
    def test_each_climc_variable_fills_its_field(self, var: str, field: str) -> None:
        env = {
            "OS_AUTH_URL": AUTH_URL,
            "OS_AUTH_TOKEN": "tok",
            "OS_REGION_NAME": "r",
            var: "value-1",
        }
        assert getattr(resolve_settings(env=env), field) == "value-1"

    def test_os_auth_url_fills_auth_url_without_trailing_slash(self) -> None:
        s = resolve_settings(env={**AKSK, "OS_AUTH_URL": AUTH_URL + "/"})
        assert s.auth_url == AUTH_URL

    @pytest.mark.parametrize(
        ("value", "interface"),
        [
            ("publicURL", "public"),
            ("internalURL", "internal"),
            ("adminURL", "admin"),
            ("public", "public"),
            ("internal", "internal"),
            ("admin", "admin"),
            ("PublicURL", "public"),
        ],
    )
    def test_os_endpoint_type_is_normalised(self, value: str, interface: str) -> None:
        s = resolve_settings(env={**AKSK, "OS_ENDPOINT_TYPE": value})
        assert s.interface == interface

    @pytest.mark.parametrize("value", ["true", "1", "yes", "on", "TRUE", "On"])
    def test_yunion_insecure_true_values(self, value: str) -> None:
        assert resolve_settings(env={**AKSK, "YUNION_INSECURE": value}).insecure is True

    @pytest.mark.parametrize("value", ["false", "0", "no", "off", "False"])
    def test_yunion_insecure_false_values(self, value: str) -> None:
        assert resolve_settings(env={**AKSK, "YUNION_INSECURE": value}).insecure is False

    def test_yunion_insecure_rejects_other_values(self) -> None:
        with pytest.raises(ConfigError, match="YUNION_INSECURE.*true/false"):
            resolve_settings(env={**AKSK, "YUNION_INSECURE": "ture"})

    def test_insecure_emits_no_warning_here(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = resolve_settings(env={**AKSK, "YUNION_INSECURE": "1"})
        assert s.insecure is True
        assert s.verify is False

    def test_verify_is_the_ca_bundle_or_true(self, tmp_path: Path) -> None:
        ca = write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\n")
        assert resolve_settings(env=AKSK).verify is True
        assert resolve_settings(env=AKSK, ca_bundle=str(ca)).verify == str(ca)


# --------------------------------------------------------------------------- rc files


class TestParseRc:
    def test_the_rcadmin_example_of_the_docs(self) -> None:
        assert parse_rc(RCADMIN) == {
            "OS_AUTH_URL": "https://10.211.55.9:30500/v3",
            "OS_USERNAME": "sysadmin",
            "OS_PASSWORD": "qNVaPTw9fCCMJ7eJ",
            "OS_PROJECT_DOMAIN": "default",
            "OS_PROJECT_NAME": "system",
            "YUNION_INSECURE": "true",
            "OS_REGION_NAME": "region0",
            "OS_ENDPOINT_TYPE": "publicURL",
        }

    def test_quotes_comments_export_and_blank_lines(self) -> None:
        text = """
# a full-line comment

export OS_USERNAME='admin user'
OS_PASSWORD="p a s s"   # trailing comment
  export   OS_REGION_NAME=region0
OS_PROJECT_NAME="it's"
OS_DOMAIN_NAME='say "hi"'
"""
        assert parse_rc(text) == {
            "OS_USERNAME": "admin user",
            "OS_PASSWORD": "p a s s",
            "OS_REGION_NAME": "region0",
            "OS_PROJECT_NAME": "it's",
            "OS_DOMAIN_NAME": 'say "hi"',
        }

    def test_hash_inside_a_word_is_part_of_the_value(self) -> None:
        assert parse_rc("OS_PASSWORD=abc#123\n") == {"OS_PASSWORD": "abc#123"}
        assert parse_rc("OS_PASSWORD=abc #123\n") == {"OS_PASSWORD": "abc"}
        assert parse_rc("OS_PASSWORD='#x'\n") == {"OS_PASSWORD": "#x"}

    def test_several_assignments_on_one_export_line(self) -> None:
        assert parse_rc('export A=1 B="two words"\n') == {"A": "1", "B": "two words"}

    def test_empty_value_and_crlf_line_endings(self) -> None:
        assert parse_rc("A=\r\nB=2\r\n") == {"A": "", "B": "2"}

    def test_later_assignments_win(self) -> None:
        assert parse_rc("A=1\nA=2\n") == {"A": "2"}

    def test_lines_that_are_not_assignments_are_ignored(self) -> None:
        text = """
f() { echo hi; }
if [ -n "$X" ]; then
  echo yes
fi
source ~/.other_rc
K=v some_command
UNBALANCED="no end
export ONLY_A_NAME
OK=1
"""
        assert parse_rc(text) == {"OK": "1"}

    def test_command_substitution_is_never_run(self, tmp_path: Path) -> None:
        marker = tmp_path / "ran"
        text = (
            f"OS_PASSWORD=$(touch {marker})\n"
            f"OS_SECRET_KEY=`touch {marker}`\n"
            f'OS_USERNAME="$(touch {marker})"\n'
            "OS_REGION_NAME=region0\n"
        )
        with pytest.warns(UserWarning, match="never runs rc files") as record:
            result = parse_rc(text)
        assert not marker.exists()
        assert result == {"OS_REGION_NAME": "region0"}
        assert {str(w.message).split()[3] for w in record} == {
            "OS_PASSWORD",
            "OS_SECRET_KEY",
            "OS_USERNAME",
        }

    def test_variable_references_are_skipped_not_guessed(self) -> None:
        with pytest.warns(UserWarning, match="rc line 1: OS_AUTH_URL needs the shell"):
            assert parse_rc("export OS_AUTH_URL=https://$HOST:30500/v3\n") == {}

    def test_single_quotes_keep_dollar_signs_literal(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert parse_rc("OS_PASSWORD='a$(b)`c`$d'\nP2=x\\$y\n") == {
                "OS_PASSWORD": "a$(b)`c`$d",
                "P2": "x$y",
            }


class TestReadRc:
    def test_reads_a_file_with_a_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "rc"
        path.write_bytes(b"\xef\xbb\xbfexport OS_USERNAME=u\n")
        assert read_rc(path) == {"OS_USERNAME": "u"}

    def test_missing_file_names_the_path(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope"
        with pytest.raises(ConfigError, match=f"rc file {missing} does not exist") as exc:
            read_rc(missing)
        assert exc.value.hint

    def test_a_directory_is_not_readable_as_rc(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=f"rc file {tmp_path} is a directory"):
            read_rc(tmp_path)

    def test_a_binary_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "rc.bin"
        path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
        with pytest.raises(ConfigError, match=f"rc file {path} is not a text file"):
            read_rc(path)

    def test_a_non_utf8_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "rc"
        path.write_bytes(b"OS_PASSWORD=\xff\xfe\n")
        with pytest.raises(ConfigError, match="not a text file"):
            read_rc(path)

    @pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() == 0,
        reason="root can read a chmod 000 file; directory and binary cases cover this",
    )
    def test_an_unreadable_file_names_the_path(self, tmp_path: Path) -> None:
        path = write(tmp_path / "rc", RCADMIN, mode=0o000)
        with pytest.raises(ConfigError, match=f"cannot read rc file {path}: permission denied"):
            read_rc(path)

    def test_resolve_settings_reports_a_missing_rc_path(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="does not exist"):
            resolve_settings(env=AKSK, rc_path=tmp_path / "missing")


# --------------------------------------------------------------------------- profiles


PROFILES = """\
[profile prod]
auth_url = https://prod.example.com:30500/v3
access_key = prod-ak
region = region-prod

[profile dev]
auth_url = https://dev.example.com:30500/v3
username = dev-user
interface = internalURL
insecure = yes
timeout = 3, 30

[lab]
auth_url = https://lab.example.com:30500/v3
token_env = LAB_TOKEN
"""


class TestProfiles:
    def test_chosen_by_argument(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        s = resolve_settings(env={"OS_SECRET_KEY": "sk-env"}, profile="prod", config_path=cfg)
        assert (s.profile, s.auth_url, s.access_key, s.region) == (
            "prod",
            "https://prod.example.com:30500/v3",
            "prod-ak",
            "region-prod",
        )

    def test_chosen_by_cpexplore_profile(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        env = {"CPEXPLORE_PROFILE": "dev", "OS_PASSWORD": "pw"}
        s = resolve_settings(env=env, config_path=cfg)
        assert (s.profile, s.username, s.interface, s.insecure, s.timeout) == (
            "dev",
            "dev-user",
            "internal",
            True,
            (3.0, 30.0),
        )

    def test_argument_beats_cpexplore_profile(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        env = {"CPEXPLORE_PROFILE": "dev", "OS_SECRET_KEY": "sk"}
        assert resolve_settings(env=env, profile="prod", config_path=cfg).profile == "prod"

    def test_a_bare_section_name_is_a_profile_too(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        s = resolve_settings(env={"LAB_TOKEN": "tok"}, profile="lab", config_path=cfg)
        assert (s.auth_method, s.token) == ("token", "tok")

    def test_list_profiles_in_file_order(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        assert list_profiles(cfg, env={}) == ["prod", "dev", "lab"]

    def test_list_profiles_of_a_missing_file_is_empty(self, tmp_path: Path) -> None:
        assert list_profiles(tmp_path / "none.ini", env={}) == []

    def test_missing_profile_names_it_the_file_and_the_existing_ones(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        with pytest.raises(ConfigError) as exc:
            resolve_settings(env=AKSK, profile="staging", config_path=cfg)
        message = str(exc.value)
        assert "'staging'" in message
        assert str(cfg) in message
        assert "prod, dev, lab" in message
        assert "[profile staging]" in message

    def test_missing_profile_from_the_environment_says_so(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        with pytest.raises(ConfigError, match=r"'qa' \(\$CPEXPLORE_PROFILE\)"):
            resolve_settings(env={**AKSK, "CPEXPLORE_PROFILE": "qa"}, config_path=cfg)

    def test_profile_without_a_config_file(self, tmp_path: Path) -> None:
        cfg = tmp_path / "absent.ini"
        with pytest.raises(ConfigError, match=f"'prod'.*{cfg} does not exist"):
            resolve_settings(env=AKSK, profile="prod", config_path=cfg)

    def test_the_secret_can_stay_in_the_environment(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        s = resolve_settings(env={"OS_SECRET_KEY": "sk-env"}, profile="prod", config_path=cfg)
        assert (s.auth_method, s.secret_key) == ("aksk", "sk-env")

    def test_secret_key_env_names_another_variable(self, tmp_path: Path) -> None:
        cfg = config_file(
            tmp_path,
            "[profile prod]\nauth_url = " + AUTH_URL + "\n"
            "access_key = ak\nsecret_key_env = PROD_SK\n",
        )
        env = {"PROD_SK": "sk-prod", "OS_SECRET_KEY": "sk-other-cloud"}
        s = resolve_settings(env=env, profile="prod", config_path=cfg)
        assert s.secret_key == "sk-prod"

    def test_an_unset_secret_key_env_variable_is_an_error(self, tmp_path: Path) -> None:
        cfg = config_file(
            tmp_path,
            f"[profile prod]\nauth_url = {AUTH_URL}\naccess_key = ak\nsecret_key_env = PROD_SK\n",
        )
        with pytest.raises(ConfigError, match=r"reads secret_key from \$PROD_SK, which is not set"):
            resolve_settings(env={"OS_SECRET_KEY": "other"}, profile="prod", config_path=cfg)
        # ...unless the caller gives the secret directly.
        s = resolve_settings(env={}, profile="prod", config_path=cfg, secret_key="sk-kw")
        assert s.secret_key == "sk-kw"

    def test_a_key_and_its_env_form_together_are_an_error(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, "[p]\nsecret_key = a\nsecret_key_env = B\n")
        with pytest.raises(ConfigError, match="both secret_key and secret_key_env"):
            resolve_settings(env=AKSK, profile="p", config_path=cfg)

    def test_an_unknown_key_is_an_error_naming_it(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, "[p]\nsecretkey = typo\n")
        with pytest.raises(ConfigError, match="unknown key.*secretkey.*valid keys"):
            resolve_settings(env=AKSK, profile="p", config_path=cfg)

    def test_profile_rc_file_is_read_relative_to_the_config_file(self, tmp_path: Path) -> None:
        write(tmp_path / "rcs" / "admin", RCADMIN)
        cfg = config_file(tmp_path, "[profile admin]\nrc = rcs/admin\nregion = region9\n")
        env = {"OS_USERNAME": "env-user", "OS_ZONE_NAME": "env-zone"}
        s = resolve_settings(env=env, profile="admin", config_path=cfg)
        assert s.region == "region9"  # profile keys beat the profile's rc file
        assert s.username == "sysadmin"  # the profile's rc file beats the environment
        assert s.zone == "env-zone"  # the environment fills the rest
        assert s.password == "qNVaPTw9fCCMJ7eJ"

    def test_percent_signs_are_not_interpolated(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, f"[p]\nauth_url = {AUTH_URL}\nusername = u\npassword = a%b\n")
        assert resolve_settings(env={}, profile="p", config_path=cfg).password == "a%b"

    def test_a_profile_defined_twice_is_an_error(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, "[profile a]\nregion = 1\n[a]\nregion = 2\n")
        with pytest.raises(ConfigError, match="'a' is defined twice"):
            list_profiles(cfg, env={})

    def test_a_parse_error_names_the_line_but_not_its_content(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, "password = hunter2\n[p]\n")
        with pytest.raises(ConfigError, match="line 1") as exc:
            list_profiles(cfg, env={})
        assert "hunter2" not in str(exc.value)

    def test_config_file_from_cpexplore_config(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES)
        env = {"CPEXPLORE_CONFIG": str(cfg), "CPEXPLORE_PROFILE": "prod", "OS_SECRET_KEY": "s"}
        assert resolve_settings(env=env).access_key == "prod-ak"
        assert list_profiles(env=env) == ["prod", "dev", "lab"]

    def test_config_file_under_xdg_config_home(self, tmp_path: Path) -> None:
        write(tmp_path / "xdg" / "cpexplore" / "config.ini", PROFILES)
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
        assert list_profiles(env=env) == ["prod", "dev", "lab"]

    def test_config_file_defaults_to_home_dot_config(self, isolated_home: Path) -> None:
        write(isolated_home / ".config" / "cpexplore" / "config.ini", PROFILES)
        assert default_config_path({}) == isolated_home / ".config" / "cpexplore" / "config.ini"
        assert list_profiles(env={}) == ["prod", "dev", "lab"]


class TestConfigFileMode:
    SECRET = f"[p]\nauth_url = {AUTH_URL}\naccess_key = ak\nsecret_key = sk\n"

    def test_warns_when_a_file_holding_a_secret_is_readable_by_others(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, self.SECRET, mode=0o644)
        with pytest.warns(UserWarning, match=f"chmod 600 {cfg}"):
            resolve_settings(env={}, profile="p", config_path=cfg)

    def test_no_warning_for_a_private_file(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, self.SECRET, mode=0o600)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            resolve_settings(env={}, profile="p", config_path=cfg)

    def test_no_warning_when_the_file_holds_no_secret(self, tmp_path: Path) -> None:
        cfg = config_file(tmp_path, PROFILES, mode=0o644)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            resolve_settings(env={"OS_SECRET_KEY": "sk"}, profile="prod", config_path=cfg)


# --------------------------------------------------------------------------- validation


class TestValidation:
    def test_no_auth_url(self) -> None:
        with pytest.raises(ConfigError, match=r"no auth URL \(set OS_AUTH_URL, pass auth_url="):
            resolve_settings(env={"OS_AUTH_TOKEN": "t"})

    def test_url_without_scheme_suggests_https(self) -> None:
        with pytest.raises(
            ConfigError, match=r"'10.0.0.1:30500/v3' \(from OS_AUTH_URL\) has no scheme"
        ) as exc:
            resolve_settings(env={**AKSK, "OS_AUTH_URL": "10.0.0.1:30500/v3"})
        assert exc.value.hint == "use 'https://10.0.0.1:30500/v3'"

    @pytest.mark.parametrize(
        ("url", "fixed"),
        [
            ("http//127.0.0.1:5000/v3", "http://127.0.0.1:5000/v3"),
            ("https:/10.0.0.1:30500/v3", "https://10.0.0.1:30500/v3"),
            ("HTTP:cloud.example.com/v3", "http://cloud.example.com:30500/v3"),
        ],
    )
    def test_a_mistyped_scheme_is_named_and_fixed_not_reinvented(
        self, url: str, fixed: str
    ) -> None:
        with pytest.raises(
            ConfigError, match="is malformed: 'https?' must be followed by '://'"
        ) as exc:
            resolve_settings(env=AKSK, auth_url=url)
        assert exc.value.hint == f"did you mean {fixed!r}?"
        assert "http:30500" not in str(exc.value) and "https://http" not in str(exc.value)

    def test_a_mistyped_scheme_never_echoes_a_password(self) -> None:
        with pytest.raises(ConfigError, match="user name or password") as exc:
            resolve_settings(env=AKSK, auth_url="http//admin:hunter2@h:30500/v3")
        assert "hunter2" not in str(exc.value)

    @pytest.mark.parametrize("url", ["http:30500/v3", "exa mple.com:30500/v3"])
    def test_no_suggestion_when_nothing_sensible_is_left(self, url: str) -> None:
        with pytest.raises(ConfigError, match="has no scheme") as exc:
            resolve_settings(env=AKSK, auth_url=url)
        assert exc.value.hint == "write it as https://<host>:30500/v3"

    def test_an_invalid_host_name(self) -> None:
        with pytest.raises(ConfigError, match="invalid host name 'exa mple'"):
            resolve_settings(env=AKSK, auth_url="https://exa mple:30500/v3")

    def test_the_login_path_itself_is_not_an_auth_url(self) -> None:
        with pytest.raises(ConfigError, match="ends in /auth/tokens") as exc:
            resolve_settings(env=AKSK, auth_url="http://10.0.0.1:30500/v3/auth/tokens")
        assert exc.value.hint.endswith("http://10.0.0.1:30500/v3")

    @pytest.mark.parametrize(
        ("url", "hint"),
        [
            ("http://h:30500", "auth URLs end in /v3, e.g. http://h:30500/v3"),
            ("http://h:30500/identity", "auth URLs end in /v3, e.g. http://h:30500/v3"),
            ("http://h:30500/v3/x", "auth URLs end in /v3, e.g. http://h:30500/v3"),
            ("http://h:30500/v3", None),
            ("https://h/api/s/identity/v3", None),
        ],
    )
    def test_auth_url_hint_for_a_404_login(self, url: str, hint: str | None) -> None:
        assert auth_url_hint(url) == hint

    def test_url_without_port_suggests_30500(self) -> None:
        with pytest.raises(ConfigError, match="has no port") as exc:
            resolve_settings(env=AKSK, auth_url="https://cloud.example.com/v3")
        assert ":30500" in exc.value.hint
        assert "405" in exc.value.hint
        assert "https://cloud.example.com:30500/v3" in exc.value.hint

    def test_apigateway_url_needs_no_port(self) -> None:
        url = "https://cloud.example.com/api/s/identity/v3"
        assert resolve_settings(env=AKSK, auth_url=url).auth_url == url

    @pytest.mark.parametrize("url", ["ftp://h:30500/v3", "file:///etc/passwd"])
    def test_only_http_and_https(self, url: str) -> None:
        with pytest.raises(ConfigError, match="uses scheme"):
            resolve_settings(env=AKSK, auth_url=url)

    def test_http_is_allowed(self) -> None:
        assert resolve_settings(env=AKSK, auth_url="http://h:30500/v3").auth_url.startswith(
            "http://"
        )

    def test_invalid_port(self) -> None:
        with pytest.raises(ConfigError, match="invalid port"):
            resolve_settings(env=AKSK, auth_url="https://h:99999/v3")

    def test_credentials_in_the_url_are_refused_without_echoing_them(self) -> None:
        with pytest.raises(ConfigError, match="user name or password") as exc:
            resolve_settings(env=AKSK, auth_url="https://admin:hunter2@h:30500/v3")
        assert "hunter2" not in str(exc.value)

    def test_unknown_interface_names_the_valid_ones(self) -> None:
        with pytest.raises(ConfigError, match="unknown interface 'private'") as exc:
            resolve_settings(env={**AKSK, "OS_ENDPOINT_TYPE": "private"})
        assert "public, internal, admin" in exc.value.hint

    def test_no_credentials_names_the_working_combinations(self) -> None:
        with pytest.raises(ConfigError, match="no usable credentials") as exc:
            resolve_settings(env={"OS_AUTH_URL": AUTH_URL})
        for combination in (
            "OS_ACCESS_KEY+OS_SECRET_KEY",
            "OS_USERNAME+OS_PASSWORD",
            "OS_AUTH_TOKEN",
        ):
            assert combination in exc.value.hint

    @pytest.mark.parametrize(
        ("env", "missing"),
        [
            ({"OS_ACCESS_KEY": "AK-1"}, "OS_SECRET_KEY missing"),
            ({"OS_SECRET_KEY": "SK-VALUE"}, "OS_ACCESS_KEY missing"),
            ({"OS_USERNAME": "u"}, "OS_PASSWORD missing"),
            ({"OS_PASSWORD": "PW-VALUE"}, "OS_USERNAME missing"),
        ],
    )
    def test_half_a_credential_names_the_missing_variable(
        self, env: dict[str, str], missing: str
    ) -> None:
        with pytest.raises(ConfigError, match=missing) as exc:
            resolve_settings(env={"OS_AUTH_URL": AUTH_URL, **env})
        assert "SK-VALUE" not in str(exc.value)
        assert "PW-VALUE" not in str(exc.value)

    @pytest.mark.parametrize("timeout", [0, -1, (5, 0), (0, 60), "abc", math.nan, math.inf])
    def test_timeout_must_be_positive(self, timeout: object) -> None:
        with pytest.raises(ConfigError, match="timeout"):
            resolve_settings(env=AKSK, timeout=timeout)

    @pytest.mark.parametrize(
        ("timeout", "expected"),
        [(10, (10.0, 10.0)), ((2, 30), (2.0, 30.0)), ("2.5, 30", (2.5, 30.0)), ("7", (7.0, 7.0))],
    )
    def test_timeout_forms(self, timeout: object, expected: tuple[float, float]) -> None:
        assert resolve_settings(env=AKSK, timeout=timeout).timeout == expected

    def test_missing_ca_bundle(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="CA bundle .* does not exist"):
            resolve_settings(env=AKSK, ca_bundle=str(tmp_path / "ca.pem"))

    def test_errors_name_where_the_bad_value_came_from(self, tmp_path: Path) -> None:
        rc = write(tmp_path / "rc", "OS_AUTH_URL=https://h/v3\n")
        with pytest.raises(ConfigError, match=f"OS_AUTH_URL in rc file {rc}"):
            resolve_settings(env={"OS_AUTH_TOKEN": "t"}, rc_path=rc)

    def test_every_config_error_is_a_cpexplore_error_with_one_line(self) -> None:
        with pytest.raises(CpExploreError) as exc:
            resolve_settings(env={})
        assert "\n" not in str(exc.value)


# --------------------------------------------------------------------------- the Settings value


class TestSettings:
    SECRETS = {"secret_key": "SK-VERY-SECRET", "password": "PW-VERY-SECRET", "token": "TOK-SECRET"}

    def test_repr_never_shows_secret_password_or_token(self) -> None:
        s = resolve_settings(
            env={}, auth_url=AUTH_URL, access_key="AK-VISIBLE", username="u", **self.SECRETS
        )
        for text in (repr(s), str(s), f"{s}", f"{s!r}"):
            for secret in self.SECRETS.values():
                assert secret not in text
            assert "secret_key=<set>" in text
            assert "password=<set>" in text
            assert "token=<set>" in text
            assert "access_key='AK-VISIBLE'" in text

    def test_repr_shows_none_for_unset_secrets(self) -> None:
        assert "password=None" in repr(Settings(AUTH_URL, token="t"))

    def test_aksk_is_preferred_over_password(self) -> None:
        env = {**AKSK, "OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_AUTH_TOKEN": "t"}
        assert resolve_settings(env=env).auth_method == "aksk"

    def test_password_is_preferred_over_token(self) -> None:
        env = {
            "OS_AUTH_URL": AUTH_URL,
            "OS_USERNAME": "u",
            "OS_PASSWORD": "p",
            "OS_AUTH_TOKEN": "t",
        }
        assert resolve_settings(env=env).auth_method == "password"

    def test_a_complete_password_wins_over_half_an_aksk(self) -> None:
        env = {
            "OS_AUTH_URL": AUTH_URL,
            "OS_ACCESS_KEY": "ak",
            "OS_USERNAME": "u",
            "OS_PASSWORD": "p",
        }
        assert resolve_settings(env=env).auth_method == "password"

    def test_auth_method_of_a_hand_made_settings_without_credentials(self) -> None:
        with pytest.raises(ConfigError, match="no usable credentials"):
            _ = Settings(AUTH_URL).auth_method

    def test_settings_are_immutable(self) -> None:
        s = resolve_settings(env=AKSK)
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.password = "x"  # type: ignore[misc]

    def test_summary_holds_only_safe_fields(self) -> None:
        s = resolve_settings(env={**AKSK, "OS_PROJECT_NAME": "system", "OS_REGION_NAME": "r0"})
        summary = settings_summary(s)
        assert summary == {
            "auth_url": AUTH_URL,
            "method": "aksk",
            "user": "ak-id-1",
            "project": "system",
            "region": "r0",
            "interface": "public",
            "profile": None,
        }
        assert "sk-secret-1" not in repr(summary)

    def test_summary_of_a_password_login_shows_the_user(self) -> None:
        s = resolve_settings(env={}, auth_url=AUTH_URL, username="sysadmin", password="PW-VALUE")
        assert settings_summary(s)["method"] == "password"
        assert settings_summary(s)["user"] == "sysadmin"
        assert "PW-VALUE" not in repr(settings_summary(s))


class TestCredentialsComeFromOneLayer:
    """A credential pair is never assembled from two different sources."""

    def test_a_password_argument_is_not_sent_with_the_environments_access_key(self) -> None:
        env = {
            "OS_AUTH_URL": AUTH_URL,
            "OS_ACCESS_KEY": "other-cloud-ak",
            "OS_SECRET_KEY": "other-cloud-sk",
        }
        s = resolve_settings(env=env, username="alice", password="pw")
        assert (s.auth_method, s.access_key, s.secret_key) == ("password", None, None)

    def test_a_profile_access_key_may_take_its_secret_from_the_environment(
        self, tmp_path: Path
    ) -> None:
        cfg = tmp_path / "c.ini"
        cfg.write_text(f"[profile p]\nauth_url = {AUTH_URL}\naccess_key = ak\n")
        s = resolve_settings(
            env={"OS_SECRET_KEY": "sk", "OS_USERNAME": "u", "OS_PASSWORD": "pw"},
            profile="p",
            config_path=cfg,
        )
        assert (s.auth_method, s.access_key, s.secret_key, s.username) == ("aksk", "ak", "sk", None)

    def test_a_user_info_url_without_scheme_never_echoes_the_password(self) -> None:
        with pytest.raises(ConfigError) as exc:
            resolve_settings(env={}, auth_url="admin:S3cretPw@10.0.0.1:30500/v3", token="t")
        assert "S3cretPw" not in str(exc.value) and "admin" not in str(exc.value)


def test_a_zone_without_a_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a region"):
        resolve_settings(env={"OS_ZONE_NAME": "zone1"}, auth_url=AUTH_URL, token="t")


def test_a_secret_of_another_identity_is_never_borrowed() -> None:
    env = {"OS_AUTH_URL": AUTH_URL, "OS_USERNAME": "bob", "OS_PASSWORD": "bob-pw"}
    with pytest.raises(ConfigError):
        resolve_settings(env=env, username="alice")
    env = {"OS_AUTH_URL": AUTH_URL, "OS_ACCESS_KEY": "ak-a", "OS_SECRET_KEY": "sk-a"}
    with pytest.raises(ConfigError):
        resolve_settings(env=env, access_key="ak-b")
    s = resolve_settings(env={"OS_AUTH_URL": AUTH_URL, "OS_SECRET_KEY": "sk"}, access_key="ak-b")
    assert (s.access_key, s.secret_key) == ("ak-b", "sk")


def test_an_explicit_secret_wins_over_the_profiles(tmp_path: Path) -> None:
    cfg = tmp_path / "c.ini"
    cfg.write_text(f"[profile p]\nauth_url = {AUTH_URL}\nusername = u\npassword_env = P_PW\n")
    s = resolve_settings(
        env={"P_PW": "profile-pw"}, profile="p", config_path=cfg, password="arg-pw"
    )
    assert s.password == "arg-pw"
