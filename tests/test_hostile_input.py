"""Hostile and unlucky input, output and disks through the front door (issue #11): nothing lost,
nothing injected, never a traceback. Each test builds its small reproduction and asserts the held
behaviour: the exit code, a Chinese message naming file, row, column and value, counts that
reconcile. (Also in tests/test_safe_files.py: the history, CSV cells, phone spellings, usage
errors; tests/test_archive.py: --verify; tests/test_hostile_rulebooks.py: rulebook text.)"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import python_calamine
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators import input_files, workbooks
from generators.cli import main
from generators.ledger import compute_ledger
from generators.monthly import read_history
from generators.safe_files import FORMULA_PREFIXES
from generators.tickets import read_tickets
from udfs import rulebook
from udfs.errors import KaoheError

HEADER = ["工单号", "考核单位", "优先级", "派单时间", "签收时间", "回复时间"]
JIANGMEN = rulebook.load("jiangmen")


def _ticket(k: int, day: int = 14, unit: str = "甲") -> list:
    return [f"T{k}", unit, "一般", f"2025-10-{day:02d} 10:00", f"2025-10-{day:02d} 11:00", f"2025-10-{day:02d} 18:00"]


def _csv(path: Path, rows, encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def _sheets(path: Path) -> dict[str, list[list]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _ledger(export: Path, out: Path, month: str = "2025-10", *more) -> int:
    return main(["ledger", str(export), "--rulebook", "jiangmen", "--month", month, "--out", str(out), *more])


# -- 1. every sheet of an export ------------------------------------------------------------------------
def test_every_sheet_with_a_ticket_header_is_read_and_hidden_or_unread_sheets_are_named(tmp_path, capsys):
    """A split export (two sheets), a hidden sheet and a notes sheet: the tickets of all three
    ticket sheets are in the ledger (read 6 = accepted 5 + rejected 1: T2 repeats across sheets),
    the hidden sheet and the unread notes sheet are named on screen."""
    export = tmp_path / "导出.xlsx"
    book = xlsxwriter.Workbook(export)
    for name, tickets in (("第一页", [1, 2, 3]), ("第二页", [4, 2]), ("旧数据", [6])):
        sheet = book.add_worksheet(name)
        for i, row in enumerate([HEADER] + [_ticket(k) for k in tickets]):
            sheet.write_row(i, 0, row)
        if name == "旧数据":
            sheet.hide()
    book.add_worksheet("说明").write_string(0, 0, "本表由系统导出")
    book.close()

    assert _ledger(export, tmp_path / "台账.xlsx") == 0
    said = capsys.readouterr().out
    assert "读入 6 行 = 入账 5 行 + 拒收 1 行" in said
    assert "工作表“旧数据”(隐藏): 读入 1 行" in said and "是隐藏的工作表" in said
    assert "工作表“说明”未读取: 前50行中没有工单表头" in said
    sheets = _sheets(tmp_path / "台账.xlsx")
    assert sorted(row[0] for row in sheets["台账"][1:]) == ["T1", "T2", "T3", "T4", "T6"]
    assert sheets["拒收"][1][:2] == ["导出.xlsx 工作表“第二页”", 3]
    assert sheets["拒收"][1][5] == "工单号重复(与导出.xlsx 工作表“第一页” 第 3 行相同)"


# -- 4. sizes checked before anything is allocated --------------------------------------------------------
def _far_cell(path: Path) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("工单")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, _ticket(1))
    sheet.write_string(1_048_575, 16_383, "x")  # XFD1048576: 17 billion cells as a grid
    book.close()
    return path


@pytest.mark.parametrize("command", ["ledger", "monthly-findings", "archive"])
def test_a_tiny_file_with_one_far_cell_is_refused_before_it_is_read(command, tmp_path, capsys):
    far = _far_cell(tmp_path / "far.xlsx")
    assert far.stat().st_size < 10_000
    export = _csv(tmp_path / "export.csv", [HEADER, _ticket(1)])
    argv = {"ledger": ["ledger", str(far), "--rulebook", "jiangmen", "--month", "2025-10",
                       "--out", str(tmp_path / "台账.xlsx")],
            "monthly-findings": ["monthly", str(export), "--findings", str(far), "--rulebook", "jiangmen",
                                 "--month", "2025-10", "--out", str(tmp_path / "月度.xlsx")],
            "archive": ["archive", str(far), "--month", "2025-10", "--out", str(tmp_path / "归档")]}[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "far.xlsx: 工作表“工单”的数据区域从 A1 到第 1,048,576 行、第 16,384 列" in err, err


@pytest.mark.parametrize("cell", [
    b'<row r="3"><c s="0" r="ZZ900000" t="n"><v>1</v></c></row>',   # the reference not the first attribute
    b'<row r="3"><c r="XFD1048576" t="n"><v>1</v></c></row>',       # a cell far below its own row element
    b"<x:row r='3'><x:c r='AAA900000'><x:v>1</x:v></x:c></x:row>",   # a prefix and other quotes
])
def test_a_far_cell_however_spelt_is_found(cell, tmp_path):
    plain = _far_cell(tmp_path / "plain.xlsx")
    source, odd = zipfile.ZipFile(plain), tmp_path / "odd.xlsx"
    with zipfile.ZipFile(odd, "w", zipfile.ZIP_DEFLATED) as out:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<row r="1048576".*?</row>', b"", data).replace(b"</sheetData>", cell + b"</sheetData>")
            out.writestr(member, data)
    with pytest.raises(KaoheError, match="超过可读取的上限"):
        input_files.inspect_workbook(odd)


def test_a_part_that_unpacks_too_large_is_refused(tmp_path, monkeypatch, capsys):
    """A 3 MB file may unpack to a 3 GB cell: the zip directory is read first (the limit lowered here)."""
    export = tmp_path / "export.xlsx"
    book = xlsxwriter.Workbook(export)
    sheet = book.add_worksheet("工单")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, _ticket(1) + ["描述" * 5000])
    book.close()
    monkeypatch.setattr(input_files, "MAX_PART_BYTES", 5_000)
    assert _ledger(export, tmp_path / "台账.xlsx") == 1
    assert "export.xlsx: 解压后过大" in capsys.readouterr().err


# -- 7. output problems are messages ---------------------------------------------------------------------
def test_output_problems_end_in_messages_and_leave_the_old_file(tmp_path, monkeypatch, capsys):
    export = _csv(tmp_path / "export.csv", [HEADER, _ticket(1)])
    out = tmp_path / "台账.xlsx"
    assert _ledger(export, tmp_path / "missing" / "台账.xlsx") == 1
    assert "输出文件夹不存在" in capsys.readouterr().err
    (tmp_path / "folder.xlsx").mkdir()
    assert _ledger(export, tmp_path / "folder.xlsx") == 1
    assert "这是一个文件夹" in capsys.readouterr().err

    out.write_bytes(b"old")
    out.chmod(0o444)
    assert _ledger(export, out) == 1
    assert "只读" in capsys.readouterr().err and out.read_bytes() == b"old"
    out.chmod(0o644)

    for error, words in ((PermissionError(13, "Permission denied"), "正被其他程序(如 Excel)打开"),
                         (OSError(28, "No space left on device"), "磁盘已满")):
        def refuse(source, target, error=error):
            raise error
        monkeypatch.setattr(os, "replace", refuse)
        assert _ledger(export, out) == 1
        assert words in capsys.readouterr().err and out.read_bytes() == b"old"
        monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv", "folder.xlsx", "台账.xlsx"]  # no temporaries

    history = _csv(tmp_path / "考核历史.csv", [["月份", "考核办法", "考核单位", "得分", "及时率"]])
    history.chmod(0o444)
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10", "--history", str(history),
                 "--out", str(tmp_path / "月度.xlsx")]) == 1
    assert "考核历史.csv: 文件只读" in capsys.readouterr().err.replace("无法写入 ", "").replace(str(tmp_path) + "/", "")

    not_a_folder = tmp_path / "归档"
    not_a_folder.write_text("a file", encoding="utf-8")
    assert main(["archive", str(tmp_path / "月度.xlsx"), "--month", "2025-10", "--out", str(not_a_folder)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_ends_with_a_message_and_no_half_written_file(tmp_path, monkeypatch, capsys):
    export = _csv(tmp_path / "export.csv", [HEADER, _ticket(1)])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workbooks.xlsxwriter.Workbook, "close", interrupted)
    assert _ledger(export, tmp_path / "台账.xlsx") == 130
    assert "已中断" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


# -- 8. input data that used to raise ---------------------------------------------------------------------
def test_a_bom_csv_with_an_undecodable_byte_names_the_line(tmp_path, capsys):
    export = tmp_path / "export.csv"
    lines = [",".join(HEADER), ",".join(_ticket(1)), ",".join(_ticket(2)).replace("甲", "甲\udcff")]
    export.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8", "surrogateescape"))
    assert _ledger(export, tmp_path / "台账.xlsx") == 1
    assert "export.csv: 第3行(文本行)有无法识别的字节 FF" in capsys.readouterr().err


def test_a_unit_name_of_31_characters_with_an_astral_character_gets_a_sheet(tmp_path, capsys):
    """Excel counts 𠮷 as two: the unit's sheet name is shortened, the unit keeps its name."""
    unit = "𠮷" + "代维公司" * 7 + "甲乙"
    export = _csv(tmp_path / "export.csv", [HEADER, _ticket(1, unit=unit)])
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--out", str(tmp_path / "月度.xlsx")]) == 0
    assert unit in capsys.readouterr().out
    names = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "月度.xlsx")).sheet_names
    assert any(unit.startswith(name) and len(name.encode("utf-16-le")) <= 62 for name in names)


