"""Settings → validated, immutable credentials. No HTTP happens here.

Where a value comes from, highest first: keyword arguments of :func:`resolve_settings`
(``None``: not given); the profile of the user config file (``profile=`` or
``$CPEXPLORE_PROFILE``, with the rc file it names by ``rc =``); the rc file ``rc_path``
(e.g. ``~/.onecloud_rcadmin``), parsed, never run, applied over the environment as
``source``-ing it would be; the environment variables climc reads (``OS_AUTH_URL``,
``OS_ACCESS_KEY``…, and OpenStack's domain names). An empty value is "not given", so a
lower layer fills it, except for the identity: who logs in comes from the highest layer
that names one, and a lower layer never completes or replaces it (see :func:`_merge`).

>>> s = resolve_settings(env={"OS_AUTH_URL": "https://10.0.0.1:30500/v3",
...                           "OS_ACCESS_KEY": "ak1", "OS_SECRET_KEY": "sk1"})
>>> s.auth_method, s.interface, s.timeout
('aksk', 'public', (5.0, 60.0))
>>> "sk1" in repr(s)
False
"""

from __future__ import annotations

import configparser
import difflib
import ipaddress
import math
import os
import re
import shlex
import stat
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from cpexplore.catalog import normalize_interface
from cpexplore.errors import ConfigError, IgnoredSettingWarning

__all__ = [
    "Settings",
    "resolve_settings",
    "parse_rc",
    "read_rc",
    "list_profiles",
    "default_config_path",
    "settings_summary",
    "auth_url_hint",
    "ENV_VARS",
    "KEYSTONE_PORT",
]

#: The port Cloudpods' keystone listens on.
KEYSTONE_PORT: Final[int] = 30500

_APIGATEWAY_PATH: Final = "/api/s/identity/v3"
_SECRET_FIELDS: Final = frozenset({"secret_key", "password", "token"})
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})
_DEFAULT_TIMEOUT: Final = (5.0, 60.0)
_EXAMPLE_URL: Final = f"https://<host>:{KEYSTONE_PORT}/v3"
_MAX_RC_BYTES: Final = 1 << 20
_CREDENTIAL_HELP: Final = (
    "these work: OS_ACCESS_KEY+OS_SECRET_KEY, OS_USERNAME+OS_PASSWORD, or OS_AUTH_TOKEN, "
    "as environment variables, keyword arguments or profile keys"
)

_ASSIGNMENT: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
_ASSIGNMENT_START: Final = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")

