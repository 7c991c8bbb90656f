"""The ledger writer's promises, kept at its speed: times are the serial numbers xlsxwriter's own
``write_datetime`` stores (bit for bit), missing times are blank cells, text that looks like a
formula stays text, the deduction highlight is there, and the same input gives the same bytes;
openpyxl and calamine read the cells back alike."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import xlsxwriter
from python_calamine import CalamineWorkbook

from generators.cli import main
from generators.ledger import excel_serials

MONTH = "2025-10"


def _sheet_xml(path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def _times() -> np.ndarray:
    """Random instants from before Excel's epoch to 2200, to the microsecond, and the edges of
    xlsxwriter's rule (1900-01-01, Excel's 29 February 1900), and missing ones."""
    rng = np.random.default_rng(12)
    low, high = (np.datetime64(d, "us").astype(np.int64) for d in ("1899-12-30", "2200-01-01"))
    edges = np.array(["1899-12-31", "1900-01-01", "1900-01-01T23:59:59.999999", "1900-02-28T23:59:59",
                      "1900-03-01", "1900-03-01T00:00:00.000001", "NaT", "2025-10-01T08:00", "2025-12-31T23:59:59"],
                     dtype="datetime64[us]")
    seconds = rng.integers(low // 10**6, high // 10**6, 3000).astype("datetime64[s]").astype("datetime64[us]")
    return np.concatenate([edges, rng.integers(low, high, 3000).astype("datetime64[us]"), seconds])


def test_time_cells_are_the_serials_write_datetime_stores(tmp_path):
    """Whole-column serials written as numbers give the sheet XML write_datetime gives, cell for cell."""
    times = _times()
    when = {"num_format": "yyyy-mm-dd hh:mm:ss"}
    paths = []
    for way in ("datetime", "serial"):
        path = tmp_path / f"{way}.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet, style = book.add_worksheet(), book.add_format(when)
        cells = times.tolist() if way == "datetime" else excel_serials(times)
        for i, value in enumerate(cells):
            if value is not None:
                (sheet.write_datetime if way == "datetime" else sheet.write_number)(i, 0, value, style)
        book.close()
        paths.append(path)
    assert _sheet_xml(paths[0]) == _sheet_xml(paths[1])
    # nanoseconds are cut to microseconds, as datetime64[us] → datetime.datetime cuts them
    nanos = np.array(["2025-10-01T08:00:00.123456789", "NaT"], dtype="datetime64[ns]")
    assert excel_serials(nanos) == excel_serials(nanos.astype("datetime64[us]"))
    assert excel_serials(nanos)[1] is None


HEADER = ["工单号", "考核单位", "优先级", "派单时间", "签收时间", "回复时间", "投诉内容", "联系电话"]
ROWS = [
    ["JM-1", "江门粤通代维", "一般", "2025-10-09 09:00", "2025-10-09 09:30", "2025-10-09 15:00", "=1+1", "+8613812345678"],
    ["JM-2", "江门粤通代维", "一般", "2025-10-10 09:00", "2025-10-10 14:00", "", "@SUM(A1:A2)", "-1"],
    ["JM-3", "新会信维通信", "紧急", "2025-10-30 20:00", "", "", "=HYPERLINK(\"http://x\")", ""],
]


def _ledger(tmp_path, name: str):
    export = tmp_path / "工单导出.csv"
    with open(export, "w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([HEADER] + ROWS)
    out = tmp_path / name
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", MONTH, "--out", str(out),
                 "--appendix3"]) == 0
    return out


@pytest.mark.slow
def test_ledger_cells_read_back_alike_and_the_same_input_gives_the_same_bytes(tmp_path, capsys):
    first, second = _ledger(tmp_path, "a.xlsx"), _ledger(tmp_path, "b.xlsx")
    capsys.readouterr()
    assert first.read_bytes() == second.read_bytes()

    book = openpyxl.load_workbook(first)
    sheet = book["台账"]
    header = [c.value for c in sheet[1]]
    rows = {r[0].value: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == {"JM-1", "JM-2", "JM-3"}
    # times: datetimes with the date format; a missing time is a blank cell, not 0 or 1900-01-00
    assert rows["JM-1"]["派单时间"].value == dt.datetime(2025, 10, 9, 9, 0)
    assert rows["JM-1"]["派单时间"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert rows["JM-1"]["回复时间"].value == dt.datetime(2025, 10, 9, 15, 0)
    assert rows["JM-2"]["回复时间"].value is None and rows["JM-3"]["签收时间"].value is None
    assert isinstance(rows["JM-2"]["回复截止"].value, dt.datetime)
    # text that looks like a formula (or a signed number) stays text
    for ticket, column, text in [("JM-1", "投诉内容", "=1+1"), ("JM-2", "投诉内容", "@SUM(A1:A2)"),
                                 ("JM-3", "投诉内容", "=HYPERLINK(\"http://x\")"), ("JM-1", "联系电话", "+8613812345678"),
                                 ("JM-2", "联系电话", "-1")]:
        cell = rows[ticket][column]
        assert (cell.value, cell.data_type) == (text, "s")
    # the deduction highlight: one rule over the data rows
    rules = [rule for area in sheet.conditional_formatting for rule in area.rules]
    assert len(rules) == 1 and rules[0].type == "expression" and ">0" in rules[0].formula[0]

    # calamine reads the same values (times as datetimes, blanks as "")
    calamine = CalamineWorkbook.from_path(str(first)).get_sheet_by_name("台账").to_python(skip_empty_area=False)
    assert calamine[0] == header
    for line in calamine[1:]:
        record = dict(zip(header, line))
        for column, cell in rows[record["工单号"]].items():
            expected = "" if cell.value is None else cell.value
            assert record[column] == expected, (record["工单号"], column)
    # 附件3: 受理时间 and 处理时限 as times with the form's format, blank where there is none
    form = book["附件3服务质量问题处理管理台账"]
    accepted = [r[2] for r in form.iter_rows(min_row=3, max_row=5)]
    assert [c.value for c in accepted] == [dt.datetime(2025, 10, 9, 9), dt.datetime(2025, 10, 10, 9),
                                          dt.datetime(2025, 10, 30, 20)]
    assert {c.number_format for c in accepted} == {"yyyy-mm-dd hh:mm"}


def test_rows_written_out_leave_no_record_behind(tmp_path, monkeypatch):
    """In constant-memory mode a row's height is written with the row; the writer then drops
    xlsxwriter's record of it (a million of them were 250 MB), and the file is byte for byte what
    keeping them gives."""
    import pandas as pd

    from generators import ledger

    rows = 2 * ledger.CHUNK_ROWS + 17
    frame = pd.DataFrame({"text": [f"第{i}行" + "长" * (i % 90) for i in range(rows)]})
    heights = np.where(np.arange(rows) % 3 == 0, 30.0, np.nan)

    def write(path, drop):
        if not drop:
            monkeypatch.setattr(ledger, "_forget_written_rows", lambda sheet, first: None)
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        book.set_properties({"created": dt.datetime(2025, 11, 1)})
        sheet = book.add_worksheet()
        ledger._write_rows(sheet, frame, 1, [lambda part: (part.tolist(), sheet.write_string, None)], "rows",
                           heights=heights)
        records = len(sheet.row_info)
        book.close()
        monkeypatch.undo()
        return records

    records = write(tmp_path / "a.xlsx", True)
    kept = write(tmp_path / "b.xlsx", False)
    assert kept == int((heights == 30).sum())
    assert records <= 3  # one row per block may still be open when its block ends
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)), max_size=20)), max_size=20),
       st.sampled_from([object, "str"]))
def test_text_widths_count_wide_characters_twice(texts, dtype):
    """A cell's width in character units (the 台账's column widths and row heights): every
    character of three or more UTF-8 bytes counts 2, as paper.text_width counts CJK; empty 0."""
    import pandas as pd

    from generators.ledger import _text_units

    expected = [0 if not t else len(t) + (len(t.encode("utf-8")) - len(t) + 1) // 2 for t in texts]
    assert _text_units(pd.Series(texts, dtype=dtype)).tolist() == expected