@pytest.mark.parametrize("month, score, words", [
    ("2025-13", "80", "第2行“月份”应为 YYYY-MM: 2025-13"), ("2025-09", "inf", "第2行“得分”列不是数字: inf"),
])
def test_a_history_row_with_an_impossible_month_or_score_is_named_and_the_history_kept(month, score, words, tmp_path,
                                                                                     capsys):
    history = tmp_path / "考核历史.csv"
    history.write_text(f"月份,考核办法,考核单位,得分,及时率\n{month},jiangmen,甲,{score},0.9\n", encoding="utf-8")
    before = history.read_bytes()
    export = _csv(tmp_path / "export.csv", [HEADER, _ticket(1)])
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10", "--history", str(history),
                 "--out", str(tmp_path / "月度.xlsx")]) == 1
    assert f"考核历史 考核历史.csv {words}" in capsys.readouterr().err
    assert history.read_bytes() == before and not (tmp_path / "月度.xlsx").exists()


# -- 9. Excel's limits: continued, never cut --------------------------------------------------------------
def test_rows_columns_and_text_beyond_excels_limits_continue_elsewhere(tmp_path, monkeypatch, capsys):
    """The limits lowered (10 rows a sheet, 12 columns) so that a small export crosses them:
    12 tickets fill 台账 (9) and 台账(续1) (3); the export's extra columns that do not fit go to
    台账其他列 by ticket id; a 40,000-character description keeps its start and continues on 长文本."""
    monkeypatch.setattr(workbooks, "EXCEL_ROWS", 10)
    monkeypatch.setattr("generators.ledger.EXCEL_COLUMNS", 30)
    long_text = "客户反映" * 10_000
    extra = [f"附加{k}" for k in range(25)]
    rows = [HEADER + ["投诉内容"] + extra]
    rows += [_ticket(k) + [long_text if k == 5 else "短"] + [f"v{k}-{j}" for j in range(25)] for k in range(1, 13)]
    export = _csv(tmp_path / "export.csv", rows)
    assert _ledger(export, tmp_path / "台账.xlsx", "2025-10", "--appendix3") == 0
    said = capsys.readouterr().out
    assert "续写在 台账(续1)" in said and "写在“台账其他列”表" in said and "“长文本”表" in said
    sheets = _sheets(tmp_path / "台账.xlsx")
    ledger_rows = sheets["台账"][1:] + sheets["台账(续1)"][1:]
    assert [r[0] for r in ledger_rows] == [f"T{k}" for k in range(1, 13)]
    assert len(sheets["台账"][0]) == 30
    moved = sheets["台账其他列"] + sheets["台账其他列(续1)"][1:]
    assert moved[0][0] == "工单号" and [r[0] for r in moved[1:]] == [f"T{k}" for k in range(1, 13)]
    kept_extras = [c for c in sheets["台账"][0] if c.startswith("附加")]
    assert sorted(kept_extras + moved[0][1:], key=lambda c: int(c[2:])) == extra  # every column somewhere
    pieces = [r for r in sheets["长文本"][1:] if r[1] == "T5"]
    assert "".join(r[4] for r in sorted(pieces, key=lambda r: r[3])) == long_text
    cell = next(r for r in ledger_rows if r[0] == "T5")
    assert any(isinstance(v, str) and v.startswith(long_text[:100]) and "见“长文本”表" in v for v in cell)
    appendix = [name for name in sheets if name.startswith("附件3")]
    assert sum(len(sheets[name]) - 6 for name in appendix) == 12  # title, header, 4 footer rows a sheet
    notes = [r[1] for r in sheets["说明"] if r[0] == "超出 Excel 上限"]
    assert len(notes) == 3 and any("台账(续1)" in n for n in notes) and any("长文本" in n for n in notes)


