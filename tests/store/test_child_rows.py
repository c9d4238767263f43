"""The pseudonymised rows kept of a SYNTHETIC Annex A workbook (store/child_rows.py): owner-only,
written once, read back to the same figures (messy variants too), deleted with the workbook."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.derive.months import derive_return, figure_members
from pipelines.ingest.annex_a import read_annex_a
from pipelines.ingest.pseudonyms import ephemeral_key
from pipelines.store.child_rows import delete_rows, has_rows, keep_rows, read_rows, state, stated

SHA = "ab" * 32


@pytest.mark.parametrize("messy", [False, True])
def test_kept_rows_read_back_to_the_same_figures_and_members(home, messy):
    synthetic = synthetic_annex_a(61, children=200)
    read = read_annex_a(workbook_bytes(synthetic, messy=messy, seed=61), synthetic.file_name, ephemeral_key())
    keep_rows(home, SHA, read)
    assert has_rows(home, SHA)
    folder = home.child_level_rows / SHA
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    back = read_rows(home, SHA, synthetic.file_name)
    assert back is not None and (back.la_code, back.extract_date) == (read.la_code, read.extract_date)
    pd.testing.assert_frame_equal(derive_return([back]).rows, derive_return([read]).rows)
    pd.testing.assert_frame_equal(figure_members(back), figure_members(read))
    # Each stock's members are its count: the children open at the month's end, once each.
    rows = derive_return([read]).rows.set_index("period")
    members = figure_members(read)
    left_out = members[members["left_out"].notna()]
    members = members[members["left_out"].isna()]
    for figure in ("cla", "cp_plans", "cin"):
        counted = members[members["figure"] == figure].groupby("period")["child"].nunique()
        assert counted.reindex(rows.index, fill_value=0).tolist() == rows[figure].astype(int).tolist(), figure
    contacts = members[members["figure"] == "contacts"].groupby("period").size()
    assert contacts.reindex(rows.index, fill_value=0).tolist() == rows["contacts"].astype(int).tolist()
    # What a stock leaves out is never what it counts, and says why.
    for (figure, period), left in left_out.groupby(["figure", "period"]):
        counted = set(members.loc[(members["figure"] == figure) & (members["period"] == period), "child"])
        assert not counted & set(left["child"]), (figure, period)
    assert set(left_out["figure"]) <= {"cla", "cp_plans", "cin"}
    keep_rows(home, SHA, read)  # kept once: a second keep leaves them
    assert delete_rows(home, SHA) and not folder.exists() and read_rows(home, SHA, "x") is None


def test_what_the_operator_stated_is_kept_and_deleted_with_the_rows(home):
    import datetime as dt

    assert stated(home, SHA) == (None, None)
    state(home, SHA, "E06000009", dt.date(2024, 1, 31))
    assert stated(home, SHA) == ("E06000009", dt.date(2024, 1, 31))
    delete_rows(home, SHA)
    assert stated(home, SHA) == (None, None)
