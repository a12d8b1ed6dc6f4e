"""How cpexplore reads a token's service catalog and picks an endpoint.

The catalogs used here are real ones: the seed token shown in the Cloudpods docs
(``api-call-process.md``, 24 services in ``region0``) and the token captured from a real
keystone (``real-transcripts/keystone.json``). A small synthetic catalog adds a second
region and a zone endpoint (``region1-zone1``), which a single-region install never shows.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cpexplore.catalog import (
    CATALOG_COLUMNS,
    Catalog,
    normalize_interface,
    normalize_service_type,
)
from cpexplore.errors import ConnectError, CpExploreError, EndpointNotFound, ServiceNotOffered

SHARED = Path(__file__).resolve().parent / "data"
REFERENCE = SHARED / "reference"

EXPECTED_COLUMNS = [
    "service_name",
    "service_type",
    "service_id",
    "interface",
    "region_id",
    "endpoint_id",
    "endpoint_name",
    "url",
]


# -- the catalogs -----------------------------------------------------------------------------


def _seed_catalog() -> list[dict[str, Any]]:
    """token.catalog of the JSON on the 'Response body:' line of api-call-process.md."""
    text = (REFERENCE / "api-call-process.md").read_text(encoding="utf-8")
    prefix = "Response body:"
    line = next(ln for ln in text.splitlines() if ln.startswith(prefix))
    return json.loads(line[len(prefix) :])["token"]["catalog"]


def _transcript_catalog() -> list[dict[str, Any]]:
    """token.catalog of the real keystone's scoped sysadmin login."""
    data = json.loads((REFERENCE / "real-transcripts" / "keystone.json").read_text("utf-8"))
    exchange = next(
        x for x in data["exchanges"] if x["name"] == "password_login_scoped_system_with_catalog"
    )
    return exchange["response"]["body_json"]["token"]["catalog"]


def _endpoint(interface: str, region_id: str, url: str, n: int) -> dict[str, str]:
    return {
        "id": f"ep{n:02d}",
        "interface": interface,
        "name": f"ep-{interface}-{region_id}-{n}",
        "region": region_id.split("-")[0],
        "region_id": region_id,
        "url": url,
    }


def _two_region_catalog() -> list[dict[str, Any]]:
    """compute_v2 in region0, region1 and the zone region1-zone1; image only in region1.

    region0's public group has two URLs, listed out of order on purpose.
    """
    return [
        {
            "id": "svc-compute",
            "name": "region2",
            "type": "compute_v2",
            "endpoints": [
                _endpoint("public", "region1", "https://r1.example:30888", 1),
                _endpoint("internal", "region1", "https://default-region-r1:30888", 2),
                _endpoint("public", "region1-zone1", "https://r1z1.example:30888", 3),
                _endpoint("public", "region0", "https://r0b.example:30888", 4),
                _endpoint("public", "region0", "https://r0a.example:30888", 5),
                _endpoint("internal", "region0", "https://default-region:30888", 6),
            ],
        },
        {
            "id": "svc-image",
            "name": "glance",
            "type": "image",
            "endpoints": [
                _endpoint("public", "region1", "https://r1.example:30292/v1", 7),
                _endpoint("internal", "region1", "https://default-glance:30292/v1", 8),
            ],
        },
        {
            "id": "svc-keystone",
            "name": "keystone",
            "type": "identity",
            "endpoints": [
                _endpoint("public", "region0", "https://r0.example:30500/v3", 9),
                _endpoint("admin", "region0", "https://r0.example:30357/v3", 10),
            ],
        },
    ]


@pytest.fixture
def seed() -> Catalog:
    return Catalog.from_token(_seed_catalog())


@pytest.fixture
def transcript() -> Catalog:
    return Catalog.from_token(_transcript_catalog())


@pytest.fixture
def two_regions() -> Catalog:
    return Catalog.from_token(_two_region_catalog())


# -- the catalog as a DataFrame ---------------------------------------------------------------


@pytest.mark.parametrize("make", [_seed_catalog, _transcript_catalog, _two_region_catalog, list])
def test_frame_has_exactly_these_columns_in_this_order(make) -> None:
    frame = Catalog.from_token(make()).frame
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert list(CATALOG_COLUMNS) == EXPECTED_COLUMNS


