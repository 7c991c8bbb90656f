"""The ticket ledger (台账): one row per ticket with each stage's deadline, verdict and deduction.

:func:`compute_ledger` is plain pandas/numpy over the engine; :func:`write_ledger` writes it
with xlsxwriter row by row (constant memory), ticket text always as text, never formulas.

Memory at a million tickets: the ledger shares the tickets' text (no copy of the frame beyond
one row selection; verdicts and deduction bases are a handful of shared strings), and the
writers convert a block of :data:`CHUNK_ROWS` rows at a time to Python values, column by
column, so that no row × column object matrix is ever built.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name

import udfs
from generators.workbooks import new_workbook
from udfs import scoring
from udfs.calendar import WorkCalendar, china_calendar
from udfs.rulebook import CANONICAL_FIELDS, Rulebook
from udfs.timeliness import judge, parse_suspensions

SOURCE_ROW = "source_row"
REJECTED_COLUMNS = ("源文件", "源行号", "工单号", "列", "原值", "原因")
CHUNK_ROWS = 10_000  # rows converted to Python values at a time by the writers


@dataclasses.dataclass
class Ledger:
    """Accepted tickets with computed columns, rejected rows with reasons, and the stages computed."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    stages: tuple[str, ...]
    read: int

    @property
    def reconciles(self) -> bool:
        return self.read == len(self.rows) + len(self.rejected)


YES_NO = np.array(["是", "否"], dtype=object)
VERDICTS = np.array(["是", "否", "超时未完成", "未完成"], dtype=object)  # finished on time, late; open late, open


