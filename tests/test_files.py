"""CSV and JSON written a column at a time: what comes back is what went in.

The oracle is the values, not the bytes: a CSV cell reads back as the text of
:func:`~cpexplore.files.cell_value` (formula-escaped, for CSV only), a number as the same
number; a JSON value parses back to :func:`~cpexplore.files.jsonable` of the cell, a time to
the same instant. ``varied_frame`` holds every kind of column a frame can have, with hostile
text, odd floats, nested lists and dicts, and every kind of index.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gzip
import io
import json
import math
import random

import numpy as np
import pandas as pd
import pytest

from cpexplore.files import (
    cell_value,
    escape_formula,
    is_missing,
    jsonable,
    read_csv,
    to_csv,
    to_json,
)
from cpexplore.sandbox.inventory import HOSTILE_NAMES

# -- frames -----------------------------------------------------------------------------------

TEXTS = [
    *HOSTILE_NAMES,
    "=1+1",
    "+SUM(1,2)",
    "-2+3",
    "@import",
    "\tindented",
    "\rcr",
    "\nlf",
    "'=already",
    "''@twice",
    "'quoted",
    "-3",
    "+1.5e3",
    "-.5",
    "1e5",
    "-٣",  # an Arabic-Indic 3: a number to Python's \d, so not escaped
    "-３",  # a fullwidth 3, likewise
    "web-1",
    "",
    " ",
    'say "hi"',
    '"',
    '""',
    "back\\slash",
    'q\\"uote',
    "a,b\nc\r\nd",
    "ctrl\x01\x1f\x7f",
    "\x00nul",
    "测试服务器-北京",
    "emoji 🚀",
    "\u2028line sep",
    "None",
    "nan",
    "null",
    "True",
]

NESTED = [
    [],
    {},
    [[]],
    [{}],
    {"a": []},
    {"a": {}},
    ["a", 1, -2, 3.5, True, False, None],
    {"k": "v", "n": 1},
    [{"ip": "10.0.0.1", "mac": "00:22:00:02:49:ed"}],
    {"x": 1e-05, "y": 1e16, "z": 0.1, "w": -0.0, "v": 1.5e300, "u": 2.5e-7, "t": 123456.789},
    [1e-05, [1e16, [0.0001, {"deep": [[[1e-7]]]}]]],
    {"nan": float("nan"), "inf": float("inf"), "list": [float("-inf")]},
    {"quote": 'a "b" c', "bs": "c:\\path\\x", "nl": "one\ntwo", "tab": "\t", "ctl": "\x00\x1f"},
    {"unicode": "测试", "emoji": "🚀", "ls": "\u2028"},
    {"s": "=1+1", "t": "-3"},
    ("a", "tuple"),
    [("nested", "tuple"), {"t": (1, 2)}],
    {1: "int key", 2.5: "float key"},
    {True: "bool key", None: "none key"},
    {"big": 2**70},
    {"np": np.int64(3), "npf": np.float64(0.5), "npb": np.bool_(True)},
    {"when": pd.Timestamp("2026-01-02 03:04:05", tz="UTC"), "day": dt.date(2026, 1, 2)},
    {"set": {1}},
    [np.array([1, 2])],
    {"index": 0, "size": 40960, "neg": -5, "float": 3.0},
    [[[[[[[["eight deep"]]]]]]]],
    ["a,b", "c:d", "e, f", "g: h", '",', "\\", '\\"'],
]


def nested_cells(n: int, seed: int = 0) -> list:
    """Lists and dicts as an API returns them, with a share of odd ones."""
    rng = random.Random(seed)

    def value(depth: int):
        r = rng.random()
        if depth > 3 or r < 0.35:
            return rng.choice(
                [
                    rng.randint(-(2**40), 2**40),
                    rng.random() * 10 ** rng.randint(-8, 20),
                    rng.choice(TEXTS),
                    True,
                    None,
                    0,
                    -0.0,
                ]
            )
        if r < 0.7:
            return {
                rng.choice(["a", "b", "name", "ip", "x y", '"q"']): value(depth + 1)
                for _ in range(rng.randint(0, 4))
            }
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    cells = []
    for i in range(n):
        if i % 7 == 0:
            cells.append(NESTED[i // 7 % len(NESTED)])
        elif i % 11 == 0:
            cells.append(None)
        else:
            cells.append(value(0) if rng.random() < 0.5 else [value(1)])
    return [c if isinstance(c, list | dict | tuple) or c is None else [c] for c in cells]


def varied_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    texts = [TEXTS[i % len(TEXTS)] for i in range(n)]
    with_na = [None if i % 5 == 0 else t for i, t in enumerate(texts)]
    base = pd.Timestamp("2026-11-26 23:54:23", tz="UTC")
    ns = pd.Series(base + pd.to_timedelta(rng.integers(-(10**18), 10**18, n), unit="ns"))
    floats = rng.normal(0, 1e6, n) * 10.0 ** rng.integers(-12, 20, n)
    floats[:8] = [np.nan, np.inf, -np.inf, 1e-05, 1e16, 0.1, -0.0, 1.0]
    cats = pd.Categorical([t if i % 3 else None for i, t in enumerate(texts)])
    mixed = [
        "text",
        "=formula",
        3,
        -2.5,
        float("nan"),
        True,
        np.int64(7),
        np.float64(1e-05),
        np.bool_(False),
        pd.Timestamp("2026-01-02 03:04:05.25", tz="Asia/Shanghai"),
        dt.datetime(2026, 1, 2, 3, 4, 5),
        dt.date(2026, 1, 2),
        decimal.Decimal("1.50"),
        decimal.Decimal("NaN"),
        None,
        pd.NA,
        pd.NaT,
        ["a", 1],
        {"k": "v"},
        ("t",),
        {1, 2},
        np.array([1.5, 2]),
        2**70,
    ]
    return pd.DataFrame(
        {
            "text": pd.array(with_na, dtype="str"),
            "text_python": pd.array(with_na, dtype=pd.StringDtype("python")),
            "text_object": pd.Series(with_na, dtype=object),
            "mixed": pd.Series([mixed[i % len(mixed)] for i in range(n)], dtype=object),
            "nested": pd.Series(nested_cells(n), dtype=object),
            "int": rng.integers(-(2**62), 2**62, n),
            "int8": rng.integers(-128, 127, n).astype("int8"),
            "uint": np.full(n, 2**64 - 1, dtype="uint64"),
            "Int64": pd.array(
                [None if i % 4 == 0 else i * -(10**15) for i in range(n)], dtype="Int64"
            ),
            "UInt8": pd.array([None if i % 4 == 1 else i % 256 for i in range(n)], dtype="UInt8"),
            "float": floats,
            "float32": floats.astype("float32"),
            "Float64": pd.array(
                [None if i % 4 == 2 else 0.1 * i for i in range(n)], dtype="Float64"
            ),
            "bool": rng.random(n) < 0.5,
            "all_true": np.ones(n, dtype=bool),
            "boolean": pd.array(
                [None if i % 3 == 0 else i % 2 == 0 for i in range(n)], dtype="boolean"
            ),
            "category": cats,
            "category_one": pd.Categorical(["only"] * n),
            "category_empty": pd.Categorical([None] * n, categories=[]),
            "category_int": pd.Categorical([i % 4 if i % 5 else None for i in range(n)]),
            "category_time": pd.Categorical(
                [base + pd.Timedelta(seconds=i % 3, microseconds=i % 2) for i in range(n)]
            ),
            "at_ns": ns.where(np.arange(n) % 6 != 0),
            "at_whole": pd.Series(
                base.floor("s") - pd.to_timedelta(np.arange(n) * 86399, unit="s")
            ),
            "at_nanos_only": pd.Series(
                base.floor("s") + pd.to_timedelta(np.arange(n) % 2, unit="ns")
            ),
            "at_naive": pd.Series(
                pd.date_range("1969-12-31 23:59:58", periods=n, freq="1234567us")
            ),
            "at_shanghai": pd.Series(
                pd.date_range("2026-01-01", periods=n, freq="7h", tz="Asia/Shanghai")
            ),
            "at_us": pd.Series(
                pd.array(
                    [
                        np.datetime64("1500-01-01T00:00:00.5") + np.timedelta64(i, "D")
                        for i in range(n)
                    ],
                    dtype="datetime64[us]",
                )
            ),
            "at_ms": pd.Series(pd.date_range("2026-01-01", periods=n, freq="1500ms").as_unit("ms")),
            "at_nat": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
            "timedelta": pd.Series(pd.to_timedelta(np.arange(n), unit="s")),
            '=name "quoted"': np.arange(n),
            3: np.arange(n),
        }
    )


def json_frame(n: int = 60) -> pd.DataFrame:
    """:func:`varied_frame` without what json.dumps cannot write (Decimal, timedelta)."""
    df = varied_frame(n).drop(columns=["timedelta"])
    mixed = df["mixed"].map(lambda v: float(v) if isinstance(v, decimal.Decimal) else v)
    return df.assign(mixed=mixed)


# -- the oracle --------------------------------------------------------------------------------


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def want_cell(value, *, escape: bool = True) -> str:
    """The text a CSV cell holds for ``value``: its cell value, formula-escaped text."""
    plain = cell_value(value)
    if plain is None:
        return ""
    if isinstance(plain, str):
        return escape_formula(plain) if escape else plain
    return str(plain)


def same_cell(got: str, want: str) -> bool:
    """Equal texts, texts of the same number (a float is written its shortest way), or of
    the same instant to the microsecond (a column's times share one form)."""
    if got == want:
        return True
    if got.endswith("Z") and want.endswith("Z"):
        try:
            return pd.Timestamp(got).floor("us") == pd.Timestamp(want).floor("us")
        except ValueError:
            return False
    try:
        a, b = float(got), float(want)
    except ValueError:
        return False
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_csv_holds(frame: pd.DataFrame, text: str, *, escape: bool = True) -> None:
    index = not isinstance(frame.index, pd.RangeIndex)
    out = frame.reset_index() if index else frame
    rows = csv_cells(text)
    names = [str(c) for c in out.columns]
    assert rows[0] == ([escape_formula(n) if escape else n for n in names] if names else [])
    assert len(rows) - 1 == len(out)
    for i, row in enumerate(rows[1:]):
        for j, got in enumerate(row):
            want = want_cell(out.iloc[i, j], escape=escape)
            assert same_cell(got, want), (names[j], i, got, want)


def json_value(got, value):
    """Whether a parsed JSON value stands for ``value`` (a time: the same instant)."""
    want = jsonable(value) if not is_missing(value) or isinstance(value, list | dict) else None
    if isinstance(want, str) and isinstance(got, str) and want.endswith("Z") and got.endswith("Z"):
        try:
            return pd.Timestamp(got) == pd.Timestamp(want)
        except ValueError:
            pass
    if isinstance(want, float) and isinstance(got, int | float):
        return got == want
    return got == want


def assert_json_holds(frame: pd.DataFrame, text: str, *, lines: bool = False) -> None:
    index = not isinstance(frame.index, pd.RangeIndex)
    out = frame.reset_index() if index else frame
    # JSON Lines are split at "\n" only: U+2028 inside a string is no line break
    records = [json.loads(r) for r in text.split("\n")[:-1]] if lines else json.loads(text)
    assert len(records) == len(out)
    names = [str(c) for c in out.columns]
    for i, rec in enumerate(records):
        assert list(rec) == names
        for j, name in enumerate(names):
            assert json_value(rec[name], out.iloc[i, j]), (name, i, rec[name], out.iloc[i, j])


# -- what comes back ---------------------------------------------------------------------------


@pytest.mark.parametrize("escape", [True, False])
def test_every_csv_cell_reads_back_as_its_cell_value(escape):
    df = varied_frame()
    assert_csv_holds(df, to_csv(df, escape_formulas=escape), escape=escape)


@pytest.mark.parametrize("lines", [False, True])
def test_every_json_value_parses_back_to_the_value(lines):
    df = json_frame()
    assert_json_holds(df, to_json(df, lines=lines), lines=lines)


def test_formula_escaping_is_for_csv_only():
    df = pd.DataFrame({"name": ["=HYPERLINK(1)", "-3", "@x", "web"]})
    assert [r[0] for r in csv_cells(to_csv(df))[1:]] == ["'=HYPERLINK(1)", "-3", "'@x", "web"]
    assert [r["name"] for r in json.loads(to_json(df))] == list(df["name"])


def test_every_column_alone_and_every_index():
    df, jf = varied_frame(30), json_frame(30)
    for c in df.columns:
        assert_csv_holds(df[[c]], to_csv(df[[c]]))
        if c in jf.columns:
            assert_json_holds(jf[[c]], to_json(jf[[c]]))
    small = json_frame(8)
    variants = {
        "named": small.set_index(pd.Index(list("abcdefgh"), name="key")),
        "unnamed": small.set_index(pd.Index(list("abcdefgh"))),
        "multi": small.set_index(["int8", "bool"]),
        "shifted": small.set_axis(pd.RangeIndex(5, 13)),
        "filtered": small[small["int8"] > small["int8"].median()],
        "no_rows": small.iloc[:0],
        "one_row": small.iloc[:1],
        "no_columns": small[[]],
        "no_rows_no_columns": pd.DataFrame(),
    }
    for name, frame in variants.items():
        assert_csv_holds(frame, to_csv(frame)), name
        assert_json_holds(frame, to_json(frame)), name
        assert_json_holds(frame, to_json(frame, lines=True), lines=True), name
    assert csv_cells(to_csv(variants["filtered"], index=False))[0][0] == "text"


@pytest.mark.parametrize("seed", range(4))
def test_random_lists_and_dicts_come_back(seed):
    df = pd.DataFrame({"nested": pd.Series(nested_cells(400, seed), dtype=object)})
    assert_csv_holds(df, to_csv(df))
    assert_json_holds(df, to_json(df))


def test_text_files_and_handles_hold_the_same_bytes(tmp_path):
    df = varied_frame()
    text = to_csv(df)
    assert to_csv(df, tmp_path / "a.csv").read_bytes() == text.encode()
    assert to_csv(df, tmp_path / "b.csv", bom=True).read_bytes() == b"\xef\xbb\xbf" + text.encode()
    assert gzip.decompress(to_csv(df, tmp_path / "c.csv.gz").read_bytes()) == text.encode()
    buf = io.BytesIO()
    assert to_csv(df, buf, bom=True, escape_formulas=False) is None
    assert buf.getvalue() == b"\xef\xbb\xbf" + to_csv(df, escape_formulas=False).encode()
    sink = io.StringIO()
    to_csv(df, sink)
    assert sink.getvalue() == text
    jf = json_frame()
    for lines in (False, True):
        want = to_json(jf, lines=lines).encode()
        assert to_json(jf, tmp_path / "a.json", lines=lines).read_bytes() == want
        buf = io.BytesIO()
        to_json(jf, buf, lines=lines)
        assert buf.getvalue() == want


def test_csv_reads_back_with_its_types():
    df = pd.DataFrame(
        {
            "n": pd.array([1, None, -(2**62)], dtype="Int64"),
            "f": [2.0, 0.1, float("inf")],
            "b": [True, False, True],
            "t": pd.to_datetime(
                ["2026-01-02T03:04:05Z", None, "2020-01-01T00:00:00.5Z"], utc=True, format="ISO8601"
            ).as_unit("ns"),
            "l": [["a"], {"k": 1}, None],
            "s": ["=x", "1.50", "007"],
        }
    )
    back = read_csv(io.StringIO(to_csv(df)))
    assert [str(t) for t in back.dtypes] == [
        "Int64",
        "float64",
        "bool",
        "datetime64[ns, UTC]",
        "object",
        "object",
    ]
    pd.testing.assert_frame_equal(back.drop(columns=["s", "l"]), df.drop(columns=["s", "l"]))
    assert back["s"].tolist() == ["=x", "1.50", "007"] and back["l"].tolist() == df["l"].tolist()


def test_what_json_cannot_write_still_raises():
    df = pd.DataFrame({"d": pd.Series([decimal.Decimal("1.5")], dtype=object)})
    with pytest.raises(TypeError, match="Decimal"):
        to_json(df)


def test_text_python_cannot_encode_is_refused_and_nothing_written(tmp_path):
    df = pd.DataFrame({"s": pd.Series(["ok", "lone \ud800 surrogate"], dtype=object)})
    with pytest.raises(UnicodeEncodeError):
        to_csv(df, tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_filtered_frame_keeps_its_rows():
    df = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"], "t": [["x"], [], None]})
    part = df[df["n"] > 1]  # index 1, 2: not written, but its rows are
    assert to_csv(part, index=False) == '"n","s","t"\n"2","b","[]"\n"3","c",""\n'
    assert json.loads(to_json(part, index=False)) == [
        {"n": 2, "s": "b", "t": []},
        {"n": 3, "s": "c", "t": None},
    ]
    assert read_csv(io.StringIO(to_csv(part, index=False)))["n"].tolist() == [2, 3]


def test_the_servers_list_comes_back(session):
    servers = session.list("servers", scope="max")
    assert_csv_holds(servers, to_csv(servers))
    assert_json_holds(servers, to_json(servers))
    assert_json_holds(servers, to_json(servers, lines=True), lines=True)
