"""The whole-column path of the cell functions gives exactly what one cell at a time gives.

A column arrives from xlwings as a list of one-element lists mixing datetimes, Excel serials,
typed text in every accepted form, invalid dates, booleans and empties; the fast path must
agree with the element-wise parser (:func:`udfs.moments._one`) and with calling the cell
function on each row alone.
"""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from udfs import scoring
from udfs.cellio import _cell, grid, number_grid
from udfs.errors import with_messages
from udfs.moments import _one, parse_moments
from udfs.scoring_cells import (
    _flags_or_numbers,
    _numbers,
    kh_band,
    kh_deduct,
    kh_due,
    kh_grade,
    kh_item,
    kh_pass,
    kh_payment,
    kh_risk,
    kh_total,
)
from udfs.timeliness_cells import kh_add_workdays, kh_date, kh_deadline, kh_elapsed, kh_is_workday

TYPED = ["2025-10-03 14:05", "2025-10-03 14:05:09", "2025/10/3 8:05", "2025年10月3日 14:05", "2025年10月3日14时05分30秒",
         "2025.10.3", "2025-10-03T14:05", "  2025-10-11 24:00 ", "2025-10-03 24:30", "2025-02-29 10:00",
         "2025-13-01", "明天", "2025-10-03 14:05日", "２０２５-10-03 14:05", "2025-10-03 14:05+08:00", "2025-1-3 8:5",
         "0000-01-01 00:00", "2025-10-03 14:05:60", "1600-02-29 12:00", "9999-12-31 23:59:59", "2025年10月3日 8点", "", "   "]
CELLS = st.one_of(
    st.none(), st.sampled_from(TYPED), st.booleans(), st.integers(-5, 3_000_000),
    st.floats(-10, 3_000_000), st.sampled_from([float("nan"), 0.5, 45929.625, 2_958_466.0]),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 1, 1)), st.just(np.datetime64("2025-10-01T08:00")),
)


def element_wise(values):
    """Seconds or messages one value at a time, the reference the whole-column path must equal
    (an int is read as the float a cell holds, as the column path always did: "超出范围: 0.0")."""
    moments, messages = [], []
    for value in values:
        result = _one(float(value) if type(value) is int else value)
        messages.append(result if isinstance(result, str) else "")
        moments.append(np.datetime64(result, "s") if isinstance(result, int) else np.datetime64("NaT", "s"))
    return np.array(moments, dtype="datetime64[s]"), np.array(messages, dtype=object)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=40))
def test_parsing_a_mixed_column_equals_parsing_each_cell(values):
    column = np.empty(len(values), dtype=object)
    column[:] = values
    moments, messages = with_messages(parse_moments, column)
    expected, expected_messages = element_wise(values)
    assert messages.tolist() == expected_messages.tolist()
    assert np.array_equal(moments, expected, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=12))
def test_a_cell_function_on_a_column_equals_it_on_each_cell(values):
    column = [[value] for value in values]
    for function, extra in ((kh_date, ()), (kh_deadline, (3, "工作日")), (kh_is_workday, ()),
                            (kh_add_workdays, (2,)), (kh_elapsed, ("2025-12-31 18:00", "08:00-12:00,14:30-18:00"))):
        whole = function(column, *extra)
        assert whole.shape == (len(values), 1)
        one_by_one = [function([[value]], *extra)[0, 0] for value in values]
        assert whole[:, 0].tolist() == one_by_one, function.__name__


def test_single_cells_stay_single_and_columns_meet_them():
    starts = [["2025-09-29 08:00"], [45929.625], [dt.datetime(2025, 9, 29, 17, 0)], [None], ["2025-13-01"], [True]]
    limits = [[4], [None], ["当天"], [2], ["x"], [3]]
    units = [["小时"], ["小时"], [""], ["天"], ["小时"], ["工作日"]]
    whole = kh_deadline(starts, limits, units)
    one_by_one = [kh_deadline([s], [lim], [u])[0, 0] for s, lim, u in zip(starts, limits, units)]
    assert whole[:, 0].tolist() == one_by_one
    assert whole[0, 0] == dt.datetime(2025, 9, 29, 12, 0) and whole[1, 0] is None
    assert whole[4, 0] == "#日期无法识别: 2025-13-01" and whole[5, 0] == "#不是日期: True"
    # a row of limits against a column of starts: the shapes broadcast as in Excel
    grid = kh_deadline([["2025-09-29 08:00"], ["2025-09-30 08:00"]], [[1, 2]], "工作日")
    assert grid.shape == (2, 2) and grid[1, 1] == dt.datetime(2025, 10, 11)  # 09-30 + 2 workdays: 10-09, 10-10 → 24:00
    assert kh_deadline([["2025-09-29 08:00"], [None]], [[1], [2], [3]], "天")[0, 0].startswith("#区域大小不一致")


