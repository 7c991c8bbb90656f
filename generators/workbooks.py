"""Opening output workbooks the one way every generator writes them.

Row by row with constant memory; datetimes with a date format; ticket text always as text
(never a formula, link or number); a fixed creation date, so that the same input gives
byte-identical files; written whole or not at all (:class:`SafeWorkbook`).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
import xlsxwriter.exceptions

from generators.safe_files import atomic_output

CREATED = dt.datetime(2000, 1, 1)
OPTIONS = {
    "constant_memory": True,
    "default_date_format": "yyyy-mm-dd hh:mm:ss",
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


class SafeWorkbook(xlsxwriter.Workbook):
    """An xlsxwriter workbook that :meth:`close` writes to a temporary file beside its target and
    then puts in the target's place (:func:`~generators.safe_files.atomic_output`): a kill, a full
    disk or a locked target leaves the earlier file as it was, and the problem is a
    :class:`~udfs.errors.KaoheError` naming the file, not a traceback."""

    def close(self) -> None:
        if self.fileclosed:
            return
        target = Path(self.filename)
        with atomic_output(target) as temporary:
            self.filename = str(temporary)
            try:
                super().close()
            except xlsxwriter.exceptions.FileCreateError as err:  # xlsxwriter's wrapper of an OSError
                raise (err.args[0] if err.args and isinstance(err.args[0], OSError) else OSError(str(err))) from err
            finally:
                self.filename = str(target)


def new_workbook(path: str | Path, **properties) -> SafeWorkbook:
    """An xlsxwriter workbook (:class:`SafeWorkbook`) with :data:`OPTIONS` and document
    ``properties`` (title, comments...)."""
    book = SafeWorkbook(str(path), OPTIONS)
    book.set_properties({"author": "kaohe", **properties, "created": CREATED})
    return book


def write_rows(rows: Sequence[Sequence], path: str | Path, sheet: str, *, widths: Sequence[float] = (),
               **properties) -> None:
    """A small table as one sheet of an .xlsx, each value keeping its type: text as text (never a
    formula), numbers, booleans, dates; None, "" and NaN as empty cells. ``widths`` per column."""
    book = new_workbook(path, title=sheet, **properties)
    page = book.add_worksheet(sheet)
    for j, width in enumerate(widths):
        page.set_column(j, j, width)
    for i, row in enumerate(rows or ()):
        for j, value in enumerate(row):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, str):
                if value:
                    page.write_string(i, j, value)
            elif isinstance(value, bool):
                page.write_boolean(i, j, value)
            elif isinstance(value, numbers.Real):  # numpy numbers too
                page.write_number(i, j, float(value))
            elif isinstance(value, (dt.datetime, dt.date)):
                page.write_datetime(i, j, value)
            else:
                page.write_string(i, j, str(value))
    book.close()


def utf16_length(text: str) -> int:
    """Length as Excel counts it (UTF-16 units: 𠮷 counts 2)."""
    return len(str(text).encode("utf-16-le")) // 2


# -- Excel's limits: nothing is cut silently ------------------------------------------------------------
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
EXCEL_TEXT = 32_767          # characters in one cell
TEXT_KEPT = 32_000           # what stays in the cell of a longer text, before the pointer to the rest
LONG_TEXT_SHEET = "长文本"


def row_parts(count: int, header_rows: int = 1, footer_rows: int = 0) -> list[tuple[int, int]]:
    """``(start, stop)`` of the rows each sheet of a table holds when ``count`` rows do not fit in
    one (Excel's 1,048,576 rows, less the header and footer); one part for an empty table."""
    capacity = EXCEL_ROWS - header_rows - footer_rows
    return [(start, min(start + capacity, count)) for start in range(0, count, capacity)] or [(0, 0)]


def part_name(name: str, k: int) -> str:
    """The sheet holding part ``k`` (0 = the first) of a table: 台账, 台账(续1), 台账(续2) ..."""
    return name if k == 0 else f"{name}(续{k})"


def split_long_texts(frame: pd.DataFrame, key: str, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text cells longer than a cell holds keep their first :data:`TEXT_KEPT` characters and a
    pointer to the :data:`LONG_TEXT_SHEET` sheet, which gets the whole text in pieces (``key``
    names the row: the ticket id). Returns the frame (a copy only when something was long) and
    the pieces (表, 工单号, 列, 段, 内容)."""
    pieces = []
    changed = {}
    for column in [c for c, dtype in frame.dtypes.items() if dtype == object or pd.api.types.is_string_dtype(dtype)]:
        values = frame[column]
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:  # counted without a Python loop
            lengths = values.str.len().fillna(0).to_numpy(np.int64)
        else:
            lengths = np.fromiter((len(v) if type(v) is str else 0 for v in values), dtype=np.int64, count=len(values))
        for i in np.flatnonzero(lengths > EXCEL_TEXT):
            text = values.iloc[i]
            parts = [text[k:k + TEXT_KEPT] for k in range(0, len(text), TEXT_KEPT)]
            ticket = "" if key not in frame.columns else str(frame[key].iloc[i])
            pieces += [(table, ticket, str(column), n, part) for n, part in enumerate(parts, start=1)]
            changed.setdefault(column, values.copy()).iloc[i] = (
                f"{text[:TEXT_KEPT]}…(全文 {len(text)} 字，超出单元格上限，分 {len(parts)} 段见“{LONG_TEXT_SHEET}”表)")
    if changed:
        frame = frame.assign(**changed)
    return frame, pd.DataFrame(pieces, columns=["表", "工单号", "列", "段", "内容"])
