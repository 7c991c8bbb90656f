"""Ningxia (宁夏电信 通信线路外包单位评估考核办法 2017): range deductions and money."""

import numpy as np
import pytest

from udfs import scoring
from udfs.errors import ElementErrors

BOOK = "ningxia"

CASES = [
    ("2b", 1, 2, 2),         # hidden hazard, chosen 2 of 2~5 (ends included)
    ("2b", 2, 5, 10),        # 2 × 5
    ("2b", 1, None, 2),      # no choice → minimum 2
    ("1a", 3, 0.8, 2.4),     # plan incomplete: 3 项次 × 0.8 (0.5~1)
    ("3", 4, 0.2, 0.8),      # reports: 4 × 0.2
    ("7", 2, None, 6),       # escalation by negligence: 2 × 3
    ("其他1", 1, 3000, 3000),  # escalated outage: 3000 元 of 500~5000
]


@pytest.mark.parametrize("item, count, chosen, expected", CASES)
def test_items(item, count, chosen, expected):
    assert scoring.item(BOOK, item, count, chosen) == pytest.approx(expected)


@pytest.mark.parametrize("chosen", [1.9, 6, 5.5])
def test_a_choice_outside_two_to_five_is_rejected_with_a_message(chosen):
    with pytest.raises(ElementErrors) as caught:
        scoring.item(BOOK, "2b", 1, chosen)
    assert caught.value.messages[()] == f"选定值超出范围: {chosen:g}(“安全隐患未及时处理或上报”为2~5分/次)"


def test_a_bad_choice_fails_only_its_element():
    values, _, messages = scoring.item_with_messages(BOOK, "2b", np.array([1, 1, 1]), np.array([3, 7, np.nan]))
    assert values[0] == 3 and np.isnan(values[1]) and values[2] == 2
    assert messages[1].startswith("选定值超出范围: 7") and messages[0] == messages[2] == ""


def test_hundred_point_scale_clamped():
    assert scoring.total(BOOK, [2, 2.4, 0.8]) == pytest.approx(94.8)  # 100 − 5.2
    assert scoring.total(BOOK, [150]) == 0
