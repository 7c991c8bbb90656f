"""The columnar import (#12): each fast step agrees with the rule it replaces.

The import reads an export as Arrow text columns (fastexcel for a workbook, pyarrow for a CSV)
and checks them with array operations. Each step is compared here with the plain Python rule
it stands for (str.strip, str.isspace, header_key, parse_moments, the csv module, python-calamine),
on generated inputs; and a workbook and a CSV holding the same tickets import alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import numpy as np
import pyarrow as pa
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.export_columns import columns_of, read_columns
from generators.tickets import (
    _WHITESPACE,
    _blank_text,
    _cell_text,
    _column_moments,
    _flags,
    _kept,
    _moments,
    _repeats_header,
    _trimmed,
    header_key,
    id_keys,
    read_grids,
    read_tickets,
    repeated_keys,
)

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
SPACES = st.sampled_from([" ", "\t", "\u3000", "\xa0", "\u2028", "\x0b", "\x1c", "\u200b", "\ufeff"])
PADDED = st.builds(lambda a, t, b: a + t + b, st.lists(SPACES, max_size=2).map("".join), TEXT,
                   st.lists(SPACES, max_size=2).map("".join))


@settings(max_examples=80, deadline=None)
@given(st.lists(PADDED, min_size=1, max_size=25))
def test_text_steps_are_pythons_rules(texts):
    column = pa.chunked_array([texts[: len(texts) // 2], texts[len(texts) // 2:]], type=pa.string())
    assert _trimmed(column).to_pylist() == [t.strip() for t in texts]
    assert _blank_text(column).tolist() == [not t or t.isspace() for t in texts]
    import pyarrow.compute as pc

    assert pc.replace_substring_regex(column, _WHITESPACE, "").to_pylist() == [re.sub(r"\s+", "", t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(PADDED, st.sampled_from(["工单号", " 工单号 ", "工单 号*", "ＴＳ１", "工单号1", "ts1"])),
                min_size=1, max_size=25), st.sampled_from(["工单号", "TS1", "派单时间"]))
def test_repeated_header_cells_are_header_key_matches(cells, header):
    key = header_key(header)
    found = _repeats_header(pa.array(cells, type=pa.string()), header)
    assert found.tolist() == [len(c) <= len(header) + 8 and header_key(c) == key for c in cells]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(PADDED, st.sampled_from(["是", "否", " y ", "No", "TRUE", "false", "1", "0", "√", "×", "有"])),
                min_size=1, max_size=20))
def test_flags_are_the_old_rule(cells):
    yes, messages = _flags(pa.array(cells, type=pa.string()))
    keys = [c.strip().upper() for c in cells]
    assert yes.tolist() == [k in ("是", "Y", "YES", "TRUE", "1", "√", "✓", "有") for k in keys]
    unknown = [k not in ("是", "Y", "YES", "TRUE", "1", "√", "✓", "有", "否", "N", "NO", "FALSE", "0", "×", "✗", "无", "")
               for k in keys]
    assert [bool(m) for m in messages] == unknown


EXPORT_FORMS = st.one_of(
    # the export form, digits anywhere in range and out of it (month 13, day 32, 24:00, second 60, year 0000)
    st.builds("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format, st.integers(0, 9999), st.integers(0, 13),
              st.integers(0, 32), st.integers(0, 25), st.integers(0, 61), st.integers(0, 61)),
    st.sampled_from(["", "  ", "2026/10/3 14:05", "2026年10月3日 14时05分", " 2026-10-03 14:05:00 ", "2026-10-03",
                     "2026-10-03 24:00:00", "2024-02-29 12:00:00", "2023-02-29 12:00:00", "45930.5", "明天",
                     "2026-10-03 14:05:00.5", "２０２６-10-03 14:05:00"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EXPORT_FORMS, min_size=1, max_size=40))
def test_time_columns_read_as_parse_moments_reads_them(texts):
    """A CSV's time column: the export form read from its bytes, the rest by parse_moments; the
    same values and messages as parse_moments on every cell."""
    column = pa.chunked_array([texts[:3], texts[3:]], type=pa.string())
    values, messages = _column_moments(column, typed=False)
    expected, expected_messages = _moments(np.array(texts + [None], dtype=object)[:-1])
    assert list(messages) == list(expected_messages)
    assert values.astype(np.int64).tolist() == expected.astype(np.int64).tolist()  # NaT compares as its int


def test_workbook_numbers_in_time_columns_are_serials():
    """Read from a workbook, a number in a time column is an Excel serial and a datetime with
    milliseconds is rounded to the second, as python-calamine's values were."""
    column = pa.array(["45930.5", "2025-10-03 14:05:07.600", "2025-10-03 14:05:07.400", "-5", "1e20"])
    values, messages = _column_moments(column, typed=True)
    assert values[:3].tolist() == [dt.datetime(2025, 9, 30, 12), dt.datetime(2025, 10, 3, 14, 5, 8),
                                   dt.datetime(2025, 10, 3, 14, 5, 7)]
    assert messages[3].startswith("日期序号超出范围") and messages[4].startswith("日期序号超出范围")
    assert _column_moments(column[:1], typed=False)[1][0] == "日期无法识别: 45930.5"  # in a CSV it is text