def test_frame_has_one_row_per_endpoint(seed: Catalog) -> None:
    catalog = _seed_catalog()
    assert len(seed.frame) == sum(len(s["endpoints"]) for s in catalog) == len(seed)
    compute = seed.frame[seed.frame.service_type == "compute_v2"]
    assert compute.to_dict("records") == [
        {
            "service_name": "region2",
            "service_type": "compute_v2",
            "service_id": "efd8e0bed6cc43bf8b2c7ef0a5e1803b",
            "interface": "internal",
            "region_id": "region0",
            "endpoint_id": "a9c1b32c54fb4a028803d52180e8b5a3",
            "endpoint_name": "compute_v2-internal",
            "url": "https://default-region:30888",
        },
        {
            "service_name": "region2",
            "service_type": "compute_v2",
            "service_id": "efd8e0bed6cc43bf8b2c7ef0a5e1803b",
            "interface": "public",
            "region_id": "region0",
            "endpoint_id": "adecd09b5e20436e8651b4a66d4326c8",
            "endpoint_name": "compute_v2-public",
            "url": "https://10.211.55.9:30888",
        },
    ]


@pytest.mark.parametrize("make", [_seed_catalog, _transcript_catalog, _two_region_catalog])
def test_frame_is_sorted_by_type_region_interface_url(make) -> None:
    frame = Catalog.from_token(make()).frame
    keys = ["service_type", "region_id", "interface", "url"]
    expected = frame.sort_values(keys, kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)


def test_input_order_does_not_matter(two_regions: Catalog) -> None:
    shuffled = copy.deepcopy(_two_region_catalog())
    rng = random.Random(7)
    rng.shuffle(shuffled)
    for service in shuffled:
        rng.shuffle(service["endpoints"])
    other = Catalog.from_token(shuffled)
    assert other == two_regions
    pd.testing.assert_frame_equal(other.frame, two_regions.frame)


def test_each_frame_is_a_new_copy_the_catalog_never_changes(seed: Catalog) -> None:
    frame = seed.frame
    frame.loc[:, "url"] = "http://mutated"
    del frame["service_id"]
    again = seed.frame
    assert "service_id" in again.columns
    assert not (again.url == "http://mutated").any()
    assert seed.url_for("compute") == "https://10.211.55.9:30888"


def test_catalog_is_frozen_and_hashable(seed: Catalog) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        seed.rows = ()  # type: ignore[misc]
    assert isinstance(seed.rows, tuple)
    assert hash(seed) == hash(Catalog.from_token(_seed_catalog()))


def test_repr_is_a_short_summary(seed: Catalog) -> None:
    assert repr(seed) == "Catalog(24 services, 48 endpoints, regions ['region0'])"


# -- regions, interfaces, service types -------------------------------------------------------


def test_seed_catalog_regions_interfaces_and_types(seed: Catalog) -> None:
    assert seed.regions == ["region0"]
    assert seed.interfaces == ["admin", "internal", "public"]
    assert len(seed.service_types) == 24
    assert seed.service_types == sorted(seed.service_types)
    assert {"compute_v2", "identity", "image", "log", "etcd"} <= set(seed.service_types)
    assert "compute" not in seed.service_types


def test_transcript_catalog_regions_interfaces_and_types(transcript: Catalog) -> None:
    assert transcript.regions == ["region0"]
    assert transcript.interfaces == ["admin", "internal", "public"]
    assert transcript.service_types == ["compute_v2", "identity"]


def test_zone_endpoints_appear_as_their_own_region_id(two_regions: Catalog) -> None:
    assert two_regions.regions == ["region0", "region1", "region1-zone1"]
    assert two_regions.interfaces == ["admin", "internal", "public"]
    assert two_regions.service_types == ["compute_v2", "identity", "image"]


# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("publicURL", "public"),
        ("internalURL", "internal"),
        ("adminURL", "admin"),
        ("PUBLICURL", "public"),
        ("publicurl", "public"),
        ("public", "public"),
        ("Internal", "internal"),
        ("admin", "admin"),
        ("console", "console"),
        ("slave", "slave"),
        ("apigateway", "apigateway"),
    ],
)
def test_normalize_interface(given: str, expected: str) -> None:
    assert normalize_interface(given) == expected


