"""The human-readable rule list (Chinese markdown), generated from a rulebook, never written by hand."""

from __future__ import annotations

import math
import re

from .rulebook import CANONICAL_FIELDS, RISK_OPS, Item, Rulebook, TimeLimit, load
from .timeliness import unit_code
from .wording import citation, limit_words


def _n(number: float) -> str:
    return f"{number:g}"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def amount(item: Item) -> str:
    """``-2分/张``, ``-0.5~1分/项次``, ``-不低于10分/次``, ``+100元/月``."""
    sign = "+" if item.bonus else "-"
    lo, hi = item.points
    if lo == hi:
        value = _n(lo)
    elif math.isinf(hi):
        value = f"不低于{_n(lo)}"
    else:
        value = f"{_n(lo)}~{_n(hi)}"
    return f"{sign}{value}{item.unit}/{item.per}"


def _clock(row: TimeLimit) -> str:
    code = unit_code(row.unit)
    if row.hours:
        return f"工作时段 {row.hours}(工作日)"
    return {0: "自然时间", 1: "自然时间", 2: "自然日", 3: "工作日", 4: "自然日(含当天)", 5: "自然月"}[code]


def _score_lines(book: Rulebook) -> list[str]:
    s = book.score
    if s is None:
        return ["本办法不计总分。"]
    unit = s.unit
    lines = [f"- 基准分(满分): {_n(s.full_marks)}{unit},逐项扣减"]
    if s.bonus_cap is not None:
        lines.append(f"- 加分上限: {_n(s.bonus_cap)}{unit}")
    if s.max is not None or s.min is not None:
        low = f"低于{_n(s.min)}{unit}按{_n(s.min)}{unit}计" if s.min is not None else ""
        high = f"高于{_n(s.max)}{unit}按{_n(s.max)}{unit}计" if s.max is not None else ""
        lines.append(f"- 总分: {'；'.join(x for x in (high, low) if x)}")
    if s.pass_mark is not None:
        lines.append(f"- 合格: {_n(s.pass_mark)}{unit}" + ("(含)以上" if s.pass_inclusive else "以上(不含)"))
    if s.repeats_double:
        lines.append("- 同类问题重复发生的,按相关条款加倍扣分(重复的一次按两次计,不连乘)")
    lines.append(f"- 出处: {citation(s.source)}" + (f" —— “{s.text}”" if s.text else ""))
    return lines


