"""Beijing Unicom (代维服务评估考核办法 试行): 百分制, bonus up to +10, total clamped to 0–100."""

import pytest

from udfs import rulebook, scoring

BOOK = "beijing_unicom"


@pytest.mark.parametrize("deductions, bonuses, expected", [
    ([5, 3], [4], 96),      # 100 − 8 + 4
    ([5], [12], 100),       # 100 − 5 + min(12, 10) = 105 → "高于100以100分记"
    ([70, 45], [], 0),      # 100 − 115 = −15 → "低于0分以0分记"
    ([], [], 100),
])
def test_total(deductions, bonuses, expected):
    assert scoring.total(BOOK, deductions, bonuses) == expected


def test_the_structure_the_source_gives():
    book = rulebook.load(BOOK)
    names = [c.name for c in book.categories]
    assert names[:4] == ["基础工作管理", "巡检管理", "故障、投诉工单管理", "专项、重保管理"]
    assert "重大事项问责" in names and book.category("加分激励").points == 10
