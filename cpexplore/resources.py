"""What can be listed: resource name → service type, path, envelope keys, paging and fields.

Each resource also knows its fields (``schema.py``, from Cloudpods' models, checked against
real answers): its **table columns**, the **detail fields** ``details=true`` joins in, and
the query **parameters** that filter by a related object (``zone=``, ``host=``…).

>>> spec = resource_spec("servers")
>>> spec.service_type, spec.path, spec.keyword
('compute_v2', '/servers', 'server')
>>> resource_spec("server").name      # singular names and climc's spellings work too
'servers'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from . import schema
from .errors import ConfigError, UnknownResource, did_you_mean

# Query parameters every Cloudpods list accepts besides those cpexplore spells as arguments
# (ownership, visibility and extras of the list handlers).
GENERIC_PARAMS = frozenset(
    {
        "project",
        "tenant",
        "project_id",
        "tenant_id",
        "project_domain",
        "project_domain_id",
        "domain",
        "domain_id",
        "user",
        "user_id",
        "pending_delete",
        "pending_delete_all",
        "system",
        "show_emulated",
        "admin",
        "with_meta",
        "summary_stats",
        "show_fail_reason",
        "tags",
        "id",
        "name",
        "status",
    }
)


@dataclass(frozen=True)
class ResourceSpec:
    """How to list one resource: service type, path, list and record keys, paging."""

    name: str
    service_type: str
    path: str
    keyword: str
    marker_paged: bool = False
    description: str = ""
    table_columns: frozenset[str] | None = None  # None: not known, the server decides
    detail_fields: frozenset[str] = frozenset()
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    list_columns: tuple[str, ...] = ()
    field_kinds: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, repr=False
    )

    @property
    def list_key(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The few columns a person reads first (frames put them first; CLI tables show
        them): chosen for the resources people list most, else climc's first list columns.

        >>> resource_spec("servers").key_columns[:4]
        ('name', 'status', 'vcpu_count', 'vmem_size')
        """
        chosen = _KEY_COLUMNS.get(self.name)
        if chosen:
            return chosen
        first = [c for c in self.list_columns if c not in ("id", "name", "status")][:5]
        return ("name", "status", *first, "id")

    @property
    def known_fields(self) -> frozenset[str]:
        """Every field the resource is known to have (table columns and detail fields)."""
        return (self.table_columns or frozenset()) | self.detail_fields

    def schema_fields(self, details: bool = True) -> tuple[str, ...]:
        """The fields a frame of this resource always has (sorted), so code written against
        one cloud runs on another: table columns, plus detail fields with ``details``."""
        names = set(self.table_columns or ()) | (set(self.detail_fields) if details else set())
        return tuple(sorted(names))

    def kind_of(self, name: str) -> str | None:
        """What a field holds: ``int``, ``float``, ``bool``, ``time``, ``json`` or ``text``;
        ``None`` when the resource's fields are not known (a custom resource).

        >>> spec = resource_spec("servers")
        >>> spec.kind_of("vcpu_count"), spec.kind_of("zone"), spec.kind_of("nmae")
        ('int', 'text', None)
        """
        if name in self.field_kinds:
            return self.field_kinds[name]
        return "text" if name in self.known_fields else None

    def is_table_column(self, name: str) -> bool:
        """True when ``name`` is a column of the resource's table (the server filters on it)."""
        return self.table_columns is not None and name in self.table_columns

    def server_applies(self, name: str) -> bool:
        """Whether a filter or sort on ``name`` is sent to the server (table columns; any
        field of a resource whose table is not known)."""
        return self.table_columns is None or name in self.table_columns

    def check_param(self, name: str) -> None:
        """``ConfigError`` unless ``name`` is a query parameter this resource's list takes."""
        if name in GENERIC_PARAMS or name in self.params:
            return
        known = sorted(GENERIC_PARAMS | set(self.params))
        guess = did_you_mean(name, known + LIST_ARGUMENTS)
        raise ConfigError(
            f"{self.name} lists take no parameter {name!r}",
            hint=f"{guess}pass params={{{name!r}: ...}} to send it to the server unchecked",
        )

    def param_hint(self, name: str) -> str:
        """``", or pass zone=..."`` when a query parameter filters on ``name``, else ``""``."""
        for param, column in self.params.items():
            if column == name:
                return f", or pass {param}=... (the server filters on it)"
        return ""


