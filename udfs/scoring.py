"""Scoring: deductions, item amounts, totals, grades, pass, payment, contract risk, deadlines.

Plain functions over numpy arrays (a cell, a column or a month of values); the rules
come from a :class:`~udfs.rulebook.Rulebook`. Conventions:

* Amounts are magnitudes: a deduction of 8 points is ``8`` (the rulebook's kind says
  which way it goes); money items are in 元 like their rulebook says.
* Counts are whole occurrences (次/张/人次/月 ...); NaN means an empty cell and gives NaN.
* "N次以上扣除该项目所有分数": 以上 includes N (count ≥ N) unless the item says
  ``zero_out_inclusive = false`` (count > N); the item then loses its allocated points.
* Doubling for repeats (加倍扣分) counts a repeated occurrence twice, once: a repeat
  never counts four times.
* Functions that can fail per element come as ``*_with_messages`` returning a message
  array ("" where fine); the plain function raises :class:`~udfs.errors.ElementErrors`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import timeliness
from .errors import KaoheError, collect
from .rulebook import RISK_OPS, Item, Rulebook, TimeLimit, load

_EPS = 1e-9


def _floats(values) -> np.ndarray:
    """Numbers as float arrays; None becomes NaN."""
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(float)
    array = array.astype(object)
    out = np.full(array.shape, np.nan)
    given = np.not_equal(array, None)
    out[given] = array[given].astype(float)
    return out


def _book(rulebook) -> Rulebook:
    return rulebook if isinstance(rulebook, Rulebook) else load(rulebook)


def _fmt(number: float) -> str:
    return f"{number:g}"


# -- one deduction ------------------------------------------------------------------------------
def deduct_with_messages(count, per_unit, zero_out_at=None, item_points=None, doubled=None, *,
                         zero_out_inclusive=True):
    """Like :func:`deduct` but returns ``(amounts, messages)``."""
    arrays = [_floats(count), _floats(per_unit)]
    arrays.append(_floats(zero_out_at) if zero_out_at is not None else np.array(np.nan))
    arrays.append(_floats(item_points) if item_points is not None else np.array(np.nan))
    doubled_raw = np.asarray(doubled, dtype=object) if doubled is not None else np.array(None, dtype=object)
    shape = np.broadcast_shapes(*(a.shape for a in arrays), doubled_raw.shape)
    n, unit, threshold, points = (np.broadcast_to(a, shape) for a in arrays)
    doubled_raw = np.broadcast_to(doubled_raw, shape)
    # TRUE doubles every occurrence; a number says how many of them are repeats.
    repeats = np.zeros(shape)
    for index, value in np.ndenumerate(doubled_raw):
        if isinstance(value, (bool, np.bool_)):
            repeats[index] = n[index] if value else 0.0
        elif value is not None:
            repeats[index] = float(value)
    inclusive = np.broadcast_to(np.asarray(zero_out_inclusive, dtype=bool), shape)

    messages = np.full(shape, "", dtype=object)
    checks = [
        (n < 0, lambda i: f"次数不能为负: {_fmt(n[i])}"),
        (~np.isnan(n) & (n != np.floor(n)), lambda i: f"次数须为整数: {_fmt(n[i])}"),
        (unit < 0, lambda i: f"每次扣分不能为负: {_fmt(unit[i])}"),
        (repeats < 0, lambda i: f"加倍次数不能为负: {_fmt(repeats[i])}"),
        (np.nan_to_num(repeats) > np.nan_to_num(n), lambda i: f"加倍次数 {_fmt(repeats[i])} 多于总次数 {_fmt(n[i])}"),
        (~np.isnan(threshold) & np.isnan(points), lambda i: "规定了“N次以上扣除该项目所有分数”须给出该项目分值"),
        (~np.isnan(threshold) & (threshold < 1), lambda i: f"清零次数应至少为1: {_fmt(threshold[i])}"),
        (points < 0, lambda i: f"项目分值不能为负: {_fmt(points[i])}"),
    ]
    for bad, text in checks:
        with np.errstate(invalid="ignore"):
            bad = bad & (messages == "")
        for index in zip(*np.nonzero(bad)) if shape else ([()] if bad else []):
            messages[index] = text(index)

    amount = (n + np.nan_to_num(repeats)) * unit
    reached = np.where(inclusive, n >= threshold, n > threshold)  # NaN threshold → False
    amount = np.where(reached, points, amount)
    amount = np.where(np.isnan(points), amount, np.fmin(amount, points))
    amount = np.where(messages == "", amount, np.nan)
    return amount, messages


def deduct(count, per_unit, zero_out_at=None, item_points=None, doubled=None, *, zero_out_inclusive=True):
    """Points (or 元) deducted for one item: ``(count + repeats) × per_unit``.

    ``count`` occurrences (次/张/人次, whole numbers ≥ 0); ``per_unit`` amount per occurrence;
    ``zero_out_at`` N of "N次以上扣除该项目所有分数": when count ≥ N (inclusive; count > N with
    ``zero_out_inclusive=False``) the deduction is ``item_points``, the item's allocated
    points, which also cap the deduction. ``doubled``: how many of the occurrences are
    repeats that count twice (加倍扣分, never compounding), or True for all of them.
    """
    return collect(*deduct_with_messages(count, per_unit, zero_out_at, item_points, doubled,
                                         zero_out_inclusive=zero_out_inclusive))


# -- one rulebook item --------------------------------------------------------------------------
def range_text(item: Item) -> str:
    """An item's per-unit amount as the sheets show it: ``2分/张``, ``5~15分/次``, ``不低于500元/次``."""
    lo, hi = item.points
    if lo == hi:
        return f"{_fmt(lo)}{item.unit}/{item.per}"
    if np.isinf(hi):
        return f"不低于{_fmt(lo)}{item.unit}/{item.per}"
    return f"{_fmt(lo)}~{_fmt(hi)}{item.unit}/{item.per}"


