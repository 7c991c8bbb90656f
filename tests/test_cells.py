"""Cell functions: the catalogue, shapes and errors, and a real workbook evaluated by a formula engine."""

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest
import xlsxwriter
from formula_engine import evaluate, serial

from udfs import timeliness
from udfs.catalogue import MAX_HELP, load_all, markdown_table
from udfs.errors import KaoheError
from udfs.timeliness_cells import (
    kh_add_workdays,
    kh_deadline,
    kh_elapsed,
    kh_explain,
    kh_is_workday,
    kh_mask,
    kh_ontime,
    kh_overdue,
    kh_workdays,
)

ROOT = Path(__file__).resolve().parents[1]
BH = "08:00-12:00,14:30-18:00"
# VBA keywords and built-in names an argument must not shadow (xlwings writes them into VBA).
VBA_RESERVED = {
    "and", "as", "boolean", "byref", "byte", "byval", "call", "case", "const", "currency", "date", "day", "debug",
    "dim", "do", "double", "each", "else", "empty", "end", "enum", "eqv", "error", "event", "exit", "false", "for",
    "friend", "function", "get", "global", "gosub", "goto", "if", "imp", "implements", "in", "integer", "is", "let",
    "like", "long", "loop", "me", "mod", "month", "name", "new", "next", "not", "nothing", "null", "object", "on",
    "option", "optional", "or", "paramarray", "preserve", "private", "property", "public", "raiseevent", "redim",
    "rem", "resume", "return", "select", "set", "single", "static", "step", "stop", "string", "sub", "then", "time",
    "to", "true", "type", "typeof", "until", "variant", "wend", "while", "with", "xor", "year", "calendar", "hour", "minute", "second", "now", "timer", "val", "left", "right", "mid", "len",
}


def test_catalogue_entries_are_complete_and_fit_excel():
    catalogue = load_all()
    expected = {"KH_IS_WORKDAY", "KH_WORKDAYS", "KH_ADD_WORKDAYS", "KH_ELAPSED", "KH_DEADLINE", "KH_ONTIME",
                "KH_OVERDUE", "KH_EXPLAIN", "KH_MASK"}
    assert expected <= set(catalogue)
    for spec in catalogue.values():
        assert re.fullmatch(r"KH_[A-Z_]+", spec.name)
        # Not a cell address (KH1 would be one); KH_ names never are, being letters and underscores.
        assert spec.zh_name and re.search(r"[\u4e00-\u9fff]", spec.zh_name)
        assert 0 < len(spec.description) <= MAX_HELP and re.search(r"[\u4e00-\u9fff]", spec.description)
        assert spec.example.startswith(f"={spec.name}(")
        names = [a.name for a in spec.args]
        assert len(names) == len(set(names))
        seen_optional = False
        for arg in spec.args:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", arg.name) and arg.name not in VBA_RESERVED, arg.name
            assert 0 < len(arg.description) <= MAX_HELP and re.search(r"[\u4e00-\u9fff]", arg.help)
            assert not (seen_optional and not arg.optional), f"{spec.name}: required after optional"
            seen_optional |= arg.optional


def test_readme_function_table_is_generated_from_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "run: python -m udfs.catalogue > to refresh the README table"


def test_a_range_in_gives_the_same_shape_out_and_bad_cells_stay_local():
    starts = [["2025-09-26 15:00", "2025/9/30 10:00"], [None, "2026-13-01 08:00"], [45929.625, "2025年9月29日 8时"]]
    out = kh_deadline(starts, 3, "工作日")
    assert out.shape == (3, 2)
    assert out[0, 0] == dt.datetime(2025, 10, 1) and out[0, 1] == dt.datetime(2025, 10, 12)
    assert out[1, 0] is None
    assert out[1, 1] == "#日期无法识别: 2026-13-01 08:00"
    # Serial 45929.625 = Mon 2025-09-29 15:00: Tue 09-30 (1), Oct 1-8 off, Thu 10-09 (2), Fri 10-10 (3) → 10-10 24:00.
    assert out[2, 0] == dt.datetime(2025, 10, 11)
    assert out[2, 1] == dt.datetime(2025, 10, 11)  # the same moment typed as 2025年9月29日 8时
    assert kh_is_workday([["2027-01-04"], ["2025-10-11"]])[0, 0].startswith("#2027年节假日安排未加载")


def test_cell_functions_equal_engine_calls():
    start, end = np.datetime64("2025-09-30T17:00", "s"), np.datetime64("2025-10-09T10:00", "s")
    assert kh_elapsed("2025-09-30 17:00", "2025-10-09 10:00", BH)[0, 0] == timeliness.elapsed_hours(start, end, hours=BH)
    verdict = timeliness.verdict(start, end, 2, "小时", hours=BH)
    assert kh_ontime("2025-09-30 17:00", "2025-10-09 10:00", 2, "小时", BH)[0, 0] == bool(verdict.ontime)
    assert kh_overdue("2025-09-30 17:00", "2025-10-09 10:00", 2, "小时", BH)[0, 0] == float(verdict.overdue_hours)
    assert kh_explain("2025-09-30 17:00", "2025-10-09 10:00", 2, "小时", BH)[0, 0] == timeliness.explain(
        start, end, 2, "小时", hours=BH)[()]
    assert kh_ontime("2025-09-30 17:00", None, 2, "小时")[0, 0] is None  # unfinished: empty, not FALSE
    assert kh_overdue("2025-09-29 08:00", "2025-09-29 12:00", 2, "h", None, 1.5)[0, 0] == 0.5
    assert kh_mask("13812345678")[0, 0] == "138****5678"
    assert kh_workdays("2025-10-12", "2025-10-01")[0, 0] == -3
    assert kh_add_workdays("2025-10-09", -1)[0, 0] == dt.datetime(2025, 9, 30)


