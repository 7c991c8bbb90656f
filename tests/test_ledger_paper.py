"""The ledger on paper and in words: 附件3 filled from the export, archive counts that count tickets,
every sheet print-ready, and no code token anywhere an assessor looks (cells, page headers and
footers, the screen)."""

from __future__ import annotations

import csv
import re

import openpyxl
import pytest

from generators.cli import main

MONTH = "2025-10"
HEADER = ["工单号", "受理工号", "考核单位", "处理人", "优先级", "派单时间", "签收时间", "回复时间", "处理情况", "满意度",
          "二次投诉", "联系电话", "投诉内容"]
ROWS = [
    # on time, result and satisfaction given
    ["JM-1", "KF023", "江门粤通代维", "陈国强", "一般", "2025-10-09 09:00", "2025-10-09 09:30", "2025-10-09 15:00",
     "调整天线下倾角后复测正常，已回复客户", "满意", "否", "13812345678", "蓬江区白沙街道无覆盖"],
    # signed late and a repeat complaint (counts toward 二1 and 二7), satisfaction left empty
    ["JM-2", "KF045", "江门粤通代维", "李志明", "一般", "2025-10-10 09:00", "2025-10-10 14:00", "2025-10-10 18:00",
     "更换传输板件，通话恢复", "", "是", "13912345678", "掉话严重"],
    # still open: no result, nothing invented for it
    ["JM-3", "", "新会信维通信", "", "紧急", "2025-10-30 20:00", "2025-10-30 20:10", "",
     "", "", "否", "", "GPRS网速慢"],
    # rejected: no ticket id
    ["", "KF023", "新会信维通信", "", "一般", "2025-10-11 09:00", "", "", "", "", "", "", ""],
]
# What an assessor must never see: code identifiers, rulebook tokens, seed file names, booleans.
CODE_TOKENS = re.compile(r"ticket_id|overdue:|none_overdue|avg_hours_over|flag:|\||\b\d{3}_[0-9a-f]{16}\.txt"
                         r"|\bTRUE\b|\bFALSE\b|\bnan\b|\bNaT\b|jiangmen")