CSV_CELLS = st.one_of(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=8),
                      st.sampled_from(['a,b', 'say "hi"', "two\nlines", " lead", "=1+1", "@SUM(1)", "001", "中文，逗号"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 5).flatmap(lambda width: st.lists(st.lists(CSV_CELLS, min_size=width, max_size=width),
                                                         min_size=1, max_size=12)),
       st.booleans())
def test_csv_columns_are_what_the_csv_module_reads(tmp_path_factory, records, bom):
    """pyarrow's CSV reading gives every record the csv module gives, cell for cell (files it
    cannot take exactly are left to the csv module: None)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    path = tmp_path_factory.mktemp("csv") / "工单.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    found = read_columns(path)
    _, grids = read_grids(path)
    expected = [c.to_pylist() for c in columns_of(next(grids)[1], "", False).columns]
    if found is not None:
        assert [c.to_pylist() for c in next(found[1]).columns] == expected


def test_workbook_cells_read_as_the_user_sees_them(tmp_path):
    """fastexcel's text of each kind of cell equals python-calamine's value shown as text, except
    where the docstring of generators.export_columns says (dates carry 00:00:00)."""
    path = tmp_path / "cells.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("工单")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    cells = [13800138000, 3.0, 3.5, 0.1 + 0.2, 12345678901234567890, True, False, "001", " 3 ", "=1+1", "@SUM(1)",
             "", "中文", dt.datetime(2025, 10, 3, 14, 5, 7), -7]
    for i, value in enumerate(cells):
        if isinstance(value, dt.datetime):
            sheet.write_datetime(i, 0, value, when)
        elif isinstance(value, bool):
            sheet.write_boolean(i, 0, value)
        elif isinstance(value, (int, float)):
            sheet.write_number(i, 0, value)
        elif value:
            sheet.write_string(i, 0, value)
    book.close()
    _, sheets = read_columns(path)
    fast = next(sheets).columns[0].to_pylist()
    _, grids = read_grids(path)
    shown = [_cell_text(v) for v in next(grids)[1].iloc[:, 0]]
    assert fast == shown


@pytest.mark.slow
def test_a_workbook_and_a_csv_of_the_same_tickets_import_alike(tmp_path):
    """The demo's month written as .xlsx (datetimes, some typed Chinese times, faulty rows) and as
    .csv (text): the same tickets, values and rejections."""
    import pandas as pd

    from generators.demo import EXPORT_HEADERS, synthesize_month, write_export

    frame = synthesize_month("2025-10", 600)
    xlsx, text = tmp_path / "工单.xlsx", tmp_path / "工单.csv"
    write_export(frame, xlsx, "2025-10")
    # the same cells as text: what the workbook shows, row for row (title row and faulty rows too)
    _, grids = read_grids(xlsx)
    grid = next(grids)[1]
    with open(text, "w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([[_cell_text(v) for v in row] for row in grid.itertuples(index=False)])
    from_xlsx = read_tickets(xlsx, rulebook="jiangmen", month="2025-10")
    from_csv = read_tickets(text, rulebook="jiangmen", month="2025-10")
    assert from_xlsx.read == from_csv.read == 604 and from_xlsx.reconciles and from_csv.reconciles
    pd.testing.assert_frame_equal(from_xlsx.tickets, from_csv.tickets)
    pd.testing.assert_frame_equal(from_xlsx.rejected.drop(columns="源文件"), from_csv.rejected.drop(columns="源文件"))
    assert set(EXPORT_HEADERS.values()) <= set(from_xlsx.columns.values())


# -- a sheet's XML read with array operations (generators.sheet_xml) -------------------------------------
CELL_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=10),
    st.sampled_from(["a & b", "<tag>", 'say "hi"', "it's", " lead", "trail ", "two\nlines", "_x0041_", "=1+1", "@SUM(1)",
                     "001", "中文，逗号", "\x07bell", "&amp;"]),
    st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 1, 1)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 1, 1)),
)
SHEETS = st.dictionaries(st.tuples(st.integers(0, 25), st.sampled_from([0, 1, 2, 3, 5, 27])), CELL_VALUES, max_size=40)


def _write_workbook(path, cells, writer: str) -> None:
    if writer == "openpyxl":
        import openpyxl
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        book = openpyxl.Workbook()
        sheet = book.active
        for (row, column), value in cells.items():
            if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
                continue  # openpyxl refuses control characters
            cell = sheet.cell(row + 1, column + 1)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when it starts with "="
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
        book.save(path)
        return
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                           "strings_to_urls": False, "constant_memory": writer == "inline"})
    sheet = book.add_worksheet("工单")
    when, day = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}), book.add_format({"num_format": "yyyy-mm-dd"})
    for (row, column), value in sorted(cells.items()):
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value)
        elif isinstance(value, dt.datetime):
            sheet.write_datetime(row, column, value, when)
        elif isinstance(value, dt.date):
            sheet.write_datetime(row, column, value, day)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, column, value)
        else:
            sheet.write_string(row, column, value)
    book.close()


def _shown(value) -> str:
    """_cell_text, with the milliseconds a time carries (the import rounds them to the second)."""
    if isinstance(value, dt.datetime) and value.microsecond:
        return f"{value:%Y-%m-%d %H:%M:%S}.{round(value.microsecond / 1000):03d}"
    return _cell_text(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SHEETS, st.sampled_from(["shared", "inline", "openpyxl"]))
def test_sheet_xml_reads_what_python_calamine_reads(tmp_path_factory, cells, writer):
    """Every cell of a sheet written by xlsxwriter (shared or inline strings) or openpyxl: the array
    reader gives the text python-calamine's value shows (generators.tickets._cell_text)."""
    path = tmp_path_factory.mktemp("xml") / "工单.xlsx"
    _write_workbook(path, cells, writer)
    _, sheets = read_columns(path)
    columns = next(sheets).columns
    fast = np.column_stack([c.to_numpy(zero_copy_only=False) for c in columns]) if columns else np.empty((0, 0))
    _, grids = read_grids(path)
    grid = next(grids)[1]
    expected = np.array([[_shown(v) for v in row] for row in grid.itertuples(index=False)], dtype=object)
    expected = expected.reshape(len(grid), grid.shape[1])
    assert fast.shape == expected.shape
    assert fast.tolist() == expected.tolist()


