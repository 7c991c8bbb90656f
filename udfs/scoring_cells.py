"""Cell functions for rulebooks and scoring (KH_DUE, KH_DEDUCT, KH_ITEM, KH_BAND, KH_TOTAL, KH_GRADE, KH_PASS,
KH_PAYMENT, KH_RISK, KH_RULEBOOKS).

Each only converts arguments and results; the rules live in the rulebook files and
:mod:`udfs.scoring`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import scoring
from .carried import rulebook_from_cells
from .catalogue import Arg, register
from .cellio import broadcast, guarded, number_grid, scalar
from .errors import KaoheError, merge_messages, with_messages
from .moments import parse_moments
from .rulebook import installed, load
from .timeliness_cells import active_calendar, suspended_like

# Cell types read by one whole-array cast (``float(value)`` for each, as numpy's object cast does).
_NUMERIC = frozenset({float, int, np.float64, np.int64})
_FLAGS = frozenset({bool, np.bool_})


def _one_number(value, what: str) -> tuple[float, str]:
    """One cell as a float, or NaN and the message why it is not a number (the element-wise rule
    the whole-column pass of :func:`_numbers` follows)."""
    if isinstance(value, (bool, np.bool_)):
        return np.nan, f"{what}不是数字: {value}"
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return (float(text[:-1]) / 100 if text.endswith(("%", "％")) else float(text)), ""
        except ValueError:
            return np.nan, f"{what}不是数字: {value}"
    try:
        return float(value), ""
    except (TypeError, ValueError):
        return np.nan, f"{what}不是数字: {value}"


def _texts_as_numbers(texts: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Floats and messages of an object array of non-blank texts ("3", " 4 ", "1,200", "85%").

    One cast of the whole array where every text is a number; otherwise the texts pandas reads
    are cast together and only the rest are looked at one by one (messages only for those)."""
    cleaned = np.array([text.strip().replace(",", "") for text in texts.tolist()], dtype=object)
    percent = np.fromiter((text.endswith(("%", "％")) for text in cleaned.tolist()), dtype=bool, count=cleaned.size)
    if percent.any():
        cleaned[percent] = [text[:-1] for text in cleaned[percent].tolist()]
    out = np.full(texts.shape, np.nan)
    messages = np.full(texts.shape, "", dtype=object)
    try:
        out[:] = cleaned.astype(float)
    except ValueError:
        try:
            read = ~np.isnan(pd.to_numeric(pd.Series(cleaned), errors="coerce").to_numpy(float))
            out[read] = cleaned[read].astype(float)
        except (ValueError, TypeError, OverflowError):  # pandas read a text float() does not: one by one
            read = np.zeros(texts.shape, dtype=bool)
        for index in np.flatnonzero(~read):
            out[index], messages[index] = _one_number(texts[index], what)
        percent &= read  # the texts read one by one are already divided
    out[percent] /= 100
    return out, messages