def test_kh_due_on_a_column_of_keys_equals_it_row_by_row():
    starts = [["2025-09-29 08:00"], ["2025/9/29 17:00"], [None], ["2025-13-01"], [45929.625], ["2025-09-30 10:00"]]
    areas = [["城区"], ["乡镇"], ["城区"], ["农村"], ["城区"], ["海岛"]]
    kinds = [["故障"], ["10086投诉"], ["新开"], ["故障"], ["新开"], ["故障"]]
    suspended = [1, None, None, 0, "2025-09-29 09:00~2025-09-29 10:00", None]
    whole = kh_due("poyang", "处理", starts, None, areas, kinds, [[value] for value in suspended])
    one_by_one = [kh_due("poyang", "处理", [s], None, [a], [k], [[sus]])[0, 0]
                  for s, a, k, sus in zip(starts, areas, kinds, suspended)]
    assert whole[:, 0].tolist() == one_by_one
    assert whole[2, 0] is None and whole[3, 0] == "#日期无法识别: 2025-13-01"
    assert whole[5, 0].startswith("#“处理”环节没有适用于")


# -- numbers: the whole-column reading of counts, scores, fees and hours --------------------------
NUMBER_TEXTS = ["3", " 4 ", "85%", "85 ％", "1,200", "  12.5\t", "x", "良", "", "   ", "%", "nan", "inf", "-inf", "1_000",
                "３", "1e3", "0x10", "3元", "+.5", "1.2.3", "TRUE", "－3", "2,5%", "  -0.0 ",
                "1_0%", "３%", "nan%"]
NUMBER_CELLS = st.one_of(
    st.none(), st.sampled_from(NUMBER_TEXTS), st.sampled_from(NUMBER_TEXTS), st.booleans(), st.just(np.bool_(True)), st.integers(-20, 200),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([float("nan"), float("inf"), -0.0, 2.5]),
    st.floats(-1e6, 1e6).map(lambda x: f" {x!r} "), st.floats(0, 100).map(lambda x: f"{x}%"),
    st.text(alphabet="0123456789.,%％ e-+x", max_size=6), st.just(dt.datetime(2025, 10, 3, 8, 0)),
)


def numbers_one_by_one(values, what):
    """The element-wise reading the whole-column :func:`_numbers` must equal (its former loop)."""
    out = np.full(values.shape, np.nan)
    messages = np.full(values.shape, "", dtype=object)
    for index, value in np.ndenumerate(values):
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            messages[index] = f"{what}不是数字: {value}"
            continue
        if isinstance(value, str):
            text = value.strip().replace(",", "")
            try:
                out[index] = float(text[:-1]) / 100 if text.endswith(("%", "％")) else float(text)
            except ValueError:
                messages[index] = f"{what}不是数字: {value}"
            continue
        try:
            out[index] = float(value)
        except (TypeError, ValueError):
            messages[index] = f"{what}不是数字: {value}"
    return out, messages, np.array([[v is None for v in row] for row in values], dtype=bool).reshape(values.shape)


def same_cells(left, right):
    """Equal lists of cells, NaN equal to NaN, a boolean never equal to the number 1 or 0."""
    def key(cells):
        return [(type(v) is bool, "nan" if isinstance(v, float) and math.isnan(v) else v) for v in cells]
    return key(left) == key(right)


