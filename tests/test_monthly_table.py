"""The monthly scoring table an assessor signs, end to end through ``kaohe monthly`` on a small month
worked by hand: the unit sheet's layout (columns, category rows, totals, signature block), the 年度得分
sheet against the history, words for people in every cell, and (with LibreOffice) an out-of-range
选定值 that turns the unit's total and the summary into 输入有误, and the printed pages."""

import re

import openpyxl
import pytest
from office import read_csv, requires_office, to_csv, to_pdf

from generators.cli import main
from generators.monthly_book import COLUMNS, SIGNATURES

RULEBOOK = "generators/demo_rulebooks/jiangmen_demo.toml"

# 甲's month, worked by hand (jiangmen_demo: full 95, 0 at least, 80 to pass, 30 % of the fee assessed):
#   tickets C1..C3 dispatched 09:00, signed 12:00 (签收 within 2 hours: late), replied 18:00 (on time):
#     二1 3 late × 2 = 6 (item 10 points: 得分 4); C1 is a repeat complaint: 二7 1 × 5 = 5; mean handling
#     9 h ≤ 17 h: 二2 0.  Category 二 (40): 6 + 5 = 11 → 得分 29.
#   findings: 一1 2 times at 10 = 20, capped by the item's 15; 一4 2 × 3 = 6.  Category 一 (15):
#     15 + 6 = 21, capped at 15 → 得分 0.  五1 2 × 1 = +2 (bonus).
#   total 95 − (15 + 11) + 2 = 71: 不达标, 不合格; paid 100000 × 70 % + 100000 × 30 % × 71 / 100 = 91300.
#   history 2025-08 78, 2025-09 79: with 71, three months this year, all below 80, mean 76.
TICKETS = ["工单号,考核单位,优先级,派单时间,签收时间,回复时间,二次投诉"] + [
    f"C{k},甲,一般,2025-10-{10 + k:02d} 09:00,2025-10-{10 + k:02d} 12:00,2025-10-{10 + k:02d} 18:00,{'是' if k == 1 else ''}"
    for k in range(1, 4)]
FINDINGS = ["考核单位,考核项,次数,选定值,加倍次数,备注", "甲,一1,2,10,,10月9日泄露客户资料", "甲,一4,2,,,仪表未登记",
            "甲,五1,2,,,参数调整解决", "甲,代维费,,100000,,"]