# -- 10. a stage lost to a merged header is said --------------------------------------------------------
def test_a_stage_whose_header_was_lost_to_a_merged_cell_is_said_on_screen_and_in_notes(tmp_path, capsys):
    export = tmp_path / "export.xlsx"
    book = xlsxwriter.Workbook(export)
    sheet = book.add_worksheet("工单")
    sheet.write_row(0, 0, HEADER[:3])
    sheet.merge_range(0, 3, 0, 4, "派单时间")  # the 签收时间 header is under the merge
    sheet.write_string(0, 5, "回复时间")
    for i in range(1, 4):
        sheet.write_row(i, 0, _ticket(i))
    book.close()
    assert _ledger(export, tmp_path / "台账.xlsx") == 0
    said = capsys.readouterr().out
    assert "未计时: 签收" in said
    notes = {r[0]: r[1] for r in _sheets(tmp_path / "台账.xlsx")["说明"] if len(r) > 1}
    assert notes["未计时(导出缺列)"] == "签收、回访"  # 回访: the export has no 回访时间 at all


# -- 12. 挂起 as hours, and a suspension that never ends -------------------------------------------------
def test_suspended_hours_are_read_as_the_cell_functions_read_them_and_an_endless_one_is_clipped(tmp_path):
    """Jiangmen 一般 回复 limit: 24 hours from dispatch (DOMAIN, 江门 第四条). Dispatched 10-14 10:00:
    T1 挂起 5 (hours) → due 10-15 15:00, replied 10-15 14:00: on time. T2 挂起 "5小时" the same.
    T3 挂起 10-14 12:00 ~ 9999-12-31: replied 10-16 18:00; only the suspension up to the reply
    counts (54 h), due 10-17 16:00: on time by the rule, but the cut is said. T4 suspended 1 hour
    (10-14 12:00 ~ 13:00), replied 10-16 18:00: due 10-15 11:00, 31 hours late."""
    from udfs.timeliness_cells import kh_deadline

    rows = [HEADER + ["挂起时段"],
            ["T1", "甲", "一般", "2025-10-14 10:00", "2025-10-14 11:00", "2025-10-15 14:00", "5"],
            ["T2", "甲", "一般", "2025-10-14 10:00", "2025-10-14 11:00", "2025-10-15 14:00", "5小时"],
            ["T3", "甲", "一般", "2025-10-14 10:00", "2025-10-14 11:00", "2025-10-16 18:00",
             "2025-10-14 12:00~9999-12-31 00:00"],
            ["T4", "甲", "一般", "2025-10-14 10:00", "2025-10-14 11:00", "2025-10-16 18:00",
             "2025-10-14 12:00~2025-10-14 13:00"]]
    imported = read_tickets(_csv(tmp_path / "export.csv", rows), rulebook=JIANGMEN, month="2025-10")
    ledger = compute_ledger(imported.tickets, JIANGMEN, as_of=np.datetime64("2025-11-01T00:00:00"))
    assert ledger.rejected.empty, ledger.rejected
    due = ledger.rows["回复截止"].to_numpy("datetime64[s]")
    assert due[0] == due[1] == np.datetime64("2025-10-15T15:00:00")
    assert due[0] == np.datetime64(kh_deadline(dt.datetime(2025, 10, 14, 10), 24, "小时", None, 5)[0][0], "s")
    assert list(ledger.rows["回复及时"]) == ["是", "是", "是", "否"]
    assert "挂起时间超出回复完成时间" in ledger.rows["考核说明"][2]
    assert ledger.rows["回复超时小时"][3] == 31


