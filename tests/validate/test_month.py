"""A month's verdict: header and row problems of a file hold back the returns they touch."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.steps.monthly import archive_landing, validate_month
from pipelines.validate.month import cells_json
from schemas.catalogue import all_columns
from tests.conftest import write_return


def test_a_header_error_holds_back_every_return_of_the_file(home, example_rows):
    path = write_return(home.landing / "twice.csv", [r for r in example_rows if r["period"] == "2024-10"])
    header, body = path.read_text().split("\n", 1)
    path.write_text(header + ",cla\n" + "\n".join(line + ",1" for line in body.splitlines()) + "\n")
    archive_landing(home)

    result = validate_month(home, "2024-10", engine="pandas")

    assert result.held_back == ["E06000006", "E06000009"]
    duplicate = result.findings[result.findings["rule"] == "duplicate_column"]
    assert sorted(duplicate["la_code"]) == ["E06000006", "E06000009"] and set(duplicate["sha256"].notna()) == {True}


def test_a_ragged_resubmission_is_held_back_not_replaced_by_the_older_return(home, example_rows):
    write_return(home.landing / "v1.csv", [r for r in example_rows if r["period"] == "2024-10"])
    archive_landing(home)
    path = write_return(home.landing / "v2.csv", [r for r in example_rows if r["period"] == "2024-10"][:1])
    path.write_text(path.read_text().rstrip("\n") + ",99\n")  # one cell too many
    archive_landing(home)

    result = validate_month(home, "2024-10", engine="pandas")

    assert result.held_back == ["E06000009"]
    ragged = result.findings[result.findings["rule"] == "ragged_row"].iloc[0]
    assert (ragged["file"], ragged["row"], ragged["la_code"]) == ("v2.csv", 2, "E06000009")


def test_a_missing_mandatory_column_is_told_apart_from_a_blank_cell_per_file(home, example_rows):
    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "blank.csv", [dict(october[0], cin="")])
    write_return(
        home.landing / "no-cin.csv", [october[1]], [c for c in october[1] if c not in ("cin", "cin_rate_per_10k")]
    )
    archive_landing(home)

    findings = validate_month(home, "2024-10", engine="pandas").findings
    missing = findings[findings["rule"] == "mandatory_missing"].set_index("la_code")["message"]

    assert missing["E06000009"] == "cin is mandatory but it is blank"
    assert missing["E06000006"] == "cin is mandatory but its file has no such column"


def _cells_by_row(text: pd.DataFrame) -> list[dict]:
    """The row-by-row construction `cells_json` replaced (the oracle)."""
    return [{c: text.at[i, c] for c in all_columns() if text.at[i, c] not in (None, "")} for i in text.index]


_CELL = st.one_of(
    st.none(), st.just(""), st.just("x"), st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({c: _CELL for c in ["la_code", "period", "cla", "cla_rate_per_10k", "cin"]}),
        min_size=1,
        max_size=6,
    )
)
def test_cells_json_is_the_row_by_row_json(rows):
    """Whatever the cells hold (quotes, backslashes, newlines, accents, blanks), the columnar JSON
    parses to the dict the row loop built."""
    text = pd.DataFrame.from_records(rows).reindex(columns=all_columns())
    text = text.astype(object).where(text.notna(), None)
    built = cells_json(text)
    assert [json.loads(cell) for cell in built] == _cells_by_row(text)
