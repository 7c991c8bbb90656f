"""Scoring cell functions: they agree with the engine, keep shapes, and fail per element in Chinese."""

import datetime as dt

import numpy as np
import pytest
import xlsxwriter
from formula_engine import evaluate, serial
from hypothesis import given
from hypothesis import strategies as st

from udfs import rulebook, scoring
from udfs.catalogue import load_all
from udfs.scoring_cells import (
    kh_deduct,
    kh_due,
    kh_grade,
    kh_item,
    kh_pass,
    kh_payment,
    kh_risk,
    kh_rulebooks,
    kh_total,
)


def test_the_scoring_functions_are_in_the_catalogue():
    names = {"KH_DUE", "KH_DEDUCT", "KH_ITEM", "KH_TOTAL", "KH_GRADE", "KH_PASS", "KH_PAYMENT", "KH_RISK", "KH_RULEBOOKS"}
    catalogue = load_all()
    assert names <= set(catalogue)
    assert [a.name for a in catalogue["KH_DUE"].args] == ["rulebook", "stage", "start_at", "priority", "area", "kind",
                                                         "suspended"]
    assert [a.optional for a in catalogue["KH_ITEM"].args] == [False, False, False, True, True]


def test_kh_deduct_keeps_the_shape_and_fails_per_element():
    out = kh_deduct([[4, 5], [None, "x"], [-1, 2.5]], 2, 5, 10)
    assert out.shape == (3, 2)
    assert out[0, 0] == 8 and out[0, 1] == 10      # 4 × 2; 5 → whole item
    assert out[1, 0] is None                        # empty stays empty
    assert out[1, 1] == "#次数不是数字: x"
    assert out[2, 0] == "#次数不能为负: -1" and out[2, 1] == "#次数须为整数: 2.5"
    assert kh_deduct(1, 3, None, None, True)[0, 0] == 6   # doubled once
    assert kh_deduct(3, 2, 5)[0, 0].startswith("#规定了“N次以上")  # zero-out without item points


def test_kh_item_agrees_with_the_engine():
    counts = [[0], [4], [5], [9]]
    out = kh_item("jiangmen", "二1", counts)
    assert list(out[:, 0]) == list(scoring.item("jiangmen", "二1", np.array([0, 4, 5, 9])))
    out = kh_item("ningxia", [["2b"], ["2b"], ["1a"], ["无此项"]], 1, [[3], [6], [None], [None]])
    assert out[0, 0] == 3 and out[2, 0] == 0.5
    assert out[1, 0] == "#选定值超出范围: 6(“安全隐患未及时处理或上报”为2~5分/次)"
    assert out[3, 0] == "#考核办法“ningxia”中没有考核项: 无此项"
    assert kh_item("nosuch", "1", [[1], [2]])[0, 0].startswith("#未安装的考核办法: nosuch")


def test_kh_total_takes_ranges_and_returns_one_value():
    assert kh_total("dongguan", [[3], [4], [None]], [[6]]).tolist() == [[93.0]]   # 95 − 7 + 5
    assert kh_total("dongguan", [[3, 4]], None)[0, 0] == scoring.total("dongguan", [3, 4])
    assert kh_total("dongguan", [[3], ["abc"]], [[1]])[0, 0] == "#扣分区域第2个值: 扣分不是数字: abc"
    assert kh_total("service_quality", [[1]], None)[0, 0].startswith("#考核办法“service_quality”不计总分")


def test_kh_grade_pass_payment():
    scores = [[96, 90], [None, "良"]]
    grades = kh_grade("h_hall_rating", scores)
    assert grades[0, 0] == "优秀" and grades[0, 1] == "良好" and grades[1, 0] is None
    assert grades[1, 1] == "#得分不是数字: 良"
    assert kh_pass("dongguan", [[95, 94.99, None]]).tolist() == [[True, False, None]]
    paid = kh_payment("dongguan", [[100000], [-1]], 93)
    assert paid[0, 0] == pytest.approx(float(scoring.payment("dongguan", 100000, 93)))
    assert paid[1, 0] == "#费用不能为负"
    assert kh_grade("jiangmen", 90)[0, 0] == "#考核办法“jiangmen”未规定等级"


def test_kh_risk_reads_a_row_of_months():
    text = kh_risk("dongguan", [[82, 79, 78]], [["85%", "69%", "70%"]])[0, 0]
    assert text == scoring.risk("dongguan", [82, 79, 78], [0.85, 0.69, 0.70])
    assert "连续2个月得分低于80分" in text and "连续2个月故障处理及时率低于或等于70%" in text
    assert kh_risk("dongguan", [[90], [91]])[0, 0] == ""


def test_kh_due_agrees_with_the_engine():
    starts = [["2025-09-29 08:00"], ["2025/9/29 17:00"], [None], ["2025-13-01"]]
    out = kh_due("poyang", "处理", starts, None, "城区", "故障")
    assert out[0, 0] == dt.datetime(2025, 9, 29, 12, 0) and out[1, 0] == dt.datetime(2025, 9, 30, 11, 0)
    assert out[2, 0] is None and out[3, 0] == "#日期无法识别: 2025-13-01"
    engine = scoring.due("poyang", "处理", np.datetime64("2025-09-29T17:00", "s"), None, "城区", "故障")
    assert out[1, 0] == engine.astype(dt.datetime)
    assert kh_due("jiangmen", "回复", "2025-09-29 08:00")[0, 0].startswith("#“回复”环节没有适用于优先级为空的时限")


