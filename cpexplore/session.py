"""``Session``: log in to Cloudpods once, then get the catalog and every list as DataFrames.

Short on purpose: settings in, delegates out (:mod:`cpexplore.endpoint`, :mod:`cpexplore.lists`).

>>> import cpexplore                                     # doctest: +SKIP
>>> s = cpexplore.connect()          # settings from OS_* variables, like climc  # doctest: +SKIP
>>> s.catalog.head()                 # the service catalog  # doctest: +SKIP
>>> servers = s.list("servers", scope="system")             # doctest: +SKIP
>>> s.get("servers", servers.iloc[0]["id"])                 # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .auth import Token, TokenManager, method_from_settings
from .catalog import Catalog, normalize_interface
from .config import Settings, resolve_settings
from .endpoint import Endpoint, TokenClient
from .errors import EndpointNotFound
from .http import Transport, decode_json
from .lists.cache import ListCache
from .lists.pages import DEFAULT_WORKERS, PAGE_SIZE
from .lists.record import get_record
from .lists.request import check_scope, list_request
from .lists.run import mark_cached, run_list
from .resources import resource_spec, resources_frame


class Session:
    """A logged-in connection to one Cloudpods cloud. Settings not given as arguments come
    from a ``profile``, then an ``rc`` file, then climc's ``OS_*`` variables; AK/SK is
    preferred when both AK/SK and a password are present."""

    def __init__(
        self,
        auth_url: str | None = None,
        *,
        profile: str | None = None,
        rc: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        max_workers: int = DEFAULT_WORKERS,
        page_size: int = PAGE_SIZE,
        cache_ttl: float = 300.0,
        progress: bool | None = None,
        retries: int = 5,
        **settings: Any,
    ) -> None:
        """Resolve the settings and log in (the one network step of construction). Every
        field of :class:`~cpexplore.config.Settings` (``access_key``, ``password``,
        ``region``, ``interface``, ``timeout``…) is a keyword applied over the other sources."""
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
        self._client = TokenClient(self._transport, self._auth)
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

        The file is parsed, never executed; it applies over the environment and keywords
        over both. Who logs in comes from the file alone (an ``IgnoredSettingWarning`` names
        the environment's credentials left out).

        >>> s = Session.from_rc("~/.onecloud_rcadmin", region="region0")   # doctest: +SKIP
        """
        return cls(rc=path, **kwargs)

    # -- authentication and the catalog ---------------------------------------------------
    @property
    def logins(self) -> int:
        """How many times this session logged in (the first login included)."""
        return self._auth.logins

    @property
    def reauths(self) -> int:
        """How many times the token was renewed (before expiry, or after a refusal)."""
        return self._auth.reauths

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

    def endpoint(
        self, service_type: str, *, region: str | None = None, interface: str | None = None
    ) -> Endpoint:
        """One service bound to a catalog region and interface, chosen as climc chooses but
        deterministically; ``get(path)`` sends with a valid token (renewed once if refused).

        >>> s.endpoint("compute", interface="publicURL").url     # doctest: +SKIP
        'https://10.0.0.1:30888'
        """
        iface = normalize_interface(interface, choosable=True) if interface else self.interface
        reg = region or self.settings.region
        url = self._catalog.url_for(
            service_type,
            region=reg,
            zone=self.settings.zone if not region else None,
            interface=iface,
        )
        return Endpoint(service_type, reg, iface, url, self._client, self._catalog)

    def url_for(
        self, service_type: str, *, region: str | None = None, interface: str | None = None
    ) -> str:
        """The endpoint URL of a service (see :meth:`endpoint`)."""
        return self.endpoint(service_type, region=region, interface=interface).url

    def get_json(self, url: str, params: Mapping[str, Any] | list | None = None) -> Any:
        """GET any URL with the session's token; the decoded JSON answer."""
        return decode_json(self._client.get(url, params))

    def resources(self) -> pd.DataFrame:
        """What can be listed: name, service type, path, paging and whether this cloud has it."""
        df = resources_frame()
        df["available"] = df["service_type"].isin(set(self._catalog.service_types))
        return df

    # -- lists ----------------------------------------------------------------------------
    def list(
        self,
        resource: str,
        *,
        region: str | None = None,
        interface: str | None = None,
        refresh: bool = False,
        warn_cached: bool = True,
        max_workers: int | None = None,
        page_size: int | None = None,
        progress: bool | None = None,
        params: Mapping[str, Any] | None = None,
        scope: str | None = None,
        details: bool | str = True,
        filters: str | Iterable[str] | None = None,
        filter_any: bool = False,
        search: str | None = None,
        order_by: str | Iterable[str] | None = None,
        order: str | None = None,
        fields: str | Iterable[str] | None = None,
        limit: int | None = None,
        columns: Iterable[str] | None = None,
        on_error: str = "raise",
        **query: Any,
    ) -> pd.DataFrame:
        """Every row of ``resource`` as a typed DataFrame, fetching all pages.

        ``scope`` is the server's (``system`` or ``max`` to see more); ``filters`` use climc's
        ``field.op(args)`` grammar; what the server would ignore, cpexplore applies, so the
        rows always match. The resource's query parameters (``zone=``, ``host=``…) are
        keywords; ``params={...}`` is sent unchecked. All is checked before the first request.
        ``details="lean"`` (servers) fetches bare rows, much faster on a real region, and
        rebuilds host, zone, region and project names. Results are cached for ``cache_ttl``
        seconds (a ``CachedResultWarning`` unless ``warn_cached=False``); ``refresh=True``
        fetches anew.

        >>> s.list("servers", scope="system", filters="status.equals('running')")   # doctest: +SKIP
        """
        spec = resource_spec(resource)
        reg = region or self.settings.region
        iface = normalize_interface(interface, choosable=True) if interface else self.interface
        request = list_request(  # every argument checked before anything is asked
            spec,
            region=reg,
            interface=iface,
            scope=scope,
            details=details,
            filters=filters,
            filter_any=filter_any,
            search=search,
            order_by=order_by,
            order=order,
            fields=fields,
            limit=limit,
            columns=columns,
            params=params,
            query=query,
            page_size=page_size or self.page_size,
            max_workers=max_workers or self.max_workers,
            progress=self.progress if progress is None else progress,
            on_error=on_error,
        )
        endpoint = self.endpoint(spec.service_type, region=reg, interface=iface)
        frame, cached = run_list(
            request,
            endpoint,
            cache=self._cache,
            source=lambda service: self._near(service, endpoint),
            refresh=refresh,
            origin=self.settings.profile or self.settings.auth_url,
        )
        return mark_cached(frame, warn=warn_cached) if cached else frame

    def _near(self, service_type: str, near: Endpoint) -> Endpoint:
        """A service's endpoint next to ``near`` (else any region: identity lives in one)."""
        try:
            return self.endpoint(service_type, region=near.region, interface=near.interface)
        except EndpointNotFound:
            return self.endpoint(service_type, interface=near.interface)

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
        endpoint = self.endpoint(spec.service_type, region=region, interface=interface)
        return get_record(spec, endpoint, id_or_name, scope=scope, params=params, query=query)

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

        Each resource the query names is listed on first use (cached; ``scope`` defaults to
        the widest), as are the views ``server_inventory`` and ``host_capacity``;
        ``history="store"`` adds ``history.<resource>`` over a snapshot store.
        ``df.attrs["cpexplore"]`` says which tables were read, how fresh, in which scope.

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
        tables = session_tables(self, scope=sc, refresh=refresh)
        return run_sql(query, tables, history=history, scope=sc, database=database)

    def inventory(self, *, scope: str | None = "max", refresh: bool = False) -> pd.DataFrame:
        """Each server with its host, zone, cloud region, project and domain names and its
        vCPUs, memory (MB) and disk (MB): the ``server_inventory`` view of :meth:`sql`.

        >>> s.inventory().groupby("zone").vcpu_count.sum()        # doctest: +SKIP
        """
        from .sql import server_inventory

        return server_inventory(self.list("servers", scope=check_scope(scope), refresh=refresh))

    def host_capacity(self, *, scope: str | None = "max", refresh: bool = False) -> pd.DataFrame:
        """Each host's CPU and memory commit as the region computes it, with its bounds and
        whether it is over them: the ``host_capacity`` view of :meth:`sql`."""
        from .sql import host_capacity

        return host_capacity(self.list("hosts", scope=check_scope(scope), refresh=refresh))

    # -- cache, display and lifecycle -------------------------------------------------------
    def cache_info(self) -> pd.DataFrame:
        """What the list cache holds: resource, parameters, rows, bytes, fetched_at."""
        return self._cache.info()

    def clear_cache(self) -> None:
        """Forget every cached list; the next ``list()`` of each fetches anew."""
        self._cache.clear()

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._auth.summary().items())
        return f"Session({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
            f"{html.escape(v)}</td></tr>"
            for k, v in self._auth.summary().items()
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


__all__ = ["Session", "connect"]