def _export(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "工单导出.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([header] + rows)
    return path


def _ledger(tmp_path, capsys, export):
    out = tmp_path / "台账.xlsx"
    code = main(["ledger", str(export), "--rulebook", "jiangmen", "--month", MONTH, "--out", str(out), "--appendix3"])
    return code, out, capsys.readouterr().out


def _records(sheet, header_row: int) -> list[dict]:
    header = [c.value for c in sheet[header_row]]
    return [dict(zip(header, row)) for row in sheet.iter_rows(min_row=header_row + 1, values_only=True)]


def test_appendix3_is_filled_exactly_from_the_export_in_its_own_spellings(tmp_path, capsys):
    code, out, _ = _ledger(tmp_path, capsys, _export(tmp_path))
    assert code == 0
    sheet = openpyxl.load_workbook(out)["附件3服务质量问题处理管理台账"]
    assert sheet["A1"].value == "服务质量问题处理管理台账(2025年10月)"
    rows = [r for r in _records(sheet, 2) if isinstance(r["序号"], int)]
    assert [r["序号"] for r in rows] == [1, 2, 3]
    assert [r["受理人"] for r in rows] == ["KF023", "KF045", None]
    assert [r["处理结果"] for r in rows] == ["调整天线下倾角后复测正常，已回复客户", "更换传输板件，通话恢复", None]
    assert [r["客户满意度(回访)"] for r in rows] == ["满意", None, None]
    assert [r["被抱怨/投诉部门、人员"] for r in rows] == ["江门粤通代维、陈国强", "江门粤通代维、李志明", "新会信维通信"]
    # no timeliness verdict passed off as a handling result
    assert not any("及时" in (r["处理结果"] or "") or "超时" in (r["处理结果"] or "") for r in rows)
    # the deduction's basis is a sentence naming why, the item and the clause
    assert rows[1]["备注"].startswith("签收超时，计入二1“EOMS投诉单处理及时率”(江门办法 二、1)：本单位本月第1张，扣2分。")
    assert "二次投诉为“是”，计入二7“客户二次投诉”(江门办法 二、7)：本单位本月第1张" in rows[1]["备注"]


def test_appendix3_leaves_columns_the_export_lacks_empty(tmp_path, capsys):
    keep = [0, 2, 4, 5, 6, 7]  # no 受理人, 处理结果 or 满意度 in this export
    export = _export(tmp_path, [[r[k] for k in keep] for r in ROWS[:2]], [HEADER[k] for k in keep])
    code, out, _ = _ledger(tmp_path, capsys, export)
    assert code == 0
    rows = _records(openpyxl.load_workbook(out)["附件3服务质量问题处理管理台账"], 2)[:2]
    for column in ("受理人", "处理结果", "客户满意度(回访)"):
        assert [r[column] for r in rows] == [None, None], column


@pytest.mark.slow
def test_archive_counts_tickets_and_prints_the_header_not_the_title(tmp_path, capsys):
    code, out, _ = _ledger(tmp_path, capsys, _export(tmp_path))
    assert code == 0
    folder = tmp_path / "归档"
    assert main(["archive", str(out), "--month", MONTH, "--out", str(folder), "--mask-phones"]) == 0
    with open(folder / "manifest.csv", encoding="utf-8-sig", newline="") as stream:
        listed = {row["工作表"]: int(row["数据行数(不含标题、表头和表尾)"]) for row in csv.DictReader(stream)}
    assert listed == {"台账": 3, "附件3服务质量问题处理管理台账": 3, "拒收": 1}  # 3 tickets, 1 rejected row
    assert main(["archive", "--verify", "--out", str(folder)]) == 0
    book = openpyxl.load_workbook(folder / "2025-10_附件3服务质量问题处理管理台账.xlsx")
    sheet = book.active
    assert sheet.print_title_rows == "$2:$2"  # the column header, not the form's title above it
    assert sheet.cell(2, 1).value == "序号" and sheet.cell(1, 1).value.startswith("服务质量问题处理管理台账")
    ledger = openpyxl.load_workbook(folder / "2025-10_台账.xlsx").active
    header = [c.value for c in ledger[1]]
    hours = ledger.cell(3, header.index("签收超时小时") + 1)
    assert hours.value == 3 and hours.number_format == "0.00"  # signed 14:00, due 11:00
    assert ledger.print_title_rows == "$1:$1" and ledger.print_title_cols == "$A:$A"


def _printed_words(path) -> list[tuple[str, str]]:
    """Every text an assessor sees in a workbook: sheet names, cells, page headers and footers."""
    book = openpyxl.load_workbook(path)
    seen = []
    for sheet in book:
        seen.append((sheet.title, sheet.title))
        for part in (sheet.oddHeader, sheet.oddFooter):
            for side in (part.left, part.center, part.right):
                if side.text:
                    seen.append((f"{sheet.title} 页眉页脚", side.text))
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None and not hasattr(cell.value, "year"):
                    seen.append((f"{sheet.title}!{cell.coordinate}", str(cell.value)))
    return seen


@pytest.mark.slow
def test_no_code_token_in_any_cell_header_footer_or_line_on_screen(tmp_path, capsys):
    code, out, screen = _ledger(tmp_path, capsys, _export(tmp_path))
    assert code == 0
    folder = tmp_path / "归档"
    assert main(["archive", str(out), "--month", MONTH, "--out", str(folder)]) == 0
    seen = _printed_words(out) + [(f"归档 {p.name}", text) for p in sorted(folder.glob("*.xlsx"))
                                  for _, text in _printed_words(p)]
    seen += [("屏幕", line) for line in screen.splitlines() if not line.startswith("已写出")]
    leaks = [(where, text) for where, text in seen if CODE_TOKENS.search(text)]
    assert not leaks, leaks[:10]
    # months in words wherever a month is named for people (cells of 说明, titles, page headers)
    headers = [text for where, text in seen if "页眉页脚" in where and "第 &P 页" not in text]
    assert headers and all("2025年10月" in text for text in headers), headers
    notes = {k: v for k, v in openpyxl.load_workbook(out)["说明"].iter_rows(values_only=True)}
    assert notes["考核月份"] == "2025年10月" and notes["读入行数"] == 4 and notes["入账行数"] == 3
    assert notes["核对"] == "读入 4 行 = 入账 3 行 + 拒收 1 行"


def test_every_sheet_is_print_ready_never_below_8_points(tmp_path, capsys):
    code, out, _ = _ledger(tmp_path, capsys, _export(tmp_path))
    assert code == 0
    book = openpyxl.load_workbook(out)
    for sheet in book:
        setup = sheet.page_setup
        assert (setup.scale or 100) >= 73, sheet.title  # 11 pt text printed at 8 pt or more
        assert not sheet.sheet_properties.pageSetUpPr or not sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.oddFooter.center.text == "第 &P 页 共 &N 页", sheet.title
        assert "2025年10月" in sheet.oddHeader.center.text, sheet.title
    assert book["台账"].print_title_rows == "$1:$1" and book["台账"].print_title_cols == "$A:$A"
    assert book["附件3服务质量问题处理管理台账"].print_title_rows == "$2:$2"
    assert book["拒收"].print_title_rows == "$1:$1"
    # a wrapped basis makes its row as tall as its lines; an unwrapped one stays one line high
    ledger = book["台账"]
    header = [c.value for c in ledger[1]]
    basis = ledger.cell(3, header.index("扣分依据") + 1)
    assert basis.alignment.wrap_text and ledger.row_dimensions[3].height >= 2 * 16.5
