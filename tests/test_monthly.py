"""The monthly scoring table: findings and history files, the assessment, and the workbook's
formulas, which must compute what the engine computed (evaluated here with a formula engine,
and in test_office by LibreOffice)."""

import csv
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from formula_engine import evaluate
from xlsxwriter.utility import xl_rowcol_to_cell

from generators.demo import synthesize_month
from generators.ledger import REJECTED_COLUMNS, Ledger, compute_ledger
from generators.monthly import (
    FINDING_COLUMNS,
    HISTORY_COLUMNS,
    assess_month,
    no_findings,
    read_findings,
    read_history,
    with_month,
    write_history,
)
from generators.monthly_book import AMOUNT, COUNT, layout, sheet_names, write_monthly
from udfs import rulebook, scoring
from udfs.errors import KaoheError

SCORED = [info.name for info in rulebook.installed() if rulebook.load(info.name).can_score]
UNSCORED = [info.name for info in rulebook.installed() if not rulebook.load(info.name).can_score]
UNITS = ("甲代维", "乙代维", "丙代维")


def _no_tickets() -> Ledger:
    return Ledger(pd.DataFrame(), pd.DataFrame(columns=list(REJECTED_COLUMNS)), (), 0)


def _write_findings(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FINDING_COLUMNS)
        writer.writerows(rows)


def _random_findings(book, seed):
    """Findings for every item that is not measured from tickets: counts across zero-out
    thresholds, chosen values inside ranges (or empty), repeats for doubling items."""
    rng = np.random.default_rng(seed)
    rows = []
    for unit in UNITS:
        for item in book.items:
            if item.measure or rng.random() < 0.4:
                continue
            count = int(rng.integers(0, 7))
            lo, hi = item.points
            chosen = "" if not item.ranged or rng.random() < 0.3 else round(float(rng.uniform(lo, min(hi, lo + 10))), 1)
            repeats = int(rng.integers(0, count + 1)) if item.doubles and count else ""
            rows.append([unit, item.id, count, chosen, repeats, "抽查发现"])
        rows.append([unit, "代维费", "", 100_000 + 10_000 * len(rows), "", ""])
    return rows


def _formula_cells(path):
    """``{"SHEET!A1": (formula, cached value)}`` of every formula in the workbook."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    return {f"{sheet.title.upper()}!{cell.coordinate}": (cell.value, cached[sheet.title][cell.coordinate].value)
            for sheet in formulas.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str) and cell.value.startswith("=")}


def _same(computed, cached) -> bool:
    computed = computed.tolist() if hasattr(computed, "tolist") else computed
    if isinstance(computed, (int, float)) and isinstance(cached, (int, float)):
        return math.isclose(computed, cached, rel_tol=1e-12, abs_tol=1e-9)
    return (computed in ("", None) and cached in ("", None)) or computed == cached


@pytest.mark.parametrize("name", SCORED)
def test_every_formula_computes_what_the_engine_cached(name, tmp_path):
    """For each shipped rulebook with a score: random findings → table; every formula the
    formula engine evaluates equals the engine's value cached in that cell."""
    book = rulebook.load(name)
    findings_path = tmp_path / "findings.csv"
    _write_findings(findings_path, _random_findings(book, seed=len(name)))
    findings = read_findings(findings_path, book)
    assert findings.reconciles and findings.rejected.empty, findings.rejected
    assessment = assess_month(_no_tickets(), book, "2025-10", findings=findings)
    path = tmp_path / "monthly.xlsx"
    write_monthly(assessment, path, calendar_version="test", sources={})
    cells = _formula_cells(path)
    values = evaluate(path)
    assert len(cells) > len(book.items)
    wrong = {key: (formula, values.get(key), cached) for key, (formula, cached) in cells.items()
             if not _same(values.get(key), cached)}
    assert not wrong
    # and the cached totals are the engine's own
    summary = openpyxl.load_workbook(path, data_only=True)["汇总"]
    for i, unit in enumerate(assessment.units, start=4):
        assert summary.cell(i, 1).value == unit.unit
        assert summary.cell(i, 7).value == pytest.approx(unit.score)


@pytest.mark.parametrize("name", UNSCORED)
def test_a_rulebook_that_cannot_score_says_so_and_gives_no_score(name, tmp_path):
    """No items (the source carries no scoring sheet) or no score rule: the month is refused with
    the Chinese reason; asked for timeliness only, the table shows no score and says why."""
    book = rulebook.load(name)
    with pytest.raises(KaoheError, match="得分无法计算"):
        assess_month(_no_tickets(), book, "2025-10")
    assessment = assess_month(_no_tickets(), book, "2025-10", findings=no_findings(), timeliness_only=True)
    path = tmp_path / "timeliness.xlsx"
    write_monthly(assessment, path, calendar_version="test", sources={})
    summary = openpyxl.load_workbook(path, data_only=True)["汇总"]
    assert "得分无法计算" in summary.cell(2, 1).value


