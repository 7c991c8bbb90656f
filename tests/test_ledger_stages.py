"""The ledger through the command line on exports that look like real ones: stage fields per
time-limit row, tickets a stage does not apply to, real header spellings, the system's own
deadline as a cross-check, and the late-December calendar caveat."""

from __future__ import annotations

import datetime as dt

import openpyxl

from generators.cli import main


def _ledger(tmp_path, text: str, rulebook: str, month: str):
    export = tmp_path / "export.csv"
    export.write_text(text, encoding="utf-8-sig")
    out = tmp_path / "台账.xlsx"
    code = main(["ledger", str(export), "--rulebook", rulebook, "--month", month, "--out", str(out)])
    book = openpyxl.load_workbook(out)
    rows = list(book["台账"].iter_rows(values_only=True))
    ledger = [dict(zip(rows[0], row)) for row in rows[1:]]
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    return code, {str(r["工单号"]): r for r in ledger}, notes


def test_a_visit_column_filled_for_one_ticket_loses_no_ticket(tmp_path, capsys):
    """Jiangmen 回访 is split by kind: a ticket of another kind is not assessed at 回访 and stays
    in the ledger (it used to reject the whole month); a 特急 ticket signed 1 h late still counts."""
    code, rows, notes = _ledger(tmp_path, (
        "工单号,考核单位,优先级,工单类型,派单时间,签收时间,回复时间,回访时间,附加列\n"
        "T1,甲,特急,网络质量,2025-10-14 10:00,2025-10-14 13:00,2025-10-14 19:00,,x\n"
        "T2,甲,一般,处理期间已解决,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 12:00,2025-10-14 18:00,y\n"
        "T3,乙,紧急,故障,2025-10-15 10:00,2025-10-15 11:00,2025-10-15 12:00,,\n"), "jiangmen", "2025-10")
    assert code == 0
    assert (notes["读入行数"], notes["入账行数"], notes["拒收行数"]) == (3, 3, 0)
    assert rows["T1"]["签收及时"] == "否" and rows["T1"]["扣分"] == 2
    assert rows["T1"]["回访及时"] == "不考核" and "不考核" in rows["T1"]["考核说明"]
    assert rows["T2"]["回访及时"] == "是" and rows["T2"]["回访截止"] == dt.datetime(2025, 10, 15)
    assert "不考核 2" in capsys.readouterr().out


def test_real_export_headers_and_the_system_deadline(tmp_path, capsys):
    """签单时间/回单时间/结单日期/受理号码 are recognised; the export's 整体时限时间 is compared with
    the rulebook's deadline and a difference is listed on the ticket and on screen."""
    code, rows, _ = _ledger(tmp_path, (
        "工单流水号,代维公司,紧急程度,派发时间,签单时间,回单时间,结单日期,受理号码,整体时限时间\n"
        "E1,甲,一般,2025-10-14 10:00,2025-10-14 11:00,2025-10-15 09:00,2025-10-15 10:00,13812345678,2025-10-15 10:00\n"
        "E2,甲,特急,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 18:00,2025-10-14 19:00,13812345679,2025-10-14 20:00\n"),
        "jiangmen", "2025-10")
    assert code == 0
    e1, e2 = rows["E1"], rows["E2"]
    assert e1["签收时间"] == dt.datetime(2025, 10, 14, 11) and e1["回复时间"] == dt.datetime(2025, 10, 15, 9)
    assert e1["归档时间"] == dt.datetime(2025, 10, 15, 10) and e1["联系电话"] == "13812345678"
    # 一般 24 h → due 10-15 10:00, as the system says; 特急 10 h → 10-14 20:00, as the system says
    assert not e1["考核说明"] and not e2["考核说明"]
    code, rows, _ = _ledger(tmp_path, (
        "工单流水号,代维公司,紧急程度,派发时间,签单时间,回单时间,整体时限时间\n"
        "E3,甲,紧急,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 18:00,2025-10-15 10:00\n"), "jiangmen", "2025-10")
    # 紧急 15 h → 10-15 01:00; the system's 10-15 10:00 is 9 hours later
    assert "系统时限 2025-10-15 10:00 比本办法“回复”截止 2025-10-15 01:00 晚 9.00 小时" in rows["E3"]["考核说明"]
    assert "系统时限与本办法截止时间不同" in capsys.readouterr().out


