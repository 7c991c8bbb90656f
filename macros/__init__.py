"""The Python behind the assessment workbook's buttons: xlwings ``RunPython`` entry points.

Each button of the workbook runs ``RunPython "import macros;macros.<function>()"`` (see
:data:`workbook.vba.BUTTONS`). These functions only move values between the open workbook
and :mod:`macros.jobs`, where the work is done on plain values; xlwings is imported inside
them, so importing this package needs no Excel.

* :func:`generate_month` (生成本月考核表): the 工单 sheet, the findings (a 考核记录 sheet when
  present, else what 考核表 and 汇总 hold), 节假日, and the month and rulebook of the named
  cells 考核月份 and 考核办法 → result tabs 月报_台账, 月报_拒收, 月报_汇总, one per unit, 月报_说明.
* :func:`export_archive` (导出台账归档): saves the workbook, then exports its 台账 and 拒收 tabs
  (the live 台账 and the generated ones)
  with the manifest into 归档_YYYY-MM beside it (phone numbers masked).
* :func:`refresh_holidays` (刷新节假日): loads the 节假日 sheet into the calendar the KH_ cell
  functions count with and recalculates. This reaches the cell functions because the
  workbook's xlwings.conf sets ``Use UDF Server``: RunPython runs in the UDF process.

A bad input is shown as the Chinese message in an Excel alert, not as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from udfs.errors import KaoheError

from . import jobs

__all__ = ["export_archive", "generate_month", "refresh_holidays"]

TITLE = "考核"


def generate_month() -> None:
    """生成本月考核表."""
    _run(_generate_month)


def export_archive() -> None:
    """导出台账归档."""
    _run(_export_archive)


def refresh_holidays() -> None:
    """刷新节假日."""
    _run(_refresh_holidays)


# -- the Excel side (runs only inside Excel) -------------------------------------------------------
def _run(job: Callable) -> None:
    import xlwings as xw

    book = xw.Book.caller()
    try:
        lines = job(book)
    except KaoheError as err:
        book.app.alert(err.zh, title=TITLE, mode="critical")
        return
    book.app.alert("\n".join(lines), title=TITLE, mode="info")


def _generate_month(book) -> list[str]:
    result = jobs.generate_month_from(
        _sheet_rows(book, jobs.TICKETS_SHEET, required=True),
        rulebook=_rulebook(book),
        month=jobs.month_text(_named_value(book, jobs.MONTH_NAME)),
        findings=_findings(book),
        holidays=_sheet_rows(book, jobs.HOLIDAYS_SHEET))
    for name, rows in result.tabs.items():
        _write_tab(book, name, rows)
    return result.summary + [f"已写入: {'、'.join(result.tabs)}"]


def _export_archive(book) -> list[str]:
    month = jobs.month_text(_named_value(book, jobs.MONTH_NAME))
    book.save()  # the archive is read from the saved file
    return jobs.archive_summary(jobs.export_archive_from(book.fullname, month=month))


def _refresh_holidays(book) -> list[str]:
    from udfs.timeliness_cells import use_holidays

    entries = jobs.holiday_entries_from(_sheet_rows(book, jobs.HOLIDAYS_SHEET))
    use_holidays(entries)
    if sys.platform.startswith("win"):
        book.app.api.CalculateFull()  # UDF cells are not dirty: only a full recalculation redoes them
    return jobs.holiday_summary(entries)


def _findings(book):
    """The 考核记录 sheet when the workbook has one, else the 考核表 and 汇总 inputs."""
    rows = _sheet_rows(book, jobs.FINDINGS_SHEET)
    if rows is not None:
        return rows
    return jobs.findings_from_workbook(_sheet_rows(book, jobs.SCORING_SHEET), _sheet_rows(book, jobs.SUMMARY_SHEET),
                                       _rulebook(book))


def _rulebook(book):
    """The workbook's rulebook: the name in 考核办法, or the rulebook carried on its hidden sheet
    (a contract's own file; :func:`udfs.carried.rulebook_from_cells`)."""
    from udfs.carried import rulebook_from_cells

    try:
        target = book.names[jobs.RULEBOOK_NAME].refers_to_range
    except Exception:  # noqa: BLE001 - xlwings raises platform-specific errors for a missing name
        raise KaoheError(f"工作簿缺少名称“{jobs.RULEBOOK_NAME}”(公式 → 名称管理器)",
                         f"the workbook has no name {jobs.RULEBOOK_NAME!r}") from None
    cells = target.options(ndim=2).value if hasattr(target, "options") else target.value  # one cell or the sheet's
    return rulebook_from_cells(cells)


def _named_value(book, name: str):
    try:
        return book.names[name].refers_to_range.value
    except Exception:  # noqa: BLE001 - xlwings raises platform-specific errors for a missing name
        raise KaoheError(f"工作簿缺少名称“{name}”(公式 → 名称管理器)", f"the workbook has no name {name!r}") from None


def _sheet_rows(book, name: str, *, required: bool = False):
    """The sheet's values from A1 to its last used cell (so row numbers match the sheet), or
    None when the sheet does not exist and is not required."""
    if name not in [sheet.name for sheet in book.sheets]:
        if required:
            raise KaoheError(f"工作簿缺少工作表“{name}”", f"the workbook has no sheet {name!r}")
        return None
    sheet = book.sheets[name]
    last = sheet.used_range.last_cell
    return sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value


def _write_tab(book, name: str, rows) -> None:
    names = [sheet.name for sheet in book.sheets]
    if name in names:
        sheet = book.sheets[name]
        sheet.clear()
    else:
        sheet = book.sheets.add(name, after=book.sheets[len(names) - 1])
    if not rows:
        return
    width = max(len(row) for row in rows)
    cells = [row + [None] * (width - len(row)) for row in jobs.excel_cells(rows)]
    sheet.range((1, 1)).value = cells
    for j in jobs.datetime_columns(rows):
        sheet.range((1, j + 1), (len(rows), j + 1)).number_format = jobs.DATE_FORMAT
