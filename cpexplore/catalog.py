"""The token's service catalog as an immutable value and a pandas DataFrame.

:class:`Catalog` flattens a scoped token's ``token.catalog`` into one row per endpoint (as
``climc endpoint-list`` shows) and answers "which URL serves this service type?" with
mcclient's matching rules made deterministic: where mcclient picks a region by Go map order
and a URL at random, :meth:`Catalog.url_for` always picks the same one.

>>> cat = Catalog.from_token([
...     {"id": "s1", "name": "region2", "type": "compute_v2", "endpoints": [
...         {"id": "e1", "interface": "public", "name": "compute_v2-public",
...          "region": "region0", "region_id": "region0", "url": "https://10.0.0.1:30888"},
...         {"id": "e2", "interface": "internal", "name": "compute_v2-internal",
...          "region": "region0", "region_id": "region0", "url": "https://default-region:30888"},
...     ]},
... ])
>>> cat.url_for("compute")
'https://10.0.0.1:30888'
>>> cat.url_for("compute_v2", interface="internalURL")
'https://default-region:30888'
>>> cat.regions, cat.interfaces, cat.service_types
(['region0'], ['internal', 'public'], ['compute_v2'])
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from .errors import ConfigError, ConnectError, EndpointNotFound, ProtocolError, ServiceNotOffered

__all__ = [
    "CATALOG_COLUMNS",
    "INTERFACES",
    "CHOOSABLE_INTERFACES",
    "Catalog",
    "normalize_interface",
    "filter_endpoints",
    "normalize_service_type",
]

_log = logging.getLogger(__name__)


class _Row(NamedTuple):
    """One endpoint of the catalog."""

    service_name: str
    service_type: str
    service_id: str
    interface: str
    region_id: str
    endpoint_id: str
    endpoint_name: str
    url: str


#: The columns of :attr:`Catalog.frame`, in order.
CATALOG_COLUMNS: tuple[str, ...] = _Row._fields

#: The interface names an endpoint can have. ``apigateway`` is not in catalogs: it is climc's
#: mode of building service URLs from an auth URL ending in ``/api/s/identity/v3``.
INTERFACES: tuple[str, ...] = ("public", "internal", "admin", "console", "slave", "apigateway")
#: The interfaces a user picks for lists (``interface=``, ``--interface``, ``OS_ENDPOINT_TYPE``).
CHOOSABLE_INTERFACES: tuple[str, ...] = ("public", "internal", "admin")

# OS_ENDPOINT_TYPE spellings (keystone v2 / climc) that map to an interface name.
_URL_SUFFIXED = {"publicurl": "public", "internalurl": "internal", "adminurl": "admin"}


def normalize_interface(name: str, *, choosable: bool = False, origin: str | None = None) -> str:
    """The catalog interface of an interface or ``OS_ENDPOINT_TYPE`` name (any case); with
    ``choosable=True`` only :data:`CHOOSABLE_INTERFACES`; ``origin`` says where it came from.

    >>> normalize_interface("publicURL")
    'public'
    >>> normalize_interface("Internal")
    'internal'
    >>> normalize_interface("private")
    Traceback (most recent call last):
    ...
    cpexplore.errors.ConfigError: unknown interface 'private' (use one of public, internal, admin, console, slave, apigateway; publicURL, internalURL, adminURL also work)
    """
    key = name.strip().lower() if isinstance(name, str) else None
    key = _URL_SUFFIXED.get(key, key)
    allowed = CHOOSABLE_INTERFACES if choosable else INTERFACES
    if key in allowed:
        return key
    where = f" (from {origin})" if origin else ""
    extra = (
        "; API gateway mode follows from an auth URL containing /api/s/identity/v3"
        if key == "apigateway" and choosable
        else ""
    )
    raise ConfigError(
        f"unknown interface {name!r}{where}",
        hint=f"use one of {', '.join(allowed)}; publicURL, internalURL, adminURL also work{extra}",
    )


def filter_endpoints(
    frame: pd.DataFrame,
    *,
    region: str | None = None,
    interface: str | None = None,
    service: str | None = None,
) -> pd.DataFrame:
    """The endpoints of ``region`` (a ``region_id``) and ``interface`` whose service type or
    name holds ``service`` (any case); ``None``, ``""`` or ``"all"`` mean no filter.

    >>> cat = pd.DataFrame({"service_type": ["compute_v2", "image"],
    ...                     "service_name": ["region2", "glance"],
    ...                     "interface": ["public", "internal"],
    ...                     "region_id": ["region0", "region0"]})
    >>> filter_endpoints(cat, interface="publicURL")["service_type"].tolist()
    ['compute_v2']
    """
    keep = pd.Series(True, index=frame.index)
    if region and region != "all":
        keep &= frame["region_id"].astype(str) == region
    if interface and interface != "all":
        keep &= frame["interface"].astype(str) == normalize_interface(interface)
    if service:
        needle = service.strip().lower()
        keep &= frame["service_type"].astype(str).str.lower().str.contains(
            needle, regex=False
        ) | frame["service_name"].astype(str).str.lower().str.contains(needle, regex=False)
    return frame[keep].reset_index(drop=True)


def normalize_service_type(name: str) -> str:
    """The catalog service type climc looks up for ``name`` (its only rename: ``compute``).

    >>> normalize_service_type("compute")
    'compute_v2'
    >>> normalize_service_type("image")
    'image'
    """
    return "compute_v2" if name == "compute" else name


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _sort_key(row: _Row) -> tuple[str, ...]:
    """Order rows by service type, region, interface and URL, then every column."""
    return (row.service_type, row.region_id, row.interface, row.url, *row)


def _rows_from_catalog(catalog: Iterable[Any]) -> tuple[_Row, ...]:
    """Sorted endpoint rows; without a ``region_id`` (what mcclient matches), its ``region``.

    >>> _rows_from_catalog([{"id": "s", "name": "n", "type": "t", "endpoints": [
    ...     {"id": "e", "interface": "public", "region": "r", "url": "u"}]}])[0].region_id
    'r'
    """
    rows: list[_Row] = []
    for service in catalog:
        if not isinstance(service, Mapping):
            raise ProtocolError(f"token catalog entry is not a service object: {service!r}")
        endpoints = service.get("endpoints") or []
        if not isinstance(endpoints, list):
            raise ProtocolError(
                f"endpoints of catalog service {service.get('type')!r} is not a list"
            )
        for ep in endpoints:
            if not isinstance(ep, Mapping):
                raise ProtocolError(
                    f"endpoint of catalog service {service.get('type')!r} is not an object: {ep!r}"
                )
            values = [service.get(k) for k in ("name", "type", "id")]  # in _Row's order
            region = ep.get("region_id") or ep.get("region")
            values += [ep.get("interface"), region, ep.get("id"), ep.get("name"), ep.get("url")]
            rows.append(_Row(*map(_text, values)))
    return tuple(sorted(rows, key=_sort_key))


def _is_under(url: str, base: str) -> bool:
    """Whether ``url`` is ``base`` or a path below it.

    >>> _is_under("https://h:30888/servers", "https://h:30888"), _is_under("https://h:308", "https://h:30")
    (True, False)
    """
    base = base.rstrip("/")
    return url == base or url.startswith(base + "/")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quoted_list(values: Iterable[str]) -> str:
    """``'a', 'b' or 'c'`` for a hint."""
    items = [repr(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


@dataclass(frozen=True, repr=False)
class Catalog:
    """The endpoints of a token's service catalog (see :meth:`from_token`); immutable,
    hashable, and falsy when it holds none (an unscoped token, or no endpoints registered).

    >>> bool(Catalog.empty()), len(Catalog.empty())
    (False, 0)
    >>> Catalog.from_token(None) == Catalog.empty()
    True
    """

    rows: tuple[_Row, ...] = field(default=())

    @classmethod
    def from_token(cls, catalog: list[dict[str, Any]] | None) -> Catalog:
        """Build a catalog from ``token.catalog`` (``None`` for an unscoped token).

        >>> Catalog.from_token([{"id": "s", "name": "keystone", "type": "identity",
        ...     "endpoints": [{"id": "e", "interface": "public", "name": "identity-public",
        ...                    "region": "region0", "region_id": "region0",
        ...                    "url": "https://h:30500/v3"}]}])
        Catalog(1 service, 1 endpoint, regions ['region0'])
        """
        if catalog is None:
            return cls.empty()
        if isinstance(catalog, (str, bytes)) or not isinstance(catalog, Iterable):
            raise ProtocolError(
                f"token catalog is not a list of services: {type(catalog).__name__}"
            )
        return cls(rows=_rows_from_catalog(catalog))

    @classmethod
    def empty(cls) -> Catalog:
        """Return the catalog of a token that has none.

        >>> Catalog.empty().frame.empty
        True
        """
        return cls(rows=())

    def __len__(self) -> int:  # also its truth: a catalog is true when it has an endpoint
        return len(self.rows)

    def __repr__(self) -> str:
        services = _count(len({(r.service_id, r.service_type) for r in self.rows}), "service")
        return f"Catalog({services}, {_count(len(self.rows), 'endpoint')}, regions {self.regions})"

    @property
    def frame(self) -> pd.DataFrame:
        """A new DataFrame at each call, one row per endpoint, with :data:`CATALOG_COLUMNS`,
        sorted by service type, region, interface and URL.

        >>> list(Catalog.empty().frame.columns) == list(CATALOG_COLUMNS)
        True
        """
        return pd.DataFrame.from_records([tuple(r) for r in self.rows], columns=CATALOG_COLUMNS)

    @property
    def regions(self) -> list[str]:
        """The distinct ``region_id`` values, sorted (zones appear as ``region-zone``).

        >>> Catalog.empty().regions
        []
        """
        return sorted({r.region_id for r in self.rows})

    @property
    def interfaces(self) -> list[str]:
        """The distinct endpoint interfaces, sorted.

        >>> Catalog.empty().interfaces
        []
        """
        return sorted({r.interface for r in self.rows})

    @property
    def service_types(self) -> list[str]:
        """The distinct service types, sorted.

        >>> Catalog.empty().service_types
        []
        """
        return sorted({r.service_type for r in self.rows})

    def _candidates(
        self, service_type: str, region: str | None, zone: str | None, interface: str
    ) -> list[_Row]:
        """The matching rows, the preferred one first (see :meth:`endpoints_for`)."""
        rows = [r for r in self.rows if r.service_type == service_type and r.interface == interface]
        if region is None:
            # mcclient takes "any one group" (Go map order); we take the first region_id.
            return sorted(rows, key=lambda r: (r.region_id, r.url, r.endpoint_id))
        by_url = sorted(rows, key=lambda r: (r.url, r.endpoint_id))
        zoned = [r for r in by_url if zone is not None and r.region_id == f"{region}-{zone}"]
        plain = [r for r in by_url if r.region_id == region]
        return zoned + plain

    def _query(
        self, service_type: str, region: str | None, zone: str | None, interface: str
    ) -> tuple[str, str | None, str | None, str]:
        """The filters of :meth:`url_for` and :meth:`endpoints_for`, normalised and checked; an
        empty region or zone (``OS_REGION_NAME=``) is not given, as in mcclient."""
        stype = normalize_service_type(service_type)
        iface = normalize_interface(interface)
        region = (region.strip() or None) if region is not None else None
        zone = (zone.strip() or None) if zone is not None else None
        if zone is not None and region is None:
            raise ValueError(
                f"zone={zone!r} needs a region: endpoints of a zone have region_id "
                "'<region>-<zone>', pass region=... as well"
            )
        return stype, region, zone, iface

    def endpoints_for(
        self,
        service_type: str,
        *,
        region: str | None = None,
        zone: str | None = None,
        interface: str = "public",
    ) -> list[dict[str, str]]:
        """Every endpoint :meth:`url_for` could choose, as dicts of :data:`CATALOG_COLUMNS`,
        the chosen one first (a zone's before its region's; then by ``region_id`` and URL).

        >>> Catalog.empty().endpoints_for("compute")
        []
        """
        query = self._query(service_type, region, zone, interface)
        return [r._asdict() for r in self._candidates(*query)]

    def url_for(
        self,
        service_type: str,
        *,
        region: str | None = None,
        zone: str | None = None,
        interface: str = "public",
    ) -> str:
        """Return the URL of ``service_type`` in ``region`` (and ``zone``) for ``interface``.

        ``compute`` means ``compute_v2`` as in climc; ``public`` (the default) is what a client
        outside the cluster can reach. With no region, the first ``region_id`` that has the
        service is used (and logged at INFO); then the first URL, so the answer never varies.
        :class:`~cpexplore.errors.EndpointNotFound` names what was asked and what exists.

        >>> Catalog.empty().url_for("compute")
        Traceback (most recent call last):
        ...
        cpexplore.errors.EndpointNotFound: no public endpoint for compute_v2 (asked as 'compute') in any region: the token has no service catalog (an unscoped token carries none; log in scoped to a project, e.g. project=...)
        """
        stype, region, zone, iface = self._query(service_type, region, zone, interface)
        found = self._candidates(stype, region, zone, iface)
        if not found:
            raise self._not_found(service_type, stype, region, zone, iface)
        chosen = found[0]
        if region is None:
            others = sorted({r.region_id for r in found} - {chosen.region_id})
            if others:
                _log.info(
                    "%s %s endpoint: no region given and %d regions have it; chose %r "
                    "(first region_id), not %s; pass region=... to choose",
                    stype,
                    iface,
                    len(others) + 1,
                    chosen.region_id,
                    ", ".join(repr(o) for o in others),
                )
        return chosen.url

    def unreachable(self, error: ConnectError, url: str, *, interface: str) -> ConnectError:
        """Explain a connection to one of this catalog's endpoints (``url`` or a URL under it,
        chosen for ``interface``) that could not be opened: raise the result ``from error``.

        >>> cat = Catalog.from_token([{"id": "s", "name": "nova", "type": "compute_v2",
        ...     "endpoints": [
        ...         {"id": "a", "interface": "internal", "region_id": "region0",
        ...          "url": "https://default-region:30888"},
        ...         {"id": "b", "interface": "public", "region_id": "region0",
        ...          "url": "https://10.0.0.1:30888"}]}])
        >>> e = ConnectError("the host name 'default-region' does not resolve", hint="DNS?")
        >>> print(cat.unreachable(e, "https://default-region:30888/servers?limit=20",
        ...                       interface="internalURL"))  # doctest: +NORMALIZE_WHITESPACE
        cannot reach the internal endpoint of compute_v2 in region region0
        (https://default-region:30888): the host name 'default-region' does not resolve
        (internal endpoints often resolve only inside the cluster; pass interface='public'
        (CLI: --interface public), whose URL is https://10.0.0.1:30888)
        """
        try:
            iface = normalize_interface(interface)
        except ValueError:
            iface = str(interface)
        bare = url.split("?", 1)[0].split("#", 1)[0]
        under = [r for r in self.rows if r.url and _is_under(bare, r.url)]
        mine = [r for r in under if r.interface == iface] or under
        row = max(mine, key=lambda r: len(r.url), default=None)
        where = f" of {row.service_type} in region {row.region_id}" if row else ""
        message = f"cannot reach the {iface} endpoint{where} ({row.url if row else bare}): "
        message += error.message
        if iface == "public":
            return ConnectError(message, hint=error.hint)
        place = (row.service_type, row.region_id, "public") if row else None
        public = [r.url for r in self.rows if (r.service_type, r.region_id, r.interface) == place]
        also = f", whose URL is {min(public)}" if public else ""
        return ConnectError(
            message,
            hint=f"{iface} endpoints often resolve only inside the cluster; pass "
            f"interface='public' (CLI: --interface public){also}",
        )

    def _not_found(
        self, asked_type: str, stype: str, region: str | None, zone: str | None, iface: str
    ) -> EndpointNotFound:
        """Build the one-line error naming what was asked for and what exists."""
        where = "in any region" if region is None else f"in region {region!r}"
        if zone is not None:
            where += f" zone {zone!r}"
        alias = f" (asked as {asked_type!r})" if asked_type != stype else ""
        wanted = f"no {iface} endpoint for {stype}{alias} {where}"
        gateway = (
            "; apigateway URLs are built from the auth URL, not looked up in the catalog"
            if iface == "apigateway"
            else ""
        )
        if not self.rows:
            return EndpointNotFound(
                f"{wanted}: the token has no service catalog{gateway}",
                hint="an unscoped token carries none; log in scoped to a project, e.g. project=...",
            )
        service = [r for r in self.rows if r.service_type == stype]
        if not service:
            return ServiceNotOffered(
                f"this cloud offers no {stype} service{alias}: its catalog has "
                f"{', '.join(self.service_types)}{gateway}",
                hint=f"what needs {stype} cannot be listed here; ask an admin whether the "
                f"service is installed (climc endpoint-list shows the catalog)",
            )
        message = (
            f"{wanted}; {stype} has regions {', '.join(sorted({r.region_id for r in service}))}"
            f" and interfaces {', '.join(sorted({r.interface for r in service}))}{gateway}"
        )
        return EndpointNotFound(message, hint=self._hint(service, region, zone, iface))

    @staticmethod
    def _hint(service: list[_Row], region: str | None, zone: str | None, iface: str) -> str:
        """Suggest the filter values that would find an endpoint of this service."""
        ids = {region, f"{region}-{zone}"} if zone is not None else {region}
        same_place = sorted({r.interface for r in service if region is None or r.region_id in ids})
        same_iface = sorted({r.region_id for r in service if r.interface == iface})
        tips = [f"interface={_quoted_list(same_place)}"] if same_place else []
        tips += [f"region={_quoted_list(same_iface)}"] if same_iface else []
        if not tips:
            return "choose a region=... and interface=... that the service has"
        return f"choose {' or '.join(tips)}"
