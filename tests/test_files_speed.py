"""CSV and JSON are written a column at a time; the text is the same, byte for byte, as the
cell-by-cell writer it replaced. That writer is kept here, as it was, as the reference,
with two fixes: rows are taken by position (a frame whose index is not 0, 1, 2, …, such as
a filtered frame, lost its values: they were aligned on the index), and cells are mapped
without ``Series.map``'s type inference (an object or category column of numbers with a
missing value became float64: the integer 1 was written ``1.0``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gzip
import io
import json
import random

import numpy as np
import pandas as pd
import pytest

from cpexplore.files import (
    cell_value,
    csv_text,
    escape_formula,
    is_missing,
    json_text,
    jsonable,
    read_csv,
    to_csv,
    to_json,
    write_csv,
    write_json,
)
from cpexplore.sandbox.inventory import HOSTILE_NAMES

# -- the reference: the cell-by-cell writer ---------------------------------------------------


def _ref_is_text_like(s: pd.Series) -> bool:
    return (
        s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _ref_iso_column(s: pd.Series) -> pd.Series:
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    present = utc.dropna()
    frac = bool(((present.dt.microsecond != 0) | (present.dt.nanosecond != 0)).any())
    text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f" if frac else "%Y-%m-%dT%H:%M:%S") + "Z"
    return text.astype(object).where(utc.notna(), None)


def _ref_csv_cell(value, escape):
    value = cell_value(value)
    return escape_formula(value) if escape and isinstance(value, str) else value


def _ref_prepare(df, *, escape, nested, index):
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    frame = df.reset_index() if index else df
    frame = frame.set_axis(pd.RangeIndex(len(frame)))  # the fix: rows by position
    out = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[i] = _ref_iso_column(s)
        elif _ref_is_text_like(s):
            values = s.astype(object)
            if nested == "keep":
                cells = [None if is_missing(v) else v for v in values]
            else:
                cells = [_ref_csv_cell(v, escape) for v in values]
            # the second fix: values.map() here made [1, None] floats, written "1.0"
            out[i] = pd.Series(cells, index=values.index, dtype=object)
        else:
            out[i] = s
    names = [str(c) for c in frame.columns]
    if escape:
        names = [escape_formula(n) for n in names]
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    result.columns = names
    return result


def ref_csv_text(df, *, escape_formulas=True, index=None):
    frame = _ref_prepare(df, escape=escape_formulas, nested="json", index=index)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return buf.getvalue()


def ref_json_text(df, *, index=None, indent=None, lines=False):
    frame = _ref_prepare(df, escape=False, nested="keep", index=index)
    cols = list(frame.columns)
    rows = frame.astype(object).to_numpy()
    recs = [
        {c: (None if is_missing(v) else jsonable(v)) for c, v in zip(cols, row, strict=True)}
        for row in rows
    ]
    if lines:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    return json.dumps(recs, ensure_ascii=False, indent=indent)


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


def _diff(got: str, want: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if at is None:
        at = min(len(got), len(want))
    return f"first difference at {at}: got {got[at - 80 : at + 80]!r}, want {want[at - 80 : at + 80]!r}"


# -- same text ------------------------------------------------------------------------------


@pytest.mark.parametrize("escape", [True, False])
def test_csv_is_the_cell_by_cell_text(escape):
    df = varied_frame()
    got, want = csv_text(df, escape_formulas=escape), ref_csv_text(df, escape_formulas=escape)
    assert got == want, _diff(got, want)


@pytest.mark.parametrize(
    ("indent", "lines"),
    [
        (None, False),
        (None, True),
        (0, False),
        (1, False),
        (2, False),
        (4, False),
        ("\t", False),
        (" ", False),
    ],
)
def test_json_is_the_cell_by_cell_text(indent, lines):
    df = json_frame()
    got = json_text(df, indent=indent, lines=lines)
    want = ref_json_text(df, indent=indent, lines=lines)
    assert got == want, _diff(got, want)


def test_every_column_alone_and_every_index_is_the_cell_by_cell_text():
    df = varied_frame(30)
    for c in df.columns:
        one = df[[c]]
        assert csv_text(one) == ref_csv_text(one), c
        if c != "timedelta":
            one = json_frame(30)[[c]]
            assert json_text(one, indent=1) == ref_json_text(one, indent=1), c
    small = json_frame(8)
    variants = {
        "named": small.set_index(pd.Index(list("abcdefgh"), name="key")),
        "unnamed": small.set_index(pd.Index(list("abcdefgh"))),
        "multi": small.set_index(["int8", "bool"]),
        "shifted": small.set_axis(pd.RangeIndex(5, 13)),
        "filtered": small[small["int8"] > small["int8"].median()],
        "columns_multi": small[["int", "text"]].set_axis(
            pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]), axis=1
        ),
        "duplicates": small[["int", "text", "int"]].set_axis(["a", "b", "a"], axis=1),
        "no_rows": small.iloc[:0],
        "one_row": small.iloc[:1],
        "no_columns": small[[]],
        "no_rows_no_columns": pd.DataFrame(),
    }
    for name, frame in variants.items():
        for index in (None, True, False):
            assert csv_text(frame, index=index) == ref_csv_text(frame, index=index), (name, index)
            for indent in (None, 1):
                got = json_text(frame, index=index, indent=indent)
                assert got == ref_json_text(frame, index=index, indent=indent), (name, index)
            assert json_text(frame, index=index, lines=True) == ref_json_text(
                frame, index=index, lines=True
            ), (name, index)


@pytest.mark.parametrize("seed", range(4))
def test_random_lists_and_dicts_are_the_cell_by_cell_text(seed):
    df = pd.DataFrame({"nested": pd.Series(nested_cells(400, seed), dtype=object)})
    assert csv_text(df) == ref_csv_text(df)
    for indent in (None, 1, 2, 3):
        assert json_text(df, indent=indent) == ref_json_text(df, indent=indent), indent


def test_files_and_handles_hold_the_same_bytes(tmp_path):
    df = varied_frame()
    want = ref_csv_text(df).encode()
    assert to_csv(df, tmp_path / "a.csv").read_bytes() == want
    assert to_csv(df, tmp_path / "b.csv", bom=True).read_bytes() == b"\xef\xbb\xbf" + want
    assert gzip.decompress(to_csv(df, tmp_path / "c.csv.gz").read_bytes()) == want
    buf = io.BytesIO()
    write_csv(df, buf, bom=True, escape_formulas=False)
    assert buf.getvalue() == b"\xef\xbb\xbf" + ref_csv_text(df, escape_formulas=False).encode()

    jf = json_frame()
    for indent, lines in [(None, False), (1, False), (None, True)]:
        want = ref_json_text(jf, indent=indent, lines=lines).encode() + (b"" if lines else b"\n")
        assert to_json(jf, tmp_path / "a.json", indent=indent, lines=lines).read_bytes() == want
        buf = io.BytesIO()
        write_json(jf, buf, indent=indent, lines=lines)
        assert buf.getvalue() == want


def test_what_json_cannot_write_still_raises():
    df = pd.DataFrame({"d": pd.Series([decimal.Decimal("1.5")], dtype=object)})
    with pytest.raises(TypeError, match="Decimal"):
        json_text(df)
    with pytest.raises(TypeError, match="Decimal"):
        ref_json_text(df)


def test_text_python_cannot_encode_is_kept_or_refused_as_before(tmp_path):
    df = pd.DataFrame({"s": pd.Series(["ok", "lone \ud800 surrogate"], dtype=object)})
    assert csv_text(df) == ref_csv_text(df)
    assert json_text(df) == ref_json_text(df)
    with pytest.raises(UnicodeEncodeError):
        to_csv(df, tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_filtered_frame_keeps_its_rows():
    df = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"], "t": [["x"], [], None]})
    part = df[df["n"] > 1]  # index 1, 2: not written, but its rows are
    assert csv_text(part, index=False) == '"n","s","t"\n"2","b","[]"\n"3","c",""\n'
    assert json.loads(json_text(part, index=False)) == [
        {"n": 2, "s": "b", "t": []},
        {"n": 3, "s": "c", "t": None},
    ]
    assert read_csv(io.StringIO(csv_text(part, index=False)))["n"].tolist() == [2, 3]


def test_the_servers_list_is_the_cell_by_cell_text(session):
    servers = session.list("servers", scope="max")
    assert csv_text(servers) == ref_csv_text(servers)
    assert json_text(servers, indent=1) == ref_json_text(servers, indent=1)
    assert json_text(servers, lines=True) == ref_json_text(servers, lines=True)


def test_the_column_writer_needs_no_cell_by_cell_fallback(monkeypatch):
    from cpexplore import files

    def fell_back(*args, **kwargs):
        raise AssertionError("the whole frame was written cell by cell")

    monkeypatch.setattr(files, "_prepare", fell_back)
    monkeypatch.setattr(files, "_records", fell_back)
    csv_text(varied_frame())
    for indent in (None, 1, 4):
        json_text(json_frame(), indent=indent)
    json_text(json_frame(), lines=True)


@pytest.mark.parametrize("threads", [False, True])
def test_rows_written_in_chunks_and_by_threads_are_the_same_text(monkeypatch, tmp_path, threads):
    from cpexplore import files

    monkeypatch.setattr(files, "_ROWS", 7)  # many chunks of rows
    monkeypatch.setattr(files, "_WORKERS", 3 if threads else 1)
    monkeypatch.setattr(files, "_PARALLEL_CELLS", 0)
    df, jf = varied_frame(), json_frame()
    assert csv_text(df) == ref_csv_text(df)
    for indent, lines in [(None, False), (1, False), (None, True)]:
        assert json_text(jf, indent=indent, lines=lines) == ref_json_text(
            jf, indent=indent, lines=lines
        )
    buf = io.BytesIO()
    write_csv(df, buf)
    assert buf.getvalue() == ref_csv_text(df).encode()
    gz = to_csv(df, tmp_path / "x.csv.gz", bom=True)
    assert gzip.decompress(gz.read_bytes()) == b"\xef\xbb\xbf" + ref_csv_text(df).encode()
    want = ref_json_text(jf, indent=1).encode() + b"\n"
    assert to_json(jf, tmp_path / "x.json", indent=1).read_bytes() == want
    assert csv_text(df.iloc[:0]) == ref_csv_text(df.iloc[:0])
    assert json_text(jf.iloc[:0]) == "[]"