# A layer maps a Settings field to (raw value, where it came from).
_Layer = dict[str, tuple[object, str]]


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated connection settings and credentials; build them with :func:`resolve_settings`.

    ``repr`` never shows ``secret_key``, ``password`` or ``token``:

    >>> Settings("https://h:30500/v3", access_key="ak1", secret_key="s3cret")  # doctest: +ELLIPSIS
    Settings(auth_url='https://h:30500/v3', access_key='ak1', secret_key=<set>, ...)
    """

    auth_url: str
    access_key: str | None = None
    secret_key: str | None = None
    username: str | None = None
    password: str | None = None
    domain: str | None = None
    domain_id: str | None = None
    project: str | None = None
    project_domain: str | None = None
    project_domain_id: str | None = None
    project_id: str | None = None
    token: str | None = None
    region: str | None = None
    zone: str | None = None
    interface: str = "public"
    insecure: bool = False
    ca_bundle: str | None = None
    timeout: tuple[float, float] = _DEFAULT_TIMEOUT
    source: str = "cli"
    profile: str | None = None

    def __repr__(self) -> str:
        parts = (
            f"{f.name}={('<set>' if v else None) if f.name in _SECRET_FIELDS else repr(v)}"
            for f in fields(self)
            for v in [getattr(self, f.name)]
        )
        return f"Settings({', '.join(parts)})"

    @property
    def auth_method(self) -> str:
        """``"aksk"``, ``"password"`` or ``"token"``; AK/SK wins when several are complete.

        >>> Settings("https://h:30500/v3", username="u", password="p").auth_method
        'password'
        """
        if self.access_key and self.secret_key:
            return "aksk"
        if self.username and self.password:
            return "password"
        if self.token:
            return "token"
        raise ConfigError(_missing_credentials(self), hint=_CREDENTIAL_HELP)

    @property
    def verify(self) -> bool | str:
        """The TLS ``verify`` value for requests: ``False``, a CA bundle path, or ``True``."""
        return False if self.insecure else self.ca_bundle or True


def _missing_credentials(s: Settings) -> str:
    """One line naming what is missing from each half-given credential."""
    problems = []
    if s.access_key and not s.secret_key:
        problems.append(f"access key {s.access_key!r} has no secret (OS_SECRET_KEY missing)")
    if s.secret_key and not s.access_key:
        problems.append("a secret key is set without its access key (OS_ACCESS_KEY missing)")
    if s.username and not s.password:
        problems.append(f"user {s.username!r} has no password (OS_PASSWORD missing)")
    if s.password and not s.username:
        problems.append("a password is set without a user name (OS_USERNAME missing)")
    if not problems:
        problems.append("none of OS_ACCESS_KEY, OS_USERNAME, OS_AUTH_TOKEN is set")
    return "no usable credentials: " + "; ".join(problems)


# --------------------------------------------------------------------------- rc files


def _scan_shell(line: str) -> tuple[str, bool]:
    """Cut a trailing ``# comment`` off ``line`` (sh quoting); say whether it needs expansion."""
    quote = ""
    i, n = 0, len(line)
    expands = False
    while i < n:
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = ""
            i += 1
            continue
        if c == "\\":
            i += 2
            continue
        if c == "`" or (
            c == "$" and i + 1 < n and (line[i + 1] in "({_@*#?$!-" or line[i + 1].isalnum())
        ):
            expands = True
        if quote == '"':
            if c == '"':
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], expands
        i += 1
    return line, expands


def parse_rc(text: str) -> dict[str, str]:
    """Read ``K=V`` / ``export K=V`` assignments from a shell rc file without running it.

    Quotes follow shlex; other lines (``if``, ``source``...) are skipped, and so, with a
    :class:`UserWarning`, is a value that needs the shell (``$(...)``, backticks, ``$VAR``).

    >>> parse_rc('export OS_AUTH_URL=https://h:30500/v3  # keystone\\nOS_PASSWORD="a b#c"\\n')
    {'OS_AUTH_URL': 'https://h:30500/v3', 'OS_PASSWORD': 'a b#c'}
    """
    result: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line, expands = _scan_shell(raw.strip())
        line = line.strip()
        if line and expands:
            match = _ASSIGNMENT_START.match(line)
            if match:
                warnings.warn(
                    f"rc line {lineno}: {match.group(1)} needs the shell ($(...), `...` or $VAR) "
                    "and was skipped; cpexplore never runs rc files (set it in the environment)",
                    UserWarning,
                    stacklevel=2,
                )
            continue
        try:
            words = shlex.split(line)
        except ValueError:  # unbalanced quotes, e.g. a multi-line value
            continue
        if words and words[0] == "export":
            words = words[1:]
        matches = [_ASSIGNMENT.fullmatch(w) for w in words]
        if matches and all(matches):
            result.update(m.groups() for m in matches if m)
    return result


