"""What the workbook's buttons do, on plain values: no xlwings, no Excel, testable anywhere.

The entry points in :mod:`macros` read sheets of the open workbook into 2-D lists (rows of
cell values as xlwings gives them: ``str``, ``float``, ``bool``, ``datetime``, ``None``),
call these functions, and write the tabs they return back into the workbook.

The generators read files, so the rows are written to a temporary .xlsx (types kept: text
as text, numbers as numbers, datetimes as datetimes) and the generated workbooks are read
back (cached values) into tabs. The numbers therefore are exactly those of ``kaohe ledger``
and ``kaohe monthly`` on the same sheet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path

import python_calamine

from generators.archive import Manifest, check_month, export_archive
from generators.workbooks import write_rows
from udfs.calendar import DayEntry, china_calendar, parse_entries
from udfs.errors import KaoheError
from udfs.rulebook import DEDUCTION_WORDS

# The workbook's inputs (the builder creates them under these names).
TICKETS_SHEET = "工单"        # the month's ticket export, pasted with its header row
FINDINGS_SHEET = "考核记录"   # findings (考核单位, 考核项, 次数 ...); optional
HOLIDAYS_SHEET = "节假日"     # user calendar layer: 日期, 类型, 名称; optional
MONTH_NAME = "考核月份"       # defined name of the cell holding the month (YYYY-MM or a date)
RULEBOOK_NAME = "考核办法"    # defined name of the cell holding the rulebook name, e.g. jiangmen
SCORING_SHEET = "考核表"       # the assessment workbook's typed findings (when there is no 考核记录 sheet)
SUMMARY_SHEET = "汇总"         # ... and its fees
INPUT_SHEETS = (TICKETS_SHEET, FINDINGS_SHEET, HOLIDAYS_SHEET, "xlwings.conf")

TAB_PREFIX = "月报_"          # result tabs never replace the workbook's own (its live 台账, 汇总, 说明)
NOTES_TAB = f"{TAB_PREFIX}说明"
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"

Rows = list[list]


# -- values in and out of Excel --------------------------------------------------------------------
def month_text(value) -> str:
    """``YYYY-MM`` from what a month cell holds: the text ``2025-10`` (also ``2025/10``,
    ``2025年10月``) or a date, which Excel makes of a typed ``2025-10``."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    text = "" if value is None else str(value).strip()
    for old, new in (("年", "-"), ("月", ""), ("/", "-"), (".", "-")):
        text = text.replace(old, new)
    if len(text) == 6 and text[4] == "-":  # 2025-1 → 2025-01
        text = f"{text[:5]}0{text[5]}"
    return check_month(text)


def excel_cells(rows: Sequence[Sequence]) -> Rows:
    """Rows ready to assign to an Excel range: empty text becomes an empty cell, and every
    text gets Excel's text prefix ``'`` so that nothing is read as a formula, number or date
    (the apostrophe is not part of the value)."""
    return [[None if v is None or v == "" else f"'{v}" if isinstance(v, str) else v for v in row]
            for row in rows]


def datetime_columns(rows: Sequence[Sequence]) -> list[int]:
    """Columns (0-based) that hold a datetime anywhere: they need a date format in Excel."""
    found = set()
    for row in rows:
        found.update(j for j, v in enumerate(row) if isinstance(v, (dt.date, dt.datetime)))
    return sorted(found)


