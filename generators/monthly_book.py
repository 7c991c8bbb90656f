"""Writing the monthly scoring table (月度量化考核表) as an Excel workbook.

Sheets: 汇总 (every unit, charts), one sheet per unit (the rulebook's categories and items,
input cells for counts, chosen values and repeats, formulas for amounts, subtotals, total,
grade, pass and payment), 说明 (inputs, versions, counts, the scheme's assumptions) and
拒收 (ticket and findings rows not used, with reasons).

Numbers are native Excel formulas generated from the rulebook, each with the engine's
value cached, so the sheet shows the right figures in Excel, WPS and LibreOffice before
any recalculation, stays live when an input is edited, and needs no add-in. A test
evaluates the formulas with a formula engine and compares them with the engine.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

import udfs
from generators.ledger import REJECTED_COLUMNS
from generators.monthly import Assessment, Line, UnitResult, cannot_score_reason
from generators.workbooks import new_workbook, utf16_length
from udfs import scoring
from udfs.rulebook import DEDUCTION_WORDS, Item, Rulebook

RESERVED = ("汇总", "说明", "拒收")
COLUMNS = ("编号", "考核项", "考核标准", "每次分值", "次数", "选定值", "加倍次数", "扣分/加分", "来源", "依据/备注", "出处")
WIDTHS = (7, 22, 48, 14, 8, 9, 9, 11, 7, 40, 30)
COUNT, CHOSEN, REPEATS, AMOUNT = 4, 5, 6, 7  # column positions of the inputs and the result
SUMMARY = ("考核单位", "工单数", "超时工单", "及时率", "扣分", "加分", "得分", "等级", "是否合格", "代维费(元)",
           "应付金额(元)", "合同预警")
PRIORITY_ORDER = ("特急", "紧急", "一般")
AREA_ORDER = ("城区", "乡镇", "农村")


# -- formulas generated from the rulebook ------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:.15g}"


def item_formula(item: Item, count: str, chosen: str, repeats: str) -> str:
    """The Excel formula of one item's amount (a magnitude), as :func:`udfs.scoring.item` computes it.

    ``count``/``chosen``/``repeats`` are cell references. Invalid inputs give a Chinese message
    starting with ``#`` (text, so SUM skips it as the engine skips NaN); an empty count gives "".
    """
    lo, hi = item.points
    per = f"IF({chosen}=\"\",{_num(lo)},{chosen})" if item.ranged else _num(lo)
    occurrences = f"({count}+IF({repeats}=\"\",0,{repeats}))" if item.doubles else count
    amount = f"{occurrences}*{per}"
    if item.zero_out_at is not None:
        reached = f"{count}>={item.zero_out_at}" if item.zero_out_inclusive else f"{count}>{item.zero_out_at}"
        amount = f"IF({reached},{_num(item.item_points)},{amount})"
    if item.item_points is not None:
        amount = f"MIN({_num(item.item_points)},{amount})"
    if item.cap is not None:
        amount = f"MIN({_num(item.cap)},{amount})"
    checks = [(f"OR(NOT(ISNUMBER({count})),{count}<0,{count}<>INT({count}))", "#次数应为不小于0的整数")]
    if item.ranged:
        bounds = f"{chosen}<{_num(lo)}" + ("" if math.isinf(hi) else f",{chosen}>{_num(hi)}")
        checks.append((f"AND({chosen}<>\"\",OR(NOT(ISNUMBER({chosen})),{bounds}))",
                       f"#选定值应在{scoring.range_text(item)}范围内"))
    if item.doubles:
        checks.append((f"AND({repeats}<>\"\",OR(NOT(ISNUMBER({repeats})),{repeats}<0,{repeats}>{count}))",
                       "#加倍次数应在0与次数之间"))
    formula = amount
    for condition, message in reversed(checks):
        formula = f"IF({condition},\"{message}\",{formula})"
    return f"=IF({count}=\"\",\"\",{formula})"


def total_formula(rulebook: Rulebook, deducted: str, bonus: str) -> str:
    """``full − deducted + bonus``, clamped by the scheme's min/max (``bonus`` already capped)."""
    score = rulebook.score
    formula = f"{_num(score.full_marks)}-{deducted}+{bonus}"
    if score.max is not None:
        formula = f"MIN({_num(score.max)},{formula})"
    if score.min is not None:
        formula = f"MAX({_num(score.min)},{formula})"
    return "=" + formula