@pytest.fixture(scope="module")
def month_of_tickets(tmp_path_factory):
    """The demo contract's month: tickets, findings with a bad row of each kind, history."""
    folder = tmp_path_factory.mktemp("monthly")
    book = rulebook.load("generators/demo_rulebooks/jiangmen_demo.toml")
    tickets = synthesize_month("2025-10", tickets=600)
    ledger = compute_ledger(tickets, book, as_of=np.datetime64("2025-11-01T00:00:00"))
    units = sorted(set(tickets["unit"]))
    rows = [
        [units[0], "一1", 2, 10, "", "10月9日泄露客户资料"],       # range item, chosen inside
        [units[0], "保密制度", 1, 5, "", "10月20日"],              # same item by name: 3 × mean 8.33
        [units[0], "一3", 6, "", "", "10086号码使用"],             # ≥ 5 zeroes the item: 5 points
        [units[1], "五1", 2, "", "", "参数调整解决"],              # bonus
        [units[1], "代维费", "", 120000, "", ""],
        [units[0], "代维费", "", 180000, "", ""],
        [units[2], "一2", 3, "", "", ""],
        ["", "一2", 1, "", "", "没有单位"],                        # rejected: no unit
        [units[2], "九9", 1, "", "", "不存在的项"],                # rejected: unknown item
        [units[2], "二1", 1, "", "", "由工单计算的项"],            # rejected by the month: the tickets count it
        [units[2], "一1", 1, 20, "", "超出范围"],                  # rejected: outside 5~15
        [units[2], "一2", "两次", "", "", ""],                    # rejected: not a number
        [units[1], "代维费", "", 1, "", "重复的代维费"],           # rejected: fee given twice
    ]
    findings_path = folder / "考核记录.csv"
    _write_findings(findings_path, rows)
    history_path = folder / "考核历史.csv"
    pd.DataFrame({"月份": ["2025-08", "2025-09"] * 3, "考核办法": "jiangmen_demo",
                  "考核单位": [u for u in units for _ in range(2)],
                  "得分": [90, 91, 85, 86, 78.5, 79], "及时率": [0.9, 0.91, 0.8, 0.82, 0.72, 0.69]}
                 ).to_csv(history_path, index=False, encoding="utf-8-sig")
    return book, ledger, units, findings_path, history_path


def test_findings_rows_are_used_or_rejected_with_their_row(month_of_tickets):
    book, _, units, findings_path, _ = month_of_tickets
    findings = read_findings(findings_path, book)
    assert findings.read == 13 and findings.reconciles
    reasons = dict(zip(findings.rejected["源行号"], findings.rejected["原因"]))
    assert set(reasons) == {9, 10, 12, 13, 14}
    assert "缺少考核单位" in reasons[9]
    assert "没有考核项" in reasons[10]
    assert "超出范围" in reasons[12] and findings.rejected.set_index("源行号").loc[12, "列"] == "选定值"
    assert "不是数字" in reasons[13]
    assert "已在前面给出" in reasons[14]
    assert findings.fees == {units[1]: 120000.0, units[0]: 180000.0}


