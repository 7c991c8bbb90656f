"""Cell functions for the calendar and timeliness (KH_DATE, KH_IS_WORKDAY … KH_EXPLAIN, KH_MASK).

Each only converts arguments and results; the rules live in :mod:`udfs.calendar` and
:mod:`udfs.timeliness`.
"""

from __future__ import annotations

import os

import numpy as np

from . import timeliness
from .calendar import WorkCalendar, china_calendar, load_entries
from .catalogue import Arg, register
from .cellio import broadcast, grid, guarded, shape_of
from .errors import merge_messages, with_messages
from .moments import parse_moments
from .privacy import mask_phones

HOLIDAYS_ENV = "KAOHE_HOLIDAYS"
_user_entries: tuple = ()


def use_holidays(entries: tuple) -> None:
    """Set the user layer (holidays and workdays) the cell functions count with."""
    global _user_entries
    _user_entries = tuple(entries)


def active_calendar() -> WorkCalendar:
    """The calendar with the user layer: :func:`use_holidays`, else the CSV named by ``KAOHE_HOLIDAYS``."""
    if not _user_entries and os.environ.get(HOLIDAYS_ENV):
        return china_calendar(load_entries(os.environ[HOLIDAYS_ENV]))
    return china_calendar(_user_entries)


def _moments(values: np.ndarray):
    """Parsed moments and messages for a grid of cell values."""
    return with_messages(parse_moments, values)


def suspended_argument(values: np.ndarray):
    """A suspended-time argument: numbers are hours, text is ``起~止;起~止`` intervals."""
    if values is None:
        return None, None
    kinds = set(map(type, values.reshape(-1).tolist()))
    if any(issubclass(kind, str) for kind in kinds):
        return timeliness.parse_suspensions(values)
    if kinds <= {float, int, bool, type(None)}:  # numbers and empties: one cast (bool counts as a number, as before)
        numbers = np.where(np.equal(values, None), np.nan, values).astype(float)
        return numbers.reshape(values.shape), np.full(values.shape, "", dtype=object)
    hours = np.array([np.nan if v is None else v for v in values.flat], dtype=object)
    messages = np.array(["" if v is None or isinstance(v, (int, float)) else f"挂起时长不是数字: {v}" for v in hours],
                        dtype=object).reshape(values.shape)
    numbers = np.array([v if isinstance(v, (int, float)) else np.nan for v in hours], dtype=float).reshape(values.shape)
    return numbers, messages


def suspended_like(suspended, like: np.ndarray):
    """:func:`suspended_argument` of a 挂起 argument aligned with the grid ``like`` (as :func:`broadcast`
    aligns them, without reading ``like`` again)."""
    if suspended is None:
        return None, None
    values = grid(suspended)
    shape = shape_of(values, like)
    return suspended_argument(values if values.size == 1 or values.shape == shape else np.broadcast_to(values, shape))


# -- argument help (shared by several functions) ----------------------------------------------
START = Arg("start_at", "开始时间(派单/受理时间)，Excel日期或文本如 2026-10-03 14:05")
END = Arg("end_at", "结束时间(回复/完成时间)；为空表示未完成")
LIMIT = Arg("limit", "时限数值；也可写督办单上的“当天”“3日内”“5个工作日”(此时 unit 留空)", "与unit一致")
UNIT = Arg("unit", "时限单位: 小时/分钟/天/工作日/个月(也可写 h/min/d/wd)；“天(含当天)”表示当天开始N天内(起算日算第1天)")
HOURS = Arg("work_hours", "工作时段，如 \"08:00-12:00,14:30-18:00\"(仅工作日计时)；省略按自然时间", optional=True)
SUSPENDED = Arg("suspended", "挂起: 数字为挂起小时数；文本为时段“起~止;起~止”，重叠自动合并", "小时或时段", optional=True)


@register("KH_DATE", "日期时间", "把单元格里的日期时间(Excel日期，或文本如 2026-10-03 14:05、2026/10/3 14:05、"
          "2026年10月3日 14:05)转为Excel日期时间，保留到秒；无法识别时给出中文提示。用于整列换算导出表中手打的时间。",
          [Arg("when", "日期时间(可为整列)")], "日期时间", '=KH_DATE("2026年10月3日 14:05") → 2026-10-03 14:05')
def kh_date(when):
    def compute():
        (values,) = broadcast(when, moments=(0,))
        moments, messages = _moments(values)
        return moments, messages, np.isnat(moments) & (messages == "")
    return guarded(compute)


