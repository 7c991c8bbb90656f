"""Reading moments as assessors type them, Excel serials, and masking phones."""

import datetime as dt
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs.errors import ElementErrors, with_messages
from udfs.moments import _LAYOUTS, _parse_text, parse_moments, to_serials
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


# -- the whole-column text readers agree with the one-text rule ------------------------------------

# Field values in and out of range (month 13, day 31 of a short month, 24:30, minute 60, year 0000)
# written into a layout's digit runs.
FIELD = st.one_of(st.integers(0, 9999), st.sampled_from([0, 1, 2, 9, 12, 13, 19, 20, 23, 24, 28, 29, 30, 31, 59, 60]))


def fill(layout: str, values) -> str:
    text, values = "", iter(values)
    for run in re.findall(r"0+|[^0]+", layout):
        text += str(next(values) % 10 ** len(run)).zfill(len(run)) if run[0] == "0" else run
    return text


def one_by_one(texts):
    seconds, messages = [], []
    for text in texts:
        result = _parse_text(text) if text.strip() else None
        messages.append(result if isinstance(result, str) else "")
        seconds.append(np.datetime64(result, "s") if isinstance(result, int) else np.datetime64("NaT", "s"))
    return np.array(seconds, dtype="datetime64[s]"), messages


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_LAYOUTS), st.lists(FIELD, min_size=6, max_size=6)), min_size=1, max_size=60))
def test_every_layout_read_as_the_one_text_rule_reads_it(rows):
    texts = [fill(layout, values) for layout, values in rows]
    moments, messages = with_messages(parse_moments, np.array(texts, dtype=object))
    expected, expected_messages = one_by_one(texts)
    assert messages.tolist() == expected_messages
    assert np.array_equal(moments, expected, equal_nan=True)


def test_a_column_in_the_export_form_with_strays_reads_each_as_alone():
    texts = ["2025-10-03 14:05"] * 40 + ["2025-02-29 10:00", "2025-10-03 24:00", "2025年10月3日 14:05", "0000-01-01 00:00",
                                         "2025-10-03 14:05:30", "2025-1-3 8:05", " 2025-10-03 14:05", "2025-10-03 24:01",
                                         "２０２５-10-03 14:05", "2025-10-03 14:05+08:00", "2025-10-03 14:05Z",
                                         "2025-10-03T14:05", "2025-10-03 14:05 ", "2025-10-03 14:05:60", "2025-10-03 14:60",
                                         "2025-10-03\t14:05", "2025-10-03  14:05", "", "  "]
    moments, messages = with_messages(parse_moments, np.array(texts, dtype=object))
    expected, expected_messages = one_by_one(texts)
    assert messages.tolist() == expected_messages
    assert np.array_equal(moments, expected, equal_nan=True)
    assert moments[41] == np.datetime64("2025-10-04T00:00:00") and messages[40] == "日期无法识别: 2025-02-29 10:00"


EDGES = [(2025, 2, 29, 10, 0, 0), (2024, 2, 29, 10, 0, 0), (1900, 2, 29, 0, 0, 0), (2000, 2, 29, 0, 0, 0),
         (2025, 4, 31, 8, 5, 0), (2025, 4, 30, 8, 5, 0), (2025, 13, 1, 0, 0, 0), (2025, 0, 1, 0, 0, 0), (2025, 1, 0, 0, 0, 0),
         (0, 1, 1, 0, 0, 0), (1, 1, 1, 0, 0, 0), (9999, 12, 31, 23, 59, 59), (2025, 10, 3, 24, 0, 0),
         (2025, 10, 3, 24, 0, 1), (2025, 10, 3, 24, 1, 0), (2025, 10, 3, 25, 0, 0), (2025, 10, 3, 23, 60, 0),
         (2025, 10, 3, 23, 59, 60), (2025, 12, 31, 24, 0, 0), (1969, 12, 31, 23, 59, 59)]


@pytest.mark.parametrize("layout", _LAYOUTS)
def test_each_layout_at_the_edges_of_its_fields(layout):
    texts = [fill(layout, values) for values in EDGES]
    for column in (texts, texts[:1] * 40 + texts):  # mixed, and behind a run in one form
        moments, messages = with_messages(parse_moments, np.array(column, dtype=object))
        expected, expected_messages = one_by_one(column)
        assert messages.tolist() == expected_messages
        assert np.array_equal(moments, expected, equal_nan=True)