def read_rc(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read and parse an rc file such as ``~/.onecloud_rcadmin`` (see :func:`parse_rc`).

    Raises :class:`ConfigError` naming the path when it is missing, unreadable or no rc file.

    >>> read_rc("/nonexistent/rc")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    cpexplore.errors.ConfigError: rc file /nonexistent/rc does not exist (...)
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"rc file {p} does not exist",
            hint="check the path; 'ocadm cluster rcadmin' prints one to save there",
        ) from None
    except OSError as e:
        raise ConfigError(
            f"cannot read rc file {p}: {e.strerror}", hint="check the path and its permissions"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigError(f"rc file {p} is {kind}", hint="give the path of the rc file itself")
    try:
        with p.open("rb") as fh:
            data = fh.read(_MAX_RC_BYTES + 1)
    except PermissionError:
        raise ConfigError(
            f"cannot read rc file {p}: permission denied",
            hint=f"make it readable (chmod u+r {p}) or run as its owner",
        ) from None
    except OSError as e:
        raise ConfigError(
            f"cannot read rc file {p}: {e.strerror}", hint="check the file and its permissions"
        ) from None
    if len(data) > _MAX_RC_BYTES:
        raise ConfigError(
            f"rc file {p} is larger than {_MAX_RC_BYTES} bytes",
            hint="give a shell rc file of export lines",
        )
    try:
        if b"\0" in data:
            raise UnicodeError
        text = data.decode("utf-8-sig")
    except UnicodeError:
        raise ConfigError(
            f"rc file {p} is not a text file",
            hint="give a UTF-8 shell file of 'export OS_...=...' lines",
        ) from None
    return parse_rc(text)


# --------------------------------------------------------------------------- profiles


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the user config file is: ``$CPEXPLORE_CONFIG``, else XDG's ``cpexplore/config.ini``.

    >>> str(default_config_path({"XDG_CONFIG_HOME": "/cfg"}))
    '/cfg/cpexplore/config.ini'
    """
    env = os.environ if env is None else env
    if explicit := env.get("CPEXPLORE_CONFIG"):
        return Path(explicit).expanduser()
    xdg = Path(env.get("XDG_CONFIG_HOME") or "")  # the XDG spec says to ignore relative paths
    base = xdg if xdg.is_absolute() else Path(env.get("HOME") or Path.home()) / ".config"
    return base / "cpexplore" / "config.ini"


def _config_file(config_path: str | os.PathLike[str] | None, env: Mapping[str, str] | None) -> Path:
    return default_config_path(env) if config_path is None else Path(config_path).expanduser()


def _read_config(path: Path) -> configparser.ConfigParser | None:
    """Parse the config file, or ``None`` when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(
            f"config file {path} is a directory", hint="point CPEXPLORE_CONFIG at an INI file"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"cannot read config file {path}: permission denied",
            hint=f"make it readable (chmod 600 {path})",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"config file {path} is not UTF-8 text", hint="save it as a UTF-8 INI file"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        raise ConfigError(
            f"cannot parse config file {path}{_parse_error_place(e)}",
            hint="write INI sections '[profile NAME]' holding 'key = value' lines",
        ) from None
    return parser


def _parse_error_place(e: configparser.Error) -> str:
    """Where a parse error is and what kind, never the line itself: it may hold a secret."""
    lineno = getattr(e, "lineno", None)
    errors = getattr(e, "errors", None)
    if lineno is None and errors:
        lineno = errors[0][0]
    where = f" at line {lineno}" if lineno else ""
    if isinstance(e, configparser.DuplicateSectionError):
        return f"{where}: section [{e.section}] appears twice"
    if isinstance(e, configparser.DuplicateOptionError):
        return f"{where}: key {e.option!r} appears twice in [{e.section}]"
    if isinstance(e, configparser.MissingSectionHeaderError):
        return f"{where}: a key comes before any [profile NAME] header"
    return where


def _profile_sections(parser: configparser.ConfigParser, path: Path) -> dict[str, str]:
    """Profile name → section name; ``[profile NAME]`` and ``[NAME]`` both name a profile."""
    names: dict[str, str] = {}
    for section in parser.sections():
        parts = section.split(None, 1)
        name = parts[1].strip() if len(parts) == 2 and parts[0] == "profile" else section.strip()
        if name in names:
            raise ConfigError(
                f"profile {name!r} is defined twice in {path} ([{names[name]}] and [{section}])",
                hint="keep one of the two sections",
            )
        names[name] = section
    return names


def list_profiles(
    config_path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Names of the profiles in the user config file, in file order (``[]`` if none).

    >>> list_profiles("/nonexistent/config.ini")
    []
    """
    path = _config_file(config_path, env)
    parser = _read_config(path)
    return [] if parser is None else list(_profile_sections(parser, path))


def _exposed_secret(parser: configparser.ConfigParser, path: Path) -> str | None:
    """A warning text when the file holds a secret and group/others can read it."""
    if os.name != "posix":
        return None
    sections = [parser.defaults(), *(parser[s] for s in parser.sections())]
    if not any(section.get(key) for section in sections for key in _SECRET_FIELDS):
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"config file {path} holds a secret and is readable by others (mode {mode:04o}); "
        f"run 'chmod 600 {path}' or move the secret to an environment variable (secret_key_env)"
    )


def _profile_section(
    name: str, chosen_by: str, config_path: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[configparser.SectionProxy, Path]:
    """The section of profile ``name`` and the config file's path, or what is missing."""
    path = _config_file(config_path, env)
    parser = _read_config(path)
    if parser is None:
        raise ConfigError(
            f"profile {name!r} ({chosen_by}) not found: config file {path} does not exist",
            hint=f"create it with a [profile {name}] section, or set CPEXPLORE_CONFIG to your file",
        )
    sections = _profile_sections(parser, path)
    if name not in sections:
        existing = ", ".join(sections) if sections else "none"
        raise ConfigError(
            f"profile {name!r} ({chosen_by}) not found in {path}; profiles there: {existing}",
            hint=f"choose one of them, or add a [profile {name}] section",
        )
    return parser[sections[name]], path


def _profile_layer(
    name: str, chosen_by: str, config_path: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[_Layer, dict[str, str], str | None]:
    """The profile's values, the ``<key>_env`` variables that are unset, and a mode warning."""
    section, path = _profile_section(name, chosen_by, config_path, env)
    origin = f"profile {name!r} in {path}"
    allowed = {*_PROFILE_FIELDS, "rc", *(f"{f}_env" for f in _PROFILE_FIELDS)}
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(
            f"{origin} has unknown key(s): {', '.join(unknown)}",
            hint=f"valid keys: {', '.join(_PROFILE_FIELDS)}, rc, and <key>_env",
        )
    layer: _Layer = {}
    rc_value = section.get("rc", "").strip()
    if rc_value:  # relative to the config file; an absolute path replaces path.parent
        rc_file = path.parent / Path(rc_value).expanduser()
        layer.update(_vars_layer(read_rc(rc_file), f" in rc file {rc_file}"))
    missing_env: dict[str, str] = {}
    for key in _PROFILE_FIELDS:
        literal, var = section.get(key, ""), section.get(f"{key}_env", "").strip()
        if literal and var:
            raise ConfigError(
                f"{origin} sets both {key} and {key}_env", hint="keep only one of them"
            )
        if literal:
            layer[key] = (literal, origin)
        elif var and env.get(var):
            layer[key] = (env[var], f"${var} named by {key}_env in {origin}")
        elif var:
            missing_env[key] = var
    return layer, missing_env, _exposed_secret(section.parser, path)


# --------------------------------------------------------------------------- resolving


def _vars_layer(variables: Mapping[str, str], suffix: str = "") -> _Layer:
    """Fields from climc's variables and OpenStack's aliases (two that differ: an error)."""
    layer: _Layer = {}
    for var, field in ENV_VARS.items():
        value = variables.get(var)
        if not value:
            continue
        where = var + suffix
        if field in layer and layer[field][0] != value:
            raise ConfigError(
                f"{layer[field][1]}={layer[field][0]!r} and {where}={value!r} name two "
                f"different values of one setting ({field})",
                hint=f"keep one of {' and '.join(_FIELDS[field].variables)}",
            )
        layer.setdefault(field, (value, where))
    return layer


_IDENTITY = ("access_key", "username", "token")
_USER_DOMAIN = ("domain", "domain_id")  # part of who a user name is
_WHO = ("access_key", "secret_key", "username", "password", "token", *_USER_DOMAIN)
_SECRET_FOR = {"access_key": "secret_key", "username": "password"}


def _merge(layers: list[tuple[str, _Layer]]) -> tuple[_Layer, str | None]:
    """Merge ``(label, layer)`` pairs, highest first, field by field, except the identity.

    The highest layer naming an access key, a user name or a token gives every credential
    and the user domain (a layer above may add a domain). Its secret comes from a layer
    above, its own, or a lower one naming no other identity (a profile may leave it in the
    environment); nothing else completes it, so a password argument is never sent with
    another cloud's ``OS_ACCESS_KEY``. Also returns what a file's identity ignored, or None.
    """
    chosen = next(
        (i for i, (_, layer) in enumerate(layers) if any(k in layer for k in _IDENTITY)), None
    )
    merged: _Layer = {}
    for _, layer in reversed(layers):
        merged.update({k: v for k, v in layer.items() if chosen is None or k not in _WHO})
    if chosen is None:  # no identity anywhere: keep it all, so the error can name what is missing
        return merged, None
    merged.update(_identity(layers, chosen))
    return merged, _ignored(layers, chosen, merged)


def _identity(layers: list[tuple[str, _Layer]], chosen: int) -> _Layer:
    """The credentials and user domain of the identity that ``layers[chosen]`` names."""
    top = layers[chosen][1]
    found = {k: v for k, v in top.items() if k in _WHO}
    for _, layer in reversed(layers[:chosen]):  # a user domain above it, the highest wins
        found.update({k: layer[k] for k in _USER_DOMAIN if k in layer and k not in top})
    for identity, secret in _SECRET_FOR.items():
        if identity not in top:
            continue
        mine = top[identity][0]
        for _, layer in layers:  # the first secret of a layer naming this identity or none
            if secret in layer and layer.get(identity, (mine,))[0] == mine:
                found[secret] = layer[secret]
                break
    return found


def _ignored(layers: list[tuple[str, _Layer]], chosen: int, merged: _Layer) -> str | None:
    """What a file's identity left out of a lower layer's credentials, or ``None``."""
    label, top = layers[chosen]
    ignored = [
        (name, k, v)
        for name, layer in layers[chosen + 1 :]
        for k, v in layer.items()
        if k in _WHO and merged.get(k, (None,))[0] != v[0]
    ]
    if not ignored or label.startswith("keyword"):
        return None
    shown = ", ".join(v[1] if k in _SECRET_FIELDS else f"{v[1]}={v[0]!r}" for _, k, v in ignored)
    return (
        f"{label} logs in as {_who(top)}; ignored the other credentials of {ignored[0][0]}: {shown}"
    )


def _who(layer: _Layer) -> str:
    """The identity a layer names, for a message (never a secret)."""
    if "access_key" in layer:
        return f"access key {layer['access_key'][0]!r}"
    if "username" in layer:
        return f"user {layer['username'][0]!r}"
    return "a token"


def _valid_host(host: str) -> bool:
    """Whether ``host`` can be an IP address or a DNS name (letters, digits, ``-``, ``_``)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return all(
        0 < len(label) <= 63
        and all(c.isalnum() or c in "-_" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def _suggest_url(url: str) -> str | None:
    """``url`` (with a scheme) with the keystone port added where missing, or ``None``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if not _valid_host(host) or host in ("http", "https"):  # "http:30500" lost its "//"
        return None
    if port is None and _APIGATEWAY_PATH not in parts.path:
        return parts._replace(netloc=f"{parts.netloc}:{KEYSTONE_PORT}").geturl()
    return url


# "http//h", "http:/h", "https:h": a scheme with its "://" mistyped.
_MISTYPED_SCHEME: Final = re.compile(r"(https?)(?:/{1,3}|:/|:(?=[^\d/]))(?=[^/])(.*)", re.I)


def _check_auth_url(value: object, origin: str) -> str:
    url = str(value).strip() if value is not None else ""
    if not url:
        raise ConfigError(
            "no auth URL",
            hint=f"set OS_AUTH_URL, pass auth_url=, or use a profile/rc file (e.g. {_EXAMPLE_URL})",
        )
    typo = None if "://" in url else _MISTYPED_SCHEME.fullmatch(url)
    if typo:
        candidate = f"{typo.group(1).lower()}://{typo.group(2)}"
    else:
        candidate = url if "://" in url else "https://" + url.lstrip("/")
    parts = urlsplit(candidate)
    if parts.username is not None or parts.password is not None:
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        raise ConfigError(
            f"auth URL {shown!r} (from {origin}) contains a user name or password",
            hint="remove it from the URL; give credentials with OS_USERNAME/OS_PASSWORD "
            "or OS_ACCESS_KEY/OS_SECRET_KEY",
        )
    problem, fix = _auth_url_problem(url, candidate, typo)
    if problem:
        raise ConfigError(f"auth URL {url!r} (from {origin}) {problem}", hint=fix)
    return url.rstrip("/")


def _auth_url_problem(url: str, candidate: str, typo: re.Match[str] | None) -> tuple[str, str]:
    """What is wrong with ``url`` and how to fix it, or ``("", "")``."""
    if typo or "://" not in url:
        fixed = _suggest_url(candidate)
        if typo:
            scheme = typo.group(1).lower()
            return (
                f"is malformed: {scheme!r} must be followed by '://'",
                f"did you mean {fixed!r}?" if fixed else f"write it as {_EXAMPLE_URL}",
            )
        return "has no scheme", f"use {fixed!r}" if fixed else f"write it as {_EXAMPLE_URL}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"uses scheme {parts.scheme!r}", "use https:// or http://"
    if not parts.hostname:
        return "has no host", f"use {_EXAMPLE_URL}"
    if not _valid_host(parts.hostname):
        return (
            f"has an invalid host name {parts.hostname!r}",
            f"a host is an IP address or a DNS name, e.g. {_EXAMPLE_URL}",
        )
    try:
        port = parts.port
    except ValueError:
        return "has an invalid port", f"keystone listens on :{KEYSTONE_PORT}"
    if port is None and _APIGATEWAY_PATH not in parts.path:
        return "has no port", (
            f"Cloudpods' keystone listens on :{KEYSTONE_PORT} and without the port a "
            f"front end answers 405 Method Not Allowed; use {_suggest_url(url)!r}"
        )
    if parts.path.rstrip("/").endswith("/auth/tokens"):
        return "ends in /auth/tokens", (
            f"give keystone's base URL, which ends in /v3: {auth_url_hint(url, bare=True)}"
        )
    return "", ""


def auth_url_hint(auth_url: str, *, bare: bool = False) -> str | None:
    """What to say when a login to ``auth_url`` answers 404 Not Found, or ``None``.

    Keystone's URLs end in ``/v3`` (``/api/s/identity/v3`` behind the API gateway); an auth
    URL without it gets 404 for ``/auth/tokens``. ``bare=True`` returns only the URL to use.

    >>> auth_url_hint("http://10.0.0.1:30500")
    'auth URLs end in /v3, e.g. http://10.0.0.1:30500/v3'
    >>> auth_url_hint("http://10.0.0.1:30500/v3/auth/tokens", bare=True)
    'http://10.0.0.1:30500/v3'
    >>> auth_url_hint("http://10.0.0.1:30500/v3") is None
    True
    """
    parts = urlsplit(auth_url.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/v3"):
        return None
    cut = path.find("/v3/")
    path = path[: cut + 3] if cut >= 0 else "/v3"
    fixed = parts._replace(path=path, query="", fragment="").geturl()
    return fixed if bare else f"auth URLs end in /v3, e.g. {fixed}"


def _parse_interface(value: object, origin: str) -> str:
    return normalize_interface(str(value), choosable=True, origin=origin)


def _parse_insecure(value: object, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ConfigError(
        f"insecure value {value!r} (from {origin}) is not a boolean",
        hint="use true/false, 1/0, yes/no or on/off",
    )


def _parse_timeout(value: object, origin: str) -> tuple[float, float]:
    items: list[object]
    if isinstance(value, str):
        items = [v for v in re.split(r"[\s,]+", value.strip()) if v]
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        items = [value]
    hint = "give seconds > 0: one number for both, or 'connect, read' such as (5, 60)"
    if len(items) == 1:
        items = items * 2
    if len(items) != 2 or any(isinstance(v, bool) for v in items):
        raise ConfigError(f"timeout {value!r} (from {origin}) is not a number or a pair", hint=hint)
    try:
        connect, read = (float(v) for v in items)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"timeout {value!r} (from {origin}) is not a number", hint=hint) from None
    if not (connect > 0 and read > 0 and math.isfinite(connect) and math.isfinite(read)):
        raise ConfigError(f"timeout {value!r} (from {origin}) must be positive", hint=hint)
    return connect, read


def _check_ca_bundle(value: object, origin: str) -> str:
    p = Path(str(value).strip()).expanduser()
    if not p.exists():
        raise ConfigError(
            f"CA bundle {str(p)!r} (from {origin}) does not exist",
            hint="give the path of a PEM file (or directory) of CA certificates",
        )
    return str(p)


def _text(value: object, origin: str) -> str:
    return str(value)


@dataclass(frozen=True)
class _Field:
    """How a :class:`Settings` field is read: its variables (climc's, then OpenStack's), its
    parser, its default (a ``required`` field is parsed even then, to say what is missing),
    and whether a profile may set it."""

    variables: tuple[str, ...] = ()
    parse: Callable[[object, str], object] = _text
    default: object = None
    required: bool = False
    profile: bool = True


#: Every :class:`Settings` field but ``profile`` (chosen by name): where it comes from and
#: how it is parsed. One table drives keyword arguments, profiles, the environment and rc files.
_FIELDS: Final[Mapping[str, _Field]] = MappingProxyType(
    {
        "auth_url": _Field(("OS_AUTH_URL",), _check_auth_url, required=True),
        "access_key": _Field(("OS_ACCESS_KEY",)),
        "secret_key": _Field(("OS_SECRET_KEY",)),
        "username": _Field(("OS_USERNAME",)),
        "password": _Field(("OS_PASSWORD",)),
        "domain": _Field(("OS_DOMAIN_NAME", "OS_USER_DOMAIN_NAME")),
        "domain_id": _Field(("OS_USER_DOMAIN_ID",)),
        "project": _Field(("OS_PROJECT_NAME",)),
        "project_domain": _Field(("OS_PROJECT_DOMAIN", "OS_PROJECT_DOMAIN_NAME")),
        "project_domain_id": _Field(("OS_PROJECT_DOMAIN_ID",)),
        "project_id": _Field(("OS_PROJECT_ID",)),
        "token": _Field(("OS_AUTH_TOKEN",)),
        "region": _Field(("OS_REGION_NAME",)),
        "zone": _Field(("OS_ZONE_NAME",)),
        "interface": _Field(("OS_ENDPOINT_TYPE",), _parse_interface, "public"),
        "insecure": _Field(("YUNION_INSECURE",), _parse_insecure, False),
        "ca_bundle": _Field((), _check_ca_bundle),
        "timeout": _Field((), _parse_timeout, _DEFAULT_TIMEOUT),
        "source": _Field((), _text, "cli", profile=False),
    }
)

#: climc's environment variables (also read from rc files) and the field each one fills.
ENV_VARS: Final[Mapping[str, str]] = MappingProxyType(
    {var: name for name, f in _FIELDS.items() for var in f.variables}
)

# Keys a profile section may hold besides ``rc`` and ``<key>_env``.
_PROFILE_FIELDS: Final = tuple(name for name, f in _FIELDS.items() if f.profile)

# Keyword arguments of resolve_settings that are not fields.
_OPTIONS: Final = ("env", "rc_path", "profile", "config_path")


def _unknown_keywords(names: list[str]) -> ConfigError:
    """A did-you-mean error for keyword arguments that name no setting."""
    valid = sorted([*_FIELDS, *_OPTIONS])
    meant = {n: difflib.get_close_matches(n, valid, n=1, cutoff=0.6) for n in names}
    if len(names) == 1 and meant[names[0]]:
        guess = f"did you mean {meant[names[0]][0]!r}? "
    else:
        pairs = [f"{g[0]!r} for {n!r}" for n, g in meant.items() if g]
        guess = f"did you mean {', '.join(pairs)}? " if pairs else ""
    plural = "s" if len(names) > 1 else ""
    return ConfigError(
        f"unknown setting{plural} {', '.join(map(repr, names))}",
        hint=f"{guess}valid: {', '.join(valid)}",
    )


def resolve_settings(
    *,
    env: Mapping[str, str] | None = None,
    rc_path: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    config_path: str | os.PathLike[str] | None = None,
    **kwargs: object,
) -> Settings:
    """Merge keyword arguments > profile > rc file > environment, and validate the result.

    ``kwargs`` are :class:`Settings` fields (an unknown name suggests the closest); ``env``
    defaults to :data:`os.environ`; the profile is ``profile=`` or ``$CPEXPLORE_PROFILE``,
    read from ``config_path``/``$CPEXPLORE_CONFIG``/XDG config. Every problem is a
    :class:`ConfigError` saying what to fix.

    >>> s = resolve_settings(env={"OS_ENDPOINT_TYPE": "internalURL"},
    ...                      auth_url="https://h:30500/v3", username="u", password="p")
    >>> s.auth_method, s.interface
    ('password', 'internal')
    >>> resolve_settings(env={}, auth_url="https://h/v3", token="t")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    cpexplore.errors.ConfigError: auth URL 'https://h/v3' (from auth_url=) has no port (...)
    >>> resolve_settings(env={}, regoin="r")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    cpexplore.errors.ConfigError: unknown setting 'regoin' (did you mean 'region'? valid: ...)
    """
    env = os.environ if env is None else env
    unknown = sorted(set(kwargs) - set(_FIELDS))
    if unknown:
        raise _unknown_keywords(unknown)

    keywords = {k: (v, f"{k}=") for k, v in kwargs.items() if v is not None and v != ""}
    layers: list[tuple[str, _Layer]] = [("keyword arguments", keywords)]
    name = profile or env.get("CPEXPLORE_PROFILE") or None
    missing_env: dict[str, str] = {}
    if name:
        chosen_by = "profile=" if profile else "$CPEXPLORE_PROFILE"
        profile_values, missing_env, exposed = _profile_layer(name, chosen_by, config_path, env)
        if exposed:
            warnings.warn(exposed, UserWarning, stacklevel=2)
        layers.append((f"profile {name!r}", profile_values))
    if rc_path is not None:
        rc_file = Path(rc_path).expanduser()
        rc_layer = _vars_layer(read_rc(rc_file), f" in rc file {rc_file}")
        layers.append((f"rc file {rc_file}", rc_layer))
    layers.append(("the environment", _vars_layer(env)))
    merged, ignored = _merge(layers)
    if ignored:
        warnings.warn(ignored, IgnoredSettingWarning, stacklevel=2)

    for key, var in missing_env.items():
        if key not in keywords:
            raise ConfigError(
                f"profile {name!r} reads {key} from ${var}, which is not set",
                hint=f"export {var}=..., pass {key}=, or change {key}_env in the profile",
            )
    settings = Settings(**_parse_fields(merged), profile=name)  # type: ignore[arg-type]
    settings.auth_method  # noqa: B018 - raises ConfigError when no credentials are usable
    if settings.zone and not settings.region:
        raise ConfigError(
            f"a zone ({settings.zone!r}, from {merged['zone'][1]}) needs a region",
            hint="set OS_REGION_NAME too, or unset OS_ZONE_NAME",
        )
    return settings


def _parse_fields(merged: _Layer) -> dict[str, object]:
    """Each field parsed from its merged value, else its default (see :class:`_Field`)."""
    return {
        k: spec.parse(*merged.get(k, (None, "default")))
        if k in merged or spec.required
        else spec.default
        for k, spec in _FIELDS.items()
    }


def settings_summary(s: Settings) -> dict[str, object]:
    """The fields that are safe to display: never a secret, password or token.

    >>> settings_summary(Settings("https://h:30500/v3", access_key="ak1", secret_key="sk"))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'auth_url': 'https://h:30500/v3', 'method': 'aksk', 'user': 'ak1', 'project': None,
     'region': None, 'interface': 'public', 'profile': None}
    """
    try:
        method: str | None = s.auth_method
    except ConfigError:
        method = None
    user = s.access_key if method == "aksk" else s.username
    return {
        "auth_url": s.auth_url,
        "method": method,
        "user": user,
        "project": s.project or s.project_id,
        "region": s.region,
        "interface": s.interface,
        "profile": s.profile,
    }
