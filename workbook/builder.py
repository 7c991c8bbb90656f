"""The assessment workbook (考核工作簿, .xlsm): built from a rulebook, the source of truth.

Sheets, in order:

* 说明 — what to do, step by step; the month (名称 考核月份, the only input), the rulebook
  (考核办法), versions, whether the rulebook can score, the stages assessed this month (with the
  start and end columns each time-limit row times), and the buttons;
* 工单 — the month's tickets, pasted under the template header (dropdowns: priority, area, unit);
* 台账 — one ``KH_`` array formula per column over 工单 (see :mod:`workbook.ledger_sheet`),
  with the verdicts and the per-ticket (marginal) amounts of ``kaohe ledger``;
* 考核表 — a block per unit: its 人员类别 (the most frequent of its tickets; only the items aimed
  at it apply), the rulebook's items, counts from 台账 (ticket-measured items) or typed in
  (yellow: items without a ticket measure, and measured items the tickets given cannot count —
  the export lacks the stage's end times, the flag column or the handling times — whose count
  ``kaohe monthly`` then takes from the findings), chosen values and repeats, ``KH_ITEM`` per item, category subtotals (each category
  loses at most its points) of the items in the score's unit, ``KH_TOTAL``, ``KH_GRADE``,
  ``KH_PASS``, and the items in another unit (元 beside 分) totalled apart, never in the score;
* 汇总 — the units (typed or filled), tickets, overdue, on-time rate (of the tickets timed at some
  stage), score, grade, pass, fee, ``KH_PAYMENT``, ``KH_RISK`` over the year's scores, the
  amounts totalled apart, the mean band points (平均{stage}得分); the row counts reconciled;
* 节假日 — the user's extra holidays and workdays (日期, 类型, 名称), loaded by 刷新节假日;
* 规则 — the rulebook as a table; ``xlwings.conf`` — so the cell functions load from ``udfs.excel``.

A rulebook that cannot score (no score rule or no items) says so (:func:`cannot_score_reason`) on 说明,
考核表 and 汇总 and shows no score; 汇总 then gives the tickets' timeliness only.

Every formula cell carries the value our engine gives for it (the ``KH_`` cells computed by
the same cell functions Excel calls), and the workbook is not marked for a full recalculation
on load, so the numbers show in Excel, WPS and LibreOffice before Python is attached.
Formula sheets are protected (no password unless given); input cells are unlocked and shaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

import udfs
from generators.monthly import cannot_score_reason
from generators.monthly_book import apart_label, band_label, total_label
from generators.tickets import _month_bounds, _priority_rules
from generators.workbooks import CREATED, OPTIONS, SafeWorkbook
from udfs import scoring
from udfs.calendar import USER_KINDS, WorkCalendar, china_calendar
from udfs.cellio import is_empty
from udfs.errors import KaoheError
from udfs.rulebook import CANONICAL_FIELDS, DEDUCTION_WORDS, Item, Rulebook, load
from udfs.scoring import _EPS
from udfs.scoring_cells import kh_grade, kh_item, kh_pass, kh_payment, kh_risk, kh_total

from . import vba
from .ledger_sheet import (
    FIELDS,
    FORMULA_LIMIT,
    LEDGER,
    TICKETS,
    LedgerPlan,
    areas,
    literal,
    number,
    serial,
    utf16_length,
)

DEFAULT_ROWS = 1000   # 工单 rows the 台账 formulas cover in an empty template
DEFAULT_UNITS = 6     # unit slots (汇总 rows, 考核表 blocks) in an empty template
SHEETS = ("说明", TICKETS, LEDGER, "考核表", "汇总", "节假日", "规则", vba.CONF_SHEET)
CALC_ID = 191029      # the calculation engine id Excel 2019/365 writes: no recalculation on load for it
MONTH_CELL, RULEBOOK_CELL = "$B$3", "$B$4"

# 考核表 columns
ID, NAME, CATEGORY, TEXT, PER, COUNT, CHOSEN, REPEATS, AMOUNT, ORIGIN, SOURCE = range(11)
ITEM_HEADERS = ("编号", "考核项", "类别", "考核标准", "每次分值", "次数", "选定值", "加倍次数", "扣分/加分", "次数来源", "出处")
ITEM_WIDTHS = (7, 20, 14, 44, 12, 9, 9, 9, 10, 22, 26)
# 汇总 columns
SUMMARY_HEADERS = ("序号", "考核单位", "工单数", "超时工单", "及时率", "扣分合计", "加分合计", "得分", "等级", "是否合格",
                   "代维费(元)", "应付金额(元)", "合同预警")
UNIT, TICKET_COUNT, OVERDUE, RATE, LOST, GAINED, SCORE, GRADE, PASSED, FEE, PAID, RISK = range(1, 13)
SUMMARY_TOP = 3       # 0-based row of the 汇总 header


@dataclasses.dataclass
class UnitInputs:
    """What an assessor types for one unit: per item id ``(count, chosen, repeats)``, the fee,
    and the earlier months' scores and on-time rates (index 0 = January)."""

    name: str
    items: dict[str, tuple[float, float, float]] = dataclasses.field(default_factory=dict)
    fee: float = math.nan
    scores: tuple = ()
    rates: tuple = ()


def inputs_from_assessment(assessment, history=None) -> list[UnitInputs]:
    """The 考核表 and 汇总 inputs that reproduce a :class:`generators.monthly.Assessment`: the
    findings' counts, chosen values and repeats (also of a ticket-measured item the export could
    not count, whose 考核表 count is then typed), and the fees, for its units in its order;
    with ``history`` (the 考核历史 table) also the same year's earlier scores and rates."""
    year = int(assessment.month[:4])
    units = []
    for unit in assessment.units:
        items = {line.item.id: (line.count, line.chosen, line.repeats) for line in unit.lines
                 if line.origin == "记录"}
        scores, rates = [None] * 12, [None] * 12
        if history is not None:
            mine = history[(history["考核办法"] == assessment.rulebook.name) & (history["考核单位"] == unit.unit)]
            for month, score, rate in zip(mine["月份"], mine["得分"], mine["及时率"]):
                if int(str(month)[:4]) == year and str(month)[:7] < assessment.month:
                    scores[int(str(month)[5:7]) - 1], rates[int(str(month)[5:7]) - 1] = score, rate
        units.append(UnitInputs(unit.unit, items, unit.fee, tuple(scores), tuple(rates)))
    return units


