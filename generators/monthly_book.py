"""Writing the monthly scoring table (月度量化考核表) as an Excel workbook.

Sheets: 汇总 (every unit, charts), one sheet per unit laid out as a paper 月度量化考核表 (title,
scheme and month, one row per item: 编号 | 考核项目 | 分值 | 考核内容与评分标准 | 次数 | 选定值 | 扣分 |
得分 | 依据/备注 | 出处, a row per category with its points, deduction and score, the totals and a
signature block), 年度得分 (the year's monthly scores and a trend chart, when there is a history),
说明 (inputs, versions, counts, the scheme's assumptions) and 拒收 (ticket and findings rows not
used, with reasons). Every sheet is set up for A4 printing (:func:`generators.paper.print_ready`).

Numbers are native Excel formulas generated from the rulebook, each with the engine's
value cached, so the sheet shows the right figures in Excel, WPS and LibreOffice before
any recalculation, stays live when an input is edited, and needs no add-in. An invalid input
(a count or 选定值 that is not a number or out of its range) shows :data:`INVALID` in the item,
its category, the unit's total and the summary, never a score. A test evaluates the formulas
with a formula engine and compares them with the engine.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell

import udfs
from generators.ledger import REJECTED_COLUMNS
from generators.monthly import Assessment, Line, UnitResult, cannot_score_reason
from generators.paper import print_ready, row_height, text_width
from generators.workbooks import new_workbook, utf16_length
from udfs import scoring
from udfs.rulebook import DEDUCTION_WORDS, Item, Rulebook
from udfs.wording import citation, month_label

RESERVED = ("汇总", "说明", "拒收", "年度得分")
YEAR_SHEET = "年度得分"
COLUMNS = ("编号", "考核项目", "分值", "考核内容与评分标准", "次数", "选定值", "扣分", "得分", "依据/备注", "出处",
           "加倍次数")
WIDTHS = (6, 16, 6, 38, 6, 7, 7, 7, 26, 14, 8)
ID, NAME, POINTS, TEXT, COUNT, CHOSEN, AMOUNT, SCORE, NOTE, SOURCE, REPEATS = range(len(COLUMNS))
LAST = SOURCE  # the last printed column; 加倍次数 (REPEATS) is a hidden input column
INVALID = "输入有误"
PLUS = '"+"General;"-"General;0'  # a bonus: +2
AS_GENERATED = "(按生成时数据)"
SUMMARY = ("考核单位", "工单数", "超时工单", "及时率", "扣分", "加分", "得分", "等级", "是否合格", "代维费(元)",
           "应付金额(元)", "合同预警")
SIGNATURES = ("考核人(签字)", "审核人(签字)", "被考核单位确认(签字/盖章)")
PRIORITY_ORDER = ("特急", "紧急", "一般")
AREA_ORDER = ("城区", "乡镇", "农村")
PAGE_ROWS = 32     # rows of 15 pt a printed page of 汇总 takes below its table (charts never cut)
CHART_ROWS = 16    # rows a 288-pixel chart and its gap take
# LibreOffice without Calibri (xlsxwriter's default font) lays columns out in DejaVu Sans, whose digit
# is 7.0 pt wide at 11 pt against Calibri's 5.25: a column of width w (stored as w + 0.71) prints
# 7.0 × (w + 0.71) pt, as wide as an Excel column of 4/3 w + 0.5. The print scale is chosen for
# that wider layout, so every column prints on the page in Excel and in LibreOffice alike (text stays
# at 8 pt or more either way).


# -- formulas generated from the rulebook ------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:.15g}"


def _invalid(cells: list[str], formula: str) -> str:
    """``formula`` unless one of ``cells`` holds :data:`INVALID` (then INVALID)."""
    if not cells:
        return formula
    tests = ",".join(f'{c}="{INVALID}"' for c in cells)
    return f'IF(OR({tests}),"{INVALID}",{formula})'


def item_formula(item: Item, count: str, chosen: str, repeats: str) -> str:
    """The Excel formula of one item's amount (a magnitude), as :func:`udfs.scoring.item` computes it.

    ``count``/``chosen``/``repeats`` are cell references. An invalid input (not a number, a
    negative or fractional count, a chosen value outside the item's range, repeats outside
    0..count) gives :data:`INVALID` (text, which every total checks for); an empty count gives "".
    Each test only runs once the ones before it passed, so no comparison ever meets text.
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
    checks = [f"NOT(ISNUMBER({count}))", f"OR({count}<0,{count}<>INT({count}))"]
    if item.ranged:
        bounds = f"{chosen}<{_num(lo)}" + ("" if math.isinf(hi) else f",{chosen}>{_num(hi)}")
        checks += [f"AND({chosen}<>\"\",NOT(ISNUMBER({chosen})))", f"AND({chosen}<>\"\",OR({bounds}))"]
    if item.doubles:
        checks += [f"AND({repeats}<>\"\",NOT(ISNUMBER({repeats})))",
                   f"AND({repeats}<>\"\",OR({repeats}<0,{repeats}>{count}))"]
    formula = amount
    for condition in reversed(checks):
        formula = f"IF({condition},\"{INVALID}\",{formula})"
    return f"=IF({count}=\"\",\"\",{formula})"


def total_formula(rulebook: Rulebook, deducted: str, bonus: str) -> str:
    """``full − deducted + bonus``, clamped by the scheme's min/max (``bonus`` already capped)."""
    score = rulebook.score
    formula = f"{_num(score.full_marks)}-{deducted}+{bonus}"
    if score.max is not None:
        formula = f"MIN({_num(score.max)},{formula})"
    if score.min is not None:
        formula = f"MAX({_num(score.min)},{formula})"
    return "=" + _invalid([deducted, bonus], formula)


def grade_formula(rulebook: Rulebook, score: str) -> str:
    """The band label of ``score`` (min included, below excluded), "" in no band."""
    formula = '""'
    for band in reversed(rulebook.grade_bands):
        conditions = ([f"{score}>={_num(band.min)}"] if not math.isinf(band.min) else []) + \
                     ([f"{score}<{_num(band.below)}"] if not math.isinf(band.below) else [])
        condition = f"AND({','.join(conditions)})" if len(conditions) > 1 else (conditions or ["TRUE"])[0]
        formula = f"IF({condition},\"{band.label}\",{formula})"
    return "=" + _invalid([score], formula)


def pass_formula(rulebook: Rulebook, score: str) -> str:
    mark = rulebook.score.pass_mark
    compare = ">=" if rulebook.score.pass_inclusive else ">"
    return "=" + _invalid([score], f"IF({score}{compare}{_num(mark)},\"合格\",\"不合格\")")


def payment_formula(rulebook: Rulebook, fee: str, score: str) -> str:
    rule = rulebook.payment
    paid = f"{fee}*(1-{_num(rule.assessed_share)})+{fee}*{_num(rule.assessed_share)}*MAX(0,{score})/{_num(rule.scale)}"
    if rule.cap_at_fee:
        paid = f"MIN({fee},{paid})"
    bad_fee = f"IF(OR(NOT(ISNUMBER({fee})),{fee}<0),\"{INVALID}\",{_invalid([score], paid)})"
    return f"=IF({fee}=\"\",\"\",{bad_fee})"


