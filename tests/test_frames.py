"""Behaviour of ``cpexplore.frames``: Cloudpods list records → typed DataFrames.

Small hand-made inputs document each rule; records captured from a real keystone and
region (``../shared/reference/real-transcripts``) check the rules on real shapes, and
are skipped when the transcripts are not there.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from cpexplore.lists.decode import page_table, pages_to_frame, records_to_frame
from cpexplore.lists.dtypes import frame_memory

TRANSCRIPTS = Path(__file__).resolve().parent / "data" / "reference" / "real-transcripts"
UTC_NS = "datetime64[ns, UTC]"


# ----------------------------------------------------------------------------- helpers


def _exchanges() -> dict[str, dict[str, Any]]:
    """All captured exchanges of region.json and keystone.json, by name."""
    out: dict[str, dict[str, Any]] = {}
    for file in ("region.json", "keystone.json"):
        path = TRANSCRIPTS / file
        if not path.exists():
            continue
        for exchange in json.loads(path.read_text(encoding="utf-8"))["exchanges"]:
            out[f"{path.stem}:{exchange['name']}"] = exchange
    return out


def _list_bodies() -> dict[str, list[dict[str, Any]]]:
    """Every 200 list answer of the transcripts: name → its list of records."""
    out = {}
    for name, exchange in _exchanges().items():
        body = exchange["response"].get("body_json")
        if exchange["response"]["status"] != 200 or not isinstance(body, dict):
            continue
        for value in body.values():
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                out[name] = value
    return out


def real_records(name: str) -> list[dict[str, Any]]:
    """Records of one captured list answer, e.g. ``"region:zones_list"``; skip if absent."""
    bodies = _list_bodies()
    if name not in bodies:
        pytest.skip(f"real transcript {name} not available under {TRANSCRIPTS}")
    return copy.deepcopy(bodies[name])


def _same(ours: Any, original: Any) -> bool:
    """True if a cell of our frame holds the original JSON value."""
    if isinstance(ours, pd.Timestamp):
        return ours == pd.Timestamp(original).tz_convert("UTC")
    if isinstance(original, float) and math.isnan(original):
        return isinstance(ours, float) and math.isnan(ours)
    if isinstance(original, (bool, np.bool_)):
        return type(ours) in (bool, np.bool_) and bool(ours) == bool(original)
    if isinstance(original, (list, dict)):
        return ours == original
    return ours == original and not isinstance(ours, (bool, np.bool_))


def _recover(df: pd.DataFrame, row: int, column: str) -> Any:
    """Find json_normalize's ``column`` in our frame: directly or inside a kept dict."""
    if column in df.columns:
        return df[column].iloc[row]
    parts = column.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:cut])
        if parent in df.columns:
            value = df[parent].iloc[row]
            for part in parts[cut:]:
                value = value[part]
            return value
    raise KeyError(column)


def assert_nothing_lost(records: list[dict[str, Any]]) -> None:
    """Every value json_normalize finds is in records_to_frame's frame too."""
    ours = records_to_frame(records)
    naive = pd.json_normalize(copy.deepcopy(records))
    assert len(ours) == len(naive) == len(records)
    for column in naive.columns:
        for row, original in enumerate(naive[column].tolist()):
            if original is None or (isinstance(original, float) and math.isnan(original)):
                continue
            recovered = _recover(ours, row, column)
            assert _same(recovered, original), (column, row, recovered, original)
    # and every top-level field of every record is somewhere in our frame
    for row, record in enumerate(records):
        for key, value in record.items():
            if value is None:
                continue
            if key in ours.columns:
                assert _same(ours[key].iloc[row], value), (key, row)
            else:
                for sub, sub_value in value.items():
                    assert _same(ours[f"{key}.{sub}"].iloc[row], sub_value), (key, sub, row)


