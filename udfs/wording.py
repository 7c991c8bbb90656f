"""Words for people: how rule data reads on paper and on screen (never code tokens or file names).

Every generated sheet, document and message that shows a clause, a month, a measure or a time
limit takes its words from here, so the ledger, the monthly table, the workbook, the notice and
``kaohe rulebooks`` say the same thing the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from .rulebook import CANONICAL_FIELDS, TimeLimit
from .timeliness import DAY_COUNTED, UNIT_ZH, same_day, unit_code

# The seed documents are stored as "000_3b788ccbddc931ee.txt": a number and a content hash,
# kept in the rulebooks for traceability but meaningless to an assessor.
_SEED_FILE = re.compile(r"\s*\b\d{3}_[0-9a-f]{16}\.txt\s*")


def citation(source: str) -> str:
    """The clause a rule comes from as an assessor cites it: ``江门办法 二、1``, without the
    stored seed file's name (``000_3b788ccbddc931ee.txt 江门办法 二、1``)."""
    return _citation(str(source or ""))


@functools.lru_cache(maxsize=1024)  # a rulebook has a few dozen sources; a ledger cites them per ticket
def _citation(source: str) -> str:
    text = re.sub(r" {2,}", " ", _SEED_FILE.sub(" ", source))
    return re.sub(r" ?([，。；、：《》“”()（）]) ?", r"\1", text).strip()


def month_label(month: str) -> str:
    """``2025-08`` → ``2025年8月``; any other text is returned unchanged."""
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", str(month).strip())
    return f"{found.group(1)}年{int(found.group(2))}月" if found else str(month)


def field_label(field: str) -> str:
    """The Chinese column name of a ticket field (``repeat`` → ``二次投诉``)."""
    return CANONICAL_FIELDS.get(field, field)


def stages_words(stages: str) -> str:
    """``签收|回复`` → ``签收或回复``."""
    return "或".join(s for s in str(stages).split("|") if s)


def measure_words(measure: str) -> str:
    """What a counted item counts, in words: ``overdue:签收|回复`` → ``签收或回复超时的工单张数``."""
    kind, _, argument = str(measure).partition(":")
    if kind == "overdue":
        return f"{stages_words(argument)}超时的工单张数"
    if kind == "none_overdue":
        return f"本月{stages_words(argument)}环节没有超时工单时计1次"
    if kind == "avg_hours_over":
        return f"本月已完成工单的平均处理时长超过{argument}小时时计1次"
    if kind == "flag":
        return f"标记为“{field_label(argument)}”的工单张数"
    return ""


def limit_words(row: TimeLimit) -> str:
    """A time limit as the source says it: ``2小时``, ``当天``, ``当天开始7天内``, ``3个工作日``."""
    if row.ticket_limit:
        if row.limit != row.limit:
            return "按工单上写的办理时限(如“当天”“3日内”)"
        fallback = dataclasses.replace(row, ticket_limit=False)
        return f"按工单上写的办理时限(如“当天”“3日内”)；未填时 {limit_words(fallback)}"
    code = unit_code(row.unit)
    if same_day(row.limit, code):
        return "当天"
    if row.limit == 0:
        return "即时"
    if code == DAY_COUNTED:
        return f"当天开始{row.limit:g}天内"
    return f"{row.limit:g}{UNIT_ZH[code]}"


def span_words(row: TimeLimit) -> str:
    """Where a limit's clock starts and stops: ``从派单时间到签收时间``."""
    start = field_label(row.start_field)
    return f"从{start}到{field_label(row.end_field)}" if row.end_field else f"从{start}起"