# What a person reads first, for the resources listed most (others: climc's list columns).
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "servers": (
        "name",
        "status",
        "vcpu_count",
        "vmem_size",
        "ips",
        "host",
        "zone",
        "tenant",
        "hypervisor",
        "created_at",
        "id",
    ),
    "hosts": (
        "name",
        "status",
        "host_status",
        "zone",
        "cpu_count",
        "mem_size",
        "running_guests",
        "cpu_commit_rate",
        "mem_commit_rate",
        "id",
    ),
    "images": ("name", "status", "disk_format", "size", "os_type", "is_public", "tenant", "id"),
    "guestimages": ("name", "status", "size", "os_type", "is_public", "tenant", "id"),
    "disks": ("name", "status", "disk_size", "disk_type", "storage", "guest", "zone", "id"),
    "networks": (
        "name",
        "status",
        "guest_ip_start",
        "guest_ip_end",
        "guest_ip_mask",
        "wire",
        "zone",
        "ports",
        "id",
    ),
    "zones": ("name", "status", "cloudregion", "hosts", "id"),
    "cloudregions": ("name", "status", "provider", "zone_count", "id"),
    "eips": ("name", "status", "ip_addr", "bandwidth", "associate_name", "id"),
    "projects": ("name", "project_domain", "enabled", "created_at", "id"),
    "users": ("name", "project_domain", "enabled", "last_active_at", "id"),
    "events": ("ops_time", "obj_type", "obj_name", "action", "owner_tenant", "id"),
    "actions": ("start_time", "obj_type", "obj_name", "action", "success", "user", "id"),
    "endpoints": ("service_name", "interface", "region_id", "url", "enabled", "id"),
}

# Session.list's own keyword arguments, for did-you-mean hints on misspelled ones.
LIST_ARGUMENTS = [
    "scope",
    "details",
    "filters",
    "filter_any",
    "search",
    "order_by",
    "order",
    "fields",
    "limit",
    "region",
    "interface",
    "columns",
    "max_workers",
    "page_size",
    "progress",
    "refresh",
    "on_error",
    "params",
    "warn_cached",
]


def _spec(
    name: str,
    service: str,
    keyword: str,
    description: str,
    *,
    version: str = "",
    marker: bool = False,
) -> ResourceSpec:
    prefix = f"/{version}" if version else ""
    table = schema.TABLE_COLUMNS.get(name)
    return ResourceSpec(
        name,
        service,
        f"{prefix}/{name}",
        keyword,
        marker,
        description,
        table_columns=frozenset(table) if table is not None else None,
        detail_fields=frozenset(schema.DETAIL_FIELDS.get(name, ())) - frozenset(table or ()),
        params=MappingProxyType(dict(schema.RELATED_PARAMS.get(name, {}))),
        list_columns=tuple(schema.LIST_COLUMNS.get(name, ())),
        field_kinds=MappingProxyType(
            {f: kind for kind, names in schema.FIELD_KINDS.get(name, {}).items() for f in names}
        ),
    )


def _keyword(plural: str) -> str:
    """The record key of a resource's single GET (``policies`` → ``policy``)."""
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "xes")):
        return plural[:-2]
    return plural[:-1] if plural.endswith("s") else plural