def _labels(labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``labels[codes]``: every ticket shares one string object per label. An empty result is
    an empty text array, so that an empty ledger's columns have the type they always had."""
    return labels[codes] if len(codes) else np.array([], dtype=str)


def stage_fields(rulebook: Rulebook) -> dict[str, tuple[str, str]]:
    """``{stage: (start_field, end_field)}`` of every stage with an end field, from the first
    time-limit row of each stage."""
    fields = {}
    for row in rulebook.time_limits:
        if row.stage not in fields and row.end_field:
            fields[row.stage] = (row.start_field, row.end_field)
    return fields


def _stage_fields(rulebook: Rulebook, frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """The stages whose start and end fields the tickets carry.

    An end column empty in every row counts as absent (a template's 回访时间 column nobody
    fills): otherwise every ticket would be judged unfinished at that stage."""
    return {stage: (start, end) for stage, (start, end) in stage_fields(rulebook).items()
            if start in frame.columns and end in frame.columns and frame[end].notna().any()}


def compute_ledger(tickets: pd.DataFrame, rulebook: Rulebook, *, as_of: np.datetime64,
                   calendar: WorkCalendar | None = None, source: str = "") -> Ledger:
    """Deadlines, on-time flags, overdue hours and per-ticket deductions for every stage.

    ``tickets`` has canonical field names (and may carry other columns, kept as they are,
    and ``source_row``, the row number in ``source`` that rejected rows are named by);
    ``as_of`` (e.g. the end of the assessed month) judges tickets still open. Every ticket
    ends in ``rows`` or in ``rejected``.
    """
    calendar = calendar or china_calendar()
    frame = tickets.reset_index(drop=True)  # only read: no copy of the tickets
    problems = np.full(len(frame), "", dtype=object)
    columns = np.full(len(frame), "", dtype=object)

    def reject(mask, column, reason):
        fresh = np.asarray(mask) & (problems == "")
        problems[fresh] = reason if isinstance(reason, str) else reason[fresh]
        columns[fresh] = CANONICAL_FIELDS.get(column, column)

    ids = frame["ticket_id"].astype("string").str.strip()
    reject(ids.isna() | (ids == ""), "ticket_id", "缺少工单号")
    reject(ids.duplicated(keep="first") & ids.notna(), "ticket_id", "工单号重复")
    suspensions, suspension_messages = parse_suspensions(frame.get("suspended", pd.Series([""] * len(frame))).to_numpy(object))
    reject(suspension_messages != "", "suspended", suspension_messages)

    stages = _stage_fields(rulebook, frame)
    computed = {}
    for stage, (start_field, end_field) in stages.items():
        start = frame[start_field].to_numpy("datetime64[s]")
        end = frame[end_field].to_numpy("datetime64[s]")
        reject(~np.isnat(end) & ~np.isnat(start) & (end < start), end_field, f"{CANONICAL_FIELDS[end_field]}早于{CANONICAL_FIELDS[start_field]}")
        deadlines, messages = scoring.due_with_messages(
            rulebook, stage, start, frame.get("priority"), frame.get("area"), frame.get("kind"),
            calendar=calendar, suspended=suspensions)
        reject(messages != "", start_field, messages)
        ontime, overdue, finished = judge(deadlines, end, as_of)
        computed[stage] = (deadlines, ontime, overdue, finished)

    deduction = np.zeros(len(frame))
    # 扣分依据 as a code per ticket into a pool of texts (the items it was hit by, in order),
    # so that a million tickets share a handful of strings.
    pool, basis = [""], np.zeros(len(frame), dtype=np.intp)
    for item in rulebook.items:
        kind, _, argument = item.measure.partition(":")
        if kind != "overdue":
            continue
        hit = np.zeros(len(frame), dtype=bool)
        for stage in argument.split("|"):
            if stage in computed:
                hit |= computed[stage][2] > 0
        deduction += np.where(hit, item.points[0], 0.0)
        text, grown = f"{item.name}-{item.points[0]:g}{item.unit};", np.arange(len(pool))
        for code in np.unique(basis[hit]):
            grown[code] = len(pool)
            pool.append(pool[code] + text)
        basis[hit] = grown[basis[hit]]

    bad = problems != ""
    keep = ~bad
    kept = [f for f in CANONICAL_FIELDS if f in frame.columns]
    kept += [c for c in frame.columns if c not in CANONICAL_FIELDS and c != SOURCE_ROW]
    picked = np.flatnonzero(keep)
    out = frame[kept].take(picked)  # the one copy of the tickets' columns
    out.index = pd.RangeIndex(len(out))
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = _labels(YES_NO, np.where(out[column].to_numpy(bool), 0, 1))
    for stage, (deadlines, ontime, overdue, finished) in computed.items():
        ontime, overdue, finished = ontime[keep], overdue[keep], finished[keep]
        out[f"{stage}截止"] = deadlines[keep]
        out[f"{stage}及时"] = _labels(VERDICTS, np.where(finished, np.where(ontime, 0, 1), np.where(overdue > 0, 2, 3)))
        out[f"{stage}超时小时"] = np.round(overdue, 4)
    out["扣分"] = deduction[keep]
    # typed from every ticket's text, as before the rejected rows are dropped (an empty selection keeps it)
    out["扣分依据"] = pd.Series(np.array(pool, dtype=object)[basis]).array.take(picked)
    rows_in_source = frame[SOURCE_ROW].to_numpy() if SOURCE_ROW in frame.columns else np.arange(len(frame)) + 2
    rejected = pd.DataFrame({
        "源文件": source,
        "源行号": rows_in_source[bad],
        "工单号": ids[bad].fillna("").to_numpy(object),
        "列": columns[bad],
        "原值": [_original(frame, CANONICAL_FIELDS, c, i) for c, i in zip(columns[bad], np.flatnonzero(bad))],
        "原因": problems[bad],
    })
    return Ledger(out, rejected, tuple(computed), len(frame))


def ledger_from_export(path, rulebook: Rulebook, month: str, *, calendar: WorkCalendar | None = None):
    """Import a month's ticket export and compute its ledger; returns ``(ledger, import)``.

    Rows the import rejects and rows the ledger rejects end on one 拒收 list, so that
    rows read = ledger rows + rejected rows.
    """
    from generators.tickets import read_tickets

    imported = read_tickets(path, rulebook=rulebook, month=month)
    as_of = (np.datetime64(month, "M") + 1).astype("datetime64[s]")
    ledger = compute_ledger(imported.tickets, rulebook, as_of=as_of, calendar=calendar, source=Path(path).name)
    rejected = pd.concat([imported.rejected, ledger.rejected], ignore_index=True)
    rejected = rejected.sort_values("源行号", kind="stable").reset_index(drop=True)
    return Ledger(ledger.rows, rejected[list(REJECTED_COLUMNS)], ledger.stages, imported.read), imported


def _original(frame, fields, column_label, index) -> str:
    field = next((f for f, label in fields.items() if label == column_label), column_label)
    value = frame[field].iloc[index] if field in frame.columns else ""
    return "" if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) else str(value)


def write_ledger(ledger: Ledger, path: Path, *, rulebook: Rulebook, month: str, calendar_version: str,
                 appendix3: bool = False) -> None:
    """Write the ledger workbook: 台账 (frozen header, filters, overdue rows highlighted,
    A4 landscape with the header repeated), 拒收 (every rejected row and why), 说明 (versions,
    counts), and with ``appendix3`` the same tickets in the layout of seed 004's 附件3
    (:data:`APPENDIX3_SHEET`)."""
    stamp = f"考核办法 {rulebook.name} {rulebook.version}; 日历 {calendar_version}; 程序 kaohe {udfs.__version__}"
    book = new_workbook(path, title=f"{month} 投诉工单台账", subject=rulebook.title, comments=stamp)
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    late = book.add_format({"bg_color": "#FCE4D6"})
    number = book.add_format({"num_format": "0.00"})

    rows = ledger.rows
    sheet = book.add_worksheet("台账")
    labels = [CANONICAL_FIELDS.get(c, c) for c in rows.columns]
    for j, label in enumerate(labels):
        sheet.write_string(0, j, label, header)
        sheet.set_column(j, j, _width(label, rows.iloc[:, j]))
    _write_rows(sheet, rows, 1, [_ledger_cells(sheet, rows[c], number) for c in rows.columns], "写台账 / ledger rows")
    last_column = len(labels) - 1
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(rows), 1), last_column)
    if "扣分" in rows.columns and len(rows):
        column = xl_col_to_name(list(rows.columns).index("扣分"))
        sheet.conditional_format(1, 0, len(rows), last_column,
                                 {"type": "formula", "criteria": f"=${column}2>0", "format": late})
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_footer("&C第 &P 页，共 &N 页")

    if appendix3:
        _write_appendix3(book, ledger, header, month)

    rejected = book.add_worksheet("拒收")
    for j, label in enumerate(ledger.rejected.columns):
        rejected.write_string(0, j, label, header)
        rejected.set_column(j, j, 14 if label != "原因" else 40)
    for i, record in enumerate(ledger.rejected.to_numpy(object), start=1):
        for j, value in enumerate(record):
            if isinstance(value, (int, np.integer)):
                rejected.write_number(i, j, int(value))
            else:
                rejected.write_string(i, j, "" if value is None else str(value))

    notes = book.add_worksheet("说明")
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 70)
    for i, (key, value) in enumerate([
        ("考核月份", month), ("考核办法", f"{rulebook.title}({rulebook.name} {rulebook.version})"),
        ("日历数据", calendar_version), ("程序版本", f"kaohe {udfs.__version__}"),
        ("读入行数", ledger.read), ("入账行数", len(ledger.rows)), ("拒收行数", len(ledger.rejected)),
        ("计算环节", "、".join(ledger.stages)),
    ]):
        notes.write_string(i, 0, key, header)
        if isinstance(value, int):
            notes.write_number(i, 1, value)
        else:
            notes.write_string(i, 1, str(value))
    book.close()


