"""The 台账 sheet of the assessment workbook: one array formula per column over the 工单 sheet.

Each :class:`Column` pairs the Excel formula written over the whole column (``{=…}``, one
call per column, as the cell functions are made for) with the values that formula gives,
computed here from the same cells: the ``KH_`` columns by the very cell functions Excel
calls, the plain comparisons by numpy. The values are cached in the file, so the ledger
reads right before Python is attached; a test evaluates every formula with a formula
engine and compares it with the cache.

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

import numpy as np
from xlsxwriter.utility import xl_col_to_name

from generators.ledger import stage_fields
from generators.tickets import (
    AFTER_DISPATCH,
    FLAG_FALSE,
    FLAG_TRUE,
    TIME_FIELDS,
    _cell_text,
    _priority_rules,
    _texts,
)
from udfs.rulebook import CANONICAL_FIELDS, Rulebook
from udfs.scoring_cells import kh_due
from udfs.timeliness_cells import kh_date, kh_elapsed

TICKETS = "工单"
LEDGER = "台账"
FIELDS = tuple(CANONICAL_FIELDS)        # the 工单 sheet's columns, in this order
TEXT_FIELDS = ("ticket_id", "unit", "priority", "area", "kind")
EPOCH = dt.datetime(1899, 12, 30)


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
    kind: str = "text"  # text, time, hours, number


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


class LedgerPlan:
    """The 台账 columns for ``rows`` 工单 rows (data from Excel row 2), with cached values.

    ``reference`` is what the 考核办法 cell holds (name or path). ``tickets`` maps canonical fields to raw cell values (length ``rows``; None = empty), as
    they stand in the 工单 sheet. ``month_start``/``as_of`` bound the month (None when the
    workbook's month is still blank).
    """

    def __init__(self, rulebook: Rulebook, reference: str, tickets: dict[str, np.ndarray], rows: int,
                 month_start: dt.datetime | None, as_of: dt.datetime | None):
        self.rulebook, self.reference, self.rows = rulebook, reference, rows
        self.raw = {f: _flat(tickets.get(f, np.full(rows, None, dtype=object))) for f in FIELDS}
        self.month_start, self.as_of = month_start, as_of
        self.stages = stage_fields(rulebook)
        self.enabled = {s: any(v is not None for v in self.raw[end]) for s, (_, end) in self.stages.items()}
        self.has_replies = any(v is not None for v in self.raw["replied_at"])
        self.columns: list[Column] = []
        self._at: dict[str, Column] = {}
        self._build()

    # -- references ---------------------------------------------------------------------------------
    def ticket_range(self, field: str) -> str:
        """The defined name of a 工单 column's data cells (工单_派单时间 ...)."""
        return f"{TICKETS}_{CANONICAL_FIELDS[field]}"

    def range(self, header: str) -> str:
        """The defined name of a 台账 column's data cells (台账_入账 ...)."""
        return f"{LEDGER}_{header}"

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

    def column(self, header: str) -> Column:
        return self._at[header]

    def _add(self, column: Column) -> Column:
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
        for field in TIME_FIELDS:
            values = _flat(kh_date(_column(raw[field])))
            self._add(Column(label[field], f"KH_DATE({self.ticket_range(field)})", values, "time"))

        for stage, (start, end) in self.stages.items():
            starts = self.column(label[start]).values
            deadline = _flat(kh_due(self.reference, stage, _column(starts), _column(self.column("优先级").values),
                                    _column(self.column("区域").values), _column(self.column("工单类型").values),
                                    _column(raw["suspended"])))
            self._add(Column(f"{stage}截止", (
                f"KH_DUE(考核办法,\"{stage}\",{self.range(label[start])},{self.range('优先级')},{self.range('区域')},"
                f"{self.range('工单类型')},{self.ticket_range('suspended')})"), deadline, "time"))
            d = self.range(f"{stage}截止")
            e = self.range(label[end])
            hours = self._overdue_hours(deadline, self.column(label[end]).values)
            self._add(Column(f"{stage}超时小时", (
                f"IF(ISNUMBER({d}),IF(ISNUMBER({e}),IF({e}>{d},({e}-{d})*24,0),"
                f"IF(ISNUMBER(统计截止),IF(统计截止>{d},(统计截止-{d})*24,0),\"\")),\"\")"),
                hours, "hours"))
            h = self.range(f"{stage}超时小时")
            self._add(Column(f"{stage}及时", (
                f"IF(ISNUMBER({d}),IF(ISNUMBER({e}),IF({e}<={d},\"是\",\"否\"),"
                f"IF(ISNUMBER({h}),IF({h}>0,\"超时未完成\",\"未完成\"),\"未完成\")),\"\")"),
                self._verdicts(deadline, self.column(label[end]).values, hours)))

        self._add(Column("超时", (f"IF(({self.overdue_expression(list(self.stages))})>0,1,0)"
                                  if self.stages else "0*ROW(" + self.ticket_range("ticket_id") + ")"),
                         self.overdue_flags(list(self.stages)).astype(float).astype(object), "number"))
        if any(i.measure.startswith("avg_hours_over") for i in book.items):
            end_values = self.column(label["replied_at" if self.has_replies else "closed_at"]).values
            hours = _flat(kh_elapsed(_column(self.column("派单时间").values), _column(end_values), "",
                                     _column(raw["suspended"])))
            self._add(Column("处理时长", (
                f"KH_ELAPSED({self.range('派单时间')},IF(有回复时间,{self.range('回复时间')},{self.range('归档时间')}),"
                f"\"\",{self.ticket_range('suspended')})"), hours, "hours"))
        for field in self.flag_fields():
            src = self.ticket_range(field)
            yes = "+".join(f"(UPPER(TRIM({src}))=\"{v}\")" for v in FLAG_TRUE)
            values = np.array([int(t.strip().upper() in FLAG_TRUE) for t in _texts(raw[field])], dtype=object)
            self._add(Column(f"{label[field]}标记", f"IF(({yes})>0,1,0)", values, "number"))

        status = self._status()
        self._add(Column("状态", status[0], status[1]))
        ids, dispatch_raw = self.column("工单号").values, raw["dispatched_at"]
        blank = np.array([i == "" and d is None for i, d in zip(ids, dispatch_raw)], bool)
        counted = np.where(blank, "", np.where(status[1] == "", 1, 0)).astype(object)
        counted = np.array([v if v == "" else int(v) for v in counted], dtype=object)
        self._add(Column("入账", (f"IF(({self.range('工单号')}=\"\")*({self.ticket_range('dispatched_at')}=\"\"),\"\","
                                  f"IF({self.range('状态')}=\"\",1,0))"), counted, "number"))
        self._add(self._deductions())

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

    @staticmethod
    def _verdicts(deadline: np.ndarray, end: np.ndarray, hours: np.ndarray) -> np.ndarray:
        due, finish = _num(deadline), _num(end)
        out = np.full(len(due), "", dtype=object)
        for i in range(len(due)):
            if np.isnan(due[i]):
                continue
            if not np.isnan(finish[i]):
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
            terms.append(f"ISNUMBER({h})*({h}>0)*启用_{stage}")
        return "+".join(terms) or "0"

    def overdue_flags(self, stages: list[str]) -> np.ndarray:
        flags = np.zeros(self.rows, bool)
        for stage in stages:
            if stage in self.stages and self.enabled[stage]:
                hours = self.column(f"{stage}超时小时").values
                flags |= np.array([isinstance(h, (int, float)) and h > 0 for h in hours], bool)
        return flags

    def _deductions(self) -> Column:
        terms, values = [], np.zeros(self.rows)
        for item in self.rulebook.items:
            kind, _, argument = item.measure.partition(":")
            if kind != "overdue":
                continue
            stages = argument.split("|")
            terms.append(f"IF(({self.overdue_expression(stages)})>0,{item.points[0]:g},0)")
            values += np.where(self.overdue_flags(stages), item.points[0], 0.0)
        counted = self.column("入账").values
        cached = np.array(["" if c != 1 else float(v) for c, v in zip(counted, values)], dtype=object)
        formula = f"IF({self.range('入账')}=1,{'+'.join(terms) or '0'},\"\")"
        return Column("扣分", formula, cached, "number")

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
            add(f"ISNUMBER({r})*({r}<{dispatch})", f"\"{message}\"",
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
            condition = f"({p}<>\"\")*" + "*".join(f"({p}<>\"{a}\")" for a in allowed)
            add(condition, f"\"#优先级“\"&{p}&\"”不在考核办法 {self.rulebook.name} 的时限表中(可用: {listed})\"",
                [f"#优先级“{v}”不在考核办法 {self.rulebook.name} 的时限表中(可用: {listed})" if u else ""
                 for v, u in zip(values, unknown)])
            if required:
                message = f"#缺少优先级(考核办法 {self.rulebook.name} 的时限按优先级区分: {listed})"
                add(f"{p}=\"\"", f"\"{message}\"", np.where(values == "", message, ""))
        src = self.ticket_range("repeat")
        texts = np.array([t.strip().upper() for t in _texts(raw["repeat"])], dtype=object)
        known = FLAG_TRUE + FLAG_FALSE
        bad_flag = np.array([t != "" and t not in known for t in texts], bool)
        add(f"(TRIM({src})<>\"\")*" + "*".join(f"(UPPER(TRIM({src}))<>\"{v}\")" for v in known),
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
        for stage, (begin, finish) in self.stages.items():
            a, b = self.range(label[begin]), self.range(label[finish])
            av, bv = _num(self.column(label[begin]).values), _num(self.column(label[finish]).values)
            message = f"#{label[finish]}早于{label[begin]}"
            on = self.enabled[stage]  # a stage not assessed rejects nothing
            add(f"启用_{stage}*ISNUMBER({a})*ISNUMBER({b})*({b}<{a})", f"\"{message}\"",
                np.where(on & ~np.isnan(av) & ~np.isnan(bv) & (bv < av), message, ""))
            d = self.range(f"{stage}截止")
            values = self.column(f"{stage}截止").values
            add(f"启用_{stage}*(LEFT({d},1)=\"#\")", d,
                [v if on and isinstance(v, str) and v.startswith("#") else "" for v in values])

        formula = "\"\""
        for condition, message, _ in reversed(checks):
            formula = f"IF({condition},{message},{formula})"
        formula = f"IF(({self.range('工单号')}=\"\")*({self.ticket_range('dispatched_at')}=\"\"),\"\",{formula})"
        blank = np.array([i == "" and d is None for i, d in zip(ids, raw["dispatched_at"])], bool)
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