# -- 16. a month that rejects most rows is questioned -----------------------------------------------------
def test_a_wrong_month_that_rejects_most_rows_asks_whether_the_month_is_right(tmp_path, capsys):
    export = _csv(tmp_path / "export.csv", [HEADER] + [_ticket(k) for k in range(1, 11)])
    assert _ledger(export, tmp_path / "台账.xlsx", "2025-11") == 1
    said = capsys.readouterr().out
    assert "10 行(100.0%)的派单时间不在考核月份 2025年11月 内，其中 10 行在 2025年10月；请确认考核月份" in said
    assert (tmp_path / "台账.xlsx").exists()


def test_no_python_warning_reaches_the_console(tmp_path):
    """A unit whose tickets were none of them timed (means of nothing) and findings for a unit
    without tickets: numpy used to warn on the console."""
    export = _csv(tmp_path / "export.csv", [HEADER, ["T1", "甲", "一般", "2025-10-14 10:00", "", ""]])
    findings = _csv(tmp_path / "考核记录.csv", [["考核单位", "考核项", "次数"], ["乙", "一2", "1"]])
    run = subprocess.run([sys.executable, "-W", "default", "-m", "generators.cli", "monthly", str(export),
                          "--findings", str(findings), "--rulebook", "jiangmen", "--month", "2025-10",
                          "--out", str(tmp_path / "月度.xlsx")], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr and "Traceback" not in run.stderr, run.stderr


# -- the history under SIGKILL ----------------------------------------------------------------------------
@pytest.mark.slow
def test_killing_monthly_at_random_points_never_leaves_a_truncated_history(tmp_path):
    """20 runs of `kaohe monthly --history`, each killed after a random delay within a run's length:
    the history is always the old one or the new one, complete (never half, never empty)."""
    history = tmp_path / "考核历史.csv"
    history.write_text("月份,考核办法,考核单位,得分,及时率,备注\n" + "".join(
        f"2024-{m:02d},jiangmen,甲,{80 + m}.5,0.9,第{m}月\n" for m in range(1, 13)), encoding="utf-8-sig")
    before = history.read_bytes()
    export = _csv(tmp_path / "export.csv", [HEADER] + [_ticket(k, day=1 + k % 28) for k in range(1, 300)])
    argv = [sys.executable, "-m", "generators.cli", "monthly", str(export), "--rulebook", "jiangmen",
            "--month", "2025-10", "--history", str(history), "--out", str(tmp_path / "月度.xlsx")]
    started = time.monotonic()
    assert subprocess.run(argv, capture_output=True, timeout=300, check=False).returncode == 0
    length = time.monotonic() - started
    after = history.read_bytes()
    assert after != before and read_history(history)["月份"].tolist().count("2025-10") == 1
    randomly = random.Random(11)
    for _ in range(20):
        history.write_bytes(before)
        run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(randomly.uniform(0.5, 1.05) * length)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        assert history.read_bytes() in (before, after)
        (tmp_path / "考核历史.csv.lock").unlink(missing_ok=True)  # a killed run's lock (taken over after a minute)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert all(name.startswith(".") for name in leftovers)  # only a killed run's own temporaries, never the history


# -- the importer and the ledger under fuzzing ------------------------------------------------------------
_CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["", "=1+1", "@SUM(1)", "\ufeffT1", "2025-10-14 10:00",
                                                           "2025/10/31 24:00", "45944.5", "一般", "特急", "nan", "inf",
                                                           "9999-12-31", "-1", "\x00", "\"", "T1"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(_CELLS, min_size=6, max_size=8), min_size=1, max_size=12),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6))