@pytest.mark.parametrize("bad", ["private", "", "pub", "consolez"])
def test_normalize_interface_rejects_unknown_names_listing_the_choices(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_interface(bad)
    message = str(info.value)
    assert repr(bad) in message
    for choice in ("public", "internal", "admin", "console", "slave", "apigateway"):
        assert choice in message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("compute", "compute_v2"),
        ("compute_v2", "compute_v2"),
        ("identity", "identity"),
        ("image", "image"),
        ("log", "log"),
        ("Compute", "Compute"),  # climc's rule is exactly "compute", nothing more
    ],
)
def test_normalize_service_type_only_renames_compute(given: str, expected: str) -> None:
    assert normalize_service_type(given) == expected


# -- url_for on the real catalogs -------------------------------------------------------------


def test_public_is_the_default_interface(seed: Catalog) -> None:
    assert seed.url_for("compute_v2") == "https://10.211.55.9:30888"
    assert seed.url_for("image") == "https://10.211.55.9:30292/v1"


def test_compute_means_compute_v2(seed: Catalog, transcript: Catalog) -> None:
    assert seed.url_for("compute") == seed.url_for("compute_v2") == "https://10.211.55.9:30888"
    assert transcript.url_for("compute", region="region0") == "http://127.0.0.1:30888"


@pytest.mark.parametrize(
    ("interface", "url"),
    [
        ("publicURL", "https://10.211.55.9:30500/v3"),
        ("public", "https://10.211.55.9:30500/v3"),
        ("internalURL", "https://default-keystone:30500/v3"),
        ("adminURL", "https://10.211.55.9:30357/v3"),
        ("ADMIN", "https://10.211.55.9:30357/v3"),
    ],
)
def test_os_endpoint_type_spellings_are_accepted(seed: Catalog, interface: str, url: str) -> None:
    assert seed.url_for("identity", region="region0", interface=interface) == url


def test_transcript_identity_endpoints(transcript: Catalog) -> None:
    assert transcript.url_for("identity") == "http://127.0.0.1:30500/v3"
    assert transcript.url_for("identity", interface="adminURL") == "http://127.0.0.1:30357/v3"


def test_an_empty_region_string_means_no_region(seed: Catalog) -> None:
    # OS_REGION_NAME= (set but empty) is "no region" for mcclient too.
    assert seed.url_for("compute", region="", zone="") == "https://10.211.55.9:30888"


def test_an_unknown_interface_is_a_value_error(seed: Catalog) -> None:
    with pytest.raises(ValueError, match="use one of public, internal, admin"):
        seed.url_for("compute", interface="private")


# -- regions and zones ------------------------------------------------------------------------


def test_a_region_picks_its_own_endpoints(two_regions: Catalog) -> None:
    assert two_regions.url_for("compute", region="region1") == "https://r1.example:30888"
    assert (
        two_regions.url_for("compute", region="region1", interface="internal")
        == "https://default-region-r1:30888"
    )


def test_with_a_zone_the_region_zone_endpoint_is_preferred(two_regions: Catalog) -> None:
    assert (
        two_regions.url_for("compute", region="region1", zone="zone1")
        == "https://r1z1.example:30888"
    )
    assert [
        e["region_id"] for e in two_regions.endpoints_for("compute", region="region1", zone="zone1")
    ] == [
        "region1-zone1",
        "region1",
    ]


def test_a_zone_without_its_own_endpoint_falls_back_to_the_region(two_regions: Catalog) -> None:
    assert (
        two_regions.url_for("compute", region="region1", zone="zone9") == "https://r1.example:30888"
    )
    # internal has no zone endpoint in region1-zone1: the region's endpoint serves the zone
    assert (
        two_regions.url_for("compute", region="region1", zone="zone1", interface="internal")
        == "https://default-region-r1:30888"
    )


def test_a_region_zone_id_can_be_given_as_the_region(two_regions: Catalog) -> None:
    assert two_regions.url_for("compute", region="region1-zone1") == "https://r1z1.example:30888"


