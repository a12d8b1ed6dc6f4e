"""The CLI checks what it is given and writes honest output: typos end in exit 2, one line;
JSON carries the raw values; spreadsheet rules (formula escaping, BOM) apply to CSV only."""

from __future__ import annotations

import json

import pytest
from test_cli import assert_one_line_error, cloud, run  # noqa: F401  (cloud is a fixture)

from cpexplore.sandbox.inventory import HOSTILE_NAMES


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["list", "servers", "-c", "nmae"], "did you mean 'name'"),
        (["list", "servers", "--scope", "sytem", "--limit", "3"], "unknown scope 'sytem'"),
        (["list", "servers", "--sort-column", "nmae", "--limit", "3"], "no field 'nmae'"),
        (["list", "servers", "--filter", "nmae.contains('web')"], "no field 'nmae'"),
        (["list", "servers", "--filter", "status.nosuchop('x')"], "unknown filter operator"),
    ],
)
def test_typos_exit_2_with_one_line(cloud, capsys, argv, needle):  # noqa: F811
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert_one_line_error(err, needle)


def test_comma_separated_columns_are_several_columns(cloud, capsys):  # noqa: F811
    rc, out, _ = run(
        capsys,
        "list",
        "servers",
        "--scope",
        "system",
        "-c",
        "name,status",
        "--limit",
        "2",
        "-f",
        "json",
    )
    assert rc == 0
    assert [list(r) for r in json.loads(out)] == [["name", "status"], ["name", "status"]]


def test_a_limit_never_causes_a_drift_warning(cloud, capsys):  # noqa: F811
    rc, _, err = run(capsys, "list", "zones", "--limit", "3")
    assert rc == 0 and "warning" not in err


def test_json_output_keeps_raw_values_and_csv_escapes_formulas(cloud, capsys):  # noqa: F811
    hostile = [n for n in HOSTILE_NAMES if n.startswith(("=", "\t"))]
    rc, out, _ = run(capsys, "list", "servers", "--scope", "system", "-c", "name", "-f", "json")
    names = {r["name"] for r in json.loads(out)}
    assert rc == 0 and set(hostile) <= names
    assert not any(n.startswith("'=") for n in names)
    rc, out, _ = run(capsys, "list", "servers", "--scope", "system", "-c", "name", "-f", "csv")
    assert rc == 0 and "\"'=HYPERLINK" in out
    rc, out, _ = run(
        capsys,
        "list",
        "servers",
        "--scope",
        "system",
        "-c",
        "name",
        "-f",
        "csv",
        "--no-escape-formulas",
    )
    assert '"=HYPERLINK' in out


def test_bom_works_wherever_csv_is_written(cloud, capsys):  # noqa: F811
    for argv in (["list", "zones"], ["catalog"]):
        rc, out, _ = run(capsys, *argv, "-f", "csv", "--bom")
        assert rc == 0 and out.startswith("\ufeff")
        rc, out, _ = run(capsys, *argv, "-f", "json", "--bom")
        assert rc == 0 and not out.startswith("\ufeff")


def test_show_formats_values_like_list(cloud, session, capsys):  # noqa: F811
    row = session.list("servers", scope="system", limit=1).iloc[0]
    rc, out, _ = run(capsys, "show", "servers", row["id"])
    created = next(line for line in out.splitlines() if line.startswith("created_at"))
    assert rc == 0 and created.rstrip().endswith("Z") and ".000000" not in created
    rc, out, _ = run(capsys, "show", "servers", row["id"], "-f", "json")
    assert json.loads(out)["created_at"].endswith("Z")