def test_kh_rulebooks_spills_a_column_of_the_installed():
    out = kh_rulebooks()
    assert out.shape[1] == 1 and list(out[:, 0]) == [info.name for info in rulebook.installed()]


@given(count=st.integers(0, 50), repeats=st.integers(0, 50), unit=st.floats(0, 20, allow_nan=False),
       threshold=st.integers(1, 10), points=st.floats(0, 40, allow_nan=False))
def test_deduct_properties(count, repeats, unit, threshold, points):
    repeats = min(repeats, count)
    plain = float(scoring.deduct(count, unit, doubled=repeats))
    assert plain == pytest.approx((count + repeats) * unit)  # each repeat counts twice, not more
    capped = float(scoring.deduct(count, unit, threshold, points, repeats))
    assert capped <= points + 1e-9
    assert capped == (points if count >= threshold else pytest.approx(min(plain, points)))
    assert kh_deduct(count, unit, threshold, points, repeats)[0, 0] == pytest.approx(capped)


def test_workbook_formulas_evaluate_to_engine_values(tmp_path):
    """An .xlsx whose cells call the scoring functions; a formula engine computes what the engine does."""
    path = tmp_path / "scoring.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("考核")
    sheet.write_column("A1", [4, 5, 1])
    sheet.write_column("B1", [3, 4])
    sheet.write_number("C1", 6)
    sheet.write_row("A5", [82, 79, 78])
    sheet.write_formula("E1", '=KH_ITEM("jiangmen","二1",A1)')
    sheet.write_formula("E2", '=KH_ITEM("jiangmen","二1",A2)')
    sheet.write_formula("E3", '=KH_ITEM("ningxia","2b",A3,6)')
    sheet.write_formula("F1", '=KH_TOTAL("dongguan",B1:B2,C1)')
    sheet.write_formula("F2", '=KH_PASS("dongguan",F1)')
    sheet.write_formula("F3", '=KH_PAYMENT("dongguan",100000,F1)')
    sheet.write_formula("G1", '=KH_RISK("dongguan",A5:C5)')
    sheet.write_formula("G2", '=KH_DEDUCT(A1,2,5,10)')
    sheet.write_formula("G3", '=KH_DUE("jiangmen","回复","2025-09-29 08:00","特急")')
    book.close()

    cells = evaluate(path)
    assert cells["考核!E1"] == 8 and cells["考核!E2"] == 10
    assert cells["考核!E3"].startswith("#选定值超出范围: 6")
    assert cells["考核!F1"] == 93 and not cells["考核!F2"]  # 95 − 7 + 5 = 93 < 95
    assert cells["考核!F3"] == pytest.approx(97900)
    assert cells["考核!G1"] == scoring.risk("dongguan", [82, 79, 78]) and "连续2个月得分低于80分" in cells["考核!G1"]
    assert cells["考核!G2"] == 8
    assert cells["考核!G3"] == pytest.approx(serial(dt.datetime(2025, 9, 29, 18, 0)), abs=1e-9)


def test_kh_due_pushes_the_deadline_back_by_suspended_time():
    """KH_DUE with suspensions gives the ledger's deadlines (the generator adds suspended time too)."""
    from udfs.scoring_cells import kh_due

    plain = kh_due("jiangmen", "回复", "2025-10-09 08:00", "特急")[0][0]
    by_hours = kh_due("jiangmen", "回复", "2025-10-09 08:00", "特急", None, None, 2)[0][0]
    by_span = kh_due("jiangmen", "回复", "2025-10-09 08:00", "特急", None, None, "2025-10-09 09:00~2025-10-09 11:30")[0][0]
    assert plain == dt.datetime(2025, 10, 9, 18, 0)
    assert by_hours == dt.datetime(2025, 10, 9, 20, 0) and by_span == dt.datetime(2025, 10, 9, 20, 30)
    assert str(kh_due("jiangmen", "回复", "2025-10-09 08:00", "特急", None, None, "昨天")[0][0]).startswith("#")


def test_kh_band_scores_response_times_by_seed_001s_bands():
    """响应时间小于1小时 5分; 1至3小时之间 4分 (both ends: 3 h itself is 4); 3至24小时之间 3分
    (24 h itself is 3); 超过24小时 1分. Empty stays empty; a bad stage says so."""
    from udfs.scoring_cells import kh_band

    hours = [[0.5], [0.9999], [1], [3], [3.0001], [24], [24.01], [None]]
    assert [row[0] for row in kh_band("h_service_scoring", "响应", hours).tolist()] == [5, 5, 4, 4, 3, 3, 1, None]
    assert kh_band("h_service_scoring", "回复", 2)[0, 0].startswith("#")


def test_kh_payment_on_a_negative_score_pays_the_unassessed_share():
    """Dongguan has no floor: a total of −20 forfeits the 30 % assessed share, not more; fee × 70 % is due."""
    from udfs.scoring_cells import kh_payment

    assert kh_payment("dongguan", 100000, -20)[0, 0] == 70000
    assert kh_payment("dongguan", 100000, 93)[0, 0] == 97900