RESOURCES: tuple[ResourceSpec, ...] = (
    _spec("servers", "compute_v2", "server", "virtual machines"),
    _spec("hosts", "compute_v2", "host", "physical hosts and hypervisors"),
    _spec("zones", "compute_v2", "zone", "availability zones"),
    _spec("cloudregions", "compute_v2", "cloudregion", "cloud regions where resources live"),
    _spec("networks", "compute_v2", "network", "IP subnets"),
    _spec("wires", "compute_v2", "wire", "layer-2 networks"),
    _spec("vpcs", "compute_v2", "vpc", "virtual private clouds"),
    _spec("eips", "compute_v2", "eip", "elastic IPs"),
    _spec("disks", "compute_v2", "disk", "virtual disks"),
    _spec("storages", "compute_v2", "storage", "block storages"),
    _spec("snapshots", "compute_v2", "snapshot", "disk snapshots"),
    _spec("secgroups", "compute_v2", "secgroup", "security groups"),
    _spec("serverskus", "compute_v2", "serversku", "instance types"),
    _spec("cloudaccounts", "compute_v2", "cloudaccount", "cloud accounts"),
    _spec("cloudproviders", "compute_v2", "cloudprovider", "cloud subscriptions"),
    _spec("isolated_devices", "compute_v2", "isolated_device", "GPUs and passthrough devices"),
    _spec("keypairs", "compute_v2", "keypair", "SSH key pairs"),
    _spec("loadbalancers", "compute_v2", "loadbalancer", "load balancers"),
    _spec("dbinstances", "compute_v2", "dbinstance", "RDS instances"),
    _spec("buckets", "compute_v2", "bucket", "object storage buckets"),
    _spec("events", "compute_v2", "event", "compute operation log", marker=True),
    _spec("images", "image", "image", "disk images", version="v1"),
    _spec("guestimages", "image", "guestimage", "multi-disk guest images", version="v1"),
    _spec("projects", "identity", "project", "projects (tenants)", version="v3"),
    _spec("users", "identity", "user", "users", version="v3"),
    _spec("domains", "identity", "domain", "domains", version="v3"),
    _spec("roles", "identity", "role", "roles", version="v3"),
    _spec("groups", "identity", "group", "user groups", version="v3"),
    _spec("regions", "identity", "region", "catalog regions", version="v3"),
    _spec("services", "identity", "service", "catalog services", version="v3"),
    _spec("endpoints", "identity", "endpoint", "catalog endpoints", version="v3"),
    _spec("actions", "log", "action", "audit log", marker=True),
    *(
        _spec(
            name,
            service,
            _keyword(name),
            description,
            version=path.strip("/").split("/")[0] if path.count("/") > 1 else "",
        )
        for name, service, path, description in schema.MORE_RESOURCES
    ),
)
_BY_NAME = {r.name: r for r in RESOURCES}
_ALIASES = {r.keyword: r.name for r in RESOURCES} | {
    "vm": "servers",
    "vms": "servers",
    "guests": "servers",
    "guest": "servers",
    "instances": "servers",
    "skus": "serverskus",
    "tenants": "projects",
    "tenant": "projects",
    "logs": "actions",
    "security_groups": "secgroups",
    "regions_cloud": "cloudregions",
}


def custom_resource(
    name: str,
    service_type: str,
    *,
    path: str | None = None,
    keyword: str | None = None,
    marker_paged: bool = False,
) -> ResourceSpec:
    """A list cpexplore's registry does not know, for ``Session.list``/``get``. Its fields are
    not known in advance, so filters go to the server *and* are applied to the rows.

    >>> spec = custom_resource("kubeclusters", "k8s")
    >>> spec.path, spec.keyword, spec.table_columns is None
    ('/kubeclusters', 'kubecluster', True)
    """
    clean = name.strip().strip("/")
    return ResourceSpec(
        clean.rsplit("/", 1)[-1],
        service_type,
        path or f"/{clean}",
        keyword or _keyword(clean.rsplit("/", 1)[-1]),
        marker_paged,
        f"custom: {service_type} {path or '/' + clean}",
    )


def resource_spec(name: str | ResourceSpec) -> ResourceSpec:
    """The spec of ``name`` (plural, singular or a common alias; a ``ResourceSpec`` such as
    :func:`custom_resource` makes is taken as it is); ``UnknownResource`` otherwise."""
    if isinstance(name, ResourceSpec):
        return name
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    spec = _BY_NAME.get(key)
    if spec is None:
        guess = did_you_mean(key, [*_BY_NAME, *(_ALIASES.get(a, a) for a in _ALIASES)])
        raise UnknownResource(
            f"unknown resource {name!r}",
            hint=f"{guess}`cpexplore resources` (session.resources()) lists all {len(RESOURCES)}; "
            "for another list use cpexplore.custom_resource(name, service_type)",
        )
    return spec


def resources_frame() -> pd.DataFrame:
    """Every resource cpexplore can list, as a DataFrame (name, service type, path, paging)."""
    return pd.DataFrame(
        {
            "name": [r.name for r in RESOURCES],
            "service_type": [r.service_type for r in RESOURCES],
            "path": [r.path for r in RESOURCES],
            "paging": ["marker" if r.marker_paged else "offset" for r in RESOURCES],
            "description": [r.description for r in RESOURCES],
        }
    )
