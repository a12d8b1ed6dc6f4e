"""``Session``: log in to Cloudpods once, then get the catalog and every list as DataFrames.

>>> import cpexplore                                     # doctest: +SKIP
>>> s = cpexplore.connect()          # settings from OS_* variables, like climc  # doctest: +SKIP
>>> s.catalog.head()                 # the service catalog  # doctest: +SKIP
>>> servers = s.list("servers", scope="system")             # doctest: +SKIP
>>> s.get("servers", servers.iloc[0]["id"])                 # doctest: +SKIP
"""

from __future__ import annotations

import copy
import html
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd

from ._gc import gc_guard
from .auth import AkskAuth, Token, TokenAuth, auth_error, method_from_settings, parse_token
from .catalog import Catalog, normalize_interface
from .config import Settings, read_rc, resolve_settings, settings_summary
from .errors import AuthError, ConfigError, Forbidden, NotFound, ProtocolError
from .frames import concat_frames, records_to_frame
from .http import Transport, decode_json, error_from, mask_token
from .listing import DEFAULT_WORKERS, PAGE_SIZE, ListCache, fetch_all, now_utc
from .resources import resource_spec, resources_frame
from .signing import join_url

log = logging.getLogger("cpexplore.session")

REFRESH_MARGIN = 120.0  # seconds before expires_at at which the token is renewed
# climc's filter operators; the sandbox keeps its own copy (sandbox/filters.py OPS) because it
# imports nothing of the client but signing.py
FILTER_OPS = (
    "in",
    "notin",
    "between",
    "ge",
    "gt",
    "le",
    "lt",
    "like",
    "contains",
    "startswith",
    "endswith",
    "equals",
    "notequals",
    "isnull",
    "isnotnull",
    "isempty",
    "isnotempty",
    "isnullorempty",
)
_FILTER = re.compile(r"^(\w+)\.(\w+)\((.*)\)$", re.ASCII | re.DOTALL)


def check_filter(expr: str) -> str:
    """Validate one climc filter expression ``field.op(args)``; return it stripped.

    >>> check_filter("name.contains('web')")
    "name.contains('web')"
    """
    text = str(expr).strip()
    m = _FILTER.match(text)
    if not m:
        raise ConfigError(
            f"malformed filter {expr!r}",
            hint="the form is field.op(args), e.g. name.contains('web') or vcpu_count.ge(4)",
        )
    if m.group(2) not in FILTER_OPS:
        raise ConfigError(
            f"unknown filter operator {m.group(2)!r} in {expr!r}",
            hint=f"use one of {', '.join(FILTER_OPS)}",
        )
    if text.count("'") % 2 or text.count('"') % 2:
        raise ConfigError(
            f"unbalanced quotes in filter {expr!r}", hint="quote each argument: name.in('a','b')"
        )
    return text


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set):
        return [_param(v) for v in value]
    return value


