"""The assessment workbook (kaohe workbook): built per rulebook, filled with a month, every
formula evaluated by a formula engine with the KH_ functions registered, and compared with
`kaohe monthly` on the same export and findings; its structure read back with openpyxl; the
VBA extracted; and the file opened by LibreOffice."""

from __future__ import annotations

import datetime as dt
import math
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from generators import demo
from generators.cli import main
from generators.ledger import ledger_from_export
from generators.monthly import assess_month, read_findings
from tests.formula_engine import evaluate, serial
from tests.office import read_csv, requires_office, to_csv, to_pdf
from tests.test_workbook_vba import _vml_buttons
from udfs.rulebook import installed, load
from workbook import vba
from workbook.builder import (
    SHEETS,
    SUMMARY_HEADERS,
    SUMMARY_TOP,
    UnitInputs,
    build_workbook,
    inputs_from_assessment,
    rulebook_reference,
    tickets_from_export,
)

MONTH = "2025-10"
RULEBOOKS = [info.name for info in installed()] + [str(demo.RULEBOOK)]


def _formula_cells(path):
    """{"SHEET!A1": cached value} of every cell a formula computes (array ranges cell by cell)."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for sheet in formulas.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if type(value).__name__ == "ArrayFormula":
                    cells = [c for line in sheet[value.ref] for c in line]
                elif isinstance(value, str) and value.startswith("="):
                    cells = [cell]
                else:
                    continue
                for c in cells:
                    v = cached[sheet.title][c.coordinate].value
                    out[f"{sheet.title.upper()}!{c.coordinate}"] = serial(v) if isinstance(v, dt.datetime) else v
    return out


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if value is None or repr(value) == "empty":
        return ""
    return str(value) if type(value).__name__ == "XlError" else value


def _same(computed, cached) -> bool:
    computed, cached = _plain(computed), "" if cached is None else cached
    if isinstance(computed, (int, float)) and isinstance(cached, (int, float)) and not isinstance(computed, bool):
        return math.isclose(computed, cached, rel_tol=1e-9, abs_tol=1e-6)
    return computed == cached


def _monthly_summary(path):
    """The unit rows of the `kaohe monthly` table's 汇总 sheet: {unit: {header: value}}."""
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name("汇总").to_python()
    top = next(i for i, row in enumerate(rows) if row and row[0] == "考核单位")
    header = rows[top]
    units = {}
    for row in rows[top + 1:]:
        if not row or not row[0]:
            break
        units[row[0]] = dict(zip(header, row))
    return units


@pytest.fixture(scope="module")
def month_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("month")
    export = folder / f"工单导出_{MONTH}.xlsx"
    demo.write_export(demo.synthesize_month(MONTH, tickets=150, seed=7), export, MONTH)
    return export


