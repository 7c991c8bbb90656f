"""A ticket export read column by column: every cell as text, each column one Arrow string array.

:func:`read_columns` is the import's reader. It never builds a Python object per cell:

* **.xlsx/.xlsm** — each sheet's XML is streamed once and read with array operations
  (:mod:`generators.sheet_xml`), its area checked before any column is made. A cell reads as
  the text a user sees (python-calamine's value as :func:`generators.tickets._cell_text` shows
  it): text as typed, whole numbers without ``.0`` (``13800138000``), dates and times as
  ``YYYY-MM-DD HH:MM:SS`` (``.fff`` when they carry milliseconds), TRUE/FALSE for booleans.
  Because a number cell and numeric text then read alike, :attr:`Columns.typed` says that
  the time columns' numbers are Excel serials. A sheet spelt otherwise (namespace prefixes,
  rich text in a cell ...) is read by python-calamine, after :func:`generators.input_files.sheet_area`.
* **.csv** — pyarrow's CSV reader, every column as text, quoted line breaks kept inside their
  record (one row per record, as Excel numbers them). A file pyarrow cannot take exactly as
  the ``csv`` module reads it — not UTF-8 (GB18030, UTF-16), rows of different lengths, a
  quote that never closes — is read by :func:`generators.tickets.read_grids` instead (the same
  result, more slowly), so its rows, numbers and messages do not change.

Empty cells are ``""``; nothing is ever null.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from generators.input_files import check_area, check_csv_size, open_archive, sheet_area, workbook_parts
from generators.sheet_xml import date_styles, read_sheet, shared_strings
from udfs.errors import KaoheError

CSV_SNIFF_BYTES = 20_000
_ALL_TEXT = {f"f{j}": pa.string() for j in range(16_384)}  # every column read as text (pyarrow names them f0, f1, ...)


@dataclasses.dataclass
class Columns:
    """One sheet (or a CSV file) as text columns of equal length, row 0 = the file's first row."""

    name: str
    hidden: bool
    columns: list[pa.Array]
    typed: bool  # True for a workbook: numbers in time columns are Excel serials, not typed text

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def head(self, rows: int) -> np.ndarray:
        """The first ``rows`` rows as an object matrix of text (for finding the header)."""
        if not self.columns:
            return np.empty((0, 0), dtype=object)
        return np.column_stack([column.slice(0, rows).to_numpy(zero_copy_only=False) for column in self.columns])


def _text(column: pa.Array) -> pa.Array:
    """A column (an array or chunked array) as non-null text."""
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    return column.fill_null("") if column.null_count else column


def _workbook_columns(path: Path, kind: str):
    with open_archive(path, kind) as archive:
        sheets, parts = workbook_parts(archive)
        names = set(archive.namelist())
        strings = parts.get("sharedStrings")
        sst = shared_strings(archive.read(strings)) if strings in names else pa.array([], pa.string())
        styles = parts.get("styles")
        dates = date_styles(archive.read(styles)) if styles in names else np.zeros(1, dtype=bool)
        for name, hidden, part in sheets:
            columns = (read_sheet(archive, part, sst, dates, lambda rows, width, name=name:
                                  check_area(path, kind, name, rows, width))
                       if part in names else [])
            if columns is None:  # spelt otherwise: its area checked, then python-calamine reads it
                sheet_area(archive, path, kind, name, part)
                columns = _calamine_sheet(path, kind, name)
            yield Columns(str(name), hidden, [_text(c) for c in columns], typed=True)


def _calamine_sheet(path: Path, kind: str, name: str) -> list[pa.Array]:
    """One sheet by python-calamine (the slow reader, for sheets spelt otherwise): each cell as
    :func:`generators.tickets._cell_text` shows it, a time with milliseconds keeping them."""
    from generators.input_files import open_workbook
    from generators.tickets import _cell_text

    book, _ = open_workbook(path, kind)
    try:
        cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as err:
        raise KaoheError(f"{kind} {path.name}: 工作表“{name}”无法读取({err})",
                         f"{path.name}: cannot read sheet {name!r}: {err}") from err

    def shown(value) -> str:
        if isinstance(value, dt.datetime) and value.microsecond:
            return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"
        return _cell_text(value)

    width = max(map(len, cells), default=0)
    return [pa.array([shown(row[j]) if j < len(row) else "" for row in cells], type=pa.string()) for j in range(width)]


def _csv_columns(path: Path, kind: str) -> tuple[str, Columns] | None:
    """``(encoding, columns)`` of a UTF-8 CSV pyarrow reads exactly as the ``csv`` module does;
    None when the slow reader must take the file."""
    check_csv_size(path, kind)
    try:
        with open(path, "rb") as stream:
            sample = stream.read(CSV_SNIFF_BYTES)
    except OSError as err:
        raise KaoheError(f"{kind} {path.name}: 无法读取", f"{path.name}: cannot read ({err})") from err
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    text = sample.decode("utf-8", "ignore")
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types=_ALL_TEXT, strings_can_be_null=False,
                                                  quoted_strings_can_be_null=False, check_utf8=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None  # not UTF-8, rows of other lengths, an unclosed quote ...: the slow reader takes them
    return encoding, Columns("", False, [_text(c) for c in table.columns], typed=False)


def read_columns(path: Path, kind: str = "工单文件"):
    """``(encoding, sheets)``: ``sheets`` yields a :class:`Columns` per sheet (one for a CSV),
    read as it is asked for; ``encoding`` is the CSV's ("" for a workbook). Returns None for a
    CSV only the slow reader can take (see the module's text)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        found = _csv_columns(path, kind)
        return None if found is None else (found[0], iter([found[1]]))
    if suffix in (".xlsx", ".xlsm"):
        return "", _workbook_columns(path, kind)
    return None


def columns_of(grid, name: str, hidden: bool) -> Columns:
    """A grid of raw cells (:func:`generators.tickets.read_grids`' CSV) as text columns."""
    values = grid.to_numpy(object)
    return Columns(name, hidden, [pa.array(values[:, j].tolist(), type=pa.string()).fill_null("")
                                  for j in range(values.shape[1])], typed=False)


__all__ = ["Columns", "columns_of", "read_columns"]
