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
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name, xl_rowcol_to_cell

import udfs
from generators.monthly import cannot_score_reason
from generators.monthly_book import SIGNATURES, apart_label, band_label, rule_words, total_label
from generators.paper import BOTTOM_MARGIN, PAGES, TOP_MARGIN, print_ready, row_height, text_width
from generators.tickets import _month_bounds, _priority_rules
from generators.workbooks import CREATED, OPTIONS, SafeWorkbook
from udfs import scoring
from udfs.calendar import USER_KINDS, WorkCalendar, china_calendar
from udfs.cellio import is_empty
from udfs.errors import KaoheError
from udfs.rulebook import CANONICAL_FIELDS, DEDUCTION_WORDS, Item, Rulebook, load
from udfs.scoring import _EPS
from udfs.scoring_cells import kh_grade, kh_item, kh_pass, kh_payment, kh_risk, kh_total
from udfs.wording import citation, field_label, limit_words, measure_words, month_label, span_words, stages_words

from . import RULES_SHEET, rulebook_files, vba
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
CACHE_SHEET = "缓存"  # hidden: the KH_ columns' values, shown where the cell functions are not running
SHEETS = ("说明", TICKETS, LEDGER, "考核表", "汇总", "节假日", "规则", vba.CONF_SHEET, CACHE_SHEET, RULES_SHEET,
          vba.INTELLISENSE_SHEET)
STATUS_CELL = "$B$9"  # 说明: whether the cell functions are running (名称 函数状态)
STATUS_STALE = ("单元格函数未运行: 台账、考核表、汇总中由 KH_ 函数算出的格显示生成工作簿时保存的结果，不随输入更新"
                "(见 README“出现 #NAME? 时”；在装好 kaohe 的 Excel 中按 Ctrl+Alt+F9 后，这里显示单元格函数是否在运行)")
STATUS_LIVE = "单元格函数运行中: 结果随输入实时计算"
STATUS_CACHED = STATUS_STALE  # as built: the saved results, which is also what a reader without the functions sees
CALC_ID = 191029      # the calculation engine id Excel 2019/365 writes: no recalculation on load for it
MONTH_CELL, RULEBOOK_CELL = "$B$3", "$B$4"
INVALID = "输入有误"  # an item's bad input shown in its category, the unit's total and 汇总, never a score without it

