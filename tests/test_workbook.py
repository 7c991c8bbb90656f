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
from xlsxwriter.utility import xl_col_to_name

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
    AMOUNT,
    CHOSEN,
    COUNT,
    NOTE,
    RAW,
    REPEATS,
    SHEETS,
    STATUS_CELL,
    SUMMARY_HEADERS,
    SUMMARY_TOP,
    TEXT,
    UnitInputs,
    build_workbook,
    inputs_from_assessment,
    rulebook_reference,
    tickets_from_export,
)

MONTH = "2025-10"
RULEBOOKS = [info.name for info in installed()] + [str(demo.RULEBOOK)]


def _col(column: int) -> str:
    return xl_col_to_name(column)


def _formula_cells(path):
    """{"SHEET!A1": cached value} of every cell a formula computes (array ranges cell by cell), but
    说明's 函数状态, which says whether the cell functions run (the engine runs them: it says so)."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for sheet in formulas.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if type(value).__name__ == "ArrayFormula":
                    ranged = sheet[value.ref]  # one cell (a single-cell array formula) or rows of cells
                    cells = [ranged] if type(ranged).__name__ == "Cell" else [c for line in ranged for c in line]
                elif isinstance(value, str) and value.startswith("="):
                    cells = [cell]
                else:
                    continue
                for c in cells:
                    if sheet.title == "说明" and c.coordinate == STATUS_CELL.replace("$", ""):
                        continue
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


def _ledger_rows(path):
    """The 台账 sheet's cached rows by 工单号 (counted rows only): {ticket id: {header: value}}."""
    sheet = openpyxl.load_workbook(path, data_only=True)["台账"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    out = {}
    for row in rows[1:]:
        record = dict(zip(header, row))
        if record["入账"] == 1:
            out[record["工单号"]] = record
    return header, out


def _agrees(got, want) -> bool:
    """A 汇总 cell against `kaohe monthly`'s: "—" (not applicable) there is an empty cell here."""
    if want in ("—", "", None):
        return got in ("", None)
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6)
    return got == want