def servers(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Small synthetic server records with the usual repetition and gaps."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rec: dict[str, Any] = {
            "id": f"{rng.getrandbits(128):032x}",
            "name": f"vm-{i:04d}",
            "status": rng.choice(["running", "ready", "deploying"]),
            "hypervisor": rng.choice(["kvm", "esxi"]),
            "host": f"host-{rng.randrange(5)}",
            "vcpu_count": rng.choice([1, 2, 4]),
            "vmem_size": rng.choice([1024, 2048]),
            "created_at": f"2026-11-{rng.randrange(1, 29):02d}T10:00:00.000000Z",
            "nics": [{"ip_addr": f"10.0.0.{i % 250}", "is_default": True}],
            "metadata": {"user:env": rng.choice(["prod", "dev"])},
            "is_gpu": rng.random() < 0.1,
        }
        if i % 3 == 0:
            del rec["is_gpu"]
        out.append(rec)
    return out


# ----------------------------------------------------------------------------- columns


def test_key_columns_first_then_first_seen_order():
    records = [
        {"zone": "z1", "status": "running", "name": "vm1", "id": "a"},
        {"cpu": 2, "id": "b", "name": "vm2"},
    ]
    df = records_to_frame(records)
    assert list(df.columns) == ["id", "name", "status", "zone", "cpu"]


def test_custom_key_columns_only_those_present():
    records = [{"a": 1, "b": 2, "name": "x"}]
    df = records_to_frame(records, key_columns=("missing", "b", "name"))
    assert list(df.columns) == ["b", "name", "a"]


def test_union_of_keys_every_field_optional():
    records = [{"id": "a"}, {"id": "b", "sn": "S1"}, {"id": "c", "cpu_desc": "x86"}]
    df = records_to_frame(records)
    assert list(df.columns) == ["id", "sn", "cpu_desc"]
    assert [None if pd.isna(v) else v for v in df["sn"]] == [None, "S1", None]
    assert df["cpu_desc"].isna().tolist() == [True, True, False]


def test_columns_selection_exact_order_and_missing_columns():
    records = [{"id": "a", "name": "x", "status": "ok", "cpu": 1}]
    df = records_to_frame(records, columns=["cpu", "nope", "id"])
    assert list(df.columns) == ["cpu", "nope", "id"]
    assert df["nope"].dtype == object
    assert df["nope"].isna().all()
    assert df["cpu"].dtype == np.int64


def test_columns_selection_of_dict_parent_and_sub_keys():
    records = [
        {"id": "a", "metadata": {"env": "prod", "team": "web"}},
        {"id": "b", "metadata": {"env": "dev"}},
    ]
    whole = records_to_frame(records, columns=["metadata"])
    assert whole["metadata"].tolist() == [{"env": "prod", "team": "web"}, {"env": "dev"}]
    picked = records_to_frame(records, columns=["id", "metadata.team"])
    assert list(picked.columns) == ["id", "metadata.team"]
    assert [None if pd.isna(v) else v for v in picked["metadata.team"]] == ["web", None]


def test_columns_selection_rejects_duplicates_and_bare_string():
    with pytest.raises(ValueError):
        records_to_frame([{"id": "a"}], columns=["id", "id"])
    with pytest.raises(TypeError):
        records_to_frame([{"id": "a"}], columns="id")


def test_empty_records_give_empty_frame():
    df = records_to_frame([])
    assert isinstance(df, pd.DataFrame)
    assert df.shape == (0, 0)
    assert "id" not in df.columns
    selected = records_to_frame([], columns=["id", "name"])
    assert list(selected.columns) == ["id", "name"]
    assert len(selected) == 0


def test_records_without_keys_keep_their_rows():
    assert records_to_frame([{}, {}]).shape == (2, 0)


def test_non_mapping_record_is_a_type_error():
    with pytest.raises(TypeError, match="record 1"):
        records_to_frame([{"id": "a"}, ["id", "b"]])


def test_any_mapping_and_iterable_is_accepted():
    records = (MappingProxyType({"id": "a", "n": 1}) for _ in range(2))
    df = records_to_frame(records)  # type: ignore[arg-type]
    assert df["n"].tolist() == [1, 1]


