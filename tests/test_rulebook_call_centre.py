"""Call-centre QC (客服中心服务规范考核条例): base 100 per agent, doubling where a clause says so."""

import pytest

from udfs import scoring
from udfs.errors import ElementErrors

BOOK = "call_centre"

CASES = [
    ("1", 1, None, 10),     # commanding tone: −10
    ("8", 1, None, 6),      # early hang-up: −6
    ("8", 1, True, 12),     # …that caused a complaint: doubled once, 6 × 2
    ("8", 3, 1, 24),        # three early hang-ups, one caused a complaint: (3 + 1) × 6
    ("13", 2, None, 10),    # incomplete work-order text: 2 × 5
    ("17", 1, 1, 12),       # late entry that affected later steps: 6 × 2
]


@pytest.mark.parametrize("item, count, repeats, expected", CASES)
def test_items(item, count, repeats, expected):
    assert scoring.item(BOOK, item, count, repeats=repeats) == expected


def test_doubling_only_where_the_clause_says_so():
    with pytest.raises(ElementErrors, match="不适用加倍扣分"):
        scoring.item(BOOK, "2", 1, repeats=1)


def test_agent_total():
    # 100 − 10 − 12 − 10 = 68
    assert scoring.total(BOOK, [10, 12, 10]) == 68