def test_assessment_combines_tickets_findings_and_history(month_of_tickets):
    book, ledger, units, findings_path, history_path = month_of_tickets
    assessment = assess_month(ledger, book, "2025-10", findings=read_findings(findings_path, book),
                              history=read_history(history_path))
    by_unit = {u.unit: u for u in assessment.units}
    # a finding for an item the tickets already count is rejected by the month, with its row
    rejected = assessment.rejected.set_index("源行号")
    assert "由工单计算" in rejected.loc[11, "原因"] and rejected.loc[11, "源文件"] == findings_path.name
    assert assessment.counts["记录拒收"] == 6 and assessment.counts["记录采用"] == 7
    first = {line.item.id: line for line in by_unit[units[0]].lines}
    assert first["一1"].count == 3 and first["一1"].chosen == pytest.approx(25 / 3)
    assert first["一1"].amount == pytest.approx(15)  # 25 capped at the item's 15 points
    assert first["一3"].amount == 5                  # zeroed: all the item's points
    # the ticket-measured item counts the unit's overdue tickets (签收 or 回复)
    mine = ledger.rows[ledger.rows["unit"] == units[0]]
    overdue = int(((mine["签收超时小时"] > 0) | (mine["回复超时小时"] > 0)).sum())
    assert first["二1"].count == overdue and by_unit[units[0]].overdue == overdue
    assert first["二1"].amount == scoring.item(book, "二1", overdue)
    # totals, grade, pass and payment are the engine's
    for unit in assessment.units:
        deductions = [line.amount for line in unit.lines if not line.item.bonus]
        bonuses = [line.amount for line in unit.lines if line.item.bonus]
        categories = [line.item.category for line in unit.lines if not line.item.bonus]
        assert unit.score == scoring.total(book, deductions, bonuses, categories)
        assert unit.grade == scoring.grade(book, unit.score).item()
        assert unit.passed == bool(scoring.passed(book, unit.score))
    assert by_unit[units[0]].paid == pytest.approx(180000 * 0.7 + 180000 * 0.3 * by_unit[units[0]].score / 100)
    assert math.isnan(by_unit[units[2]].paid)  # no fee given
    # the third unit was below 80 in September; below 80 again makes two consecutive months
    third = by_unit[units[2]]
    assert [m for m, _, _ in third.trend] == ["2025-08", "2025-09", "2025-10"]
    if third.score < 80:
        assert any("连续2个月得分低于80分(2025年9月、2025年10月)" in w for w in third.warnings)
    else:
        assert not any("连续2个月得分" in w for w in third.warnings)


def test_history_is_appended_and_a_rerun_replaces_its_month(month_of_tickets, tmp_path):
    book, ledger, _, findings_path, history_path = month_of_tickets
    history = read_history(history_path)
    assessment = assess_month(ledger, book, "2025-10", findings=read_findings(findings_path, book), history=history)
    path = tmp_path / "考核历史.csv"
    write_history(with_month(history, assessment), path)
    once = path.read_bytes()
    again = read_history(path)
    assert list(again.columns) == list(HISTORY_COLUMNS) and len(again) == 9
    write_history(with_month(again, assessment), path)
    assert path.read_bytes() == once
    october = again[again["月份"] == "2025-10"].set_index("考核单位")
    for unit in assessment.units:
        assert october.loc[unit.unit, "得分"] == pytest.approx(unit.score, abs=5e-3)


def test_edited_inputs_recompute_and_bad_ones_show_input_error(month_of_tickets, tmp_path):
    """Typing a new count: the formulas follow the engine. Typing an out-of-range chosen value: the
    item, its category, the unit's total, grade and pass show 输入有误 (never a score computed without
    the item, nor from a clamped value)."""
    import formulas

    book, ledger, _units, findings_path, _ = month_of_tickets
    assessment = assess_month(ledger, book, "2025-10", findings=read_findings(findings_path, book))
    path = tmp_path / "monthly.xlsx"
    write_monthly(assessment, path, calendar_version="test", sources={})
    unit = assessment.units[0]
    place = layout(book, unit)
    name = sheet_names([u.unit for u in assessment.units])[0]
    rows = {line.item.id: row for block in place.blocks for row, line in block.lines}
    category = next(b.deduction_row for b in place.blocks if b.key == "一")
    totals = {label: xl_rowcol_to_cell(place.rows[label], AMOUNT) for label in ("得分", "等级", "是否合格")}

    def key(cell):
        return f"'[{path.name}]{name.upper()}'!{cell}"

    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate(inputs={key(xl_rowcol_to_cell(rows["一2"], COUNT)): 4},  # 4 × 1 point
                               outputs=[key(totals["得分"])])
    lines = list(unit.lines)
    amounts = [float(scoring.item(book, "一2", 4)) if line.item.id == "一2" else line.amount for line in lines]
    expected = scoring.total(book, [a for a, line in zip(amounts, lines) if not line.item.bonus],
                             [a for a, line in zip(amounts, lines) if line.item.bonus],
                             [line.item.category for line in lines if not line.item.bonus])
    assert np.asarray(solution[key(totals["得分"])].value).ravel()[0] == pytest.approx(expected)

    outputs = [key(xl_rowcol_to_cell(rows["一1"], AMOUNT)), key(xl_rowcol_to_cell(category, AMOUNT)),
               *(key(cell) for cell in totals.values())]
    solution = model.calculate(inputs={key(xl_rowcol_to_cell(rows["一1"], COUNT + 1)): 99},  # outside 5~15
                               outputs=outputs)
    assert [str(np.asarray(solution[k].value).ravel()[0]) for k in outputs] == ["输入有误"] * len(outputs)


def test_sheet_names_are_valid_and_unique():
    names = sheet_names(["汇总", "a/b", "x" * 40, "x" * 40, "A:B?", ""])
    assert names[0] != "汇总" and len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


