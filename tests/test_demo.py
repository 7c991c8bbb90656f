"""End to end: `kaohe demo` writes a ledger whose numbers equal the engine's, reproducibly."""

import numpy as np
import openpyxl
import pytest

from generators.cli import main
from generators.demo import synthesize_month
from udfs import rulebook, scoring
from udfs.timeliness import parse_suspensions


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--tickets", "400"]) == 0
    return out / "台账_2025-10.xlsx"


def test_demo_ledger_reconciles_and_matches_the_engine(demo):
    book = openpyxl.load_workbook(demo)
    ledger, rejected = book["台账"], book["拒收"]
    header = [c.value for c in ledger[1]]
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    reasons = [r[5] for r in rejected.iter_rows(min_row=2, values_only=True)]
    assert len(rows) + len(reasons) == 404  # 400 synthesized tickets + 4 faulty rows in the export
    for reason in ("回复时间早于派单时间", "缺少工单号", "日期无法识别", "工单号重复", "不在考核月份"):
        assert any(reason in r for r in reasons), reason

    tickets = synthesize_month("2025-10", tickets=400).set_index("ticket_id")
    jiangmen = rulebook.load("jiangmen")
    by_id = {r[header.index("工单号")]: r for r in rows}
    ids = list(by_id)
    frame = tickets.loc[ids]
    suspensions, _ = parse_suspensions(frame["suspended"].to_numpy(object))
    due = scoring.due(jiangmen, "回复", frame["dispatched_at"].to_numpy("datetime64[s]"), frame["priority"].to_numpy(object),
                      suspended=suspensions)
    written = np.array([by_id[i][header.index("回复截止")] for i in ids], dtype="datetime64[s]")
    assert (written == due).all()
    late = [by_id[i][header.index("回复及时")] == "否" for i in ids]
    assert any(late) and not all(late)
    # Every overdue ticket counts toward Jiangmen's 二1, numbered within its unit by dispatch time
    # (the ledger's per-ticket amount is the item's marginal one: −2 up to the 5th, then nothing).
    seen: dict[str, int] = {}
    for i in sorted(ids, key=lambda i: by_id[i][header.index("派单时间")]):
        record = by_id[i]
        overdue = record[header.index("签收超时小时")] > 0 or (record[header.index("回复超时小时")] or 0) > 0
        basis = record[header.index("扣分依据")] or ""
        assert ("计入二1" in basis) == overdue, i
        if overdue:
            unit = record[header.index("考核单位")]
            seen[unit] = seen.get(unit, 0) + 1
            assert basis.split("计入二1")[1].startswith(f"“EOMS投诉单处理及时率”(江门办法 二、1)：本单位本月第{seen[unit]}张"), i
            late_at = [s for s in ("签收", "回复") if (record[header.index(f"{s}超时小时")] or 0) > 0]
            assert basis.startswith(f"{'、'.join(late_at)}超时，计入二1"), i  # why the ticket counts, in words
    assert min(seen.values()) > 5  # every unit reaches the zero-out, so later tickets show 0