APPENDIX3_SHEET = "附件3服务质量问题处理管理台账"
APPENDIX3_COLUMNS = ("序号", "受理人", "受理时间", "客户姓名", "客户电话", "客户地址", "服务质量问题内容",
                     "被抱怨/投诉部门、人员", "承办部门", "处理时限", "处理结果", "客户满意度(回访)", "备注")
APPENDIX3_WIDTHS = (6, 8, 18, 9, 13, 24, 36, 18, 14, 18, 18, 10, 24)


def appendix3_rows(ledger: Ledger) -> pd.DataFrame:
    """The tickets as seed 004's 附件3 (服务质量问题处理管理台账) lists them, one row each.

    受理人 is the handler; 被抱怨/投诉部门、人员 the assessed unit and handler; 承办部门 the unit;
    处理时限 the deadline of the last stage computed; 处理结果 the export's result when it has
    one, else that stage's verdict; 备注 the deduction's basis.
    """
    rows = ledger.rows
    blank = pd.Series("", index=rows.index, dtype=object)

    def text(field):
        return rows[field].fillna("").astype(str) if field in rows.columns else blank

    stage = ledger.stages[-1] if ledger.stages else None
    deadline = rows[f"{stage}截止"] if stage else pd.Series(pd.NaT, index=rows.index)
    if "result" in rows.columns:
        result = text("result")
    elif stage:
        hours = rows[f"{stage}超时小时"].to_numpy(float)
        verdict = rows[f"{stage}及时"].to_numpy(object)
        result = pd.Series(np.where(verdict == "是", f"{stage}及时",
                                    np.where(verdict == "否", [f"{stage}超时 {h:.2f} 小时" for h in hours],
                                             np.where(verdict == "未完成", "处理中", f"{stage}超时未完成"))),
                           index=rows.index)
    else:
        result = blank
    unit, handler = text("unit"), text("handler")
    return pd.DataFrame({
        "序号": np.arange(1, len(rows) + 1), "受理人": handler,
        "受理时间": rows["dispatched_at"] if "dispatched_at" in rows.columns else pd.Series(pd.NaT, index=rows.index),
        "客户姓名": text("customer"), "客户电话": text("phone"), "客户地址": text("address"),
        "服务质量问题内容": text("content"), "被抱怨/投诉部门、人员": unit.str.cat(handler, sep="、").str.strip("、"),
        "承办部门": unit, "处理时限": deadline, "处理结果": result, "客户满意度(回访)": text("satisfaction"),
        "备注": text("扣分依据") if "扣分依据" in rows.columns else blank,
    })