class Session:
    """A logged-in connection to one Cloudpods cloud.

    Settings not given as arguments come from a ``profile``, then the ``OS_*``
    environment variables climc reads, then the ``rc`` file. AK/SK is preferred when
    both AK/SK and a password are present.
    """

    def __init__(
        self,
        auth_url: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        domain: str | None = None,
        project: str | None = None,
        project_domain: str | None = None,
        project_id: str | None = None,
        token: str | None = None,
        region: str | None = None,
        interface: str | None = None,
        insecure: bool | None = None,
        ca_bundle: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        source: str = "cli",
        profile: str | None = None,
        rc: str | None = None,
        env: Mapping[str, str] | None = None,
        max_workers: int = DEFAULT_WORKERS,
        page_size: int = PAGE_SIZE,
        cache_ttl: float = 300.0,
        progress: bool | None = None,
        retries: int = 5,
    ) -> None:
        self.settings: Settings = resolve_settings(
            env=env,
            rc_path=rc,
            profile=profile,
            auth_url=auth_url,
            access_key=access_key,
            secret_key=secret_key,
            username=username,
            password=password,
            domain=domain,
            project=project,
            project_domain=project_domain,
            project_id=project_id,
            token=token,
            region=region,
            interface=interface,
            insecure=insecure,
            ca_bundle=ca_bundle,
            timeout=timeout,
            source=source,
        )
        self.max_workers = int(max_workers)
        self.page_size = int(page_size)
        self.progress = progress
        self._method = method_from_settings(self.settings)
        self._transport = Transport(
            verify=self.settings.verify,
            timeout=self.settings.timeout,
            retries=retries,
            pool_size=max(16, 2 * self.max_workers),
        )
        self._cache = ListCache(cache_ttl)
        self._lock = threading.RLock()
        self._token: Token | None = None
        self.logins = 0
        self.reauths = 0
        try:
            self._login()
        except BaseException:
            self._transport.close()  # no pool is left behind by a failed login
            raise

    @classmethod
    def from_rc(cls, path: str | os.PathLike[str], **kwargs: Any) -> Session:
        """Log in with the settings of an rc file such as ``~/.onecloud_rcadmin``.

        The file is parsed, never executed; its variables apply over the environment,
        as ``source``-ing it would, and keyword arguments apply over both.

        >>> s = Session.from_rc("~/.onecloud_rcadmin", region="region0")   # doctest: +SKIP
        """
        env = dict(kwargs.pop("env", None) or os.environ)
        env.update(read_rc(Path(path).expanduser()))
        return cls(env=env, **kwargs)

    # -- authentication -----------------------------------------------------------------
    def _login(self) -> Token:
        s, m = self.settings, self._method
        url = join_url(s.auth_url, "/auth/tokens")
        if isinstance(m, TokenAuth) and not m.rescopes:
            resp = self._transport.request(
                "GET",
                url,
                headers={"X-Subject-Token": m.token, "X-Auth-Token": m.token},
                allow_redirects=False,
            )
        else:
            resp = self._transport.request(
                "POST", url, data=m.body(s.auth_url), log_body=False, allow_redirects=False
            )
        if resp.is_redirect:
            target = urlsplit(resp.headers.get("Location", ""))
            raise ProtocolError(
                f"the auth URL {s.auth_url} redirects to {target.scheme}://{target.netloc}{target.path}; "
                "credentials are not sent on",
                hint="use the address keystone itself answers on, e.g. https://<host>:30500/v3",
            )
        if resp.status_code >= 400:
            raise auth_error(error_from(resp), m, s)
        body = decode_json(resp, what="login answer")
        token = parse_token(body, resp.headers.get("X-Subject-Token"))
        if not token.catalog:
            projects = [
                p.get("name")
                for p in (body.get("token") or {}).get("projects") or []
                if isinstance(p, dict)
            ]
            have = f" (your projects: {', '.join(map(str, projects))})" if projects else ""
            if isinstance(m, AkskAuth):  # keystone scopes AK/SK tokens to the key's project itself
                hint = (
                    "this access key belongs to no project; create one bound to a project "
                    "(climc credential-create-aksk --project-id ...) or log in with a password and project="
                )
            else:
                hint = "set OS_PROJECT_NAME or pass project=..."
            raise AuthError(
                f"logged in as {token.user or m.describe()} without a project, so there is no "
                f"service catalog{have}",
                hint=hint,
            )
        self._token = token
        self.logins += 1
        log.debug(
            "logged in as %s (%s) to project %s, token %s expires %s",
            token.user,
            "+".join(token.methods),
            token.project,
            mask_token(token.id),
            token.expires_at.isoformat(),
        )
        return token

    def _current_token(self) -> Token:
        with self._lock:
            tok = self._token
            assert tok is not None
            lifetime = (
                (tok.expires_at - tok.issued_at).total_seconds() if tok.issued_at else 86400.0
            )
            if tok.expires_in() < min(REFRESH_MARGIN, lifetime / 4):
                if (
                    isinstance(self._method, TokenAuth)
                    and not self._method.rescopes
                    and tok.expires_in() <= 0
                ):
                    raise AuthError(
                        "the given token has expired", hint="log in again, or unset OS_AUTH_TOKEN"
                    )
                log.debug(
                    "token %s expires in %.0fs; renewing", mask_token(tok.id), tok.expires_in()
                )
                self.reauths += 1
                tok = self._login()
            return tok

    def _renew_after_refusal(self, stale: Token) -> None:
        """Log in again after the server refused ``stale`` (once per stale token, not per thread)."""
        with self._lock:
            if self._token is stale:
                log.debug("token %s refused; logging in again", mask_token(stale.id))
                self.reauths += 1
                self._login()

    def get_json(self, url: str, params: Mapping[str, Any] | list | None = None) -> Any:
        """GET a service URL with the session's token; re-authenticate once on a stale token."""
        for attempt in (0, 1):
            tok = self._current_token()
            resp = self._transport.request("GET", url, token=tok.id, params=params)
            if attempt == 0 and _stale_token(resp):
                self._renew_after_refusal(tok)
                continue
            try:
                return decode_json(resp)
            except Forbidden as e:
                e.hint = e.hint or _scope_hint(e.details, self._token)
                raise
        raise AssertionError("unreachable")

    # -- catalog ------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        """The current token (its id never appears in a repr)."""
        return self._current_token()

    @property
    def _catalog(self) -> Catalog:
        return self.token.catalog

    @property
    def catalog(self) -> pd.DataFrame:
        """The service catalog: one row per endpoint."""
        return self._catalog.frame

    @property
    def regions(self) -> list[str]:
        """The catalog regions (region ids, including ``region-zone`` ones)."""
        return self._catalog.regions

    @property
    def interfaces(self) -> list[str]:
        """The interfaces the catalog has (``public``, ``internal``, ``admin``)."""
        return self._catalog.interfaces

    @property
    def region(self) -> str | None:
        """The catalog region lists use unless told otherwise (``None``: the first that has it)."""
        return self.settings.region

    @property
    def interface(self) -> str:
        """The interface lists use unless told otherwise (``public`` by default)."""
        return self.settings.interface

    def url_for(
        self, service_type: str, *, region: str | None = None, interface: str | None = None
    ) -> str:
        """The endpoint URL of a service, chosen as climc does but deterministically.

        >>> s.url_for("compute", interface="publicURL")          # doctest: +SKIP
        'https://10.0.0.1:30888'
        """
        iface = self._interface(interface)
        return self._catalog.url_for(
            service_type,
            region=region or self.settings.region,
            zone=self.settings.zone if not region else None,
            interface=iface,
        )

    def _interface(self, interface: str | None) -> str:
        if not interface:
            return self.settings.interface
        try:
            name = normalize_interface(interface)
        except ValueError:
            name = ""
        if name not in ("public", "internal", "admin"):
            raise ConfigError(
                f"unknown interface {interface!r}",
                hint="use public, internal or admin (publicURL, internalURL, adminURL also work)",
            )
        return name

    def resources(self) -> pd.DataFrame:
        """What can be listed: name, service type, path, paging and whether this cloud has it."""
        df = resources_frame()
        types = set(self._catalog.service_types)
        df["available"] = df["service_type"].isin(types)
        return df

    # -- lists ----------------------------------------------------------------------------
    def list(
        self,
        resource: str,
        *,
        scope: str | None = None,
        details: bool = True,
        filters: str | Iterable[str] | None = None,
        search: str | None = None,
        order_by: str | Iterable[str] | None = None,
        fields: str | Iterable[str] | None = None,
        limit: int | None = None,
        region: str | None = None,
        interface: str | None = None,
        columns: Iterable[str] | None = None,
        max_workers: int | None = None,
        page_size: int | None = None,
        progress: bool | None = None,
        refresh: bool = False,
        on_error: str = "raise",
        **params: Any,
    ) -> pd.DataFrame:
        """Every row of ``resource`` as a typed DataFrame, fetching all pages.

        ``scope`` is the server's (``project`` by default for project resources; ``system``
        or ``max`` to see more); ``filters`` use climc's ``field.op(args)`` grammar;
        ``limit`` caps the rows. Results are cached for ``cache_ttl`` seconds per
        parameters, region and interface; ``refresh=True`` fetches anew.

        >>> s.list("servers", scope="system", filters="status.equals('running')")   # doctest: +SKIP
        """
        spec = resource_spec(resource)
        if limit is not None and limit < 1:
            raise ConfigError(
                f"limit must be a positive number of rows, not {limit!r}",
                hint="leave it out to fetch every row",
            )
        iface = self._interface(interface)
        reg = region or self.settings.region
        wanted = list(columns) if columns is not None else None
        query: dict[str, Any] = {"details": "true" if details else "false"}
        if scope:
            query["scope"] = scope
        flt = [check_filter(f) for f in _as_list(filters)]
        if flt:
            query["filter"] = flt
        if search:
            query["search"] = search
        if order_by:
            query["order_by"] = _as_list(order_by)
        field_list = _as_list(fields)
        if wanted is not None and not field_list:
            field_list = [c.split(".", 1)[0] for c in wanted]
        if field_list:
            query["field"] = sorted(set(field_list) | {"id"})
        for k, v in params.items():
            if v is not None:
                query[k] = _param(v)
        key = ListCache.key(spec.name, {**query, "limit": limit, "columns": wanted}, reg, iface)
        if not refresh:
            hit = self._cache.get(key)
            if hit is not None:
                frame, fetched_at = hit
                frame.attrs.update(from_cache=True, fetched_at=fetched_at)
                return frame
        base = self.url_for(spec.service_type, region=reg, interface=iface)
        url = join_url(base, spec.path)
        with gc_guard.listing():  # decoded pages are hidden from the collector (_gc.py)
            result = fetch_all(
                lambda p: self.get_json(url, _encode(p)),
                spec.list_key,
                query,
                marker_paged=spec.marker_paged,
                limit=limit,
                page_size=page_size or self.page_size,
                max_workers=max_workers or self.max_workers,
                progress=self.progress if progress is None else progress,
                on_error=on_error,
                convert=lambda rows: self._page_frame(rows, wanted),
            )
            fetched_at = now_utc()
            with gc_guard.paused():
                frame = (
                    concat_frames(result.chunks, columns=wanted)
                    if result.chunks
                    else (records_to_frame([], columns=wanted))
                )
        frame.attrs.update(
            resource=spec.name,
            params=copy.deepcopy(query),
            region=reg,
            interface=iface,
            url=url,
            fetched_at=fetched_at,
            total=result.total,
            rows=len(frame),
            pages=result.pages,
            failed_pages=result.failed_pages,
            partial=bool(result.failed_pages),
            drift=result.drift,
            duplicates_dropped=result.duplicates,
            elapsed_s=round(result.elapsed, 3),
            from_cache=False,
        )
        if not result.failed_pages:
            self._cache.put(key, frame, fetched_at)
        return frame

    @staticmethod
    def _page_frame(rows: list[dict], wanted: list[str] | None) -> pd.DataFrame:
        """One page as a frame, built while its records are fresh in the CPU's cache."""
        with gc_guard.paused():
            return records_to_frame(rows, columns=wanted, chunk=True)

    def get(
        self,
        resource: str,
        id_or_name: str,
        *,
        region: str | None = None,
        interface: str | None = None,
        **params: Any,
    ) -> pd.Series:
        """One record by id or name, as a Series.

        >>> s.get("servers", "web-prod-0000001")["status"]      # doctest: +SKIP
        'running'
        """
        spec = resource_spec(resource)
        iface = self._interface(interface)
        base = self.url_for(spec.service_type, region=region, interface=iface)
        url = join_url(base, f"{spec.path}/{quote(str(id_or_name), safe='')}")
        try:
            body = self.get_json(url, {k: _param(v) for k, v in params.items()} or None)
        except NotFound as e:
            raise NotFound(
                e.status,
                e.error_class,
                e.details,
                url=e.url,
                hint=f"list them with session.list({spec.name!r}) to see what exists",
            ) from None
        rec = body.get(spec.keyword) if isinstance(body, dict) else None
        if not isinstance(rec, dict):
            raise ProtocolError(
                f"the answer for {spec.keyword} {id_or_name!r} has no {spec.keyword!r} object",
                hint="check the resource name and the service URL",
            )
        return pd.Series(rec, name=rec.get("id", id_or_name), dtype=object)

    # -- cache -----------------------------------------------------------------------------
    def cache_info(self) -> pd.DataFrame:
        """What the list cache holds: resource, parameters, rows, bytes, fetched_at."""
        return self._cache.info()

    def clear_cache(self) -> None:
        """Forget every cached list; the next ``list()`` of each fetches anew."""
        self._cache.clear()

    # -- display and lifecycle -----------------------------------------------------------------
    def _summary(self) -> dict[str, str]:
        info = settings_summary(self.settings)
        tok = self._token
        who = f"access key {info['user']}" if info["method"] == "aksk" else f"user {info['user']}"
        out = {"auth_url": str(info["auth_url"]), "login": f"{who} ({info['method']})"}
        if tok is not None:
            out["user"] = tok.user
            out["project"] = str(tok.project)
            left = tok.expires_in()
            out["token_expires"] = (
                f"{tok.expires_at.strftime('%Y-%m-%d %H:%M:%S')} UTC "
                f"({'expired' if left <= 0 else _duration(left) + ' left'})"
            )
        out["region"] = str(self.settings.region or "(any)")
        out["interface"] = self.settings.interface
        if self.settings.profile:
            out["profile"] = self.settings.profile
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._summary().items())
        return f"Session({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
            f"{html.escape(v)}</td></tr>"
            for k, v in self._summary().items()
        )
        return f"<table><caption>cpexplore Session</caption>{rows}</table>"

    def close(self) -> None:
        """Close the HTTP connections (a ``with Session(...)`` block does it for you)."""
        self._transport.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(**kwargs: Any) -> Session:
    """The one-line form: ``cpexplore.connect()`` reads OS_* variables like climc.

    >>> s = connect(profile="prod")                             # doctest: +SKIP
    """
    return Session(**kwargs)


def _encode(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in params.items():
        if isinstance(v, list):
            out.extend((k, x) for x in v)
        else:
            out.append((k, v))
    return out


def _stale_token(resp: Any) -> bool:
    """401 InvalidToken, or 403 whose details say ``allow:none`` (spec §8.2 D1)."""
    if resp.status_code == 401:
        return True
    if resp.status_code == 403:
        return "allow:none" in (resp.text or "")
    return False


def _scope_hint(details: str, token: Token | None) -> str:
    m = re.search(r"require:(\w+),allow:(\w+)", details or "")
    proj = token.project if token else "?"
    if not m:
        return "your token is not allowed to do this; ask an admin for a role"
    require, allow = m.groups()
    if allow == "none":
        return "the server refused the token twice; check the clock, or log in again"
    return (
        f"this needs {require} scope but your token (project {proj!r}) allows {allow}; "
        f"use scope='{allow}' or scope='max', or log in with a role that has {require} rights"
    )


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


__all__ = ["Session", "connect", "check_filter"]
