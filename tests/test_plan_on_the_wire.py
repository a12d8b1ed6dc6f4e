"""What the server is asked, and what the user gets, for combinations of list arguments.

For a sample of combinations of ``columns=``, table and joined filters, ``filter_any``,
``order_by``/``order``, ``limit`` and ``details``, each list is checked two ways:

* on the wire (the sandbox's request log): table-column filters and sorts are sent, joined
  ones are not; a ``limit`` is sent only when cpexplore has nothing to do itself; ``field=``
  names every field the local work needs; ``details`` is what was asked;
* in the rows: exactly the rows the server's rules give for the whole request (the sandbox's
  own filter functions over full records are the oracle), sorted, and no more than asked.
"""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from cpexplore import Session
from cpexplore.errors import ConfigError
from cpexplore.sandbox import Sandbox
from cpexplore.sandbox.filters import compile_filters

TABLE = "status.equals('running')"
JOINED = "zone.equals('zone0')"
COMBOS = [
    dict(
        columns=columns,
        filters=filters,
        filter_any=any_,
        order_by=order_by,
        order=order,
        limit=limit,
        details=details,
    )
    for columns, filters, any_, order_by, order, limit, details in itertools.product(
        [None, ["name"], ["name", "zone", "vcpu_count"]],
        [[], [TABLE], [JOINED], [TABLE, JOINED]],
        [False, True],
        [None, "vcpu_count", "zone"],
        ["asc", "desc"],
        [None, 7],
        [True, False, "lean"],
    )
    if not (any_ and len(filters) < 2)
]
SAMPLE = random.Random(20261207).sample(COMBOS, 90)


@pytest.fixture(scope="module")
def box():
    with Sandbox(servers=400, seed=3) as sb:
        yield sb


@pytest.fixture(scope="module")
def s(box):
    with Session(**box.settings(), env={}, progress=False, cache_ttl=0) as session:
        yield session


@pytest.fixture(scope="module")
def records(box) -> list[dict]:
    """Every server as a details=true record: what the server's rules see."""
    table = box.inventory.tables["servers"]
    return [table.record(i) for i in table.live_rows() if table.region[i] == box.region]


def _key(value):
    if value is None or pd.isna(value):
        return (0, "")
    return (1, value.lower() if isinstance(value, str) else value)


def _label(combo: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in combo.items() if v not in (None, [], False))


@pytest.mark.parametrize("combo", SAMPLE, ids=[_label(c) for c in SAMPLE])
def test_the_server_is_asked_for_what_it_applies_and_the_rows_are_the_servers(
    combo: dict, box, s, records
) -> None:
    joined = any(f == JOINED for f in combo["filters"]) or combo["order_by"] == "zone"
    start = len(box.asked("/servers"))
    try:
        df = s.list("servers", scope="system", **combo)
    except ConfigError as e:  # only a joined field asked without the details that bring it
        assert combo["details"] is False and joined, e
        assert len(box.asked("/servers")) == start, "refused before any request"
        return
    sent = box.asked("/servers")[start:]
    assert sent, "the list asked the server"
    query = sent[0][2]

    # -- on the wire -------------------------------------------------------------------------
    filters_sent = query.get("filter", [])
    local_or = combo["filter_any"] and JOINED in combo["filters"]
    assert (TABLE in filters_sent) == (TABLE in combo["filters"] and not local_or)
    assert JOINED not in filters_sent  # the real region would ignore it
    if combo["order_by"] == "vcpu_count":
        assert query["order_by"] == ["vcpu_count"] and query["order"] == [combo["order"]]
    else:
        assert "order_by" not in query
    local = (JOINED in combo["filters"]) or combo["order_by"] == "zone"
    if combo["limit"] and not local:
        assert query["limit"] == [str(combo["limit"])] and len(sent) == 1
    if local:
        assert int(query["limit"][0]) > (combo["limit"] or 0), "every row is fetched"
    if combo["columns"] is not None:
        fields = set(query.get("field", []))
        needed = {c for c in combo["columns"] if c != "zone" or combo["details"] is True}
        if JOINED in combo["filters"] and combo["details"] is True:
            needed.add("zone")
        assert needed <= fields | {"zone"} - ({"zone"} if combo["details"] is True else set())
        if combo["details"] == "lean":
            assert "host_id" in fields  # what the lean join needs comes along
    named = [*(combo["columns"] or ["*"]), *(f.split(".")[0] for f in combo["filters"])]
    named += [combo["order_by"]] if combo["order_by"] else []
    # details=True with only table columns named is sent as details=false: the joins cost
    # the server most of a page's time and nothing asked needs them
    bare = set(named) <= {"name", "status", "vcpu_count"}
    assert query["details"] == ["true" if combo["details"] is True and not bare else "false"]

    # -- in the rows -------------------------------------------------------------------------
    keep = compile_filters(combo["filters"], filter_any=combo["filter_any"])
    expected = [r for r in records if keep(r)]
    assert len(df) == (len(expected) if combo["limit"] is None else min(7, len(expected)))
    if combo["columns"] is not None:
        assert list(df.columns) == combo["columns"]
    by_name: dict[str, list[dict]] = {}
    for r in records:
        by_name.setdefault(r["name"], []).append(r)
    # a name two servers share stands for either of them
    got = [[r for r in by_name[n] if keep(r)] for n in df["name"]]
    assert all(got), "every row returned matches"
    if combo["order_by"]:
        field = combo["order_by"]
        keys = [
            _key(df[field].iloc[i])
            if field in df.columns
            else _key(rows[0].get(field))
            if len(by_name[df["name"].iloc[i]]) == 1
            else None  # a shared name: either row's value
            for i, rows in enumerate(got)
        ]
        want = sorted((_key(r.get(field)) for r in expected), reverse=combo["order"] == "desc")
        pairs = [(k, w) for k, w in zip(keys, want, strict=False) if k is not None]
        assert all(k == w for k, w in pairs), "sorted as the server sorts, the true top rows"
    if combo["limit"] is None:
        assert sorted(df["name"]) == sorted(r["name"] for r in expected)


def test_a_joined_filter_with_one_column_asked_returns_the_matching_rows(s, records) -> None:
    """columns=['name'] with a filter on a joined field once asked the server for too few
    fields and returned no row at all."""
    df = s.list("servers", scope="system", columns=["name"], filters=JOINED)
    want = sorted(r["name"] for r in records if r.get("zone") == "zone0")
    assert want and sorted(df["name"]) == want


def test_filter_any_ors_a_joined_and_a_table_filter(s, records) -> None:
    df = s.list("servers", scope="system", filters=[TABLE, JOINED], filter_any=True)
    want = {r["name"] for r in records if r.get("status") == "running" or r.get("zone") == "zone0"}
    both = {r["name"] for r in records if r.get("status") == "running" and r.get("zone") == "zone0"}
    assert set(df["name"]) == want and want != both


def test_filter_any_on_table_columns_is_sent_as_filter_any(box, s, records) -> None:
    exprs = [TABLE, "vcpu_count.ge(8)"]
    start = len(box.asked("/servers"))
    df = s.list("servers", scope="system", filters=exprs, filter_any=True)
    query = box.asked("/servers")[start][2]
    assert query["filter"] == exprs and query["filter_any"] == ["true"]
    keep = compile_filters(exprs, filter_any=True)
    assert sorted(df["name"]) == sorted(r["name"] for r in records if keep(r))
    assert len(df) > len(s.list("servers", scope="system", filters=exprs))