def _write_appendix3(book, ledger: Ledger, header_format, month: str) -> None:
    """The 附件3 sheet: the form's title, its thirteen columns, the tickets, and the form's footer."""
    sheet = book.add_worksheet(APPENDIX3_SHEET)
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    when = book.add_format({"border": 1, "valign": "top", "num_format": "yyyy-mm-dd hh:mm"})
    last = len(APPENDIX3_COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, f"服务质量问题处理管理台账({month})", title)
    for j, (label, width) in enumerate(zip(APPENDIX3_COLUMNS, APPENDIX3_WIDTHS)):
        sheet.write_string(1, j, label, header_format)
        sheet.set_column(j, j, width)
    table = appendix3_rows(ledger)
    _write_rows(sheet, table, 2, [_appendix3_cells(sheet, table.iloc[:, j], j in (2, 9), cell, when)
                                  for j in range(len(table.columns))], "写附件3 / appendix 3", skip=_NOTHING)
    end = len(table) + 2
    sheet.write_string(end + 1, 0, "备注:")
    sheet.write_string(end + 3, 0, "承办部门负责人签名:")
    sheet.freeze_panes(2, 1)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)
    sheet.set_footer("&C第 &P 页，共 &N 页")


def progress_bar(total: int, what: str):
    """A progress bar of ``total`` rows on stderr for long runs at a terminal (none in pipes and
    tests); ``update(n)`` as rows are written."""
    from tqdm import tqdm

    return tqdm(desc=what, total=total, unit="行", disable=None if total >= 50_000 else True, leave=False)


# -- writing rows: a block of rows at a time, one conversion and one write method per column ------------------
_NOTHING = object()  # a ``skip`` value that no cell has: every cell is written


def _write_rows(sheet, frame: pd.DataFrame, first_row: int, columns, what: str, *, skip=None) -> None:
    """Write ``frame`` from sheet row ``first_row`` on, in blocks of :data:`CHUNK_ROWS` rows.

    ``columns[j](part)`` gives ``(values, write, cell_format)`` for column ``j`` of a block:
    the block's cells as Python values and the call ``write(row, col, value, cell_format)``
    that writes one; cells whose value is ``skip`` are left empty. Rows go out in order, as
    constant-memory mode needs, and only one block is ever held as Python objects.
    """
    bar = progress_bar(len(frame), what)
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        plan = [(j, *cells(part.iloc[:, j])) for j, cells in enumerate(columns)]
        for k in range(len(part)):
            row = first_row + start + k
            for j, values, write, cell_format in plan:
                value = values[k]
                if value is not skip:
                    write(row, j, value, cell_format)
        bar.update(len(part))
    bar.close()