@pytest.mark.parametrize("name", RULEBOOKS, ids=lambda n: n.rsplit("/", 1)[-1])
def test_workbook_formulas_give_kaohe_monthly(name, month_export, tmp_path):
    """Built per shipped rulebook and filled with the month (bad rows included) and the 考核表
    inputs: every formula evaluated by the engine equals the value cached in the file; the
    台账 gives each ticket the verdicts and the per-ticket amounts of `kaohe ledger`; and the
    tickets counted, overdue, on-time rate, score, grade, pass, payment and the amounts totalled
    apart equal `kaohe monthly`'s (its timeliness-only table for a rulebook that cannot score)."""
    from generators.ledger import AMOUNT_COLUMNS
    cannot_score = "得分无法计算"

    book = load(name)
    path = tmp_path / "考核工作簿.xlsm"
    ledger, _ = ledger_from_export(month_export, book, MONTH)
    monthly = tmp_path / "月度考核表.xlsx"
    command = ["monthly", str(month_export), "--rulebook", name, "--month", MONTH, "--out", str(monthly)]
    found = None
    if book.can_score:
        findings = tmp_path / "考核记录.xlsx"
        demo.write_table(demo.synthesize_findings(MONTH, demo.VENDORS, book, seed=11), findings, "考核记录")
        command += ["--findings", str(findings)]
        found = read_findings(findings, book)
    else:
        command += ["--timeliness-only"]
    assert main(command) == 0
    assessment = assess_month(ledger, book, MONTH, findings=found, timeliness_only=not book.can_score)
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
    # per ticket: the verdict at every stage the ledger timed, and the amounts it attributes
    _, by_id = _ledger_rows(path)
    amounts = [c for c in AMOUNT_COLUMNS.values() if c in ledger.rows.columns]
    assert [c for c in AMOUNT_COLUMNS.values() if c in header] == amounts
    for record in ledger.rows.to_dict("records"):
        shown = by_id[record["ticket_id"]]
        for stage in ledger.stages:
            assert shown[f"{stage}及时"] == record[f"{stage}及时"], (record["ticket_id"], stage)
        for c in amounts:
            assert shown[c] == pytest.approx(record[c]), (record["ticket_id"], c)
        for stage in dict.fromkeys(band.stage for band in book.bands):  # band points per ticket
            if f"{stage}得分" in record:
                assert shown[f"{stage}得分"] == record[f"{stage}得分"], (record["ticket_id"], stage)

    if not book.can_score:
        notes = openpyxl.load_workbook(path, data_only=True)
        assert cannot_score in str(notes["考核表"]["A4"].value) and cannot_score in str(notes["汇总"]["A3"].value)
        assert any(cannot_score in str(c.value) for row in notes["说明"].iter_rows() for c in row)
    expected = _monthly_summary(monthly)
    column = {h: xl_col_to_name(j) for j, h in enumerate(SUMMARY_HEADERS)}
    labels = [c.value for c in openpyxl.load_workbook(path)["汇总"][SUMMARY_TOP + 1]]
    column.update({h: xl_col_to_name(j) for j, h in enumerate(labels)
                   if isinstance(h, str) and h.startswith(("另计", "平均"))})
    seen = []
    for r in range(SUMMARY_TOP + 2, SUMMARY_TOP + 2 + len(units)):
        unit = cached.get(f"汇总!B{r}") or openpyxl.load_workbook(path)["汇总"][f"B{r}"].value
        if not unit:
            continue
        seen.append(unit)
        want = expected[unit]

        def got(label, r=r):
            return _plain(computed[f"汇总!{column[label]}{r}"]) if f"汇总!{column[label]}{r}" in computed else ""

        checks = {"工单数": "工单数", "超时工单": "超时工单", "及时率": "及时率"}
        if book.can_score:
            money = book.score.unit == "元"  # the monthly table heads a score in 元 扣款/奖励/得分(元)
            checks.update({"得分": "得分(元)" if money else "得分", "扣分合计": "扣款(元)" if money else "扣分",
                           "加分合计": "奖励(元)" if money else "加分"})
            checks.update({h: h for h in want if h.startswith("另计")})
            if book.grade_bands:
                checks["等级"] = "等级"
            if book.payment is not None and want["应付金额(元)"] not in ("", None):
                checks["应付金额(元)"] = "应付金额(元)"
        for mine, theirs in checks.items():
            assert _agrees(got(mine), want[theirs]), (unit, mine, got(mine), want[theirs])
        for label in (h for h in want if h.startswith("平均")):  # band means (the table rounds to 4 places)
            assert (got(label) in ("", None) if want[label] in ("—", "", None)
                    else got(label) == pytest.approx(want[label], abs=1e-4)), (unit, label, got(label), want[label])
        if book.can_score and book.score.pass_mark is not None and want["是否合格"] not in ("—", "", None):
            assert got("是否合格") == want["是否合格"] and want["是否合格"] in ("合格", "不合格")  # words, not TRUE/FALSE
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
                         "规则": True, "xlwings.conf": False, "缓存": True, "规则文件": True, "_IntelliSense_": False}
    assert book["缓存"].sheet_state == book["规则文件"].sheet_state == "hidden"  # not printed
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
    chosen = scoring.cell(rows[ranged.id], CHOSEN + 1)
    assert chosen.protection.locked is False and chosen.fill.fgColor.rgb.endswith("FFF2CC")
    rule = next(v for v in scoring.data_validations.dataValidation if chosen.coordinate in str(v.sqref))
    assert rule.type == "decimal" and float(rule.formula1) == ranged.points[0] and "范围内" in rule.error
    count = scoring.cell(rows[measured.id], COUNT + 1)
    assert count.value.startswith("=IF(") and "台账_入账" in count.value and count.protection.locked is not False
    raw = scoring.cell(rows[measured.id], RAW + 1)
    r = rows[measured.id]
    call = f'KH_ITEM(考核办法,"{measured.id}",{_col(COUNT)}{r},{_col(CHOSEN)}{r},{_col(REPEATS)}{r})'
    assert raw.value == f"=IFERROR({call},0)"  # the saved amount where the cell functions are not running
    assert scoring.column_dimensions[_col(RAW)].hidden  # KH_ITEM's own result; 扣分 shows it or 输入有误
    assert scoring.cell(r, AMOUNT + 1).value == f'=IF(LEFT({_col(RAW)}{r},1)="#","输入有误",{_col(RAW)}{r})'
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
    raw, amount, note = (f"考核表!{_col(c)}{row[ranged.id]}" for c in (RAW, AMOUNT, NOTE))
    assert computed[raw].startswith("#") and "范围" in computed[raw]
    assert computed[amount] == "输入有误" and "范围" in computed[note] and not computed[note].startswith("#")
    assert computed[f"考核表!{_col(AMOUNT)}{row[fixed.id]}"] == fixed.points[0]
    # never a score computed without the bad item: its category, the unit's total and 汇总 say 输入有误
    cached = openpyxl.load_workbook(path, data_only=True)
    subtotals = [r for r in range(1, scoring.max_row + 1) if scoring.cell(r, 1).value == ranged.category]
    subtotal = f"{_col(AMOUNT)}{subtotals[0]}"
    assert computed[f"考核表!{subtotal}"] == "输入有误" == cached["考核表"][subtotal].value
    for column in "FGH":  # 扣分合计, 加分合计, 得分 in 汇总
        assert computed[f"汇总!{column}{SUMMARY_TOP + 2}"] == "输入有误", column
        assert cached["汇总"][f"{column}{SUMMARY_TOP + 2}"].value == "输入有误", column
    assert all(_same(computed.get(k, ""), v) for k, v in _formula_cells(path).items())


