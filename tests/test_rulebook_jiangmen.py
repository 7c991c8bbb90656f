"""Jiangmen (江门 代维客户投诉处理考核办法 V1.0): worked examples from the source's own numbers."""

import numpy as np
import pytest

from udfs import scoring
from udfs.errors import ElementErrors

BOOK = "jiangmen"

# (item, count, chosen, expected deduction) — the arithmetic in the comment.
ITEM_CASES = [
    ("二1", 4, None, 8),    # EOMS: 4 overdue tickets × 2 = 8
    ("二1", 5, None, 10),   # "月累计5张以上扣除该项目所有分数": 5 includes 5 → whole item (10 = 5 × 2 allocated)
    ("二1", 7, None, 10),   # more than 5: still the whole item, never more
    ("二1", 0, None, 0),
    ("一3", 4, None, 4),    # 10086 misuse: 4 × 1
    ("一3", 5, None, 5),    # 5次以上 → the item's 5 points
    ("二4", 5, None, 5),    # reply wording: 5 → whole item
    ("一1", 1, 10, 10),     # confidentiality: assessor chose 10 within 5~15
    ("一1", 2, None, 10),   # no choice → minimum 5 × 2 = 10 (flagged)
    ("一1", 2, 15, 15),     # 2 × 15 = 30, capped at the item's 15 points
    ("一2", 3, None, 3),    # dress: 3 人次 × 1
    ("二7", 1, None, 5),    # second complaint: 1 × 5
    ("五1", 3, None, 3),    # bonus: 3 tickets solved by parameter change × 1
    ("五3", 1, None, 2),    # bonus: report adopted × 2
]


@pytest.mark.parametrize("item, count, chosen, expected", ITEM_CASES)
def test_items(item, count, chosen, expected):
    assert scoring.item(BOOK, item, count, chosen) == expected


def test_without_a_choice_the_minimum_applies_and_is_flagged():
    values, defaulted, messages = scoring.item_with_messages(BOOK, "一1", np.array([2, 2, 0]), np.array([np.nan, 8, np.nan]))
    assert list(values) == [10, 15, 0] and list(defaulted) == [True, False, False] and list(messages) == ["", "", ""]


def test_a_choice_outside_five_to_fifteen_is_rejected():
    with pytest.raises(ElementErrors, match="选定值超出范围: 16"):
        scoring.item(BOOK, "一1", 1, 16)


def test_monthly_average_handling_time():
    # "平均处理时长不能超过17小时 (-5分/月)": tickets of 17 h and 18 h average 17.5 h → over → −5.
    assert scoring.measured(BOOK, "二2", [17, 18]) == 1
    assert scoring.item(BOOK, "二2", scoring.measured(BOOK, "二2", [17, 18])) == 5
    # Exactly 17 h is not over ("不能超过" allows 17).
    assert scoring.item(BOOK, "二2", scoring.measured(BOOK, "二2", [16, 18])) == 0


def test_overdue_tickets_are_counted_from_flags():
    assert scoring.measured(BOOK, "二1", [True, False, True, True, None]) == 3


def test_total_full_marks_95_and_category_caps():
    # 95 − (8 + 4) + 3 = 86
    assert scoring.total(BOOK, [8, 4], [3]) == 86
    # 工作规范 is worth 15: three breaches of 保密 at 15, 15 and 15 lose 15, not 45 → 95 − 15 − 2 = 78.
    assert scoring.total(BOOK, [15, 15, 15, 2], [], categories=["一", "一", "一", "二"]) == 78
    assert scoring.total(BOOK, [60, 40, 20]) == 0  # never below 0


@pytest.mark.parametrize("stage, start, priority, expected", [
    ("签收", "2025-09-29T08:00", "特急", "2025-09-29T10:00"),   # 2 h for every priority
    ("回复", "2025-09-29T08:00", "特急", "2025-09-29T18:00"),   # 特急 10 h
    ("回复", "2025-09-29T08:00", "紧急", "2025-09-29T23:00"),   # 紧急 15 h
    ("回复", "2025-09-29T08:00", "一般", "2025-09-30T08:00"),   # 一般 24 h
    ("回复", "2025-09-30T20:00", "一般", "2025-10-01T20:00"),   # natural hours: a holiday still counts
])
def test_eoms_time_limits(stage, start, priority, expected):
    assert scoring.due(BOOK, stage, np.datetime64(start, "s"), priority) == np.datetime64(expected, "s")


def test_working_day_limits_and_missing_priority():
    # 参数修改 2 working days from Fri 2025-09-26 10:00: Sun 09-28 (make-up workday) is day 1, Mon 09-29 day 2 → 24:00.
    assert scoring.due(BOOK, "参数修改", np.datetime64("2025-09-26T10:00", "s")) == np.datetime64("2025-09-30T00:00", "s")
    deadlines, messages = scoring.due_with_messages(BOOK, "回复", np.datetime64("2025-09-29T08:00", "s"), None)
    assert np.isnat(deadlines) and "没有适用于优先级为空的时限" in messages[()]
