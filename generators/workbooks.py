"""Opening output workbooks the one way every generator writes them.

Row by row with constant memory; datetimes with a date format; ticket text always as text
(never a formula, link or number); a fixed creation date, so that the same input gives
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

CREATED = dt.datetime(2000, 1, 1)
OPTIONS = {
    "constant_memory": True,
    "default_date_format": "yyyy-mm-dd hh:mm:ss",
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def new_workbook(path: str | Path, **properties) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook with :data:`OPTIONS` and document ``properties`` (title, comments...)."""
    book = xlsxwriter.Workbook(str(path), OPTIONS)
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