def _numbers(values: np.ndarray, what: str = "数值"):
    """Floats (NaN where empty), per-element messages, and the empty mask of a grid of cells.

    Text numbers are read ("3", "85%" → 0.85); booleans are kept out (they are not counts).
    Whole-column: the cells are grouped by type and each group converted at once.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # a range of numbers only (number_grid)
        return values.astype(float), np.full(values.shape, "", dtype=object), np.isnan(values)
    flat = np.asarray(values, dtype=object).reshape(-1)
    messages = np.full(flat.shape, "", dtype=object)
    kinds = list(map(type, flat.tolist()))
    if set(kinds) <= _NUMERIC | {type(None)}:  # a column of numbers and empties: one cast
        empty = np.equal(flat, None)
        out = np.where(empty, np.nan, flat).astype(float)
        return out.reshape(values.shape), messages.reshape(values.shape), empty.reshape(values.shape)
    out = np.full(flat.shape, np.nan)
    code_of = {kind: code for code, kind in enumerate(dict.fromkeys(kinds))}
    codes = np.fromiter(map(code_of.__getitem__, kinds), dtype=np.intp, count=len(kinds))
    empty = codes == code_of.get(type(None), -1)
    for kind, code in code_of.items():
        at = np.flatnonzero(codes == code)
        if kind is type(None):
            continue
        if kind in _NUMERIC:
            out[at] = flat[at].astype(float)
        elif kind in _FLAGS:
            messages[at] = [f"{what}不是数字: {value}" for value in flat[at].tolist()]
        elif kind is str:
            out[at], messages[at] = _texts_as_numbers(flat[at], what)
        else:
            for index in at:
                out[index], messages[index] = _one_number(flat[index], what)
    return out.reshape(values.shape), messages.reshape(values.shape), empty.reshape(values.shape)


def _flags_or_numbers(values: np.ndarray, what: str):
    """A doubling argument: TRUE/FALSE kept as booleans, numbers as floats, empty as None."""
    numbers, messages, empty = _numbers(values, what)
    out = numbers.astype(object)
    out[(messages != "") | empty] = None
    flat = np.asarray(values, dtype=object).reshape(-1)
    flags = np.fromiter((type(value) in _FLAGS for value in flat.tolist()), dtype=bool, count=flat.size)
    flags = flags.reshape(numbers.shape)
    if flags.any():
        out[flags] = [bool(value) for value in flat[flags.reshape(-1)].tolist()]
        messages = messages.copy()
        messages[flags] = ""
    return out, messages


def _book(rulebook):
    """The rulebook a 考核办法 argument names: an installed name in one cell, or the cells of a
    rulebook the workbook carries (:mod:`udfs.carried`)."""
    if np.size(rulebook) > 1:
        return load(rulebook_from_cells(rulebook))
    return load(scalar(rulebook))


BOOK = Arg("rulebook", "考核办法(规则文件名，如 jiangmen；KH_RULEBOOKS() 列出已安装的)")
SCORE = Arg("score", "月度得分(可为整列)", "分")


@register("KH_DUE", "规则时限", "按考核办法的时限表算截止时间: 按环节(签收/回复/处理/回访…)、优先级、区域、工单类型选取时限，"
          "按自然时间、工作时段或工作日计时(中国法定节假日与调休)。",
          [BOOK, Arg("stage", "环节，如 签收、回复、处理、回访"),
           Arg("start_at", "起算时间(派单/受理时间)，Excel日期或文本如 2026-10-03 14:05"),
           Arg("priority", "优先级: 特急/紧急/一般", optional=True), Arg("area", "区域: 城区/乡镇/农村", optional=True),
           Arg("kind", "工单类型，如 故障、10086投诉、新开", optional=True),
           Arg("suspended", "挂起: 数字为挂起小时数；文本为时段“起~止;起~止”(截止时间相应顺延)", "小时或时段",
               optional=True)],
          "截止时间", '=KH_DUE("jiangmen","回复","2026-10-03 14:05","特急") → 2026-10-04 00:05')
def kh_due(rulebook, stage, start_at, priority=None, area=None, kind=None, suspended=None):
    def compute():
        book = _book(rulebook)
        stages, starts, priorities, areas, kinds = broadcast(stage, start_at, priority, area, kind, moments=(1,))
        moments, m1 = with_messages(parse_moments, starts)
        sus, m3 = suspended_like(suspended, starts)
        deadlines, m2 = scoring.due_with_messages(book, stages, moments, priorities, areas, kinds,
                                                  calendar=active_calendar(), suspended=sus)
        messages = merge_messages(m1, m2, m3)
        return deadlines, messages, np.isnat(deadlines) & (messages == "")
    return guarded(compute)


@register("KH_DEDUCT", "扣分", "一个考核项的扣分: 次数×每次扣分；“N次以上扣除该项目所有分数”(以上含N)时扣满项目分值；"
          "项目分值同时为扣分上限；加倍扣分的次数按两次计(不连乘)。",
          [Arg("count", "发生次数(张/次/人次)", "次"), Arg("per_unit", "每次扣分", "分或元"),
           Arg("zero_out_at", "N次以上(含N)扣除该项目所有分数的N", "次", optional=True),
           Arg("item_points", "该项目分值(扣分上限；清零时扣的分)", "分", optional=True),
           Arg("doubled", "其中加倍扣分的次数；TRUE 表示全部加倍", "次", optional=True)],
          "扣分(正数)", "=KH_DEDUCT(4,2,5,10) → 8")
def kh_deduct(count, per_unit, zero_out_at=None, item_points=None, doubled=None):
    def compute():
        n, unit, threshold, points, twice = broadcast(count, per_unit, zero_out_at, item_points, doubled,
                                                       numbers=(0, 1, 2, 3))
        n, m1, empty_n = _numbers(n, "次数")
        unit, m2, empty_u = _numbers(unit, "每次扣分")
        threshold, m3, _ = _numbers(threshold, "清零次数")
        points, m4, _ = _numbers(points, "项目分值")
        twice, m5 = _flags_or_numbers(twice, "加倍次数")
        values, m6 = scoring.deduct_with_messages(n, unit, threshold, points, twice)
        messages = merge_messages(m1, m2, m3, m4, m5, m6)
        return values, messages, (empty_n | empty_u) & (messages == "")
    return guarded(compute)


@register("KH_ITEM", "考核项扣分", "按考核办法的一个考核项算扣分(或加分): 取该项的每次分值、项目分值、清零次数、加倍与上限；"
          "范围扣分(如2~5分/次)须在范围内选定，未选按下限。",
          [BOOK, Arg("item", "考核项编号或名称(见规则清单)"), Arg("count", "本月发生次数", "次"),
           Arg("chosen", "范围扣分时选定的每次分值(须在范围内)", "分或元", optional=True),
           Arg("repeats", "其中重复发生、加倍扣分的次数；TRUE 表示全部", "次", optional=True)],
          "扣分或加分(正数)", '=KH_ITEM("jiangmen","二1",4) → 8')
def kh_item(rulebook, item, count, chosen=None, repeats=None):
    def compute():
        book = _book(rulebook)
        ids, n, pick, rep = broadcast(item, count, chosen, repeats, numbers=(1, 2))
        n, m1, empty = _numbers(n, "次数")
        pick, m2, _ = _numbers(pick, "选定分值")
        rep, m3 = _flags_or_numbers(rep, "加倍次数")
        values, _, m4 = scoring.item_with_messages(book, ids, n, pick, rep)
        messages = merge_messages(m1, m2, m3, m4)
        return values, messages, empty & (messages == "")
    return guarded(compute)


@register("KH_BAND", "历时得分", "按考核办法的分档表，由历时(小时)给出每张工单的得分，如响应时间小于1小时5分、1至3小时4分、"
          "3至24小时3分、超过24小时1分(各档边界见规则清单)。",
          [BOOK, Arg("stage", "计分的环节，如 响应"), Arg("hours", "历时(可为整列，如 KH_ELAPSED 的结果)", "小时")],
          "得分", '=KH_BAND("h_service_scoring","响应",2.5) → 4')
def kh_band(rulebook, stage, hours):
    def compute():
        book = _book(rulebook)
        (values,) = broadcast(hours, numbers=(0,))
        numbers, messages, empty = _numbers(values, "历时")
        points, more = scoring.band_points_with_messages(book, scalar(stage), numbers)
        messages = merge_messages(messages, np.where(empty, "", more))
        return points, messages, empty & (messages == "")
    return guarded(compute)


def _range_numbers(values, what):
    cells = number_grid(values)
    if cells.dtype.kind == "f":  # numbers only: nothing to name
        return cells
    numbers, messages, _ = _numbers(cells, what)
    bad = np.flatnonzero(messages.ravel() != "")
    if len(bad):
        raise KaoheError(f"{what}区域第{bad[0] + 1}个值: {messages.ravel()[bad[0]]}")
    return numbers


@register("KH_TOTAL", "总分", "考核办法的月度总分: 基准分(满分)减扣分合计，加上不超过上限的加分，再按总分上下限截取。",
          [BOOK, Arg("deductions", "扣分区域(正负均按扣分计，空格忽略)", "分"),
           Arg("bonuses", "加分区域(空格忽略)", "分", optional=True)],
          "总分", '=KH_TOTAL("dongguan",B2:B20,C2:C5) → 93')
def kh_total(rulebook, deductions, bonuses=None):
    def compute():
        book = _book(rulebook)
        lost = _range_numbers(deductions, "扣分")
        gained = _range_numbers(bonuses, "加分")
        return np.array(scoring.total(book, lost, gained)), None, None
    return guarded(compute)


@register("KH_GRADE", "等级", "按考核办法的等级区间给出等级(优秀/良好/达标…)；区间含下限、不含上限。",
          [BOOK, SCORE], "等级文字", '=KH_GRADE("h_hall_rating",92) → 良好')
def kh_grade(rulebook, score):
    def compute():
        book = _book(rulebook)
        (values,) = broadcast(score, numbers=(0,))
        numbers, messages, empty = _numbers(values, "得分")
        labels = scoring.grade(book, numbers)
        return labels, messages, empty & (messages == "")
    return guarded(compute)


@register("KH_PASS", "是否合格", "按考核办法的合格分判断是否合格(如东莞 95分(含)以上合格)。",
          [BOOK, SCORE], "TRUE/FALSE", '=KH_PASS("dongguan",93) → FALSE')
def kh_pass(rulebook, score):
    def compute():
        book = _book(rulebook)
        (values,) = broadcast(score, numbers=(0,))
        numbers, messages, empty = _numbers(values, "得分")
        return scoring.passed(book, numbers), messages, empty & (messages == "")
    return guarded(compute)


@register("KH_PAYMENT", "应付费用", "按考核办法的付款规则算应付代维费: 费用×(1−考核比例)+费用×考核比例×得分/100，不超过费用"
          "(东莞: 30%为考核基数)。",
          [BOOK, Arg("fee", "当月代维费", "元"), SCORE], "应付金额(元)", '=KH_PAYMENT("dongguan",100000,93) → 97900')
def kh_payment(rulebook, fee, score):
    def compute():
        book = _book(rulebook)
        fees, values = broadcast(fee, score, numbers=(0, 1))
        fees, m1, e1 = _numbers(fees, "费用")
        values, m2, e2 = _numbers(values, "得分")
        paid, m3 = scoring.payment_with_messages(book, fees, values)
        messages = merge_messages(m1, m2, m3)
        return paid, messages, (e1 | e2) & (messages == "")
    return guarded(compute)


@register("KH_RISK", "合同风险", "按考核办法的合同条款检查连续月份: 如全年3个月低于80分、连续2个月低于80分、"
          "及时率连续2个月低于或等于70%；返回触发的后果(中文)，无则为空。",
          [BOOK, Arg("monthly_scores", "按月顺序的得分(一行或一列，一个考核年度)", "分"),
           Arg("monthly_timely_rates", "按月顺序的故障处理及时率(85% 或 0.85 或 85)", "%", optional=True)],
          "后果说明文字", '=KH_RISK("dongguan",B2:M2) → 连续2个月得分低于80分…')
def kh_risk(rulebook, monthly_scores, monthly_timely_rates=None):
    def compute():
        book = _book(rulebook)
        scores = _range_numbers(monthly_scores, "得分").ravel()
        rates = None if monthly_timely_rates is None else _range_numbers(monthly_timely_rates, "及时率").ravel()
        return np.array(scoring.risk(book, scores, rates), dtype=object), None, None
    return guarded(compute)


@register("KH_RULEBOOKS", "已安装考核办法", "列出已安装的考核办法(规则文件名)，向下溢出为一列；用作其他函数的 rulebook 参数。",
          [], "规则文件名一列", "=KH_RULEBOOKS() → jiangmen …")
def kh_rulebooks():
    def compute():
        names = [info.name for info in installed()]
        return np.array(names, dtype=object).reshape(-1, 1), None, None
    return guarded(compute)