@pytest.mark.parametrize("name", RULEBOOKS, ids=lambda n: n.rsplit("/", 1)[-1])
def test_workbook_formulas_give_kaohe_monthly(name, month_export, tmp_path):
    """Built per shipped rulebook and filled with the month (bad rows included) and the 考核表
    inputs: every formula evaluated by the engine equals the value cached in the file, and the
    tickets counted, overdue, score, grade, pass and payment equal `kaohe monthly`'s."""
    book = load(name)
    path = tmp_path / "考核工作簿.xlsm"
    ledger, _ = ledger_from_export(month_export, book, MONTH)
    units = []
    if book.score is not None:
        findings = tmp_path / "考核记录.xlsx"
        demo.write_table(demo.synthesize_findings(MONTH, demo.VENDORS, book, seed=11), findings, "考核记录")
        monthly = tmp_path / "月度考核表.xlsx"
        assert main(["monthly", str(month_export), "--findings", str(findings), "--rulebook", name,
                     "--month", MONTH, "--out", str(monthly)]) == 0
        assessment = assess_month(ledger, book, MONTH, findings=read_findings(findings, book))
        units = inputs_from_assessment(assessment)
    build_workbook(book, path, month=MONTH, tickets=tickets_from_export(month_export, book), units=units, rows=170)

    computed = evaluate(path)
    cached = _formula_cells(path)
    assert len(cached) > 10 * 170  # every 台账 column over every row, and the scoring cells
    wrong = {k: (computed.get(k, "<not computed>"), v) for k, v in cached.items() if not _same(computed.get(k, ""), v)}
    assert not wrong, list(wrong.items())[:10]

    ledger_sheet = openpyxl.load_workbook(path, data_only=True)["台账"]
    header = [c.value for c in ledger_sheet[1]]
    counted = [row[header.index("入账")] for row in ledger_sheet.iter_rows(min_row=2, values_only=True)]
    assert counted.count(1) == len(ledger.rows) and counted.count(0) == len(ledger.rejected)
    if book.score is None:
        return
    expected = _monthly_summary(monthly)
    column = {h: chr(ord("A") + j) for j, h in enumerate(SUMMARY_HEADERS)}
    seen = []
    for r in range(SUMMARY_TOP + 2, SUMMARY_TOP + 2 + len(units)):
        unit = cached.get(f"汇总!B{r}") or openpyxl.load_workbook(path)["汇总"][f"B{r}"].value
        if not unit:
            continue
        seen.append(unit)
        want = expected[unit]

        def got(label, r=r):
            return _plain(computed[f"汇总!{column[label]}{r}"])

        assert got("工单数") == want["工单数"] and got("超时工单") == want["超时工单"]
        assert got("得分") == pytest.approx(want["得分"])
        assert got("扣分合计") == pytest.approx(want["扣分"]) and got("加分合计") == pytest.approx(want["加分"])
        if book.grade_bands:
            assert got("等级") == want["等级"]
        if book.score.pass_mark is not None:
            assert got("是否合格") == (want["是否合格"] == "合格")
        if book.payment is not None and want["应付金额(元)"] not in ("", None):
            assert got("应付金额(元)") == pytest.approx(want["应付金额(元)"])
    assert sorted(seen) == sorted(expected)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "考核工作簿_jiangmen.xlsm"
    assert main(["workbook", "--rulebook", "jiangmen", "--out", str(path), "--unit", "甲公司", "--password", ""]) == 0
    return path


def test_template_protection_validation_and_names(template):
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == list(SHEETS)
    protected = {name: book[name].protection.sheet for name in book.sheetnames}
    assert protected == {"说明": True, "工单": False, "台账": True, "考核表": True, "汇总": True, "节假日": False,
                         "规则": True, "xlwings.conf": False}
    assert set(book.defined_names) >= {"考核月份", "考核办法", "月初", "统计截止", "单位名单", "台账_入账",
                                       "台账_考核单位", "工单_派单时间", "启用_回复", "有回复时间"}
    assert book.defined_names["考核月份"].attr_text == "说明!$B$3"
    assert book["说明"]["B3"].protection.locked is False and book["说明"]["B4"].value == "jiangmen"

    def validations(sheet):
        return {(str(v.sqref), v.type): v for v in book[sheet].data_validations.dataValidation}

    tickets = validations("工单")
    assert tickets[("E2:E1001", "list")].formula1 == '"特急,紧急,一般"'
    assert tickets[("B2:B1001", "list")].formula1 == "单位名单"
    kinds = validations("节假日")[("B2:B501", "list")]
    assert "调休上班" in kinds.formula1 and "节假日" in kinds.formula1

    scoring = book["考核表"]
    ranged = next(i for i in load("jiangmen").items if i.ranged and not i.measure)
    measured = next(i for i in load("jiangmen").items if i.measure)
    rows = {}
    for r in range(1, scoring.max_row + 1):
        rows.setdefault(scoring.cell(r, 1).value, r)
    chosen = scoring.cell(rows[ranged.id], 7)
    assert chosen.protection.locked is False and chosen.fill.fgColor.rgb.endswith("FFF2CC")
    rule = next(v for v in scoring.data_validations.dataValidation if chosen.coordinate in str(v.sqref))
    assert rule.type == "decimal" and float(rule.formula1) == ranged.points[0] and "范围内" in rule.error
    count = scoring.cell(rows[measured.id], 6)
    assert count.value.startswith("=IF(") and "台账_入账" in count.value and count.protection.locked is not False
    amount = scoring.cell(rows[measured.id], 9)
    assert amount.value == f'=KH_ITEM(考核办法,"{measured.id}",F{rows[measured.id]},G{rows[measured.id]},H{rows[measured.id]})'
    summary = book["汇总"]
    assert summary["B5"].value == "甲公司" and summary["B5"].protection.locked is False
    assert summary["H5"].value.startswith("=IF(B5=")

    with zipfile.ZipFile(template) as archive:
        calc = archive.read("xl/workbook.xml").decode()
        assert "fullCalcOnLoad" not in calc and 'calcId="191029"' in calc
        assert archive.read(vba.VBA_PROJECT_PART) == vba.standalone_project()
    assert _vml_buttons(template) == [(b.caption, b.macro) for b in (*vba.BUTTONS, vba.IMPORT_FUNCTIONS)]