def item_with_messages(rulebook, item_id, count, chosen=None, repeats=None):
    """Like :func:`item` but returns ``(amounts, defaulted, messages)``.

    ``defaulted`` is True where a range item had no chosen value and its minimum was used
    (the sheet flags it).
    """
    book = _book(rulebook)
    ids = np.asarray(item_id, dtype=object)
    n = _floats(count)
    pick = _floats(chosen) if chosen is not None else np.array(np.nan)
    rep = np.asarray(repeats, dtype=object) if repeats is not None else np.array(None, dtype=object)
    shape = np.broadcast_shapes(ids.shape, n.shape, pick.shape, rep.shape)
    ids, n, pick, rep = (np.broadcast_to(a, shape) for a in (ids, n, pick, rep))
    amounts = np.full(shape, np.nan)
    defaulted = np.zeros(shape, dtype=bool)
    messages = np.full(shape, "", dtype=object)
    groups: dict[str, list] = {}
    for index, key in np.ndenumerate(ids):
        if key is None or not str(key).strip():
            if not np.isnan(n[index]):
                messages[index] = "未指定考核项"
        else:
            groups.setdefault(str(key).strip(), []).append(index)
    for key, members in groups.items():
        where = tuple(np.array(members).T) if shape else ()
        try:
            item = book.item(key)
        except KaoheError as err:
            messages[where] = err.zh
            continue
        lo, hi = item.points
        unit = np.where(np.isnan(pick[where]), lo, pick[where])
        group_messages = np.full(np.shape(unit), "", dtype=object)
        outside = ~np.isnan(pick[where]) & ((pick[where] < lo - _EPS) | (pick[where] > hi + _EPS))
        group_messages[outside] = (f"选定值超出范围: {{}}(“{item.name}”为{range_text(item)})" if item.ranged else
                                   f"该项为固定值{range_text(item)}，不能另选 {{}}")
        for position in zip(*np.nonzero(outside)) if np.ndim(outside) else ([()] if outside else []):
            group_messages[position] = group_messages[position].format(_fmt(np.asarray(pick[where])[position]))
        group_rep = rep[where]
        has_rep = np.vectorize(lambda v: v is not None and v is not False and v == v and v != 0, otypes=[bool])(group_rep)
        if not item.doubles:
            group_messages[has_rep & (group_messages == "")] = f"“{item.name}”不适用加倍扣分"
        values, m = deduct_with_messages(n[where], unit, item.zero_out_at, item.item_points,
                                         group_rep if item.doubles else None,
                                         zero_out_inclusive=item.zero_out_inclusive)
        group_messages = np.where(group_messages == "", m, group_messages)
        if item.cap is not None:
            values = np.fmin(values, item.cap)
        amounts[where] = np.where(group_messages == "", values, np.nan)
        defaulted[where] = item.ranged & np.isnan(pick[where]) & (np.nan_to_num(n[where]) > 0) & (group_messages == "")
        messages[where] = group_messages
    return amounts, defaulted, messages


