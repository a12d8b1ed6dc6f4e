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
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pandas as pd
import pyarrow as pa

from .auth import Token, TokenManager, method_from_settings
from .catalog import Catalog, normalize_interface
from .columnar import ArrowPage, arrow_page, page_table, table_records, tables_to_frame
from .config import Settings, resolve_settings, settings_summary
from .errors import (
    AmbiguousName,
    ApiError,
    ConfigError,
    ConnectError,
    CpExploreError,
    EndpointNotFound,
    Forbidden,
    NotFound,
    ProtocolError,
)
from .frames import records_to_frame, with_schema
from .http import Transport, decode_json, error_from
from .lean import LEAN_JOINS, join_lean, lean_columns, lean_keys, lean_sources
from .listing import (
    DEFAULT_WORKERS,
    PAGE_SIZE,
    ListCache,
    ListInfo,
    Page,
    fetch_all,
    list_info,
    now_utc,
    page_from_body,
    with_info,
)
from .query import (
    ListPlan,
    apply_filters,
    as_list,
    build_list_query,
    check_fields,
    check_filter,
    check_scope,
    encode_param,
    parse_filter,
    sort_frame,
)
from .resources import ResourceSpec, resource_spec, resources_frame
from .signing import join_url

log = logging.getLogger("cpexplore.session")


class CachedResultWarning(UserWarning):
    """A list was served from the session's cache, not fetched now."""


