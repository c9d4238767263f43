"""Cells as submitted, held in Arrow: a million rows of text in a few hundred MB, not gigabytes.

A parsed return keeps every cell's text beside its typed value (the precision rule reads the
decimals reported, the warehouse keeps the cells as submitted). As Python strings that is about
sixty bytes a cell; as an Arrow string column it is the characters and a four-byte offset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# A column of cells as text: Arrow strings (32-bit offsets), missing (None) where the file has no such column.
TEXT_DTYPE = pd.ArrowDtype(pa.string())


def arrow_text(cells: pd.Series) -> pa.ChunkedArray:
    """The cells of `cells` (text of any pandas dtype) as Arrow strings, without copying Arrow-held text."""
    if isinstance(cells.dtype, pd.ArrowDtype) and pa.types.is_string(cells.dtype.pyarrow_dtype):
        return pa.chunked_array(cells.array._pa_array)
    return pa.chunked_array([pa.array(cells.astype("string").array).cast(pa.string())])


def text_column(cells: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """Arrow strings as a text column of a parsed return (`TEXT_DTYPE`)."""
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(cells).cast(pa.string())), index=index)


def as_text_column(cells: pd.Series) -> pd.Series:
    return text_column(arrow_text(cells), cells.index)


def python_strings(cells: pd.Series, tidy=lambda distinct: distinct) -> pd.Series:
    """`tidy(cells.astype("string"))` with each distinct text made (and tidied) once into a Python
    string shared by the rows that hold it: an authority's code on every one of its rows costs a
    pointer a row. `tidy` maps a "string" Series element by element (strip, upper)."""
    encoded = arrow_text(cells).combine_chunks().dictionary_encode()
    distinct = pd.Series(encoded.dictionary.to_pylist(), dtype="string")
    tidied = tidy(distinct)
    distinct = np.array(list(tidied.astype(object).where(tidied.notna(), None)) + [None], dtype=object)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(
        encoded.indices.is_null().to_numpy(zero_copy_only=False),
        len(distinct) - 1,
        np.nan_to_num(codes, nan=len(distinct) - 1),
    ).astype("int64")
    return pd.Series(pd.array(distinct.take(codes), dtype="string"), index=cells.index)
