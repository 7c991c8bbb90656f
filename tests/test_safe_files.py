"""Outputs written whole or not at all, the history updated by one run at a time and never
truncated or re-rounded, and CSV text that no spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators.cli import main
from generators.monthly import read_history
from generators.safe_files import FORMULA_PREFIXES, atomic_output, csv_cell, csv_text
from udfs import rulebook
from udfs.errors import KaoheError


def _export(path, month: str, unit: str = "甲") -> None:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([["工单号", "考核单位", "优先级", "派单时间", "签收时间", "回复时间"],
                                      ["T1", unit, "一般", f"{month}-14 10:00", f"{month}-14 11:00", f"{month}-14 18:00"]])


def _month(tmp_path, month: str, history, unit: str = "甲") -> int:
    export = tmp_path / f"export_{month}.csv"
    _export(export, month, unit)
    return main(["monthly", str(export), "--rulebook", "jiangmen", "--month", month, "--history", str(history),
                 "--out", str(tmp_path / f"月度_{month}.xlsx")])


def test_the_history_keeps_its_columns_exact_values_and_neutralised_names(tmp_path):
    """Extra columns survive, 79.995 is not rounded to 80 (that would drop a 低于80分 warning), a
    unit named like a formula is written as text ('=…) and read back as it was, a rerun replaces
    its month."""
    history = tmp_path / "考核历史.csv"
    history.write_text("月份,考核办法,考核单位,得分,及时率,备注\n2025-09,jiangmen,甲,79.995,0.8,复核过\n",
                       encoding="utf-8-sig")
    assert _month(tmp_path, "2025-10", history) == 0
    assert _month(tmp_path, "2025-11", history, unit='=HYPERLINK("http://x","点我")') == 0
    assert _month(tmp_path, "2025-11", history, unit='=HYPERLINK("http://x","点我")') == 0  # a rerun replaces
    with open(history, encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["月份", "考核办法", "考核单位", "得分", "及时率", "备注"]
    assert ["2025-09", "jiangmen", "甲", "79.995", "0.8", "复核过"] in rows
    assert not any(cell.startswith(FORMULA_PREFIXES) for row in rows for cell in row)
    back = read_history(history)
    assert sorted(back["考核单位"]) == sorted(['=HYPERLINK("http://x","点我")', "甲", "甲"])
    assert list(back["月份"]).count("2025-11") == 1


def test_a_history_that_is_not_csv_is_refused_untouched(tmp_path, capsys):
    history = tmp_path / "考核历史.xlsx"
    history.write_bytes(b"PK\x03\x04 not really a workbook")
    assert _month(tmp_path, "2025-10", history) == 1
    assert "考核历史应为 .csv 文件" in capsys.readouterr().err
    assert history.read_bytes() == b"PK\x03\x04 not really a workbook"


def test_two_runs_at_once_keep_both_months(tmp_path):
    """Each run reads the history again and writes it while holding its lock."""
    history = tmp_path / "考核历史.csv"
    runs = []
    for month in ("2025-09", "2025-10", "2025-11"):
        export = tmp_path / f"export_{month}.csv"
        _export(export, month)
        runs.append(subprocess.Popen([sys.executable, "-m", "generators.cli", "monthly", str(export), "--rulebook",
                                      "jiangmen", "--month", month, "--history", str(history), "--out",
                                      str(tmp_path / f"月度_{month}.xlsx")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE))
    assert all(run.wait(timeout=120) == 0 for run in runs)
    assert sorted(read_history(history)["月份"]) == ["2025-09", "2025-10", "2025-11"]
    assert not (tmp_path / "考核历史.csv.lock").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("killed half way")
    assert target.read_text(encoding="utf-8") == "old" and os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(KaoheError, match="输出文件夹不存在"), atomic_output(tmp_path / "missing" / "x.csv"):
        pass


@given(st.text(max_size=30))
def test_a_csv_cell_is_never_a_formula_and_reads_back_as_written(text):
    cell = csv_cell(text)
    is_number = True
    try:
        float(text)
    except ValueError:
        is_number = False
    assert is_number or not cell.startswith(FORMULA_PREFIXES)
    assert csv_text(cell) == text or text.startswith("'")
    assert csv_cell("-3.5") == "-3.5" and csv_cell("=1+1") == "'=1+1"


def test_an_unclosed_quote_refuses_the_file_naming_its_row(tmp_path, capsys):
    """One stray quote used to make the rest of a 100-ticket file one cell: read 1 = accepted 1, exit 0."""
    lines = ["工单号,考核单位,优先级,派单时间,签收时间,回复时间"]
    lines += [f"T{k},甲,一般,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 18:00" for k in range(1, 101)]
    lines[3] = 'T3,"甲,一般,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 18:00'
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-10", "--out",
                 str(tmp_path / "台账.xlsx")]) == 1
    assert "export.csv 第4行(文件第4行): 引号没有闭合" in capsys.readouterr().err
    assert not (tmp_path / "台账.xlsx").exists()


def test_ids_that_differ_only_in_invisible_or_full_width_characters_are_duplicates(tmp_path):
    from generators.tickets import read_tickets

    export = tmp_path / "export.csv"
    export.write_text("工单号,考核单位,优先级,派单时间,签收时间,回复时间\n" + "".join(
        f"{ticket},甲,一般,2025-10-14 10:00,2025-10-14 11:00,2025-10-14 18:00\n"
        for ticket in ("TS-1", "\u200bTS-1", "ＴＳ－１", "TS-1\ufeff", "TS-2")), encoding="utf-8")
    imported = read_tickets(export, rulebook="jiangmen", month="2025-10")
    assert list(imported.tickets["ticket_id"]) == ["TS-1", "TS-2"]
    assert list(imported.rejected["原因"]) == ["工单号重复(与第 2 行相同)"] * 3


def test_a_closed_pipe_ends_with_a_message_not_a_traceback(tmp_path):
    export = tmp_path / "export.csv"
    _export(export, "2025-10")
    run = subprocess.Popen([sys.executable, "-m", "generators.cli", "ledger", str(export), "--rulebook", "jiangmen",
                            "--month", "2025-10", "--out", str(tmp_path / "台账.xlsx")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()  # the reader goes away before anything is printed
    err = run.stderr.read().decode("utf-8", "replace")
    assert run.wait(timeout=120) == 0 and "Traceback" not in err and "输出管道已关闭" in err  # the work was done
    assert (tmp_path / "台账.xlsx").exists()


@pytest.mark.parametrize("text, masked", [
    ("13812345678", "138****5678"), ("138 1234 5678", "138 **** 5678"), ("138-1234-5678", "138-****-5678"),
    ("+86 13812345678", "+86 138****5678"), ("(0750)3456789", "(0750)***6789"), ("0750 345 6789", "0750 *** 6789"),
    ("１３８１２３４５６７８", "１３８****５６７８"), ("客户0750-3456789和13912345678", "客户0750-***6789和139****5678"),
    ("TS-13912345678", "TS-13912345678"), ("2025-10-14 10:00", "2025-10-14 10:00"),
])
def test_phone_numbers_are_masked_however_they_are_spelt(text, masked):
    """Archives with --mask-phones, and --verify's check that none is left, read the spellings people type."""
    from udfs.privacy import mask_phone

    assert mask_phone(text) == masked


@pytest.mark.parametrize("argv, words", [
    (["ledger", "x.csv", "--rulebook", "jiangmen", "--month", "2025-13"], "月份格式应为 YYYY-MM"),
    (["ledger", "x.csv", "--month", "2025-10"], "缺少必需的参数: --rulebook"),
    (["workbook", "--rulebook", "jiangmen", "--rows", "-5"], "应为 1~1048575 之间的整数"),
    (["workbook", "--rulebook", "jiangmen", "--rows", "2000000"], "应为 1~1048575 之间的整数"),
    (["ledger", "x.csv", "--rulebook", "jiangmen", "--month", "2025-10", "--bogus"], "无法识别的参数: --bogus"),
    (["nothing"], "的值无效"),
])
def test_wrong_usage_exits_2_in_chinese(argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and words in capsys.readouterr().err


def test_an_output_that_is_an_input_or_not_xlsx_is_refused_and_a_replaced_one_is_said(tmp_path, capsys):
    export = tmp_path / "export.csv"
    _export(export, "2025-10")
    before = export.read_bytes()
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-10", "--out", str(export)]) == 2
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--out", str(tmp_path / "台账.csv")]) == 2
    assert export.read_bytes() == before and "输出文件应以 .xlsx 结尾" in capsys.readouterr().err
    for _ in range(2):
        assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10"]) == 0
    assert "已覆盖 / replaced: " in capsys.readouterr().out


@pytest.mark.parametrize("count", ["nan", "inf", "-inf"])
def test_a_count_or_fee_of_nan_or_inf_is_not_a_number(count, tmp_path):
    from generators.monthly import read_findings

    findings = tmp_path / "考核记录.csv"
    findings.write_text(f"考核单位,考核项,次数,选定值,加倍次数,备注\n甲,一2,{count},,,\n甲,代维费,,{count},,\n",
                        encoding="utf-8")
    found = read_findings(findings, rulebook.load("jiangmen"))
    assert found.rows.empty and not found.fees and found.reconciles
    assert all("不是数字" in reason for reason in found.rejected["原因"])