HISTORY = ["月份,考核办法,考核单位,得分,及时率", "2025-08,jiangmen_demo,甲,78,0.9", "2025-09,jiangmen_demo,甲,79,0.9"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    for name, lines in (("tickets.csv", TICKETS), ("findings.csv", FINDINGS), ("history.csv", HISTORY)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "月度考核表.xlsx"
    assert main(["monthly", str(folder / "tickets.csv"), "--findings", str(folder / "findings.csv"),
                 "--history", str(folder / "history.csv"), "--rulebook", RULEBOOK, "--month", "2025-10",
                 "--out", str(out)]) == 0
    return out


def _rows(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _find(rows, first):
    return next(row for row in rows if row[0] == first)


def test_the_unit_sheet_is_laid_out_like_a_paper_table(table):
    book = openpyxl.load_workbook(table, data_only=True)
    assert book.sheetnames == ["汇总", "甲", "年度得分", "说明", "拒收"]
    rows = _rows(book["甲"])
    assert rows[0][0] == "甲 2025年10月 月度量化考核表"
    assert rows[1][0].startswith("考核办法：江门代维客户投诉处理考核") and "满分 95分" in rows[1]
    assert "考核月份 2025年10月" in rows[1] and "考核日期：    年  月  日" in rows[1]
    assert tuple(rows[3]) == COLUMNS
    assert book["甲"].column_dimensions["K"].hidden  # 加倍次数, a hidden input column
    # items: 分值, 扣分, 得分 = 分值 − 扣分, whole text, 依据 in words, 出处 a clause
    item = {row[0]: row for row in rows if row[0] in ("一1", "一4", "二1", "二7", "五1")}
    assert item["一1"][2:3] + item["一1"][4:8] == [15, 2, 10, 15, 0]
    assert item["二1"][2] == 10 and item["二1"][6:8] == [6, 4]
    assert item["二1"][8] == "3张工单签收或回复超时；每张扣2分，5张以上(含5张)扣除该项全部10分，该项最多扣10分"
    assert item["二7"][6] == 5 and "1张工单标记为“二次投诉”" in item["二7"][8]
    assert item["五1"][6] is None and item["五1"][7] == 2  # a bonus: in 得分, shown +2
    assert book["甲"].cell(rows.index(item["五1"]) + 1, 8).number_format.startswith('"+"')
    assert item["一1"][9] == "江门办法 一、1" and "…" not in item["一1"][3]
    # category rows: 分值, 扣分 after the category's cap, 得分 = 分值 − 扣分
    assert _find(rows, "一")[1:3] == ["工作规范", 15] and _find(rows, "一")[6:8] == [15, 0]
    assert _find(rows, "二")[2] == 40 and _find(rows, "二")[6:8] == [11, 29]
    assert _find(rows, "五")[7] == 2
    totals = {row[0]: row[6] for row in rows if row[0]}
    assert totals["满分"] == 95 and totals["扣分合计(分)"] == 26 and totals["加分合计(分)"] == 2
    assert totals["得分(分)"] == 71 == 95 - (15 + 11) + 2
    assert (totals["等级"], totals["是否合格"], totals["应付金额(元)"]) == ("不达标", "不合格", 91300)
    categories = [row for row in rows if row[0] in ("一", "二", "三", "四")]
    assert sum(row[6] for row in categories) == totals["扣分合计(分)"]
    assert "连续2个月得分低于80分(2025年9月、2025年10月)" in totals["合同预警(按生成时数据)"]
    # the signature block, after the totals
    signature = next(row for row in rows if row[0] and str(row[0]).startswith(SIGNATURES[0]))
    assert all(role in signature[0] for role in SIGNATURES) and "日期" in signature[4]
    assert rows.index(signature) > rows.index(_find(rows, "近期得分(按生成时数据)"))


def test_the_year_sheet_gives_the_history_and_this_month(table):
    book = openpyxl.load_workbook(table, data_only=True)
    rows = _rows(book["年度得分"])
    assert rows[0][0] == "2025年 各单位月度得分(截至2025年10月)"
    header = [str(v).replace("\n", "") for v in rows[2]]
    assert header[:2] == ["考核单位", "2025年1月"] and header[10] == "2025年10月"
    mine = dict(zip(header, _find(rows, "甲")))
    assert (mine["2025年8月"], mine["2025年9月"], mine["2025年10月"]) == (78, 79, 71)
    assert all(mine[f"2025年{m}月"] is None for m in range(1, 8))
    assert mine["已考核月数"] == 3 and mine["低于合格线月数(80分)"] == 3 and mine["平均得分"] == 76
    lines = {row[0]: row[1] for row in rows[3:] if row[0] and "线" in row[0]}
    assert lines == {"合格线(80分)": 80, "合同预警线(75分)": 75}
    (chart,) = book["年度得分"]._charts  # the unit, then the pass and warning lines, month by month
    assert [s.val.numRef.f for s in chart.series] == [f"年度得分!$B${r}:$K${r}" for r in (4, 5, 6)]


def test_every_visible_cell_is_in_words_for_people(table):
    book = openpyxl.load_workbook(table, data_only=True)
    tokens = re.compile(r"\|\w|overdue:|flag:|avg_hours|ticket_id|\d{3}_[0-9a-f]{16}|\.txt|TRUE|FALSE|第\d+月|"
                        r"(?<![\w-])20\d\d-\d\d(?![\w-])")
    for sheet in book.worksheets:
        if sheet.title == "拒收":
            continue
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                text = str(value) if value is not None else ""
                assert not tokens.search(text), (sheet.title, text)
                assert value is not True and value is not False, sheet.title
        assert "jiangmen" not in (sheet.oddHeader.center.text or "")
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert notes["考核月份"] == "2025年10月" and notes["考核办法"].startswith("江门代维")
    assert notes["规则文件名称"] == "jiangmen_demo"  # the slug once, under its own label
    assert sum("jiangmen_demo" in str(v) for row in book["说明"].iter_rows(values_only=True) for v in row) == 1
    assert "读入 3 行 = 入账 3 行 + 拒收 0 行" in notes["行数核对"]


@requires_office
@pytest.mark.slow
def test_a_chosen_value_out_of_range_gives_input_error_up_to_the_summary(table, tmp_path):
    book = openpyxl.load_workbook(table)
    sheet = book["甲"]
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "一1")
    sheet.cell(row, 6).value = 99  # 选定值 outside 5~15
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    sheets = {name: read_csv(path) for name, path in to_csv(edited, tmp_path).items()}
    unit = sheets["甲"]
    assert unit[row - 1][6] == "输入有误" and _find(unit, "一")[6] == "输入有误"
    assert _find(unit, "二")[6] == "11"  # another category still computes
    for label in ("扣分合计(分)", "得分(分)", "等级", "是否合格", "应付金额(元)"):
        assert _find(unit, label)[6] == "输入有误", label
    summary = sheets["汇总"]
    header = summary[2]
    mine = dict(zip(header, _find(summary, "甲")))
    assert mine["得分"] == mine["扣分"] == mine["是否合格"] == "输入有误"
    assert dict(zip([h.replace("\n", "") for h in sheets["年度得分"][2]], _find(sheets["年度得分"], "甲")))[
        "2025年10月"] == "输入有误"


@requires_office
@pytest.mark.slow
def test_every_sheet_prints_on_a4_with_text_of_8_points_or_more(table, tmp_path):
    import pdfplumber

    pdf = to_pdf(table, tmp_path)
    with pdfplumber.open(pdf) as document:
        pages = [(page.width, page.height, page.chars, page.extract_text() or "") for page in document.pages]
    assert all(sorted((round(w), round(h))) == [595, 842] for w, h, _, _ in pages)  # A4
    assert min(c["size"] for _, _, chars, _ in pages for c in chars if c["text"].strip()) >= 8
    texts = [text for _, _, _, text in pages]
    assert all(re.search(rf"第 {k} 页 共 {len(pages)} 页", text) for k, text in enumerate(texts, start=1))
    unit_pages = [text for text in texts if "甲 2025年10月 月度量化考核表" in text]
    assert all("编号" in text and "出处" in text for text in unit_pages)  # every column, header on every page
    assert any(SIGNATURES[2] in text for text in unit_pages)
    notes = next(text for text in texts if "行数核对" in text)
    assert "2025年10月" in notes and "读入 3 行" in notes  # 说明's values on its labels' page