def _sum(cells: list[str]) -> str:
    return f"SUM({','.join(cells)})" if cells else "0"


# -- layout of one unit's sheet ------------------------------------------------------------------------
@dataclasses.dataclass
class Block:
    """One category: its row (points, deduction subtotal, score) followed by its item rows, and for a
    category with both deductions and bonuses a bonus subtotal row after the items. Items in another
    unit than the score's (元 beside 分) form blocks of their own (``apart``), totalled apart."""

    key: str | None  # the category id
    title: str
    points: float | None
    lines: list[tuple[int, Line]]
    deduction_row: int | None
    bonus_row: int | None
    apart: str = ""  # the unit (元/分) of a block that does not enter the score
    heading_row: int = 0
    source: str = ""


@dataclasses.dataclass
class Layout:
    """Row numbers (0-based) of everything on a unit's sheet; the summary refers to them."""

    blocks: list[Block]
    rows: dict[str, int]  # 满分, 扣分合计, 加分合计, 得分, 等级, 是否合格, 代维费(元), 应付金额(元), 工单数, … 合同预警
    signature_row: int = 0


FIRST_ITEM_ROW = 4  # the first category row; the column headers are on the row above


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
    row = FIRST_ITEM_ROW
    blocks = []
    for (key, apart), lines in groups.items():
        category = rulebook.category(key) if key is not None else None
        title = f"{category.id}、{category.name}" if category else "其他"
        if apart:
            title = f"另计{DEDUCTION_WORDS[apart]}({apart}，不计入得分)"
        heading = row
        placed = [(heading + 1 + k, line) for k, line in enumerate(lines)]
        row = heading + 1 + len(lines)
        deductions = any(not line.item.bonus for line in lines)
        bonuses = any(line.item.bonus for line in lines)
        deduction_row = heading if deductions else None
        bonus_row = None
        if bonuses:
            bonus_row = row if deductions else heading
            row += 1 if deductions else 0
        blocks.append(Block(key, title, category.points if category and not apart else None, placed, deduction_row,
                            bonus_row, apart, heading, category.source if category else ""))
    labels = []
    if unit.scored:
        labels += ["满分", "扣分合计", "加分合计", "得分"]
        labels += ["等级"] if rulebook.grade_bands else []
        labels += ["是否合格"] if rulebook.score.pass_mark is not None else []
        labels += ["代维费(元)", "应付金额(元)"] if rulebook.payment is not None else []
    labels += [apart_label(u) for u in dict.fromkeys(b.apart for b in blocks if b.apart)]
    labels += [band_label(stage) for stage in unit.band_means]
    labels += ["工单数", "超时工单", "及时率"] + (["合同预警", "近期得分"] if unit.scored else [])
    rows = {label: row + 1 + k for k, label in enumerate(labels)}
    return Layout(blocks, rows, row + 2 + len(labels))


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
    ``password`` protects the formula cells (none by default: protection guards against slips).
    The 年度得分 sheet is written for a scheme that scores when a history was given (or the units'
    trends hold earlier months of the year)."""
    rulebook = assessment.rulebook
    stamp = f"考核办法 {rulebook.name} {rulebook.version}; 日历 {calendar_version}; 程序 kaohe {udfs.__version__}"
    month_text = month_label(assessment.month)
    book = new_workbook(path, title=f"{month_text} 月度量化考核表", subject=rulebook.title, comments=stamp)
    f = _Formats(book)
    names = sheet_names([u.unit for u in assessment.units])
    layouts = [layout(rulebook, u) for u in assessment.units]
    versions = f"考核办法版本 {rulebook.version} ｜ 日历 {calendar_version} ｜ 程序 kaohe {udfs.__version__}"

    _write_summary(book, f, assessment, names, layouts, month_text, versions)
    for unit, name, place in zip(assessment.units, names, layouts):
        _write_unit(book, f, rulebook, unit, name, place, month_text, password)
    if _year_wanted(assessment, sources):
        _write_year(book, f, assessment, names, layouts)
    _write_notes(book, f, assessment, calendar_version, sources)
    _write_rejected(book, f, assessment)
    book.close()


class _Formats:
    def __init__(self, book):
        add = book.add_format
        self.title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.info = add({"valign": "vcenter", "text_wrap": True})
        self.stamp = add({"font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center",
                           "valign": "vcenter"})
        self.category = add({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"})
        self.category_amount = add({"bold": True, "bg_color": "#E2EFDA", "border": 1, "valign": "top"})
        self.category_bonus = add({"bold": True, "bg_color": "#E2EFDA", "border": 1, "valign": "top",
                                   "num_format": PLUS})
        self.text = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.cell = add({"border": 1, "valign": "top", "align": "center"})
        self.input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "valign": "top"})
        self.fixed = add({"border": 1, "bg_color": "#D9D9D9", "valign": "top"})
        self.amount = add({"border": 1, "bold": True, "valign": "top"})
        self.bonus = add({"border": 1, "bold": True, "valign": "top", "num_format": PLUS})
        self.subtotal = add({"border": 1, "bold": True, "bg_color": "#E2EFDA", "text_wrap": True, "valign": "top"})
        self.label = add({"bold": True, "border": 1, "bg_color": "#F2F2F2", "text_wrap": True, "valign": "top"})
        self.value = add({"bold": True, "border": 1, "valign": "top", "align": "left"})
        self.bonus_value = add({"bold": True, "border": 1, "valign": "top", "align": "left", "num_format": PLUS})
        self.money = add({"bold": True, "border": 1, "num_format": "#,##0.00", "valign": "top", "align": "left"})
        self.money_input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "#,##0.00",
                                "valign": "top", "align": "left"})
        self.rate = add({"border": 1, "num_format": "0.0%", "valign": "top"})
        self.rate_value = add({"border": 1, "num_format": "0.0%", "valign": "top", "align": "left"})
        self.score = add({"border": 1, "num_format": "0.##", "valign": "top"})
        self.note = add({"border": 1, "text_wrap": True, "valign": "top", "font_color": "#404040"})
        self.warning = add({"border": 1, "text_wrap": True, "font_color": "#C00000", "valign": "top"})
        self.plain = add({"border": 1, "valign": "top"})
        self.number = add({"border": 1, "valign": "top", "align": "left"})
        self.line = add({"border": 1, "valign": "top", "font_color": "#595959"})
        self.sign = add({"valign": "vcenter", "text_wrap": True})
        self.invalid = add({"bg_color": "#FFC7CE", "font_color": "#9C0006"})


def _cached(value):
    """A formula's cached result: numbers as they are, NaN/None as "" (an empty result)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def _points_text(value: float, unit: str) -> str:
    return f"{value:g}{unit}"


def rule_words(item: Item) -> str:
    """How an item scores, in a sentence: ``每张扣2分，5张以上(含5张)扣除该项全部10分，该项最多扣10分``."""
    lo, hi = item.points
    verb = "加" if item.bonus else "扣"
    amount = f"{lo:g}" if lo == hi else f"不低于{lo:g}" if math.isinf(hi) else f"{lo:g}~{hi:g}"
    parts = [f"每{item.per}{verb}{amount}{item.unit}"]
    if item.doubles:
        parts.append("重复发生的加倍扣")
    if item.zero_out_at is not None and item.item_points is not None:
        reach = f"{item.zero_out_at}{item.per}以上" + (f"(含{item.zero_out_at}{item.per})" if item.zero_out_inclusive
                                                     else f"(不含{item.zero_out_at}{item.per})")
        parts.append(f"{reach}扣除该项全部{_points_text(item.item_points, item.unit)}")
    if item.item_points is not None:
        parts.append(f"该项最多{verb}{_points_text(item.item_points, item.unit)}")
    if item.cap is not None:
        parts.append(f"最多{verb}{_points_text(item.cap, item.unit)}")
    return "，".join(parts)