# 考核表 columns: the unit-table layout of the monthly table (generators.monthly_book); 加倍次数 shown only
# where an item doubles; RAW (hidden) holds KH_ITEM's own result, a message for a bad input
ID, NAME, POINTS, TEXT, COUNT, CHOSEN, AMOUNT, SCORE, NOTE, SOURCE, REPEATS, RAW = range(12)
ITEM_HEADERS = ("编号", "考核项目", "分值", "考核内容与评分标准", "次数", "选定值", "扣分", "得分", "依据/备注", "出处", "加倍次数")
ITEM_WIDTHS = (6, 16, 6, 38, 7, 7, 8, 8, 26, 14, 8, 12)
LAST = SOURCE         # the last column of the table's own width (titles, totals and signatures span to it)
UNIT_LABEL, PARTY_LABEL = "考核单位", "人员类别"  # a block's unit row: A the label, B the name; C the label, D the party
UNNAMED = "(单位未填)"
TYPED_PREFIX = "导出中没有"  # 依据/备注 of a ticket-measured item whose count is typed (the export lacks its column)
TEXT_COLUMN_CAP = 40  # 工单: a column no wider than this (longer text wraps, its row made tall enough)
PAGE_SHARE = 0.93     # of a printed page's height that 考核表 fills before breaking itself (never the printer's break)
PLUS = '"+"General;"-"General;0'  # a bonus: +2
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
        self.stamp = add({"font_color": "#595959"})
        self.hint = add({"font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter",
                           "align": "center"})
        self.label = add({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"})
        self.cell = add({"border": 1, "valign": "top"})
        self.wrap = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.input = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "valign": "top"})
        self.input_month = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm",
                                "bold": True})
        self.input_date = add({"bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm-dd"})
        self.input_time = add({"locked": False, "num_format": "yyyy-mm-dd hh:mm:ss", "valign": "top"})
        self.input_text = add({"locked": False})
        self.input_wrap = add({"locked": False, "text_wrap": True, "valign": "top"})
        self.input_money = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "#,##0.00"})
        self.input_rate = add({"border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "0.0%"})
        self.fixed = add({"border": 1, "bg_color": "#D9D9D9"})
        self.amount = add({"border": 1, "bold": True, "valign": "top", "num_format": "General"})
        self.value = add({"border": 1, "bold": True, "num_format": "General", "valign": "top"})
        self.money = add({"border": 1, "bold": True, "num_format": "#,##0.00", "valign": "top"})
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
        self.subtotal = add({"border": 1, "bold": True, "bg_color": "#E2EFDA", "num_format": "General"})
        # 考核表 (the monthly table's unit-sheet look)
        self.block_title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.info = add({"valign": "vcenter", "text_wrap": True})
        self.category = add({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"})
        self.category_amount = add({"bold": True, "bg_color": "#E2EFDA", "border": 1, "valign": "top"})
        self.category_bonus = add({"bold": True, "bg_color": "#E2EFDA", "border": 1, "valign": "top", "num_format": PLUS})
        self.text = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.note = add({"border": 1, "text_wrap": True, "valign": "top", "font_color": "#404040"})
        self.score = add({"border": 1, "valign": "top", "num_format": "0.##"})
        self.bonus = add({"border": 1, "bold": True, "valign": "top", "num_format": PLUS})
        self.bonus_value = add({"bold": True, "border": 1, "valign": "top", "align": "left", "num_format": PLUS})
        self.sign = add({"valign": "vcenter", "text_wrap": True})
        self.total = add({"border": 1, "bold": True, "valign": "top", "align": "left"})
        self.total_money = add({"border": 1, "bold": True, "valign": "top", "align": "left", "num_format": "#,##0.00"})
        self.invalid = add({"bg_color": "#FFC7CE", "font_color": "#9C0006"})


class _Pages:
    """The rows of 考核表 as they fall on printed pages: rows are taken one by one with their heights
    (set here: every row of the table has an explicit height, so its printed height is known); a row that
    would run past :data:`PAGE_SHARE` of the page starts a new page (a manual break) that begins with the
    column headers again, as a paper table's continuation page does."""

    def __init__(self, sheet, capacity: float, headers, header_height: float):
        self.sheet, self.capacity, self.headers, self.header_height = sheet, capacity, headers, header_height
        self.row, self.used, self.breaks = 0, 0.0, []

    def take(self, height: float, keep: float = 0.0) -> int:
        """The next row, ``height`` points tall; on a new page when it (and ``keep`` points after it) does not fit."""
        if self.used > self.header_height and self.used + height + keep > self.capacity:
            self.breaks.append(self.row)
            self.used = 0.0
            self.headers_here()
        row = self.row
        self.sheet.set_row(row, height)
        self.row += 1
        self.used += height
        return row

    def headers_here(self) -> None:
        self.headers(self.row)
        self.row += 1
        self.used += self.header_height

    def new_page(self) -> None:
        if self.row:
            self.breaks.append(self.row)
        self.used = 0.0


# -- the builder -------------------------------------------------------------------------------------
def rulebook_reference(rulebook: Rulebook) -> str:
    """What the 考核办法 cell shows: the rulebook's name, never a path of the machine that built the
    workbook. A rulebook not installed under that name travels inside the workbook (:func:`installed_as_named`)."""
    return rulebook.name


def installed_as_named(rulebook: Rulebook) -> bool:
    """Whether the rulebook's name finds this very file (an installed rulebook): the 考核办法 cell then
    names it; else (a contract's own file) the workbook carries the file (hidden sheet 规则文件)."""
    from udfs.rulebook import find

    try:
        return Path(find(rulebook.name)).resolve() == Path(rulebook.path).resolve()
    except KaoheError:
        return False


def live(call: str, cached) -> str:
    """A ``KH_`` call that shows ``cached`` where the cell functions are not running (``#NAME?``: no
    Python, macros disabled, LibreOffice or WPS) and its own result where they are. A Python error is
    text in the cell (xlwings returns the error's description), so it is never hidden; 说明's 函数状态
    says whether the results are live."""
    if isinstance(cached, bool):
        fallback = "TRUE" if cached else "FALSE"
    elif isinstance(cached, (int, float)) and not (isinstance(cached, float) and math.isnan(cached)):
        fallback = number(cached)
    else:
        fallback = literal("" if cached is None or isinstance(cached, float) else cached)
    return f"IFERROR({call},{fallback})"


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
        plan = LedgerPlan(book_rules, book_rules, tickets, capacity, *_bounds(month))
        writer = _Writer(book_rules, path, plan, units, month, calendar, password)
        writer.write(holidays, buttons)
    finally:
        timeliness_cells.use_holidays(before)
    return path


class _Writer:
    def __init__(self, rulebook: Rulebook, path: Path, plan: LedgerPlan, units: list[UnitInputs], month, calendar,
                 password: str):
        self.rulebook, self.path, self.plan, self.units, self.month = rulebook, path, plan, units, month
        self.reference = rulebook  # what the cached values are computed with
        self.embedded = not installed_as_named(rulebook)  # a contract's own file travels in the workbook
        self.cache_columns: list[tuple[int, np.ndarray]] = []  # 台账 KH_ columns: (column, values) for 缓存
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
        self.bad_items: set[str] = set()  # items of the block being written whose 扣分 is a message
        self.results = []      # unit slot → {label: cached value}

    def write(self, holidays, buttons: bool) -> None:
        book = self.book
        vba.attach_standalone_project(book)
        sheets = {name: book.add_worksheet(name) for name in SHEETS[:SHEETS.index(vba.CONF_SHEET)]}
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
        self._cache(book.add_worksheet(CACHE_SHEET))
        self._rulebook_files(book.add_worksheet(RULES_SHEET))
        vba.add_intellisense(book)  # the last sheet: per-argument help while typing a KH_ formula
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
        rulebook = f"={RULES_SHEET}!$A$1:$B${1 + self._rulebook_lines()}" if self.embedded else f"=说明!{RULEBOOK_CELL}"
        names = {"考核月份": f"=说明!{MONTH_CELL}", "考核办法": rulebook, "函数状态": f"=说明!{STATUS_CELL}",
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
        widths = []
        for j, field in enumerate(FIELDS):
            sheet.write_string(0, j, CANONICAL_FIELDS[field], f.header)
            default = (19 if field.endswith("_at") else 30 if field in ("content", "address")
                       else 20 if field == "ticket_id" else 12)  # ids like JM-202510-000123 whole
            texts = [text_width(v) for v in plan.raw[field][:plan.rows] if isinstance(v, str)]
            widths.append(max(default, min(TEXT_COLUMN_CAP, max(texts, default=0) + 2)))  # typed text whole
            sheet.set_column(j, j, widths[-1], f.input_time if field.endswith("_at") else f.input_wrap)
        print_ready(sheet, widths, header_rows=(0, 0), repeat_columns=(0, 0), header=f"{self.rulebook.title} 工单",
                    allow_a3=True)
        for i in range(plan.rows):
            texts = [(plan.raw[field][i], widths[j]) for j, field in enumerate(FIELDS)
                     if isinstance(plan.raw[field][i], str)]
            if any(text_width(text) + 2 > width for text, width in texts):  # wraps: as tall as its text
                sheet.set_row(i + 1, row_height(texts))
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
                    sheet.write_string(i + 1, j, str(value), f.input_wrap)
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
        widths = []
        for j, column in enumerate(plan.columns):
            sheet.write_string(0, j, column.header, f.header)
            width = (19 if column.kind == "time" else 28 if column.header == "状态"
                     else 20 if column.header == "工单号" else 10)
            texts = [text_width(v) for v in column.values if isinstance(v, str)]  # a unit's or a message's words whole
            width = max(width, min(TEXT_COLUMN_CAP, max(texts, default=0) + 2))
            widths.append(0 if column.hidden else width)
            sheet.set_column(j, j, width, None, {"hidden": column.hidden})
            style = styles[column.kind]
            values = column.values
            if column.formula is None:
                for i, value in enumerate(values):
                    sheet.write_number(i + 1, j, float(value), style)
                continue
            formula = column.formula
            if "KH_" in formula:  # shows the 缓存 copy where the cell functions are not running (see live())
                kept = f"{CACHE_SHEET}!{xl_col_to_name(j)}2:{xl_col_to_name(j)}{last + 1}"
                formula = f"IFERROR({formula},IF({kept}=\"\",\"\",{kept}))"
                self.cache_columns.append((j, values))
            sheet.write_array_formula(1, j, last, j, "{=" + formula + "}", style, _cache(values[0]))
            for i in range(1, len(values)):  # the rest of the array's range (xlsxwriter pads it with 0)
                value = _cache(values[i])
                if value == "":
                    sheet.write_blank(i + 1, j, None, style)
                elif isinstance(value, str):
                    sheet.write_string(i + 1, j, value, style)
                else:
                    sheet.write_number(i + 1, j, float(value), style)
        sheet.set_row(0, row_height([(c.header, w) for c, w in zip(plan.columns, widths) if w]))
        state = [c.header for c in plan.columns].index("状态")
        taken = xl_col_to_name([c.header for c in plan.columns].index("入账"))
        sheet.conditional_format(1, 0, last, len(plan.columns) - 1, {  # a row without a ticket shows (and prints) nothing
            "type": "formula", "criteria": f"=${taken}2=\"\"", "format": self.book.add_format({"font_color": "#FFFFFF"})})
        sheet.conditional_format(1, 0, last, len(plan.columns) - 1, {
            "type": "formula", "criteria": f"=LEFT(${xl_col_to_name(state)}2,1)=\"#\"",
            "format": self.book.add_format({"bg_color": "#FCE4D6"})})
        sheet.freeze_panes(1, 2)
        sheet.autofilter(0, 0, last, len(plan.columns) - 1)
        ids = [c.header for c in plan.columns].index("工单号")
        print_ready(sheet, widths, header_rows=(0, 0), repeat_columns=(ids, ids), header=f"{self.rulebook.title} 台账",
                    allow_a3=True)
        sheet.protect(self.password, {"autofilter": True, "sort": False, "format_columns": True})

    def _cache(self, sheet) -> None:
        """缓存 (hidden, not printed): the values of the 台账's KH_ columns, cell for cell, which those
        columns show where the cell functions are not running (LibreOffice recalculates array formulas
        on load even when told not to, and an unknown function is #NAME? there)."""
        for j, values in self.cache_columns:
            for i, value in enumerate(values):
                value = _cache(value)
                if isinstance(value, str):
                    if value:
                        sheet.write_string(i + 1, j, value)
                else:
                    sheet.write_number(i + 1, j, float(value))
        sheet.write_string(0, 0, "台账中 KH_ 函数列的保存结果(单元格函数未运行时台账显示这些值)；请勿修改")
        sheet.hide()
        sheet.protect(self.password)

    def _rulebook_lines(self) -> int:
        return sum(len(text.splitlines()) for _, text in rulebook_files(self.rulebook)) if self.embedded else 0

    def _rulebook_files(self, sheet) -> None:
        """规则文件 (hidden, not printed): for a rulebook that is not installed under its name, A1 its
        name and then every line of its file and of the files it extends (A the file, B the line), what
        the defined name 考核办法 refers to, so that the workbook names its rulebook on any computer
        (:func:`workbook.rulebook_from_cells`). Empty for an installed rulebook (考核办法 is its name)."""
        sheet.write_string(0, 0, self.rulebook.name)
        row = 1
        if self.embedded:
            for name, text in rulebook_files(self.rulebook):
                for line in text.splitlines():
                    if utf16_length(line) > 32767:
                        raise KaoheError(f"规则文件 {name} 有一行超过 32767 字，无法放入工作簿",
                                         f"rulebook file {name} has a line beyond 32767 characters")
                    sheet.write_string(row, 0, name)
                    if line:
                        sheet.write_string(row, 1, line)
                    row += 1
        sheet.hide()
        sheet.protect(self.password)

    # -- 考核表 --------------------------------------------------------------------------------------------
    def _scoring(self, sheet) -> None:
        """考核表: one block per unit in the unit-table layout of the monthly table (title rows, column
        headers, category rows with their items, totals, signatures), each block on pages of its own;
        a page that a block runs over to starts with the column headers again."""
        f = self.f
        widths = self._widths()
        for j, width in enumerate(widths):
            sheet.set_column(j, j, width or ITEM_WIDTHS[j], None, {"hidden": True} if width == 0 else None)
        scale = print_ready(sheet, widths, header=f"{self.rulebook.title} 月度量化考核表")
        paper = PAGES[sheet.paper_size][1 if sheet.orientation else 0]  # the page's height (orientation 1: portrait)
        capacity = (paper - (TOP_MARGIN + BOTTOM_MARGIN) * 72) / (scale / 100) * PAGE_SHARE
        header_height = row_height([(h, w) for h, w in zip(ITEM_HEADERS, widths) if w])

        def headers(row: int) -> None:
            sheet.set_row(row, header_height)
            for j, header in enumerate(ITEM_HEADERS):
                sheet.write_string(row, j, header, f.header)
            sheet.write_blank(row, RAW, None, f.header)

        pages = _Pages(sheet, capacity, headers, header_height)
        counted, names = self.plan.counted(), self.plan.units()
        for slot, unit in enumerate(self.units):
            pages.new_page()
            self._block(sheet, pages, slot, unit, counted, names)
        sheet.set_h_pagebreaks(pages.breaks)
        sheet.protect(self.password, {"format_columns": True, "format_rows": True})

    def _widths(self) -> list[float]:
        """The printed widths of 考核表's columns: 加倍次数 only where an item doubles, the raw amounts never."""
        doubles = any(item.doubles for item in self.rulebook.items)
        ids = max([text_width(UNIT_LABEL)] + [text_width(item.id) for item in self.rulebook.items]) + 1  # 无超时奖 whole
        return [0 if j == RAW or (j == REPEATS and not doubles) else min(16, max(w, ids)) if j == ID else w
                for j, w in enumerate(ITEM_WIDTHS)]

    def _cannot_score(self, sheet) -> None:
        """考核表 of a rulebook that cannot score: says so, loudly, and gives no score."""
        f, book = self.f, self.rulebook
        sheet.set_column(0, 0, 120)
        sheet.write_string(0, 0, f"{book.title} 月度量化考核表", f.title)
        sheet.write_string(1, 0, self.stamp, f.stamp)
        sheet.write_string(3, 0, f"{cannot_score_reason(book)}。", f.banner)
        why = "没有计分规则" if book.score is None else "没有考核项"
        timed = "；“台账”照常计算时限，“汇总”给出各单位的工单数、超时工单和及时率" if self.plan.stages else ""
        text = f"考核办法“{book.title}”{why}: 本表不计分，不给得分、等级和应付金额{timed}。"
        sheet.set_row(4, row_height([(text, 120)]))
        sheet.write_string(4, 0, text, f.note)
        print_ready(sheet, (120,), header=f"{book.title} 月度量化考核表")
        sheet.protect(self.password, {"format_columns": True, "format_rows": True})

    def _groups(self) -> list[tuple[str | None, str, list[Item]]]:
        """The items by category in the rulebook's order (``(category id, apart unit, items)``); the
        items in another unit than the score's (元 beside 分) in groups of their own, totalled apart."""
        groups: dict[tuple, list[Item]] = {}
        for item in self.rulebook.items:
            apart = "" if item.unit == self.score_unit else item.unit
            groups.setdefault((item.category if not apart else None, apart), []).append(item)
        return [(key, apart, items) for (key, apart), items in groups.items()]

    def _block(self, sheet, pages: _Pages, slot: int, unit: UnitInputs, counted, unit_names) -> None:
        f, book = self.f, self.rulebook
        cell = xl_rowcol_to_cell
        widths = self._widths()
        summary_unit = f"汇总!{cell(SUMMARY_TOP + 1 + slot, UNIT, True, True)}"
        month = ("IF(ISNUMBER(考核月份),YEAR(考核月份)&\"年\"&MONTH(考核月份)&\"月\",\"\")")
        month_text = month_label(self.month) if self.month else ""
        # title rows: unit and month, the scheme, full marks, the month and the date to fill by hand
        row = pages.take(26)
        title = f"{unit.name or UNNAMED} {month_text} 月度量化考核表"
        sheet.merge_range(row, ID, row, LAST, "", f.block_title)
        sheet.write_formula(row, ID, f"=IF({summary_unit}=\"\",{literal(UNNAMED)},{summary_unit})&\" \"&{month}"
                                     f"&\" 月度量化考核表\"", f.block_title, title)
        scheme = f"考核办法：{book.title}"
        full = f"满分 {book.score.full_marks:g}{book.score.unit}"
        date = "考核日期：    年  月  日"
        row = pages.take(row_height([(scheme, sum(widths[:TEXT + 1])), (full, sum(widths[COUNT:SCORE + 1])),
                                     (f"考核月份 {month_text or '0000年00月'}", widths[NOTE]), (date, widths[SOURCE])]))
        sheet.merge_range(row, ID, row, TEXT, scheme, f.info)
        sheet.merge_range(row, COUNT, row, SCORE, full, f.info)
        sheet.write_formula(row, NOTE, f"=\"考核月份 \"&{month}", f.info, f"考核月份 {month_text}")
        sheet.write_string(row, SOURCE, date, f.info)
        hint = (f"单位名称在“汇总”表第{SUMMARY_TOP + 2 + slot}行填写。黄色单元格(次数、选定值"
                + ("、加倍次数" if widths[REPEATS] else "") + ")可以填写，扣分、得分随之重算；填错时显示“输入有误”，不给得分。"
                + ("每类最多扣该类分值。" if any(c.points is not None for c in book.categories) else "")
                + (f"按{'、'.join(self.aparts)}计的考核项另计合计，不计入得分。" if self.aparts else "")
                + ("只列出的考核项中注明人员类别的，只考核该类人员(单位的人员类别取其工单中最多的一类)。"
                   if len(book.parties) > 1 else ""))
        row = pages.take(row_height([(hint, sum(widths[COUNT:LAST + 1])), ("考核单位", widths[ID]),
                                     (unit.name, widths[NAME]), ("人员类别", widths[POINTS])]))
        name_cell, party_cell = cell(row, NAME, True, True), cell(row, TEXT, True, True)
        sheet.write_string(row, ID, UNIT_LABEL, f.label)
        sheet.write_formula(row, NAME, f"=IF({summary_unit}=\"\",\"\",{summary_unit})", f.value, unit.name)
        sheet.write_string(row, POINTS, PARTY_LABEL, f.label)
        sheet.merge_range(row, COUNT, row, LAST, hint, f.note)
        unit_row = row
        pages.headers_here()
        mine = counted & (unit_names == unit.name) if unit.name else np.zeros(len(counted), bool)
        # rows: a category row, then its items (and a bonus subtotal when it has deductions too)
        groups = self._groups()
        at: dict[str, int] = {}
        placed = []
        for key, apart, items in groups:
            heading_words = self._heading(key, apart, items)
            heading = pages.take(row_height([(heading_words["label"], widths[NAME]),
                                             (heading_words["content"], widths[TEXT]),
                                             (heading_words["note"], widths[NOTE]),
                                             (heading_words["source"], widths[SOURCE])]), keep=40)
            rows = []
            for item in items:
                rows.append(pages.take(self._item_height(item, widths)))
                at[item.id] = rows[-1]
            deductions, bonuses = any(not i.bonus for i in items), any(i.bonus for i in items)
            bonus_row = (pages.take(20) if deductions else heading) if bonuses else None
            placed.append((key, apart, items, heading, rows, bonus_row, heading_words))
        party = self._party(sheet, unit_row, name_cell, party_cell, unit, mine, at)
        amounts: dict[str, float] = {}
        self.bad_items = set()
        for key, apart, items, heading, rows, bonus_row, words_ in placed:
            for item, r in zip(items, rows):
                amounts[item.id] = self._item_row(sheet, item, r, name_cell, party_cell, party, unit, mine, at)
        # category rows: 分值, 扣分 (after the category's cap), 得分; bonuses summed apart
        invalid = literal(INVALID)
        deduction_cells, bonus_cells, cached_lost, cached_gained = [], [], [], []
        apart_cells: dict[str, list] = {}
        for key, apart, items, heading, rows, bonus_row, words_ in placed:
            points, words = words_["points"], apart or self.score_unit
            deductions = [i for i in items if not i.bonus]
            bonuses = [i for i in items if i.bonus]
            number_text, label = words_["id"], words_["label"]
            for j in (ID, NAME, TEXT, NOTE, SOURCE):
                sheet.write_string(heading, j, words_[{ID: "id", NAME: "label", TEXT: "content", NOTE: "note",
                                                       SOURCE: "source"}[j]], f.category)
            if points is not None:
                sheet.write_number(heading, POINTS, points, f.category)
            else:
                sheet.write_blank(heading, POINTS, None, f.category)
            for j in (COUNT, CHOSEN, REPEATS, RAW):
                sheet.write_blank(heading, j, None, f.category)
            span = f"{cell(rows[0], AMOUNT)}:{cell(rows[-1], SCORE)}"
            bad = f"COUNTIF({span},{invalid})>0"
            if deductions:
                cells = [cell(at[i.id], AMOUNT) for i in deductions]
                total = f"SUM({','.join(cells)})"
                values = [amounts[i.id] for i in deductions]
                lost = (float(np.nansum(values or [0.0])) if apart else
                        scoring.lost(book, values, [key] * len(values) if key is not None else None))
                if points is not None:
                    total = f"MIN({number(points)},{total})"
                lost = INVALID if {i.id for i in deductions} & self.bad_items else lost
                target = cell(heading, AMOUNT)
                sheet.write_formula(heading, AMOUNT, f"=IF({bad},{invalid},{total})", f.category_amount, lost)
                if points is not None:
                    sheet.write_formula(heading, SCORE, f"=IF({target}={invalid},{invalid},{number(points)}-{target})",
                                        f.category_amount, INVALID if lost == INVALID else points - lost)
                elif bonus_row != heading:
                    sheet.write_blank(heading, SCORE, None, f.category_amount)
                if apart:
                    apart_cells.setdefault(apart, []).append(("+", target, lost))
                else:
                    deduction_cells.append(target)
                    cached_lost.append(lost)
            else:
                sheet.write_blank(heading, AMOUNT, None, f.category_amount)
            if bonuses:
                cells = [cell(at[i.id], SCORE) for i in bonuses]
                gained = float(np.nansum([amounts[i.id] for i in bonuses] or [0.0]))
                gained = INVALID if {i.id for i in bonuses} & self.bad_items else gained
                formula = f"=IF({bad},{invalid},SUM({','.join(cells)}))"
                if bonus_row != heading:
                    what = "奖励" if words == "元" else "加分"
                    sheet.merge_range(bonus_row, ID, bonus_row, CHOSEN, f"{number_text}、{label} {what}小计"
                                      if number_text else f"{label} {what}小计", f.subtotal)
                    sheet.write_blank(bonus_row, AMOUNT, None, f.subtotal)
                    sheet.merge_range(bonus_row, NOTE, bonus_row, SOURCE, f"本类各项{what}之和", f.subtotal)
                sheet.write_formula(bonus_row, SCORE, formula, f.category_bonus, gained)
                target = cell(bonus_row, SCORE)
                if apart:
                    apart_cells.setdefault(apart, []).append(("-", target, gained))
                else:
                    bonus_cells.append(target)
                    cached_gained.append(gained)
        first, last = min(at.values()), max(at.values())  # an input KH_ITEM refuses, in red
        mark = f"=LEFT(${xl_col_to_name(RAW)}{first + 1},1)=\"#\""
        for left, right in ((COUNT, CHOSEN), (REPEATS, REPEATS)):
            sheet.conditional_format(first, left, last, right, {"type": "formula", "criteria": mark, "format": f.invalid})
        self._totals(sheet, pages, slot, unit, party, name_cell, party_cell, deduction_cells, bonus_cells,
                     cached_lost, cached_gained, apart_cells)
        roles = "\n\n".join(f"{role}：________________________" for role in SIGNATURES)
        dates = "\n\n".join("日期：__________年______月______日" for _ in SIGNATURES)
        pages.take(12)
        row = pages.take(row_height([(roles, sum(widths[:TEXT + 1]))]) + 12)
        sheet.merge_range(row, ID, row, TEXT, roles, f.sign)
        sheet.merge_range(row, COUNT, row, LAST, dates, f.sign)

    def _heading(self, key: str | None, apart: str, items: list[Item]) -> dict:
        """The words of a category row: 编号, name, 分值, what the category's cap is, how its subtotal is
        reached and where the category comes from."""
        category = self.rulebook.category(key) if key is not None else None
        points = category.points if category and not apart else None
        number_text, label = (category.id, category.name) if category else ("", "其他")
        if apart:
            number_text, label = "", f"另计{DEDUCTION_WORDS[apart]}({apart}，不计入得分)"
        words = apart or self.score_unit
        deductions, bonuses = any(not i.bonus for i in items), any(i.bonus for i in items)
        if points is not None and deductions:
            content = f"本类最多扣{points:g}{words}"
        elif apart:
            content = "与得分单位不同的考核项，单独合计，不计入得分"
        else:
            content = "加分项" if not deductions else ""
        notes = []
        if deductions:
            notes.append(f"本类各项{'扣款' if words == '元' else '扣分'}之和"
                         + (f"，最多扣{points:g}{words}" if points is not None else ""))
        if bonuses and not deductions:
            notes.append(f"本类各项{'奖励' if words == '元' else '加分'}之和")
        return {"id": number_text, "label": label, "points": points, "content": content, "note": "；".join(notes),
                "source": citation(category.source) if category else ""}

    def _totals(self, sheet, pages: _Pages, slot: int, unit: UnitInputs, party: str, name_cell: str, party_cell: str,
                deduction_cells, bonus_cells, cached_lost, cached_gained, apart_cells) -> None:
        """The totals of a unit's block: 满分, 扣分合计, 加分合计, 得分, 等级, 是否合格, 代维费 and 应付金额
        (from 汇总), and the amounts totalled apart; each with how it is reached, in words."""
        f, book = self.f, self.rulebook
        cell = xl_rowcol_to_cell
        widths = self._widths()
        invalid = literal(INVALID)
        has_unit = bool(unit.name)
        scoring_items = [i for i in book.items if i.unit == self.score_unit]

        def only(parties) -> tuple[str, bool]:
            """Excel: "" unless the unit is named and its party is one of ``parties``; and whether it is."""
            listed = ",".join(f"{party_cell}={literal(p)}" for p in sorted(parties))
            condition = f"OR({name_cell}=\"\",NOT(OR({listed})))" if parties else "TRUE"
            return condition, has_unit and party in parties

        # a unit with no item in the score's unit (自维人员 under a 元 score) has no score
        off, scored = only({book.party_of(i) for i in scoring_items})
        bad = INVALID in cached_lost or INVALID in cached_gained
        lost = 0.0 if bad else float(sum(cached_lost))
        bonus = 0.0 if bad else float(sum(cached_gained))
        bonus_formula = f"SUM({','.join(bonus_cells)})" if bonus_cells else "0"
        if book.score.bonus_cap is not None:
            bonus = min(bonus, book.score.bonus_cap)
            bonus_formula = f"MIN({number(book.score.bonus_cap)},{bonus_formula})"
        lost_formula = f"SUM({','.join(deduction_cells)})" if deduction_cells else "0"
        score = _one(kh_total(self.reference, np.array([[lost]], dtype=object), np.array([[bonus]], dtype=object)))
        if bad:
            lost = bonus = score = INVALID
        if not scored:
            lost = bonus = score = ""

        def guarded(cells, expression: str) -> str:
            if not cells:
                return expression
            return f"IF(OR({','.join(f'{c}={invalid}' for c in cells)}),{invalid},{expression})"

        at: dict[str, str] = {}
        pages.take(8)
        lines: list[tuple[str, str | None, object, str]] = [("满分", None, book.score.full_marks, "")]
        every = deduction_cells + bonus_cells  # one bad input: no total at all, never one without it
        lines += [("扣分合计", f"=IF({off},\"\",{guarded(every, lost_formula)})", lost, ""),
                  ("加分合计", f"=IF({off},\"\",{guarded(every, bonus_formula)})", bonus, "bonus"),
                  ("得分", "score", score, "")]
        grade = passed = ""
        if book.grade_bands:
            grade = (INVALID if bad else _one(kh_grade(self.reference, score))) if scored else ""
            lines.append(("等级", "grade", grade, ""))
        if book.score.pass_mark is not None:
            passed = (INVALID if bad else _one(kh_pass(self.reference, score))) if scored else ""
            lines.append(("是否合格", "pass", "" if passed == "" else "合格" if passed is True else
                          "不合格" if passed is False else passed, ""))
        summary_row = SUMMARY_TOP + 1 + slot
        paid = ""
        if book.payment is not None:
            fee = "" if is_empty(unit.fee) or not has_unit else unit.fee
            if score == INVALID:
                paid = INVALID
            elif fee != "" and score != "":
                paid = _one(kh_payment(self.reference, fee, score))
            for label, column, value in (("代维费(元)", FEE, fee), ("应付金额(元)", PAID, paid)):
                source = f"汇总!{cell(summary_row, column, True, True)}"
                lines.append((label, f"=IF({source}=\"\",\"\",{source})", value, "money"))
        for a, parts in apart_cells.items():
            condition, applies = only({book.party_of(i) for i in book.items if i.unit == a})
            expression = "".join(sign + target for sign, target, _ in parts).lstrip("+")
            values = [v for _, _, v in parts]
            value = (INVALID if INVALID in values else
                     sum(v if sign == "+" else -v for sign, _, v in parts)) if applies else ""
            lines.append((apart_label(a), f"=IF({condition},\"\",{guarded([t for _, t, _ in parts], expression)})",
                          value, ""))
        for label, formula, cached, kind in lines:
            shown = total_label(book, label) if label in ("扣分合计", "加分合计", "得分") else label
            note = self._total_note(label)
            row = pages.take(max(20, row_height([(note, widths[NOTE] + widths[SOURCE] - 4),
                                                 (shown, sum(widths[:CHOSEN + 1]))])))
            at[label] = cell(row, AMOUNT, True, True)
            style = {"money": f.total_money, "bonus": f.bonus_value}.get(kind, f.total)
            total = at.get("得分")
            if formula == "score":
                call = live(f"KH_TOTAL(考核办法,{at['扣分合计']},{at['加分合计']})", score)
                formula = (f"=IF({off},\"\",IF(OR({at['扣分合计']}={invalid},{at['加分合计']}={invalid}),{invalid},"
                           f"{call}))")
            elif formula == "grade":
                formula = (f"=IF({total}=\"\",\"\",IF({total}={invalid},{invalid},"
                           f"{live(f'KH_GRADE(考核办法,{total})', grade)}))")
            elif formula == "pass":  # words, not TRUE/FALSE; a message (a bad score) as it is
                call = live(f"KH_PASS(考核办法,{total})", passed)
                formula = (f"=IF({total}=\"\",\"\",IF({total}={invalid},{invalid},"
                           f"IFERROR(IF({call},\"合格\",\"不合格\"),{call})))")
            sheet.merge_range(row, ID, row, CHOSEN, shown, f.label)
            sheet.merge_range(row, AMOUNT, row, SCORE, "", style)
            if formula is None:
                sheet.write_number(row, AMOUNT, cached, style)
            else:
                sheet.write_formula(row, AMOUNT, formula, style, _cache(cached))
            sheet.merge_range(row, NOTE, row, LAST, note, f.note)
        self.block_cells[slot] = {label: f"考核表!{ref}" for label, ref in at.items()}
        self.results.append({label: (_cache(value) if label != "是否合格" else value)
                             for label, _, value, _ in lines})

    def _total_note(self, label: str) -> str:
        """How a total of 考核表 is reached, in words (as the monthly table says it)."""
        score = self.rulebook.score
        if label == "满分":
            return f"出处：{citation(score.source)}" if score.source else ""
        if label == "扣分合计":
            return "各类扣分之和(每类最多扣该类分值)" if self.rulebook.categories else "各项扣分之和"
        if label == "加分合计":
            return "各项加分之和" + (f"，最多计{score.bonus_cap:g}{score.unit}" if score.bonus_cap is not None else "")
        if label == "得分":
            clamps = [f"不低于{score.min:g}" if score.min is not None else "",
                      f"不高于{score.max:g}" if score.max is not None else ""]
            return (f"满分{score.full_marks:g} − 扣分合计 + 加分合计"
                    + ("，" + "、".join(c for c in clamps if c) if any(clamps) else ""))
        if label == "是否合格":
            return f"{score.pass_mark:g}{score.unit}{'(含)以上' if score.pass_inclusive else '以上(不含)'}为合格"
        if label == "等级":
            return "按考核办法的等级区间"
        if label == "代维费(元)":
            return "在“汇总”表填写"
        if label == "应付金额(元)":
            rule = self.rulebook.payment
            return (f"代维费×{1 - rule.assessed_share:.0%} + 代维费×{rule.assessed_share:.0%}×得分(负分按0)/{rule.scale:g}"
                    + ("，不超过代维费" if rule.cap_at_fee else ""))
        if label.startswith("另计"):
            return "与得分单位不同的考核项(扣为正、奖为负)，单独合计，不计入得分"
        return ""

    def _party(self, sheet, row: int, name_cell: str, party_cell: str, unit: UnitInputs, mine: np.ndarray,
               at: dict) -> str:
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
        row_, col = xl_cell_to_rowcol(party_cell.replace("$", ""))
        sheet.write_array_formula(row_, col, row_, col, formula, f.value, party)
        return party

    def _item_height(self, item: Item, widths) -> float:
        """The height of an item's row: its whole text, and the longest 依据/备注 its inputs can give."""
        notes = [self._note_words(item, 999.0, 99.0, 99.0, ""), self._note_words(item, 0.0, math.nan, math.nan, ""),
                 self._note_words(item, 0.0, math.nan, math.nan, f"#选定值超出范围: 999(“{item.name}”为{scoring.range_text(item)})"),
                 f"本项只考核{self.rulebook.party_of(item)}，不适用于本单位"]
        return row_height([(item.id, widths[ID]), (self._item_name(item), widths[NAME]), (item.text, widths[TEXT]),
                           (citation(item.source), widths[SOURCE])] + [(note, widths[NOTE]) for note in notes])

    @staticmethod
    def _item_name(item: Item) -> str:
        return item.name + ("(加分)" if item.bonus else "")

    def _counted_words(self, item: Item, count: float) -> str:
        """What a count of ``item`` is, in words: ``84张工单签收或回复超时``."""
        kind, _, argument = (item.measure or "").partition(":")
        n = f"{count:g}"
        if kind == "overdue" and not self._typed(item):
            return f"{n}张工单{stages_words(argument)}超时" if count else f"本月没有{stages_words(argument)}超时的工单"
        if kind == "flag" and not self._typed(item):
            return (f"{n}张工单为“{field_label(argument)}”" if count else f"本月没有“{field_label(argument)}”的工单")
        if kind == "none_overdue" and not self._typed(item):
            return (f"本月{stages_words(argument)}环节没有超时工单" if count
                    else f"本月{stages_words(argument)}环节有超时工单，或没有计时的工单，不奖励")
        if kind == "avg_hours_over" and not self._typed(item):
            return (f"本月已完成工单的平均处理时长超过{argument}小时" if count
                    else f"本月已完成工单的平均处理时长未超过{argument}小时")
        return f"考核记录{n}{item.per}" if count else "本月无记录"

    def _note_words(self, item: Item, count, chosen, repeats, message: str) -> str:
        """依据/备注 of an item as the formula of :meth:`_note_formula` gives it for these inputs."""
        prefix = self._note_prefix(item)
        if message:
            return prefix + message[1:]
        if is_empty(count):
            return prefix
        words = self._counted_words(item, count)
        if count:
            if item.ranged:
                words += (f"；未填选定值，按最低值{item.points[0]:g}{item.unit}计" if is_empty(chosen)
                          else f"；选定每{item.per}{chosen:g}{item.unit}")
            if item.doubles and not is_empty(repeats) and repeats > 0:
                words += f"；其中{repeats:g}{item.per}重复发生，加倍扣分"
            words += "；" + rule_words(item)
        return prefix + words + self._note_suffix(item)

    def _note_prefix(self, item: Item) -> str:
        if self._typed(item) and item.measure:
            return f"{TYPED_PREFIX}{self.plan.missing_for(item)}，次数由考核人员填写；"
        return ""

    def _note_suffix(self, item: Item) -> str:
        book = self.rulebook
        parts = []
        if item.void_if:
            parts.append("本月有" + "、".join(f"“{book.item(key).name}”" for key in item.void_if) + "的记录时不奖励")
        if item.unit != self.score_unit:
            parts.append(f"按{item.unit}另计，不计入得分")
        return "".join("；" + p for p in parts)

    def _note_formula(self, item: Item, row: int, name_cell: str, elsewhere: str) -> str:
        """依据/备注 of an item: the count and how it scores in words, following the inputs."""
        cell = xl_rowcol_to_cell
        count, chosen, repeats, raw = (cell(row, j) for j in (COUNT, CHOSEN, REPEATS, RAW))
        kind = (item.measure or "").partition(":")[0]
        typed = self._typed(item)
        one, none = self._counted_words(item, 1.0), self._counted_words(item, 0.0)
        if kind in ("overdue", "flag") and not typed:
            unit_words = one.removeprefix("1")
            counted = f"{count}&{literal(unit_words)}"
        elif kind in ("none_overdue", "avg_hours_over") and not typed:
            counted = literal(one)
        else:
            counted = f"{literal('考核记录')}&{count}&{literal(item.per)}"
        extra = ""
        if item.ranged:
            extra += (f"&IF({chosen}=\"\",{literal(f'；未填选定值，按最低值{item.points[0]:g}{item.unit}计')},"
                      f"{literal(f'；选定每{item.per}')}&{chosen}&{literal(item.unit)})")
        if item.doubles:
            extra += (f"&IF(N({repeats})>0,{literal('；其中')}&{repeats}&{literal(f'{item.per}重复发生，加倍扣分')},\"\")")
        words = (f"IF(N({count})=0,{literal(none)},{counted}{extra}&{literal('；' + rule_words(item))})"
                 f"&{literal(self._note_suffix(item))}")
        prefix = self._note_prefix(item)
        aimed = self.rulebook.party_of(item)
        return (f"=IF({name_cell}=\"\",\"\",IF({elsewhere},{literal(f'本项只考核{aimed}，不适用于本单位')},"
                f"{literal(prefix)}&IF(LEFT({raw},1)=\"#\",MID({raw},2,255),IF({count}=\"\",\"\",{words}))))")

    def _item_row(self, sheet, item: Item, row: int, name_cell: str, party_cell: str, party: str, unit: UnitInputs,
                  mine: np.ndarray, at: dict) -> float:
        f, book = self.f, self.rulebook
        cell = xl_rowcol_to_cell
        sheet.write_string(row, ID, item.id, f.text)
        sheet.write_string(row, NAME, self._item_name(item), f.text)
        if item.item_points is not None:
            sheet.write_number(row, POINTS, item.item_points, f.cell)
        else:
            sheet.write_blank(row, POINTS, None, f.cell)
        sheet.write_string(row, TEXT, item.text, f.text)
        has_unit = bool(unit.name)
        aimed = book.party_of(item)
        applies = has_unit and party == aimed
        elsewhere = f"{party_cell}<>{literal(aimed)}"  # the unit is of another party: the item does not apply
        count, chosen, repeats = unit.items.get(item.id, (math.nan, math.nan, math.nan))
        typed = self._typed(item)
        if not typed:
            formula, count = self._measure(item, name_cell, mine, unit, at)
            sheet.write_formula(row, COUNT, f"=IF(OR({name_cell}=\"\",{elsewhere}),\"\",{formula})", f.cell,
                                count if applies else "")
            count = count if applies else math.nan
        else:
            # typed by the assessor: an item without a ticket measure, or one the tickets given cannot
            # count (the export lacks its column): kaohe monthly then takes the count from the findings
            count = count if not is_empty(count) else (0.0 if has_unit else math.nan)
            sheet.write(row, COUNT, "" if is_empty(count) else count, f.input)
            sheet.data_validation(row, COUNT, row, COUNT, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True, "error_type": "warning",
                "error_title": "次数", "error_message": _clip(f"“{item.name}”的次数应为不小于0的数")})
        if item.ranged:
            sheet.write(row, CHOSEN, "" if is_empty(chosen) else chosen, f.input)
            lo, hi = item.points
            bounds = ({"criteria": "between", "minimum": lo, "maximum": hi} if not math.isinf(hi)
                      else {"criteria": ">=", "value": lo})
            sheet.data_validation(row, CHOSEN, row, CHOSEN, {
                "validate": "decimal", **bounds, "ignore_blank": True, "error_type": "warning", "error_title": "选定值",
                "error_message": _clip(f"“{item.name}”的选定值应在{scoring.range_text(item)}范围内"),
                "input_title": "选定值", "input_message": _clip(f"每次的分值({scoring.range_text(item)})；空白按最低值{lo:g}计")})
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
            refs[0], count = self._voided(item, refs[0], count, unit, at)
        args = [None if is_empty(v) else v for v in (count, chosen, repeats)]
        amount = _one(kh_item(self.reference, item.id, *args)) if applies or not typed else ""
        formula = live(f"KH_ITEM(考核办法,{literal(item.id)},{','.join(refs)})", amount)
        if typed:  # a measured item's count is already empty where the item does not apply
            formula = f"IF({elsewhere},\"\",{formula})"
        sheet.write_formula(row, RAW, "=" + formula, f.amount, amount)  # hidden: KH_ITEM's own result
        raw = cell(row, RAW)
        message = isinstance(amount, str) and amount.startswith("#")
        shown = INVALID if message else amount
        invalid = literal(INVALID)
        show = f"=IF(LEFT({raw},1)=\"#\",{invalid},{raw})"
        if item.bonus:
            sheet.write_blank(row, AMOUNT, None, f.amount)
            sheet.write_formula(row, SCORE, show, f.bonus, shown)
        else:
            sheet.write_formula(row, AMOUNT, show, f.amount, shown)
            if item.item_points is not None:
                points = cell(row, POINTS)
                value = ("" if shown == "" else INVALID if message else item.item_points - amount)
                sheet.write_formula(row, SCORE, f"=IF({cell(row, AMOUNT)}=\"\",\"\",IF(ISNUMBER({cell(row, AMOUNT)}),"
                                                f"{points}-{cell(row, AMOUNT)},{invalid}))", f.score, value)
            else:
                sheet.write_blank(row, SCORE, None, f.score)
        note = ("" if not has_unit else f"本项只考核{aimed}，不适用于本单位" if party != aimed
                else self._note_words(item, count, chosen, repeats, amount if message else ""))
        sheet.write_formula(row, NOTE, self._note_formula(item, row, name_cell, elsewhere), f.note, note)
        sheet.write_string(row, SOURCE, citation(item.source), f.note)
        if message:
            self.bad_items.add(item.id)  # a bad input: its category, the unit's total and 汇总 say 输入有误
        return amount if isinstance(amount, float) else math.nan

    def _typed(self, item: Item) -> bool:
        """Whether 考核表 takes the item's count from the assessor (a yellow input): an item without a
        ticket measure, or one the tickets given cannot count (:meth:`LedgerPlan.measurable`)."""
        return not self.plan.measurable(item)

    def _measure(self, item: Item, unit_cell: str, mine: np.ndarray, unit: UnitInputs, at: dict) -> tuple[str, float]:
        """The Excel count of a ticket-measured item for the unit in ``unit_cell`` and its cached
        value for the unit's counted rows ``mine``. Only the unit's tickets of the item's party
        (人员类别) count, as in ``kaohe monthly``; a bonus with ``void_if`` counts 0 when the unit
        has findings for one of those items."""
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
                formula, value = overdue, float(flags.sum())
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
        elif kind == "avg_hours_over":
            limit = float(argument)
            keys = f"{plan.range('考核单位')},{unit_cell},{plan.range('入账')},1,{P},{literal(party)}"
            finished = f"COUNTIFS({keys},{plan.range('处理时长')},\">=0\")"
            total = f"SUMIFS({plan.range('处理时长')},{keys})"
            hours = [h for h in plan.column("处理时长").values[mine] if isinstance(h, (int, float))]
            value = float(scoring.measured(book, item.id, hours))
            formula = f"IF({finished}=0,0,IF({total}/{finished}>{limit + _EPS!r},1,0))"
        else:
            label = CANONICAL_FIELDS[argument]
            flags = plan.column(f"{label}标记").values[mine]
            formula, value = f"SUMPRODUCT({rows}*{plan.range(f'{label}标记')})", float(sum(flags))
        return self._voided(item, formula, value, unit, at)

    def _voided(self, item: Item, count: str, value: float, unit: UnitInputs, at: dict):
        """A bonus's count with ``void_if``: 0 when the unit has a typed count for one of the items
        that void it (``(formula, cached value)``, unchanged for other items)."""
        book = self.rulebook
        voiding = [key for key in item.void_if if self._typed(book.item(key))
                   and book.party_of(book.item(key)) == book.party_of(item)]
        if not voiding:
            return count, value
        found = [unit.items.get(key, (math.nan,))[0] for key in voiding]
        if value and any(not is_empty(c) and c > 0 for c in found):
            value = 0.0
        cells = ",".join(xl_rowcol_to_cell(at[key], COUNT) for key in voiding)
        return f"IF(SUM({cells})>0,0,{count})", value

    # -- 汇总 ----------------------------------------------------------------------------------------------
    def _summary(self, sheet) -> None:
        f, book, plan = self.f, self.rulebook, self.plan
        cell = xl_rowcol_to_cell
        sheet.write_string(0, 0, f"{book.title} 月度考核汇总", f.title)
        sheet.write_string(1, 0, f"{self.stamp} ｜ 黄色单元格可填写: 考核单位、代维费、本年度以前各月的得分与及时率", f.stamp)
        if not self.scored:
            sheet.write_string(2, 0, f"{cannot_score_reason(self.rulebook)}。", f.banner)
        aparts = [apart_label(a) for a in self.aparts]
        widths: dict[int, float] = {}
        bands = list(plan.band_stages())  # 平均{stage}得分: the mean of the unit's per-ticket band points
        for j, (header, width) in enumerate(zip(SUMMARY_HEADERS + tuple(aparts) + tuple(map(band_label, bands)),
                                                (5, 16, 8, 9, 8, 9, 9, 8, 8, 9, 13, 14, 40)
                                                + (12,) * (len(aparts) + len(bands)))):
            column = j if j <= RISK else RISK + 1 + (j - RISK - 1)
            if self.score_unit == "元":  # a score in money: as the monthly table heads it
                header = total_label(book, header)
            sheet.write_string(SUMMARY_TOP, column, header, f.header)
            sheet.set_column(column, column, width)
            widths[column] = width
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
            widths.update({j: 8 for j in range(first_score, first_rate + 12)})
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
                        and not is_empty(score) and score != INVALID else INVALID if score == INVALID else "")
                sheet.write_formula(r, PAID, f"=IF({s}={literal(INVALID)},{literal(INVALID)},IF(OR({fee}=\"\",{s}=\"\"),"
                                             f"\"\",{live(f'KH_PAYMENT(考核办法,{fee},{s})', paid)}))", f.money, paid)
            else:
                sheet.write_blank(r, PAID, None, f.fixed)
            if history:
                self._history(sheet, r, unit, score, rate, this_month, first_score, first_rate, first_helper)
            else:
                sheet.write_blank(r, RISK, None, f.fixed)
        self._reconcile(sheet, SUMMARY_TOP + len(self.units) + 2)
        sheet.freeze_panes(SUMMARY_TOP + 1, 2)
        print_ready(sheet, [widths.get(j, 0) for j in range(max(widths) + 1)], header_rows=(SUMMARY_TOP, SUMMARY_TOP),
                    repeat_columns=(0, UNIT), header=f"{book.title} 月度考核汇总", allow_a3=True)
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
        sheet.write_formula(r, RISK, f"=IF({cell(r, UNIT)}=\"\",\"\",{live(f'KH_RISK(考核办法,{args})', cached)})",
                            f.warning, cached)
        if isinstance(cached, str) and cached:  # the warning wraps in its column: the row as tall as it
            sheet.set_row(r, row_height([(cached, 40)]))

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
            sheet.set_row(row + k, row_height([(label, 5 + 16)]))
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
        note = ("说明: 填写官方日历之外的放假与调休上班(如新一年的安排尚未收录时)，以及本单位的休息日/工作日；"
                "填好后按“说明”表的“刷新节假日”按钮，单元格函数即按此计算。")
        sheet.set_column(4, 4, 60)
        sheet.set_row(0, row_height([(note, 60)]))
        sheet.write_string(0, 4, note, f.hint)
        print_ready(sheet, (12, 12, 24, 8.43, 60), header_rows=(0, 0), header=f"{self.rulebook.title} 节假日")

    def _rules(self, sheet) -> None:
        """规则: the rulebook's items and time limits as a table, in words (no measure tokens, no file names)."""
        f, book = self.f, self.rulebook
        from udfs.rulelist import amount
        widths = (7, 14, 20, 16, 12, 20, 60, 20)
        sheet.write_string(0, 0, f"{book.title}({book.name} {book.version})", f.title)
        row = 2
        headers = ("编号", "类别", "考核项", "扣分/加分", "清零", "计数方法", "考核标准", "出处")
        for j, (header, width) in enumerate(zip(headers, widths)):
            sheet.write_string(row, j, header, f.header)
            sheet.set_column(j, j, width)
        for item in book.items:
            row += 1
            category = book.category(item.category) if item.category is not None else None
            zero = (f"{item.zero_out_at}{item.per}{'以上' if item.zero_out_inclusive else '以上(不含)'}扣完"
                    f"{item.item_points:g}{item.unit}" if item.zero_out_at is not None else "")
            name = item.name + (f"(只考核{book.party_of(item)})" if len(book.parties) > 1 else "")
            measure = (f"由台账计算: {measure_words(item.measure)}" if item.measure else "考核人员填写次数")
            if item.void_if:
                measure += "；本月有" + "、".join(book.item(key).name for key in item.void_if) + "的记录时不奖励"
            if item.unit != self.score_unit and self.scored:
                measure += f"；按{item.unit}另计，不计入得分"
            values = (item.id, category.name if category else "", name, amount(item), zero, measure, item.text,
                      citation(item.source))
            sheet.set_row(row, row_height(zip(values, widths)))
            for j, value in enumerate(values):
                sheet.write_string(row, j, str(value), f.wrap)
        row += 2
        limit_widths = (7, 14, 20, 16, 12, 20, 60)
        for j, header in enumerate(("环节", "优先级", "区域", "工单类型", "时限", "起止", "出处")):
            sheet.write_string(row, j, header, f.header)
        for limit in book.time_limits:
            row += 1
            values = (limit.stage, "/".join(limit.priority or ()) or "任意", "/".join(limit.area or ()) or "任意",
                      "/".join(limit.kind or ()) or "任意",
                      limit_words(limit) + (f"(工作时段 {limit.hours})" if limit.hours else ""), span_words(limit),
                      citation(limit.source))
            sheet.set_row(row, row_height(zip(values, limit_widths)))
            for j, value in enumerate(values):
                sheet.write_string(row, j, str(value), f.wrap)
        print_ready(sheet, widths, header_rows=(2, 2), header=f"{book.title} 规则", allow_a3=True)
        sheet.protect(self.password)

    def _notes(self, sheet, buttons: bool) -> None:
        f, book, plan = self.f, self.rulebook, self.plan
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 22)
        sheet.set_column(2, 2, 90)
        tall: dict[int, list] = {}  # row → [(text, width)]: rows are as tall as their wrapped text

        def need(row: int, text: str, width: float = 90) -> None:
            tall.setdefault(row, []).append((text, width))
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
        sheet.write_string(2, 2, "← 填写本月(如 2025-10)。归档时文件夹按此命名。", f.hint)
        sheet.write_string(3, 0, "考核办法", f.label)
        sheet.write_string(3, 1, book.name, f.value)
        carried = (f"；本办法未安装在本机，规则文件随工作簿保存(隐藏表“{RULES_SHEET}”)，换电脑也能计算" if self.embedded else "")
        about = f"{book.title} {book.version}(本工作簿按此办法生成；换办法请重新生成工作簿{carried})"
        sheet.write_string(3, 2, about, f.hint)
        need(3, about)
        rows = [("日历数据", self.calendar.version), ("程序版本", f"kaohe {udfs.__version__}"),
                ("台账行数", (f"台账公式计算“工单”表第 2—{plan.rows + 1} 行；更多工单请用 kaohe workbook --rows 重新生成，"
                            "或按“生成本月考核表”按钮(不限行数)"))]
        for k, (label, value) in enumerate(rows, start=4):
            sheet.write_string(k, 0, label, f.label)
            sheet.merge_range(k, 1, k, 2, value, f.wrap)
            need(k, value, 112)
        sheet.write_string(7, 0, "考核结果", f.label)
        if self.scored:
            result = (f"按“考核表”逐项计分(得分单位: {self.score_unit})"
                      + (f"；{'、'.join(self.aparts)}计的考核项另计合计，不计入得分" if self.aparts else ""))
            sheet.merge_range(7, 1, 7, 2, result, f.wrap)
            need(7, result, 112)
        else:
            result = f"{cannot_score_reason(self.rulebook)}。本工作簿不给得分。"
            sheet.merge_range(7, 1, 7, 2, result, f.alarm)
            need(7, result + "一二", 112)  # 12 pt
        sheet.write_string(8, 0, "单元格函数", f.label)  # 函数状态: live results or the ones saved when built
        volatile = f"LEFT(T(INDIRECT({literal('说明!$A$1')})),0)"  # "", volatile: re-checked at every recalculation
        check = f"KH_WORKDAYS(\"2025-10-01\"&{volatile},\"2025-10-12\")"
        sheet.merge_range(8, 1, 8, 2, "", f.alarm)
        sheet.write_formula(8, 1, f"=IFERROR(IF(ISNUMBER({check}),{literal(STATUS_LIVE)},\"出错: \"&{check}),"
                                  f"{literal(STATUS_STALE)})", f.alarm, STATUS_CACHED)
        sheet.set_row(8, max(36, row_height([(STATUS_STALE, 112 * 11 / 12), (STATUS_CACHED, 112 * 11 / 12)], 12)))
        row = 9
        sheet.write_string(row, 0, "本月考核环节", f.label)
        if not plan.stages:
            sheet.merge_range(row, 1, row, 2, "本办法的时限表没有可按工单计时的环节: 台账不计时，没有及时率"
                              + ("(逐单按历时分档计分，见下)" if plan.band_stages() else ""), f.wrap)
            row += 1
        for stage, timing in plan.stages.items():
            ends = "、".join(CANONICAL_FIELDS[end] for end in timing.ends)
            described = _clip(timing.describe(self.rulebook), 1000)
            sheet.write_string(row, 1, stage, f.cell)
            yes, no = f"考核({described})", f"不考核(“工单”表的{ends}列为空)"
            sheet.write_formula(row, 2, f"=IF({plan.enabled_ref(stage)},{literal(yes)},{literal(no)})",
                                f.wrap, yes if plan.enabled[stage] else no)
            need(row, yes)
            need(row, no)
            row += 1
        for stage, band in plan.band_stages().items():  # per-ticket points by elapsed hours (台账 {stage}得分)
            start, end = CANONICAL_FIELDS[band.start_field], CANONICAL_FIELDS[band.end_field]
            yes, no = f"按历时分档计分({start}→{end}，见“台账”{stage}得分)", f"不计分(入账工单的{end}列为空)"
            sheet.write_string(row, 1, stage, f.cell)
            sheet.write_formula(row, 2, f"=IF({plan.band_ref(stage)},{literal(yes)},{literal(no)})", f.wrap,
                                yes if plan.band_enabled[stage] else no)
            need(row, yes)
            need(row, no)
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
            f"xlwings 的设置在隐藏的“{vba.CONF_SHEET}”表(右键工作表标签 → 取消隐藏)；需要为本工作簿指定 Python 时按其中的说明填写。",
        ]
        sheet.write_string(row, 0, "使用步骤", f.label)
        for k, step in enumerate(steps, start=1):
            sheet.write_string(row, 1, f"第{k}步", f.cell)
            sheet.write_string(row, 2, step, f.wrap)
            need(row, step)
            row += 1
        for row, cells in tall.items():
            sheet.set_row(row, row_height(cells))
        print_ready(sheet, (16, 22, 90), header=f"{book.title} 考核工作簿")
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