def item(rulebook, item_id, count, chosen=None, repeats=None) -> np.ndarray:
    """Deduction (or bonus) of rulebook items, a magnitude in the item's unit (分 or 元).

    ``count`` occurrences in the month; ``chosen`` the assessor's per-occurrence value for
    a range item (both ends included; empty → the minimum, flagged by
    :func:`item_with_messages`); ``repeats`` how many occurrences are repeats doubled by a
    doubling item (True = all). Zero-out thresholds, allocated points and caps come from
    the item. A value outside the range, or an unknown item, fails that element.
    """
    values, _, messages = item_with_messages(rulebook, item_id, count, chosen, repeats)
    return collect(values, messages)


def measured(rulebook, item_id, values) -> int:
    """The count an item's ``measure`` gives from one month of per-ticket values.

    ``overdue:…``/``flag:…``: values are per-ticket flags → the number of True;
    ``none_overdue:…``: per-ticket overdue flags → 1 if none is True, else 0;
    ``avg_hours_over:H``: per-ticket handling hours → 1 if their mean exceeds H (H itself
    is not over), else 0 (no tickets → 0).
    """
    spec = _book(rulebook).item(item_id)
    if not spec.measure:
        raise KaoheError(f"“{spec.name}”没有规定工单度量", f"item {spec.id!r} has no measure")
    kind, _, argument = spec.measure.partition(":")
    array = np.asarray(values, dtype=object).ravel()
    if kind == "avg_hours_over":
        hours = _floats(array)
        hours = hours[~np.isnan(hours)]
        return int(len(hours) > 0 and float(hours.mean()) > float(argument) + _EPS)
    flags = np.array([bool(v) and v == v for v in array], dtype=bool)
    return int(not flags.any()) if kind == "none_overdue" else int(flags.sum())


# -- totals ---------------------------------------------------------------------------------------
def lost(rulebook, deductions, categories=None) -> float:
    """Points lost to ``deductions`` (magnitudes; NaN skipped): their sum, each category losing at
    most its points when ``categories`` (aligned with ``deductions``) name them."""
    book = _book(rulebook)
    d = np.abs(_floats(deductions).ravel())
    if categories is None:
        return float(np.nansum(d))
    cats = np.asarray(categories, dtype=object).ravel()
    if len(cats) != len(d):
        raise KaoheError("类别与扣分数量不一致", "categories and deductions differ in length")
    out = 0.0
    for key in dict.fromkeys(cats):
        mine = np.nansum(d[cats == key])
        points = book.category(key).points if key is not None else None
        out += mine if points is None else min(mine, points)
    return float(out)


def total(rulebook, deductions, bonuses=(), categories=None) -> float:
    """The scheme's monthly total: full marks − :func:`lost` + min(Σ|bonuses|, bonus cap), clamped.

    Empty values (NaN) are skipped. ``categories`` (optional, aligned with ``deductions``)
    names each deduction's category; a category then loses at most its points. The result
    lies within the scheme's ``min``/``max`` when they are given.
    """
    book = _book(rulebook)
    score = book.score
    if score is None:
        raise KaoheError(f"考核办法“{book.name}”不计总分", f"rulebook {book.name!r} has no score")
    bonus = float(np.nansum(np.abs(_floats(bonuses).ravel())))
    if score.bonus_cap is not None:
        bonus = min(bonus, score.bonus_cap)
    result = score.full_marks - lost(book, deductions, categories) + bonus
    if score.max is not None:
        result = min(result, score.max)
    if score.min is not None:
        result = max(result, score.min)
    return float(result)


def grade(rulebook, score) -> np.ndarray:
    """Grade labels of scores: the band with ``min`` ≤ score < ``below``; "" in no band, None if empty."""
    book = _book(rulebook)
    if not book.grade_bands:
        raise KaoheError(f"考核办法“{book.name}”未规定等级", f"rulebook {book.name!r} has no grade bands")
    values = _floats(score)
    out = np.full(values.shape, "", dtype=object)
    for band in book.grade_bands:
        out[(values >= band.min - _EPS) & (values < band.below - _EPS)] = band.label
    out[np.isnan(values)] = None
    return out