def line_note(line: Line) -> str:
    """依据/备注 of an item row: where the count comes from and how it scores, in sentences."""
    item = line.item
    parts = [line.basis] if line.basis else []
    if line.origin == "记录":
        parts.insert(0, f"考核记录共{line.count:g}{item.per}")
        if item.ranged and not math.isnan(line.chosen) and not line.defaulted:
            parts.append(f"选定每{item.per}{line.chosen:g}{item.unit}")
    if line.defaulted:
        parts.append(f"未填选定值，按最低值{item.points[0]:g}{item.unit}计")
    if item.doubles and line.repeats:
        parts.append(f"其中{line.repeats:g}{item.per}重复发生，加倍扣分")
    if not parts:
        parts.append("本月无记录")
    if line.count and line.count == line.count:
        parts.append(rule_words(item))
    return "；".join(parts)


def _height(cells, minimum: float = 0.0) -> float:
    return max(minimum, row_height(cells))


def _unit_title(unit: UnitResult, month_text: str) -> str:
    return f"{unit.unit} {month_text} 月度量化考核表"


def _write_unit(book, f: _Formats, rulebook: Rulebook, unit: UnitResult, name: str, place: Layout, month_text: str,
                password: str) -> None:
    sheet = book.add_worksheet(name)
    for j, width in enumerate(WIDTHS):
        sheet.set_column(j, j, width, None, {"hidden": True} if j == REPEATS else None)
    title = _unit_title(unit, month_text)
    sheet.set_row(0, 24)
    sheet.merge_range(0, 0, 0, LAST, title, f.title)
    scheme = f"考核办法：{rulebook.title}"
    full = (f"满分 {_points_text(rulebook.score.full_marks, rulebook.score.unit)}" if unit.scored else "不计得分")
    date = "考核日期：    年  月  日"
    sheet.set_row(1, _height([(scheme, sum(WIDTHS[:TEXT + 1])), (full, sum(WIDTHS[COUNT:SCORE + 1])),
                              (date, WIDTHS[SOURCE])]))
    sheet.merge_range(1, 0, 1, TEXT, scheme, f.info)
    sheet.merge_range(1, COUNT, 1, SCORE, full, f.info)
    sheet.write_string(1, NOTE, f"考核月份 {month_text}", f.info)
    sheet.write_string(1, SOURCE, date, f.info)
    if rulebook.can_score:
        hint = "黄色单元格(次数、选定值、代维费)可以填写，扣分、得分、等级等为公式，随之重算；填错时显示“输入有误”，不给得分。"
        if not unit.scored:
            hint = f"考核对象: {unit.party}，{'、'.join(unit.apart) or '分'}另计，不计得分。" + hint
        elif unit.party != rulebook.party:
            hint = f"考核对象: {unit.party}。" + hint
        style = f.stamp
    else:
        hint, style = f"{cannot_score_reason(rulebook)}。", f.warning
    sheet.set_row(2, _height([(hint, sum(WIDTHS[:LAST + 1]))]))
    sheet.merge_range(2, 0, 2, LAST, hint, style)
    sheet.set_row(3, _height([(label, WIDTHS[j]) for j, label in enumerate(COLUMNS[:LAST + 1])]))
    for j, label in enumerate(COLUMNS):
        sheet.write_string(FIRST_ITEM_ROW - 1, j, label, f.header)
    cell = xl_rowcol_to_cell
    invalid = f'"{INVALID}"'
    deduction_cells, bonus_cells, apart_cells = [], [], {}
    score_unit = rulebook.score_unit
    for block in place.blocks:
        members = {bonus: [(r, line) for r, line in block.lines if line.item.bonus == bonus] for bonus in (False, True)}
        first, last_item = block.lines[0][0], block.lines[-1][0]
        span = f"{cell(first, AMOUNT)}:{cell(last_item, SCORE)}"
        unit_words = block.apart or score_unit
        money = unit_words == "元"
        heading = block.heading_row
        number, _, label = block.title.partition("、") if block.key is not None else ("", "", block.title)
        if block.points is not None and members[False]:
            content = f"本类最多扣{_points_text(block.points, unit_words)}"
        elif block.apart:
            content = "与得分单位不同的考核项，单独合计，不计入得分"
        else:
            content = "加分项" if not members[False] else ""
        note_words = []
        if members[False]:
            note_words.append(f"本类各项{'扣款' if money else '扣分'}之和"
                              + (f"，最多扣{_points_text(block.points, unit_words)}" if block.points is not None else ""))
        if members[True] and block.bonus_row == heading:
            note_words.append(f"本类各项{'奖励' if money else '加分'}之和")
        source = citation(block.source)
        sheet.set_row(heading, _height([(label, WIDTHS[NAME]), (content, WIDTHS[TEXT]),
                                        ("；".join(note_words), WIDTHS[NOTE]), (source, WIDTHS[SOURCE])]))
        sheet.write_string(heading, ID, number, f.category)
        sheet.write_string(heading, NAME, label, f.category)
        if block.points is not None:
            sheet.write_number(heading, POINTS, block.points, f.category)
        else:
            sheet.write_blank(heading, POINTS, None, f.category)
        sheet.write_string(heading, TEXT, content, f.category)
        sheet.write_blank(heading, COUNT, None, f.category)
        sheet.write_blank(heading, CHOSEN, None, f.category)
        after = None  # the bonus subtotal row of a category with deductions too, written after its items
        for bonus, subtotal_row in ((False, block.deduction_row), (True, block.bonus_row)):
            if subtotal_row is None:
                continue
            column = SCORE if bonus else AMOUNT
            cells = [cell(r, column) for r, _ in members[bonus]]
            amounts = [line.amount for _, line in members[bonus]]
            total = _sum(cells)
            if block.apart or bonus:
                cached = float(np.nansum(amounts))
            else:
                cached = _lost(rulebook, block, amounts)
                total = f"MIN({_num(block.points)},{total})" if block.points is not None else total
            if any(math.isnan(a) and line.count == line.count for a, (_, line) in zip(amounts, members[bonus])):
                cached = INVALID
            formula = f'=IF(COUNTIF({span},{invalid})>0,{invalid},{total})'
            target = cell(subtotal_row, column)
            if block.apart:
                apart_cells.setdefault(block.apart, []).append(("-" if bonus else "+", target))
            elif bonus:
                bonus_cells.append(target)
            else:
                deduction_cells.append(target)
            if subtotal_row != heading:
                after = (subtotal_row, formula, cached)
                continue
            sheet.write_formula(heading, column, formula, f.category_bonus if bonus else f.category_amount, cached)
            if not bonus and block.points is not None:
                score_cached = INVALID if cached == INVALID else block.points - cached
                sheet.write_formula(heading, SCORE, f"=IF({target}={invalid},{invalid},{_num(block.points)}-{target})",
                                    f.category_amount, score_cached)
            elif not bonus and block.bonus_row != heading:
                sheet.write_blank(heading, SCORE, None, f.category_amount)
        if block.deduction_row is None:
            sheet.write_blank(heading, AMOUNT, None, f.category_amount)
            if block.bonus_row is None:
                sheet.write_blank(heading, SCORE, None, f.category_amount)
        sheet.write_string(heading, NOTE, "；".join(note_words), f.category)
        sheet.write_string(heading, SOURCE, source, f.category)
        sheet.write_blank(heading, REPEATS, None, f.category)
        for row, line in block.lines:
            _write_line(sheet, f, line, row)
        if after is not None:
            subtotal_row, formula, cached = after
            words = "奖励" if money else "加分"
            sheet.set_row(subtotal_row, 18)
            sheet.merge_range(subtotal_row, 0, subtotal_row, CHOSEN, f"{block.title} {words}小计", f.subtotal)
            sheet.write_blank(subtotal_row, AMOUNT, None, f.subtotal)
            sheet.write_formula(subtotal_row, SCORE, formula, f.category_bonus, cached)
            sheet.merge_range(subtotal_row, NOTE, subtotal_row, LAST, f"本类各项{words}之和", f.subtotal)
    if place.blocks:
        top = FIRST_ITEM_ROW
        bottom = max(r for b in place.blocks for r, _ in b.lines)
        mark = f'=OR(${xl_col_to_name(AMOUNT)}{top + 1}={invalid},${xl_col_to_name(SCORE)}{top + 1}={invalid})'
        for first_column, last_column in ((COUNT, CHOSEN), (REPEATS, REPEATS)):
            sheet.conditional_format(top, first_column, bottom, last_column,
                                     {"type": "formula", "criteria": mark, "format": f.invalid})
    _write_totals(sheet, f, rulebook, unit, place, deduction_cells, bonus_cells, apart_cells)
    roles = "\n\n".join(f"{role}：________________________" for role in SIGNATURES)
    dates = "\n\n".join("日期：__________年______月______日" for _ in SIGNATURES)
    row = place.signature_row
    sheet.set_row(row, row_height([(roles, sum(WIDTHS[:TEXT + 1]))]) + 12)  # one row: never split over two pages
    sheet.merge_range(row, 0, row, TEXT, roles, f.sign)
    sheet.merge_range(row, COUNT, row, LAST, dates, f.sign)
    sheet.freeze_panes(FIRST_ITEM_ROW, 2)
    print_ready(sheet, WIDTHS[:LAST + 1], header_rows=(FIRST_ITEM_ROW - 1, FIRST_ITEM_ROW - 1), header=title)
    sheet.protect(password, {"format_columns": True, "format_rows": True})