def test_ticket_text_is_never_a_formula(demo):
    book = openpyxl.load_workbook(demo)
    texts = [c for row in book["台账"].iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    formula_like = [c for c in texts if c.value.startswith(("=", "@"))]
    assert {c.value for c in formula_like} == {'=HYPERLINK("http://x","点我")', "@SUM(1)"}
    assert all(c.data_type == "s" for c in formula_like)


def test_same_month_twice_is_byte_identical(demo, tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--tickets", "400"]) == 0
    for name in ("台账_2025-10.xlsx", "工单导出_2025-10.xlsx", "月度考核表_2025-10.xlsx", "考核记录_2025-10.xlsx",
                 "考核历史.csv", "考核工作簿_2025-10.xlsm", "归档/2025-10_台账.xlsx", "归档/manifest.csv"):
        assert (tmp_path / name).read_bytes() == (demo.parent / name).read_bytes(), name


def test_ledger_command_on_a_gb18030_csv_export(tmp_path, capsys):
    export = tmp_path / "工单.csv"
    export.write_bytes("工单编号,紧急程度,派单时间,签收时间,回复时间,投诉内容\n"
                       "A1,一般,2025/10/9 8:00,2025/10/9 9:00,2025年10月9日 20时00分,=1+1\n"
                       "A2,特急,2025-10-09 08:00,2025-10-09 09:00,2025-10-09 19:00,信号差\n"
                       "A3,加急,2025-10-09 08:00,2025-10-09 09:00,2025-10-09 19:00,信号差\n".encode("gb18030"))
    assert main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-10"]) == 0
    assert "读入 3 行 = 入账 2 行 + 拒收 1 行" in capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "台账_2025-10.xlsx")
    rows = {r[0]: r for r in book["台账"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book["台账"][1]]
    assert rows["A1"][header.index("回复及时")] == "是" and rows["A2"][header.index("回复及时")] == "否"  # 特急 10 h
    assert rows["A1"][header.index("投诉内容")] == "=1+1"
    rejected = list(book["拒收"].iter_rows(min_row=2, values_only=True))
    assert rejected[0][:3] == ("工单.csv", 4, "A3") and "加急" in rejected[0][5]
    with pytest.raises(SystemExit) as stop:  # a month that does not exist is wrong usage
        main(["ledger", str(export), "--rulebook", "jiangmen", "--month", "2025-13"])
    assert stop.value.code == 2


def test_cli_exit_codes_and_rulebook_commands(tmp_path, capsys):
    assert main(["rulebooks"]) == 0
    assert "jiangmen" in capsys.readouterr().out
    assert main(["check", "udfs/rulebooks/jiangmen.toml"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[rulebook]\nname = "bad"\n', encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    assert "bad.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["no-such-command"])
    assert usage.value.code == 2


def test_appendix3_lists_every_ledger_ticket_in_the_forms_columns(demo):
    from generators.ledger import APPENDIX3_COLUMNS, APPENDIX3_SHEET

    book = openpyxl.load_workbook(demo)
    ledger = list(book["台账"].iter_rows(values_only=True))
    form = list(book[APPENDIX3_SHEET].iter_rows(values_only=True))
    assert form[0][0].startswith("服务质量问题处理管理台账") and form[1] == APPENDIX3_COLUMNS
    body = [row for row in form[2:] if isinstance(row[0], int)]
    assert [row[0] for row in body] == list(range(1, len(ledger)))  # 序号 1..n, one per ledger row
    header = ledger[0]
    for row, source in zip(body, ledger[1:]):
        assert row[6] == source[header.index("投诉内容")]
        assert row[9] == source[header.index("回复截止")]  # 处理时限: the last stage's deadline
        assert row[8] == source[header.index("考核单位")]
    assert form[-1][0] == "承办部门负责人签名:"


def test_monthly_command_reports_and_rejects(tmp_path, capsys):
    demo_folder = tmp_path / "demo"
    assert main(["demo", "--out", str(demo_folder), "--tickets", "200"]) == 0
    export = demo_folder / "工单导出_2025-10.xlsx"
    findings = tmp_path / "记录.csv"
    findings.write_text("考核单位,考核项,次数,选定值\n江门粤通代维,一1,1,30\n江门粤通代维,一2,2,\n", encoding="utf-8-sig")
    capsys.readouterr()
    out = tmp_path / "表.xlsx"
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--findings", str(findings), "--out", str(out)]) == 0  # rejected rows are listed, not fatal
    printed = capsys.readouterr().out
    assert "读入 2 行 = 采用 1 行 + 拒收 1 行" in printed and "拒收 第2行 选定值“30”" in printed
    assert "江门粤通代维: 得分" in printed
    rejected = list(openpyxl.load_workbook(out)["拒收"].iter_rows(min_row=2, values_only=True))
    assert ("记录.csv", 2, "", "选定值", "30") in [row[:5] for row in rejected]
    headerless = tmp_path / "空.csv"
    headerless.write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["monthly", str(export), "--rulebook", "jiangmen", "--month", "2025-10",
                 "--findings", str(headerless), "--out", str(out)]) == 1
    assert "找不到表头" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["monthly", str(export), "--month", "2025-10"])
    assert usage.value.code == 2 and "用法错误" in capsys.readouterr().err
