"""cpexplore's local filters give the rows the server's rules give, row for row.

cpexplore applies filters on joined fields itself (a real region ignores them), so its
matching must be the server's. The sandbox implements the server's rules independently
(``cpexplore/sandbox/filters.py``, read from Cloudpods' sources and checked against real
exchanges); Hypothesis generates records (missing values, mixed case, unicode, ``%``/``_``,
numbers, times, booleans, lists) and filters (every operator, every arity, ``filter_any``)
and requires the two to agree. A value the field cannot hold must be refused by cpexplore
(where the server would read it as zero).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cpexplore.errors import ConfigError
from cpexplore.lists.decode import records_to_frame
from cpexplore.lists.filters import FILTER_OPS, apply_filters, parse_filter
from cpexplore.sandbox.filters import compile_filters

# text as people name things: ASCII, accents, CJK, spaces, and LIKE's own characters
ALPHABET = "abcAB xyz-_%\\'é É中文0123456789."
WORDS = st.text(alphabet=ALPHABET, max_size=8)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
TIMES = st.integers(min_value=0, max_value=400 * 86400).map(lambda s: BASE + timedelta(seconds=s))

FIELDS = {
    "name": WORDS,
    "n": st.integers(min_value=-5, max_value=20),
    "f": st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 8.25, -3.0]),
    "b": st.booleans(),
    "t": TIMES,
    "tags": st.lists(st.sampled_from(["prod", "dev", "Web"]), max_size=2),
}


def _api_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


@st.composite
def records(draw) -> list[dict]:
    rows = []
    for i in range(draw(st.integers(min_value=1, max_value=12))):
        row: dict = {"id": f"r{i:02d}"}
        for name, values in FIELDS.items():
            if draw(st.booleans()) or name == "name":  # sparse, as real records are
                value = draw(values)
                row[name] = _api_time(value) if name == "t" else value
        rows.append(row)
    return rows


def _arg_text(field: str, value) -> str:
    if field == "t":
        return value.strftime(
            "%Y-%m-%d" if value.hour == value.minute == value.second == 0 else "%Y-%m-%d %H:%M:%S"
        )
    if field == "b":
        return str(value).lower()
    return str(value)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@st.composite
def filters(draw, rows: list[dict]) -> str:
    field = draw(st.sampled_from([*FIELDS, "missing"]))
    op = draw(st.sampled_from(sorted(FILTER_OPS)))
    low, high = FILTER_OPS[op]
    count = draw(st.integers(min_value=low, max_value=min(high if high is not None else 3, 3)))
    seen = [r[field] for r in rows if field in r and field != "tags"]
    pool = FIELDS.get(field, WORDS) if field != "tags" else WORDS

    def one() -> str:
        if op in ("like", "contains", "startswith", "endswith") or field in ("tags", "missing"):
            if seen and draw(st.booleans()):
                text = str(draw(st.sampled_from(seen)))
                cut = draw(st.integers(min_value=0, max_value=len(text)))
                text = text[:cut] if op != "endswith" else text[cut:]
                if op == "like" and text and draw(st.booleans()):
                    text = text[:-1] + draw(st.sampled_from("%_"))
                return text.upper() if draw(st.booleans()) else text
            return draw(WORDS)
        if seen and draw(st.booleans()):
            value = draw(st.sampled_from(seen))
            if field == "t":
                value = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000000Z").replace(tzinfo=UTC)
            if field == "name" and draw(st.booleans()):
                value = value.upper() + draw(st.sampled_from(["", " "]))
            return _arg_text(field, value)
        return _arg_text(field, draw(pool))

    args = ", ".join(_quote(one()) for _ in range(count))
    return f"{field}.{op}({args})"


@st.composite
def cases(draw):
    rows = draw(records())
    exprs = draw(st.lists(filters(rows), min_size=1, max_size=3))
    return rows, exprs, draw(st.booleans())


def _server_rows(rows: list[dict], exprs: list[str], any_: bool) -> list[str]:
    keep = compile_filters(exprs, filter_any=any_)
    return [r["id"] for r in rows if keep(r)]


def _local_rows(rows: list[dict], exprs: list[str], any_: bool) -> list[str]:
    frame = records_to_frame(rows)
    got = apply_filters(frame, [parse_filter(e) for e in exprs], any_=any_)
    return got["id"].tolist()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
@example(([{"id": "a", "name": "Web "}, {"id": "b"}], ["name.equals('web')"], False))
@example(([{"id": "a", "b": True}, {"id": "b", "b": False}], ["b.contains('1')"], False))
@example(([{"id": "a", "f": 2.0}], ["f.like('2')"], False))
@example(([{"id": "a", "t": "2026-01-01T10:00:00.000000Z"}], ["t.contains('+00')"], False))
@example(([{"id": "a", "tags": ["b", "a"]}], ['tags.like(\'["b","a"]\')'], False))
@example(([{"id": "a", "n": 1}, {"id": "b"}], ["n.in()", "n.isnull()"], True))
@example(
    ([{"id": "a", "name": "web-1"}, {"id": "b", "name": "db"}], ["name.equals('WEB-1')"], False)
)
@example(([{"id": "a", "name": "web"}], ["name.startswith('eb')"], False))
@example(([{"id": "a", "name": "web"}], ["name.endswith('we')"], False))
@example(([{"id": "a", "name": "web"}], ["name.like('eb')"], False))
@example(([{"id": "a", "name": "x"}, {"id": "b", "n": 3}], ["name.equals(x)", "n.ge(2)"], True))
def test_local_filters_match_the_servers_rules(case) -> None:
    rows, exprs, any_ = case
    try:
        local = _local_rows(rows, exprs, any_)
    except ConfigError as e:
        # refused: a value the field cannot hold, which the server would read as zero
        assert "is not" in str(e), e
        return
    assert local == _server_rows(rows, exprs, any_), (exprs, any_)


@pytest.mark.parametrize(
    ("expr", "rows"),
    [
        ("n.ge(abc)", [{"id": "a", "n": 3}]),
        ("n.in(1, two)", [{"id": "a", "n": 3}]),
        ("f.lt('1,5')", [{"id": "a", "f": 1.5}]),
        ("b.equals(maybe)", [{"id": "a", "b": True}]),
        ("t.gt('yesterday')", [{"id": "a", "t": "2026-01-01T00:00:00.000000Z"}]),
    ],
)
def test_a_value_the_column_cannot_hold_is_refused_where_the_server_reads_zero(
    expr: str, rows: list[dict]
) -> None:
    with pytest.raises(ConfigError, match="is not"):
        _local_rows(rows, [expr], False)