def grade_formula(rulebook: Rulebook, score: str) -> str:
    """The band label of ``score`` (min included, below excluded), "" in no band."""
    formula = '""'
    for band in reversed(rulebook.grade_bands):
        conditions = ([f"{score}>={_num(band.min)}"] if not math.isinf(band.min) else []) + \
                     ([f"{score}<{_num(band.below)}"] if not math.isinf(band.below) else [])
        condition = f"AND({','.join(conditions)})" if len(conditions) > 1 else (conditions or ["TRUE"])[0]
        formula = f"IF({condition},\"{band.label}\",{formula})"
    return "=" + formula


def pass_formula(rulebook: Rulebook, score: str) -> str:
    mark = rulebook.score.pass_mark
    compare = ">=" if rulebook.score.pass_inclusive else ">"
    return f"=IF({score}{compare}{_num(mark)},\"合格\",\"不合格\")"


def payment_formula(rulebook: Rulebook, fee: str, score: str) -> str:
    rule = rulebook.payment
    paid = f"{fee}*(1-{_num(rule.assessed_share)})+{fee}*{_num(rule.assessed_share)}*MAX(0,{score})/{_num(rule.scale)}"
    if rule.cap_at_fee:
        paid = f"MIN({fee},{paid})"
    return f"=IF({fee}=\"\",\"\",{paid})"


def _sum(cells: list[str]) -> str:
    return f"SUM({','.join(cells)})" if cells else "0"


# -- layout of one unit's sheet ------------------------------------------------------------------------
@dataclasses.dataclass
class Block:
    """One category: its heading row, item rows, and the rows of its subtotals. Items in another
    unit than the score's (元 beside 分) form blocks of their own (``apart``), totalled apart."""

    key: str | None  # the category id
    title: str
    points: float | None
    lines: list[tuple[int, Line]]
    deduction_row: int | None
    bonus_row: int | None
    apart: str = ""  # the unit (元/分) of a block that does not enter the score


@dataclasses.dataclass
class Layout:
    """Row numbers (0-based) of everything on a unit's sheet; the summary refers to them."""

    blocks: list[Block]
    rows: dict[str, int]  # 扣分合计, 加分合计, 得分, 等级, 是否合格, 代维费(元), 应付金额(元), 工单数, 超时工单, 及时率, 合同预警


FIRST_ITEM_ROW = 4


def apart_label(unit: str) -> str:
    """The total row of items in ``unit`` that do not enter the score."""
    return f"另计{DEDUCTION_WORDS[unit]}合计({unit})"


def band_label(stage: str) -> str:
    """The row of a unit's mean points of a ``[[bands]]`` stage (平均响应得分)."""
    return f"平均{stage}得分"


def layout(rulebook: Rulebook, unit: UnitResult) -> Layout:
    score_unit = rulebook.score_unit
    groups: dict[tuple, list[Line]] = {}
    for line in unit.lines:
        apart = "" if line.item.unit == score_unit else line.item.unit
        groups.setdefault((line.item.category if not apart else None, apart), []).append(line)
    row = FIRST_ITEM_ROW - 1
    blocks = []
    for (key, apart), lines in groups.items():
        category = rulebook.category(key) if key is not None else None
        title = f"{category.id}、{category.name}" if category else "其他"
        if apart:
            title = f"另计{DEDUCTION_WORDS[apart]}({apart}，不计入得分)"
        row += 1  # heading
        placed = []
        for line in lines:
            row += 1
            placed.append((row, line))
        deduction_row = bonus_row = None
        if any(not line.item.bonus for line in lines):
            row += 1
            deduction_row = row
        if any(line.item.bonus for line in lines):
            row += 1
            bonus_row = row
        blocks.append(Block(key, title, category.points if category else None, placed, deduction_row, bonus_row,
                            apart))
    labels = []
    if unit.scored:
        labels += ["扣分合计", "加分合计", "得分"]
        labels += ["等级"] if rulebook.grade_bands else []
        labels += ["是否合格"] if rulebook.score.pass_mark is not None else []
        labels += ["代维费(元)", "应付金额(元)"] if rulebook.payment is not None else []
    labels += [apart_label(u) for u in dict.fromkeys(b.apart for b in blocks if b.apart)]
    labels += [band_label(stage) for stage in unit.band_means]
    labels += ["工单数", "超时工单", "及时率"] + (["合同预警", "近期得分"] if unit.scored else [])
    rows = {label: row + 2 + k for k, label in enumerate(labels)}
    return Layout(blocks, rows)


