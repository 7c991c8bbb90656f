"""Dongguan (东莞移动 集团客户专线代维考核办法 2022): score, pass, doubling, payment, contract risk."""

import pytest

from udfs import scoring
from udfs.errors import KaoheError

BOOK = "dongguan"


def test_base_95_bonus_capped_at_5_and_pass_at_95_inclusive():
    # deductions 7, bonus 6 → 95 − 7 + min(6, 5) = 93 → fails (合格 needs 95 含)
    assert scoring.total(BOOK, [3, 4], [6]) == 93
    assert not scoring.passed(BOOK, 93)
    assert scoring.passed(BOOK, 95)  # 95分(含95分)以上为合格
    assert scoring.total(BOOK, [], [5]) == 100  # never above 100
    assert scoring.grade(BOOK, 94.5)[()] == "不合格"


def test_a_doubled_repeat_counts_twice_not_four_times():
    # One finding of 3 points that repeats an unfixed problem: 3 × 2 = 6, not 3 × 4 = 12.
    assert scoring.deduct(1, 3, doubled=1) == 6
    assert scoring.deduct(1, 3, doubled=True) == 6
    # Two findings, one of them a repeat: (2 + 1) × 3 = 9.
    assert scoring.deduct(2, 3, doubled=1) == 9


def test_payment_30_percent_of_the_fee_follows_the_score():
    # 100000 × 70% + 100000 × 30% × 93 / 100 = 70000 + 27900 = 97900
    assert scoring.payment(BOOK, 100000, 93) == pytest.approx(97900)
    assert scoring.payment(BOOK, 100000, 100) == pytest.approx(100000)  # never more than the fee


# (scores, rates, expected fragments, fragments that must not appear)
RISK_CASES = [
    ([82, 79, 78], None, ["连续2个月得分低于80分(第2月、第3月)"], ["年内累计", "单月得分低于75分"]),
    ([85, 85, 85], [0.85, 0.69, 0.70], ["连续2个月故障处理及时率低于或等于70%(第2月、第3月)"],
     ["连续3个月故障处理及时率", "单月故障处理及时率"]),
    ([85, 85, 85], [85, 69, 70],  # percentages as numbers
     ["连续2个月故障处理及时率低于或等于70%"], ["连续3个月故障处理及时率"]),
    ([79, 90, 79, 90, 79], None, ["年内累计3个月得分低于80分"], ["连续2个月得分低于80分"]),
    ([80, 80, 80], None, [], ["得分"]),  # 低于80 excludes 80
    ([74.5], None, ["单月得分低于75分"], []),
    ([75, 75, 75], None, ["连续3个月得分低于或等于75分", "移动公司可自行解除合同"], ["单月得分低于75分"]),  # 以下 includes 75
    ([90], [0.60], ["单月故障处理及时率低于或等于60%"], []),  # 低于60%(含60%)
    ([90, 90, 90], [0.8, 0.8, 0.8], ["连续3个月故障处理及时率低于或等于80%"], []),
]


@pytest.mark.parametrize("scores, rates, present, absent", RISK_CASES)
def test_contract_risk(scores, rates, present, absent):
    text = scoring.risk(BOOK, scores, rates)
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text
    if not present:
        assert text == ""


def test_an_in_year_rule_takes_at_most_twelve_months():
    with pytest.raises(KaoheError, match="最多12个月"):
        scoring.risk(BOOK, [90] * 13)


def test_a_monthly_table_warns_only_about_runs_the_month_takes_part_in():
    """``current``: a consecutive run must end with the last month; an in-year count must include it;
    the year starts at ``year_from``, so a run may cross New Year but the in-year count may not."""
    labels = ["9月", "10月", "11月", "12月", "1月"]
    past = scoring.risk_list("dongguan", [78, 79, 90, 91, 92], labels=labels, current=True)
    assert past == []  # the two months below 80 are over: nothing to warn about now
    across = scoring.risk_list("dongguan", [90, 90, 90, 79, 78], labels=labels, year_from=4, current=True)
    assert any(w.startswith("连续2个月得分低于80分(12月、1月)") for w in across)
    assert not any(w.startswith("年内累计") for w in across)  # only January is in the new year
    assert scoring.risk_list("dongguan", [78, 79, 90], labels=labels[:3])  # without current: any run