class PartialResultWarning(UserWarning):
    """Some pages of a list failed (``on_error="partial"``): the frame is incomplete."""


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
        profile: str | None = None,
        rc: str | None = None,
        env: Mapping[str, str] | None = None,
        max_workers: int = DEFAULT_WORKERS,
        page_size: int = PAGE_SIZE,
        cache_ttl: float = 300.0,
        progress: bool | None = None,
        retries: int = 5,
        **settings: Any,
    ) -> None:
        """Resolve the settings and log in (the one network step of construction).

        Every field of :class:`~cpexplore.config.Settings` is a keyword (``access_key``,
        ``password``, ``project``, ``region``, ``zone``, ``interface``, ``insecure``,
        ``timeout``…) that applies over the profile, ``OS_*`` variables and rc file; the
        others tune the session.
        """
        self.settings: Settings = resolve_settings(
            env=env, rc_path=rc, profile=profile, auth_url=auth_url, **settings
        )
        self.max_workers = int(max_workers)
        self.page_size = int(page_size)
        self.progress = progress
        self._transport = Transport(
            verify=self.settings.verify,
            timeout=self.settings.timeout,
            retries=retries,
            pool_size=max(16, 2 * self.max_workers),
        )
        self._auth = TokenManager(
            method_from_settings(self.settings), self._transport, self.settings
        )
        self._cache = ListCache(cache_ttl)
        self._duck: Any = None  # the in-memory DuckDB database of sql(), opened on first use
        self._duck_lock = threading.Lock()
        try:
            self._auth.login()
        except BaseException:
            self._transport.close()  # no pool is left behind by a failed login
            raise

    @classmethod
    def from_rc(cls, path: str | os.PathLike[str], **kwargs: Any) -> Session:
        """Log in with the settings of an rc file such as ``~/.onecloud_rcadmin``.

        The file is parsed, never executed; its variables apply over the environment,
        as ``source``-ing it would, and keyword arguments apply over both. Who logs in comes
        from the file alone: the environment's credentials never complete or replace its
        (an ``IgnoredSettingWarning`` says which were left out).

        >>> s = Session.from_rc("~/.onecloud_rcadmin", region="region0")   # doctest: +SKIP
        """
        return cls(rc=path, **kwargs)

    # -- authentication -----------------------------------------------------------------
    @property
    def logins(self) -> int:
        """How many times this session logged in (the first login included)."""
        return self._auth.logins

    @property
    def reauths(self) -> int:
        """How many times the token was renewed (before expiry, or after a refusal)."""
        return self._auth.reauths

    def _get(self, url: str, params: Mapping[str, Any] | list | None = None) -> Any:
        """GET a service URL with the session's token, logging in again once if the server
        refuses a stale one; the answer (status < 400) or the error it stands for."""
        for attempt in (0, 1):
            tok = self._auth.current()
            resp = self._transport.request("GET", url, token=tok.id, params=params)
            if attempt == 0 and _stale_token(resp) and self._auth.renew_after_refusal(tok):
                continue
            if resp.status_code >= 400:
                error = error_from(resp)
                if isinstance(error, Forbidden):
                    error.hint = error.hint or _scope_hint(error.details, self._auth.token)
                raise error
            return resp
        raise AssertionError("unreachable")

    def get_json(self, url: str, params: Mapping[str, Any] | list | None = None) -> Any:
        """GET a service URL with the session's token; the decoded JSON answer."""
        return decode_json(self._get(url, params))

    def _page(
        self,
        url: str,
        params: Mapping[str, Any],
        key: str,
        columns: list[str] | None,
        seen: _Keys,
    ) -> Page:
        """One list page, decoded straight into Arrow columns (or as dicts where Arrow
        cannot hold it exactly); ``seen`` collects the fields its records have."""
        resp = self._get(url, _encode(params))
        parsed = page_table(resp.content, key)
        if parsed is None:
            page = page_from_body(decode_json(resp, what="list answer"), key)
            seen.add(set().union(*page.rows) if page.rows else ())
            return page
        table, envelope = parsed
        seen.add(table.column_names)
        ids = table.column("id").to_pylist() if "id" in table.column_names else []
        if len(ids) != table.num_rows:
            ids = [None] * table.num_rows
        if columns is not None:
            bases = {c.split(".", 1)[0] for c in columns}
            table = table.select([c for c in table.column_names if c in bases])
        return Page(envelope, ids, arrow_page(table))

    # -- catalog ------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        """The current token (its id never appears in a repr); renewed first if it is about
        to expire, which is the only network I/O a property of a session may do."""
        return self._auth.current()

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
        return normalize_interface(interface, choosable=True)

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
        details: bool | str = True,
        filters: str | Iterable[str] | None = None,
        filter_any: bool = False,
        search: str | None = None,
        order_by: str | Iterable[str] | None = None,
        order: str | None = None,
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
        params: Mapping[str, Any] | None = None,
        warn_cached: bool = True,
        **query: Any,
    ) -> pd.DataFrame:
        """Every row of ``resource`` as a typed DataFrame, fetching all pages.

        ``scope`` is the server's (``project`` by default for project resources; ``system``
        or ``max`` to see more); ``filters`` use climc's ``field.op(args)`` grammar and
        ``order_by`` names fields: the server applies those on its table's columns, and
        cpexplore the rest (joined fields like ``zone`` or ``host``, which a real region
        ignores), so the rows always match. ``limit`` caps the rows. Query parameters the
        resource takes (``zone=``, ``host=``, ``hypervisor=``…) are keywords; ``params={...}``
        sends anything else unchecked.

        ``details="lean"`` (servers) asks for bare table rows, which a real region serves
        about five times faster, and rebuilds the joined columns people use most (host,
        zone, cloud region, project, domain) from small cached lists; with ``columns=``
        naming table columns only, details are left out by themselves.

        Results are cached for ``cache_ttl`` seconds per request; a cached frame says so
        (a ``CachedResultWarning`` unless ``warn_cached=False``, and
        ``list_info(df).from_cache`` and ``.fetched_at``), and ``refresh=True`` fetches anew.

        >>> s.list("servers", scope="system", filters="status.equals('running')")   # doctest: +SKIP
        """
        spec = resource_spec(resource)
        wanted = list(columns) if columns is not None else None
        details = _check_details(spec, details, wanted, filters, order_by, fields)
        plan = build_list_query(
            spec,
            scope=scope,
            details=details,
            filters=filters,
            filter_any=filter_any,
            search=search,
            order_by=order_by,
            order=order,
            fields=fields,
            limit=limit,
            columns=wanted,
            params=query,
            raw_params=params,
        )
        frame, cached = self._list(
            spec,
            plan,
            details=details,
            wanted=wanted,
            fields=bool(fields),
            region=region,
            interface=interface,
            max_workers=max_workers,
            page_size=page_size,
            progress=progress,
            refresh=refresh,
            on_error=on_error,
        )
        return _mark_cached(frame, warn=warn_cached) if cached else frame

    def _list(
        self,
        spec: ResourceSpec,
        plan: ListPlan,
        *,
        details: bool | str,
        wanted: list[str] | None,
        fields: bool,
        region: str | None,
        interface: str | None,
        max_workers: int | None = None,
        page_size: int | None = None,
        progress: bool | None = None,
        refresh: bool = False,
        on_error: str = "raise",
    ) -> tuple[pd.DataFrame, bool]:
        """Carry out a list plan: the cache, every page, the lean joins, the local work."""
        iface = self._interface(interface)
        reg = region or self.settings.region
        local = {
            "local_filters": [f.text for f in plan.local_filters],
            "local_order": list(plan.local_order),
            "descending": plan.descending,
            "limit": plan.local_limit if plan.is_local else plan.server_limit,
            "columns": wanted,
            "lean": details == "lean",
            "filter_any": plan.filter_any,
        }
        # the service and path, not the name alone: a custom resource may share a name
        key = ListCache.key(f"{spec.service_type}:{spec.path}", {**plan.query, **local}, reg, iface)
        if not refresh:
            hit = self._cache.get(key)
            if hit is not None:
                return hit[0], True
        base = self.url_for(spec.service_type, region=reg, interface=iface)
        url = join_url(base, spec.path)
        needed = [f.field for f in plan.local_filters] + list(plan.local_order)
        if details == "lean":  # the keys of the joins, and what the joins make, as needed
            needed += list(lean_keys(spec.name))
        page_columns = None if wanted is None else list(dict.fromkeys(wanted + needed))
        seen = _Keys()

        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="cpexplore-lean") as pool:
            sources = {
                name: pool.submit(self._lean_source, name, reg, iface, refresh)
                for name in (lean_sources(spec.name) if details == "lean" else ())
            }
            try:
                result = fetch_all(
                    lambda p: self._page(url, p, spec.list_key, page_columns, seen),
                    spec.list_key,
                    plan.query,
                    marker_paged=spec.marker_paged,
                    limit=plan.server_limit,
                    page_size=page_size or self.page_size,
                    max_workers=max_workers or self.max_workers,
                    progress=self.progress if progress is None else progress,
                    on_error=on_error,
                )
            except ConnectError as e:  # e.g. an internal URL that resolves only in-cluster
                raise self._catalog.unreachable(e, base, interface=iface) from e
            small = {name: future.result() for name, future in sources.items()}
        fetched_at = now_utc()
        frame = pages_to_frame(result.chunks, columns=page_columns)
        if details == "lean":
            frame = join_lean(spec.name, frame, small)
            seen.add(lean_columns(spec.name))
        check_fields(spec, plan, seen.names)
        if plan.local_filters:
            frame = apply_filters(frame, plan.local_filters, any_=plan.filter_any)
        if plan.local_order:
            frame = sort_frame(frame, plan.local_order, descending=plan.descending)
        if plan.local_limit is not None:
            frame = frame.head(plan.local_limit).reset_index(drop=True)
        if wanted is not None:
            frame = frame[wanted]
        elif not fields:
            names = spec.schema_fields(details is True)
            frame = with_schema(
                frame, names + (lean_columns(spec.name) if details == "lean" else ())
            )
            first = [c for c in spec.key_columns if c in frame.columns]
            frame = frame[first + [c for c in frame.columns if c not in set(first)]]
        info = ListInfo(
            resource=spec.name,
            region=reg,
            interface=iface,
            url=url,
            fetched_at=fetched_at,
            params=copy.deepcopy(plan.query),
            scope=plan.query.get("scope"),
            details=details,
            source=self.settings.profile or self.settings.auth_url,
            total=result.total,
            rows=len(frame),
            pages=result.pages,
            failed_pages=tuple(result.failed_pages),
            drift=result.drift,
            duplicates_dropped=result.duplicates,
            elapsed_s=round(result.elapsed, 3),
            filtered_here=tuple(f.text for f in plan.local_filters),
            sorted_here=tuple(plan.local_order),
        )
        with_info(frame, info)
        if result.failed_pages:
            warnings.warn(
                f"{spec.name}: {len(result.failed_pages)} page(s) failed, so the frame is "
                f"incomplete ({len(frame)} rows); list_info(df).failed_pages says which",
                PartialResultWarning,
                stacklevel=3,
            )
        if not result.failed_pages:
            self._cache.put(key, frame, fetched_at)
        return frame, False

    def _lean_source(
        self, name: str, region: str | None, interface: str, refresh: bool
    ) -> pd.DataFrame:
        """A small list a lean list joins (hosts, projects, domains), through the cache."""
        spec = resource_spec(name)
        plan = build_list_query(spec, scope="max")
        try:
            self.url_for(spec.service_type, region=region, interface=interface)
        except EndpointNotFound:
            region = None  # identity lives in one catalog region; any will do
        try:
            frame, _ = self._list(
                spec,
                plan,
                details=True,
                wanted=None,
                fields=False,
                region=region,
                interface=interface,
                progress=False,
                refresh=refresh,
            )
        except CpExploreError as e:
            raise ConfigError(
                f"details='lean' needs to list {name}, and that failed: {e.message}",
                hint="use details=True, which has the server join them",
            ) from e
        return frame

    def get(
        self,
        resource: str,
        id_or_name: str,
        *,
        scope: str | None = None,
        region: str | None = None,
        interface: str | None = None,
        params: Mapping[str, Any] | None = None,
        **query: Any,
    ) -> pd.Series:
        """One record by id or name, as a Series typed like a row of ``list``.

        A name that several records share is an ``AmbiguousName`` error, even when you may
        see only one of them or none, as the region answers (use the id).

        >>> s.get("servers", "web-prod-0000001")["status"]      # doctest: +SKIP
        'running'
        """
        spec = resource_spec(resource)
        sent: dict[str, Any] = {}
        sc = check_scope(scope)
        if sc:
            sent["scope"] = sc
        for name, value in query.items():
            if value is not None:
                spec.check_param(name)
                sent[name] = encode_param(value)
        sent.update({str(k): encode_param(v) for k, v in (params or {}).items() if v is not None})
        iface = self._interface(interface)
        base = self.url_for(spec.service_type, region=region, interface=iface)
        url = join_url(base, f"{spec.path}/{quote(str(id_or_name), safe='')}")
        try:
            body = self.get_json(url, sent or None)
        except ConnectError as e:
            raise self._catalog.unreachable(e, base, interface=iface) from e
        except NotFound as e:
            raise NotFound(
                e.status,
                e.error_class,
                e.details,
                url=e.url,
                hint=f"list them with session.list({spec.name!r}) to see what exists",
            ) from e
        except Forbidden as e:
            raise Forbidden(
                e.status,
                e.error_class,
                e.details,
                url=e.url,
                hint=_get_scope_hint(spec.keyword, e.details),
            ) from e
        except ApiError as e:
            if e.error_class.lower() != "duplicate entry":
                raise
            raise AmbiguousName(
                e.status,
                e.error_class,
                f"several {spec.name} are named {id_or_name!r}",
                url=e.url,
                hint=f"use the id: session.list({spec.name!r}, scope='max', "
                f"filters=\"name.equals('{id_or_name}')\") lists the ones you may see",
            ) from e
        rec = body.get(spec.keyword) if isinstance(body, dict) else None
        if not isinstance(rec, dict):
            raise ProtocolError(
                f"the answer for {spec.keyword} {id_or_name!r} has no {spec.keyword!r} object",
                hint="check the resource name and the service URL",
            )
        row = with_schema(records_to_frame([rec]), spec.schema_fields(True)).iloc[0]
        return row.astype(object).rename(rec.get("id", id_or_name))

    # -- SQL and the joined inventory -------------------------------------------------------
    def sql(
        self,
        query: str,
        *,
        scope: str | None = "max",
        refresh: bool = False,
        history: str | os.PathLike[str] | None = None,
    ) -> pd.DataFrame:
        """Answer a SQL query (DuckDB) over the cloud's resources as a DataFrame.

        Each table the query names that is a resource is listed on first use (through the
        cache; ``scope`` defaults to the widest you may see), as are the views
        ``server_inventory`` and ``host_capacity``; ``history="store"`` adds
        ``history.<resource>`` over every snapshot of a store. ``df.attrs["cpexplore"]``
        says which tables were read, how fresh, in which scope.

        >>> s.sql("SELECT status, count(*) AS n FROM servers GROUP BY status")  # doctest: +SKIP
        """
        import duckdb

        from .sql import run_sql, session_tables

        sc = check_scope(scope)
        database = None  # a query over history gets a database of its own (its views)
        if history is None:
            with self._duck_lock:
                if self._duck is None:  # opened once: a DuckDB database costs ~20 ms to open
                    self._duck = duckdb.connect()
            database = self._duck
        return run_sql(
            query,
            session_tables(self, scope=sc, refresh=refresh),
            history=history,
            scope=sc,
            database=database,
        )

    def inventory(self, *, scope: str | None = "max", refresh: bool = False) -> pd.DataFrame:
        """Each server with its host, zone, cloud region, project and domain names and its
        vCPUs, memory (MB) and disk (MB): the ``server_inventory`` view of :meth:`sql`.

        >>> s.inventory().groupby("zone").vcpu_count.sum()        # doctest: +SKIP
        """
        from .sql import server_inventory

        servers = self.list("servers", scope=check_scope(scope), refresh=refresh)
        return server_inventory(servers)

    def host_capacity(self, *, scope: str | None = "max", refresh: bool = False) -> pd.DataFrame:
        """Each host's CPU and memory commit as the region computes it (running guests),
        with its bounds and whether it is over them: the ``host_capacity`` view of :meth:`sql`.
        """
        from .sql import host_capacity

        return host_capacity(self.list("hosts", scope=check_scope(scope), refresh=refresh))

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
        tok = self._auth.token
        who = {"aksk": f"access key {info['user']}", "password": f"user {info['user']}"}.get(
            str(info["method"]), "a given token"
        )
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
        """Close the HTTP connections and the SQL database (``with Session(...)`` does it)."""
        self._transport.close()
        with self._duck_lock:
            if self._duck is not None:
                self._duck.close()
                self._duck = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(**kwargs: Any) -> Session:
    """The one-line form: ``cpexplore.connect()`` reads OS_* variables like climc.

    >>> s = connect(profile="prod")                             # doctest: +SKIP
    """
    return Session(**kwargs)


class _Keys:
    """The fields the records of a list had, collected by the threads that fetch its pages."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._lock = threading.Lock()

    def add(self, names: Iterable[str]) -> None:
        with self._lock:
            self.names.update(names)