def test_workbook_formulas_evaluate_to_engine_values(tmp_path):
    """Build an .xlsx whose cells call KH_ functions; a formula engine computes what the engine does."""
    path = tmp_path / "cells.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("工单")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    rows = [  # start (datetime or text), end, limit, unit
        (dt.datetime(2025, 9, 26, 15, 0), dt.datetime(2025, 9, 30, 23, 0), 3, "工作日"),
        ("2025-09-30 10:00", dt.datetime(2025, 10, 12, 9, 0), 3, "工作日"),
        (dt.datetime(2025, 9, 30, 17, 0), "2025/10/9 10:00", 2, "小时"),
        (dt.datetime(2027, 3, 1, 8, 0), dt.datetime(2027, 3, 2, 8, 0), 1, "工作日"),
    ]
    for i, (start, end, limit, unit) in enumerate(rows, start=1):
        for column, value in enumerate((start, end)):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(i, column, value, stamp)
            else:
                sheet.write_string(i, column, value)
        sheet.write_number(i, 2, limit)
        sheet.write_string(i, 3, unit)
        r = i + 1
        sheet.write_formula(i, 4, f'=KH_DEADLINE(A{r},C{r},D{r},"{BH if unit == "小时" else ""}")')
        sheet.write_formula(i, 5, f'=KH_ONTIME(A{r},B{r},C{r},D{r},"{BH if unit == "小时" else ""}")')
        sheet.write_formula(i, 6, f'=KH_OVERDUE(A{r},B{r},C{r},D{r},"{BH if unit == "小时" else ""}")')
        sheet.write_formula(i, 7, f"=KH_IS_WORKDAY(A{r})")
    sheet.write_array_formula("I2:I5", "{=KH_WORKDAYS(A2:A5,B2:B5)}")
    sheet.write_formula("J2", '=KH_EXPLAIN(A3,B3,C3,D3)')
    sheet.write_formula("J3", '=KH_MASK("客户13812345678")')
    book.close()

    cells = evaluate(path)
    for i, (start, end, limit, unit) in enumerate(rows, start=2):
        hours = BH if unit == "小时" else None
        s = timeliness.parse_moments(np.array([start], dtype=object))
        e = timeliness.parse_moments(np.array([end], dtype=object))
        try:
            verdict = timeliness.verdict(s, e, limit, unit, hours=hours)
        except KaoheError as err:  # the 2027 row: every cell shows the message
            assert cells[f"工单!E{i}"].startswith("#2027年节假日安排未加载"), err
            assert cells[f"工单!F{i}"].startswith("#2027") and cells[f"工单!I{i}"].startswith("#2027")
            continue
        due = verdict.deadline[0].astype(dt.datetime)
        assert cells[f"工单!E{i}"] == pytest.approx(serial(due), abs=1e-9)
        assert cells[f"工单!F{i}"] == bool(verdict.ontime[0])
        assert cells[f"工单!G{i}"] == pytest.approx(float(verdict.overdue_hours[0]))
        assert cells[f"工单!H{i}"] == bool(timeliness.china_calendar().is_workday(s.astype("datetime64[D]"))[0])
    assert cells["工单!I2"] == 4  # Fri 09-26 .. Tue 09-30 both included: Fri, Sun 09-28 (make-up), Mon, Tue
    assert cells["工单!I3"] == timeliness.china_calendar().workdays_between(np.datetime64("2025-09-30"), np.datetime64("2025-10-12"))
    assert "10-11(周六 调休上班)" in cells["工单!J2"]
    assert cells["工单!J3"] == "客户138****5678"


def test_the_xlwings_layer_exposes_every_function_with_its_argument_names():
    import inspect

    from udfs import excel

    for spec in load_all().values():
        function = getattr(excel, spec.name)
        parameters = inspect.signature(function).parameters
        assert list(parameters) == [a.name for a in spec.args]
        assert [p.default is None for p in parameters.values()] == [a.optional for a in spec.args]
        assert function.__doc__ == spec.description
    assert excel.KH_WORKDAYS([["2025-10-01"]], [["2025-10-12"]]) == [[3]]


def test_a_negative_limit_in_a_column_with_empties_is_a_message_not_a_crash():
    # pandas 3 hands back a read-only array for an object column of limits; the negative one is
    # named in its own cell and the others are computed (3 hours after 08:00 is 11:00).
    from udfs.timeliness_cells import kh_deadline

    start = "2025-10-01 08:00"
    out = kh_deadline([[start], [start], [start]], [[3], [None], [-1]], "小时")
    assert out[0, 0] == dt.datetime(2025, 10, 1, 11, 0)
    assert out[1, 0] in (None, "") and out[2, 0] == "#时限不能为负: -1"