def test_a_region_without_a_zone_does_not_pick_zone_endpoints(two_regions: Catalog) -> None:
    urls = [e["url"] for e in two_regions.endpoints_for("compute", region="region1")]
    assert urls == ["https://r1.example:30888"]


def test_a_zone_needs_a_region(two_regions: Catalog) -> None:
    with pytest.raises(ValueError, match="zone='zone1' needs a region"):
        two_regions.url_for("compute", zone="zone1")


# -- determinism ------------------------------------------------------------------------------


def test_within_a_region_the_first_url_in_sorted_order_wins(two_regions: Catalog) -> None:
    # region0 lists r0b before r0a; sorting makes r0a the answer every time.
    answers = {two_regions.url_for("compute", region="region0") for _ in range(50)}
    assert answers == {"https://r0a.example:30888"}
    assert [e["url"] for e in two_regions.endpoints_for("compute", region="region0")] == [
        "https://r0a.example:30888",
        "https://r0b.example:30888",
    ]


def test_with_no_region_several_regions_give_the_first_region_id_every_time(
    two_regions: Catalog,
) -> None:
    answers = {two_regions.url_for("compute") for _ in range(50)}
    assert answers == {"https://r0a.example:30888"}
    rebuilt = {Catalog.from_token(_two_region_catalog()).url_for("compute") for _ in range(50)}
    assert rebuilt == answers


def test_endpoints_for_lists_every_candidate_with_the_chosen_one_first(
    two_regions: Catalog,
) -> None:
    candidates = two_regions.endpoints_for("compute")
    assert [(e["region_id"], e["url"]) for e in candidates] == [
        ("region0", "https://r0a.example:30888"),
        ("region0", "https://r0b.example:30888"),
        ("region1", "https://r1.example:30888"),
        ("region1-zone1", "https://r1z1.example:30888"),
    ]
    assert candidates[0]["url"] == two_regions.url_for("compute")
    assert all(list(e) == EXPECTED_COLUMNS for e in candidates)
    assert all(e["interface"] == "public" and e["service_type"] == "compute_v2" for e in candidates)


def test_endpoints_for_returns_an_empty_list_when_nothing_matches(two_regions: Catalog) -> None:
    assert two_regions.endpoints_for("compute", region="nowhere") == []
    assert two_regions.endpoints_for("nope") == []
    assert Catalog.empty().endpoints_for("compute") == []