# ----------------------------------------------------------------------------- dtypes


def test_timestamps_become_utc_nanoseconds():
    records = [
        {"created_at": "2026-11-26T23:54:23.000000Z", "expires_at": "2026-11-27T07:54:58+08:00"},
        {"created_at": "2026-11-26T23:54:24.123456Z"},
    ]
    df = records_to_frame(records)
    assert str(df["created_at"].dtype) == UTC_NS
    assert str(df["expires_at"].dtype) == UTC_NS
    assert df["created_at"][0] == pd.Timestamp("2026-11-26T23:54:23Z")
    assert df["created_at"][1].microsecond == 123456
    assert df["expires_at"][0] == pd.Timestamp("2026-11-26T23:54:58Z")  # +08:00 → UTC
    assert pd.isna(df["expires_at"][1])


def test_unparsable_timestamps_become_nat_without_raising():
    records = [
        {"last_ping_at": "2026-11-26T23:54:23.000000Z"},
        {"last_ping_at": "not a time"},
        {"last_ping_at": "0001-01-01T00:00:00.000000Z"},  # Go's zero time: out of ns range
    ]
    df = records_to_frame(records)
    assert str(df["last_ping_at"].dtype) == UTC_NS
    assert df["last_ping_at"].isna().tolist() == [False, True, True]


def test_timestamps_found_by_value_in_other_columns_only_if_all_parse():
    records = [
        {"ops_time": "2026-11-26T23:54:58.000000Z", "label": "2026-11-26T23:54:58Z"},
        {"ops_time": "2026-11-26T23:55:00.000000Z", "label": "soon"},
    ]
    df = records_to_frame(records)
    assert str(df["ops_time"].dtype) == UTC_NS
    assert df["label"].tolist() == ["2026-11-26T23:54:58Z", "soon"]  # nothing lost


@pytest.mark.parametrize(
    "values", [[1, 2, -3], [0, 300], [0, 70_000], [0, 2**40], [-(2**63), 2**63 - 1]]
)
def test_integers_are_int64_whatever_their_size(values):
    df = records_to_frame([{"n": v} for v in values])
    assert df["n"].dtype == np.dtype("int64")
    assert df["n"].tolist() == values


def test_arithmetic_on_small_integers_never_wraps():
    df = records_to_frame(
        [{"vcpu_count": 4, "vmem_size": 16384}, {"vcpu_count": 2, "vmem_size": 2048}]
    )
    assert (df["vcpu_count"] * 100).tolist() == [400, 200]
    assert (df["vcpu_count"] * 200).tolist() == [800, 400]
    assert (df["vmem_size"] * 1024 * 1024).tolist() == [16384 * 1024**2, 2048 * 1024**2]


@pytest.mark.parametrize("values", [[1, None, 3], [None, 1000], [70_000, None]])
def test_integers_with_gaps_are_nullable_int64(values):
    records = [{} if v is None else {"n": v} for v in values]
    df = records_to_frame(records)
    assert str(df["n"].dtype) == "Int64"
    assert df["n"].isna().tolist() == [v is None for v in values]
    assert [None if pd.isna(x) else int(x) for x in df["n"]] == values


def test_integers_beyond_int64_stay_python_ints_in_object():
    df = records_to_frame([{"n": 2**64}, {"n": 1}])
    assert df["n"].dtype == object
    assert df["n"].tolist() == [2**64, 1]


def test_booleans_and_nullable_booleans():
    df = records_to_frame([{"a": True, "b": False}, {"a": False}])
    assert df["a"].dtype == np.bool_
    assert str(df["b"].dtype) == "boolean"
    assert df["b"].tolist() == [False, pd.NA]
    assert df["a"].tolist() == [True, False]


def test_floats_and_int_float_mixes_are_float64():
    df = records_to_frame([{"rate": 0}, {"rate": 0.5}, {}])
    assert df["rate"].dtype == np.float64
    assert df["rate"].tolist()[:2] == [0.0, 0.5]
    assert math.isnan(df["rate"][2])