def _write_line(sheet, f: _Formats, line: Line, row: int) -> None:
    item = line.item
    cell = xl_rowcol_to_cell
    name = item.name + ("(加分)" if item.bonus else "")
    note = line_note(line)
    source = citation(item.source)
    sheet.set_row(row, _height([(name, WIDTHS[NAME]), (item.text, WIDTHS[TEXT]), (note, WIDTHS[NOTE]),
                                (source, WIDTHS[SOURCE])]))
    sheet.write_string(row, ID, item.id, f.cell)
    sheet.write_string(row, NAME, name, f.text)
    if item.item_points is not None:
        sheet.write_number(row, POINTS, item.item_points, f.cell)
    else:
        sheet.write_blank(row, POINTS, None, f.cell)
    sheet.write_string(row, TEXT, item.text, f.text)
    sheet.write(row, COUNT, _cached(line.count), f.input)
    sheet.data_validation(row, COUNT, row, COUNT, {
        "validate": "integer", "criteria": ">=", "value": 0, "ignore_blank": True,
        "error_title": "次数", "error_message": f"“{item.name}”的次数应为不小于0的整数"[:255]})
    if item.ranged:
        sheet.write(row, CHOSEN, _cached(line.chosen), f.input)
        lo, hi = item.points
        bounds = ({"criteria": "between", "minimum": lo, "maximum": hi} if not math.isinf(hi)
                  else {"criteria": ">=", "value": lo})
        sheet.data_validation(row, CHOSEN, row, CHOSEN, {
            "validate": "decimal", **bounds, "ignore_blank": True, "error_title": "选定值",
            "error_message": f"“{item.name}”的选定值应在{scoring.range_text(item)}范围内"[:255],
            "input_title": "选定值", "input_message": f"每次的分值，应在{scoring.range_text(item)}范围内；空白按最低值{lo:g}计"[:255]})
    else:
        sheet.write_blank(row, CHOSEN, None, f.fixed)
    formula = item_formula(item, cell(row, COUNT), cell(row, CHOSEN), cell(row, REPEATS))
    cached = INVALID if math.isnan(line.amount) and line.count == line.count else _cached(line.amount)
    if item.bonus:
        sheet.write_blank(row, AMOUNT, None, f.amount)
        sheet.write_formula(row, SCORE, formula, f.bonus, cached)
    else:
        sheet.write_formula(row, AMOUNT, formula, f.amount, cached)
        if item.item_points is not None:
            amount = cell(row, AMOUNT)
            score = (INVALID if cached == INVALID else item.item_points if cached == "" else item.item_points - cached)
            sheet.write_formula(row, SCORE, f'=IF({amount}="{INVALID}","{INVALID}",IF({amount}="",'
                                f'{cell(row, POINTS)},{cell(row, POINTS)}-{amount}))', f.score, score)
        else:
            sheet.write_blank(row, SCORE, None, f.score)
    sheet.write_string(row, NOTE, note, f.note)
    sheet.write_string(row, SOURCE, source, f.note)
    if item.doubles:
        sheet.write(row, REPEATS, _cached(line.repeats or None), f.input)
        sheet.data_validation(row, REPEATS, row, REPEATS, {
            "validate": "integer", "criteria": ">=", "value": 0, "ignore_blank": True,
            "error_title": "加倍次数", "error_message": "加倍次数应为不小于0的整数，且不多于次数"})
    else:
        sheet.write_blank(row, REPEATS, None, f.fixed)