def _fit(text: str, units: int) -> str:
    """The longest start of ``text`` within ``units`` UTF-16 code units (Excel's measure: 𠮷 is 2)."""
    out, used = [], 0
    for char in text:
        used += utf16_length(char)
        if used > units:
            break
        out.append(char)
    return "".join(out)


def sheet_names(units: list[str]) -> list[str]:
    """Valid, unique Excel sheet names for the units (≤ 31 UTF-16 units, no []:*?/\\ or control
    characters)."""
    out, used = [], {name.lower() for name in RESERVED}
    for unit in units:
        base = re.sub(r"[\[\]:*?/\\'\x00-\x1f\x7f]", "_", unit).strip() or "单位"
        name, k = _fit(base, 31), 1
        while name.lower() in used:
            k += 1
            name = f"{_fit(base, 31 - len(str(k)) - 1)}_{k}"
        used.add(name.lower())
        out.append(name)
    return out


# -- the workbook ----------------------------------------------------------------------------------------
def write_monthly(assessment: Assessment, path: Path, *, calendar_version: str, sources: dict[str, str],
                  password: str = "") -> None:
    """Write the monthly table. ``sources`` names the input files (工单, 考核记录, 考核历史) for 说明;
    ``password`` protects the formula cells (none by default: protection guards against slips)."""
    rulebook = assessment.rulebook
    stamp = f"考核办法 {rulebook.name} {rulebook.version}; 日历 {calendar_version}; 程序 kaohe {udfs.__version__}"
    month_text = f"{assessment.month[:4]}年{int(assessment.month[5:])}月"
    book = new_workbook(path, title=f"{month_text} 月度量化考核表", subject=rulebook.title, comments=stamp)
    f = _Formats(book)
    names = sheet_names([u.unit for u in assessment.units])
    layouts = [layout(rulebook, u) for u in assessment.units]

    _write_summary(book, f, assessment, names, layouts, month_text, stamp)
    for unit, name, place in zip(assessment.units, names, layouts):
        _write_unit(book, f, rulebook, unit, name, place, month_text, stamp, password)
    _write_notes(book, f, assessment, calendar_version, sources)
    _write_rejected(book, f, assessment)
    book.close()


class _Formats:
    def __init__(self, book):
        add = book.add_format
        self.title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.stamp = add({"font_color": "#595959", "font_size": 9})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center",
                           "valign": "vcenter"})
        self.category = add({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        self.text = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.cell = add({"border": 1, "valign": "top"})
        self.input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "valign": "top"})
        self.fixed = add({"border": 1, "bg_color": "#D9D9D9", "valign": "top"})
        self.amount = add({"border": 1, "bold": True, "valign": "top"})
        self.subtotal = add({"border": 1, "bold": True, "bg_color": "#E2EFDA"})
        self.label = add({"bold": True, "border": 1, "bg_color": "#F2F2F2"})
        self.value = add({"bold": True, "border": 1})
        self.money = add({"bold": True, "border": 1, "num_format": "#,##0.00"})
        self.money_input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "#,##0.00"})
        self.rate = add({"border": 1, "num_format": "0.0%"})
        self.warning = add({"border": 1, "text_wrap": True, "font_color": "#C00000", "valign": "top"})
        self.plain = add({"border": 1})