def test_template_vba_has_what_the_buttons_call(template):
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(template))
    try:
        code = "\n".join(source for _, _, _, source in parser.extract_macros())
    finally:
        parser.close()
    assert "Function RunPython(" in code and "Sub ImportPythonUDFs(" in code


def test_a_2027_date_without_a_schedule_shows_a_message_in_its_cell_and_the_rest_computes(tmp_path):
    """poyang counts business hours on working days: a ticket dispatched in 2027 (no official
    schedule yet) shows a Chinese message in its 截止 cell; the other tickets and the score compute."""
    book = load("poyang")
    start = dt.datetime(2025, 10, 9, 9, 0)
    tickets = {"ticket_id": ["P1", "P2", "P3"], "unit": ["甲", "甲", "甲"], "kind": ["故障"] * 3, "area": ["城区"] * 3,
               "dispatched_at": [start, dt.datetime(2027, 3, 1, 9, 0), start + dt.timedelta(hours=2)],
               "closed_at": [start + dt.timedelta(hours=3), dt.datetime(2027, 3, 1, 10, 0), None]}
    path = build_workbook(book, tmp_path / "坏日期.xlsm", month=MONTH, tickets=tickets, units=["甲"], rows=5)
    computed = {k: _plain(v) for k, v in evaluate(path).items()}
    header = [c.value for c in openpyxl.load_workbook(path)["台账"][1]]
    column = chr(ord("A") + header.index("处理截止"))
    assert computed[f"台账!{column}3"].startswith("#") and "2027" in computed[f"台账!{column}3"]
    assert isinstance(computed[f"台账!{column}2"], float) and isinstance(computed[f"台账!{column}4"], float)
    assert computed[f"台账!{chr(ord('A') + header.index('状态'))}3"].startswith("#")
    assert computed[f"汇总!C{SUMMARY_TOP + 2}"] == 2  # P1 and P3 are counted
    assert isinstance(computed[f"汇总!H{SUMMARY_TOP + 2}"], float)  # the score computes


def test_a_chosen_value_out_of_range_shows_a_message_in_its_cell_and_the_rest_computes(tmp_path):
    book = load("jiangmen")
    ranged = next(i for i in book.items if i.ranged and not i.measure)
    fixed = next(i for i in book.items if not i.ranged and not i.measure and not i.bonus and i.category != ranged.category)
    units = [UnitInputs("甲", {ranged.id: (1.0, ranged.points[1] + 5, math.nan), fixed.id: (1.0, math.nan, math.nan)})]
    path = build_workbook(book, tmp_path / "坏值.xlsm", month=MONTH, units=units, rows=5)
    computed = {k: _plain(v) for k, v in evaluate(path).items()}
    scoring = openpyxl.load_workbook(path)["考核表"]
    row = {}
    for r in range(1, scoring.max_row + 1):  # the first block is the unit's
        row.setdefault(scoring.cell(r, 1).value, r)
    assert computed[f"考核表!I{row[ranged.id]}"].startswith("#") and "范围" in computed[f"考核表!I{row[ranged.id]}"]
    assert computed[f"考核表!I{row[fixed.id]}"] == fixed.points[0]
    expected = book.score.full_marks - fixed.points[0]  # the bad item is left out, as the engine leaves it out
    assert computed[f"汇总!H{SUMMARY_TOP + 2}"] == pytest.approx(expected)


