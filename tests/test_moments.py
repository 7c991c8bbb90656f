"""Reading moments as assessors type them, Excel serials, and masking phones."""

import datetime as dt

import numpy as np
import pytest

from udfs.errors import ElementErrors
from udfs.moments import parse_moments, to_serials
from udfs.privacy import mask_phone


@pytest.mark.parametrize("typed, expected", [
    ("2026-10-03 14:05", "2026-10-03T14:05:00"),
    ("2026/10/3 14:05", "2026-10-03T14:05:00"),
    ("2026.10.3", "2026-10-03T00:00:00"),
    ("2026年10月3日 14:05", "2026-10-03T14:05:00"),
    ("2026年10月3日 14时05分", "2026-10-03T14:05:00"),
    ("2026年10月3日14时05分30秒", "2026-10-03T14:05:30"),
    ("2026-10-03T14:05:09", "2026-10-03T14:05:09"),
    ("  2026-10-03 8:05:59 ", "2026-10-03T08:05:59"),
    ("2025-10-11 24:00", "2025-10-12T00:00:00"),
    (45931.5, "2025-10-01T12:00:00"),
    (dt.datetime(2026, 10, 3, 14, 5, 7), "2026-10-03T14:05:07"),
    (dt.date(2026, 10, 3), "2026-10-03T00:00:00"),
    (np.datetime64("2026-10-03T14:05"), "2026-10-03T14:05:00"),
])
def test_typed_moments(typed, expected):
    assert parse_moments(np.array([typed], dtype=object))[0] == np.datetime64(expected)


def test_bad_and_empty_moments_are_reported_per_element():
    with pytest.raises(ElementErrors) as caught:
        parse_moments(np.array(["2026-13-01", None, "", "2026-02-30 10:00", "明天", "2026-10-03 24:30", True], dtype=object))
    assert caught.value.messages.tolist() == [
        "日期无法识别: 2026-13-01", "", "", "日期无法识别: 2026-02-30 10:00", "日期无法识别: 明天",
        "时间无法识别: 2026-10-03 24:30", "不是日期: True"]
    assert np.isnat(caught.value.values[1]) and np.isnat(caught.value.values[2])


def test_serials_round_trip_to_the_second():
    moments = np.array(["2025-10-11T23:59:59", "1900-03-01T00:00:01", "2026-02-17T08:00:00"], dtype="datetime64[s]")
    assert (parse_moments(to_serials(moments)) == moments).all()


@pytest.mark.parametrize("text, masked", [
    ("13812345678", "138****5678"),
    ("+86 13812345678", "+86 138****5678"),
    ("客户电话0750-3456789，备用13912345678", "客户电话0750-***6789，备用139****5678"),
    ("工单号 202510070001234", "工单号 202510070001234"),  # a long number is not a phone
    ("", ""),
])
def test_mask_phone(text, masked):
    assert mask_phone(text) == masked
