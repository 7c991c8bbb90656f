"""Opening output workbooks the one way every generator writes them.

Row by row with constant memory; datetimes with a date format; ticket text always as text
(never a formula, link or number); a fixed creation date, so that the same input gives
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
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