def _cached(value):
    """A formula's cached result: numbers as they are, NaN/None as "" (an empty result)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def _write_unit(book, f: _Formats, rulebook: Rulebook, unit: UnitResult, name: str, place: Layout, month_text: str,
                stamp: str, password: str) -> None:
    sheet = book.add_worksheet(name)
    for j, width in enumerate(WIDTHS):
        sheet.set_column(j, j, width)
    last = len(COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, f"{unit.unit} {month_text} 月度量化考核表", f.title)
    if rulebook.can_score:
        full = (f"满分 {rulebook.score.full_marks:g}{rulebook.score.unit}" if unit.scored else
                f"考核对象: {unit.party}，{'、'.join(unit.apart) or '分'}另计，不计得分")
        full += "" if unit.party == rulebook.party or not unit.scored else f" ｜ 考核对象: {unit.party}"
        sheet.merge_range(1, 0, 1, last, f"{rulebook.title} ｜ {full} ｜ {stamp} ｜ 黄色单元格可填写，其余为公式", f.stamp)
    else:
        sheet.merge_range(1, 0, 1, last, f"{rulebook.title} ｜ {cannot_score_reason(rulebook)} ｜ {stamp}",
                          f.warning)
    for j, label in enumerate(COLUMNS):
        if j == AMOUNT:
            label = "扣款/奖励(元)" if _money_unit(rulebook, unit) else "扣分/加分(分)"
        sheet.write_string(FIRST_ITEM_ROW - 1, j, label, f.header)
    cell = xl_rowcol_to_cell
    deduction_cells, bonus_cells, apart_cells = [], [], {}
    for block in place.blocks:
        first_row = block.lines[0][0] - 1
        heading = block.title + (f"(本类最多扣{block.points:g}{rulebook.score.unit})" if block.points is not None else "")
        sheet.merge_range(first_row, 0, first_row, last, heading, f.category)
        for row, line in block.lines:
            _write_line(sheet, f, line, row)
        for subtotal_row, bonus in ((block.deduction_row, False), (block.bonus_row, True)):
            if subtotal_row is None:
                continue
            members = [r for r, line in block.lines if line.item.bonus == bonus]
            amounts = [line.amount for _, line in block.lines if line.item.bonus == bonus]
            total = _sum([cell(r, AMOUNT) for r in members])
            if block.apart:
                cached = float(np.nansum(amounts))
                apart_cells.setdefault(block.apart, []).append(("-" if bonus else "+") + cell(subtotal_row, AMOUNT))
            elif bonus:
                cached = float(np.nansum(amounts))
                bonus_cells.append(cell(subtotal_row, AMOUNT))
            else:
                cached = _lost(rulebook, block, amounts)
                total = f"MIN({_num(block.points)},{total})" if block.points is not None else total
                deduction_cells.append(cell(subtotal_row, AMOUNT))
            money = (block.apart or rulebook.score_unit) == "元"
            words = ("奖励" if bonus else "扣款") if money else ("加分" if bonus else "扣分")
            sheet.merge_range(subtotal_row, 0, subtotal_row, AMOUNT - 1, f"{block.title} {words}小计", f.subtotal)
            sheet.write_formula(subtotal_row, AMOUNT, "=" + total, f.subtotal, cached)
            sheet.merge_range(subtotal_row, AMOUNT + 1, subtotal_row, last, "", f.subtotal)

    rows = place.rows
    at = {label: cell(row, AMOUNT, True, True) for label, row in rows.items()}
    band_labels = {band_label(stage): mean for stage, mean in unit.band_means.items()}
    values = {apart_label(u): ("=" + "".join(cells).lstrip("+"), unit.apart.get(u, 0.0), f.value)
              for u, cells in apart_cells.items()}
    if unit.scored:
        bonus_total = _sum(bonus_cells)
        if rulebook.score.bonus_cap is not None:
            bonus_total = f"MIN({_num(rulebook.score.bonus_cap)},{bonus_total})"
        values.update({
            "扣分合计": ("=" + _sum(deduction_cells), unit.deducted, f.value),
            "加分合计": ("=" + bonus_total, unit.bonus, f.value),
            "得分": (total_formula(rulebook, at["扣分合计"], at["加分合计"]), unit.score, f.value),
            "等级": (grade_formula(rulebook, at["得分"]) if rulebook.grade_bands else None, unit.grade, f.value),
            "是否合格": (pass_formula(rulebook, at["得分"]) if rulebook.score.pass_mark is not None else None,
                       None if unit.passed is None else ("合格" if unit.passed else "不合格"), f.value),
            "应付金额(元)": (payment_formula(rulebook, at["代维费(元)"], at["得分"]) if rulebook.payment else None,
                         unit.paid, f.money),
        })
    for label, row in rows.items():
        sheet.merge_range(row, 0, row, AMOUNT - 1, total_label(rulebook, label), f.label)
        if label in values:
            formula, cached, style = values[label]
            sheet.write_formula(row, AMOUNT, formula, style, _cached(cached))
        elif label == "代维费(元)":
            sheet.write(row, AMOUNT, _cached(unit.fee), f.money_input)
            sheet.data_validation(row, AMOUNT, row, AMOUNT, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True,
                "error_title": "代维费", "error_message": "代维费应为不小于0的金额(元)"})
        elif label == "工单数":
            sheet.write_number(row, AMOUNT, unit.tickets, f.plain)
        elif label in band_labels:
            sheet.write(row, AMOUNT, _cached(round(band_labels[label], 4)), f.plain)
        elif label == "超时工单" and math.isnan(unit.timely_rate):
            sheet.write_string(row, AMOUNT, "未计时", f.plain)
        elif label == "超时工单":
            sheet.write_number(row, AMOUNT, unit.overdue, f.plain)
        elif label == "及时率":
            if math.isnan(unit.timely_rate):
                sheet.write_string(row, AMOUNT, "未计时", f.plain)
            else:
                sheet.write_number(row, AMOUNT, unit.timely_rate, f.rate)
        if label == "合同预警":
            sheet.merge_range(row, AMOUNT, row, last, "；".join(unit.warnings) or "无", f.warning)
            sheet.set_row(row, 15 * max(1, len(unit.warnings)))
        elif label == "近期得分":
            text = "  ".join(f"{m}: {s:g}" for m, s, _ in unit.trend)
            sheet.merge_range(row, AMOUNT, row, last, text, f.text)
        else:
            sheet.merge_range(row, AMOUNT + 1, row, last, _row_note(rulebook, label), f.stamp)
    sheet.freeze_panes(FIRST_ITEM_ROW, 2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(FIRST_ITEM_ROW - 1)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    sheet.protect(password, {"format_columns": True, "format_rows": True})


def _lost(rulebook: Rulebook, block: Block, amounts: list[float]) -> float:
    """The engine's value of a category's deduction subtotal."""
    return scoring.lost(rulebook, amounts, [block.key] * len(amounts) if block.key is not None else None)


def _money_unit(rulebook: Rulebook, unit: UnitResult) -> bool:
    """Whether a unit's sheet counts in 元: its score's unit, or (not scored) its items'."""
    if unit.scored:
        return rulebook.score.unit == "元"
    return bool(unit.lines) and all(line.item.unit == "元" for line in unit.lines)