def _is_empty(value) -> bool:
    """A 台账 cell left empty: None, NaT, "" or NaN."""
    return value is None or value is pd.NaT or value == "" or (isinstance(value, float) and np.isnan(value))


def _texts(values) -> list | None:
    """Cells of a text column (str, NaN or None; None for an empty cell), or None when some
    value is not text (the column then takes the general path)."""
    cells = []
    append = cells.append
    for value in values:
        if type(value) is str:
            append(value or None)
        elif value is None or (type(value) is float and math.isnan(value)):
            append(None)
        else:
            return None
    return cells


def _floats(values: np.ndarray) -> list:
    """A float array's cells: Python floats, None for NaN."""
    cells = values.tolist()
    for k in np.flatnonzero(np.isnan(values)).tolist():
        cells[k] = None
    return cells


def _ledger_cells(sheet, column: pd.Series, number_format):
    """How a 台账 column's block is turned into cells: datetimes as datetimes (the workbook's
    date format), floats as numbers with ``number_format``, integers as numbers, anything
    else as text; None for an empty cell (:func:`_is_empty`)."""
    def number_or_text(row, col, value, _format):
        if isinstance(value, (int, np.integer)):
            sheet.write_number(row, col, int(value))
        else:
            sheet.write_string(row, col, str(value))

    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if isinstance(dtype, np.dtype):  # naive: datetime64[us] → datetime.datetime, NaT → None
            return lambda part: (part.to_numpy("datetime64[us]").tolist(), sheet.write_datetime, None)
        return lambda part: ([None if _is_empty(v) else pd.Timestamp(v).to_pydatetime() for v in part.to_numpy(object)],
                             sheet.write_datetime, None)
    if pd.api.types.is_float_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return lambda part: (_floats(part.to_numpy()), sheet.write_number, number_format)
        return lambda part: ([None if _is_empty(v) else float(v) for v in part.to_numpy(object)], sheet.write_number,
                             number_format)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return lambda part: (part.to_numpy().tolist(), sheet.write_number, None)

    def cells(part):
        values = part.to_numpy(object)
        texts = _texts(values)
        if texts is not None:
            return texts, sheet.write_string, None
        return [None if _is_empty(v) else v for v in values], number_or_text, None
    return cells


def _appendix3_cells(sheet, column: pd.Series, dates: bool, cell, when):
    """How a 附件3 column's block is turned into cells: every cell written with a border;
    datetimes (and every value of the 受理时间 and 处理时限 columns, ``dates``) with ``when``,
    empty ones blank; integers as numbers; anything else as text."""
    def date_or_blank(row, col, value, cell_format):
        if value is None:
            sheet.write_blank(row, col, None, cell_format)
        else:
            sheet.write_datetime(row, col, value, cell_format)

    def any_value(row, col, value, _format):
        if isinstance(value, (pd.Timestamp, np.datetime64)) or dates:
            if pd.isna(value):
                sheet.write_blank(row, col, None, when)
            else:
                sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), when)
        elif isinstance(value, (int, np.integer)):
            sheet.write_number(row, col, int(value), cell)
        else:
            sheet.write_string(row, col, str(value), cell)

    dtype = column.dtype
    if dates and isinstance(dtype, np.dtype) and dtype.kind == "M":
        return lambda part: (part.to_numpy("datetime64[us]").tolist(), date_or_blank, when)
    if not dates and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return lambda part: (part.to_numpy().tolist(), sheet.write_number, cell)

    def cells(part):
        values = part.to_numpy(object)
        if not dates and all(type(v) is str for v in values):
            return values.tolist(), sheet.write_string, cell
        return values.tolist(), any_value, None
    return cells


def _width(label: str, column: pd.Series) -> float:
    """A column width that fits Chinese text (two units a CJK character), from a sample."""
    def units(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    if pd.api.types.is_datetime64_any_dtype(column):
        return 20
    sample = ["" if pd.isna(v) else str(v) for v in column.head(200)]
    return min(max([units(label)] + [units(s) for s in sample]) + 2, 60)