def test_rulebook_reference_is_the_name_never_a_path():
    assert rulebook_reference(load("jiangmen")) == "jiangmen"
    assert rulebook_reference(load(demo.RULEBOOK)) == "jiangmen_demo"  # the file travels in the workbook


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
    (blank where there is nothing to count; full marks for the named unit). A rulebook that
    cannot score (dongguan: its source carries no scoring sheet) gives no score and says why."""
    cannot_score = "得分无法计算"

    path = build_workbook(load("jiangmen"), tmp_path / "空白.xlsm", units=["甲"], rows=20)
    computed, cached = evaluate(path), _formula_cells(path)
    assert all(_same(computed.get(k, ""), v) for k, v in cached.items())
    assert _plain(computed[f"汇总!H{SUMMARY_TOP + 2}"]) == load("jiangmen").score.full_marks
    assert _plain(computed[f"汇总!H{SUMMARY_TOP + 3}"]) == ""

    assert not load("dongguan").can_score
    path = build_workbook(load("dongguan"), tmp_path / "无考核项.xlsm", units=["甲"], rows=20)
    computed, cached = evaluate(path), _formula_cells(path)
    assert all(_same(computed.get(k, ""), v) for k, v in cached.items())
    book = openpyxl.load_workbook(path)
    assert book["汇总"][f"H{SUMMARY_TOP + 2}"].value is None  # no score, not even a formula
    assert cannot_score in book["考核表"]["A4"].value and cannot_score in book["汇总"]["A3"].value
    assert cannot_score in book["说明"]["B8"].value


# -- the new semantics on a few hand-made tickets ---------------------------------------------------------
def _export(path, rows):
    """An export .xlsx with the canonical Chinese headers: ``rows`` are dicts of canonical fields."""
    from generators.workbooks import write_rows
    from udfs.rulebook import CANONICAL_FIELDS

    fields = list(dict.fromkeys(f for row in rows for f in row))
    write_rows([[CANONICAL_FIELDS[f] for f in fields]] + [[row.get(f) for f in fields] for row in rows], path, "工单")
    return path


def _findings(path, rows):
    import pandas as pd

    from generators.monthly import FINDING_COLUMNS

    demo.write_table(pd.DataFrame(rows, columns=list(FINDING_COLUMNS)), path, "考核记录")
    return path


def _built(tmp_path, name, tickets, findings=()):
    """The workbook built from an export and findings as ``kaohe monthly`` reads them: its
    evaluated cells (after checking every formula gives its cached value), the 台账 rows by
    ticket id, the ledger and the assessment."""
    book = load(name)
    export = _export(tmp_path / "工单导出.xlsx", tickets)
    ledger, _ = ledger_from_export(export, book, MONTH)
    found = read_findings(_findings(tmp_path / "考核记录.xlsx", findings), book) if findings else None
    assessment = assess_month(ledger, book, MONTH, findings=found, timeliness_only=not book.can_score)
    path = build_workbook(book, tmp_path / "考核工作簿.xlsm", month=MONTH, tickets=tickets_from_export(export, book),
                          units=inputs_from_assessment(assessment), rows=len(tickets) + 3)
    computed, cached = evaluate(path), _formula_cells(path)
    wrong = {k: (computed.get(k, "<not computed>"), v) for k, v in cached.items() if not _same(computed.get(k, ""), v)}
    assert not wrong, list(wrong.items())[:10]
    _, rows = _ledger_rows(path)
    assert len(rows) == len(tickets) == len(ledger.rows)  # every ticket counted, none rejected
    for record in ledger.rows.to_dict("records"):  # the verdicts and amounts of `kaohe ledger`
        for stage in ledger.stages:
            assert rows[record["ticket_id"]][f"{stage}及时"] == record[f"{stage}及时"], (record["ticket_id"], stage)
        for amount in ("扣分", "扣款(元)"):
            if amount in ledger.rows.columns:
                assert rows[record["ticket_id"]][amount] == pytest.approx(record[amount]), (record["ticket_id"], amount)
    return computed, rows, ledger, assessment, path


def _summary_row(path, unit):
    sheet = openpyxl.load_workbook(path, data_only=True)["汇总"]
    header = [c.value for c in sheet[SUMMARY_TOP + 1]]
    for row in sheet.iter_rows(min_row=SUMMARY_TOP + 2, values_only=True):
        if row[1] == unit:
            return dict(zip(header, row))
    raise KeyError(unit)


def test_jiangmen_visits_are_timed_per_kind_from_their_own_start(tmp_path):
    """回访 by the row that fits the ticket's kind: 处理期间已解决 from 回复时间, 当天 (a Saturday
    reply visited Saturday 23:00 is on time, Sunday 01:00 late); 后续措施解决 from 通知时间, 7 天
    含当天 (handed over Tue 10-14, due Mon 10-20 24:00); any other kind is not assessed at 回访
    (不考核, no deadline) and stays counted, as is a 后续措施解决 ticket without 通知时间."""
    day = dt.datetime
    base = {"unit": "甲", "priority": "一般", "repeat": "否"}
    tickets = [
        {**base, "ticket_id": "J1", "kind": "投诉", "dispatched_at": day(2025, 10, 18, 8), "accepted_at": day(2025, 10, 18, 8, 30),
         "replied_at": day(2025, 10, 18, 10), "visited_at": day(2025, 10, 18, 20)},
        {**base, "ticket_id": "J2", "kind": "处理期间已解决", "dispatched_at": day(2025, 10, 18, 8),
         "accepted_at": day(2025, 10, 18, 8, 30), "replied_at": day(2025, 10, 18, 10), "visited_at": day(2025, 10, 18, 23)},
        {**base, "ticket_id": "J3", "kind": "处理期间已解决", "dispatched_at": day(2025, 10, 18, 8),
         "accepted_at": day(2025, 10, 18, 8, 30), "replied_at": day(2025, 10, 18, 10), "visited_at": day(2025, 10, 19, 1)},
        {**base, "ticket_id": "J4", "kind": "后续措施解决", "dispatched_at": day(2025, 10, 13, 9),
         "accepted_at": day(2025, 10, 13, 9, 30), "replied_at": day(2025, 10, 13, 12), "notified_at": day(2025, 10, 14, 9),
         "visited_at": day(2025, 10, 20, 20)},
        {**base, "ticket_id": "J5", "kind": "后续措施解决", "dispatched_at": day(2025, 10, 13, 9),
         "accepted_at": day(2025, 10, 13, 9, 30), "replied_at": day(2025, 10, 13, 12), "visited_at": day(2025, 10, 30, 20)},
    ]
    _, rows, ledger, assessment, path = _built(tmp_path, "jiangmen", tickets)
    assert "回访" in ledger.stages
    verdicts = {key: rows[key]["回访及时"] for key in rows}
    assert verdicts == {"J1": "不考核", "J2": "是", "J3": "否", "J4": "是", "J5": "不考核"}
    assert rows["J1"]["回访截止"] is None and rows["J1"]["回访超时小时"] is None
    assert rows["J2"]["回访截止"] == dt.datetime(2025, 10, 19) and rows["J3"]["回访超时小时"] == pytest.approx(1)
    assert rows["J4"]["回访截止"] == dt.datetime(2025, 10, 21)  # 10-20 24:00
    assert rows["J2"]["回访起算"] == dt.datetime(2025, 10, 18, 10) and rows["J4"]["回访起算"] == dt.datetime(2025, 10, 14, 9)
    assert all(rows[key]["状态"] is None and rows[key]["入账"] == 1 for key in rows)  # 不考核 is no rejection
    formula = openpyxl.load_workbook(path)["台账"]
    header = [c.value for c in formula[1]]
    start = formula.cell(2, header.index("回访起算") + 1).value.text
    assert start.startswith("=IF(") and "台账_回复时间" in start and "台账_通知时间" in start and "KH_" not in start
    shown = _summary_row(path, "甲")
    unit = assessment.units[0]
    assert unit.assessed == 5 and unit.overdue == 1
    assert shown["超时工单"] == 1 and shown["及时率"] == pytest.approx(unit.timely_rate) == pytest.approx(0.8)


def test_jiangmen_ledger_gives_each_overdue_ticket_its_marginal_deduction(tmp_path):
    """二1 (2分/张, 5张以上扣除该项目所有10分): a unit's overdue tickets, numbered by dispatch time
    (ties by row), carry 2,2,2,2,2 and then 0 — summing to the table's 10; 二次投诉 5分/张."""
    day = dt.datetime
    tickets = []
    for k, hour in enumerate((9, 8, 8, 10, 11, 12, 7)):  # 7 tickets replied two days late; two dispatched at 08:00
        tickets.append({"ticket_id": f"Y{k}", "unit": "乙", "priority": "一般", "kind": "故障",
                        "dispatched_at": day(2025, 10, 2, hour), "accepted_at": day(2025, 10, 2, hour, 30),
                        "replied_at": day(2025, 10, 4, hour), "repeat": "是" if k == 3 else "否"})
    tickets.append({"ticket_id": "Y9", "unit": "乙", "priority": "一般", "kind": "故障", "dispatched_at": day(2025, 10, 3, 8),
                    "accepted_at": day(2025, 10, 3, 8, 30), "replied_at": day(2025, 10, 3, 12), "repeat": "否"})
    computed, rows, _, assessment, path = _built(tmp_path, "jiangmen", tickets)
    order = sorted((t["dispatched_at"], k, t["ticket_id"]) for k, t in enumerate(tickets[:7]))
    assert [rows[key]["二1第几张"] for _, _, key in order] == [1, 2, 3, 4, 5, 6, 7]
    assert [rows[key]["二1扣分"] for _, _, key in order] == [2, 2, 2, 2, 2, 0, 0]
    assert rows["Y9"]["二1扣分"] is None and rows["Y9"]["扣分"] == 0
    assert rows["Y3"]["扣分"] == 2 + 5  # overdue and a repeat complaint
    assert sum(rows[key]["扣分"] for key in rows) == 10 + 5
    line = {line.item.id: line for line in assessment.units[0].lines}
    assert line["二1"].amount == 10 and line["二7"].amount == 5
    scoring = openpyxl.load_workbook(path)["考核表"]
    at = {scoring.cell(r, 1).value: r for r in range(scoring.max_row, 0, -1)}
    assert computed[f"考核表!{_col(AMOUNT)}{at['二1']}"] == 10 and computed[f"考核表!{_col(AMOUNT)}{at['二7']}"] == 5