def total_label(rulebook: Rulebook, label: str) -> str:
    """A total row's label as the sheet shows it, in 元 words for a money scheme (扣款合计(元))."""
    unit = rulebook.score_unit
    money = {"扣分合计": "扣款合计", "加分合计": "奖励合计"} if unit == "元" else {}
    if label in ("扣分合计", "加分合计", "得分"):
        return f"{money.get(label, label)}({unit})"
    return label


def _row_note(rulebook: Rulebook, label: str) -> str:
    if label == "及时率":
        return "各环节均未超时的工单 / 有环节计时的工单数(未计时: 本办法没有时限，或导出中没有计时所需的时间列)"
    if label.startswith("另计"):
        return "与得分单位不同的考核项(扣为正、奖为负)，单独合计，不计入得分"
    if label.startswith("平均") and label.endswith("得分"):
        return "各张工单按历时分档得分(见规则清单)的平均值；逐单得分见台账"
    score = rulebook.score
    if label == "扣分合计" and rulebook.categories:
        return "各类扣分小计之和(每类最多扣该类分值)"
    if label == "加分合计" and score.bonus_cap is not None:
        return f"加分最多计 {score.bonus_cap:g}{score.unit}"
    if label == "得分":
        clamps = [f"不低于{score.min:g}" if score.min is not None else "", f"不高于{score.max:g}" if score.max is not None else ""]
        return f"满分{score.full_marks:g} − 扣分合计 + 加分合计" + ("，" + "、".join(c for c in clamps if c) if any(clamps) else "")
    if label == "是否合格":
        return f"{score.pass_mark:g}{score.unit}{'(含)以上' if score.pass_inclusive else '以上(不含)'}为合格"
    if label == "应付金额(元)":
        rule = rulebook.payment
        return (f"代维费×{1 - rule.assessed_share:.0%} + 代维费×{rule.assessed_share:.0%}×得分(负分按0)/{rule.scale:g}"
                + ("，不超过代维费" if rule.cap_at_fee else ""))
    return ""