def test_the_kh_cell_functions_give_the_tables_numbers(month_of_tickets, tmp_path):
    """What the assessment workbook computes with KH_ITEM, KH_TOTAL, KH_GRADE, KH_PASS and KH_PAYMENT
    on the same inputs equals the monthly table (same engine, same rulebook)."""
    import xlsxwriter

    book, ledger, _, findings_path, _ = month_of_tickets
    assessment = assess_month(ledger, book, "2025-10", findings=read_findings(findings_path, book))
    path = tmp_path / "cells.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("考核表")
    name = book.path.replace('"', '""')
    totals = {}
    row = 0
    for unit in assessment.units:
        first = row
        for line in unit.lines:
            sheet.write_string(row, 0, line.item.id)
            sheet.write_number(row, 1, line.count)
            if not math.isnan(line.chosen):
                sheet.write_number(row, 2, line.chosen)
            sheet.write_string(row, 3, "" if line.item.bonus else line.item.category or "")  # deductions' category
            sheet.write_formula(row, 4, f'=KH_ITEM("{name}",A{row + 1},B{row + 1},C{row + 1})')
            row += 1
        last = row
        subtotals = []
        for category in book.categories:
            points = category.points if category.points is not None else 1e9
            deductions = f'SUMPRODUCT((D{first + 1}:D{last}="{category.id}")*ISNUMBER(E{first + 1}:E{last}),E{first + 1}:E{last})'
            sheet.write_formula(row, 4, f"=MIN({points},{deductions})")
            subtotals.append(row)
            row += 1
        bonus_rows = [first + k + 1 for k, line in enumerate(unit.lines) if line.item.bonus]
        deduction_cells = f"E{subtotals[0] + 1}:E{subtotals[-1] + 1}"
        bonus_cells = f",E{bonus_rows[0]}:E{bonus_rows[-1]}" if bonus_rows else ""  # the bonus items are adjacent
        sheet.write_formula(row, 4, f'=KH_TOTAL("{name}",{deduction_cells}{bonus_cells})')
        sheet.write_formula(row, 5, f'=KH_GRADE("{name}",E{row + 1})')
        sheet.write_formula(row, 6, f'=KH_PASS("{name}",E{row + 1})')
        if not math.isnan(unit.fee):
            sheet.write_formula(row, 7, f'=KH_PAYMENT("{name}",{unit.fee},E{row + 1})')
        totals[unit.unit] = row
        row += 2
    workbook.close()
    values = evaluate(path)
    for unit in assessment.units:
        r = totals[unit.unit] + 1
        assert values[f"考核表!E{r}"] == pytest.approx(unit.score), unit.unit
        assert values[f"考核表!F{r}"] == unit.grade
        assert bool(values[f"考核表!G{r}"]) == unit.passed
        if not math.isnan(unit.fee):
            assert values[f"考核表!H{r}"] == pytest.approx(unit.paid)


@pytest.mark.slow
def test_monthly_writes_the_ledger_of_the_same_import(tmp_path, capsys, monkeypatch):
    """``kaohe monthly --ledger`` imports and computes once and writes the same ledger ``kaohe ledger``
    writes (byte for byte: the writer is deterministic), and the same monthly table as without it."""
    from generators.cli import main
    from generators.demo import write_export

    export = tmp_path / "工单.xlsx"
    write_export(synthesize_month("2025-10", 300), export, "2025-10")
    common = ["--rulebook", "jiangmen", "--month", "2025-10"]
    assert main(["ledger", str(export), *common, "--out", str(tmp_path / "台账_单独.xlsx")]) in (0, 1)
    assert main(["monthly", str(export), *common, "--out", str(tmp_path / "表_单独.xlsx")]) in (0, 1)
    capsys.readouterr()
    from generators import tickets

    imports, read_tickets = [], tickets.read_tickets
    monkeypatch.setattr(tickets, "read_tickets", lambda *a, **k: imports.append(a) or read_tickets(*a, **k))
    code = main(["monthly", str(export), *common, "--out", str(tmp_path / "表.xlsx"), "--ledger"])
    out = capsys.readouterr().out
    assert code in (0, 1) and len(imports) == 1
    assert (tmp_path / "台账_2025-10.xlsx").read_bytes() == (tmp_path / "台账_单独.xlsx").read_bytes()
    assert (tmp_path / "表.xlsx").read_bytes() == (tmp_path / "表_单独.xlsx").read_bytes()
    assert "台账_2025-10.xlsx" in out and "表.xlsx" in out
    assert main(["monthly", str(export), *common, "--out", str(tmp_path / "同.xlsx"),
                 "--ledger", str(tmp_path / "同.xlsx")]) == 2