@register("KH_IS_WORKDAY", "是否工作日", "判断是否为中国法定工作日: 调休上班的周末算工作日，法定节假日不算。年份无官方安排时提示错误。",
          [Arg("when", "日期(可为整列)")], "TRUE/FALSE", '=KH_IS_WORKDAY("2025-10-11") → TRUE(国庆调休上班)')
def kh_is_workday(when):
    def compute():
        (days,) = broadcast(when, moments=(0,))
        moments, messages = _moments(days)
        working, more = with_messages(active_calendar().is_workday, moments)
        return working, merge_messages(messages, more), np.isnat(moments) & (messages == "")
    return guarded(compute)


@register("KH_WORKDAYS", "工作日天数", "两日期之间的工作日天数，首尾两天都计入(同NETWORKDAYS，按中国节假日和调休)。结束早于开始时为负数。",
          [Arg("first_day", "开始日期"), Arg("last_day", "结束日期")], "工作日天数(整数)",
          '=KH_WORKDAYS("2025-10-01","2025-10-12") → 3')
def kh_workdays(first_day, last_day):
    def compute():
        a, b = broadcast(first_day, last_day, moments=(0, 1))
        (ma, ea), (mb, eb) = _moments(a), _moments(b)
        count, more = with_messages(active_calendar().workdays_between, ma, mb)
        return count, merge_messages(ea, eb, more), (np.isnat(ma) | np.isnat(mb)) & (ea == "") & (eb == "")
    return guarded(compute)


@register("KH_ADD_WORKDAYS", "加工作日", "从某日起数n个工作日后的日期(起算日不计，同WORKDAY，按中国节假日和调休)；n为负数时向前数。",
          [Arg("from_day", "起始日期"), Arg("days", "工作日数，可为负", "工作日")], "日期",
          '=KH_ADD_WORKDAYS("2025-09-30",3) → 2025-10-11')
def kh_add_workdays(from_day, days):
    def compute():
        a, n = broadcast(from_day, days, moments=(0,))
        moments, messages = _moments(a)
        counts = np.full(n.shape, 0, dtype=np.int64)
        for index, value in np.ndenumerate(n):
            if value is None:
                continue
            if isinstance(value, str) or float(value) != int(float(value)):
                messages[index] = messages[index] or f"工作日数须为整数: {value}"
            else:
                counts[index] = int(float(value))
        empty = (np.isnat(moments) | np.equal(n, None)) & (messages == "")
        safe = np.where(empty | (messages != ""), np.datetime64("2024-01-08"), moments.astype("datetime64[D]"))
        result, more = with_messages(active_calendar().add_workdays, safe, counts)
        return result.astype("datetime64[s]"), merge_messages(messages, more), empty
    return guarded(compute)


def _times(*grids):
    """Parse start/end grids; returns moments and merged messages."""
    parsed = [_moments(g) for g in grids]
    return [p[0] for p in parsed], merge_messages(*[p[1] for p in parsed])


@register("KH_ELAPSED", "历时", "两时刻之间的历时(小时)。默认自然时间；给出工作时段则只计工作日的工作时段；扣除挂起时间，结果不为负。",
          [START, END, HOURS, SUSPENDED], "小时数",
          '=KH_ELAPSED("2025-09-30 17:00","2025-10-09 10:00","08:00-12:00,14:30-18:00") → 3')
def kh_elapsed(start_at, end_at, work_hours=None, suspended=None):
    def compute():
        a, b, h = broadcast(start_at, end_at, work_hours, moments=(0, 1))
        (sa, sb), messages = _times(a, b)
        sus, sus_messages = suspended_like(suspended, a)
        hours_text = _one_hours(h)
        values, more = timeliness.elapsed_with_messages(sa, sb, hours=hours_text, calendar=active_calendar(), suspended=sus)
        return values, merge_messages(messages, sus_messages, more), (np.isnat(sa) | np.isnat(sb)) & (messages == "")
    return guarded(compute)


def _one_hours(grid):
    """Business hours text: one value for the call (the usual case) or per element."""
    values = {"" if v is None else str(v) for v in grid.flat}
    return values.pop() or None if len(values) == 1 else np.where(np.equal(grid, None), "", grid).astype(object)


@register("KH_DEADLINE", "截止时间", "按时限算截止时间。小时/分钟按自然时间(或给定工作时段)；天按自然日、工作日按中国工作日，起算日不计(“天(含当天)”起算日算第1天)，末日逢节假日顺延，至当日24:00(或下班时)止；“当天”(0天)到当天24:00，不顺延。",
          [START, LIMIT, UNIT, HOURS, SUSPENDED], "日期时间",
          '=KH_DEADLINE("2025-09-26 15:00",3,"工作日") → 2025-09-30 24:00(即10-01 00:00)')