def _write_line(sheet, f: _Formats, line: Line, row: int) -> None:
    item = line.item
    cell = xl_rowcol_to_cell
    sheet.write_string(row, 0, item.id, f.cell)
    sheet.write_string(row, 1, item.name + ("(加分)" if item.bonus else ""), f.text)
    sheet.write_string(row, 2, item.text, f.text)
    sheet.write_string(row, 3, scoring.range_text(item), f.text)
    sheet.write(row, COUNT, _cached(line.count), f.input)
    sheet.data_validation(row, COUNT, row, COUNT, {
        "validate": "integer", "criteria": ">=", "value": 0, "ignore_blank": True,
        "error_title": "次数", "error_message": f"“{item.name}”的次数应为不小于0的整数"})
    if item.ranged:
        sheet.write(row, CHOSEN, _cached(line.chosen), f.input)
        lo, hi = item.points
        bounds = ({"criteria": "between", "minimum": lo, "maximum": hi} if not math.isinf(hi)
                  else {"criteria": ">=", "value": lo})
        sheet.data_validation(row, CHOSEN, row, CHOSEN, {
            "validate": "decimal", **bounds, "ignore_blank": True, "error_title": "选定值",
            "error_message": f"“{item.name}”的选定值应在{scoring.range_text(item)}范围内"[:255],
            "input_title": "选定值", "input_message": f"空白则按最低值{lo:g}计"})
    else:
        sheet.write_blank(row, CHOSEN, None, f.fixed)
    if item.doubles:
        sheet.write(row, REPEATS, _cached(line.repeats or None), f.input)
        sheet.data_validation(row, REPEATS, row, REPEATS, {
            "validate": "integer", "criteria": ">=", "value": 0, "ignore_blank": True,
            "error_title": "加倍次数", "error_message": "加倍次数应为不小于0的整数，且不多于次数"})
    else:
        sheet.write_blank(row, REPEATS, None, f.fixed)
    formula = item_formula(item, cell(row, COUNT), cell(row, CHOSEN), cell(row, REPEATS))
    sheet.write_formula(row, AMOUNT, formula, f.amount, _cached(line.amount))
    sheet.write_string(row, AMOUNT + 1, line.origin, f.cell)
    basis = line.basis + ("；未填选定值，按最低值计" if line.defaulted else "")
    sheet.write_string(row, AMOUNT + 2, basis, f.text)
    sheet.write_string(row, AMOUNT + 3, item.source, f.text)


def _write_summary(book, f: _Formats, assessment: Assessment, names, layouts, month_text: str, stamp: str) -> None:
    rulebook = assessment.rulebook
    sheet = book.add_worksheet("汇总")
    aparts = list(dict.fromkeys(u for unit in assessment.units for u in unit.apart))
    bands = list(dict.fromkeys(stage for unit in assessment.units for stage in unit.band_means))
    labels = (list(SUMMARY[:-1]) + [apart_label(u) for u in aparts] + [band_label(b) for b in bands]
              + [SUMMARY[-1]])
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, len(labels) - 2, 10)
    sheet.set_column(len(labels) - 1, len(labels) - 1, 60)
    sheet.merge_range(0, 0, 0, len(labels) - 1, f"{month_text} 月度量化考核汇总 — {rulebook.title}", f.title)
    if assessment.caveat:
        sheet.merge_range(1, 0, 1, len(labels) - 1, f"⚠ {assessment.caveat} ｜ {stamp}", f.warning)
    elif assessment.scored:
        sheet.merge_range(1, 0, 1, len(labels) - 1, stamp, f.stamp)
    else:
        sheet.merge_range(1, 0, 1, len(labels) - 1, f"{cannot_score_reason(rulebook)} ｜ {stamp}", f.warning)
    money = rulebook.score is not None and rulebook.score.unit == "元"
    shown = {"扣分": "扣款(元)", "加分": "奖励(元)", "得分": "得分(元)"} if money else {}
    for j, label in enumerate(labels):
        sheet.write_string(2, j, shown.get(label, label), f.header)
    linked = {"扣分": "扣分合计", "加分": "加分合计", "得分": "得分", "等级": "等级", "是否合格": "是否合格",
              "代维费(元)": "代维费(元)", "应付金额(元)": "应付金额(元)", "工单数": "工单数", "超时工单": "超时工单",
              "及时率": "及时率", **{apart_label(u): apart_label(u) for u in aparts},
              **{band_label(b): band_label(b) for b in bands}}
    for i, (unit, name, place) in enumerate(zip(assessment.units, names, layouts), start=3):
        cached = {"扣分": unit.deducted, "加分": unit.bonus, "得分": unit.score, "等级": unit.grade,
                  "是否合格": None if unit.passed is None else ("合格" if unit.passed else "不合格"),
                  "代维费(元)": unit.fee, "应付金额(元)": unit.paid, "工单数": unit.tickets, "超时工单": unit.overdue,
                  "及时率": unit.timely_rate, **{apart_label(u): unit.apart.get(u, 0.0) for u in aparts},
                  **{band_label(b): round(unit.band_means.get(b, np.nan), 4) for b in bands}}
        sheet.write_string(i, 0, unit.unit, f.plain)
        for j, label in enumerate(labels[1:-1], start=1):
            style = f.rate if label == "及时率" else f.money if "元" in label else f.plain
            source = linked[label]
            untimed = label == "超时工单" and math.isnan(unit.timely_rate)
            if untimed or source not in place.rows or (label in ("及时率", *map(band_label, bands))
                                                       and math.isnan(cached[label])):
                sheet.write_string(i, j, "—", f.plain)
                continue
            reference = f"{quote_sheetname(name)}!{xl_rowcol_to_cell(place.rows[source], AMOUNT, True, True)}"
            sheet.write_formula(i, j, f"=IF({reference}=\"\",\"\",{reference})", style, _cached(cached[label]))
        sheet.write_string(i, len(labels) - 1, "；".join(unit.warnings) or "无", f.warning)
    end = 3 + len(assessment.units)
    sheet.freeze_panes(3, 1)
    _charts(book, sheet, f, assessment, names, layouts, end + 2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)


