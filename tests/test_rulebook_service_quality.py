"""Service-quality problems (客户服务质量问题管理规定): "不低于N分" deductions, complaint levels, ledger columns."""

import numpy as np
import pytest

from udfs import rulebook, scoring
from udfs.errors import ElementErrors, KaoheError

BOOK = "service_quality"


@pytest.mark.parametrize("item, count, chosen, expected, flagged", [
    ("3", 1, None, 20, True),     # attitude: at least 20; no choice → 20, flagged
    ("3", 1, 30, 30, False),      # the assessor may go higher
    ("1", 2, None, 20, True),     # dress: 2 × at least 10
    ("16", 1, None, 5, True),     # department head, management: at least 5
])
def test_at_least_n_points(item, count, chosen, expected, flagged):
    values, defaulted, messages = scoring.item_with_messages(BOOK, item, count, np.nan if chosen is None else chosen)
    assert values[()] == expected and bool(defaulted) is flagged and messages[()] == ""


def test_below_the_minimum_is_rejected():
    with pytest.raises(ElementErrors, match=r"选定值超出范围: 15\(“服务态度”为不低于20分/次\)"):
        scoring.item(BOOK, "3", 1, 15)


def test_levels_and_ledger_columns():
    book = rulebook.load(BOOK)
    assert [level.name for level in book.levels] == ["客户抱怨", "一级投诉", "二级投诉", "三级投诉"]
    assert book.levels[1].consequence == "给予记大过或解除劳动合同处分"
    assert dict(book.columns)["客户满意度(回访)"] == "satisfaction"
    with pytest.raises(KaoheError, match="不计总分"):
        scoring.total(BOOK, [10])