def test_late_december_of_the_last_loaded_year_carries_a_caveat(tmp_path, capsys):
    """While 2027's schedule is not loaded, a December 2026 ledger says its working days may still
    change; the deadlines themselves stay plain values."""
    code, rows, notes = _ledger(tmp_path, (
        "工单号,考核单位,优先级,派单时间,签收时间,回复时间\n"
        "D1,甲,一般,2026-12-22 10:00,2026-12-22 11:00,2026-12-23 09:00\n"), "jiangmen", "2026-12")
    assert code == 0 and rows["D1"]["回复截止"] == dt.datetime(2026, 12, 23, 10)
    assert "2027年节假日安排尚未加载" in capsys.readouterr().out
    assert "2027年节假日安排尚未加载" in notes["日历提示"]
    out = tmp_path / "月度.xlsx"
    assert main(["monthly", str(tmp_path / "export.csv"), "--rulebook", "jiangmen", "--month", "2026-12",
                 "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert "2027年节假日安排尚未加载" in book["汇总"].cell(2, 1).value
    assert any("2027年节假日安排尚未加载" in str(row[1]) for row in book["说明"].iter_rows(values_only=True))
    _, _, notes = _ledger(tmp_path, (
        "工单号,考核单位,优先级,派单时间,签收时间,回复时间\n"
        "N1,甲,一般,2026-11-10 10:00,2026-11-10 11:00,2026-11-11 09:00\n"), "jiangmen", "2026-11")
    assert "日历提示" not in notes


def test_dongguan_on_the_demo_export_refuses_full_marks(tmp_path, capsys):
    """Dongguan's text carries no scoring sheet: without findings the month is refused with the
    Chinese reason (exit 1), never 95 分 合格 for everyone; --timeliness-only gives a table with no
    score and says why, and no 及时率 since Dongguan times no stage."""
    from generators import demo

    export = tmp_path / "工单导出_2025-10.xlsx"
    demo.write_export(demo.synthesize_month("2025-10", tickets=200), export, "2025-10")
    out = tmp_path / "月度.xlsx"
    argv = ["monthly", str(export), "--rulebook", "dongguan", "--month", "2025-10", "--out", str(out)]
    assert main(argv) == 1
    assert "本办法原文未附量化考核表，没有考核项：得分无法计算" in capsys.readouterr().err
    assert not out.exists()
    assert main(argv + ["--timeliness-only"]) == 0
    summary = openpyxl.load_workbook(out, data_only=True)["汇总"]
    assert "得分无法计算" in summary.cell(2, 1).value
    header = [c.value for c in summary[3]]
    for row in summary.iter_rows(min_row=4, max_row=6, values_only=True):
        values = dict(zip(header, row))
        assert values["得分"] == "—" and values["是否合格"] == "—" and values["及时率"] == "—"


def test_a_capped_category_is_spent_in_time_order_and_never_overcharged(tmp_path, capsys):
    """Jiangmen 二 (投诉单处理及现场测试规范) may lose at most 40 分. Eight repeat complaints, each
    signed late: 二1 gives 2,2,2,2,2 then 0 (zeroed at 5张: 10 分) and 二7 5 分 each (40 分):
    50 分 by the items, 40 by the category. The ledger charges the tickets in dispatch order until
    the category is spent, so its per-ticket amounts sum to the table's 40, never to 50."""
    lines = ["工单号,考核单位,优先级,派单时间,签收时间,回复时间,二次投诉"]
    lines += [f"C{k},甲,一般,2025-10-{10 + k:02d} 09:00,2025-10-{10 + k:02d} 12:00,2025-10-{10 + k:02d} 18:00,是"
              for k in range(1, 9)]
    code, rows, _ = _ledger(tmp_path, "\n".join(lines) + "\n", "jiangmen", "2025-10")
    assert code == 0
    amounts = [rows[f"C{k}"]["扣分"] for k in range(1, 9)]
    # C1..C5: 2 + 5 each (35 after C5); C6: 0 + 5 = 40; C7, C8: nothing left of the category
    assert amounts == [7, 7, 7, 7, 7, 5, 0, 0] and sum(amounts) == 40
    assert "“投诉单处理及现场测试规范”类已扣满40分" in rows["C7"]["扣分依据"]
    out = tmp_path / "月度.xlsx"
    assert main(["monthly", str(tmp_path / "export.csv"), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--out", str(out)]) == 0
    summary = openpyxl.load_workbook(out, data_only=True)["汇总"]
    assert summary.cell(4, 1).value == "甲" and summary.cell(4, 7).value == 55  # 95 − 40


def test_a_gbk_console_gets_every_line_and_no_traceback(tmp_path):
    """Chinese Windows with output redirected writes GBK: warnings and the late-December caveat
    print (a character GBK lacks becomes a replacement), the run ends normally."""
    import os
    import subprocess
    import sys

    export = tmp_path / "export.csv"
    export.write_text("工单号,考核单位,优先级,派单时间,签收时间,回复时间\n"
                      "D1,甲,一般,2026-12-22 10:00,2026-12-22 13:00,2026-12-23 09:00\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "generators.cli", "monthly", str(export), "--rulebook", "jiangmen",
                           "--month", "2026-12", "--out", str(tmp_path / "月度.xlsx")],
                          check=False, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "gbk"}, timeout=120)
    out = done.stdout.decode("gbk")
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode("gbk", "replace")
    # signed 3 h after dispatch (二1 −2), handled in 23 h on a month's mean of 23 > 17 (二2 −5): 95 − 7
    assert "2027年节假日安排尚未加载" in out and "甲: 得分 88分" in out


def test_an_appendix3_ledger_imports_by_its_row_numbers_and_times_each_tickets_own_limit(tmp_path):
    """Seed 004's 附件3 台账 has no ticket id, only 序号; its 办理时限 is the one the 督办处理单 gave
    each ticket (当天 / N日内). 当天 from Tue 10-14 is due 10-14 24:00; 2日内 (start day not counted)
    is due Thu 10-16 24:00. Where a real id column exists, 序号 is not taken for it."""
    code, rows, _ = _ledger(tmp_path, (
        "序号,受理时间,承办部门,办理时限,反馈时间\n"
        "1,2025-10-14 10:00,客服一部,当天,2025-10-14 18:00\n"
        "2,2025-10-14 10:00,客服一部,2日内,2025-10-17 09:00\n"), "service_quality", "2025-10")
    assert code == 0
    assert rows["1"]["办理及时"] == "是" and rows["1"]["办理截止"] == dt.datetime(2025, 10, 15)
    assert rows["2"]["办理及时"] == "否" and rows["2"]["办理截止"] == dt.datetime(2025, 10, 17)
    _, rows, _ = _ledger(tmp_path, "序号,工单号,派单时间,签收时间,回复时间,优先级\n"
                                   "1,X9,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 12:00,一般\n", "jiangmen", "2025-10")
    assert list(rows) == ["X9"]