def test_the_choice_among_several_regions_is_logged(
    two_regions: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cpexplore.catalog"):
        two_regions.url_for("compute")
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "chose 'region0'" in message
    assert "'region1'" in message and "'region1-zone1'" in message


def test_a_service_in_exactly_one_region_is_taken_without_fuss(
    two_regions: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cpexplore.catalog"):
        assert two_regions.url_for("image") == "https://r1.example:30292/v1"
        assert two_regions.url_for("compute", region="region0") == "https://r0a.example:30888"
    assert caplog.records == []


# -- errors -----------------------------------------------------------------------------------


def test_unknown_region_names_the_regions_and_interfaces_that_exist(two_regions: Catalog) -> None:
    with pytest.raises(EndpointNotFound) as info:
        two_regions.url_for("compute_v2", region="nowhere")
    error = info.value
    assert error.message == (
        "no public endpoint for compute_v2 in region 'nowhere'; compute_v2 has regions "
        "region0, region1, region1-zone1 and interfaces internal, public"
    )
    assert error.hint == "choose region='region0', 'region1' or 'region1-zone1'"
    assert "\n" not in str(error)
    assert isinstance(error, CpExploreError)


def test_the_error_says_how_the_service_was_asked_for(seed: Catalog) -> None:
    with pytest.raises(EndpointNotFound) as info:
        seed.url_for("compute", region="nowhere")
    assert str(info.value).startswith(
        "no public endpoint for compute_v2 (asked as 'compute') in region 'nowhere'; "
        "compute_v2 has regions region0 and interfaces internal, public"
    )


def test_missing_interface_suggests_the_interfaces_that_exist(seed: Catalog) -> None:
    # etcd is only reachable inside the cluster
    with pytest.raises(EndpointNotFound) as info:
        seed.url_for("etcd")
    assert info.value.message == (
        "no public endpoint for etcd in any region; "
        "etcd has regions region0 and interfaces internal"
    )
    assert info.value.hint == "choose interface='internal'"
    assert (
        seed.url_for("etcd", interface="internal") == "http://default-etcd-client.onecloud.svc:2379"
    )


def test_a_zone_is_named_in_the_error(two_regions: Catalog) -> None:
    with pytest.raises(EndpointNotFound) as info:
        two_regions.url_for("image", region="region0", zone="zone1", interface="adminURL")
    assert info.value.message == (
        "no admin endpoint for image in region 'region0' zone 'zone1'; image has regions "
        "region1 and interfaces internal, public"
    )


def test_a_missing_service_lists_the_service_types_that_exist(transcript: Catalog) -> None:
    """Not a typo: the cloud does not offer it (its own error, exit 3 in the CLI)."""
    with pytest.raises(ServiceNotOffered) as info:
        transcript.url_for("image", region="region0")
    assert isinstance(info.value, EndpointNotFound)
    assert info.value.message == (
        "this cloud offers no image service: its catalog has compute_v2, identity"
    )
    assert "looked up as" not in info.value.hint


def test_apigateway_is_not_a_catalog_interface(seed: Catalog) -> None:
    with pytest.raises(EndpointNotFound, match="apigateway URLs are built from the auth URL"):
        seed.url_for("compute", interface="apigateway")


# -- unscoped tokens --------------------------------------------------------------------------


@pytest.mark.parametrize("catalog", [None, []])
def test_an_unscoped_token_has_an_empty_catalog(catalog: list | None) -> None:
    empty = Catalog.from_token(catalog)
    assert empty == Catalog.empty()
    assert not empty
    assert len(empty) == 0
    assert empty.regions == empty.interfaces == empty.service_types == []
    assert list(empty.frame.columns) == EXPECTED_COLUMNS
    assert empty.frame.empty


def test_url_for_on_an_empty_catalog_says_to_scope_the_token() -> None:
    with pytest.raises(EndpointNotFound) as info:
        Catalog.from_token(None).url_for("identity", region="region0")
    assert info.value.message == (
        "no public endpoint for identity in region 'region0': the token has no service catalog"
    )
    assert "scoped to a project" in info.value.hint


def test_a_scoped_catalog_is_truthy(seed: Catalog) -> None:
    assert seed
    assert len(seed) == 48


# -- an endpoint that cannot be reached ------------------------------------------------------------
def test_an_unreachable_internal_endpoint_is_named_with_the_public_one_to_use(
    seed: Catalog,
) -> None:
    cause = ConnectError("the host name 'default-region' does not resolve", hint="check DNS")
    url = seed.url_for("compute", interface="internal") + "/servers?limit=20"
    error = seed.unreachable(cause, url, interface="internalURL")
    assert isinstance(error, ConnectError)
    assert error.message == (
        "cannot reach the internal endpoint of compute_v2 in region region0 "
        "(https://default-region:30888): the host name 'default-region' does not resolve"
    )
    assert "interface='public'" in error.hint and "--interface public" in error.hint
    assert error.hint.endswith("whose URL is https://10.211.55.9:30888")
    assert "limit=20" not in str(error)


def test_an_unreachable_public_endpoint_keeps_the_original_hint(seed: Catalog) -> None:
    cause = ConnectError("connection refused at 10.211.55.9:30888", hint="is it up?")
    error = seed.unreachable(cause, "https://10.211.55.9:30888/servers", interface="public")
    assert error.message.startswith("cannot reach the public endpoint of compute_v2 in region")
    assert error.hint == "is it up?"


def test_an_unreachable_url_outside_the_catalog_still_names_url_and_interface(
    seed: Catalog,
) -> None:
    cause = ConnectError("the host name 'elsewhere' does not resolve")
    error = seed.unreachable(cause, "https://elsewhere:1/x?q=1", interface="admin")
    assert error.message == (
        "cannot reach the admin endpoint (https://elsewhere:1/x): "
        "the host name 'elsewhere' does not resolve"
    )
    assert "interface='public'" in error.hint
