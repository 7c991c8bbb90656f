"""The VBA side of the assessment workbook, checked without Excel.

A minimal .xlsm is built the way the builder builds one (the three buttons, the xlwings.conf
sheet, the standalone VBA project of the installed xlwings), then taken apart again: the VBA
extracted with oletools, the settings read with openpyxl, the buttons' macro references read
from the VML drawing. The plain functions behind the buttons run on a demo month.

What only Excel can prove (that a click runs ``RunPython`` with the argument, that
``ImportPythonUDFs`` imports the KH_ functions) is not claimed here.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlsxwriter
import xlwings

import macros
from generators import demo
from generators.archive import verify_archive
from generators.ledger import ledger_from_export, write_ledger
from macros import jobs
from udfs import rulebook as rulebooks
from udfs.calendar import china_calendar
from udfs.errors import KaoheError
from workbook import vba

MONTH = "2025-10"
VML = "{urn:schemas-microsoft-com:office:excel}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vba") / "考核工作簿.xlsm"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("操作")
    vba.add_buttons(sheet, vba.BUTTONS + (vba.IMPORT_FUNCTIONS,), row=1, col=1)
    book.add_worksheet(jobs.TICKETS_SHEET)
    vba.add_xlwings_conf(book)
    vba.attach_standalone_project(book)
    book.close()
    return path


# -- the VBA project ------------------------------------------------------------------------------
def _modules(path) -> dict[str, str]:
    with warnings.catch_warnings():  # oletools 0.60 still uses pyparsing's pre-3 names
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def test_the_project_is_xlwings_standalone_byte_for_byte(built):
    with zipfile.ZipFile(built) as archive:
        embedded = archive.read("xl/vbaProject.bin")
    with zipfile.ZipFile(vba.standalone_path()) as archive:
        assert embedded == archive.read("xl/vbaProject.bin") == vba.standalone_project()


def test_extracted_vba_is_the_xlwings_module_and_nothing_of_ours(built):
    modules = _modules(built)
    assert set(modules) == {"ThisWorkbook", "Sheet1", "Sheet2", "Module1", "xlwings", "Dictionary"}
    code = modules["xlwings"]
    assert "Public Function RunPython(PythonCommand As String)" in code
    assert re.search(r"^Sub ImportPythonUDFs\(\)", code, re.MULTILINE)
    assert vba.standalone_version() == xlwings.__version__
    assert f"'Version: {xlwings.__version__}" in code  # the DLL it names is of this xlwings version
    assert f"xlwings64-{xlwings.__version__}.dll" in code
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in code  # the sheet add_xlwings_conf writes
    assert "Sub SampleCall()" in modules["Module1"]
    for document in ("ThisWorkbook", "Sheet1", "Sheet2"):  # attributes only, no code
        assert all(line.startswith("Attribute ") for line in modules[document].splitlines() if line.strip())
    assert not any("macros." in text or "KH_" in text for text in modules.values())


def test_workbook_is_macro_enabled_with_the_codename_the_vba_uses(built):
    with zipfile.ZipFile(built) as archive:
        types = archive.read("[Content_Types].xml").decode()
        workbook_xml = archive.read("xl/workbook.xml").decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert 'codeName="ThisWorkbook"' in workbook_xml


# -- the xlwings.conf sheet -------------------------------------------------------------------------
def _settings_as_xlwings_reads_them(sheet) -> dict:
    """GetConfigFromSheet: keys from A1 down to the cell before the first blank, in capitals."""
    found, row = {}, 1
    while sheet.cell(row, 1).value not in (None, ""):
        found[str(sheet.cell(row, 1).value).upper()] = sheet.cell(row, 2).value
        row += 1
    return found


def test_xlwings_conf_sheet(built):
    book = openpyxl.load_workbook(built, keep_vba=True)
    assert vba.CONF_SHEET == "xlwings.conf" and vba.CONF_SHEET in book.sheetnames
    sheet = book[vba.CONF_SHEET]
    assert _settings_as_xlwings_reads_them(sheet) == {"UDF MODULES": "udfs.excel", "USE UDF SERVER": True}
    notes = [sheet.cell(row, 4).value for row in range(1, 1 + len(vba.CONF_NOTES))]
    assert notes == list(vba.CONF_NOTES)
    assert sheet.sheet_state == "hidden"  # xlwings' English keys are no page an assessor reads or prints
    assert book.vba_archive is not None


def test_the_udf_module_named_in_the_settings_is_ours():
    settings = {s.key: s.value for s in vba.SETTINGS}
    assert settings["UDF Modules"] == "udfs.excel"
    assert (Path(__file__).parents[1] / "udfs" / "excel.py").is_file()


def test_interpreter_only_when_asked(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    vba.add_xlwings_conf(book, interpreter=r"C:\Python311\python.exe")
    book.close()
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx")[vba.CONF_SHEET]
    assert _settings_as_xlwings_reads_them(sheet)["INTERPRETER_WIN"] == r"C:\Python311\python.exe"


# -- the buttons ---------------------------------------------------------------------------------------
def _vml_buttons(path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"xl/drawings/vmlDrawing\d+\.vml", n)]
        assert names
        out = []
        for name in names:
            root = ET.fromstring(archive.read(name))
            for shape in root.iter("{urn:schemas-microsoft-com:vml}shape"):
                data = shape.find(f"{VML}ClientData")
                if data is None or data.get("ObjectType") != "Button":
                    continue
                caption = "".join(shape.find("{urn:schemas-microsoft-com:vml}textbox").itertext()).strip()
                out.append((caption, data.findtext(f"{VML}FmlaMacro")))
        return out


def test_buttons_carry_runpython_with_the_python_call(built):
    buttons = _vml_buttons(built)
    assert buttons == [
        ("生成本月考核表", "'RunPython \"import macros;macros.generate_month()\"'"),
        ("导出台账归档", "'RunPython \"import macros;macros.export_archive()\"'"),
        ("刷新节假日", "'RunPython \"import macros;macros.refresh_holidays()\"'"),
        ("导入单元格函数", "[0]!ImportPythonUDFs"),
    ]
    code = _modules(built)["xlwings"]
    for _, reference in buttons:
        called = re.fullmatch(r"'(\w+) \"(.*)\"'|\[0\]!(\w+)", reference)
        macro = called.group(1) or called.group(3)
        assert re.search(rf"^(Public )?(Sub|Function) {macro}\(", code, re.MULTILINE), macro  # exists in the project
        if called.group(2):
            statements = ast.parse(called.group(2)).body  # valid Python: an import and a call
            assert isinstance(statements[0], ast.Import) and statements[0].names[0].name == "macros"
            function = statements[1].value.func.attr
            assert callable(getattr(macros, function))


def test_button_checks():
    with pytest.raises(ValueError):
        vba.Button("x", python="print('x')")
    with pytest.raises(ValueError):
        vba.Button("x", python="a", macro_name="b")
    with pytest.raises(ValueError):
        vba.Button("x", python="import macros;" + "x" * 300)


def test_importing_macros_and_building_needs_no_xlwings():
    code = ("import sys, macros, workbook.vba as v; v.standalone_project(); v.standalone_version(); "
            "assert 'xlwings' not in sys.modules, 'xlwings imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# -- the plain functions behind the buttons ---------------------------------------------------------
@pytest.fixture(scope="module")
def demo_month(tmp_path_factory):
    """The 工单 and 考核记录 sheets as xlwings would read them (datetimes, floats, text, None)."""
    folder = tmp_path_factory.mktemp("demo")
    export = folder / "工单导出.xlsx"
    demo.write_export(demo.synthesize_month(MONTH, tickets=200), export, MONTH)
    findings = folder / "考核记录.xlsx"
    demo.write_table(demo.synthesize_findings(MONTH, demo.VENDORS, rulebooks.load("jiangmen")), findings, "考核记录")
    return export, jobs.read_tabs(export)["工单"], jobs.read_tabs(findings)["考核记录"]


def test_generate_month_gives_the_command_lines_numbers(demo_month, tmp_path):
    export, tickets, findings = demo_month
    result = jobs.generate_month_from(tickets, rulebook="jiangmen", month=MONTH, findings=findings)
    assert result.reconciles
    units = list(demo.VENDORS)
    assert set(result.tabs) == {"月报_台账", "月报_拒收", "月报_汇总", jobs.NOTES_TAB, *(f"月报_{u}" for u in units)}
    assert list(result.tabs)[:3] == ["月报_台账", "月报_拒收", "月报_汇总"]

    book = rulebooks.load("jiangmen")
    ledger, _ = ledger_from_export(export, book, MONTH, calendar=china_calendar())
    write_ledger(ledger, tmp_path / "台账.xlsx", rulebook=book, month=MONTH, calendar_version=china_calendar().version)
    assert result.tabs["月报_台账"] == jobs.read_tabs(tmp_path / "台账.xlsx")["台账"]

    rejected = result.tabs["月报_拒收"]
    assert rejected[0] == ["源文件", "源行号", "工单号", "列", "原值", "原因"]
    assert len(rejected) - 1 == len(ledger.rejected) > 0  # the demo's faulty rows; no findings row rejected
    assert {row[0] for row in rejected[1:]} == {"工作表“工单”"}
    rows = {int(row[1]) for row in rejected[1:]}
    assert all(tickets[r - 1][0] != "工单编号" for r in rows)  # row numbers of the sheet, not of a copy
    assert len(result.tabs["月报_台账"]) - 1 + len(rejected) - 1 == sum(
        1 for row in tickets[2:] if any(v is not None for v in row))
    notes = {row[0]: row[1] for row in result.tabs[jobs.NOTES_TAB] if row and row[0]}
    assert notes["考核月份"] == "2025年10月"  # months in words
    assert any(line.startswith("工单: 读入 204 行") for line in result.summary)


def test_generate_month_uses_the_holiday_sheet(demo_month):
    _, tickets, _ = demo_month
    holidays = [["日期", "类型", "名称"], [dt.datetime(2025, 10, 13), "休息日", "单位休息"]]
    rested = jobs.generate_month_from(tickets, rulebook="jiangmen", month=MONTH, holidays=holidays)
    notes = {row[0]: row[1] for row in rested.tabs[jobs.NOTES_TAB] if row and row[0]}
    assert notes["日历数据"] == china_calendar(jobs.holiday_entries_from(holidays)).version
    assert "用户日历" in notes["日历数据"]


def test_generate_month_rejects_an_empty_sheet():
    with pytest.raises(KaoheError, match="工单"):
        jobs.generate_month_from([[None, None]], rulebook="jiangmen", month=MONTH)


def test_archive_of_the_generated_tabs(demo_month, tmp_path):
    _, tickets, _ = demo_month
    result = jobs.generate_month_from(tickets, rulebook="jiangmen", month=MONTH)
    workbook = tmp_path / "考核工作簿.xlsx"  # the workbook after 生成本月考核表, values only
    book = xlsxwriter.Workbook(str(workbook), {"default_date_format": jobs.DATE_FORMAT, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False})
    for name, rows in result.tabs.items():
        sheet = book.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is not None:
                    sheet.write(i, j, value)
    book.close()
    manifest = jobs.export_archive_from(workbook, month=MONTH)
    assert manifest.out_dir == tmp_path / f"归档_{MONTH}"
    assert [f.sheet for f in manifest.files] == ["月报_台账", "月报_拒收"]
    assert manifest.masked and verify_archive(manifest.out_dir) == []
    assert manifest.files[0].rows == len(result.tabs["月报_台账"]) - 1
    assert any("SHA-256" in line for line in jobs.archive_summary(manifest))


def test_holiday_rows():
    rows = [["日期", "类型", "名称"], [None, None, None],
            ["2027-01-01", "节假日", "元旦"], [dt.datetime(2027, 2, 6), "调休上班", "春节"]]
    entries = jobs.holiday_entries_from(rows)
    assert [(e.day, e.kind) for e in entries] == [(dt.date(2027, 1, 1), "节假日"), (dt.date(2027, 2, 6), "调休上班")]
    assert jobs.holiday_entries_from(None) == () == jobs.holiday_entries_from([[None]])
    assert "节假日 1 天" in jobs.holiday_summary(entries)[0]
    with pytest.raises(KaoheError, match="第3行"):
        jobs.holiday_entries_from([["日期", "类型"], ["2027-01-01", "节假日"], ["2027-01-02", "放风"]])


def test_month_cell_values():
    assert jobs.month_text("2025-10") == jobs.month_text(dt.datetime(2025, 10, 1)) == MONTH
    assert jobs.month_text("2025年10月") == jobs.month_text("2025/10") == MONTH
    assert jobs.month_text("2025-1") == "2025-01"
    for bad in (None, "", "2025-13", "十月"):
        with pytest.raises(KaoheError):
            jobs.month_text(bad)


def test_values_written_into_excel_stay_text():
    rows = [["=1+1", "", None, 3.0, "20251001001234567", dt.datetime(2025, 10, 1)], ["@SUM(1)"]]
    assert jobs.excel_cells(rows) == [["'=1+1", None, None, 3.0, "'20251001001234567", dt.datetime(2025, 10, 1)],
                                      ["'@SUM(1)"]]
    assert jobs.datetime_columns(rows) == [5]


# -- the Excel glue, against a stand-in for the few xlwings calls it makes ----------------------------
class _Range:
    def __init__(self, sheet, first, last=None):
        self.sheet, self.first, self.last = sheet, first, last or first

    def options(self, ndim):
        assert ndim == 2
        return self

    @property
    def value(self):
        (r0, c0), (r1, c1) = self.first, self.last
        return [[self.sheet.cells.get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]

    @value.setter
    def value(self, rows):
        r0, c0 = self.first
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    self.sheet.cells[(r0 + i, c0 + j)] = v

    @property
    def number_format(self):
        return self.sheet.formats.get(self.first)

    @number_format.setter
    def number_format(self, text):
        self.sheet.formats[self.first] = text


class _Sheet:
    def __init__(self, name, rows=()):
        self.name, self.cells, self.formats = name, {}, {}
        _Range(self, (1, 1)).value = rows

    def range(self, first, last=None):
        return _Range(self, first, last)

    @property
    def used_range(self):
        last = max(self.cells) if self.cells else (1, 1)
        width = max((c for _, c in self.cells), default=1)
        return type("Used", (), {"last_cell": type("Cell", (), {"row": last[0], "column": width})})

    def clear(self):
        self.cells.clear()
        self.formats.clear()

    def text(self, row, column):
        return self.cells.get((row, column))


class _Sheets(list):
    def __getitem__(self, key):
        return next(s for s in self if s.name == key) if isinstance(key, str) else list.__getitem__(self, key)

    def add(self, name, after):
        self.insert(self.index(after) + 1, _Sheet(name))
        return self[name]


class _Book:
    def __init__(self, sheets, names):
        self.sheets = _Sheets(sheets)
        self.names = {k: type("Name", (), {"refers_to_range": type("R", (), {"value": v})}) for k, v in names.items()}


def test_generate_month_button_writes_the_tabs(demo_month):
    _, tickets, _ = demo_month
    book = _Book([_Sheet("操作"), _Sheet(jobs.TICKETS_SHEET, tickets)],
                 {jobs.MONTH_NAME: dt.datetime(2025, 10, 1), jobs.RULEBOOK_NAME: "jiangmen"})
    lines = macros._generate_month(book)
    assert lines[0].startswith("工单: 读入 204 行") and lines[-1].startswith("已写入: 月报_台账、月报_拒收、月报_汇总")
    ledger = book.sheets["月报_台账"]
    assert ledger.text(1, 1) == "'工单号" and ledger.text(2, 1).startswith("'JM-")
    dispatched = next(j for j in range(1, 40) if ledger.text(1, j) == "'派单时间")  # the ledger's own column order
    assert isinstance(ledger.text(2, dispatched), dt.datetime) and ledger.formats[(1, dispatched)] == jobs.DATE_FORMAT
    assert [s.name for s in book.sheets][:4] == ["操作", jobs.TICKETS_SHEET, "月报_台账", "月报_拒收"]
    before = dict(ledger.cells)
    macros._generate_month(book)  # a second run rewrites the same tabs
    assert book.sheets["月报_台账"].cells == before and len(book.sheets) == len({s.name for s in book.sheets})


def test_buttons_report_a_bad_month_cell_and_a_missing_name(demo_month):
    _, tickets, _ = demo_month
    book = _Book([_Sheet(jobs.TICKETS_SHEET, tickets)], {jobs.MONTH_NAME: "十月", jobs.RULEBOOK_NAME: "jiangmen"})
    with pytest.raises(KaoheError, match="YYYY-MM"):
        macros._generate_month(book)
    with pytest.raises(KaoheError, match="考核月份"):
        macros._export_archive(_Book([], {}))


def test_refresh_holidays_button_sets_the_cells_calendar():
    from udfs.timeliness_cells import active_calendar, use_holidays

    rows = [["日期", "类型", "名称"], ["2027-01-01", "节假日", "元旦"], ["2027-02-06", "调休上班", "春节"]]
    book = _Book([_Sheet(jobs.HOLIDAYS_SHEET, rows)], {})
    try:
        lines = macros._refresh_holidays(book)
        assert lines[0] == "节假日表: 2 行(节假日 1 天、调休上班 1 天)"
        calendar = active_calendar()
        assert calendar.is_workday(np.datetime64("2027-02-06")) and not calendar.is_workday(np.datetime64("2027-01-01"))
        macros._refresh_holidays(_Book([], {}))  # no 节假日 sheet: back to the statutory calendar alone
        assert active_calendar().entries == ()
    finally:
        use_holidays(())