def pages_to_frame(chunks: list[Any], *, columns: list[str] | None = None) -> pd.DataFrame:
    """The pages of one list as one typed DataFrame: Arrow pages joined as columns; pages
    that came as dicts (or Arrow pages that cannot be joined exactly) through the dicts."""
    if chunks and all(isinstance(c, ArrowPage | pa.Table) for c in chunks):
        frame = tables_to_frame(chunks, columns=columns)
        if frame is not None:
            return frame
    records: list[dict] = []
    for chunk in chunks:
        if isinstance(chunk, ArrowPage):
            chunk = chunk.table
        records.extend(table_records(chunk) if isinstance(chunk, pa.Table) else chunk)
    return records_to_frame(records, columns=columns)


def _check_details(
    spec: ResourceSpec,
    details: bool | str,
    columns: list[str] | None,
    filters: Any,
    order_by: Any,
    fields: Any,
) -> bool | str:
    """``details`` checked; ``False`` by itself when every column asked for is a table column
    (the server then skips its joins, which cost it most of a page's time)."""
    if details not in (True, False, "lean"):
        raise ConfigError(
            f"details must be True, False or 'lean', not {details!r}",
            hint="'lean' fetches bare rows and rebuilds host, zone, region and project names",
        )
    if details == "lean" and not lean_sources(spec.name):
        offered = ", ".join(sorted(LEAN_JOINS))
        raise ConfigError(
            f"details='lean' is not offered for {spec.name}", hint=f"it is for {offered}"
        )
    if details is True and columns and not fields:
        named = [c.split(".", 1)[0] for c in columns]
        named += [parse_filter(f).field for f in as_list(filters)] + as_list(order_by)
        if all(spec.is_table_column(c) for c in named):
            return False
    return details