@pytest.mark.parametrize("constant_memory", [False, True])
def test_rich_text_and_the_slow_reader_agree(tmp_path, constant_memory):
    """Rich text (runs of formatted text): in the shared strings it is joined by the array reader;
    inline in a cell (xlsxwriter's constant-memory mode) the sheet goes to python-calamine. Either
    way every cell reads as python-calamine reads it."""
    path = tmp_path / "rich.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    sheet = book.add_worksheet("工单")
    bold = book.add_format({"bold": True})
    sheet.write_string(0, 0, "工单号")
    sheet.write_rich_string(1, 0, "JM-", bold, "0001", " 加急 & <重要>")
    sheet.write_number(1, 2, 45930.5)
    book.close()
    _, sheets = read_columns(path)
    fast = [c.to_pylist() for c in next(sheets).columns]
    _, grids = read_grids(path)
    grid = next(grids)[1]
    assert fast == [[_cell_text(v) for v in grid.iloc[:, j]] for j in range(grid.shape[1])]
    assert fast[0][1] == "JM-0001 加急 & <重要>"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), TEXT), max_size=6), min_size=1, max_size=6), st.data())
def test_keeping_rows_reuses_whole_blocks_and_filters_the_rest(blocks, data):
    """Rejected rows leave the tickets without copying the blocks they are not in: the rows kept
    are exactly ``filter``'s, and a block with every row kept is the same buffer."""
    column = pa.chunked_array([pa.array(block, type=pa.string()) for block in blocks], type=pa.string())
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(column), max_size=len(column))), dtype=bool)
    kept = _kept(column, keep)
    assert kept.to_pylist() == column.filter(pa.array(keep)).to_pylist()
    start, reused = 0, {chunk.buffers()[2].address for chunk in kept.chunks if chunk.buffers()[2] is not None}
    for chunk in column.chunks:
        if len(chunk) and keep[start:start + len(chunk)].all() and chunk.buffers()[2] is not None and chunk.buffers()[2].size:
            assert chunk.buffers()[2].address in reused
        start += len(chunk)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["TS1", "ＴＳ１", " TS1", "TS2", "", "\u200bTS2"]), TEXT), max_size=30))
def test_repeated_ids_are_those_pandas_marks_duplicated(ids):
    """The duplicate check's shortcut (one count of distinct keys) answers as ``duplicated`` does."""
    import pandas as pd

    keys = id_keys(pd.Series(ids, dtype=object))
    assert repeated_keys(keys).tolist() == keys.duplicated(keep="first").tolist()