def _write_totals(sheet, f: _Formats, rulebook: Rulebook, unit: UnitResult, place: Layout, deduction_cells,
                  bonus_cells, apart_cells) -> None:
    cell = xl_rowcol_to_cell
    rows = place.rows
    at = {label: cell(row, AMOUNT, True, True) for label, row in rows.items()}
    band_labels = {band_label(stage): mean for stage, mean in unit.band_means.items()}
    invalid_inputs = any(math.isnan(line.amount) for line in unit.lines)
    values = {}
    for u, parts in apart_cells.items():
        cells = [c for _, c in parts]
        expression = "".join(sign + c for sign, c in parts).lstrip("+")
        values[apart_label(u)] = ("=" + _invalid(cells, expression), unit.apart.get(u, 0.0), f.value)
    if unit.scored:
        bonus_total = _sum(bonus_cells)
        if rulebook.score.bonus_cap is not None:
            bonus_total = f"MIN({_num(rulebook.score.bonus_cap)},{bonus_total})"
        verdict = None if unit.passed is None else ("合格" if unit.passed else "不合格")

        def shown(value):
            return INVALID if invalid_inputs else value

        values.update({
            "扣分合计": ("=" + _invalid(deduction_cells, _sum(deduction_cells)), shown(unit.deducted), f.value),
            "加分合计": ("=" + _invalid(bonus_cells, bonus_total), shown(unit.bonus), f.bonus_value),
            "得分": (total_formula(rulebook, at["扣分合计"], at["加分合计"]), shown(unit.score), f.value),
            "等级": (grade_formula(rulebook, at["得分"]) if rulebook.grade_bands else None, shown(unit.grade), f.value),
            "是否合格": (pass_formula(rulebook, at["得分"]) if rulebook.score.pass_mark is not None else None,
                       shown(verdict), f.value),
            "应付金额(元)": (payment_formula(rulebook, at["代维费(元)"], at["得分"]) if rulebook.payment else None,
                         unit.paid if math.isnan(unit.fee) or not invalid_inputs else INVALID, f.money),
        })
    for label, row in rows.items():
        shown_label = total_label(rulebook, label) + (AS_GENERATED if label in ("合同预警", "近期得分") else "")
        if label == "合同预警":
            text = "；".join(unit.warnings) or "无"
            sheet.set_row(row, _height([(text, sum(WIDTHS[AMOUNT:LAST + 1])), (shown_label, sum(WIDTHS[:CHOSEN + 1]))]))
            sheet.merge_range(row, 0, row, CHOSEN, shown_label, f.label)
            sheet.merge_range(row, AMOUNT, row, LAST, text, f.warning)
            continue
        if label == "近期得分":
            text = "  ".join(f"{month_label(m)}: {s:g}" for m, s, _ in unit.trend if not math.isnan(s))
            sheet.set_row(row, _height([(text, sum(WIDTHS[AMOUNT:LAST + 1]))]))
            sheet.merge_range(row, 0, row, CHOSEN, shown_label, f.label)
            sheet.merge_range(row, AMOUNT, row, LAST, text, f.text)
            continue
        note = row_note(rulebook, label)
        sheet.set_row(row, _height([(note, sum(WIDTHS[NOTE:LAST + 1]))], 18))
        sheet.merge_range(row, 0, row, CHOSEN, shown_label, f.label)
        if label in values:
            formula, cached, style = values[label]
            sheet.merge_range(row, AMOUNT, row, SCORE, "", style)
            sheet.write_formula(row, AMOUNT, formula, style, _cached(cached))
        elif label == "满分":
            sheet.merge_range(row, AMOUNT, row, SCORE, "", f.value)
            sheet.write_number(row, AMOUNT, rulebook.score.full_marks, f.value)
        elif label == "代维费(元)":
            sheet.merge_range(row, AMOUNT, row, SCORE, "", f.money_input)
            sheet.write(row, AMOUNT, _cached(unit.fee), f.money_input)
            sheet.data_validation(row, AMOUNT, row, AMOUNT, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True,
                "error_title": "代维费", "error_message": "代维费应为不小于0的金额(元)"})
        else:
            value, style = _plain_total(label, unit, band_labels, f)
            sheet.merge_range(row, AMOUNT, row, SCORE, "", style)
            if isinstance(value, str):
                sheet.write_string(row, AMOUNT, value, style)
            else:
                sheet.write_number(row, AMOUNT, value, style)
        sheet.merge_range(row, NOTE, row, LAST, note, f.note)


def _plain_total(label: str, unit: UnitResult, band_labels: dict, f: _Formats):
    """The value and style of a totals row that is not a formula (counts, rates, band means)."""
    if label == "工单数":
        return unit.tickets, f.number
    if label in band_labels:
        mean = band_labels[label]
        return ("—" if math.isnan(mean) else round(mean, 4)), f.number
    if math.isnan(unit.timely_rate) and label in ("超时工单", "及时率"):
        return "未计时", f.number
    if label == "超时工单":
        return unit.overdue, f.number
    return unit.timely_rate, f.rate_value


def _lost(rulebook: Rulebook, block: Block, amounts: list[float]) -> float:
    """The engine's value of a category's deduction subtotal."""
    return scoring.lost(rulebook, amounts, [block.key] * len(amounts) if block.key is not None else None)


def total_label(rulebook: Rulebook, label: str) -> str:
    """A total row's label as the sheet shows it, in 元 words for a money scheme (扣款合计(元))."""
    unit = rulebook.score_unit
    money = {"扣分合计": "扣款合计", "加分合计": "奖励合计"} if unit == "元" else {}
    if label in ("扣分合计", "加分合计", "得分"):
        return f"{money.get(label, label)}({unit})"
    return label


def row_note(rulebook: Rulebook, label: str) -> str:
    if label == "及时率":
        return "各环节均未超时的工单 / 有环节计时的工单数(未计时: 本办法没有时限，或导出中没有计时所需的时间列)"
    if label.startswith("另计"):
        return "与得分单位不同的考核项(扣为正、奖为负)，单独合计，不计入得分"
    if label.startswith("平均") and label.endswith("得分"):
        return "各张工单按历时分档得分(见规则清单)的平均值；逐单得分见台账"
    if label == "工单数":
        return "本单位本月入账的工单"
    if label == "超时工单":
        return "至少一个环节超时的工单"
    score = rulebook.score
    if label == "满分":
        return f"出处：{citation(score.source)}" if score.source else ""
    if label == "扣分合计" and rulebook.categories:
        return "各类扣分小计之和(每类最多扣该类分值)"
    if label == "加分合计" and score.bonus_cap is not None:
        return f"加分最多计 {score.bonus_cap:g}{score.unit}"
    if label == "得分":
        clamps = [f"不低于{score.min:g}" if score.min is not None else "", f"不高于{score.max:g}" if score.max is not None else ""]
        return f"满分{score.full_marks:g} − 扣分合计 + 加分合计" + ("，" + "、".join(c for c in clamps if c) if any(clamps) else "")
    if label == "是否合格":
        return f"{score.pass_mark:g}{score.unit}{'(含)以上' if score.pass_inclusive else '以上(不含)'}为合格"
    if label == "代维费(元)":
        return "本单位当月代维费，可以填写"
    if label == "应付金额(元)":
        rule = rulebook.payment
        return (f"代维费×{1 - rule.assessed_share:.0%} + 代维费×{rule.assessed_share:.0%}×得分(负分按0)/{rule.scale:g}"
                + ("，不超过代维费" if rule.cap_at_fee else ""))
    return ""


# -- 汇总 -----------------------------------------------------------------------------------------------
def _unit_cell(name: str, row: int, column: int = AMOUNT) -> str:
    return f"{quote_sheetname(name)}!{xl_rowcol_to_cell(row, column, True, True)}"