def test_repeated_strings_become_categories_unique_ones_stay_object():
    records = [
        {"id": f"id-{i}", "name": f"vm{i}", "status": "running" if i % 3 else "ready"}
        for i in range(6)
    ]
    df = records_to_frame(records)
    assert df["status"].dtype == "category"
    assert list(df["status"].cat.categories) == ["ready", "running"]
    assert df["id"].dtype == "str"
    assert df["name"].dtype == "str"


def test_id_is_never_a_category_even_when_repeated():
    df = records_to_frame([{"id": "same", "zone": "z"}, {"id": "same", "zone": "z"}])
    assert df["id"].dtype == "str"
    assert df["zone"].dtype == "category"


def test_category_rule_edges():
    one_row = records_to_frame([{"zone": "z1"}])
    assert one_row["zone"].dtype == "str"
    mostly_unique = records_to_frame([{"zone": z} for z in ("a", "b", "a")])
    assert mostly_unique["zone"].dtype == "str"  # 2 distinct of 3 > half
    with_gaps = records_to_frame([{"zone": "a"}, {}, {"zone": "a"}, {"zone": "b"}, {"zone": "b"}])
    assert with_gaps["zone"].dtype == "category"
    assert with_gaps["zone"].isna().tolist() == [False, True, False, False, False]


def test_mixed_type_columns_stay_object_with_values_untouched():
    records = [{"x": 1}, {"x": "one"}, {"x": 1.5}, {"x": True}, {"x": [1]}, {}]
    df = records_to_frame(records)
    assert df["x"].dtype == object
    assert df["x"].tolist()[:5] == [1, "one", 1.5, True, [1]]
    assert type(df["x"][3]) is bool
    assert df["x"][5] is None
    bools_and_ints = records_to_frame([{"y": True}, {"y": 2}])
    assert bools_and_ints["y"].tolist() == [True, 2]
    assert type(bools_and_ints["y"][0]) is bool


def test_explicit_nulls_count_as_missing():
    df = records_to_frame([{"n": None, "s": None}, {"n": 5, "s": None}])
    assert str(df["n"].dtype) == "Int64"
    assert df["s"].dtype == object
    assert df["s"].isna().all()


# ----------------------------------------------------------------------------- nesting


def test_small_flat_dicts_are_spread_into_parent_dot_key_columns():
    records = [
        {"id": "a", "metadata": {"env": "prod", "team": "web"}, "zone": "z1"},
        {"id": "b", "metadata": {"env": "prod", "cost": 3}, "zone": "z1"},
        {"id": "c", "zone": "z1"},
    ]
    df = records_to_frame(records)
    assert list(df.columns) == ["id", "metadata.env", "metadata.team", "metadata.cost", "zone"]
    assert df["metadata.env"].dtype == "category"
    assert [None if pd.isna(v) else v for v in df["metadata.team"]] == ["web", None, None]
    assert str(df["metadata.cost"].dtype) == "Int64"


def test_dicts_that_are_not_small_and_flat_are_kept_whole():
    nested = [{"policies": {"system": ["sysadmin"]}}, {"policies": {"project": ["member"]}}]
    assert records_to_frame(nested)["policies"].tolist() == [
        {"system": ["sysadmin"]},
        {"project": ["member"]},
    ]
    wide = [{"tags": {f"k{i}": i for i in range(33)}}]
    assert list(records_to_frame(wide).columns) == ["tags"]
    clash = [{"m": {"a": 1}, "m.a": 2}]
    df = records_to_frame(clash)
    assert list(df.columns) == ["m", "m.a"]
    assert df["m"][0] == {"a": 1}


def test_empty_dicts_are_kept_not_dropped():
    df = records_to_frame([{"id": "z", "_i18n": {}}, {"id": "y", "_i18n": {}}])
    assert df["_i18n"].tolist() == [{}, {}]