def _mark_cached(frame: pd.DataFrame, *, warn: bool = True) -> pd.DataFrame:
    """Say, where the user looks, that ``frame`` comes from the cache and how old it is."""
    info = list_info(frame)
    fetched_at = info.fetched_at
    age = (now_utc() - fetched_at).total_seconds()
    resource = info.resource
    note = (
        f"{resource}: from the cache, fetched {_duration(age)} ago "
        f"({fetched_at.strftime('%H:%M:%S')} UTC); refresh=True fetches anew"
    )
    log.info(note)
    if warn:
        warnings.warn(note, CachedResultWarning, stacklevel=3)
    return with_info(frame, replace(info, from_cache=True))


def _encode(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in params.items():
        if isinstance(v, list):
            out.extend((k, x) for x in v)
        else:
            out.append((k, v))
    return out


def _stale_token(resp: Any) -> bool:
    """401 InvalidToken, or 403 whose details say ``allow:none`` (cloudpods-api.md §8.2 D1)."""
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


def _get_scope_hint(keyword: str, details: str) -> str:
    """A hint for a get refused across projects (``require:domain,allow:project…``)."""
    m = re.search(r"require:(\w+),allow:(\w+)", details or "")
    if not m or m.group(2) == "none":
        return "your token is not allowed to read it; log in again or ask an admin for a role"
    require, allow = m.groups()
    return (
        f"the {keyword} belongs to a project your token cannot read ({allow} rights, "
        f"{require} needed); log in to its project, or as a user with {require} rights"
    )


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


__all__ = ["Session", "connect", "check_filter", "CachedResultWarning", "PartialResultWarning"]