def _write_summary(book, f: _Formats, assessment: Assessment, names, layouts, month_text: str, versions: str) -> None:
    rulebook = assessment.rulebook
    sheet = book.add_worksheet("汇总")
    aparts = list(dict.fromkeys(u for unit in assessment.units for u in unit.apart))
    bands = list(dict.fromkeys(stage for unit in assessment.units for stage in unit.band_means))
    labels = (list(SUMMARY[:-1]) + [apart_label(u) for u in aparts] + [band_label(b) for b in bands]
              + [SUMMARY[-1]])
    narrow = {"工单数": 7, "超时工单": 7, "及时率": 7, "扣分": 6, "加分": 6, "得分": 6, "等级": 7, "是否合格": 7}
    widths = [14] + [narrow.get(label, 11) for label in labels[1:-1]] + [36]
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width)
    last = len(labels) - 1
    title = f"{month_text} 月度量化考核汇总"
    sheet.set_row(0, 24)
    sheet.merge_range(0, 0, 0, last, f"{title} — {rulebook.title}", f.title)
    if assessment.caveat:
        line, style = f"⚠ {assessment.caveat} ｜ {versions}", f.warning
    elif assessment.scored:
        line, style = versions, f.stamp
    else:
        line, style = f"{cannot_score_reason(rulebook)} ｜ {versions}", f.warning
    sheet.set_row(1, _height([(line, sum(widths))]))
    sheet.merge_range(1, 0, 1, last, line, style)
    money = rulebook.score is not None and rulebook.score.unit == "元"
    shown = {"扣分": "扣款(元)", "加分": "奖励(元)", "得分": "得分(元)", "合同预警": f"合同预警{AS_GENERATED}"}
    if not money:
        shown = {"合同预警": shown["合同预警"]}
    headers = [shown.get(label, label) for label in labels]
    sheet.set_row(2, _height(list(zip(headers, widths))))
    for j, header in enumerate(headers):
        sheet.write_string(2, j, header, f.header)
    linked = {"扣分": "扣分合计", "加分": "加分合计", "得分": "得分", "等级": "等级", "是否合格": "是否合格",
              "代维费(元)": "代维费(元)", "应付金额(元)": "应付金额(元)", "工单数": "工单数", "超时工单": "超时工单",
              "及时率": "及时率", **{apart_label(u): apart_label(u) for u in aparts},
              **{band_label(b): band_label(b) for b in bands}}
    for i, (unit, name, place) in enumerate(zip(assessment.units, names, layouts), start=3):
        invalid_inputs = any(math.isnan(line.amount) for line in unit.lines)
        scored = {"扣分": unit.deducted, "加分": unit.bonus, "得分": unit.score, "等级": unit.grade,
                  "是否合格": None if unit.passed is None else ("合格" if unit.passed else "不合格")}
        cached = {**{k: INVALID if invalid_inputs else v for k, v in scored.items()},
                  "代维费(元)": unit.fee, "应付金额(元)": INVALID if invalid_inputs and unit.fee == unit.fee else unit.paid,
                  "工单数": unit.tickets, "超时工单": unit.overdue,
                  "及时率": unit.timely_rate, **{apart_label(u): unit.apart.get(u, 0.0) for u in aparts},
                  **{band_label(b): round(unit.band_means.get(b, np.nan), 4) for b in bands}}
        warnings = "；".join(unit.warnings) or "无"
        sheet.set_row(i, _height([(warnings, widths[-1]), (unit.unit, widths[0])]))
        sheet.write_string(i, 0, unit.unit, f.plain)
        for j, label in enumerate(labels[1:-1], start=1):
            style = f.rate if label == "及时率" else f.money if "元" in label else f.plain
            source = linked[label]
            untimed = label == "超时工单" and math.isnan(unit.timely_rate)
            value = cached[label]
            if untimed or source not in place.rows or (label in ("及时率", *map(band_label, bands))
                                                       and math.isnan(value)):
                sheet.write_string(i, j, "—", f.plain)
                continue
            reference = _unit_cell(name, place.rows[source])
            sheet.write_formula(i, j, f"=IF({reference}=\"\",\"\",{reference})", style, _cached(value))
        sheet.write_string(i, last, warnings, f.warning)
    end = 3 + len(assessment.units)
    sheet.freeze_panes(3, 1)
    breaks = _charts(book, sheet, f, assessment, names, layouts, end + 1, widths)
    scale = print_ready(sheet, widths, header=title, font_size=10)
    rows_per_page = int(509 / (scale / 100) / 15)
    if len(assessment.units) + 3 > rows_per_page:  # a long table: its header on every page
        sheet.repeat_rows(2, 2)
    sheet.set_h_pagebreaks(breaks)