def _bounds(month: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The first moment of ``month`` and of the month after (the as-of of open tickets)."""
    bounds = _month_bounds(month)
    return (None, None) if bounds is None else tuple(b.astype(dt.datetime) for b in bounds)


def _cache(value):
    """A cell function's result as a cached value: None → "" (the formula shows nothing)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return serial(value)
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    return value


def _one(result):
    return _cache(np.asarray(result, dtype=object).reshape(-1)[0])


def _clip(text: str, limit: int = 255) -> str:
    """``text`` cut to ``limit`` UTF-16 units (Excel's limit for a validation message; 𠮷 counts 2),
    ending in … when cut."""
    if utf16_length(text) <= limit:
        return text
    kept, size = "", 0
    for character in text:
        size += utf16_length(character)
        if size > limit - 1:
            break
        kept += character
    return kept + "…"


def _listable(values) -> bool:
    """Whether ``values`` can stand in a dropdown's list: none holds a comma (the list separator) or
    a quote, and the list is within Excel's 255 characters."""
    return bool(values) and not any("," in v or '"' in v for v in values) and utf16_length(",".join(values)) <= 255


class _Formats:
    def __init__(self, book):
        add = book.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.stamp = add({"font_color": "#595959", "font_size": 9})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter",
                           "align": "center"})
        self.label = add({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        self.cell = add({"border": 1, "valign": "top"})
        self.wrap = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "valign": "top"})
        self.input_month = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm",
                                "bold": True})
        self.input_date = add({"bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm-dd"})
        self.input_time = add({"locked": False, "num_format": "yyyy-mm-dd hh:mm:ss"})
        self.input_text = add({"locked": False})
        self.input_money = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "#,##0.00"})
        self.input_rate = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "0.0%"})
        self.fixed = add({"border": 1, "bg_color": "#D9D9D9"})
        self.amount = add({"border": 1, "bold": True, "valign": "top", "num_format": "0.##"})
        self.value = add({"border": 1, "bold": True, "num_format": "0.##"})
        self.money = add({"border": 1, "bold": True, "num_format": "#,##0.00"})
        self.rate = add({"border": 1, "num_format": "0.0%"})
        self.time = add({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.hours = add({"num_format": "0.00"})
        self.number = add({"num_format": "0"})
        self.count = add({"num_format": "General;-General;;@"})  # zeros (tickets an item does not count) shown blank
        self.text = add({})
        self.warning = add({"border": 1, "text_wrap": True, "font_color": "#C00000", "valign": "top"})
        self.alarm = add({"border": 1, "bold": True, "text_wrap": True, "font_color": "#C00000", "font_size": 12,
                          "bg_color": "#FCE4D6", "valign": "top"})
        self.banner = add({"bold": True, "font_size": 14, "font_color": "#C00000"})
        self.subtotal = add({"border": 1, "bold": True, "bg_color": "#E2EFDA", "num_format": "0.##"})


# -- the builder -------------------------------------------------------------------------------------
def rulebook_reference(rulebook: Rulebook) -> str:
    """What the 考核办法 cell holds: the rulebook's name when that name finds this very file
    (an installed rulebook), else the file's absolute path (e.g. a contract's own file)."""
    from udfs.rulebook import find

    try:
        if Path(find(rulebook.name)).resolve() == Path(rulebook.path).resolve():
            return rulebook.name
    except KaoheError:
        pass
    return str(Path(rulebook.path).resolve())


def build_workbook(rulebook: Rulebook | str | Path, path, *, month: str | None = None,
                   tickets: dict[str, Sequence] | None = None, units: Sequence[UnitInputs | str] = (),
                   rows: int | None = None, holidays: Sequence[Sequence] = (), calendar: WorkCalendar | None = None,
                   password: str = "", buttons: bool = True) -> Path:
    """Write the assessment workbook for ``rulebook`` to ``path`` (.xlsm) and return the path.

    ``month`` (``YYYY-MM``) fills 考核月份 (blank otherwise, for the assessor to type);
    ``tickets`` maps canonical fields to the 工单 rows' raw cell values (see
    :func:`workbook.tickets_from_export`); ``units`` names the units (or gives their inputs,
    :class:`UnitInputs`), in 汇总 order; ``rows`` is how many 工单 rows the 台账 formulas cover
    (default :data:`DEFAULT_ROWS`, at least the tickets given); ``holidays`` the 节假日 rows
    (日期, 类型, 名称); ``calendar`` the calendar whose version the file states.
    """
    book_rules = rulebook if isinstance(rulebook, Rulebook) else load(rulebook)
    path = Path(path)
    if path.suffix.lower() != ".xlsm":
        raise ValueError(f"the assessment workbook must be .xlsm (it carries macros): {path}")
    tickets = {f: np.asarray(list(v), dtype=object) for f, v in (tickets or {}).items()}
    given = max((len(v) for v in tickets.values()), default=0)
    capacity = max(int(rows or DEFAULT_ROWS), given)
    tickets = {f: np.concatenate([v, np.full(capacity - len(v), None, dtype=object)]) for f, v in tickets.items()}
    units = [u if isinstance(u, UnitInputs) else UnitInputs(str(u)) for u in units]
    units += [UnitInputs("") for _ in range(max(0, DEFAULT_UNITS - len(units)))]
    calendar = calendar or china_calendar()

    from macros.jobs import holiday_entries_from
    from udfs import timeliness_cells

    entries = holiday_entries_from([["日期", "类型", "名称"], *holidays]) if holidays else ()
    before = timeliness_cells._user_entries
    timeliness_cells.use_holidays(entries)  # the cached values count with the 节假日 sheet, as 刷新节假日 makes Excel do
    try:
        plan = LedgerPlan(book_rules, rulebook_reference(book_rules), tickets, capacity, *_bounds(month))
        writer = _Writer(book_rules, path, plan, units, month, calendar, password)
        writer.write(holidays, buttons)
    finally:
        timeliness_cells.use_holidays(before)
    return path


class _Writer:
    def __init__(self, rulebook: Rulebook, path: Path, plan: LedgerPlan, units: list[UnitInputs], month, calendar,
                 password: str):
        self.rulebook, self.path, self.plan, self.units, self.month = rulebook, path, plan, units, month
        self.reference = plan.reference  # the 考核办法 cell: what the cell functions load
        self.calendar, self.password = calendar, password
        # written whole or not at all: close() writes a temporary file beside ``path`` and puts it in
        # place; a read-only, locked or missing target is a KaoheError naming it (generators.safe_files)
        self.book = book = SafeWorkbook(str(path), {**OPTIONS, "constant_memory": False})
        stamp = f"考核办法 {rulebook.name} {rulebook.version}; 日历 {calendar.version}; 程序 kaohe {udfs.__version__}"
        book.set_properties({"author": "kaohe", "title": f"{rulebook.title} 考核工作簿", "subject": rulebook.title,
                             "comments": stamp, "created": CREATED})
        book.set_calc_mode("auto", calc_id=CALC_ID)
        book.calc_on_load = False  # keep the cached values: no full recalculation (and #NAME?) on open
        self.stamp = stamp
        self.f = _Formats(book)
        self.scored = rulebook.can_score  # a score rule and items: else no score anywhere, said loudly
        self.score_unit = rulebook.score_unit
        # items in another unit than the score's (元 beside 分) never enter the score: they total apart
        self.aparts = list(dict.fromkeys(i.unit for i in rulebook.items if i.unit != self.score_unit)) if self.scored else []
        self.block_cells = {}  # unit slot → {label: "考核表!$F$9"}
        self.results = []      # unit slot → {label: cached value}

    def write(self, holidays, buttons: bool) -> None:
        book = self.book
        vba.attach_standalone_project(book)
        sheets = {name: book.add_worksheet(name) for name in SHEETS[:-1]}
        for name, formula in self._names().items():
            book.define_name(name, formula)
        self._tickets(sheets[TICKETS])
        self._ledger(sheets[LEDGER])
        if self.scored:
            self._scoring(sheets["考核表"])
        else:
            self._cannot_score(sheets["考核表"])
        self._summary(sheets["汇总"])
        self._holidays(sheets["节假日"], holidays)
        self._rules(sheets["规则"])
        self._notes(sheets["说明"], buttons)
        vba.add_xlwings_conf(book)
        sheets["说明"].activate()
        self._check_formulas(sheets.values())
        book.close()

    def _check_formulas(self, sheets) -> None:
        """Refuse a formula longer than Excel takes (a rulebook of very many or very long names),
        naming the cell, rather than write a file Excel repairs by dropping it."""
        for sheet in sheets:
            for row, cells in getattr(sheet, "table", {}).items():
                for col, cell in cells.items():
                    formula = getattr(cell, "formula", None)
                    if isinstance(formula, str) and len(formula) > FORMULA_LIMIT:
                        raise KaoheError(
                            f"考核办法 {self.rulebook.name}: “{sheet.name}”表 {xl_rowcol_to_cell(row, col)} 的公式有 "
                            f"{len(formula)} 个字符，超过 Excel 的上限 {FORMULA_LIMIT}(考核项、人员类别或时限表的取值过多过长)",
                            f"rulebook {self.rulebook.name}: the formula in {sheet.name}!{xl_rowcol_to_cell(row, col)} "
                            f"would have {len(formula)} characters, beyond Excel's {FORMULA_LIMIT}")

    # -- defined names ---------------------------------------------------------------------------------
    def _names(self) -> dict[str, str]:
        names = {"考核月份": f"=说明!{MONTH_CELL}", "考核办法": f"=说明!{RULEBOOK_CELL}",
                 "月初": "=IF(ISNUMBER(考核月份),DATE(YEAR(考核月份),MONTH(考核月份),1),\"\")",
                 "统计截止": "=IF(ISNUMBER(考核月份),DATE(YEAR(考核月份),MONTH(考核月份)+1,1),\"\")",
                 "有回复时间": f"=COUNTA({self.plan.ticket_range('replied_at')})>0"}
        for stage in self.plan.stages:
            names[self.plan.enabled_ref(stage)] = self.plan.enabled_name(stage)
        for stage in self.plan.band_stages():
            names[self.plan.band_ref(stage)] = self.plan.band_enabled_name(stage)
        names.update(self.plan.names())
        top = SUMMARY_TOP + 2
        col = xl_col_to_name(UNIT)
        names["单位名单"] = f"=汇总!${col}${top}:${col}${top + len(self.units) - 1}"
        return names

    # -- 工单 ----------------------------------------------------------------------------------------------
    def _tickets(self, sheet) -> None:
        f, plan = self.f, self.plan
        for j, field in enumerate(FIELDS):
            sheet.write_string(0, j, CANONICAL_FIELDS[field], f.header)
            sheet.set_column(j, j, 19 if field.endswith("_at") else 30 if field in ("content", "address") else 12,
                             f.input_time if field.endswith("_at") else f.input_text)
        for i in range(plan.rows):
            for j, field in enumerate(FIELDS):
                value = plan.raw[field][i]
                if is_empty(value):
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(i + 1, j, value, f.input_time)
                elif isinstance(value, bool):
                    sheet.write_boolean(i + 1, j, value, f.input_text)
                elif isinstance(value, (int, float)):
                    sheet.write_number(i + 1, j, float(value), f.input_time if field.endswith("_at") else f.input_text)
                else:
                    sheet.write_string(i + 1, j, str(value), f.input_text)
        last = plan.rows
        allowed, _ = _priority_rules(self.rulebook)
        lists = {"priority": allowed or ("特急", "紧急", "一般"), "area": areas(self.rulebook)}
        for field, values in lists.items():
            if not _listable(values):  # a dropdown cannot hold them: none (状态 still names an unknown priority)
                continue
            j = FIELDS.index(field)
            sheet.data_validation(1, j, last, j, {
                "validate": "list", "source": list(values), "error_type": "warning",
                "error_title": CANONICAL_FIELDS[field],
                "error_message": _clip(f"{CANONICAL_FIELDS[field]}应为: {'/'.join(values)}(考核办法 {self.rulebook.name})")})
        j = FIELDS.index("unit")  # 汇总 names the units (scored or not)
        sheet.data_validation(1, j, last, j, {
            "validate": "list", "source": "=单位名单", "error_type": "warning", "error_title": "考核单位",
            "error_message": "考核单位不在“汇总”表的单位名单中，这些工单不计入任何单位"})
        sheet.freeze_panes(1, 1)
        sheet.autofilter(0, 0, last, len(FIELDS) - 1)

    # -- 台账 ----------------------------------------------------------------------------------------------
    def _ledger(self, sheet) -> None:
        f, plan = self.f, self.plan
        styles = {"time": f.time, "hours": f.hours, "number": f.number, "text": f.text, "count": f.count,
                  "amount": f.text}
        last = plan.rows
        for j, column in enumerate(plan.columns):
            sheet.write_string(0, j, column.header, f.header)
            sheet.set_column(j, j, 19 if column.kind == "time" else 28 if column.header == "状态" else 10, None,
                             {"hidden": column.hidden})
            style = styles[column.kind]
            values = column.values
            if column.formula is None:
                for i, value in enumerate(values):
                    sheet.write_number(i + 1, j, float(value), style)
                continue
            sheet.write_array_formula(1, j, last, j, "{=" + column.formula + "}", style, _cache(values[0]))
            for i in range(1, len(values)):  # the rest of the array's range (xlsxwriter pads it with 0)
                value = _cache(values[i])
                if value == "":
                    sheet.write_blank(i + 1, j, None, style)
                elif isinstance(value, str):
                    sheet.write_string(i + 1, j, value, style)
                else:
                    sheet.write_number(i + 1, j, float(value), style)
        state = [c.header for c in plan.columns].index("状态")
        sheet.conditional_format(1, 0, last, len(plan.columns) - 1, {
            "type": "formula", "criteria": f"=LEFT(${xl_col_to_name(state)}2,1)=\"#\"",
            "format": self.book.add_format({"bg_color": "#FCE4D6"})})
        sheet.freeze_panes(1, 2)
        sheet.autofilter(0, 0, last, len(plan.columns) - 1)
        sheet.protect(self.password, {"autofilter": True, "sort": False, "format_columns": True})

    # -- 考核表 --------------------------------------------------------------------------------------------
    def _scoring(self, sheet) -> None:
        f, book, plan = self.f, self.rulebook, self.plan
        for j, width in enumerate(ITEM_WIDTHS):
            sheet.set_column(j, j, width)
        sheet.write_string(0, 0, f"{book.title} 月度量化考核表", f.title)
        note = "每类最多扣该类分值"
        if self.aparts:
            note += f"；按{'、'.join(self.aparts)}计的考核项另计合计，不计入得分({self.score_unit})"
        if len(book.parties) > 1:
            note += "；各项只考核所注人员类别(单位的人员类别取其工单最多的“人员类别”)"
        sheet.write_string(1, 0, f"{self.stamp} ｜ 黄色单元格可填写；由工单计算的次数来自“台账”；{note}", f.stamp)
        row = 3
        counted, names = plan.counted(), plan.units()
        for slot, unit in enumerate(self.units):
            row = self._block(sheet, slot, unit, row, counted, names) + 2
        sheet.freeze_panes(3, 0)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.protect(self.password, {"format_columns": True, "format_rows": True})

    def _cannot_score(self, sheet) -> None:
        """考核表 of a rulebook that cannot score: says so, loudly, and gives no score."""
        f, book = self.f, self.rulebook
        sheet.set_column(0, 0, 120)
        sheet.write_string(0, 0, f"{book.title} 月度量化考核表", f.title)
        sheet.write_string(1, 0, self.stamp, f.stamp)
        sheet.write_string(3, 0, f"{cannot_score_reason(book)}。", f.banner)
        why = "没有计分规则" if book.score is None else "没有考核项"
        timed = "；“台账”照常计算时限，“汇总”给出各单位的工单数、超时工单和及时率" if self.plan.stages else ""
        sheet.write_string(4, 0, f"考核办法“{book.title}”({book.name}){why}: 本表不计分，不给得分、等级和应付金额{timed}。",
                           f.stamp)
        sheet.protect(self.password, {"format_columns": True, "format_rows": True})

    def _block(self, sheet, slot: int, unit: UnitInputs, top: int, counted, unit_names) -> int:
        f, book = self.f, self.rulebook
        cell = xl_rowcol_to_cell
        summary_unit = f"汇总!{cell(SUMMARY_TOP + 1 + slot, UNIT, True, True)}"
        name_cell = cell(top, NAME, True, True)
        party_cell = cell(top, COUNT, True, True)
        sheet.write_string(top, ID, "考核单位", f.label)
        sheet.write_formula(top, NAME, f"=IF({summary_unit}=\"\",\"\",{summary_unit})", f.value, unit.name)
        sheet.write_string(top, CATEGORY, f"(在“汇总”表第{SUMMARY_TOP + 2 + slot}行填写单位名称)", f.stamp)
        for j, header in enumerate(ITEM_HEADERS):
            sheet.write_string(top + 1, j, header, f.header)
        mine = counted & (unit_names == unit.name) if unit.name else np.zeros(len(counted), bool)
        at = {item.id: top + 2 + k for k, item in enumerate(book.items)}
        party = self._party(sheet, top, name_cell, unit, mine, at)
        amounts: dict[str, float] = {}
        for item in book.items:
            amounts[item.id] = self._item_row(sheet, item, at[item.id], name_cell, party_cell, party, unit, mine, at)
        row = top + 2 + len(book.items)
        # category subtotals: one row per category, deductions and bonuses in two contiguous columns;
        # only the items in the score's unit (the others are totalled apart below)
        scoring_items = [i for i in book.items if i.unit == self.score_unit]
        sheet.write_string(row, NAME, "分类小计", f.header)
        for j, header in ((PER, "本类分值"), (COUNT, "扣分小计"), (CHOSEN, "加分小计")):
            sheet.write_string(row, j, header, f.header)
        row += 1
        first_sub = row
        cached_lost, cached_gained = [], []
        for key in dict.fromkeys(i.category for i in scoring_items) or (None,):  # one row even without items
            category = book.category(key) if key is not None else None
            items = [i for i in scoring_items if i.category == key]
            sheet.write_string(row, NAME, f"{category.id}、{category.name}" if category else "其他", f.label)
            if category and category.points is not None:
                sheet.write_number(row, PER, category.points, f.cell)
            else:
                sheet.write_blank(row, PER, None, f.cell)
            lost_cells = [cell(at[i.id], AMOUNT) for i in items if not i.bonus]
            gained_cells = [cell(at[i.id], AMOUNT) for i in items if i.bonus]
            lost = scoring.lost(book, [amounts[i.id] for i in items if not i.bonus],
                                [key] * len(lost_cells) if key is not None else None)
            gained = float(np.nansum([amounts[i.id] for i in items if i.bonus] or [0.0]))
            formula = f"SUM({','.join(lost_cells)})" if lost_cells else "0"
            if category and category.points is not None and lost_cells:
                formula = f"MIN({number(category.points)},{formula})"
            sheet.write_formula(row, COUNT, "=" + formula, f.subtotal, lost)
            sheet.write_formula(row, CHOSEN, f"=SUM({','.join(gained_cells)})" if gained_cells else "=0", f.subtotal,
                                gained)
            cached_lost.append(lost)
            cached_gained.append(gained)
            row += 1
        lost_range = f"{cell(first_sub, COUNT, True, True)}:{cell(row - 1, COUNT, True, True)}"
        gained_range = f"{cell(first_sub, CHOSEN, True, True)}:{cell(row - 1, CHOSEN, True, True)}"
        apart_rows = {}
        for a in self.aparts:  # 元 beside a score in 分 (or the reverse): totalled apart, never in the score
            items = [i for i in book.items if i.unit == a]
            sheet.write_string(row, NAME, f"另计{DEDUCTION_WORDS[a]}({a}，不计入得分)", f.label)
            sheet.write_blank(row, PER, None, f.cell)
            for j, bonus in ((COUNT, False), (CHOSEN, True)):
                cells = [cell(at[i.id], AMOUNT) for i in items if i.bonus == bonus]
                value = float(np.nansum([amounts[i.id] for i in items if i.bonus == bonus] or [0.0]))
                sheet.write_formula(row, j, f"=SUM({','.join(cells)})" if cells else "=0", f.subtotal, value)
            apart_rows[a] = (row, float(np.nansum([(-1 if i.bonus else 1) * amounts[i.id] for i in items] or [0.0])))
            row += 1
        row += 1
        has_unit = bool(unit.name)

        def only(parties) -> tuple[str, bool]:
            """Excel: "" unless the unit is named and its party is one of ``parties``; and whether it is."""
            listed = ",".join(f"{party_cell}={literal(p)}" for p in sorted(parties))
            condition = f"OR({name_cell}=\"\",NOT(OR({listed})))" if parties else "TRUE"
            return condition, has_unit and party in parties

        # a unit with no item in the score's unit (自维人员 under a 元 score) has no score
        off, scored = only({book.party_of(i) for i in scoring_items})
        bonus = sum(cached_gained)
        bonus_formula = f"SUM({gained_range})"
        if book.score.bonus_cap is not None:
            bonus, bonus_formula = min(bonus, book.score.bonus_cap), f"MIN({number(book.score.bonus_cap)},{bonus_formula})"
        score = _one(kh_total(self.reference, np.array(cached_lost, dtype=object).reshape(-1, 1),
                              np.array(cached_gained, dtype=object).reshape(-1, 1))) if scored else ""
        refs = {}
        lines = [("扣分合计", f"=IF({off},\"\",SUM({lost_range}))", sum(cached_lost) if scored else ""),
                 ("加分合计", f"=IF({off},\"\",{bonus_formula})", bonus if scored else ""),
                 ("得分", f"=IF({off},\"\",KH_TOTAL(考核办法,{lost_range},{gained_range}))", score)]
        if book.grade_bands:
            lines.append(("等级", None, _one(kh_grade(self.reference, score)) if scored else ""))
        if book.score.pass_mark is not None:
            lines.append(("是否合格", None, _one(kh_pass(self.reference, score)) if scored else ""))
        for a, (subtotal, value) in apart_rows.items():
            condition, applies = only({book.party_of(i) for i in book.items if i.unit == a})
            lines.append((apart_label(a), f"=IF({condition},\"\",{cell(subtotal, COUNT)}-{cell(subtotal, CHOSEN)})",
                          value if applies else ""))
        for label, formula, cached in lines:
            refs[label] = cell(row, COUNT, True, True)
            if formula is None:
                function = "KH_GRADE" if label == "等级" else "KH_PASS"
                formula = f"=IF({refs['得分']}=\"\",\"\",{function}(考核办法,{refs['得分']}))"
            sheet.merge_range(row, ID, row, PER, total_label(book, label) if label in ("扣分合计", "加分合计", "得分")
                              else label, f.label)
            sheet.write_formula(row, COUNT, formula, f.value, cached)
            row += 1
        self.block_cells[slot] = {label: f"考核表!{ref}" for label, ref in refs.items()}
        self.results.append({label: value for label, _, value in lines})
        return row

    def _party(self, sheet, top: int, name_cell: str, unit: UnitInputs, mine: np.ndarray, at: dict) -> str:
        """The unit's 人员类别 (written beside its name; the items of other parties do not apply to it):
        the most frequent of its counted tickets (ties: the first in the sheet, as ``kaohe monthly``),
        else the party of the first typed item with a count, else the rulebook's own party."""
        f, book, plan = self.f, self.rulebook, self.plan
        cell = xl_rowcol_to_cell
        P = plan.range(CANONICAL_FIELDS["party"])
        m = f"({plan.range('考核单位')}={name_cell})*({plan.range('入账')}=1)"
        counts = f"{m}*MMULT(({P}=TRANSPOSE({P}))*TRANSPOSE({m}),ROW({P})^0)"
        typed = [i for i in book.items if self._typed(i)]
        last = max((k for k, i in enumerate(typed) if book.party_of(i) != book.party), default=-1)
        fallback = literal(book.party)
        for item in reversed(typed[:last + 1]):
            fallback = f"IF(N({cell(at[item.id], COUNT)})>0,{literal(book.party_of(item))},{fallback})"
        formula = (f"{{=IF({name_cell}=\"\",\"\",IF(SUM({m})>0,INDEX({P},MATCH(MAX({counts}),{counts},0)),"
                   f"{fallback}))}}")
        party = ""
        if unit.name:
            parties = plan.column(CANONICAL_FIELDS["party"]).values[mine]  # each ticket carries its unit's
            if len(parties):
                party = parties[0]
            else:
                party = next((book.party_of(i) for i in typed
                              if not is_empty(unit.items.get(i.id, (math.nan,))[0]) and unit.items[i.id][0] > 0),
                             book.party)
        sheet.write_string(top, PER, "人员类别", f.label)
        sheet.write_array_formula(top, COUNT, top, COUNT, formula, f.value, party)
        return party

    def _item_row(self, sheet, item: Item, row: int, name_cell: str, party_cell: str, party: str, unit: UnitInputs,
                  mine: np.ndarray, at: dict) -> float:
        f, book = self.f, self.rulebook
        cell = xl_rowcol_to_cell
        sheet.write_string(row, ID, item.id, f.cell)
        sheet.write_string(row, NAME, item.name + ("(加分)" if item.bonus else ""), f.wrap)
        category = book.category(item.category) if item.category is not None else None
        sheet.write_string(row, CATEGORY, category.name if category else "", f.wrap)
        sheet.write_string(row, TEXT, item.text, f.wrap)
        sheet.write_string(row, PER, scoring.range_text(item), f.wrap)
        has_unit = bool(unit.name)
        aimed = book.party_of(item)
        applies = has_unit and party == aimed
        elsewhere = f"{party_cell}<>{literal(aimed)}"  # the unit is of another party: the item does not apply
        count, chosen, repeats = unit.items.get(item.id, (math.nan, math.nan, math.nan))
        typed = self._typed(item)
        if not typed:
            formula, count, origin = self._measure(item, name_cell, mine, unit, at)
            sheet.write_formula(row, COUNT, f"=IF(OR({name_cell}=\"\",{elsewhere}),\"\",{formula})", f.cell,
                                count if applies else "")
            count = count if applies else math.nan
        else:
            # typed by the assessor: an item without a ticket measure, or one the tickets given cannot
            # count (the export lacks its column): kaohe monthly then takes the count from the findings
            origin = "填写" if not item.measure else f"填写(导出中没有{self.plan.missing_for(item)}，不能由工单计算)"
            count = count if not is_empty(count) else (0.0 if has_unit else math.nan)
            sheet.write(row, COUNT, "" if is_empty(count) else count, f.input)
            sheet.data_validation(row, COUNT, row, COUNT, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True, "error_type": "warning",
                "error_title": "次数", "error_message": _clip(f"“{item.name}”的次数应为不小于0的数")})
        if len(book.parties) > 1:
            origin += f"；只考核{aimed}"
        if item.unit != self.score_unit:
            origin += f"；按{item.unit}另计，不计入得分"
        if item.ranged:
            sheet.write(row, CHOSEN, "" if is_empty(chosen) else chosen, f.input)
            lo, hi = item.points
            bounds = ({"criteria": "between", "minimum": lo, "maximum": hi} if not math.isinf(hi)
                      else {"criteria": ">=", "value": lo})
            sheet.data_validation(row, CHOSEN, row, CHOSEN, {
                "validate": "decimal", **bounds, "ignore_blank": True, "error_type": "warning", "error_title": "选定值",
                "error_message": _clip(f"“{item.name}”的选定值应在{scoring.range_text(item)}范围内"),
                "input_title": "选定值", "input_message": f"每次的分值；空白按最低值{lo:g}计"})
        else:
            sheet.write_blank(row, CHOSEN, None, f.fixed)
            chosen = math.nan
        if item.doubles:
            sheet.write(row, REPEATS, "" if is_empty(repeats) or not repeats else repeats, f.input)
            sheet.data_validation(row, REPEATS, row, REPEATS, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True, "error_type": "warning",
                "error_title": "加倍次数", "error_message": "加倍次数应为不小于0的数，且不多于次数"})
        else:
            sheet.write_blank(row, REPEATS, None, f.fixed)
            repeats = math.nan
        if is_empty(repeats) or not repeats:
            repeats = math.nan
        refs = [cell(row, j) for j in (COUNT, CHOSEN, REPEATS)]
        if typed:  # a typed bonus voided by findings (a measured one: in its count)
            refs[0], count, origin = self._voided(item, refs[0], count, origin, unit, at)
        args = [None if is_empty(v) else v for v in (count, chosen, repeats)]
        amount = _one(kh_item(self.reference, item.id, *args)) if applies or not typed else ""
        formula = f"KH_ITEM(考核办法,{literal(item.id)},{','.join(refs)})"
        if typed:  # a measured item's count is already empty where the item does not apply
            formula = f"IF({elsewhere},\"\",{formula})"
        sheet.write_formula(row, AMOUNT, "=" + formula, f.amount, amount)
        sheet.write_string(row, ORIGIN, origin, f.wrap)
        sheet.write_string(row, SOURCE, item.source, f.wrap)
        return amount if isinstance(amount, float) else math.nan

    def _typed(self, item: Item) -> bool:
        """Whether 考核表 takes the item's count from the assessor (a yellow input): an item without a
        ticket measure, or one the tickets given cannot count (:meth:`LedgerPlan.measurable`)."""
        return not self.plan.measurable(item)

    def _measure(self, item: Item, unit_cell: str, mine: np.ndarray, unit: UnitInputs, at: dict) -> tuple[str, float, str]:
        """The Excel count of a ticket-measured item for the unit in ``unit_cell``, its cached
        value for the unit's counted rows ``mine``, and a note of what is counted. Only the
        unit's tickets of the item's party (人员类别) count, as in ``kaohe monthly``; a bonus with
        ``void_if`` counts 0 when the unit has findings for one of those items."""
        plan, book = self.plan, self.rulebook
        kind, _, argument = item.measure.partition(":")
        party = book.party_of(item)
        P = plan.range(CANONICAL_FIELDS["party"])
        rows = f"({plan.range('考核单位')}={unit_cell})*({plan.range('入账')}=1)*({P}={literal(party)})"
        if kind in ("overdue", "none_overdue"):
            stages = argument.split("|")
            overdue = f"SUMPRODUCT({rows}*(({plan.overdue_expression(stages)})>0))"
            flags = plan.overdue_flags(stages)[mine]
            if kind == "overdue":
                formula, value, note = overdue, float(flags.sum()), f"台账: {argument.replace('|', '或')}超时张数"
            else:  # 1 for a month without an overdue ticket; 0 when the stage is not timed (nothing to judge by)
                # as kaohe monthly: some ticket of the unit must have been timed at the stage
                timed = [s for s in stages if s in plan.stages]
                terms = "+".join(f"ISNUMBER({plan.range(f'{s}截止')})*{plan.enabled_ref(s)}" for s in timed) or "0"
                judged = f"SUMPRODUCT({rows}*(({terms})>0))"
                formula = f"IF({judged}=0,0,IF({overdue}=0,1,0))"
                deadlines = np.zeros(plan.rows, bool)
                for s in timed:
                    if plan.enabled[s]:
                        deadlines |= np.array([isinstance(v, dt.datetime) for v in plan.column(f"{s}截止").values])
                value = float((deadlines & mine).any() and not flags.any())
                note = f"台账: 本月{argument}无超时为1(本单位没有计时的工单为0)"
        elif kind == "avg_hours_over":
            limit = float(argument)
            keys = f"{plan.range('考核单位')},{unit_cell},{plan.range('入账')},1,{P},{literal(party)}"
            finished = f"COUNTIFS({keys},{plan.range('处理时长')},\">=0\")"
            total = f"SUMIFS({plan.range('处理时长')},{keys})"
            hours = [h for h in plan.column("处理时长").values[mine] if isinstance(h, (int, float))]
            value = float(scoring.measured(book, item.id, hours))
            formula = f"IF({finished}=0,0,IF({total}/{finished}>{limit + _EPS!r},1,0))"
            note = f"台账: 平均处理时长超过{argument}小时为1"
        else:
            label = CANONICAL_FIELDS[argument]
            flags = plan.column(f"{label}标记").values[mine]
            formula, value, note = (f"SUMPRODUCT({rows}*{plan.range(f'{label}标记')})", float(sum(flags)),
                                    f"台账: “{label}”为是的张数")
        return self._voided(item, formula, value, note, unit, at)

    def _voided(self, item: Item, count: str, value: float, note: str, unit: UnitInputs, at: dict):
        """A bonus's count with ``void_if``: 0 when the unit has a typed count for one of the items
        that void it (``(formula, cached value, note)``, unchanged for other items)."""
        book = self.rulebook
        voiding = [key for key in item.void_if if self._typed(book.item(key))
                   and book.party_of(book.item(key)) == book.party_of(item)]
        if not voiding:
            return count, value, note
        found = [unit.items.get(key, (math.nan,))[0] for key in voiding]
        if value and any(not is_empty(c) and c > 0 for c in found):
            value = 0.0
        cells = ",".join(xl_rowcol_to_cell(at[key], COUNT) for key in voiding)
        return (f"IF(SUM({cells})>0,0,{count})", value,
                note + "；本月有" + "、".join(f"“{book.item(key).name}”" for key in voiding) + "的记录时不奖励")

    # -- 汇总 ----------------------------------------------------------------------------------------------
    def _summary(self, sheet) -> None:
        f, book, plan = self.f, self.rulebook, self.plan
        cell = xl_rowcol_to_cell
        sheet.write_string(0, 0, f"{book.title} 月度考核汇总", f.title)
        sheet.write_string(1, 0, f"{self.stamp} ｜ 黄色单元格可填写: 考核单位、代维费、本年度以前各月的得分与及时率", f.stamp)
        if not self.scored:
            sheet.write_string(2, 0, f"{cannot_score_reason(self.rulebook)}。", f.banner)
        aparts = [apart_label(a) for a in self.aparts]
        bands = list(plan.band_stages())  # 平均{stage}得分: the mean of the unit's per-ticket band points
        for j, (header, width) in enumerate(zip(SUMMARY_HEADERS + tuple(aparts) + tuple(map(band_label, bands)),
                                                (5, 16, 8, 9, 8, 9, 9, 8, 8, 9, 13, 14, 40)
                                                + (12,) * (len(aparts) + len(bands)))):
            column = j if j <= RISK else RISK + 1 + (j - RISK - 1)
            if self.score_unit == "元":  # a score in money: as the monthly table heads it
                header = total_label(book, header)
            sheet.write_string(SUMMARY_TOP, column, header, f.header)
            sheet.set_column(column, column, width)
        history = bool(book.risks) and self.scored
        months = range(1, 13)
        first_score = RISK + 2 + len(aparts) + len(bands)
        first_rate, first_helper = first_score + 12, first_score + 24
        if history:
            for k in months:
                sheet.write_string(SUMMARY_TOP, first_score + k - 1, f"{k}月得分", f.header)
                sheet.write_string(SUMMARY_TOP, first_rate + k - 1, f"{k}月及时率", f.header)
                sheet.write_string(SUMMARY_TOP, first_helper + k - 1, f"预警得分{k}", f.header)
                sheet.write_string(SUMMARY_TOP, first_helper + 12 + k - 1, f"预警及时率{k}", f.header)
            sheet.set_column(first_score, first_rate + 11, 8)
            sheet.set_column(first_helper, first_helper + 23, 8, None, {"hidden": True})
        counted, names = plan.counted(), plan.units()
        overdue, timed = (plan.column(header).values == 1 for header in ("超时", "计时"))
        this_month = int(self.month[5:7]) if self.month else None
        for slot, unit in enumerate(self.units):
            r = SUMMARY_TOP + 1 + slot
            u = cell(r, UNIT)
            has = bool(unit.name)
            result = self.results[slot] if self.scored else {}
            block = self.block_cells.get(slot, {})
            mine = counted & (names == unit.name) if has else np.zeros(len(counted), bool)
            n, late, assessed = int(mine.sum()), int((overdue & mine).sum()), int((timed & mine).sum())
            rows = f"({plan.range('考核单位')}={u})*({plan.range('入账')}=1)"
            sheet.write_number(r, 0, slot + 1, f.cell)
            sheet.write(r, UNIT, unit.name, f.input)
            sheet.write_formula(r, TICKET_COUNT, f"=IF({u}=\"\",\"\",SUMPRODUCT({rows}))", f.cell, n if has else "")
            d = cell(r, OVERDUE)
            rate = (assessed - late) / assessed if has and assessed else ""
            if plan.stages:  # the share of the tickets timed at some stage that were on time ("" when none was)
                a = f"SUMPRODUCT({rows}*{plan.range('计时')})"
                sheet.write_formula(r, OVERDUE, f"=IF({u}=\"\",\"\",IF({a}=0,\"\",SUMPRODUCT({rows}*{plan.range('超时')})))",
                                    f.cell, late if has and assessed else "")
                sheet.write_formula(r, RATE, f"=IF({u}=\"\",\"\",IF({a}=0,\"\",({a}-{d})/{a}))", f.rate, rate)
            else:  # nothing is timed: no 超时, no 及时率
                sheet.write_blank(r, OVERDUE, None, f.fixed)
                sheet.write_blank(r, RATE, None, f.fixed)
            for j, label in ((LOST, "扣分合计"), (GAINED, "加分合计"), (SCORE, "得分"), (GRADE, "等级"), (PASSED, "是否合格")):
                if label in block:
                    sheet.write_formula(r, j, f"=IF({u}=\"\",\"\",{block[label]})", f.value, result.get(label, ""))
                else:
                    sheet.write_blank(r, j, None, f.fixed)
            for k, label in enumerate(aparts):
                sheet.write_formula(r, RISK + 1 + k, f"=IF({u}=\"\",\"\",{block[label]})", f.money,
                                    result.get(label, ""))
            for k, stage in enumerate(bands):
                points = [v for v in plan.column(f"{stage}得分").values[mine] if isinstance(v, (int, float))]
                sheet.write_formula(r, RISK + 1 + len(aparts) + k, (
                    f"=IF({u}=\"\",\"\",IFERROR(AVERAGEIFS({plan.range(f'{stage}得分')},{plan.range('考核单位')},{u},{plan.range('入账')},1),\"\"))"),
                    f.value, float(np.mean(points)) if points else "")
            if self.scored:
                sheet.write(r, FEE, "" if is_empty(unit.fee) else unit.fee, f.input_money)
                sheet.data_validation(r, FEE, r, FEE, {"validate": "decimal", "criteria": ">=", "value": 0,
                                                       "ignore_blank": True, "error_type": "warning",
                                                       "error_title": "代维费", "error_message": "代维费应为不小于0的金额(元)"})
            else:
                sheet.write_blank(r, FEE, None, f.fixed)
            score = result.get("得分", "")
            if book.payment is not None and self.scored:
                fee, s = cell(r, FEE), cell(r, SCORE)
                paid = (_one(kh_payment(self.reference, unit.fee, score)) if has and not is_empty(unit.fee)
                        and not is_empty(score) else "")
                sheet.write_formula(r, PAID, f"=IF(OR({fee}=\"\",{s}=\"\"),\"\",KH_PAYMENT(考核办法,{fee},{s}))",
                                    f.money, paid)
            else:
                sheet.write_blank(r, PAID, None, f.fixed)
            if history:
                self._history(sheet, r, unit, score, rate, this_month, first_score, first_rate, first_helper)
            else:
                sheet.write_blank(r, RISK, None, f.fixed)
        self._reconcile(sheet, SUMMARY_TOP + len(self.units) + 2)
        sheet.freeze_panes(SUMMARY_TOP + 1, 2)
        sheet.protect(self.password, {"format_columns": True, "format_rows": True})

    def _history(self, sheet, r, unit: UnitInputs, score, rate, this_month, first_score, first_rate, first_helper):
        f = self.f
        cell = xl_rowcol_to_cell
        helpers = {"score": [], "rate": []}
        for k in range(1, 13):
            earlier_score = unit.scores[k - 1] if len(unit.scores) >= k else None
            earlier_rate = unit.rates[k - 1] if len(unit.rates) >= k else None
            sheet.write(r, first_score + k - 1, "" if is_empty(earlier_score) else earlier_score, f.input)
            sheet.write(r, first_rate + k - 1, "" if is_empty(earlier_rate) else earlier_rate, f.input_rate)
            for kind, first_input, this, earlier, j in (
                    ("score", first_score, cell(r, SCORE), earlier_score, first_helper + k - 1),
                    ("rate", first_rate, cell(r, RATE), earlier_rate, first_helper + 12 + k - 1)):
                value = this_value = score if kind == "score" else rate
                if this_month is None or k > this_month:
                    value = ""
                elif k < this_month:
                    value = "" if is_empty(earlier) else earlier
                else:
                    value = this_value
                helpers[kind].append(value)
                source = cell(r, first_input + k - 1)
                sheet.write_formula(r, j, f"=IF(NOT(ISNUMBER(考核月份)),\"\",IF(MONTH(考核月份)={k},{this},"
                                          f"IF(MONTH(考核月份)>{k},IF({source}=\"\",\"\",{source}),\"\")))", f.cell, value)
        scores = f"{cell(r, first_helper)}:{cell(r, first_helper + 11)}"
        rates = f"{cell(r, first_helper + 12)}:{cell(r, first_helper + 23)}"
        uses_rates = any(risk.measure == "timely_rate" for risk in self.rulebook.risks)
        args = f"{scores},{rates}" if uses_rates else scores
        cached = ""
        if unit.name:
            grid = [np.array([None if v == "" else v for v in helpers[k]], dtype=object).reshape(1, -1)
                    for k in ("score", "rate")]
            cached = _one(kh_risk(self.reference, grid[0], grid[1] if uses_rates else None))
        sheet.write_formula(r, RISK, f"=IF({cell(r, UNIT)}=\"\",\"\",KH_RISK(考核办法,{args}))", f.warning, cached)

    def _reconcile(self, sheet, row: int) -> None:
        f, plan = self.f, self.plan
        counted = plan.counted()
        rejected = int(sum(1 for v in plan.column("入账").values if v == 0))
        names = {u.name for u in self.units if u.name}
        outside = int(sum(1 for ok, name in zip(counted, plan.units()) if ok and name not in names))
        tickets = SUMMARY_TOP + 2
        counts_col = xl_col_to_name(TICKET_COUNT)
        counts = f"{counts_col}{tickets}:{counts_col}{tickets + len(self.units) - 1}"
        beyond = sum(1 for v in plan.raw["ticket_id"][plan.rows:] if not is_empty(v))
        entered = plan.range("入账")
        lines = [
            ("工单行(非空)", f"=COUNTIF({entered},1)+COUNTIF({entered},0)", int(counted.sum()) + rejected),
            ("入账", f"=COUNTIF({entered},1)", int(counted.sum())),
            ("未入账(原因见“台账”状态列)", f"=COUNTIF({entered},0)", rejected),
            ("入账但考核单位不在上表", f"=COUNTIF({entered},1)-SUM({counts})", outside),
            (f"“工单”表第{plan.rows + 2}行以后(台账未计算)",
             f"=COUNTA(工单!A{plan.rows + 2}:A1048576)", beyond),
        ]
        sheet.write_string(row, UNIT, "行数核对", f.header)
        for k, (label, formula, cached) in enumerate(lines, start=1):
            sheet.merge_range(row + k, 0, row + k, UNIT, label, f.label)
            sheet.write_formula(row + k, TICKET_COUNT, formula, f.value, cached)

    # -- 节假日, 规则, 说明 -------------------------------------------------------------------------------
    def _holidays(self, sheet, holidays) -> None:
        f = self.f
        for j, (header, width) in enumerate((("日期", 12), ("类型", 10), ("名称", 24))):
            sheet.write_string(0, j, header, f.header)
            sheet.set_column(j, j, width)
        sheet.set_column(0, 0, 12, f.input_date)
        sheet.set_column(1, 2, 12, f.input_text)
        for i, entry in enumerate(holidays, start=1):
            day, kind, name = (list(entry) + [None, None, None])[:3]
            if isinstance(day, (dt.date, dt.datetime)):
                day = day if isinstance(day, dt.datetime) else dt.datetime(day.year, day.month, day.day)
                sheet.write_datetime(i, 0, day, f.input_date)
            elif not is_empty(day):
                sheet.write_string(i, 0, str(day), f.input_text)
            for j, value in ((1, kind), (2, name)):
                if not is_empty(value):
                    sheet.write_string(i, j, str(value), f.input_text)
        kinds = list(USER_KINDS)
        sheet.data_validation(1, 1, 500, 1, {"validate": "list", "source": kinds, "error_title": "类型",
                                             "error_message": _clip(f"类型应为: {'/'.join(kinds)}")})
        sheet.data_validation(1, 0, 500, 0, {"validate": "date", "criteria": "between",
                                             "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2099, 12, 31),
                                             "error_title": "日期", "error_message": "日期应为 2000—2099 年间的日期"})
        sheet.write_string(0, 4, "说明: 填写官方日历之外的放假与调休上班(如新一年的安排尚未收录时)，以及本单位的休息日/工作日；"
                                 "填好后按“说明”表的“刷新节假日”按钮，单元格函数即按此计算。", f.stamp)

    def _rules(self, sheet) -> None:
        f, book = self.f, self.rulebook
        from udfs.rulelist import amount
        sheet.write_string(0, 0, f"{book.title}({book.name} {book.version})", f.title)
        row = 2
        headers = ("编号", "类别", "考核项", "扣分/加分", "清零", "工单度量", "考核标准", "出处")
        for j, (header, width) in enumerate(zip(headers, (7, 14, 20, 16, 12, 16, 60, 30))):
            sheet.write_string(row, j, header, f.header)
            sheet.set_column(j, j, width)
        for item in book.items:
            row += 1
            category = book.category(item.category) if item.category is not None else None
            zero = (f"{item.zero_out_at}次{'以上' if item.zero_out_inclusive else '以上(不含)'}扣完{item.item_points:g}"
                    if item.zero_out_at is not None else "")
            name = item.name + (f"(只考核{book.party_of(item)})" if len(book.parties) > 1 else "")
            measure = item.measure + ("；本月有" + "、".join(book.item(key).name for key in item.void_if) + "的记录时不奖励"
                                      if item.void_if else "")
            if item.unit != self.score_unit and self.scored:
                measure += f"；按{item.unit}另计，不计入得分"
            for j, value in enumerate((item.id, category.name if category else "", name, amount(item), zero,
                                       measure.strip("；"), item.text, item.source)):
                sheet.write_string(row, j, str(value), f.wrap)
        row += 2
        for j, header in enumerate(("环节", "优先级", "区域", "工单类型", "时限", "起止", "出处")):
            sheet.write_string(row, j, header, f.header)
        for limit in book.time_limits:
            row += 1
            values = (limit.stage, "/".join(limit.priority or ()) or "任意", "/".join(limit.area or ()) or "任意",
                      "/".join(limit.kind or ()) or "任意",
                      ("按工单的办理时限" if limit.ticket_limit else f"{limit.limit:g}{limit.unit}")
                      + (f"({limit.hours})" if limit.hours else ""),
                      (f"{CANONICAL_FIELDS.get(limit.start_field, limit.start_field)}→"
                      f"{CANONICAL_FIELDS.get(limit.end_field, limit.end_field or '')}"), limit.source)
            for j, value in enumerate(values):
                sheet.write_string(row, j, str(value), f.wrap)
        sheet.protect(self.password)

    def _notes(self, sheet, buttons: bool) -> None:
        f, book, plan = self.f, self.rulebook, self.plan
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 22)
        sheet.set_column(2, 2, 90)
        sheet.write_string(0, 0, f"{book.title} 考核工作簿", f.title)
        sheet.write_string(1, 0, self.stamp, f.stamp)
        sheet.write_string(2, 0, "考核月份", f.label)
        if self.month:
            sheet.write_datetime(2, 1, _bounds(self.month)[0], f.input_month)
        else:
            sheet.write_blank(2, 1, None, f.input_month)
        sheet.data_validation(2, 1, 2, 1, {
            "validate": "date", "criteria": "between", "minimum": dt.date(2000, 1, 1),
            "maximum": dt.date(2099, 12, 31), "error_title": "考核月份",
            "error_message": "考核月份请写成 2025-10 这样的年月(Excel 会存为该月1日)",
            "input_title": "考核月份", "input_message": "如 2025-10；台账判断派单是否在本月、未完成工单算到下月1日0时"})
        sheet.write_string(2, 2, "← 填写本月(如 2025-10)。归档时文件夹按此命名。", f.stamp)
        sheet.write_string(3, 0, "考核办法", f.label)
        sheet.write_string(3, 1, self.reference, f.value)
        sheet.write_string(3, 2, f"{book.title} {book.version}(本工作簿按此办法生成；换办法请重新生成工作簿)", f.stamp)
        rows = [("日历数据", self.calendar.version), ("程序版本", f"kaohe {udfs.__version__}"),
                ("台账行数", (f"台账公式计算“工单”表第 2—{plan.rows + 1} 行；更多工单请用 kaohe workbook --rows 重新生成，"
                            "或按“生成本月考核表”按钮(不限行数)"))]
        for k, (label, value) in enumerate(rows, start=4):
            sheet.write_string(k, 0, label, f.label)
            sheet.merge_range(k, 1, k, 2, value, f.cell)
        sheet.write_string(7, 0, "考核结果", f.label)
        if self.scored:
            sheet.merge_range(7, 1, 7, 2, f"按“考核表”逐项计分(得分单位: {self.score_unit})"
                              + (f"；{'、'.join(self.aparts)}计的考核项另计合计，不计入得分" if self.aparts else ""), f.cell)
        else:
            sheet.merge_range(7, 1, 7, 2, f"{cannot_score_reason(self.rulebook)}。本工作簿不给得分。", f.alarm)
        row = 8
        sheet.write_string(row, 0, "本月考核环节", f.label)
        if not plan.stages:
            sheet.merge_range(row, 1, row, 2, "本办法的时限表没有可按工单计时的环节: 台账不计时，没有及时率"
                              + ("(逐单按历时分档计分，见下)" if plan.band_stages() else ""), f.cell)
            row += 1
        for stage, timing in plan.stages.items():
            ends = "、".join(CANONICAL_FIELDS[end] for end in timing.ends)
            described = _clip(timing.describe(self.rulebook), 1000)
            sheet.write_string(row, 1, stage, f.cell)
            yes, no = f"考核({described})", f"不考核(“工单”表的{ends}列为空)"
            sheet.write_formula(row, 2, f"=IF({plan.enabled_ref(stage)},{literal(yes)},{literal(no)})",
                                f.cell, yes if plan.enabled[stage] else no)
            row += 1
        for stage, band in plan.band_stages().items():  # per-ticket points by elapsed hours (台账 {stage}得分)
            start, end = CANONICAL_FIELDS[band.start_field], CANONICAL_FIELDS[band.end_field]
            yes, no = f"按历时分档计分({start}→{end}，见“台账”{stage}得分)", f"不计分(入账工单的{end}列为空)"
            sheet.write_string(row, 1, stage, f.cell)
            sheet.write_formula(row, 2, f"=IF({plan.band_ref(stage)},{literal(yes)},{literal(no)})", f.cell,
                                yes if plan.band_enabled[stage] else no)
            row += 1
        row += 1
        if buttons:
            sheet.set_row(row, 30)
            vba.add_buttons(sheet, (*vba.BUTTONS, vba.IMPORT_FUNCTIONS), row=row, col=1, width=120)
            row += 2
        steps = [
            "首次使用: 按 README“在 Windows Excel 中使用”安装 Python 与 kaohe；打开本文件时启用宏，按“导入单元格函数”(只需一次，之后保存)。",
            "在上方黄色单元格填写考核月份。",
            "把本月工单导出粘贴到“工单”表第 2 行起，列顺序与表头一致(时间可为 Excel 日期或 2025-10-03 14:05 这样的文字)。",
            "在“汇总”表填写考核单位名称(与工单中的考核单位一致)、代维费和本年度以前各月的得分、及时率。",
            "“台账”逐张计算截止时间、是否及时、超时小时；“状态”列写明未入账的原因(缺工单号、时间无法识别、重复、不在本月等)。",
            "在“考核表”各单位的黄色单元格填写检查发现的次数、区间扣分的选定值、加倍次数；由工单计算的次数自动得出。",
            "“汇总”显示得分、等级、是否合格、应付金额和合同预警；底部核对行数(非空 = 入账 + 未入账)。",
            "需要标准格式的月度量化考核表时按“生成本月考核表”(结果写入“月报_”开头的工作表)；月底按“导出台账归档”。",
            "有新的放假或调休安排时填“节假日”表并按“刷新节假日”。公式单元格受保护(审阅 → 撤销工作表保护，默认无密码)。",
            "公式显示 #NAME? 时说明单元格函数尚未导入: 按“导入单元格函数”后按 Ctrl+Alt+F9 全部重算。",
        ]
        sheet.write_string(row, 0, "使用步骤", f.label)
        for k, step in enumerate(steps, start=1):
            sheet.write_string(row, 1, f"第{k}步", f.cell)
            sheet.write_string(row, 2, step, f.wrap)
            row += 1
        sheet.protect(self.password, {"objects": False})


# -- filling 工单 from an export ------------------------------------------------------------------------
def tickets_from_export(path, rulebook: Rulebook | str | Path | None = None) -> dict[str, np.ndarray]:
    """The ticket rows of an export as they would stand in the 工单 sheet after pasting:
    canonical field → raw cell values (datetimes, text, numbers; None = empty), the header
    found and mapped as ``kaohe ledger`` finds it, blank rows and repeated headers left out."""
    from generators.tickets import pasted_rows

    if rulebook is not None and not isinstance(rulebook, Rulebook):
        rulebook = load(rulebook)
    return {field: np.array([None if is_empty(v) else v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
                             for v in values], dtype=object)
            for field, values in pasted_rows(path, rulebook).items()}