def test_lists_stay_whole_and_rows_are_never_exploded():
    nics = [{"ip_addr": "10.0.0.1", "mac": "00:16:3e:00:00:01"}, {"ip_addr": "10.0.0.2"}]
    records = [
        {"id": "a", "nics": nics, "secgroups": ["default", "web"]},
        {"id": "b", "nics": [], "secgroups": ["x", "y"]},
        {"id": "c"},
    ]
    df = records_to_frame(records)
    assert len(df) == 3
    assert df["nics"].dtype == object
    assert df["nics"].tolist() == [nics, [], None]
    assert df["secgroups"][1] == ["x", "y"]


# ----------------------------------------------------------------------------- safety


def test_input_records_are_not_mutated():
    records = servers(50) + [{"id": "q", "metadata": {"a": {"deep": 1}}, "x": [1, {"y": 2}]}]
    before = copy.deepcopy(records)
    records_to_frame(records)
    records_to_frame(records, columns=["metadata.a", "metadata", "x"])
    assert records == before


def test_nothing_is_lost_versus_json_normalize_synthetic():
    records = servers(200)
    records[5]["odd"] = {"deep": {"er": [1, 2]}}
    records[6]["odd"] = "text"
    records[7]["mixed"] = 1
    records[8]["mixed"] = "1"
    assert_nothing_lost(records)


def test_frame_memory_is_deep_and_much_smaller_than_json_normalize():
    records = servers(2000)
    ours, naive = records_to_frame(records), pd.json_normalize(records)
    assert frame_memory(ours) == int(ours.memory_usage(deep=True).sum())
    assert frame_memory(ours) < 0.7 * frame_memory(naive)


# ----------------------------------------------------------------------------- real data


def test_real_zones():
    df = records_to_frame(real_records("region:zones_list"))
    assert list(df.columns[:3]) == ["id", "name", "status"]
    assert len(df) == 3
    assert df["id"].dtype == "str" and df["id"].str.len().eq(36).all()  # D13 uuids
    assert df["name"].dtype == "str"
    assert df["status"].dtype == "category"
    assert df["cloudregion"].dtype == "category"
    for column in ("created_at", "updated_at", "imported_at"):
        assert str(df[column].dtype) == UTC_NS
    assert df["hosts"].dtype == np.int64
    assert df["can_delete"].dtype == np.bool_
    assert df["_i18n"].tolist() == [{}, {}, {}]


def test_real_hosts_spec_is_spread():
    df = records_to_frame(real_records("region:hosts_list"))
    assert df["spec.cpu"].tolist() == [8]
    assert df["spec.mem"].dtype == np.int64
    assert "spec" not in df.columns
    assert df["mem_size"].tolist() == [16384]


def test_real_events_have_integer_ids_and_time_columns():
    df = records_to_frame(real_records("region:events_list"))
    assert df["id"].dtype == np.int64  # event ids are integers
    assert str(df["ops_time"].dtype) == UTC_NS
    assert df["notes"].dtype == "str"  # JSON text stays text


def test_real_keystone_projects():
    df = records_to_frame(real_records("keystone:projects_list"))
    assert df["id"].str.fullmatch(r"[0-9a-f]{32}").all()  # D13 keystone ids
    assert str(df["ext_resources_last_update"].dtype) == UTC_NS
    assert df["ext_resources_last_update"].dt.microsecond.gt(0).all()


def test_real_serverskus_lists_kept_and_rows_kept():
    records = real_records("region:serverskus_list_initial")
    df = records_to_frame(records)
    assert len(df) == len(records) == 38
    assert df["regional_availability"].tolist() == [r["regional_availability"] for r in records]


def test_real_roles_i18n_spread_and_policies_whole():
    records = real_records("keystone:roles_list_limit3")
    df = records_to_frame(records)
    assert "_i18n.description" in df.columns
    assert df["policies"][0] == records[0]["policies"]