def _charts(book, sheet, f: _Formats, assessment: Assessment, names, layouts, row: int,
            widths: list[float]) -> list[int]:
    """Tables below the summary, each with its native chart beside it, from a new page on: on-time
    rate per unit, deductions by category, overdue tickets by area and priority, complaint types,
    score trend. A section that would not fit on the page under way starts a new one (page breaks
    returned), so no chart is cut."""
    units = assessment.units
    if not units:
        return []
    count = len(units)
    categories = list(dict.fromkeys(b.title for place_ in layouts for b in place_.blocks
                                    if b.deduction_row is not None and not b.apart))
    table = assessment.overdue_by_area
    kinds = assessment.complaint_types
    months = sorted({m for unit in units for m, _, _ in unit.trend})
    chart_column = max(6, len(categories) + 2, count + 2, (len(table.columns) + 2) if len(table) else 0)
    breaks = [row]
    page_top = row
    state = {"row": row}

    def section(rows_needed: int) -> int:
        """The first row of a section ``rows_needed`` tall, on a new page when it does not fit."""
        nonlocal page_top
        height = max(CHART_ROWS, rows_needed + 1)
        if state["row"] + height - page_top > PAGE_ROWS and state["row"] > page_top:
            page_top = state["row"]
            breaks.append(page_top)
        top = state["row"]
        state["row"] = top + height
        return top

    def head(top, labels):
        """A chart table's header row at ``top``, as tall as its wrapped labels."""
        sheet.set_row(top, _height([(label, widths[min(j, len(widths) - 1)]) for j, label in enumerate(labels)]))
        for j, label in enumerate(labels):
            sheet.write_string(top, j, label, f.header)

    def head_rows(labels) -> int:
        height = _height([(label, widths[min(j, len(widths) - 1)]) for j, label in enumerate(labels)])
        return math.ceil(height / 15)

    def place(chart, title, top):
        chart.set_title({"name": title, "name_font": {"size": 12}})
        chart.set_size({"width": 560, "height": 288})
        sheet.insert_chart(top, chart_column, chart, {"y_offset": 8})

    # On-time rate per unit (column 及时率 of the table above).
    top = section(0)
    rate_column = SUMMARY.index("及时率")
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "及时率", "categories": ["汇总", 3, 0, 2 + count, 0],
                      "values": ["汇总", 3, rate_column, 2 + count, rate_column], "data_labels": {"value": True}})
    chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"none": True})
    place(chart, "各单位工单及时率", top)

    # Deductions by category (links to each unit's subtotals).
    if categories:
        money = assessment.rulebook.score.unit == "元"
        labels = ["各类别扣款(元)" if money else "各类别扣分", *categories]
        top = section(count + head_rows(labels))
        head(top, labels)
        for i, (unit, name, place_) in enumerate(zip(units, names, layouts), start=top + 1):
            sheet.write_string(i, 0, unit.unit, f.plain)
            blocks = {b.title: b for b in place_.blocks if b.deduction_row is not None and not b.apart}
            for j, block in ((j, blocks.get(title)) for j, title in enumerate(categories, start=1)):
                if block is None:
                    sheet.write_string(i, j, "—", f.plain)
                    continue
                amounts = [line.amount for _, line in block.lines if not line.item.bonus]
                lost = INVALID if any(math.isnan(a) for a in amounts) else _lost(assessment.rulebook, block, amounts)
                sheet.write_formula(i, j, "=" + _unit_cell(name, block.deduction_row), f.plain, lost)
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        for j, _ in enumerate(categories, start=1):
            chart.add_series({"name": ["汇总", top, j], "categories": ["汇总", top + 1, 0, top + count, 0],
                              "values": ["汇总", top + 1, j, top + count, j]})
        place(chart, "各单位分类别扣款(元)" if money else "各单位分类别扣分", top)

    # Overdue tickets by area and priority.
    if len(table):
        areas = sorted(table.index, key=lambda a: (AREA_ORDER.index(a) if a in AREA_ORDER else 99, a))
        priorities = sorted(table.columns, key=lambda p: (PRIORITY_ORDER.index(p) if p in PRIORITY_ORDER else 99, p))
        labels = ["超时工单(区域×优先级)", *priorities]
        top = section(len(areas) + head_rows(labels))
        head(top, labels)
        for i, area in enumerate(areas, start=top + 1):
            sheet.write_string(i, 0, area, f.plain)
            for j, priority in enumerate(priorities, start=1):
                sheet.write_number(i, j, int(table.loc[area, priority]), f.plain)
        chart = book.add_chart({"type": "column"})
        for j, _ in enumerate(priorities, start=1):
            chart.add_series({"name": ["汇总", top, j], "categories": ["汇总", top + 1, 0, top + len(areas), 0],
                              "values": ["汇总", top + 1, j, top + len(areas), j]})
        place(chart, "超时工单: 按区域与优先级", top)

    # Complaint types.
    if len(kinds):
        labels = ["投诉类型", "工单数"]
        top = section(len(kinds) + head_rows(labels))
        head(top, labels)
        for i, (kind, n) in enumerate(kinds.items(), start=top + 1):
            sheet.write_string(i, 0, str(kind), f.plain)
            sheet.write_number(i, 1, int(n), f.plain)
        chart = book.add_chart({"type": "bar"})
        chart.add_series({"name": "工单数", "categories": ["汇总", top + 1, 0, top + len(kinds), 0],
                          "values": ["汇总", top + 1, 1, top + len(kinds), 1], "data_labels": {"value": True}})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        place(chart, "投诉类型分布", top)

    # Score trend: earlier months from the history, then this month (linked to the unit sheets).
    if len(months) > 1:
        labels = ["得分走势", *(unit.unit for unit in units)]
        top = section(len(months) + head_rows(labels))
        head(top, labels)
        for i, month in enumerate(months, start=top + 1):
            sheet.write_string(i, 0, month_label(month), f.plain)
            for j, (unit, name, place_) in enumerate(zip(units, names, layouts), start=1):
                score = {m: s for m, s, _ in unit.trend}.get(month)
                if month == assessment.month and "得分" in place_.rows:
                    invalid = any(math.isnan(line.amount) for line in unit.lines)
                    sheet.write_formula(i, j, "=" + _unit_cell(name, place_.rows["得分"]), f.plain,
                                        INVALID if invalid else score)
                elif score is not None and not math.isnan(score):
                    sheet.write_number(i, j, score, f.plain)
        chart = book.add_chart({"type": "line"})
        for j, _ in enumerate(units, start=1):
            chart.add_series({"name": ["汇总", top, j], "categories": ["汇总", top + 1, 0, top + len(months), 0],
                              "values": ["汇总", top + 1, j, top + len(months), j], "marker": {"type": "circle"}})
        place(chart, "各单位近月得分", top)
    return breaks


# -- 年度得分 -------------------------------------------------------------------------------------------
def _year_wanted(assessment: Assessment, sources: dict[str, str]) -> bool:
    """A scheme that scores, and a history given (or earlier months of the year in the trends)."""
    if not assessment.scored or not assessment.units:
        return False
    year = assessment.month[:4]
    earlier = any(m[:4] == year and m != assessment.month and not math.isnan(s) for u in assessment.units for m, s, _ in u.trend)
    return bool(sources.get("考核历史")) or earlier


def year_lines(rulebook: Rulebook) -> list[tuple[str, float]]:
    """The reference lines of the year chart: the pass mark and the score thresholds of the
    contract's risks, ``(label, points)``, highest first, each value once."""
    unit = rulebook.score.unit
    lines: dict[float, str] = {}
    if rulebook.score.pass_mark is not None:
        lines[rulebook.score.pass_mark] = f"合格线({rulebook.score.pass_mark:g}{unit})"
    for risk in rulebook.risks:
        if risk.measure == "score" and risk.threshold not in lines:
            lines[risk.threshold] = f"合同预警线({risk.threshold:g}{unit})"
    return sorted(((label, value) for value, label in lines.items()), key=lambda x: -x[1])


def year_scores(unit: UnitResult, month: str) -> dict[str, float]:
    """The unit's scores of the months of ``month``'s year up to it (history and this month)."""
    return {m: s for m, s, _ in unit.trend if m[:4] == month[:4] and m <= month and not math.isnan(s)}


