"""What can be listed: the registry of resources (with their fields), and any other list."""

from __future__ import annotations

import pytest

import cpexplore
from cpexplore import NotFound, UnknownResource
from cpexplore.resources import RESOURCES, resource_spec


def test_the_registry_covers_what_climc_lists_most():
    names = {r.name for r in RESOURCES}
    assert {"servers", "disks", "networks", "eips", "secgroups", "loadbalancers"} <= names
    assert {"dbinstances", "buckets", "snapshots", "cloudaccounts", "elasticcaches"} <= names
    assert len(RESOURCES) >= 60
    assert resource_spec("policies").path == "/v3/policies"
    assert resource_spec("server").name == "servers"  # singular and aliases


def test_each_resource_knows_its_table_columns_and_query_parameters():
    servers = resource_spec("servers")
    assert servers.is_table_column("status") and not servers.is_table_column("zone")
    assert "zone" in servers.detail_fields and servers.params["zone"] == "zone"


def test_an_unknown_resource_names_the_nearest_and_the_way_to_list_anything():
    with pytest.raises(UnknownResource, match="did you mean 'servers'") as e:
        resource_spec("serverz")
    assert "custom_resource" in str(e.value)


def test_any_list_can_be_listed_with_a_custom_resource(session):
    zones = cpexplore.custom_resource("zones", "compute_v2")
    got = session.list(zones, scope="system", filters="name.startswith('zone')")
    assert len(got) and got["name"].astype(str).str.startswith("zone").all()
    assert set(got["id"]) <= set(session.list("zones", scope="system")["id"])


def test_a_custom_resource_the_service_does_not_have_is_a_404(session):
    with pytest.raises(NotFound):
        session.list(cpexplore.custom_resource("kubeclusters", "compute_v2"))


def test_resources_says_which_the_cloud_has(session):
    df = session.resources()
    assert df.set_index("name").loc["servers", "available"]
    assert len(df) == len(RESOURCES)
