"""``details="lean"``: bare rows plus joined columns rebuilt from small lists, equal to the
joined columns a ``details=True`` list carries."""

from __future__ import annotations

import pandas as pd
import pytest

from cpexplore import ConfigError
from cpexplore.lists.info import list_info
from cpexplore.lists.lean import lean_columns


def test_lean_joined_columns_equal_those_of_details_true(session):
    full = session.list("servers", scope="system", refresh=True).set_index("id")
    lean = session.list("servers", scope="system", details="lean", refresh=True).set_index("id")
    assert list_info(lean).params["details"] == "false"
    assert set(lean.index) == set(full.index)
    compared = [c for c in lean_columns("servers") if c in full.columns]
    assert {"host", "zone", "cloudregion", "tenant", "project_domain"} <= set(compared)
    for column in compared:
        a = lean[column].astype(object).reindex(full.index)
        b = full[column].astype(object)
        same = (a == b) | (a.isna() & b.isna())
        assert same.all(), (column, a[~same].head(3).tolist(), b[~same].head(3).tolist())


def test_lean_filters_and_sorts_on_rebuilt_columns(session):
    full = session.list("servers", scope="system")
    zone = full["zone"].dropna().astype(str).iloc[0]
    lean = session.list("servers", scope="system", details="lean", filters=f"zone.equals('{zone}')")
    assert set(lean["id"]) == set(full.loc[full["zone"].astype(object) == zone, "id"])


def test_table_columns_only_leave_details_out(session):
    df = session.list("servers", scope="system", columns=["id", "name", "status"], limit=3)
    assert list_info(df).params["details"] == "false"
    joined = session.list("servers", scope="system", columns=["name", "zone"], limit=3)
    assert list_info(joined).params["details"] == "true"


def test_lean_is_offered_where_it_can_be_rebuilt(session):
    with pytest.raises(ConfigError, match="not offered for zones"):
        session.list("zones", details="lean")
    with pytest.raises(ConfigError, match="True, False or 'lean'"):
        session.list("servers", details="yes")


def test_lean_frames_are_typed_like_full_ones(session):
    lean = session.list("servers", scope="system", details="lean")
    assert isinstance(lean["zone"].dtype, pd.CategoricalDtype)