def kh_deadline(start_at, limit, unit, work_hours=None, suspended=None):
    def compute():
        a, lim, un, h = broadcast(start_at, limit, unit, work_hours, moments=(0,))
        (sa,), messages = _times(a)
        sus, sus_messages = suspended_like(suspended, a)
        values, more = timeliness.deadline_with_messages(sa, lim, un, hours=_one_hours(h), calendar=active_calendar(),
                                                         suspended=sus)
        messages = merge_messages(messages, sus_messages, more)
        return values, messages, (np.isnat(sa) | np.equal(lim, None)) & (messages == "")
    return guarded(compute)


def _verdict(start_at, end_at, limit, unit, work_hours, suspended):
    a, b, lim, un, h = broadcast(start_at, end_at, limit, unit, work_hours, moments=(0, 1))
    (sa, sb), messages = _times(a, b)
    sus, sus_messages = suspended_like(suspended, a)
    result, more = timeliness.verdict_with_messages(sa, sb, lim, un, hours=_one_hours(h), calendar=active_calendar(),
                                                    suspended=sus)
    empty = (np.isnat(sa) | np.isnat(sb) | np.equal(lim, None)) & (messages == "")
    return result, merge_messages(messages, sus_messages, more), empty


@register("KH_ONTIME", "是否及时", "是否在截止时间前(含恰好到点)完成。挂起时间不计入时限；结束时间为空(未完成)时返回空。",
          [START, END, LIMIT, UNIT, HOURS, SUSPENDED], "TRUE/FALSE",
          '=KH_ONTIME("2025-09-29 08:00","2025-09-29 12:00",4,"小时","08:00-12:00,14:30-18:00") → TRUE')
def kh_ontime(start_at, end_at, limit, unit, work_hours=None, suspended=None):
    def compute():
        result, messages, empty = _verdict(start_at, end_at, limit, unit, work_hours, suspended)
        return result.ontime, messages, empty
    return guarded(compute)


@register("KH_OVERDUE", "超时小时", "超过截止时间的自然小时数，按时为0；挂起时间不计入时限；结束时间为空时返回空。",
          [START, END, LIMIT, UNIT, HOURS, SUSPENDED], "小时数",
          '=KH_OVERDUE("2025-09-29 08:00","2025-09-29 13:00",4,"小时","08:00-12:00,14:30-18:00") → 1')
def kh_overdue(start_at, end_at, limit, unit, work_hours=None, suspended=None):
    def compute():
        result, messages, empty = _verdict(start_at, end_at, limit, unit, work_hours, suspended)
        return result.overdue_hours, messages, empty
    return guarded(compute)


@register("KH_EXPLAIN", "时限说明", "用一句中文写出计算过程: 计入和跳过的日子(节假日、调休上班)、计入的工作时段、挂起、截止时间和结论，便于向代维单位说明扣分依据。",
          [START, Arg("end_at", "结束时间；为空时只说明截止时间", optional=False), LIMIT, UNIT, HOURS, SUSPENDED], "说明文字",
          '=KH_EXPLAIN("2025-09-30 10:00","2025-10-10 16:00",3,"工作日")')
def kh_explain(start_at, end_at, limit, unit, work_hours=None, suspended=None):
    def compute():
        a, b, lim, un, h = broadcast(start_at, end_at, limit, unit, work_hours, moments=(0, 1))
        (sa, sb), messages = _times(a, b)
        sus, sus_messages = suspended_like(suspended, a)
        lines, more = with_messages(timeliness.explain, sa, sb, lim, un, hours=_one_hours(h),
                                    calendar=active_calendar(), suspended=sus)
        return lines, merge_messages(messages, sus_messages, more), (np.isnat(sa) | np.equal(lim, None)) & (messages == "")
    return guarded(compute)


@register("KH_MASK", "号码脱敏", "把文本中的手机号、固话号中间几位替换为*，用于归档: 13812345678 → 138****5678。",
          [Arg("phone", "电话号码或含号码的文本")], "脱敏后的文本", '=KH_MASK("13812345678") → 138****5678')
def kh_mask(phone):
    def compute():
        (values,) = broadcast(phone)
        masked = mask_phones(values)
        return masked, None, np.equal(values, None)
    return guarded(compute)