def _charts(book, sheet, f: _Formats, assessment: Assessment, names, layouts, row: int) -> None:
    """Tables below the summary and native charts beside them: deductions by category, overdue
    tickets by area and priority, on-time rate per unit, complaint types, score trend."""
    units = assessment.units
    if not units:
        return
    count = len(units)
    chart_column = 6  # beside the chart tables, below the summary
    anchor = row

    def place(chart, title):
        nonlocal anchor
        chart.set_title({"name": title})
        chart.set_size({"width": 560, "height": 288})
        sheet.insert_chart(anchor, chart_column, chart)
        anchor += 15

    # On-time rate per unit (column 及时率 of the table above).
    rate_column = SUMMARY.index("及时率")
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "及时率", "categories": ["汇总", 3, 0, 2 + count, 0],
                      "values": ["汇总", 3, rate_column, 2 + count, rate_column], "data_labels": {"value": True}})
    chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"none": True})
    place(chart, "各单位工单及时率")

    # Deductions by category (links to each unit's subtotals).
    categories = list(dict.fromkeys(b.title for place_ in layouts for b in place_.blocks
                                    if b.deduction_row is not None and not b.apart))
    if categories:
        money = assessment.rulebook.score.unit == "元"
        sheet.write_string(row, 0, "各类别扣款(元)" if money else "各类别扣分", f.header)
        for j, title in enumerate(categories, start=1):
            sheet.write_string(row, j, title, f.header)
        for i, (unit, name, place_) in enumerate(zip(units, names, layouts), start=row + 1):
            sheet.write_string(i, 0, unit.unit, f.plain)
            blocks = {b.title: b for b in place_.blocks if b.deduction_row is not None and not b.apart}
            for j, block in ((j, blocks.get(title)) for j, title in enumerate(categories, start=1)):
                if block is None:
                    sheet.write_string(i, j, "—", f.plain)
                    continue
                amounts = [line.amount for _, line in block.lines if not line.item.bonus]
                sheet.write_formula(i, j, f"={quote_sheetname(name)}!{xl_rowcol_to_cell(block.deduction_row, AMOUNT, True, True)}",
                                    f.plain, _lost(assessment.rulebook, block, amounts))
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        for j, title in enumerate(categories, start=1):
            chart.add_series({"name": ["汇总", row, j], "categories": ["汇总", row + 1, 0, row + count, 0],
                              "values": ["汇总", row + 1, j, row + count, j]})
        place(chart, "各单位分类别扣款(元)" if money else "各单位分类别扣分")
        row += count + 2

    # Overdue tickets by area and priority.
    table = assessment.overdue_by_area
    if len(table):
        areas = sorted(table.index, key=lambda a: (AREA_ORDER.index(a) if a in AREA_ORDER else 99, a))
        priorities = sorted(table.columns, key=lambda p: (PRIORITY_ORDER.index(p) if p in PRIORITY_ORDER else 99, p))
        sheet.write_string(row, 0, "超时工单(区域×优先级)", f.header)
        for j, priority in enumerate(priorities, start=1):
            sheet.write_string(row, j, priority, f.header)
        for i, area in enumerate(areas, start=row + 1):
            sheet.write_string(i, 0, area, f.plain)
            for j, priority in enumerate(priorities, start=1):
                sheet.write_number(i, j, int(table.loc[area, priority]), f.plain)
        chart = book.add_chart({"type": "column"})
        for j, _ in enumerate(priorities, start=1):
            chart.add_series({"name": ["汇总", row, j], "categories": ["汇总", row + 1, 0, row + len(areas), 0],
                              "values": ["汇总", row + 1, j, row + len(areas), j]})
        place(chart, "超时工单: 按区域与优先级")
        row += len(areas) + 2

    # Complaint types.
    kinds = assessment.complaint_types
    if len(kinds):
        sheet.write_string(row, 0, "投诉类型", f.header)
        sheet.write_string(row, 1, "工单数", f.header)
        for i, (kind, n) in enumerate(kinds.items(), start=row + 1):
            sheet.write_string(i, 0, str(kind), f.plain)
            sheet.write_number(i, 1, int(n), f.plain)
        chart = book.add_chart({"type": "bar"})
        chart.add_series({"name": "工单数", "categories": ["汇总", row + 1, 0, row + len(kinds), 0],
                          "values": ["汇总", row + 1, 1, row + len(kinds), 1], "data_labels": {"value": True}})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        place(chart, "投诉类型分布")
        row += len(kinds) + 2

    # Score trend: earlier months from the history, then this month (linked to the unit sheets).
    months = sorted({m for unit in units for m, _, _ in unit.trend})
    if len(months) > 1:
        sheet.write_string(row, 0, "得分走势", f.header)
        for j, unit in enumerate(units, start=1):
            sheet.write_string(row, j, unit.unit, f.header)
        for i, month in enumerate(months, start=row + 1):
            sheet.write_string(i, 0, month, f.plain)
            for j, (unit, name, place_) in enumerate(zip(units, names, layouts), start=1):
                score = {m: s for m, s, _ in unit.trend}.get(month)
                if month == assessment.month and "得分" in place_.rows:
                    reference = f"{quote_sheetname(name)}!{xl_rowcol_to_cell(place_.rows['得分'], AMOUNT, True, True)}"
                    sheet.write_formula(i, j, "=" + reference, f.plain, score)
                elif score is not None and not math.isnan(score):
                    sheet.write_number(i, j, score, f.plain)
        chart = book.add_chart({"type": "line"})
        for j, _ in enumerate(units, start=1):
            chart.add_series({"name": ["汇总", row, j], "categories": ["汇总", row + 1, 0, row + len(months), 0],
                              "values": ["汇总", row + 1, j, row + len(months), j], "marker": {"type": "circle"}})
        place(chart, "各单位近月得分")


