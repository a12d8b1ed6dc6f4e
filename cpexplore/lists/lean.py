"""``details="lean"``: the joined columns of a list, rebuilt from small lists.

A real region spends about 3.5 ms per server row to join hosts, zones, regions and projects
into ``details=true`` records, and about 0.7 ms without (``cloudpods-api.md`` §9). A lean list
asks for the bare rows and rebuilds the joined columns from a few small lists (hosts,
projects, domains), equal to those of ``details=True`` (``server_get_by_id``: a server's zone
and region are its host's). Pure functions.

>>> import pandas as pd
>>> servers = pd.DataFrame({"id": ["s1", "s2"], "host_id": ["h1", None],
...                         "tenant_id": ["p1", "p1"], "domain_id": ["default"] * 2})
>>> hosts = pd.DataFrame({"id": ["h1"], "name": ["host-1"], "zone": ["zone-a"]})
>>> out = join_lean("servers", servers, {"hosts": hosts})
>>> out["host"].iloc[0], out["zone"].iloc[0], out["zone"].isna().tolist()
('host-1', 'zone-a', [False, True])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .decode import typed_column


@dataclass(frozen=True)
class LeanJoin:
    """Columns (made here, copied from) rebuilt from ``source`` rows whose ``id`` is in ``key``;
    ``unset``: a value when ``key`` is empty (Go's zero, e.g. ``host_enabled: false``)."""

    key: str
    source: str
    columns: tuple[tuple[str, str], ...]
    unset: tuple[tuple[str, object], ...] = ()


# The joins a details=true server record carries, and where each value comes from.
LEAN_JOINS: dict[str, tuple[LeanJoin, ...]] = {
    "servers": (
        LeanJoin(
            "host_id",
            "hosts",
            (
                ("host", "name"),
                ("host_status", "status"),
                ("host_service_status", "host_status"),
                ("host_enabled", "enabled"),
                ("host_access_ip", "access_ip"),
                ("host_access_mac", "access_mac"),
                ("host_sn", "sn"),
                ("host_type", "host_type"),
                ("host_resource_type", "resource_type"),
                ("host_billing_type", "billing_type"),
                ("zone", "zone"),
                ("zone_id", "zone_id"),
                ("cloudregion", "cloudregion"),
                ("cloudregion_id", "cloudregion_id"),
                ("region", "region"),
                ("region_id", "region_id"),
            ),
            unset=(("host_enabled", False),),
        ),
        LeanJoin("tenant_id", "projects", (("tenant", "name"), ("project", "name"))),
        LeanJoin("domain_id", "domains", (("project_domain", "name"),)),
    ),
}


def lean_sources(resource: str) -> tuple[str, ...]:
    """The small lists a lean list of ``resource`` needs (empty: lean is not offered).

    >>> lean_sources("servers")
    ('hosts', 'projects', 'domains')
    """
    return tuple(j.source for j in LEAN_JOINS.get(resource, ()))


def lean_keys(resource: str) -> tuple[str, ...]:
    """The columns a lean list joins on (they must be fetched).

    >>> lean_keys("servers")
    ('host_id', 'tenant_id', 'domain_id')
    """
    return tuple(j.key for j in LEAN_JOINS.get(resource, ()))


def lean_columns(resource: str) -> tuple[str, ...]:
    """The columns a lean list rebuilds.

    >>> "zone" in lean_columns("servers")
    True
    """
    return tuple(c for j in LEAN_JOINS.get(resource, ()) for c, _ in j.columns)


def join_lean(
    resource: str, rows: pd.DataFrame, sources: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """``rows`` (a ``details=false`` list) with the joined columns rebuilt from ``sources``.

    A row whose key is missing, or points at a record the small list does not have, gets
    missing values, as a ``details=true`` record leaves those fields out. Existing columns
    are kept; the new ones are added after them.
    """
    out = rows.copy()
    index = out.index
    for join in LEAN_JOINS.get(resource, ()):
        source = sources.get(join.source)
        if join.key not in out.columns:
            keys = pd.Series([None] * len(out), index=out.index, dtype=object)
        else:
            keys = out[join.key].astype(object)
        for column, source_column in join.columns:
            if source is None or source_column not in source.columns or source.empty:
                values = [None] * len(out)
            else:
                lookup = source.drop_duplicates("id").set_index("id")[source_column]
                values = keys.map(lookup.astype(object).to_dict()).tolist()
            default = dict(join.unset).get(column)
            if default is not None:
                values = [default if pd.isna(k) else v for k, v in zip(keys, values, strict=True)]
            out[column] = typed_column(column, values, index)
    return out


__all__ = ["LEAN_JOINS", "LeanJoin", "join_lean", "lean_columns", "lean_keys", "lean_sources"]
