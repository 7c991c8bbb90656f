"""The 台账 sheet of the assessment workbook: one array formula per column over the 工单 sheet.

Each :class:`Column` pairs the Excel formula written over the whole column (``{=…}``, one
call per column, as the cell functions are made for) with the values that formula gives,
computed here from the same cells: the ``KH_`` columns by the very cell functions Excel
calls, the plain comparisons by numpy. The values are cached in the file, so the ledger
reads right before Python is attached; a test evaluates every formula with a formula
engine and compares it with the cache, and compares the verdicts and amounts with ``kaohe ledger``.

The semantics are the ledger's (:mod:`generators.ledger`):

* each ticket is timed at a stage by the time-limit row that applies to it (the most specific
  match of 优先级/区域/工单类型), from that row's start column to its end column: where the rows
  differ, a ``{stage}起算`` column holds a nested ``IF`` over the rows' conditions, most specific
  first. A ticket no row fits, or without its row's start time, is not assessed there: 及时 says
  不考核, no deadline, no overdue hours, and it stays counted (no 状态 message). KH_DUE gets an
  empty stage for those tickets, so it gives an empty cell rather than its "no row fits" message;
  a stage whose rows take each ticket's own 办理时限 is timed by ``KH_DEADLINE`` instead;
* every ticket is assessed as its unit's party (``ticket_parties``): 人员类别 is the most frequent
  人员类别 among the unit's counted tickets (a value that is none of the rulebook's parties counts
  as the scheme's own; ties go to the party seen first in the sheet), the ticket's own being in
  人员类别(工单) when the rulebook has several parties;
* each per-ticket item (``overdue:…``, ``flag:…``) gives a ticket of its party the marginal
  amount f(k) − f(k−1): ``{item}第几张`` numbers the unit's tickets it counts by dispatch time
  (ties by row, ``MMULT`` over the column), ``{item}累计`` is ``KH_ITEM`` of k, and the item's
  amount column the difference, so a unit's tickets sum to the item's amount in 考核表. A category
  with points (每类最多扣该类分值) is spent in dispatch order over the unit's tickets
  (``_cap_categories``): a ticket gets what is left of the category, so they sum to the table's
  category subtotal; 扣分 (分) and 扣款(元) (元) total them per unit of account, never together;
* each ``[[bands]]`` stage has ``{stage}历时`` (``KH_ELAPSED`` from the band's from- to its
  until-field, suspensions deducted, to the month's end for a ticket without the end time) and
  ``{stage}得分`` (``KH_BAND``), empty while no counted ticket has the end time.

Helper columns (running totals, tallies) are hidden; each is still one array formula.

The checks in 状态 mirror those of the ticket import and the ledger (missing or repeated
ticket id, unreadable or impossible times, dispatch outside the month, unknown priority,
unreadable flags, deadlines the rulebook cannot give), so the rows counted in 考核表 are
those ``kaohe monthly`` counts. One difference by design: a stage whose end column is
empty in every row is not assessed (the template always has every column; an export
without that column is how the generators see it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from generators.ledger import AMOUNT_COLUMNS, NOT_ASSESSED, per_ticket, stage_fields
from generators.tickets import (
    AFTER_DISPATCH,
    FLAG_FALSE,
    FLAG_TRUE,
    TIME_FIELDS,
    _cell_text,
    _priority_rules,
    _texts,
)
from generators.workbooks import utf16_length
from udfs.cellio import is_empty
from udfs.errors import KaoheError
from udfs.rulebook import CANONICAL_FIELDS, Rulebook
from udfs.scoring_cells import kh_band, kh_due, kh_item
from udfs.timeliness_cells import kh_date, kh_deadline, kh_elapsed

TICKETS = "工单"
LEDGER = "台账"
FIELDS = tuple(CANONICAL_FIELDS)        # the 工单 sheet's columns, in this order
TEXT_FIELDS = ("ticket_id", "unit", "priority", "area", "kind")
KEYS = (("priority", "优先级"), ("area", "区域"), ("kind", "工单类型"))  # what a time-limit row is keyed by
EPOCH = dt.datetime(1899, 12, 30)
GIVEN_PARTY = "人员类别(工单)"  # a ticket's own 人员类别 (several parties): its unit's majority is 人员类别


def serial(moment) -> float:
    """An Excel serial day number (1900 date system) of a datetime."""
    return (moment - EPOCH).total_seconds() / 86400


def areas(rulebook: Rulebook) -> tuple[str, ...]:
    names = [a for row in rulebook.time_limits for a in (row.area or ())]
    return tuple(dict.fromkeys(names)) or ("城区", "乡镇", "农村")


@dataclasses.dataclass
class Column:
    """One 台账 column: header, array formula (without braces), cached values, display kind."""

    header: str
    formula: str | None
    values: np.ndarray
    kind: str = "text"  # text, time, hours, number, count (zeros blank), amount
    hidden: bool = False  # a helper column (running totals, tallies): hidden in the sheet


def _num(values: np.ndarray) -> np.ndarray:
    """Serial numbers where a value is a number or datetime, else NaN."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, dt.datetime):
            out[i] = serial(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[i] = float(v)
    return out


def _flat(cells) -> np.ndarray:
    return np.asarray(cells, dtype=object).reshape(-1)


def _column(grid: np.ndarray) -> np.ndarray:
    return grid.reshape(-1, 1)


STRING_LIMIT = 255  # Excel: the most characters of a string constant in a formula
NAME_LIMIT = 255    # Excel: the most characters of a defined name
FORMULA_LIMIT = 8192  # Excel: the most characters of a formula
# what every spreadsheet takes in a defined name after its first character: ASCII letters and
# digits, "_", "." and the CJK ideographs (spaces, brackets, quotes, operators never)
_NAME_CHARACTERS = re.compile(r"[0-9A-Za-z_.\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def literal(text) -> str:
    """``text`` as an Excel string constant, the one way rulebook (or any) text enters a formula:
    each ``"`` doubled, and text beyond Excel's 255-character limit for a constant split into
    pieces joined with ``&`` (in brackets, so that it stands as one operand anywhere)."""
    pieces, piece, size = [], "", 0
    for character in str(text):
        width = utf16_length(character) * (2 if character == '"' else 1)
        if size + width > STRING_LIMIT:
            pieces.append(piece)
            piece, size = "", 0
        piece, size = piece + character, size + width
    pieces.append(piece)
    quoted = ['"' + p.replace('"', '""') + '"' for p in pieces]
    return quoted[0] if len(quoted) == 1 else "(" + "&".join(quoted) + ")"


def number(value) -> str:
    """A number as it stands in a formula: 15 significant digits (Excel's), no exponent for the
    sizes a rulebook allows; never inf or nan (the rulebook refuses them)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return f"{value:.15g}"


def defined_name(header: str) -> str:
    """What of a column header can stand in a defined name (扣款(元) → 扣款元): the characters of
    :data:`_NAME_CHARACTERS`, the others dropped. :meth:`LedgerPlan.name` makes it unique and valid."""
    return "".join(_NAME_CHARACTERS.findall(str(header)))


@dataclasses.dataclass
class Stage:
    """How the 台账 times one stage: the time-limit rows that apply to it (most specific first)
    and, per ticket, the start and end of the row that applies (Excel expression + values)."""

    name: str
    rows: dict[int, tuple[str, str]]  # index in rulebook.time_limits → (start field, end field)
    order: list[int]                  # the rows, most specific first (ties: the table's order)
    start: str = ""                   # Excel: the ticket's start time (a defined name)
    start_values: np.ndarray = None
    end: str = ""
    end_values: np.ndarray = None
    start_label: str = ""             # Excel: the start column's name per ticket (for messages)
    start_labels: np.ndarray = None
    end_label: str = ""
    end_labels: np.ndarray = None
    fits: str | None = None           # Excel: 1 where some row applies (None: every ticket fits)
    fits_mask: np.ndarray = None
    argument: str = ""                # the stage argument of KH_DUE ("" where not assessed)
    argument_mask: np.ndarray = None
    ticket_limit: bool = False        # every row takes the ticket's own 办理时限 (KH_DEADLINE, not KH_DUE)

    @property
    def ends(self) -> list[str]:
        return list(dict.fromkeys(end for _, end in self.rows.values()))

    def describe(self, rulebook: Rulebook) -> str:
        """``回复时间→回访时间(工单类型 处理期间已解决)；通知时间→回访时间(…)`` — the fields timed."""
        label = CANONICAL_FIELDS
        pairs = {pair for pair in self.rows.values()}
        if len(pairs) == 1:
            start, end = next(iter(pairs))
            return f"{label[start]}→{label[end]}"
        parts = []
        for k in self.order:
            start, end = self.rows[k]
            row = rulebook.time_limits[k]
            keyed = "、".join(f"{header} {'/'.join(getattr(row, key))}" for key, header in KEYS if getattr(row, key))
            parts.append(f"{label[start]}→{label[end]}" + (f"({keyed})" if keyed else ""))
        return "；".join(parts)


class LedgerPlan:
    """The 台账 columns for ``rows`` 工单 rows (data from Excel row 2), with cached values.

    ``reference`` is what the 考核办法 cell holds (name or path). ``tickets`` maps canonical fields to raw cell values (length ``rows``; None = empty), as
    they stand in the 工单 sheet. ``month_start``/``as_of`` bound the month (None when the
    workbook's month is still blank).

    Each ticket is timed at a stage by the time-limit row that applies to it (the most specific
    match of 优先级/区域/工单类型, as ``kaohe ledger`` does), from that row's start column to its end
    column: a nested ``IF`` over the rows' conditions, most specific first. A ticket no row fits,
    or without the row's start time, is not assessed there (及时 = 不考核, no deadline) and stays
    counted. Per-ticket amounts are the marginal amounts of :func:`generators.ledger._attribute`.
    """

    def __init__(self, rulebook: Rulebook, reference: str, tickets: dict[str, np.ndarray], rows: int,
                 month_start: dt.datetime | None, as_of: dt.datetime | None):
        self.rulebook, self.reference, self.rows = rulebook, reference, rows
        self.raw = {f: _flat(tickets.get(f, np.full(rows, None, dtype=object))) for f in FIELDS}
        self.present = {f for f in tickets if f in FIELDS}  # the export's columns (filled or not)
        self.any_ticket = any(not is_empty(v) for f in FIELDS for v in self.raw[f])
        self.month_start, self.as_of = month_start, as_of
        limits = rulebook.time_limits
        self.stages: dict[str, Stage] = {
            stage: Stage(stage, rows_, sorted(rows_, key=lambda k: (-limits[k].specificity, k)))
            for stage, rows_ in stage_fields(rulebook).items()}
        for stage in self.stages.values():
            stage.ticket_limit = all(limits[k].ticket_limit for k in stage.rows)
        self.enabled = {name: any(not is_empty(v) for end in stage.ends for v in self.raw[end])
                        for name, stage in self.stages.items()}
        self.has_replies = any(v is not None for v in self.raw["replied_at"])
        self.columns: list[Column] = []
        self._at: dict[str, Column] = {}
        self._names: dict[tuple[str, str], str] = {}  # (prefix, text) → its defined name
        self._taken: set[str] = set()
        self.per_ticket = [item for item in rulebook.items if per_ticket(item)]
        units = [rulebook.score_unit]
        self.amount_units = units + [u for u in dict.fromkeys(i.unit for i in self.per_ticket) if u not in units]
        if not self.per_ticket:  # nothing is charged per ticket: no amount column that would read as "nothing lost"
            self.amount_units = []
        self._build()

    # -- references ---------------------------------------------------------------------------------
    def ticket_range(self, field: str) -> str:
        """The defined name of a 工单 column's data cells (工单_派单时间 ...)."""
        return f"{TICKETS}_{CANONICAL_FIELDS[field]}"

    def range(self, header: str) -> str:
        """The defined name of a 台账 column's data cells (台账_入账 ...)."""
        return self.name(f"{LEDGER}_", header)

    def enabled_ref(self, stage: str) -> str:
        """The defined name saying whether ``stage`` is timed this month (启用_回复 ...)."""
        return self.name("启用_", stage)

    def band_ref(self, stage: str) -> str:
        """The defined name saying whether the band stage ``stage`` is scored this month (分档_响应 ...)."""
        return self.name("分档_", stage)

    def name(self, prefix: str, text: str) -> str:
        """A valid defined name for ``text`` (a header, a stage), the same each time it is asked for:
        ``prefix`` + :func:`defined_name` (台账_扣款元), or, when that is empty, too long or already
        another text's, ``prefix`` + 名称N. The prefix starts with a CJK character, so the name never
        looks like a cell (A1, R1C1) nor starts with a digit."""
        key = (prefix, str(text))
        if key not in self._names:
            name = prefix + defined_name(text)
            if name == prefix or utf16_length(name) > NAME_LIMIT or name in self._taken:
                k = 1
                while f"{prefix}名称{k}" in self._taken:
                    k += 1
                name = f"{prefix}名称{k}"
            self._names[key] = name
            self._taken.add(name)
        return self._names[key]

    def names(self) -> dict[str, str]:
        """Every defined name of the two sheets' data columns → its absolute range."""
        last = self.rows + 1
        out = {}
        for j, field in enumerate(FIELDS):
            col = xl_col_to_name(j)
            out[self.ticket_range(field)] = f"={TICKETS}!${col}$2:${col}${last}"
        for j, column in enumerate(self.columns):
            col = xl_col_to_name(j)
            out[self.range(column.header)] = f"={LEDGER}!${col}$2:${col}${last}"
        return out

    def enabled_name(self, stage: str) -> str:
        """The defined name (and its formula) saying whether ``stage`` is timed this month: some
        end column it needs has data (a template's 回访时间 column nobody fills is not timed)."""
        counts = "+".join(f"COUNTA({self.ticket_range(end)})" for end in self.stages[stage].ends)
        return f"=({counts})>0"

    def band_stages(self) -> dict:
        """The stages of the rulebook's ``[[bands]]`` (first band of each: its from/until fields)
        that the 台账 can time (both fields are time columns)."""
        out = {}
        for band in self.rulebook.bands:
            if band.stage not in out and band.start_field in TIME_FIELDS and band.end_field in TIME_FIELDS:
                out[band.stage] = band
        return out

    def band_enabled_name(self, stage: str) -> str:
        """The defined name (分档_{stage}) formula: some counted ticket has the band's end time, as
        ``kaohe ledger`` scores a band only when the export's end column has data."""
        end = CANONICAL_FIELDS[self.band_stages()[stage].end_field]
        return f"=SUMPRODUCT(({self.range('入账')}=1)*ISNUMBER({self.range(end)}))>0"

    def measurable(self, item) -> bool:
        """Whether the tickets given can count a ticket-measured item (``kaohe monthly``'s
        ``_measurable``): a stage of ``overdue:``/``none_overdue:`` is timed (an end column has data),
        the ``flag:`` column is in the export, the handling times are. Else the assessor types the
        count (from the findings). Without any ticket (an empty template) every measure is counted
        from 台账: the export to be pasted is assumed to carry the columns the rulebook times."""
        if not item.measure:
            return False
        if not self.any_ticket:
            return True
        kind, _, argument = item.measure.partition(":")
        if kind in ("overdue", "none_overdue"):
            return any(self.enabled.get(stage, False) for stage in argument.split("|"))
        if kind == "flag":
            return argument in self.present
        return "dispatched_at" in self.present and bool({"replied_at", "closed_at"} & self.present)

    def missing_for(self, item) -> str:
        """The columns a ticket-measured item lacks, in words (回访时间; 二次投诉)."""
        kind, _, argument = item.measure.partition(":")
        if kind in ("overdue", "none_overdue"):
            ends = [end for stage in argument.split("|") if stage in self.stages for end in self.stages[stage].ends]
            return "、".join(dict.fromkeys(CANONICAL_FIELDS[end] for end in ends)) or f"{argument}的计时"
        if kind == "flag":
            return CANONICAL_FIELDS.get(argument, argument)
        return "回复时间或归档时间"

    def column(self, header: str) -> Column:
        return self._at[header]

    def _add(self, column: Column) -> Column:
        if column.header in self._at:  # two rulebook names give one header (item 超时 and …): refuse, never mix
            raise KaoheError(f"考核办法 {self.rulebook.name}: 台账会有两列同名“{column.header}”(考核项编号、环节名、"
                             "类别或人员类别的名称重合)，请在规则文件中改用不同的名称",
                             f"rulebook {self.rulebook.name}: two ledger columns would be called {column.header!r}; "
                             "rename an item, stage, category or party")
        if column.formula is not None and len(column.formula) + 3 > FORMULA_LIMIT:  # {= … }
            raise KaoheError(f"考核办法 {self.rulebook.name}: 台账“{column.header}”列的公式有 {len(column.formula)} 个字符，"
                             f"超过 Excel 的上限 {FORMULA_LIMIT}(时限表的行或优先级、区域、工单类型的取值过多过长)",
                             f"rulebook {self.rulebook.name}: the formula of ledger column {column.header!r} would have "
                             f"{len(column.formula)} characters, beyond Excel's {FORMULA_LIMIT}")
        self.columns.append(column)
        self._at[column.header] = column
        return column

    # -- the columns -----------------------------------------------------------------------------
    def _build(self) -> None:
        n, raw, book = self.rows, self.raw, self.rulebook
        label = CANONICAL_FIELDS
        self._add(Column("行号", None, np.arange(2, n + 2).astype(object), "number"))
        for field in TEXT_FIELDS:
            src = self.ticket_range(field)
            inner = f"SUBSTITUTE(TRIM({src}),\" \",\"\")" if field == "priority" else f"TRIM({src})"
            texts = _texts(raw[field])
            values = np.array([t.strip().replace(" ", "") if field == "priority" else t.strip() for t in texts],
                              dtype=object)
            self._add(Column(label[field], f"IF({src}=\"\",\"\",{inner})", values))
        self._given_parties()
        for field in TIME_FIELDS:
            values = _flat(kh_date(_column(raw[field])))
            self._add(Column(label[field], f"KH_DATE({self.ticket_range(field)})", values, "time"))
        ids = self.column("工单号").values
        self.blank = np.array([i == "" and is_empty(d) for i, d in zip(ids, raw["dispatched_at"])], bool)
        blank = f"({self.range('工单号')}=\"\")*({self.ticket_range('dispatched_at')}=\"\")"

        for name, stage in self.stages.items():
            self._time(stage)
            if stage.ticket_limit:
                deadline = self._ticket_deadline(stage)
            else:
                deadline = _flat(kh_due(self.reference, _column(np.where(stage.argument_mask, name, None)),
                                        _column(self._timed_start(stage)), _column(self.column("优先级").values),
                                        _column(self.column("区域").values), _column(self.column("工单类型").values),
                                        _column(raw["suspended"])))
                self._add(Column(f"{name}截止", (
                    f"KH_DUE(考核办法,{stage.argument},{self._timed_start_formula(stage)},{self.range('优先级')},"
                    f"{self.range('区域')},{self.range('工单类型')},{self.ticket_range('suspended')})"), deadline, "time"))
            d = self.range(f"{name}截止")
            # a ticket's own 办理时限 that cannot be read: not assessed there (as the ledger), no rejection
            unread = f"IF(LEFT({d},3)=\"#时限\",{literal(NOT_ASSESSED)},\"\")" if stage.ticket_limit else "\"\""
            e = stage.end
            hours = self._overdue_hours(deadline, stage.end_values)
            self._add(Column(f"{name}超时小时", (
                f"IF(ISNUMBER({d}),IF(ISNUMBER({e}),IF({e}>{d},({e}-{d})*24,0),"
                f"IF(ISNUMBER(统计截止),IF(统计截止>{d},(统计截止-{d})*24,0),\"\")),\"\")"),
                hours, "hours"))
            h = self.range(f"{name}超时小时")
            # a stage not assessed this month (its end column empty throughout) leaves the column blank:
            # its header and 说明 say so once, not every row
            verdicts = self._verdicts(deadline, stage.end_values, hours, stage.ticket_limit)
            if not self.enabled[name]:
                verdicts = np.full(n, "", dtype=object)
            self._add(Column(f"{name}及时", (
                f"IF({self.enabled_ref(name)},IF(ISNUMBER({d}),IF(ISNUMBER({e}),IF({e}<={d},\"是\",\"否\"),"
                f"IF(ISNUMBER({h}),IF({h}>0,\"超时未完成\",\"未完成\"),\"未完成\")),"
                f"IF(LEFT({d},1)=\"#\",{unread},IF({blank},\"\",{literal(NOT_ASSESSED)}))),\"\")"),
                verdicts))

        self._add(Column("超时", (f"IF(({self.overdue_expression(list(self.stages))})>0,1,0)"
                                  if self.stages else "0*ROW(" + self.ticket_range("ticket_id") + ")"),
                         self.overdue_flags(list(self.stages)).astype(float).astype(object), "number"))
        timed = "+".join(f"ISNUMBER({self.range(f'{s}截止')})*{self.enabled_ref(s)}" for s in self.stages)
        self._add(Column("计时", f"IF(({timed})>0,1,0)" if timed else "0*ROW(" + self.ticket_range("ticket_id") + ")",
                         self.timed_flags().astype(float).astype(object), "number"))
        if any(i.measure.startswith("avg_hours_over") for i in book.items):
            end_values = self.column(label["replied_at" if self.has_replies else "closed_at"]).values
            starts = self.column("派单时间").values  # a rejected date is said once, in 状态, not again here
            starts = np.array([v if isinstance(v, dt.datetime) else None for v in starts], dtype=object)
            hours = _flat(kh_elapsed(_column(starts), _column(end_values), "", _column(raw["suspended"])))
            t = self.range("派单时间")
            self._add(Column("处理时长", (
                f"KH_ELAPSED(IF(ISNUMBER({t}),{t},\"\"),IF(有回复时间,{self.range('回复时间')},{self.range('归档时间')}),"
                f"\"\",{self.ticket_range('suspended')})"), hours, "hours"))
        for field in self.flag_fields():
            src = self.ticket_range(field)
            yes = "+".join(f"(UPPER(TRIM({src}))={literal(v)})" for v in FLAG_TRUE)
            values = np.array([int(t.strip().upper() in FLAG_TRUE) for t in _texts(raw[field])], dtype=object)
            self._add(Column(f"{label[field]}标记", f"IF(({yes})>0,1,0)", values, "number"))

        status = self._status()
        self._add(Column("状态", status[0], status[1]))
        counted = np.where(self.blank, "", np.where(status[1] == "", 1, 0)).astype(object)
        counted = np.array([v if v == "" else int(v) for v in counted], dtype=object)
        self._add(Column("入账", (f"IF({blank},\"\",IF({self.range('状态')}=\"\",1,0))"), counted, "number"))
        self._unit_parties()
        self._bands()
        self._attribute()

    # -- 人员类别: the unit's, as kaohe ledger assesses every ticket ----------------------------------------
    def _given_parties(self) -> None:
        """Each ticket's 人员类别 as the rulebook knows it (``generators.ledger.given_parties``): an
        empty value, or one naming none of the rulebook's parties, is the scheme's own party. With a
        single party that is every ticket's 人员类别; with several, the ticket's own goes to
        :data:`GIVEN_PARTY` and 人员类别 (its unit's) is filled by :meth:`_unit_parties`."""
        book, src = self.rulebook, self.ticket_range("party")
        texts = np.array([t.strip() for t in _texts(self.raw["party"])], dtype=object)
        given = np.array([t if t in book.parties else book.party for t in texts], dtype=object)
        label = CANONICAL_FIELDS["party"]
        if len(book.parties) == 1:
            self._add(Column(label, f"{literal(book.party)}&LEFT({src},0)", given))
            return
        trimmed = f"TRIM({src})"
        known = "+".join(f"({trimmed}={literal(p)})" for p in book.parties)
        self._add(Column(GIVEN_PARTY, f"IF(({known})>0,{trimmed},{literal(book.party)})", given))
        self._add(Column(label, None, given))  # the formula and values come with 入账 (_unit_parties)

    def _unit_parties(self) -> None:
        """人员类别 of every ticket = its unit's (``generators.ledger.ticket_parties``): the most
        frequent :data:`GIVEN_PARTY` among the unit's counted tickets, ties to the party whose first
        ticket comes first in the sheet; a unit without counted tickets keeps each ticket's own.

        Per party ``p`` a hidden tally ``{p}计票`` = (the unit's counted tickets of ``p``) × (rows + 2)
        − (the row of the first of them), so that the largest tally is the majority, ties broken by the
        first appearance; ``人员类别首张`` marks each unit's first counted ticket of each party."""
        book = self.rulebook
        if len(book.parties) == 1:
            return
        n = self.rows
        U, G, C, R = self.range("考核单位"), self.range(GIVEN_PARTY), self.range("入账"), self.range("行号")
        ones = f"ROW({R})^0"
        units, given, counted = self.units(), self.column(GIVEN_PARTY).values, self.counted()
        rows = np.arange(2, n + 2)
        first = np.zeros(n, bool)
        seen = set()
        for i in np.flatnonzero(counted):
            if (units[i], given[i]) not in seen:
                seen.add((units[i], given[i]))
                first[i] = True
        F = self.range(self._add(Column("人员类别首张", (
            f"({C}=1)*(MMULT(({U}=TRANSPOSE({U}))*({G}=TRANSPOSE({G}))*TRANSPOSE(({C}=1)*1)*(TRANSPOSE({R})<{R}),"
            f"{ones})=0)"), first.astype(int).astype(object), "number", hidden=True)).header)
        big = n + 2
        tallies = []
        for party in book.parties:
            mine = counted & (given == party)
            tally = np.zeros(n)
            for unit in dict.fromkeys(units[mine]):
                tally[units == unit] = (mine & (units == unit)).sum() * big - rows[mine & first & (units == unit)].sum()
            column = self._add(Column(f"{party}计票", (
                f"MMULT(({U}=TRANSPOSE({U}))*TRANSPOSE(({C}=1)*({G}={literal(party)})*({big}-{F}*{R})),{ones})"),
                tally.astype(object), "number", hidden=True))
            tallies.append((party, self.range(column.header), tally))
        formula = literal(tallies[-1][0])
        for j in range(len(tallies) - 2, -1, -1):
            beats = "*".join(f"({tallies[j][1]}>{tallies[k][1]})" for k in range(len(tallies)) if k != j)
            formula = f"IF({beats},{literal(tallies[j][0])},{formula})"
        total = "+".join(ref for _, ref, _ in tallies)
        grid = np.column_stack([tally for _, _, tally in tallies])
        values = np.array([given[i] if not grid[i].any() else tallies[int(np.argmax(grid[i]))][0] for i in range(n)],
                          dtype=object)
        party_column = self.column(CANONICAL_FIELDS["party"])
        party_column.formula, party_column.values = f"IF(({total})=0,{G},{formula})", values

    # -- [[bands]]: per-ticket points by elapsed hours ------------------------------------------------------
    def _bands(self) -> None:
        """Per band stage: ``{stage}历时`` (KH_ELAPSED from the band's from-field to its until-field,
        suspensions deducted, to 统计截止 for a ticket without the end time) and ``{stage}得分``
        (KH_BAND), as ``kaohe ledger``; empty while no counted ticket has the end time (分档_{stage})."""
        label = CANONICAL_FIELDS
        counted = self.counted()
        self.band_enabled = {}
        for stage, band in self.band_stages().items():
            S, E = self.range(label[band.start_field]), self.range(label[band.end_field])
            starts = self.column(label[band.start_field]).values
            ends = self.column(label[band.end_field]).values
            on = bool(np.any(counted & np.array([isinstance(e, dt.datetime) for e in ends], bool)))
            self.band_enabled[stage] = on
            until = np.array([e if isinstance(e, dt.datetime) else
                              self.as_of if isinstance(s, dt.datetime) and self.as_of else ""
                              for s, e in zip(starts, ends)], dtype=object)
            timed = np.array([s if on and isinstance(s, dt.datetime) else "" for s in starts], dtype=object)
            hours = _flat(kh_elapsed(_column(timed), _column(until), "", _column(self.raw["suspended"])))
            elapsed = self._add(Column(f"{stage}历时", (
                f"KH_ELAPSED(IF({self.band_ref(stage)}*ISNUMBER({S}),{S},\"\"),IF(ISNUMBER({E}),{E},"
                f"IF(ISNUMBER({S})*ISNUMBER(统计截止),统计截止,\"\")),\"\",{self.ticket_range('suspended')})"),
                hours, "hours"))
            points = _flat(kh_band(self.reference, stage, _column(hours)))
            self._add(Column(f"{stage}得分", f"KH_BAND(考核办法,{literal(stage)},{self.range(elapsed.header)})",
                             points, "amount"))

    # -- which row of a stage applies to a ticket ------------------------------------------------------
    def _condition(self, k: int) -> tuple[str | None, np.ndarray]:
        """Excel (None: no condition) and per-ticket truth of "time-limit row ``k`` fits the ticket":
        its 优先级, 区域 and 工单类型 are among the row's (a key the row leaves open fits any)."""
        row = self.rulebook.time_limits[k]
        groups, mask = [], np.ones(self.rows, bool)
        for key, header in KEYS:
            allowed = tuple(getattr(row, key) or ())
            if not allowed:
                continue
            r = self.range(header)
            groups.append("(" + "+".join(f"({r}={literal(v)})" for v in allowed) + ")")
            mask &= np.isin(self.column(header).values.astype(str), [str(v) for v in allowed])
        if not groups:
            return None, mask
        return f"(1*{'*'.join(groups)}>0)", mask  # 1*: a lone comparison is a logical, and TRUE>0 in Excel

    def _choose(self, stage: Stage, pick) -> tuple[str, np.ndarray]:
        """A nested IF over the stage's rows, most specific first: per ticket ``pick(k)`` (an Excel
        expression and its values) of the first row ``k`` that fits, "" when none fits."""
        out = np.full(self.rows, "", dtype=object)
        decided = np.zeros(self.rows, bool)
        conditions = {k: self._condition(k) for k in stage.order}
        for k in stage.order:
            _, mask = conditions[k]
            _, values = pick(k)
            fresh = mask & ~decided
            out[fresh] = np.asarray(values, dtype=object)[fresh] if np.ndim(values) else values
            decided |= mask
        formula = "\"\""
        for k in reversed(stage.order):
            condition, _ = conditions[k]
            expression, _ = pick(k)
            formula = expression if condition is None else f"IF({condition},{expression},{formula})"
        return formula, out

    def _time(self, stage: Stage) -> None:
        """Fill in how ``stage`` is timed: start and end per ticket (a 台账 column of their own when the
        rows differ), the labels for messages, and the stage argument KH_DUE gets ("" = not assessed)."""
        label = CANONICAL_FIELDS
        conditions = [self._condition(k) for k in stage.order]
        if any(c is None for c, _ in conditions):
            stage.fits, stage.fits_mask = None, np.ones(self.rows, bool)
        else:
            stage.fits = "(0+" + "+".join(c for c, _ in conditions) + ">0)"  # 0+: logicals to a number
            stage.fits_mask = np.logical_or.reduce([m for _, m in conditions])
        for which, index, header in (("start", 0, f"{stage.name}起算"), ("end", 1, f"{stage.name}完成")):
            fields = list(dict.fromkeys(pair[index] for pair in stage.rows.values()))
            if len(fields) == 1:
                ref, values = self.range(label[fields[0]]), self.column(label[fields[0]]).values
                text, texts = literal(label[fields[0]]), np.full(self.rows, label[fields[0]], dtype=object)
            else:
                formula, values = self._choose(
                    stage, lambda k, index=index: (self.range(label[stage.rows[k][index]]),
                                                   self.column(label[stage.rows[k][index]]).values))
                ref = self.range(self._add(Column(header, formula, values, "time")).header)
                text, texts = self._choose(stage, lambda k, index=index: (literal(label[stage.rows[k][index]]),
                                                                          label[stage.rows[k][index]]))
            setattr(stage, which, ref)
            setattr(stage, f"{which}_values", values)
            setattr(stage, f"{which}_label", text)
            setattr(stage, f"{which}_labels", texts)
        if len({pair[0] for pair in stage.rows.values()}) > 1:  # the start column of its own: "" where no row fits
            stage.argument = f"IF(ISNUMBER({stage.start}),{literal(stage.name)},\"\")"
            stage.argument_mask = ~np.isnan(_num(stage.start_values))
        elif stage.fits is not None:
            stage.argument = f"IF({stage.fits},{literal(stage.name)},\"\")"
            stage.argument_mask = stage.fits_mask
        else:
            stage.argument = literal(stage.name)
            stage.argument_mask = np.ones(self.rows, bool)

    def _ticket_deadline(self, stage: Stage) -> np.ndarray:
        """A stage whose rows take each ticket's own 办理时限 (当天, 3日内 …; the row's limit where the
        ticket gives none): a 时限 column per ticket, then KH_DEADLINE, which reads such text."""
        limits = self.rulebook.time_limits
        given = f"TRIM({self.ticket_range('time_limit')})"
        texts = np.array([t.strip() for t in _texts(self.raw["time_limit"])], dtype=object)

        def own(k):
            row = limits[k]
            default = f"{row.limit:g}{row.unit}" if row.limit == row.limit and row.unit in ("小时", "分钟", "天", "工作日") else ""
            return f"IF({given}=\"\",{literal(default)},{given})", np.where(texts == "", default, texts)

        formula, values = self._choose(stage, own)
        header = self._add(Column(f"{stage.name}时限", formula, values)).header
        hours = list(dict.fromkeys(limits[k].hours or "" for k in stage.rows))
        hours_argument = f",{literal(hours[0])}" if len(hours) == 1 and hours[0] else ""
        hours_argument = hours_argument or ",\"\""
        deadline = _flat(kh_deadline(_column(self._timed_start(stage)), _column(values), "",
                                     hours[0] if len(hours) == 1 else None, _column(self.raw["suspended"])))
        self._add(Column(f"{stage.name}截止", (f"KH_DEADLINE({self._timed_start_formula(stage)},{self.range(header)},\"\""
                                               f"{hours_argument},"
                                               f"{self.ticket_range('suspended')})"), deadline, "time"))
        return deadline

    def _timed_start(self, stage: Stage) -> np.ndarray:
        """The start each ticket is timed from at ``stage``: its start time where that is a date-time and
        the stage is assessed this month, else empty (so a rejected date is reported once, in 状态, and
        never again by the deadline as \"#日期无法识别: #日期无法识别: …\")."""
        on = self.enabled[stage.name]
        return np.array([v if on and not np.isnan(t) else None for v, t in zip(stage.start_values,
                                                                              _num(stage.start_values))], dtype=object)

    def _timed_start_formula(self, stage: Stage) -> str:
        return f"IF({self.enabled_ref(stage.name)}*ISNUMBER({stage.start}),{stage.start},\"\")"

    def _overdue_hours(self, deadline: np.ndarray, end: np.ndarray) -> np.ndarray:
        due, finish = _num(deadline), _num(end)
        as_of = serial(self.as_of) if self.as_of else np.nan
        out = np.full(self.rows, "", dtype=object)
        for i in range(self.rows):
            if np.isnan(due[i]):
                continue
            if not np.isnan(finish[i]):
                out[i] = (finish[i] - due[i]) * 24 if finish[i] > due[i] else 0
            elif not np.isnan(as_of):
                out[i] = (as_of - due[i]) * 24 if as_of > due[i] else 0
        return out

    def _verdicts(self, deadline: np.ndarray, end: np.ndarray, hours: np.ndarray, ticket_limit: bool) -> np.ndarray:
        due, finish = _num(deadline), _num(end)
        out = np.full(len(due), "", dtype=object)
        for i in range(len(due)):
            if np.isnan(due[i]):
                message = isinstance(deadline[i], str) and deadline[i].startswith("#")
                if message:
                    out[i] = NOT_ASSESSED if ticket_limit and deadline[i].startswith("#时限") else ""
                else:
                    out[i] = "" if self.blank[i] else NOT_ASSESSED
            elif not np.isnan(finish[i]):
                out[i] = "是" if finish[i] <= due[i] else "否"
            else:
                out[i] = "超时未完成" if isinstance(hours[i], (int, float)) and hours[i] > 0 else "未完成"
        return out

    def flag_fields(self) -> list[str]:
        fields = [i.measure[5:] for i in self.rulebook.items if i.measure.startswith("flag:")]
        return list(dict.fromkeys(fields))

    # -- measures over stages (also used by the scoring formulas) ------------------------------------------
    def overdue_expression(self, stages: list[str]) -> str:
        """Excel, per row: how many of ``stages`` (those assessed) are overdue; "0" when none."""
        terms = []
        for stage in stages:
            if stage not in self.stages:
                continue
            h = self.range(f"{stage}超时小时")
            terms.append(f"ISNUMBER({h})*({h}>0)*{self.enabled_ref(stage)}")
        return "+".join(terms) or "0"

    def overdue_flags(self, stages: list[str]) -> np.ndarray:
        flags = np.zeros(self.rows, bool)
        for stage in stages:
            if stage in self.stages and self.enabled[stage]:
                hours = self.column(f"{stage}超时小时").values
                flags |= np.array([isinstance(h, (int, float)) and h > 0 for h in hours], bool)
        return flags

    def timed_flags(self) -> np.ndarray:
        """Tickets with a deadline at some stage timed this month (the 及时率's denominator)."""
        flags = np.zeros(self.rows, bool)
        for stage in self.stages:
            if self.enabled[stage]:
                flags |= ~np.isnan(_num(self.column(f"{stage}截止").values))
        return flags

    def hits(self, item) -> tuple[str, np.ndarray]:
        """Excel (a number per row, >0 = hit) and per-ticket truth of "``item`` counts this ticket":
        counted, of the item's party (人员类别), and overdue at its stages or flagged."""
        kind, _, argument = item.measure.partition(":")
        party = self.rulebook.party_of(item)
        if kind == "overdue":
            stages = argument.split("|")
            measure, mask = f"(({self.overdue_expression(stages)})>0)", self.overdue_flags(stages)
        else:
            header = f"{CANONICAL_FIELDS[argument]}标记"
            measure, mask = f"({self.range(header)}=1)", np.array([v == 1 for v in self.column(header).values], bool)
        mask = mask & self.counted() & (self.column(CANONICAL_FIELDS["party"]).values == party)
        return (f"({self.range('入账')}=1)*({self.range(CANONICAL_FIELDS['party'])}={literal(party)})*{measure}",
                mask)

    # -- per-ticket amounts: the marginal amount of each per-ticket item, capped categories spent in time order --
    def category_caps(self) -> dict:
        """Category id → points of the categories that cap their items (每类最多扣该类分值)."""
        return {c.id: c.points for c in self.rulebook.categories if c.points is not None}

    def _capped(self, item) -> bool:
        """A per-ticket item whose category caps it: a deduction in the score's unit (as
        ``generators.ledger._cap_categories``)."""
        return not item.bonus and item.unit == self.rulebook.score_unit and item.category in self.category_caps()

    def _attribute(self) -> None:
        """Per per-ticket item (overdue:…, flag:…): ``第几张`` numbers the unit's tickets the item counts
        by dispatch time (ties by row), ``累计`` is KH_ITEM of that many, and the ticket's marginal amount
        is f(k) − f(k−1) (negative for a bonus), so that a unit's tickets add up to the item's amount in
        考核表 (zero-outs and caps included).

        Where a category caps its items (``[[categories]]`` points, e.g. Jiangmen 二 = 40 分), the unit's
        category is spent in time order as ``kaohe ledger`` does: the marginal amounts go to a hidden
        ``边际`` column, ``{category}类此前…`` sums them over the unit's earlier tickets (dispatch time,
        ties by row), and the item's column is what is left of the category for the ticket (the
        ticket's earlier items in the rulebook's order first): MIN(L, B + P + m) − MIN(L, B + P).
        Then one total column per unit of account (扣分 in 分, 扣款(元) in 元), never summed together."""
        n = self.rows
        U, T, R = self.range("考核单位"), self.range("派单时间"), self.range("行号")
        ones = f"ROW({R})^0"
        units = self.column("考核单位").values
        dispatch = _num(self.column("派单时间").values)
        totals = {unit: np.zeros(n) for unit in self.amount_units}
        terms = {unit: [] for unit in self.amount_units}
        caps = self.category_caps()
        spent: dict = {}  # capped category → [(item, rank, 第几张 ref, 边际 ref, marginal values)]

        def amount_column(item, formula, values, rank):
            header = f"{item.id}{AMOUNT_COLUMNS[item.unit]}"
            self._add(Column(header, formula, np.array([float(v) if r > 0 else "" for v, r in zip(values, rank)],
                                                       dtype=object), "amount"))
            totals[item.unit] += np.nan_to_num(np.where(rank > 0, values, 0.0))
            terms[item.unit].append(self.range(header))

        for item in self.per_ticket:
            hit, mask = self.hits(item)
            rank = np.zeros(n)
            for unit in dict.fromkeys(units[mask]):
                mine = np.flatnonzero(mask & (units == unit))
                ordered = mine[np.lexsort((mine, dispatch[mine]))]
                rank[ordered] = np.arange(1, len(ordered) + 1)
            k = self._add(Column(f"{item.id}第几张", (
                f"IF({hit}>0,MMULT(({U}=TRANSPOSE({U}))*TRANSPOSE({hit})*((TRANSPOSE({T})<{T})"
                f"+(TRANSPOSE({T})={T})*(TRANSPOSE({R})<={R})),{ones}),0)"), rank.astype(object), "count"))
            cumulative = _flat(kh_item(self.reference, item.id, _column(rank.astype(object))))
            c = self._add(Column(f"{item.id}累计", f"KH_ITEM(考核办法,{literal(item.id)},{self.range(k.header)})",
                                 cumulative, "count", hidden=True))
            K, C = self.range(k.header), self.range(c.header)
            f = np.array([float(v) if isinstance(v, (int, float)) else np.nan for v in cumulative])
            # the unit's previous ticket has rank k − 1 and the item's amount at k − 1 (it depends on
            # the count alone; at 0 it is 0): f(k − 1), as the MMULT below finds it
            by_rank = np.zeros(int(rank.max()) + 1)
            by_rank[rank.astype(int)] = np.nan_to_num(f)
            previous = np.where(rank > 1, by_rank[np.maximum(rank.astype(int) - 1, 0)], 0.0)
            sign = -1.0 if item.bonus else 1.0
            marginal = np.where(rank > 0, sign * (f - previous), np.nan)
            expression = (f"{'-' if item.bonus else ''}({C}-MMULT(({U}=TRANSPOSE({U}))*(TRANSPOSE({K})={K}-1)"
                          f"*TRANSPOSE({C}),{ones}))")
            if self._capped(item):
                m = self._add(Column(f"{item.id}边际", f"IF({K}>0,{expression},0)",
                                     np.where(rank > 0, marginal, 0.0).astype(object), "amount", hidden=True))
                spent.setdefault(item.category, []).append((item, rank, K, self.range(m.header),
                                                            np.where(rank > 0, marginal, 0.0)))
            else:
                amount_column(item, f"IF({K}>0,{expression},\"\")", marginal, rank)

        counted = self.counted()
        order = np.arange(n)
        for category, entries in spent.items():
            points = caps[category]
            cap = number(points)
            charged = sum(values for *_, values in entries)
            # what the unit's earlier tickets (dispatch time, ties by row) took from the category
            ordered = pd.DataFrame({"unit": units, "t": dispatch, "row": order, "charged": charged})
            ordered = ordered.sort_values(["unit", "t", "row"], kind="stable")
            taken = (ordered.groupby("unit")["charged"].cumsum() - ordered["charged"]).sort_index().to_numpy()
            before = np.where(counted & np.isin(units, units[charged != 0]), taken, 0.0)
            transposed = "+".join(f"TRANSPOSE({ref})" for _, _, _, ref, _ in entries)
            b = self._add(Column(f"{category}类此前{AMOUNT_COLUMNS[entries[0][0].unit]}", (
                f"IF({self.range('入账')}=1,MMULT(({U}=TRANSPOSE({U}))*((TRANSPOSE({T})<{T})"
                f"+(TRANSPOSE({T})={T})*(TRANSPOSE({R})<{R}))*({transposed}),{ones}),0)"),
                before.astype(object), "amount", hidden=True))
            prefix, prefix_values = self.range(b.header), before
            for item, rank, K, M, values in entries:
                allowed = np.minimum(prefix_values + values, points) - np.minimum(prefix_values, points)
                amount_column(item, (f"IF({K}>0,IF({prefix}+{M}<{cap},{prefix}+{M},{cap})"
                                     f"-IF({prefix}<{cap},{prefix},{cap}),\"\")"), allowed, rank)
                prefix, prefix_values = f"{prefix}+{M}", prefix_values + values

        counted_cells = self.column("入账").values
        for unit in self.amount_units:
            added = "+".join(f"IF(ISNUMBER({t}),{t},0)" for t in terms[unit]) or "0"
            cached = np.array(["" if c != 1 else float(v) for c, v in zip(counted_cells, totals[unit])], dtype=object)
            self._add(Column(AMOUNT_COLUMNS[unit], f"IF({self.range('入账')}=1,{added},\"\")", cached, "amount"))

    # -- 状态: the reason a row is not counted -------------------------------------------------------------
    def _status(self) -> tuple[str, np.ndarray]:
        label, raw, n = CANONICAL_FIELDS, self.raw, self.rows
        ids = self.column("工单号").values
        checks: list[tuple[str, str, np.ndarray]] = []  # (condition, message formula, message per row)

        def add(condition: str, message: str, per_row) -> None:
            checks.append((condition, message, np.asarray(per_row, dtype=object)))

        no_id = ids == ""
        add(f"{self.range('工单号')}=\"\"", "\"#缺少工单号\"", np.where(no_id, "#缺少工单号", ""))
        for field in TIME_FIELDS:
            r = self.range(label[field])
            values = self.column(label[field]).values
            add(f"LEFT({r},1)=\"#\"", r, [v if isinstance(v, str) and v.startswith("#") else "" for v in values])
        dispatch = self.range("派单时间")
        dispatched = _num(self.column("派单时间").values)
        add(f"NOT(ISNUMBER({dispatch}))", "\"#缺少派单时间\"", np.where(np.isnan(dispatched), "#缺少派单时间", ""))
        for field in AFTER_DISPATCH:
            r = self.range(label[field])
            later = _num(self.column(label[field]).values)
            message = f"#{label[field]}早于派单时间"
            add(f"ISNUMBER({r})*({r}<{dispatch})", literal(message),
                np.where(~np.isnan(later) & ~np.isnan(dispatched) & (later < dispatched), message, ""))
        start, end = (serial(self.month_start) if self.month_start else np.nan), (serial(self.as_of) if self.as_of else np.nan)
        outside = ~np.isnan(dispatched) & ~np.isnan(start) & ((dispatched < start) | (dispatched >= end))
        add(f"ISNUMBER(统计截止)*(({dispatch}<月初)+({dispatch}>=统计截止))", "\"#派单时间不在考核月份内\"",
            np.where(outside, "#派单时间不在考核月份内", ""))
        allowed, required = _priority_rules(self.rulebook)
        if allowed:
            p = self.range("优先级")
            listed = "/".join(allowed)
            values = self.column("优先级").values
            unknown = np.array([v != "" and v not in allowed for v in values], bool)
            condition = f"({p}<>\"\")*" + "*".join(f"({p}<>{literal(a)})" for a in allowed)
            add(condition, f"\"#优先级“\"&{p}&{literal(f'”不在考核办法 {self.rulebook.name} 的时限表中(可用: {listed})')}",
                [f"#优先级“{v}”不在考核办法 {self.rulebook.name} 的时限表中(可用: {listed})" if u else ""
                 for v, u in zip(values, unknown)])
            if required:
                message = f"#缺少优先级(考核办法 {self.rulebook.name} 的时限按优先级区分: {listed})"
                add(f"{p}=\"\"", literal(message), np.where(values == "", message, ""))
        src = self.ticket_range("repeat")
        texts = np.array([t.strip().upper() for t in _texts(raw["repeat"])], dtype=object)
        known = FLAG_TRUE + FLAG_FALSE
        bad_flag = np.array([t != "" and t not in known for t in texts], bool)
        add(f"(TRIM({src})<>\"\")*" + "*".join(f"(UPPER(TRIM({src}))<>{literal(v)})" for v in known),
            f"\"#二次投诉无法识别: \"&{src}&\"(应为 是/否)\"",
            [f"#二次投诉无法识别: {_cell_text(v)}(应为 是/否)" if b else "" for v, b in zip(raw["repeat"], bad_flag)])
        first = {}
        for i, key in enumerate(ids):
            if key != "":
                first.setdefault(key, i)
        r = self.range("工单号")
        add(f"({r}<>\"\")*(MATCH({r},{r},0)<{self.range('行号')}-1)",
            f"\"#工单号重复(与第 \"&(MATCH({r},{r},0)+1)&\" 行相同)\"",
            [f"#工单号重复(与第 {first[k] + 2} 行相同)" if k != "" and first[k] < i else "" for i, k in enumerate(ids)])
        for stage, plan in self.stages.items():
            # the end before the start of the row that applies to the ticket (tickets no row fits: no check)
            a, b = plan.start, plan.end
            av, bv = _num(plan.start_values), _num(plan.end_values)
            on = self.enabled[stage]  # a stage not assessed rejects nothing
            fits = f"*{plan.fits}" if plan.fits is not None else ""
            on_ref = self.enabled_ref(stage)
            add(f"{on_ref}*ISNUMBER({a})*ISNUMBER({b})*({b}<{a}){fits}",
                f"\"#\"&{plan.end_label}&\"早于\"&{plan.start_label}",
                np.where(on & plan.fits_mask & ~np.isnan(av) & ~np.isnan(bv) & (bv < av),
                         "#" + plan.end_labels.astype(str) + "早于" + plan.start_labels.astype(str), ""))
            d = self.range(f"{stage}截止")
            values = self.column(f"{stage}截止").values
            if plan.ticket_limit:  # an unreadable 办理时限 leaves the ticket unassessed there, not rejected
                add(f"{on_ref}*(LEFT({d},1)=\"#\")*(LEFT({d},3)<>\"#时限\")", d,
                    [v if on and isinstance(v, str) and v.startswith("#") and not v.startswith("#时限") else ""
                     for v in values])
            else:
                add(f"{on_ref}*(LEFT({d},1)=\"#\")", d,
                    [v if on and isinstance(v, str) and v.startswith("#") else "" for v in values])

        formula = "\"\""
        for condition, message, _ in reversed(checks):
            formula = f"IF({condition},{message},{formula})"
        formula = f"IF(({self.range('工单号')}=\"\")*({self.ticket_range('dispatched_at')}=\"\"),\"\",{formula})"
        blank = self.blank
        out = np.full(n, "", dtype=object)
        for _, _, messages in checks:
            fresh = (out == "") & (messages != "")
            out[fresh] = messages[fresh]
        out[blank] = ""
        return formula, out

    # -- what the scoring formulas count -----------------------------------------------------------------
    def counted(self) -> np.ndarray:
        return np.array([v == 1 for v in self.column("入账").values], bool)

    def units(self) -> np.ndarray:
        return self.column("考核单位").values