@settings(max_examples=300, deadline=None)
@given(st.lists(NUMBER_CELLS, min_size=1, max_size=40), st.integers(1, 2))
@example(["1_0%", "x", "３%", " 85 ％", "nan%", np.bool_(False), None, "1,200", float("nan"), dt.date(2025, 10, 3)], 2)
@example([1.5, float("nan"), -0.0, 1e308], 1)
def test_reading_a_mixed_column_of_numbers_equals_reading_each_cell(values, width):
    values = values[: len(values) // width * width] or values[:1] * width
    array = np.empty(len(values), dtype=object)
    array[:] = values
    array = array.reshape(-1, width)
    rows = array.tolist()  # as xlwings hands a range over; grid reads it by type groups
    assert grid(rows).tolist() == [[_cell(value) for value in row] for row in rows]
    numbers, messages, empty = _numbers(array, "次数")
    expected, expected_messages, expected_empty = numbers_one_by_one(array, "次数")
    assert messages.tolist() == expected_messages.tolist()
    assert np.array_equal(numbers, expected, equal_nan=True)
    assert np.array_equal(np.signbit(numbers), np.signbit(expected))  # "-0.0" stays −0
    assert empty.tolist() == expected_empty.tolist()
    # a range of numbers only is read as floats at once (number_grid): the same as the cells read by grid
    for fast, slow in zip(_numbers(number_grid(rows), "次数"), _numbers(grid(rows), "次数")):
        assert np.array_equal(fast, slow, equal_nan=True) if fast.dtype.kind == "f" else fast.tolist() == slow.tolist()
    flags, flag_messages = _flags_or_numbers(array, "加倍次数")
    for index, value in np.ndenumerate(array):  # the former loop: booleans kept, numbers as floats
        if value is None or isinstance(value, (bool, np.bool_)):
            assert same_cells([flags[index]], [None if value is None else bool(value)]) and flag_messages[index] == ""
        else:
            cell = np.empty((1, 1), dtype=object)
            cell[0, 0] = value
            number, message = (part[0, 0] for part in numbers_one_by_one(cell, "加倍次数")[:2])
            assert flag_messages[index] == message
            assert same_cells([flags[index]], [None if message else float(number)])


SCORING_CALLS = (
    (kh_deduct, lambda c: (c, 2, 5, 10)), (kh_deduct, lambda c: (3, 2, None, None, c)),
    (kh_deduct, lambda c: (4, c, 5, 10)), (kh_item, lambda c: ("jiangmen", "二1", c)),
    (kh_item, lambda c: ("ningxia", "2b", 1, c)), (kh_item, lambda c: ("jiangmen", "二1", 3, None, c)),
    (kh_band, lambda c: ("h_service_scoring", "响应", c)), (kh_grade, lambda c: ("h_hall_rating", c)),
    (kh_pass, lambda c: ("dongguan", c)), (kh_payment, lambda c: ("dongguan", 100000, c)),
    (kh_payment, lambda c: ("dongguan", c, 93)),
)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the engine on 1e308 × 2
@settings(max_examples=80, deadline=None)
@given(st.lists(NUMBER_CELLS, min_size=1, max_size=12))
def test_a_scoring_function_on_a_column_equals_it_on_each_cell(values):
    column = [[value] for value in values]
    for function, arguments in SCORING_CALLS:
        whole = function(*arguments(column))
        assert whole.shape == (len(values), 1), function.__name__
        one_by_one = [function(*arguments([[value]]))[0, 0] for value in values]
        assert same_cells(whole[:, 0].tolist(), one_by_one), (function.__name__, whole[:, 0].tolist(), one_by_one)


@settings(max_examples=80, deadline=None)
@given(st.lists(NUMBER_CELLS, min_size=1, max_size=12))
def test_a_range_of_deductions_totals_as_its_cells_read_one_by_one(values):
    """KH_TOTAL and KH_RISK take a range: the first bad cell is named, else the cells read one by one
    give the engine's answer."""
    column = [[value] for value in values]
    alone = [numbers_one_by_one(grid(value), "扣分") for value in values]
    bad = [i for i, (_, messages, _) in enumerate(alone) if messages[0, 0]]
    total = kh_total("dongguan", column, [[5]])[0, 0]
    risk = kh_risk("dongguan", [values])[0, 0]
    if bad:
        assert total == f"#扣分区域第{bad[0] + 1}个值: {alone[bad[0]][1][0, 0]}"
        assert risk == total.replace("扣分", "得分")
    else:
        numbers = np.array([number[0, 0] for number, _, _ in alone])
        assert same_cells([total], [kh_total("dongguan", numbers.reshape(-1, 1), [[5]])[0, 0]])
        assert float(total) == pytest.approx(float(scoring.total("dongguan", numbers, [5])), nan_ok=True)
        assert risk == scoring.risk("dongguan", numbers)