def _write_notes(book, f: _Formats, assessment: Assessment, calendar_version: str, sources: dict[str, str]) -> None:
    rulebook = assessment.rulebook
    sheet = book.add_worksheet("说明")
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 90)
    entries = [("考核月份", assessment.month), ("考核办法", f"{rulebook.title}({rulebook.name} {rulebook.version})"),
               ("出处", rulebook.source), ("日历数据", calendar_version), ("程序版本", f"kaohe {udfs.__version__}")]
    entries += [(label, path) for label, path in sources.items() if path]
    entries += [(label, count) for label, count in assessment.counts.items()]
    entries += [("日历提示", assessment.caveat)] if assessment.caveat else []
    usage = ("黄色单元格(次数、选定值、加倍次数、代维费)可以修改，扣分、小计、得分、等级、付款等公式随之重算;"
             "“来源”为“工单”的次数由工单计算，“记录”来自考核记录。")
    entries.append(("怎样使用", usage))
    entries += [("办法假设", text) for text in rulebook.assumptions]
    for i, (key, value) in enumerate(entries):
        sheet.write_string(i, 0, key, f.label)
        if isinstance(value, (int, np.integer)):
            sheet.write_number(i, 1, int(value), f.plain)
        else:
            sheet.write_string(i, 1, str(value), f.text)


def _write_rejected(book, f: _Formats, assessment: Assessment) -> None:
    sheet = book.add_worksheet("拒收")
    for j, label in enumerate(REJECTED_COLUMNS):
        sheet.write_string(0, j, label, f.header)
        sheet.set_column(j, j, 40 if label == "原因" else 14)
    for i, record in enumerate(assessment.rejected[list(REJECTED_COLUMNS)].to_numpy(object), start=1):
        for j, value in enumerate(record):
            if isinstance(value, (int, np.integer)):
                sheet.write_number(i, j, int(value))
            else:
                sheet.write_string(i, j, "" if value is None else str(value))