def test_mutated_exports_never_raise_and_always_reconcile(cells, flips, tmp_path_factory):
    """Random cells under a real header, then random bytes flipped in the CSV: either the file is
    refused with a KaoheError naming it, or read = accepted + rejected and every rejection names
    its row and reason."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = _csv(folder / "export.csv", [HEADER + ["挂起时段", "二次投诉"]] + cells)
    data = bytearray(path.read_bytes())
    header_end = data.index(b"\n") + 1
    for position, byte in flips:
        if len(data) > header_end:
            data[header_end + position % (len(data) - header_end)] = byte
    path.write_bytes(bytes(data))
    try:
        imported = read_tickets(path, rulebook=JIANGMEN, month="2025-10")
    except KaoheError as err:
        assert "export.csv" in str(err)
        return
    assert imported.reconciles
    ledger = compute_ledger(imported.tickets, JIANGMEN, as_of=np.datetime64("2025-11-01T00:00:00"))
    assert ledger.reconciles and len(ledger.rows) + len(ledger.rejected) == imported.accepted
    for rejected in (imported.rejected, ledger.rejected):
        assert (rejected["源行号"] >= 2).all() and (rejected["原因"].str.len() > 0).all()


# -- every CSV the project writes ------------------------------------------------------------------------
def _formula_like(cell: str) -> bool:
    if not cell.startswith(FORMULA_PREFIXES):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def test_no_csv_the_project_writes_has_a_cell_a_spreadsheet_would_run(tmp_path):
    """The history and the archive manifest, fed names built to be formulas: no cell begins with
    = + - @ tab or CR unless it is a number."""
    hostile = ['=HYPERLINK("http://x","点我")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)"]
    export = _csv(tmp_path / "export.csv", [HEADER] + [_ticket(k, unit=u) for k, u in enumerate(hostile, start=1)])
    history = tmp_path / "考核历史.csv"
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10", "--history", str(history),
                 "--out", str(tmp_path / "月度.xlsx")]) == 0
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--out", str(tmp_path / "台账.xlsx")]) == 0
    assert main(["archive", str(tmp_path / "台账.xlsx"), "--month", "2025-10", "--out", str(tmp_path / "归档")]) == 0
    written = [history, *sorted((tmp_path / "归档").glob("*.csv"))]
    assert len(written) == 2
    for path in written:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            cells = [cell for row in csv.reader(stream) for cell in row]
        assert cells and not [cell for cell in cells if _formula_like(cell)], path
    assert sorted(read_history(history)["考核单位"]) == sorted(hostile)