def passed(rulebook, score) -> np.ndarray:
    """True where a score passes: ≥ pass mark (inclusive, "X分(含)以上") or > it when the scheme says so.

    Empty scores (NaN) give False; callers that show empties test NaN themselves.
    """
    book = _book(rulebook)
    if book.score is None or book.score.pass_mark is None:
        raise KaoheError(f"考核办法“{book.name}”未规定合格分", f"rulebook {book.name!r} has no pass mark")
    values = _floats(score)
    mark = book.score.pass_mark
    with np.errstate(invalid="ignore"):
        return values >= mark - _EPS if book.score.pass_inclusive else values > mark + _EPS


def payment_with_messages(rulebook, fee, score):
    """Like :func:`payment` but returns ``(amounts, messages)``."""
    book = _book(rulebook)
    rule = book.payment
    if rule is None:
        raise KaoheError(f"考核办法“{book.name}”未规定付款规则", f"rulebook {book.name!r} has no payment rule")
    f, s = np.broadcast_arrays(_floats(fee), _floats(score))
    messages = np.full(f.shape, "", dtype=object)
    with np.errstate(invalid="ignore"):
        messages[f < 0] = "费用不能为负"
        # A score below 0 (a scheme without a floor) forfeits the assessed share, no more:
        # the unassessed share (Dongguan: fee × 70%) is due whatever the score.
        earned = np.where(s < 0, 0.0, s)
    paid = f * (1 - rule.assessed_share) + f * rule.assessed_share * earned / rule.scale
    if rule.cap_at_fee:
        paid = np.fmin(paid, np.where(np.isnan(paid), np.nan, f))
    return np.where(messages == "", paid, np.nan), messages


def payment(rulebook, fee, score) -> np.ndarray:
    """Fee payable (元): fee × (1 − share) + fee × share × score / scale, at most the fee.

    Dongguan: share 30%, scale 100 → fee × 70% + fee × 30% × score / 100.
    """
    return collect(*payment_with_messages(rulebook, fee, score))


# -- contract risk ---------------------------------------------------------------------------------
def rates(values) -> np.ndarray:
    """Timely rates as fractions: 0.85 stays, a number above 1 is a percentage (85 → 0.85)."""
    out = _floats(values)
    bad = out > 100
    if np.any(bad) or np.any(out < 0):
        raise KaoheError(f"及时率无效: {_fmt(float(out[bad | (out < 0)][0]))}(应为 0~100% 之间)",
                         "a timely rate must lie between 0 and 100%")
    return np.where(out > 1, out / 100, out)