def test_rulebook_reference_is_the_name_or_the_contracts_file():
    assert rulebook_reference(load("jiangmen")) == "jiangmen"
    assert rulebook_reference(load(demo.RULEBOOK)) == str(demo.RULEBOOK.resolve())


def test_workbook_command_usage(tmp_path, capsys):
    assert main(["workbook", "--rulebook", "jiangmen", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert ".xlsm" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["workbook"])
    assert exit_.value.code == 2


@requires_office
def test_libreoffice_opens_the_demo_workbook_and_prints_it(tmp_path):
    path = tmp_path / "demo"
    assert main(["demo", "--out", str(path), "--tickets", "200"]) == 0
    workbook = path / f"考核工作簿_{MONTH}.xlsm"
    pdf = to_pdf(workbook, tmp_path / "pdf", recalc=False)
    assert pdf.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")
    sheets = to_csv(workbook, tmp_path / "csv", recalc=False)
    summary = read_csv(sheets["汇总"])
    expected = _monthly_summary(path / f"月度考核表_{MONTH}.xlsx")
    shown = {row[1]: row for row in summary if len(row) > 7 and row[1] in expected}
    assert set(shown) == set(expected)
    for unit, row in shown.items():
        assert float(row[7]) == pytest.approx(expected[unit]["得分"])


def test_generate_month_button_scores_what_the_workbook_shows(tmp_path):
    """生成本月考核表 on the demo workbook as Excel holds it (cached values, no 考核记录 sheet):
    the findings come from 考核表 and 汇总, and the generated 月报_汇总 scores equal the sheet's."""
    from macros import jobs

    assert main(["demo", "--out", str(tmp_path), "--tickets", "300"]) == 0
    tabs = jobs.read_tabs(tmp_path / f"考核工作簿_{MONTH}.xlsm")
    findings = jobs.findings_from_workbook(tabs["考核表"], tabs["汇总"], str(demo.RULEBOOK))
    assert findings[0] == ["考核单位", "考核项", "次数", "选定值", "加倍次数", "备注"]
    assert {row[1] for row in findings[1:]} >= {"代维费"} and len(findings) > len(demo.VENDORS) + 1
    result = jobs.generate_month_from(tabs["工单"], rulebook=str(demo.RULEBOOK), month=MONTH, findings=findings)
    assert result.reconciles
    generated = {}
    for row in result.tabs["月报_汇总"]:  # the first table; the charts' tables below name the units again
        if row and row[0] in demo.VENDORS:
            generated.setdefault(row[0], row)
    shown = {row[1]: row for row in tabs["汇总"] if len(row) > 7 and row[1] in demo.VENDORS}
    assert set(generated) == set(shown) == set(demo.VENDORS)
    for unit, row in shown.items():
        assert generated[unit][6] == pytest.approx(row[7])  # 得分
        assert generated[unit][1] == row[2]  # 工单数


def test_an_empty_template_computes_what_it_caches(tmp_path):
    """No month, no tickets, one unit: every formula still evaluates to its cached value
    (blank where there is nothing to count; full marks for the named unit)."""
    path = build_workbook(load("dongguan"), tmp_path / "空白.xlsm", units=["甲"], rows=20)
    computed, cached = evaluate(path), _formula_cells(path)
    assert all(_same(computed.get(k, ""), v) for k, v in cached.items())
    assert _plain(computed[f"汇总!H{SUMMARY_TOP + 2}"]) == load("dongguan").score.full_marks
    assert _plain(computed[f"汇总!H{SUMMARY_TOP + 3}"]) == ""