def read_tabs(path: Path) -> dict[str, Rows]:
    """Every sheet of a workbook as rows of cached values, placed as in the sheet (row 1 =
    index 0); empty cells are ``None``."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        tabs = {}
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            top, left = sheet.start or (0, 0)
            rows: Rows = [[] for _ in range(top)]
            for row in sheet.iter_rows():
                rows.append([None] * left + [None if v == "" else v for v in row])
            tabs[name] = rows
        return tabs
    finally:
        book.close()


def _has_values(rows) -> bool:
    return bool(rows) and any(v not in (None, "") for row in rows for v in row)


# -- 生成本月考核表 ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Generated:
    """The result tabs (sheet name → rows, in order) and a few lines for the user."""

    tabs: dict[str, Rows]
    summary: list[str]
    reconciles: bool


def generate_month_from(tickets: Sequence[Sequence], *, rulebook, month: str,
                        findings: Sequence[Sequence] | None = None,
                        holidays: Sequence[Sequence] | None = None) -> Generated:
    """The ledger and the monthly scoring table of ``month`` from the rows of the 工单 sheet.

    ``rulebook`` is a name or a :class:`~udfs.rulebook.Rulebook`; ``findings`` the rows of the
    考核记录 sheet, ``holidays`` those of the 节假日 sheet (the calendar's user layer, as the
    cell functions get it from 刷新节假日). Tabs, each named with :data:`TAB_PREFIX`: 台账, 拒收
    (every ticket and findings row not used, with its row in the sheet), then 汇总 and one tab per
    unit (values as the monthly table caches them; for a rulebook that cannot score, the
    timeliness-only table that says so), and 说明
    (month, rulebook, calendar and program versions, counts). Bad rows never raise; an unusable sheet raises
    :class:`KaoheError`.
    """
    from generators import monthly as table
    from generators.ledger import ledger_from_export, write_ledger
    from generators.monthly_book import write_monthly
    from udfs import rulebook as rulebooks

    month = check_month(month)
    book = rulebooks.load(rulebook) if isinstance(rulebook, str) else rulebook
    if not _has_values(tickets):
        raise KaoheError(f"工作表“{TICKETS_SHEET}”是空的: 请先粘贴本月的工单导出(含表头)",
                         f"sheet {TICKETS_SHEET!r} is empty")
    calendar = china_calendar(holiday_entries_from(holidays))
    with tempfile.TemporaryDirectory(prefix="kaohe-") as folder:
        folder = Path(folder)
        tickets_file = folder / f"{TICKETS_SHEET}.xlsx"
        write_rows(_without_empty_measure_columns(tickets, book, findings), tickets_file, TICKETS_SHEET)
        ledger, _ = ledger_from_export(tickets_file, book, month, calendar=calendar)
        ledger_file = folder / "台账.xlsx"
        write_ledger(ledger, ledger_file, rulebook=book, month=month, calendar_version=calendar.version)
        ledger_tabs = read_tabs(ledger_file)
        tabs = {"台账": ledger_tabs["台账"], "拒收": ledger_tabs["拒收"]}
        notes = ledger_tabs["说明"]
        summary = [f"工单: 读入 {ledger.read} 行 = 入账 {len(ledger.rows)} 行 + 拒收 {len(ledger.rejected)} 行"]
        reconciles = ledger.reconciles
        found = None
        if _has_values(findings):
            findings_file = folder / f"{FINDINGS_SHEET}.xlsx"
            write_rows(findings, findings_file, FINDINGS_SHEET)
            found = table.read_findings(findings_file, book)
            summary.append(f"考核记录: 读入 {found.read} 行 = 采用 {found.used} 行 + 拒收 {len(found.rejected)} 行")
            reconciles = reconciles and found.reconciles
        assessment = table.assess_month(ledger, book, month, findings=found, timeliness_only=not book.can_score)
        monthly_file = folder / "月度考核表.xlsx"
        write_monthly(assessment, monthly_file, calendar_version=calendar.version,
                      sources={"工单": f"工作表“{TICKETS_SHEET}”",
                               "考核记录": f"工作表“{FINDINGS_SHEET}”" if found else "", "考核历史": ""})
        monthly_tabs = read_tabs(monthly_file)
        tabs["拒收"] = monthly_tabs.pop("拒收")
        notes = monthly_tabs.pop("说明")
        tabs.update(monthly_tabs)
        unit = book.score_unit
        if not book.can_score:
            summary.append(table.cannot_score_reason(book))
        for r in assessment.units:
            scored = f"得分 {r.score:g}{unit}" if r.scored else "无得分"
            apart = "".join(f"，另计{DEDUCTION_WORDS[u]} {v:g}{u}" for u, v in r.apart.items())
            summary.append(f"{r.unit}: {scored}" + (f"，{r.grade}" if r.grade else "") + apart)
        tabs["说明"] = notes
        temporary = {tickets_file.name: f"工作表“{TICKETS_SHEET}”", f"{FINDINGS_SHEET}.xlsx": f"工作表“{FINDINGS_SHEET}”"}
    tabs["拒收"] = _rename_sources(tabs["拒收"], temporary)
    tabs = {(TAB_PREFIX + name)[:31]: rows for name, rows in tabs.items()}
    clash = [name for name in tabs if name in INPUT_SHEETS]
    if clash:
        raise KaoheError(f"结果表名与输入表重名: {'、'.join(clash)}", f"result tab names clash with inputs: {clash}")
    if not reconciles:
        summary.append("！行数不平衡，请查看“拒收”表")
    return Generated(tabs, summary, reconciles)


def _without_empty_measure_columns(rows: Sequence[Sequence], book, findings: Sequence[Sequence] | None) -> Rows:
    """The 工单 rows without the empty columns a ticket measure reads (a ``flag:`` column such as
    二次投诉; 回复时间 and 归档时间 for ``avg_hours_over``) of the items the findings give a count for.
    The workbook's 工单 sheet always has every column; built from an export without the column, the
    workbook has the assessor type the count in 考核表 (as ``kaohe monthly`` takes it from the
    findings for that export). Kept, the empty column would make the month count the item from the
    tickets (none) and refuse the typed count. Otherwise the rows are used as they are, so the numbers
    are those of the command line on the same sheet. (An empty end column of a timed stage needs
    nothing: the ledger already takes it as absent.)"""
    from udfs.rulebook import CANONICAL_FIELDS

    rows = [list(row) for row in rows]
    named = {str(v).strip() for row in findings or () for v in row if isinstance(v, str)}
    fields = []
    for item in book.items:
        kind, _, argument = item.measure.partition(":")
        if {item.id, item.name} & named:
            fields += [argument] if kind == "flag" else ["replied_at", "closed_at"] if kind == "avg_hours_over" else []
    labels = {CANONICAL_FIELDS.get(field) for field in fields}
    top = next((i for i, row in enumerate(rows) if any(isinstance(v, str) and v.strip() in labels for v in row)), None)
    if top is None:
        return rows
    empty = {j for j, v in enumerate(rows[top]) if isinstance(v, str) and v.strip() in labels
             and all(j >= len(row) or row[j] is None or str(row[j]).strip() == "" for row in rows[top + 1:])}
    return [[v for j, v in enumerate(row) if j not in empty] for row in rows] if empty else rows


def findings_from_workbook(scoring: Sequence[Sequence] | None, summary: Sequence[Sequence] | None,
                           rulebook) -> Rows:
    """The assessment workbook's typed inputs as findings rows (header :data:`FINDING_COLUMNS`):
    from 考核表, each unit block's typed counts, chosen values and repeats (items the tickets
    measure are left out, the table counts them itself, unless 考核表 has the assessor type the count
    because the export cannot give it: its 依据/备注 starts with 导出中没有); from 汇总, each unit's fee as a
    代维费 row. So 生成本月考核表 scores exactly what the workbook shows."""
    from generators.monthly import FEE_ITEM, FINDING_COLUMNS
    from udfs import rulebook as rulebooks
    from workbook.builder import (
        CHOSEN,
        COUNT,
        FEE,
        ID,
        NAME,
        NOTE,
        PARTY_LABEL,
        POINTS,
        REPEATS,
        TEXT,
        TYPED_PREFIX,
        UNIT,
        UNIT_LABEL,
    )

    book = rulebooks.load(rulebook) if isinstance(rulebook, str) else rulebook
    parties = {item.id: book.party_of(item) for item in book.items}
    measured = {item.id for item in book.items if item.measure}
    out: Rows = [list(FINDING_COLUMNS)]
    unit = party = ""
    for row in scoring or ():
        cells = list(row) + [None] * 12
        if cells[ID] == UNIT_LABEL:  # a unit's block: its name, and its 人员类别 (the items of others do not apply)
            unit = str(cells[NAME] or "").strip()
            party = str(cells[TEXT] or "").strip() if cells[POINTS] == PARTY_LABEL else ""
        elif (unit and cells[ID] in parties and isinstance(cells[COUNT], (int, float)) and cells[COUNT]
              and (cells[ID] not in measured or str(cells[NOTE] or "").startswith(TYPED_PREFIX))
              and (not party or parties[cells[ID]] == party)):
            out.append([unit, cells[ID], cells[COUNT], cells[CHOSEN], cells[REPEATS], f"{SCORING_SHEET}表"])
    rows = [list(row) + [None] * 12 for row in summary or ()]
    top = next((i for i, row in enumerate(rows) if row[UNIT] == "考核单位" and row[FEE] == "代维费(元)"), None)
    for row in rows[top + 1:] if top is not None else ():
        name = str(row[UNIT] or "").strip()
        if name and isinstance(row[FEE], (int, float)):
            out.append([name, FEE_ITEM, None, row[FEE], None, f"{SUMMARY_SHEET}表"])
    return out


def _rename_sources(rows: Rows, names: dict[str, str]) -> Rows:
    """The 拒收 tab with the temporary file names in 源文件 replaced by the sheets they came from."""
    if not rows or "源文件" not in rows[0]:
        return rows
    j = rows[0].index("源文件")
    return [rows[0]] + [[names.get(v, v) if k == j else v for k, v in enumerate(row)] for row in rows[1:]]


# -- 导出台账归档 -------------------------------------------------------------------------------------
def archive_dir(workbook_path, month: str) -> Path:
    """Where the archive of ``month`` goes: ``归档_YYYY-MM`` beside the workbook."""
    return Path(workbook_path).parent / f"归档_{check_month(month)}"


def export_archive_from(workbook_path, *, month: str, out_dir=None, mask_phones: bool = True) -> Manifest:
    """Export the saved workbook's ledger tabs (台账, 拒收) with the manifest, phone numbers
    masked by default; ``out_dir`` defaults to :func:`archive_dir`."""
    out = Path(out_dir) if out_dir is not None else archive_dir(workbook_path, month)
    return export_archive(workbook_path, month=month, out_dir=out, mask_phones=mask_phones)


def archive_summary(manifest: Manifest) -> list[str]:
    lines = [f"{f.file}: {f.rows} 行" for f in manifest.files]
    lines.append(f"清单 {manifest.csv_path.name}、{manifest.json_path.name}(SHA-256)；"
                 f"电话号码{'已' if manifest.masked else '未'}脱敏")
    lines.append(f"位置: {manifest.out_dir}")
    return lines


# -- 刷新节假日 ----------------------------------------------------------------------------------------
def holiday_entries_from(rows: Sequence[Sequence] | None) -> tuple[DayEntry, ...]:
    """The user calendar layer from the 节假日 sheet's rows (日期, 类型, 名称; a header row and
    blank rows are skipped); a bad row raises naming its row in the sheet."""
    if not _has_values(rows):
        return ()
    return parse_entries(rows, source=f"工作表“{HOLIDAYS_SHEET}”")


def holiday_summary(entries: tuple[DayEntry, ...]) -> list[str]:
    calendar = china_calendar(entries)
    first, last = calendar.covered_years
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    counted = "、".join(f"{kind} {n} 天" for kind, n in kinds.items()) or "无"
    return [f"节假日表: {len(entries)} 行({counted})", f"日历覆盖 {first}–{last} 年；{calendar.version}"]