def _write_year(book, f: _Formats, assessment: Assessment, names, layouts) -> None:
    rulebook = assessment.rulebook
    sheet = book.add_worksheet(YEAR_SHEET)
    year, last_month = assessment.month[:4], int(assessment.month[5:])
    months = [f"{year}-{m:02d}" for m in range(1, last_month + 1)]
    score = rulebook.score
    below = "<" if score.pass_inclusive else "<="
    counts = ["已考核月数"] + ([f"低于合格线月数({score.pass_mark:g}{score.unit})"] if score.pass_mark is not None
                               else []) + ["平均得分"]
    widths = [14] + [7] * len(months) + [10] * len(counts)
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width)
    last = len(widths) - 1
    title = f"{year}年 各单位月度得分(截至{month_label(assessment.month)})"
    sheet.set_row(0, 24)
    sheet.merge_range(0, 0, 0, last, title, f.title)
    lines = year_lines(rulebook)
    note = (f"考核办法：{rulebook.title}。以前各月取自考核历史，{month_label(assessment.month)}链接各单位考核表(随之重算)；"
            + "、".join(label for label, _ in lines) + "。")
    sheet.set_row(1, _height([(note, sum(widths))]))
    sheet.merge_range(1, 0, 1, last, note, f.stamp)
    headers = ["考核单位"] + [f"{year}年\n{int(m[5:])}月" for m in months] + counts
    sheet.set_row(2, _height(list(zip(headers, widths))))
    for j, header in enumerate(headers):
        sheet.write_string(2, j, header, f.header)
    first_month, last_month_col = 1, len(months)
    for i, (unit, name, place) in enumerate(zip(assessment.units, names, layouts), start=3):
        scores = year_scores(unit, assessment.month)
        invalid = any(math.isnan(line.amount) for line in unit.lines)
        sheet.write_string(i, 0, unit.unit, f.plain)
        for j, month in enumerate(months, start=1):
            if month == assessment.month and "得分" in place.rows:
                sheet.write_formula(i, j, "=" + _unit_cell(name, place.rows["得分"]), f.score,
                                    INVALID if invalid else scores.get(month, ""))
            elif month in scores:
                sheet.write_number(i, j, scores[month], f.score)
            else:
                sheet.write_blank(i, j, None, f.score)
        span = f"{xl_rowcol_to_cell(i, first_month)}:{xl_rowcol_to_cell(i, last_month_col)}"
        values = list(scores.values())
        guard = f'COUNTIF({span},"{INVALID}")>0'
        column = last_month_col + 1
        sheet.write_formula(i, column, f'=IF({guard},"{INVALID}",COUNT({span}))', f.plain,
                            INVALID if invalid else len(values))
        if score.pass_mark is not None:
            column += 1
            missed = sum(1 for v in values if (v < score.pass_mark if score.pass_inclusive else v <= score.pass_mark))
            sheet.write_formula(i, column, f'=IF({guard},"{INVALID}",COUNTIF({span},"{below}{_num(score.pass_mark)}"))',
                                f.plain, INVALID if invalid else missed)
        column += 1
        mean = round(float(np.mean(values)), 2) if values else ""
        sheet.write_formula(i, column, f'=IF({guard},"{INVALID}",IF(COUNT({span})=0,"",ROUND(AVERAGE({span}),2)))',
                            f.score, INVALID if invalid else mean)
    row = 3 + len(assessment.units)
    for k, (label, value) in enumerate(lines):
        sheet.write_string(row + k, 0, label, f.line)
        for j in range(first_month, last_month_col + 1):
            sheet.write_number(row + k, j, value, f.line)
    end = row + len(lines)
    chart = book.add_chart({"type": "line"})
    categories = [YEAR_SHEET, 2, first_month, 2, last_month_col]
    for i in range(3, row):
        chart.add_series({"name": [YEAR_SHEET, i, 0], "categories": categories,
                          "values": [YEAR_SHEET, i, first_month, i, last_month_col], "marker": {"type": "circle"}})
    for k, (colour, dash) in zip(range(len(lines)), (("#C00000", "dash"), ("#7F7F7F", "round_dot"),
                                                     ("#7F7F7F", "long_dash"), ("#7F7F7F", "dash_dot"))):
        chart.add_series({"name": [YEAR_SHEET, row + k, 0], "categories": categories,
                          "values": [YEAR_SHEET, row + k, first_month, row + k, last_month_col],
                          "line": {"color": colour, "dash_type": dash, "width": 1.5}, "marker": {"type": "none"}})
    known = [s for u in assessment.units for s in year_scores(u, assessment.month).values()] + [v for _, v in lines]
    floor = max(0.0, math.floor((min(known) - 5) / 10) * 10) if known else 0.0
    chart.set_y_axis({"min": floor})
    chart.set_legend({"position": "bottom"})
    chart.set_title({"name": f"{year}年各单位月度得分走势({score.unit})", "name_font": {"size": 12}})
    chart.set_size({"width": 720, "height": 340})
    chart_row = end + 1
    breaks = []
    if chart_row + 18 > PAGE_ROWS:  # the table and the chart do not fit on one page: the chart on the next
        breaks.append(chart_row)
    sheet.insert_chart(chart_row, 0, chart)
    sheet.freeze_panes(3, 1)
    print_ready(sheet, widths, header_rows=(2, 2), header=title, font_size=10)
    sheet.set_h_pagebreaks(breaks)


# -- 说明 and 拒收 ---------------------------------------------------------------------------------------
def _write_notes(book, f: _Formats, assessment: Assessment, calendar_version: str, sources: dict[str, str]) -> None:
    rulebook = assessment.rulebook
    sheet = book.add_worksheet("说明")
    widths = (18, 76)
    sheet.set_column(0, 0, widths[0])
    sheet.set_column(1, 1, widths[1])
    month_text = month_label(assessment.month)
    counts = assessment.counts
    entries = [("考核月份", month_text), ("考核办法", rulebook.title), ("办法版本", rulebook.version),
               ("出处", citation(rulebook.source)), ("规则文件名称", rulebook.name), ("日历数据", calendar_version),
               ("程序版本", f"kaohe {udfs.__version__}")]
    entries += [(f"{label}文件" if not path.startswith("工作表") else label, path)
                for label, path in sources.items() if path]
    check = (f"工单: 读入 {counts.get('工单读入', 0)} 行 = 入账 {counts.get('工单入账', 0)} 行 + 拒收 "
             f"{counts.get('工单拒收', 0)} 行")
    if counts.get("记录读入"):
        check += (f"；考核记录: 读入 {counts['记录读入']} 行 = 采用 {counts.get('记录采用', 0)} 行 + 拒收 "
                  f"{counts.get('记录拒收', 0)} 行")
    entries.append(("行数核对", check + "(拒收的行见“拒收”表)"))
    entries += [(label, count) for label, count in counts.items()]
    entries += [("日历提示", assessment.caveat)] if assessment.caveat else []
    usage = ("各单位考核表中黄色单元格(次数、选定值、代维费；加倍扣分的项另有隐藏的“加倍次数”列)可以修改，扣分、小计、"
             "得分、等级、付款等公式随之重算；填错时该项、所属类别、总分和汇总都显示“输入有误”。"
             "依据/备注写明次数由工单计算还是来自考核记录。合同预警和近期得分按生成时的数据写出，改动输入后不随之更新。")
    entries.append(("怎样使用", usage))
    entries += [("办法假设", text) for text in rulebook.assumptions]
    for i, (key, value) in enumerate(entries):
        sheet.set_row(i, _height([(key, widths[0]), (str(value), widths[1])]))
        sheet.write_string(i, 0, key, f.label)
        if isinstance(value, (int, np.integer)):
            sheet.write_number(i, 1, int(value), f.number)
        else:
            sheet.write_string(i, 1, str(value), f.text)
    print_ready(sheet, widths, header=f"{month_text} 月度量化考核表 说明")


def _write_rejected(book, f: _Formats, assessment: Assessment) -> None:
    sheet = book.add_worksheet("拒收")
    width_of = {"源文件": 22, "源行号": 7, "工单号": 18, "列": 12, "原值": 22, "原因": 40}
    widths = [width_of.get(label, 14) for label in REJECTED_COLUMNS]
    for j, label in enumerate(REJECTED_COLUMNS):
        sheet.set_column(j, j, widths[j])
    sheet.set_row(0, _height(list(zip(REJECTED_COLUMNS, widths))))
    for j, label in enumerate(REJECTED_COLUMNS):
        sheet.write_string(0, j, label, f.header)
    for i, record in enumerate(assessment.rejected[list(REJECTED_COLUMNS)].to_numpy(object), start=1):
        texts = ["" if value is None else str(value) for value in record]
        if any(text_width(t) > w - 1 for t, w in zip(texts, widths)):
            sheet.set_row(i, _height(list(zip(texts, widths))))
        for j, value in enumerate(record):
            if isinstance(value, (int, np.integer)):
                sheet.write_number(i, j, int(value), f.number)
            else:
                sheet.write_string(i, j, texts[j], f.text)
    print_ready(sheet, widths, header_rows=(0, 0), header=f"{month_label(assessment.month)} 拒收的工单与考核记录")