def test_poyang_times_new_lines_from_the_notice_and_keeps_parties_and_money_apart(tmp_path):
    """Poyang: a 新开 ticket is timed from 通知时间 (24 h), a 故障 one from 派单时间 in business
    hours, a 新开 ticket without 通知时间 is not assessed. A unit whose tickets are 自维人员's has
    only the 自维人员 items (分): no score in 元, its 分 totalled apart; the 代维公司 unit's bonus
    无超时奖 is voided by a 确认单 finding, 全勤奖 is not (no 迟到)."""
    day = dt.datetime
    tickets = [
        {"ticket_id": "P1", "unit": "丙", "area": "城区", "kind": "新开", "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 9, 10), "notified_at": day(2025, 10, 10, 9), "closed_at": day(2025, 10, 11, 8)},
        {"ticket_id": "P2", "unit": "丙", "area": "城区", "kind": "故障", "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 9, 10), "closed_at": day(2025, 10, 9, 15)},
        {"ticket_id": "P3", "unit": "丙", "area": "城区", "kind": "新开", "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 9, 10), "closed_at": day(2025, 10, 12, 8)},
        {"ticket_id": "P4", "unit": "丁", "party": "自维人员", "area": "城区", "kind": "故障",
         "dispatched_at": day(2025, 10, 9, 9), "accepted_at": day(2025, 10, 9, 9, 10), "closed_at": day(2025, 10, 9, 17)},
    ]
    findings = [("丙", "确认单", 1, None, None, ""), ("丙", "全勤奖", 1, None, None, ""), ("丁", "自维迟到", 2, None, None, "")]
    _, rows, _, assessment, path = _built(tmp_path, "poyang", tickets, findings)
    assert {key: rows[key]["处理及时"] for key in rows} == {"P1": "是", "P2": "是", "P3": "不考核", "P4": "否"}
    assert rows["P1"]["处理起算"] == day(2025, 10, 10, 9) and rows["P1"]["处理截止"] == day(2025, 10, 11, 9)
    assert rows["P2"]["处理起算"] == day(2025, 10, 9, 9) and rows["P2"]["处理截止"] == day(2025, 10, 9, 15, 30)
    assert rows["P4"]["扣分"] == 5 and rows["P4"]["扣款(元)"] == 0  # 自维超时 in 分, never in 元
    units = {u.unit: u for u in assessment.units}
    assert units["丁"].party == "自维人员" and not units["丁"].scored and units["丁"].apart == {"分": 5 + 2}
    assert units["丙"].score == pytest.approx(-20 + 100)
    shown = {name: _summary_row(path, name) for name in units}
    assert shown["丙"]["得分(元)"] == pytest.approx(80) and shown["丙"]["另计扣分合计(分)"] is None
    assert shown["丁"]["得分(元)"] is None and shown["丁"]["另计扣分合计(分)"] == pytest.approx(7)
    scoring = openpyxl.load_workbook(path, data_only=True)["考核表"]
    parties = [row[TEXT] for row in scoring.iter_rows(values_only=True) if row[0] == "考核单位" and row[1]]
    assert parties == [units[name].party for name in units]


def test_a_stage_timed_by_each_tickets_own_limit(tmp_path):
    """service_quality's 办理 takes each ticket's 办理时限 (当天, 3日内 …): the 台账 reads it with
    KH_DEADLINE; a ticket without one, or with one that cannot be read, is not assessed there
    and stays counted, as in `kaohe ledger`."""
    day = dt.datetime
    base = {"unit": "甲", "kind": "居民用户", "dispatched_at": day(2025, 10, 9, 9)}
    tickets = [
        {**base, "ticket_id": "S1", "time_limit": "当天", "replied_at": day(2025, 10, 9, 23)},
        {**base, "ticket_id": "S2", "time_limit": "当天", "replied_at": day(2025, 10, 10, 1)},
        {**base, "ticket_id": "S3", "time_limit": "3日内", "replied_at": day(2025, 10, 12, 20)},  # 10-12 a Sunday: to 10-13 24:00
        {**base, "ticket_id": "S4", "replied_at": day(2025, 10, 12, 20)},
        {**base, "ticket_id": "S5", "time_limit": "尽快", "replied_at": day(2025, 10, 12, 20)},
    ]
    rows = _built(tmp_path, "service_quality", tickets)[1]
    assert {key: rows[key]["办理及时"] for key in rows} == {"S1": "是", "S2": "否", "S3": "是", "S4": "不考核",
                                                          "S5": "不考核"}
    assert rows["S3"]["办理截止"] == day(2025, 10, 14) and rows["S4"]["办理截止"] is None
    assert all(rows[key]["状态"] is None for key in rows)


def test_a_capped_category_is_spent_per_ticket_in_time_order_as_kaohe_ledger_does(tmp_path):
    """Jiangmen 二 may lose at most 40 分. Eight repeat complaints of one unit, each signed late
    (2025-10-11 … 10-18): 二1 gives 2,2,2,2,2,0,0,0 and 二7 5 each, 50 分 by the items. The 台账 spends
    the category in dispatch order as `kaohe ledger` does: 扣分 7,7,7,7,7,5,0,0 (40), the per-item
    columns cut likewise (C6: 二7 5; C7, C8: nothing left); 考核表 deducts 40 for 二 and scores 55."""
    day = dt.datetime
    tickets = [{"ticket_id": f"C{k}", "unit": "甲", "priority": "一般", "dispatched_at": day(2025, 10, 10 + k, 9),
                "accepted_at": day(2025, 10, 10 + k, 12), "replied_at": day(2025, 10, 10 + k, 18), "repeat": "是"}
               for k in (3, 1, 2, 4, 5, 6, 8, 7)]  # not in time order in the sheet
    computed, rows, _, assessment, path = _built(tmp_path, "jiangmen", tickets)
    keys = [f"C{k}" for k in range(1, 9)]
    assert [rows[key]["扣分"] for key in keys] == [7, 7, 7, 7, 7, 5, 0, 0]
    assert [rows[key]["二1扣分"] for key in keys] == [2, 2, 2, 2, 2, 0, 0, 0]
    assert [rows[key]["二7扣分"] for key in keys] == [5, 5, 5, 5, 5, 5, 0, 0]
    # `kaohe ledger` on the same export gives the same per-ticket amounts
    out = tmp_path / "台账.xlsx"
    assert main(["ledger", str(tmp_path / "工单导出.xlsx"), "--rulebook", "jiangmen", "--month", MONTH,
                 "--out", str(out)]) == 0
    sheet = openpyxl.load_workbook(out)["台账"]
    header = [c.value for c in sheet[1]]
    command = {row[header.index("工单号")]: row[header.index("扣分")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert {key: rows[key]["扣分"] for key in keys} == command
    unit = assessment.units[0]
    assert unit.score == 55 and _summary_row(path, "甲")["得分"] == 55
    scoring = openpyxl.load_workbook(path)["考核表"]
    at = {scoring.cell(r, 1).value: r for r in range(scoring.max_row, 0, -1)}  # the first block's category row
    assert computed[f"考核表!{_col(AMOUNT)}{at['二']}"] == 40


def test_each_ticket_is_assessed_as_its_units_party(tmp_path):
    """Poyang assesses 代维公司 and 自维人员 apart. 戊 has two 代维公司 tickets (one with an empty
    人员类别, one with 外包, which is none of the rulebook's parties) and a 自维人员 one: every ticket of 戊
    is 代维公司's, so its late 自维人员 ticket costs 200 元 (超时), not 5 分 (自维超时). 己 has one of each:
    a tie goes to the party of its first ticket (自维人员), as `kaohe ledger` takes the majority."""
    day = dt.datetime
    base = {"area": "城区", "kind": "故障", "dispatched_at": day(2025, 10, 9, 9), "accepted_at": day(2025, 10, 9, 9, 10)}
    late, on_time = day(2025, 10, 9, 17), day(2025, 10, 9, 10)
    tickets = [
        {**base, "ticket_id": "W1", "unit": "戊", "closed_at": late},
        {**base, "ticket_id": "W2", "unit": "戊", "party": "自维人员", "closed_at": late},
        {**base, "ticket_id": "W3", "unit": "戊", "party": "外包", "closed_at": on_time},
        {**base, "ticket_id": "F1", "unit": "己", "party": "自维人员", "closed_at": late},
        {**base, "ticket_id": "F2", "unit": "己", "closed_at": late},
    ]
    _, rows, _, assessment, path = _built(tmp_path, "poyang", tickets)
    assert {key: rows[key]["人员类别"] for key in rows} == {"W1": "代维公司", "W2": "代维公司", "W3": "代维公司",
                                                        "F1": "自维人员", "F2": "自维人员"}
    assert {key: rows[key]["人员类别(工单)"] for key in rows} == {"W1": "代维公司", "W2": "自维人员", "W3": "代维公司",
                                                            "F1": "自维人员", "F2": "代维公司"}
    assert rows["W2"]["扣款(元)"] == 200 and rows["W2"]["扣分"] == 0
    assert rows["F2"]["扣分"] == 5 and rows["F2"]["扣款(元)"] == 0
    units = {u.unit: u for u in assessment.units}
    assert units["戊"].party == "代维公司" and units["己"].party == "自维人员"
    assert _summary_row(path, "戊")["得分(元)"] == pytest.approx(units["戊"].score) == -400
    assert _summary_row(path, "己")["另计扣分合计(分)"] == pytest.approx(units["己"].apart["分"]) == 10
    scoring = openpyxl.load_workbook(path, data_only=True)["考核表"]
    parties = {row[1]: row[TEXT] for row in scoring.iter_rows(values_only=True) if row[0] == "考核单位" and row[1]}
    assert parties == {"戊": "代维公司", "己": "自维人员"}


def test_band_points_per_ticket_and_the_units_mean(tmp_path):
    """h_service_scoring scores each ticket by its response time (<1 h 5分, 1–3 h 4, 3–24 h 3, >24 h 1):
    the 台账's 响应历时 (KH_ELAPSED, suspensions deducted, to the month's end for a ticket not yet
    answered) and 响应得分 (KH_BAND) equal `kaohe ledger`'s, and 汇总's 平均响应得分 the monthly table's."""
    day = dt.datetime
    start = day(2025, 10, 14, 10)
    answered = [("R1", "一组", day(2025, 10, 14, 10, 59, 59), None), ("R2", "一组", day(2025, 10, 14, 11), None),
                ("R3", "一组", day(2025, 10, 14, 13), None), ("R4", "二组", day(2025, 10, 14, 13, 0, 1), None),
                ("R5", "二组", day(2025, 10, 15, 10), None),
                ("R6", "二组", day(2025, 10, 15, 12), "2025-10-14 20:00~2025-10-15 08:00")]
    tickets = [{"ticket_id": key, "unit": unit, "dispatched_at": start, "accepted_at": when, "suspended": paused}
               for key, unit, when, paused in answered]
    tickets.append({"ticket_id": "R7", "unit": "二组", "dispatched_at": day(2025, 10, 30, 10)})
    _, rows, ledger, assessment, path = _built(tmp_path, "h_service_scoring", tickets)
    points = {key: rows[key]["响应得分"] for key in rows}
    assert points == {"R1": 5, "R2": 4, "R3": 4, "R4": 3, "R5": 3, "R6": 3, "R7": 1}
    for record in ledger.rows.to_dict("records"):
        shown = rows[record["ticket_id"]]
        assert shown["响应得分"] == record["响应得分"] and shown["响应历时"] == pytest.approx(record["响应历时"], abs=1e-4)
    assert rows["R6"]["响应历时"] == pytest.approx(14) and rows["R7"]["响应历时"] == pytest.approx(38)
    for unit in assessment.units:
        assert _summary_row(path, unit.unit)["平均响应得分"] == pytest.approx(unit.band_means["响应"])
    assert _summary_row(path, "一组")["平均响应得分"] == pytest.approx(13 / 3)


def test_a_band_whose_end_column_is_empty_is_not_scored(tmp_path):
    """No ticket has its 签收时间 (the band's end): `kaohe ledger` gives no 响应得分 and the monthly
    table no mean; the 台账 leaves the columns empty (分档_响应 is false) and 汇总 shows no mean."""
    day = dt.datetime
    tickets = [{"ticket_id": f"N{k}", "unit": "一组", "dispatched_at": day(2025, 10, 14, 10 + k),
                "accepted_at": None, "replied_at": day(2025, 10, 14, 12 + k)} for k in range(3)]
    _, rows, ledger, assessment, path = _built(tmp_path, "h_service_scoring", tickets)
    assert "响应得分" not in ledger.rows.columns and math.isnan(assessment.units[0].band_means["响应"])
    assert all(rows[key]["响应历时"] is None and rows[key]["响应得分"] is None for key in rows)
    assert _summary_row(path, "一组")["平均响应得分"] is None


def test_an_item_the_export_cannot_count_is_typed_in_the_scoring_sheet(tmp_path):
    """An export without 回访时间 and 二次投诉: `kaohe monthly` takes Jiangmen 二6 (客户回访, overdue:回访)
    and 二7 (二次投诉, flag:repeat) from the findings. The workbook built from it makes their counts
    yellow inputs holding the findings' counts (二1 stays a formula from 台账), scores as the monthly
    table does, and 生成本月考核表 reads the typed counts back as findings and agrees."""
    from macros import jobs

    day = dt.datetime
    tickets = [{"ticket_id": f"V{k}", "unit": "甲", "priority": "一般", "dispatched_at": day(2025, 10, 9, 9 + k),
                "accepted_at": day(2025, 10, 9, 10 + k), "replied_at": day(2025, 10, 10 + k, 12)} for k in range(3)]
    findings = [("甲", "二6", 3, None, None, "回访超时"), ("甲", "二7", 1, None, None, ""), ("甲", "一2", 1, None, None, "")]
    computed, _, _, assessment, path = _built(tmp_path, "jiangmen", tickets, findings)
    lines = {line.item.id: line for line in assessment.units[0].lines}
    assert lines["二6"].origin == lines["二7"].origin == "记录" and lines["二1"].origin == "工单"
    assert len(assessment.rejected) == 0
    book = openpyxl.load_workbook(path)
    scoring = book["考核表"]
    at = {scoring.cell(r, 1).value: r for r in range(scoring.max_row, 0, -1)}
    for key, count in (("二6", 3), ("二7", 1)):
        cell = scoring.cell(at[key], COUNT + 1)
        assert cell.value == count and cell.protection.locked is False and cell.fill.fgColor.rgb.endswith("FFF2CC")
        assert computed[f"考核表!{_col(NOTE)}{at[key]}"].startswith("导出中没有")
        assert computed[f"考核表!{_col(AMOUNT)}{at[key]}"] == pytest.approx(lines[key].amount)
    assert scoring.cell(at["二1"], COUNT + 1).value.startswith("=IF(")
    # 二1 3 late replies × 2, 二2 mean handling over 17 h 5, 二6 3 × 2, 二7 5, 一2 1
    assert _summary_row(path, "甲")["得分"] == pytest.approx(assessment.units[0].score) == 95 - 6 - 5 - 6 - 5 - 1

    tabs = jobs.read_tabs(path)
    found = jobs.findings_from_workbook(tabs["考核表"], tabs["汇总"], "jiangmen")
    assert {(row[1], row[2]) for row in found[1:]} == {("二6", 3), ("二7", 1), ("一2", 1)}
    result = jobs.generate_month_from(tabs["工单"], rulebook="jiangmen", month=MONTH, findings=found)
    assert result.reconciles and len(result.tabs["月报_拒收"]) == 1  # the header only: nothing refused
    generated = next(row for row in result.tabs["月报_汇总"] if row and row[0] == "甲")
    assert generated[6] == pytest.approx(assessment.units[0].score)


def test_a_bonus_for_no_overdue_ticket_needs_a_timed_ticket_as_in_the_monthly_table(tmp_path):
    """Poyang 无超时奖 (+100 元, "全月无超时工单"): a unit whose only ticket no 处理 row fits (kind 其他)
    had nothing timed, so nothing shows it had no overdue ticket: 0, as kaohe monthly gives."""
    day = dt.datetime
    tickets = [
        {"ticket_id": "P1", "unit": "甲", "area": "城区", "kind": "故障", "dispatched_at": day(2025, 10, 13, 10, 30),
         "accepted_at": day(2025, 10, 13, 10, 45), "closed_at": day(2025, 10, 13, 12, 50)},
        {"ticket_id": "P2", "unit": "丙", "area": "城区", "kind": "其他", "dispatched_at": day(2025, 10, 20, 8),
         "accepted_at": day(2025, 10, 20, 8, 20), "closed_at": day(2025, 10, 20, 12, 30)},
    ]
    _, rows, _, assessment, path = _built(tmp_path, "poyang", tickets)
    assert rows["P2"]["处理及时"] == "不考核"
    units = {u.unit: u for u in assessment.units}
    assert units["甲"].score == pytest.approx(100) and units["丙"].score == pytest.approx(0)
    assert _summary_row(path, "甲")["得分(元)"] == pytest.approx(100)
    assert _summary_row(path, "丙")["得分(元)"] == pytest.approx(0)
    scoring = openpyxl.load_workbook(path, data_only=True)["考核表"]
    labels = {row[0] for row in scoring.iter_rows(values_only=True) if isinstance(row[0], str)}
    assert "扣款合计(元)" in labels and "扣分合计(元)" not in labels  # the monthly table's words for money
