"""The time-limit and grade-band schemes of DOMAIN.md H, one rulebook each."""

import numpy as np
import pytest

from udfs import scoring

FRI = np.datetime64("2025-09-26T10:00", "s")
# Working days after Fri 2025-09-26: Sun 09-28 (make-up) 1, 09-29 2, 09-30 3, [10-01..10-08 holiday], 10-09 4,
# 10-10 5, Sat 10-11 (make-up) 6, 10-13 7, 10-14 8, 10-15 9, 10-16 10, 10-17 11, 10-20 12, 10-21 13, 10-22 14, 10-23 15.
# A day period ends at 24:00 of its last day (the next day's 00:00).

DUE_CASES = [
    # rulebook, stage, kind, start, expected — the counting in the comment
    ("h_effective_complaints", "登记", None, FRI, "2025-09-29T00:00"),    # 1 wd: Sun 09-28 (make-up) → 24:00
    ("h_effective_complaints", "答复", "一般", FRI, "2025-09-30T00:00"),  # 2 wd: 09-28, 09-29
    ("h_effective_complaints", "答复", "复杂", FRI, "2025-10-11T00:00"),  # 5 wd → 10-10 24:00
    ("h_business_hall", "初步核实", None, FRI, "2025-09-27T10:00"),       # 24 natural hours
    ("h_business_hall", "答复", None, FRI, "2025-10-01T00:00"),           # 3 wd: 28, 29, 30
    ("h_maintenance_clients", "回复", None, FRI, "2025-09-27T10:00"),     # 24 h
    ("h_maintenance_clients", "处理", None, FRI, "2025-10-14T00:00"),     # 7 wd → 10-13 24:00
    ("h_operator_rules", "回复", None, FRI, "2025-10-11T00:00"),          # 5 wd → 10-10 24:00
    ("h_mobile_info", "录入", None, FRI, "2025-09-26T10:10"),             # 10 minutes
    ("h_mobile_info", "初步结果", "复杂", FRI, "2025-09-29T10:00"),       # 72 natural hours
    ("h_mobile_info", "解决", "复杂", FRI, "2025-10-24T00:00"),           # 15 wd → 10-23 24:00
    ("h_tax_service", "办结", "即时", FRI, "2025-09-26T10:00"),           # 即时办结: limit 0
    ("h_tax_service", "办结", "服务言行", FRI, "2025-10-11T00:00"),       # 5 wd → 10-10 24:00
    ("h_tax_service", "办结", "其他", FRI, "2025-10-17T00:00"),           # 10 wd → 10-16 24:00
]


@pytest.mark.parametrize("book, stage, kind, start, expected", DUE_CASES)
def test_time_limits(book, stage, kind, start, expected):
    assert scoring.due(book, stage, start, None, None, kind) == np.datetime64(expected, "s")


@pytest.mark.parametrize("book, score, label", [
    ("h_hall_rating", 96, "优秀"), ("h_hall_rating", 95, "优秀"),     # 95分及以上
    ("h_hall_rating", 94.9, "良好"), ("h_hall_rating", 90, "良好"),   # 90-95
    ("h_hall_rating", 85, "达标"), ("h_hall_rating", 79.5, "不达标"),
    ("h_operation_rating", 100, "优秀"), ("h_operation_rating", 89.5, "良好"),
    ("h_operation_rating", 70, "一般"), ("h_operation_rating", 60, "需改进"), ("h_operation_rating", 59, "不合格"),
])
def test_grade_bands(book, score, label):
    assert scoring.grade(book, score)[()] == label


def test_operation_rating_pass_mark_and_empty_scores():
    assert list(scoring.passed("h_operation_rating", [60, 59.9])) == [True, False]
    assert scoring.grade("h_operation_rating", [None])[0] is None


def test_complaint_levels():
    from udfs import rulebook

    names = [level.name for level in rulebook.load("h_complaint_levels").levels]
    assert names == ["一类投诉", "二类投诉", "一般性抱怨", "二次投诉"]