def _hits(values: np.ndarray, op: str, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        hit = values <= threshold + _EPS if op == "at_or_below" else values < threshold - _EPS
    return hit & ~np.isnan(values)


def _first_run(hit: np.ndarray, length: int) -> list[int] | None:
    run = 0
    for position, flag in enumerate(hit):
        run = run + 1 if flag else 0
        if run >= length:
            return list(range(position - length + 2, position + 2))  # 1-based months
    return None


def risk_list(rulebook, monthly_scores, monthly_timely_rates=None, *, labels=None, year_from: int = 0,
              current: bool = False) -> list[str]:
    """The contract consequences triggered, one Chinese sentence each (see :func:`risk`).

    ``labels`` name the months in the sentences (default 第1月, 第2月, ...); ``year_from``
    is the position where the assessment year begins: in-year rules count only from there,
    consecutive rules look at the whole run given (so a run may cross the year's start).
    ``current``: only what the last month takes part in: a consecutive run must end with
    it, and an in-year count must include it (a monthly table's warnings).
    """
    book = _book(rulebook)
    series = {"score": _floats(monthly_scores).ravel()}
    if monthly_timely_rates is not None:
        series["timely_rate"] = rates(monthly_timely_rates).ravel()
    length = len(series["score"])
    names = list(labels) if labels is not None else [f"第{m}月" for m in range(1, length + 1)]
    out = []
    for rule in book.risks:
        values = series.get(rule.measure)
        if values is None:
            continue
        hit = _hits(values, rule.op, rule.threshold)
        what = "得分" if rule.measure == "score" else "故障处理及时率"
        bound = f"{_fmt(rule.threshold)}分" if rule.measure == "score" else f"{_fmt(rule.threshold * 100)}%"
        compare = RISK_OPS[rule.op]
        if rule.run == "consecutive":
            if current:  # the run that ends with the last month
                misses = np.flatnonzero(~hit)
                trailing = len(hit) - (misses[-1] + 1 if len(misses) else 0)
                months = list(range(len(hit) - rule.months + 1, len(hit) + 1)) if trailing >= rule.months else None
            else:
                months = _first_run(hit, rule.months)
            if months is None:
                continue
            lead = f"连续{rule.months}个月" if rule.months > 1 else "单月"
            where = "、".join(names[m - 1] for m in months)
            out.append(f"{lead}{what}{compare}{bound}({where}): {rule.consequence}")
            continue
        year = hit[year_from:]
        if len(year) > 12:
            raise KaoheError(f"按年计的规则只看一个考核年度(最多12个月)，给了{len(year)}个月",
                             f"in-year rules take one year of months (at most 12), got {len(year)}")
        if year.sum() >= rule.months and (not current or year[-1:].all()):
            where = "、".join(names[year_from + m] for m in np.flatnonzero(year))
            out.append(f"年内累计{int(year.sum())}个月{what}{compare}{bound}(规定{rule.months}个月; {where}): "
                       f"{rule.consequence}")
    return out


def risk(rulebook, monthly_scores, monthly_timely_rates=None) -> str:
    """Contract consequences triggered by a run of months, as Chinese text ("" when none).

    ``monthly_scores`` the months of one assessment year in order (empty = not assessed,
    which breaks a run); ``monthly_timely_rates`` fractions (0.85) or percentages (85).
    低于 excludes the threshold, 低于(含)/以下 includes it, as each rule says.
    """
    return "；".join(risk_list(rulebook, monthly_scores, monthly_timely_rates))


# -- points by elapsed hours ---------------------------------------------------------------------------
def band_points_with_messages(rulebook, stage, hours) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`band_points` but returns ``(points, messages)``."""
    book = _book(rulebook)
    bands = [band for band in book.bands if band.stage == str(stage).strip()]
    values = _floats(hours)
    points = np.full(values.shape, np.nan)
    messages = np.full(values.shape, "", dtype=object)
    if not bands:
        stages = "、".join(dict.fromkeys(b.stage for b in book.bands)) or "无"
        messages[...] = f"考核办法“{book.name}”没有按历时计分的“{stage}”(有: {stages})"
        return points, messages
    with np.errstate(invalid="ignore"):
        messages[values < 0] = "历时不能为负"
        for band in bands:
            points = np.where(np.isnan(points) & band.contains(values), band.points, points)
    messages[~np.isnan(values) & np.isnan(points) & (messages == "")] = "历时不在任何一档内"
    return points, messages


def band_points(rulebook, stage, hours) -> np.ndarray:
    """Points per ticket from the rulebook's ``[[bands]]`` of ``stage`` for elapsed ``hours``
    (seed 001: 响应时间小于1小时 5分, 1至3小时 4分, 3至24小时 3分, 超过24小时 1分). Empty hours
    give NaN."""
    return collect(*band_points_with_messages(rulebook, stage, hours))


# -- deadlines -------------------------------------------------------------------------------------
def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


class NoFit(str):
    """The message of a ticket that no row of a stage fits: it is not assessed there (not an error)."""


def _match(limits: tuple[TimeLimit, ...], stage: str, priority: str, area: str, kind: str) -> int | str:
    """The index of the most specific row for one ticket, or a Chinese message (a :class:`NoFit`
    when the stage has rows but none fits the ticket)."""
    rows = [k for k, row in enumerate(limits) if row.stage == stage]
    if not rows:
        stages = "、".join(dict.fromkeys(row.stage for row in limits)) or "无"
        return f"时限表中没有环节“{stage}”(有: {stages})"
    fits = [k for k in rows
            if all(not getattr(limits[k], key) or value in getattr(limits[k], key)
                   for key, value in (("priority", priority), ("area", area), ("kind", kind)))]
    if not fits:
        keyed = [(zh, key, value) for zh, key, value in (("优先级", "priority", priority), ("区域", "area", area),
                                                         ("工单类型", "kind", kind))
                 if any(getattr(limits[k], key) for k in rows)]
        given = "、".join(f"{zh}“{value}”" if value else f"{zh}为空" for zh, _, value in keyed)
        listed = "；".join(f"{zh}: " + "、".join(dict.fromkeys(v for k in rows for v in getattr(limits[k], key)))
                          for zh, key, _ in keyed)
        return NoFit(f"“{stage}”环节没有适用于{given}的时限(适用{listed})")
    best = max(limits[k].specificity for k in fits)
    top = [k for k in fits if limits[k].specificity == best]
    if len(top) > 1:
        return f"“{stage}”环节有{len(top)}条时限同时适用，规则文件需更具体"
    return top[0]


def limit_rows(rulebook, stage, priority=None, area=None, kind=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, messages, no_fit)``: for each ticket the index into ``rulebook.time_limits`` of the
    row of ``stage`` that applies to it (the most specific match of priority, area and kind), or
    -1 with a Chinese message; ``no_fit`` is True where the message says that no row of the stage
    fits the ticket (it is not assessed there), False where it is an error. Each distinct
    (stage, priority, area, kind) is matched once."""
    book = _book(rulebook)
    arrays = [np.asarray(a if a is not None else None, dtype=object) for a in (stage, priority, area, kind)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    size = int(np.prod(shape))
    # each column's distinct values as text, then the distinct combinations: a month of tickets
    # has a handful of (stage, priority, area, kind) keys, matched once each
    codes, texts = [], []
    for array in arrays:
        column_codes, uniques = pd.factorize(pd.Series(np.broadcast_to(array, shape).ravel(), dtype=object),
                                             use_na_sentinel=False)
        codes.append(column_codes)
        texts.append([_text(value) for value in uniques])
    if not size:
        return np.zeros(shape, np.intp), np.full(shape, "", dtype=object), np.zeros(shape, bool)
    key = np.zeros(size, dtype=np.int64)  # the four codes as one number: one sort, not a sort of rows
    for column_codes, uniques in zip(codes, texts):
        key = key * (len(uniques) + 1) + column_codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    combos = np.column_stack(codes)[first]
    found = [_match(book.time_limits, *(texts[j][c] for j, c in enumerate(combo))) if texts[0][combo[0]] else ""
             for combo in combos]
    inverse = inverse.reshape(-1)
    index = np.array([f if isinstance(f, int) else -1 for f in found], dtype=np.intp)[inverse]
    said = np.array([str(f) if isinstance(f, str) else "" for f in found], dtype=object)[inverse]
    no_fit = np.array([isinstance(f, NoFit) for f in found], dtype=bool)[inverse]
    return index.reshape(shape), said.reshape(shape), no_fit.reshape(shape)


def due_with_messages(rulebook, stage, start, priority=None, area=None, kind=None, *, calendar=None, suspended=None):
    """Like :func:`due` but returns ``(deadlines, messages)``."""
    book = _book(rulebook)
    start_array = np.asarray(start)
    rows, messages, _ = limit_rows(book, stage, priority, area, kind)
    shape = np.broadcast_shapes(start_array.shape, rows.shape)
    start_array, rows = np.broadcast_to(start_array, shape), np.broadcast_to(rows, shape)
    messages = np.broadcast_to(messages, shape)
    limits, units, hours = row_terms(book, rows)
    per_ticket = np.array([row.ticket_limit and row.limit != row.limit for row in book.time_limits] + [False])[rows]
    messages = np.where(per_ticket & (messages == ""), "该环节的时限按每张工单的办理时限(当天、N日内): "
                        "用 KH_DEADLINE(开始时间,办理时限,\"\")", messages)
    deadlines, m = timeliness.deadline_with_messages(start_array, limits, units, hours=hours, calendar=calendar,
                                                     suspended=suspended)
    messages = np.where(messages == "", np.broadcast_to(m, shape), messages)
    deadlines = np.where(messages == "", deadlines, np.datetime64("NaT"))
    return deadlines, messages


def row_terms(rulebook, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(limits, units, hours)`` of the time-limit rows at ``rows`` (-1: no row → empty limit)."""
    book = _book(rulebook)
    table = book.time_limits
    limits = np.array([row.limit for row in table] + [np.nan], dtype=float)[rows]
    units = np.array([row.unit for row in table] + ["小时"], dtype=object)[rows]
    hours = np.array([row.hours for row in table] + [""], dtype=object)[rows]
    return limits, units, hours


def due(rulebook, stage, start, priority=None, area=None, kind=None, *, calendar=None, suspended=None) -> np.ndarray:
    """Deadlines (``datetime64[s]``) from the rulebook's time-limit table.

    For each ticket, the row of ``stage`` that matches its ``priority`` (特急/紧急/一般),
    ``area`` (城区/乡镇/农村) and ``kind`` most specifically gives the limit, its unit and
    business hours; the deadline is then counted as :func:`udfs.timeliness.deadline` does
    (natural hours, business hours, natural days or working days; suspended time added).
    Empty stage or start gives NaT.
    """
    return collect(*due_with_messages(rulebook, stage, start, priority, area, kind,
                                      calendar=calendar, suspended=suspended))