def test_real_lists_lose_nothing_and_are_not_mutated():
    bodies = _list_bodies()
    if not bodies:
        pytest.skip(f"real transcripts not available under {TRANSCRIPTS}")
    for records in bodies.values():
        before = copy.deepcopy(records)
        assert_nothing_lost(records)
        assert records == before


def _joined(pages: list[list[dict]]) -> pd.DataFrame:
    """Pages as a list is fetched: parsed by Arrow when it can hold them, else as dicts."""
    chunks = []
    for page in pages:
        parsed = page_table(orjson.dumps({"servers": page}), "servers")
        chunks.append(parsed[0] if parsed is not None else page)
    return pages_to_frame(chunks)


def test_pages_built_one_by_one_join_into_the_frame_of_the_whole_list():
    records = [
        {
            "id": f"i{i}",
            "name": f"vm-{i}",
            "status": ["running", "ready"][i % 2],
            "host": f"h{i % 7}",
            "vcpu_count": 2 ** (i % 6),
            "created_at": "2026-11-26T23:54:23.000000Z",
            "nics": [{"ip": i}],
            **({"gpu": True} if i % 5 == 0 else {}),
            **({"big": 10**6} if i > 80 else {}),
        }
        for i in range(100)
    ]
    whole = records_to_frame(records)
    pages = _joined([records[i : i + 16] for i in range(0, 100, 16)])
    assert list(pages.columns) == list(whole.columns)
    assert {c: str(pages[c].dtype) for c in pages} == {c: str(whole[c].dtype) for c in whole}
    pd.testing.assert_frame_equal(pages, whole)
    assert str(pages["big"].dtype) == "Int64" and str(pages["host"].dtype) == "category"
    assert pages["name"].dtype == "str"  # all distinct: not a category once joined


T1 = "2026-11-26T23:54:23.000000Z"


@pytest.mark.parametrize(
    "pages",
    [
        [
            [{"id": "a", "st": "up"}, {"id": "b", "st": "up"}],
            [{"id": "c"}],
        ],  # a category column absent
        [[{"id": "a", "created_at": T1}], [{"id": "c"}]],  # timestamps absent from a page
        [[{"id": "a", "deleted_at": None}, {"id": "b"}], [{"id": "c", "deleted_at": T1}]],
        [[{"id": "a", "f": True}, {"id": "b"}], [{"id": "c", "f": False}]],  # bools with a gap
        [
            [{"id": "a", "x": T1}, {"id": "b", "x": T1}],
            [{"id": "c", "x": "soon"}, {"id": "d", "x": "soon"}],
        ],
        [
            [{"id": str(i), "m": {f"k{i % 20}": 1}} for i in range(20)],
            [{"id": str(i), "m": {f"k{i}": 1}} for i in range(20, 40)],
        ],  # 40 keys in all: kept whole
        [[{"id": "a", "spec": {"cpu": 1}}], [{"id": "b", "spec": {"cpu": {"n": 2}}}]],
        [
            [{"id": "a", "m": {"k": 1}, "z": 1}],
            [{"id": "b", "m": {"j": 2}, "z": 2}],
        ],  # spread order
        [[{"id": "a", "n": 1}], [{"id": "b", "n": "x"}]],  # int in one page, text in another
        [[{"id": "a", "n": 1}, {"id": "b", "n": 2}], [{"id": "c", "n": 2**40}]],
    ],
    ids=[
        "category-gap",
        "timestamp-gap",
        "all-null-page",
        "bool-gap",
        "timestamp-like-text",
        "many-dict-keys",
        "nested-dict",
        "spread-order",
        "int-then-text",
        "wide-int",
    ],
)
def test_joined_pages_equal_the_whole_list_frame(pages):
    whole = records_to_frame([r for page in pages for r in page])
    joined = _joined(pages)
    assert list(joined.columns) == list(whole.columns)
    assert {c: str(joined[c].dtype) for c in joined} == {c: str(whole[c].dtype) for c in whole}
    pd.testing.assert_frame_equal(joined, whole)
