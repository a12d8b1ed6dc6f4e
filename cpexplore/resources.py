"""What can be listed: resource name → service type, path, envelope keys and paging (spec §4).

>>> spec = resource_spec("servers")
>>> spec.service_type, spec.path, spec.keyword
('compute_v2', '/servers', 'server')
>>> resource_spec("server").name      # singular names and climc's spellings work too
'servers'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandas as pd

from .errors import UnknownResource


@dataclass(frozen=True)
class ResourceSpec:
    """How to list one resource: service type, path, list and record keys, paging."""

    name: str
    service_type: str
    path: str
    keyword: str
    marker_paged: bool = False
    description: str = ""

    @property
    def list_key(self) -> str:
        return self.name.rsplit("/", 1)[-1]


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
    return ResourceSpec(name, service, f"{prefix}/{name}", keyword, marker, description)


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


def resource_spec(name: str) -> ResourceSpec:
    """The spec of ``name`` (plural, singular or a common alias); ``UnknownResource`` otherwise."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    spec = _BY_NAME.get(key)
    if spec is None:
        close = difflib.get_close_matches(key, list(_BY_NAME) + list(_ALIASES), n=4, cutoff=0.6)
        names = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))[:3]
        guess = f"did you mean {' or '.join(repr(n) for n in names)}? " if names else ""
        raise UnknownResource(
            f"unknown resource {name!r}",
            hint=f"{guess}session.resources() lists all {len(RESOURCES)}",
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
