"""Poyang (鄱阳 集客维护工作及考核制度): money for the company's staff, points for in-house staff, business hours."""

import numpy as np
import pytest

from udfs import scoring

BOOK = "poyang"


@pytest.mark.parametrize("kind, area, start, expected", [
    ("故障", "城区", "2025-09-29T08:00", "2025-09-29T12:00"),       # 4 business hours: 08:00-12:00
    ("故障", "城区", "2025-09-29T17:00", "2025-09-30T11:00"),       # 17-18 (1 h) + Tue 08-11 (3 h)
    ("故障", "乡镇", "2025-09-29T08:00", "2025-09-30T08:30"),       # 8 h: 4 + 3.5 on Monday, 0.5 on Tuesday
    ("故障", "城区", "2025-09-30T17:00", "2025-10-09T11:00"),       # 17-18 (1 h), Oct 1-8 holiday, Thu 08-11 (3 h)
])
def test_fault_limits_count_business_hours(kind, area, start, expected):
    assert scoring.due(BOOK, "处理", np.datetime64(start, "s"), None, area, kind) == np.datetime64(expected, "s")


def test_other_limits():
    start = np.datetime64("2025-09-29T11:50", "s")
    # 10086 township 5 h: 11:50-12:00 (10 min) + 14:30-18:00 (3.5 h) + Tue 08:00-09:20 (1 h 20 min)
    assert scoring.due(BOOK, "处理", start, None, "农村", "10086投诉") == np.datetime64("2025-09-30T09:20", "s")
    # Acknowledge within 30 minutes: 11:50-12:00, then 14:30-14:50
    assert scoring.due(BOOK, "签收", start) == np.datetime64("2025-09-29T14:50", "s")
    # New line, city: 24 natural hours after the splice notice
    assert scoring.due(BOOK, "处理", start, None, "城区", "新开") == np.datetime64("2025-09-30T11:50", "s")


def test_money_items_and_the_monthly_net():
    assert scoring.item(BOOK, "超时", 3) == 600          # 3 × 200 元
    assert scoring.item(BOOK, "确认单", 4) == 80          # 4 小项 × 20 元
    assert scoring.item(BOOK, "无超时奖", scoring.measured(BOOK, "无超时奖", [False, False])) == 100
    assert scoring.measured(BOOK, "无超时奖", [False, True]) == 0
    # Net money for the month: 0 − (600 + 80) + 100 = −580 元
    assert scoring.total(BOOK, [600, 80], [100]) == -580


def test_in_house_staff_lose_points():
    assert scoring.item(BOOK, "自维超时", 2) == 10       # 2 × 5 分
    assert scoring.item(BOOK, "自维确认单照片", 3) == 3   # 3 × 1 分