def markdown(rulebook) -> str:
    """The rule list of one rulebook (name or :class:`Rulebook`) as Chinese markdown."""
    book = rulebook if isinstance(rulebook, Rulebook) else load(rulebook)
    out = [f"# {book.title}", "", f"- 规则文件名称: {book.name}(命令行 --rulebook 用这个名称) 版本 {book.version}", f"- 来源: {citation(book.source)}"]
    if book.period:
        out.append(f"- 考核周期: {book.period}")
    out += ["", "## 计分", ""] + _score_lines(book)
    if book.payment:
        p = book.payment
        out += ["", "## 付款", "",
                f"- 实付 = 费用 × {_n((1 - p.assessed_share) * 100)}% + 费用 × {_n(p.assessed_share * 100)}% × 得分 / {_n(p.scale)}"
                + (",不超过费用" if p.cap_at_fee else ""),
                f"- 出处: {citation(p.source)}" + (f" —— “{p.text}”" if p.text else "")]
    if book.time_limits:
        out += ["", "## 时限", "", "| 环节 | 优先级 | 区域 | 类型 | 时限 | 计时方式 | 原文 | 出处 |", "|---|---|---|---|---|---|---|---|"]
        for row in book.time_limits:
            dims = ["、".join(v) or "不限" for v in (row.priority, row.area, row.kind)]
            out.append(f"| {row.stage} | {' | '.join(dims)} | {limit_words(row)} | {_clock(row)} | {_cell(row.text)} | {_cell(citation(row.source))} |")
    if book.items:
        out += ["", "## 考核项"]
        groups = [(c.id, f"{c.name}" + (f"({_n(c.points)}分)" if c.points is not None else "")) for c in book.categories]
        groups.append((None, "其他" if book.categories else ""))
        for key, title in groups:
            members = [i for i in book.items if i.category == key]
            if not members:
                continue
            if title:
                out += ["", f"### {title}"]
            out += ["", "| 编号 | 考核项 | 扣/加 | 项目分值 | 清零 | 加倍 | 适用 | 原文 | 出处 |", "|---|---|---|---|---|---|---|---|---|"]
            for i in members:
                zero = ""
                if i.zero_out_at is not None:
                    zero = f"{i.zero_out_at}{i.per}" + ("以上(含)" if i.zero_out_inclusive else "以上(不含)") + "扣除该项目所有分数"
                points = _n(i.item_points) if i.item_points is not None else ""
                if i.cap is not None:
                    points += f"(上限{_n(i.cap)}{i.unit})"
                out.append(f"| {_cell(i.id)} | {_cell(i.name)} | {amount(i)} | {points} | {zero} | {'是' if i.doubles else ''} "
                           f"| {_cell(i.who)} | {_cell(i.text)} | {_cell(citation(i.source))} |")
        notes = [f"- {i.id} {i.name}: {i.assumption}" for i in book.items if i.assumption]
        if notes:
            out += ["", "分值说明:", ""] + notes
    if book.bands:
        out += ["", "## 按历时逐单计分", "", "| 环节 | 历时 | 得分 | 计时 | 原文 | 出处 |", "|---|---|---|---|---|---|"]
        for band in book.bands:
            span = f"{CANONICAL_FIELDS[band.start_field]}→{CANONICAL_FIELDS[band.end_field]}，自然时间，扣除挂起"
            out.append(f"| {band.stage} | {band.range_text} | {_n(band.points)}分 | {span} | {_cell(band.text)} "
                       f"| {_cell(citation(band.source))} |")
    if book.grade_bands:
        out += ["", "## 等级", "", "| 等级 | 分数 |", "|---|---|"]
        for band in book.grade_bands:
            low = f"{_n(band.min)}分(含)以上" if not math.isinf(band.min) else ""
            high = f"低于{_n(band.below)}分" if not math.isinf(band.below) else ""
            out.append(f"| {band.label} | {'、'.join(x for x in (low, high) if x)} |")
    if book.risks:
        out += ["", "## 合同风险", "", "| 条件 | 后果 | 原文 | 出处 |", "|---|---|---|---|"]
        for r in book.risks:
            what = "得分" if r.measure == "score" else "故障处理及时率"
            bound = f"{_n(r.threshold)}分" if r.measure == "score" else f"{_n(r.threshold * 100)}%"
            run = (f"连续{r.months}个月" if r.months > 1 else "单月") if r.run == "consecutive" else f"全年累计{r.months}个月"
            out.append(f"| {run}{what}{RISK_OPS[r.op]}{bound} | {_cell(r.consequence)} | {_cell(r.text)} | {_cell(citation(r.source))} |")
    if book.levels:
        out += ["", "## 投诉等级", "", "| 等级 | 认定 | 处理 | 出处 |", "|---|---|---|---|"]
        for level in book.levels:
            out.append(f"| {level.name} | {_cell(level.definition)} | {_cell(level.consequence)} | {_cell(citation(level.source))} |")
    if book.columns:
        out += ["", "## 工单表头别名", ""] + [f"- {header} → {CANONICAL_FIELDS[field]}" for header, field in book.columns]
    if book.assumptions:
        out += ["", "## 本规则文件的假设(原文未明确之处)", ""] + [f"- {a}" for a in book.assumptions]
    return "\n".join(out) + "\n"


def plain(rulebook) -> str:
    """The rule list as plain text for a console or a letter: :func:`markdown`'s content with
    headings as 【…】, every table row as one line of “列: 值” pairs and no markup characters."""
    out: list[str] = []
    headers: list[str] = []
    for line in markdown(rulebook).splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "｜") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not headers:
                headers = cells
            elif not set("".join(cells)) <= set("-"):
                pairs = [f"{h}: {v}" for h, v in zip(headers, cells) if v and v != "不限"]
                out.append("  · " + "；".join(pairs))
            continue
        headers = []
        if line.startswith("# "):
            out += [line[2:], "═" * 30]
        elif line.startswith("## "):
            out += [f"【{line[3:]}】"]
        elif line.startswith("### "):
            out += [f"  ◆ {line[4:]}"]
        elif line.startswith("- "):
            out.append(f"  · {line[2:]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"
