"""Rulebooks: one TOML file per assessment scheme, loaded and validated.

A rulebook is data: every number an assessor applies comes from a file in
``udfs/rulebooks/`` (shipped with the package) or from a directory the user adds
(argument ``dirs`` or the environment variable ``KAOHE_RULEBOOKS``, several paths
separated by ``os.pathsep``). Adding a scheme means adding a TOML file; nothing in
the code names a scheme. :func:`load` finds a rulebook by name (the file stem) or by
path; :func:`check` validates a file; :func:`installed` lists what is available.
A malformed file raises :class:`~udfs.errors.KaoheError` naming the file, the TOML
line where it can be located, the key (``items[3](id=B1).points``) and what is wrong.

Limits, so that no file (mistyped or hostile) crashes the tools or the workbook's formulas:
every number is finite and at most :data:`MAX_MAGNITUDE` in absolute value (``inf`` only as the
open upper end of a points range, ``[10, inf]``), written with at most :data:`MAX_DIGITS` digits;
arrays and tables nest at most :data:`MAX_NESTING` deep; ``extends`` chains at most
:data:`MAX_EXTENDS` bases, without a cycle; a name that formulas and sheet columns carry (item and
category ids and names, stages, priorities/areas/kinds, parties, grade labels, level names) has
at most :data:`MAX_NAME` characters and no control characters. Quotes, brackets and spaces in
names are fine: the workbook escapes them (:func:`workbook.ledger_sheet.literal`).

Format (unknown keys are errors at every level; "text" and "source" are Chinese)
=================================================================================

``[rulebook]`` (required)
    ``name`` str      ASCII id, must equal the file stem (``jiangmen`` for jiangmen.toml)
    ``title`` str     Chinese title of the scheme
    ``source`` str    seed file and document the scheme comes from
    ``version`` str   version of this rulebook file
    ``period`` str    optional, the assessment period (e.g. ``每月7日考核上月``)
    ``assumptions`` [str]  optional: what this file assumes where the source is silent
    ``extends`` str   optional, the name (or path, relative to this file) of a rulebook this
                      one builds on: every top-level section this file does not give
                      (``[score]``, ``[[items]]``, ``[[time_limits]]``, ``[payment]`` ...) is
                      taken whole from it, as that file defines it; a section given here
                      replaces the base's. A contract that adds payment and contract terms
                      to a published scheme is a file with ``extends`` and those sections.

``[score]`` (optional; without it the scheme has no score and total/pass refuse)
    ``unit`` str          ``分`` (points, default) or ``元`` (money)
    ``full_marks`` num    the score a unit starts from (基准分/满分), ≥ 0
    ``bonus_cap`` num     optional, the most bonus counted in a month (加分上限)
    ``min``/``max`` num   optional clamps: the total never goes below/above them
    ``pass_mark`` num     optional pass mark; ``pass_inclusive`` bool (default true):
                          true = "X分(含)以上" passes at X, false = "超过X分" passes above X
    ``repeats_double`` bool  optional (default false): every item of the scheme is
                          doubled for repeats (加倍扣分), unless the item says otherwise
    ``party`` str         optional (default ``代维公司``): whom the items without ``who`` assess;
                          an item whose ``who`` names another party (自维人员 ...) applies to
                          units of that party only (a ticket's 人员类别 column, or the findings)
    ``source``/``text``   where the score rules come from, and their wording

``[[categories]]`` (optional) — groups of items with their points
    ``id`` str, ``name`` str, ``points`` num ≥ 0 (optional: the most the category can
    lose), ``source`` str, ``text`` str (optional)

``[[items]]`` — deduction or bonus items
    ``id`` str            unique; what KH_ITEM's ``item`` argument names (the ``name``
                          is accepted too)
    ``name`` str          short Chinese name
    ``category`` str      optional, a category id
    ``kind`` str          ``扣分`` (default) or ``加分``; money items use ``扣款``/``奖励``
                          as their wording, the kind stays ``扣分``/``加分``
    ``points`` num | [lo, hi]   per-unit amount ≥ 0; a range is the assessor's choice
                          (both ends included; ``hi`` may be ``inf`` for "不低于lo");
                          without a choice the minimum applies and is flagged
    ``unit`` str          ``分`` (default) or ``元``
    ``per`` str           what one unit is: 次 张 单 人次 人 月 项 项次 小项 处 份 现场 例
    ``item_points`` num   optional, the points allocated to the item: the most it can
                          lose, and what "扣除该项目所有分数" takes away
    ``zero_out_at`` int   optional, "N次以上扣除该项目所有分数"; needs ``item_points``
    ``zero_out_inclusive`` bool  default true: 以上 includes N (count ≥ N zeroes the item);
                          false for 超过 (count > N)
    ``doubles`` bool      optional, repeats count twice (加倍扣分, once, never compounding);
                          default from ``[score].repeats_double``
    ``cap`` num           optional, the most the item gives or takes in a month
    ``who`` str           optional, the party it applies to (自维人员, 部门负责人 ...); default the
                          scheme's ``[score].party``. 元 and 分 items never add up: a unit's
                          score counts the items in the score's unit, the others total apart
    ``void_if`` [str]     optional, for a bonus: item ids whose findings in the month void it
                          ("全月无超时工单,所有信息全部反馈到位": every condition is checked)
    ``measure`` str       optional, what ticket measure gives the count (see MEASURES):
                          ``overdue:回复`` tickets overdue at stage 回复 (``签收|回复`` = at
                          either); ``none_overdue:处理`` 1 for a month without an overdue
                          ticket at that stage; ``avg_hours_over:17`` 1 when the month's
                          mean handling hours exceed 17 (17 itself is not over);
                          ``flag:<field>`` tickets whose field is marked
    ``source`` str, ``text`` str   seed file and clause, and the Chinese wording
    ``assumption`` str    optional, what the file assumes for this item

``[[time_limits]]`` — one row of a stage's time-limit table
    ``stage`` str         签收, 回复, 处理, 回访 ...
    ``limit`` num ≥ 0     the limit, in ``unit``: 小时/分钟/天/工作日 (or h/min/d/wd)
    ``hours`` str         optional business hours (``08:00-12:00,14:30-18:00``): the
                          limit counts only inside them on working days
    ``priority``/``area``/``kind``  optional str or [str]: the row applies to these
                          priorities (特急/紧急/一般), areas (城区/乡镇/农村), ticket kinds;
                          absent = any. The most specific matching row wins.
    ``from``/``until`` str  optional canonical ticket fields this row's tickets run between
                          (default ``dispatched_at``; ``until`` default: the stage's other rows').
                          Each ticket is timed by the fields of the row that applies to it;
                          a ticket no row of a stage fits is not assessed at that stage
    ``unit`` ``天(含当天)`` counts the start day as day 1 ("当天开始1周内" = 7 天(含当天));
                          ``0 天`` is "当天": that calendar day, never moved to a working day
    ``ticket_limit`` bool  optional: the limit is the ticket's own 办理时限 as the dispatch form
                          gives it (``当天``, ``3日内``, ``5个工作日``; seed 004 附件1); ``limit`` and
                          ``unit`` are then optional, the limit of tickets that give none
    ``source`` str, ``text`` str

``[[bands]]`` — per-ticket points by elapsed hours (seed 001 客户服务质量评分: 响应时间小于1小时
    5分 …), one row per band of one measured span: ``stage`` str (what is measured, e.g. 响应),
    ``points`` num, ``from``/``until`` canonical fields (default ``dispatched_at`` →
    ``accepted_at``), bounds in hours: ``over`` (>) or ``at_least`` (≥), ``below`` (<) or
    ``within`` (≤), each optional; the bands of a stage must not overlap. ``source``, ``text``.

``[[grade_bands]]`` — ``label`` str, ``min`` num (included; optional = no lower end),
    ``below`` num (excluded; optional = no upper end). Bands must not overlap; a score in no band has no grade.

``[payment]`` (optional) — ``assessed_share`` num in (0, 1]: the share of the monthly fee
    that the score governs; paid = fee × (1 − share) + fee × share × score / ``scale``
    (``scale`` default 100), at most the fee when ``cap_at_fee`` (default true).
    ``source``, ``text``.

``[[risks]]`` — contract consequences over a run of months
    ``measure`` str       ``score`` (monthly score) or ``timely_rate`` (monthly on-time rate,
                          a fraction: 0.7 = 70%)
    ``op`` str            ``below`` (低于, excludes the threshold) or ``at_or_below``
                          (低于(含) / 以下, includes it)
    ``threshold`` num, ``months`` int ≥ 1
    ``run`` str           ``consecutive`` (N months in a row) or ``in_year`` (N months of
                          the assessment year, the months given, at most 12)
    ``consequence`` str, ``source`` str, ``text`` str

``[[levels]]`` (optional) — complaint levels and their consequences: ``name``,
    ``definition``, ``consequence``, ``source``; optionally ``when`` [str], conditions any of
    which classes a ticket at this level (``overdue:解决``: late at that stage; ``flag:repeat``;
    ``at_least:households:5``: a field's number ≥ 5), checked in file order (等级从高), and
    ``default`` bool, the level of a ticket that meets none. The ledger then shows 投诉等级.

``[columns]`` (optional) — extra ticket header spellings: ``"受理工单号" = "ticket_id"``;
    values are canonical fields (:data:`CANONICAL_FIELDS`, by id or Chinese label).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import tomllib
from pathlib import Path

from .calendar import parse_hours
from .errors import KaoheError
from .timeliness import unit_code

PACKAGE_DIR = Path(__file__).parent / "rulebooks"
DIRS_ENV = "KAOHE_RULEBOOKS"

POINT_UNITS = ("分", "元")
DEDUCTION_WORDS = {"分": "扣分", "元": "扣款"}  # what a deduction is called in each point unit
KINDS = {"扣分": "deduction", "加分": "bonus"}
PER_UNITS = ("次", "张", "单", "人次", "人", "月", "项", "项次", "小项", "处", "份", "现场", "例")
RISK_MEASURES = ("score", "timely_rate")
RISK_OPS = {"below": "低于", "at_or_below": "低于或等于"}
RISK_RUNS = ("consecutive", "in_year")
MEASURES = ("overdue", "none_overdue", "avg_hours_over", "flag")

# Canonical ticket fields (id → Chinese label); a rulebook's [columns] maps other headers to them.
CANONICAL_FIELDS = {
    "ticket_id": "工单号",
    "unit": "考核单位",
    "handler": "处理人",
    "kind": "工单类型",
    "priority": "优先级",
    "area": "区域",
    "dispatched_at": "派单时间",
    "accepted_at": "签收时间",
    "replied_at": "回复时间",
    "closed_at": "归档时间",
    "visited_at": "回访时间",
    "notified_at": "通知时间",
    "suspended": "挂起时段",
    "customer": "客户姓名",
    "phone": "联系电话",
    "address": "客户地址",
    "content": "投诉内容",
    "result": "处理结果",
    "satisfaction": "客户满意度",
    "repeat": "二次投诉",
    "party": "人员类别",
    "system_deadline": "系统时限",
    "time_limit": "办理时限",
    "households": "户数",
    "receiver": "受理人",
}
DEFAULT_PARTY = "代维公司"
_FIELD_BY_LABEL = {label: field for field, label in CANONICAL_FIELDS.items()}


# Limits that keep a hostile or mistyped file from crashing the tools or the workbook's formulas.
MAX_EXTENDS = 8           # bases in a row (a extends b extends c ...)
MAX_NESTING = 8           # arrays / inline tables / tables inside one another
MAX_MAGNITUDE = 1e12      # the largest number (absolute value) a rulebook may give
MAX_DIGITS = 30           # digits of a number as written (1e12 has 13; the TOML parser would take thousands)
MAX_NAME = 64             # characters of a name that formulas and sheet columns carry (ids, stages, labels ...)


# -- the rulebook ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Score:
    """How a scheme's monthly total is formed (see the module docstring, ``[score]``)."""

    unit: str = "分"
    full_marks: float = 100.0
    bonus_cap: float | None = None
    min: float | None = None
    max: float | None = None
    pass_mark: float | None = None
    pass_inclusive: bool = True
    repeats_double: bool = False
    party: str = DEFAULT_PARTY
    source: str = ""
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Category:
    id: str
    name: str
    points: float | None
    source: str
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Item:
    """One deduction or bonus item; ``points`` is ``(lo, hi)``, equal ends for a fixed amount."""

    id: str
    name: str
    kind: str  # "deduction" | "bonus"
    points: tuple[float, float]
    unit: str
    per: str
    source: str
    text: str
    category: str | None = None
    item_points: float | None = None
    zero_out_at: int | None = None
    zero_out_inclusive: bool = True
    doubles: bool = False
    cap: float | None = None
    who: str = ""
    measure: str = ""
    assumption: str = ""
    void_if: tuple[str, ...] = ()

    @property
    def ranged(self) -> bool:
        return self.points[0] != self.points[1]

    @property
    def bonus(self) -> bool:
        return self.kind == "bonus"


@dataclasses.dataclass(frozen=True)
class TimeLimit:
    """One row of a stage's time-limit table; empty tuples match anything."""

    stage: str
    limit: float
    unit: str
    source: str
    text: str
    hours: str = ""
    priority: tuple[str, ...] = ()
    area: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    start_field: str = "dispatched_at"
    end_field: str = ""
    ticket_limit: bool = False

    @property
    def specificity(self) -> int:
        return bool(self.priority) + bool(self.area) + bool(self.kind)


@dataclasses.dataclass(frozen=True)
class Band:
    """Points for a ticket whose elapsed hours lie in (``lower``, ``upper``), each end included
    as its flag says; absent ends are 0 (included) and infinity."""

    stage: str
    points: float
    source: str
    text: str
    lower: float = 0.0
    lower_inclusive: bool = True
    upper: float = math.inf
    upper_inclusive: bool = False
    start_field: str = "dispatched_at"
    end_field: str = "accepted_at"

    def contains(self, hours):
        above = hours >= self.lower if self.lower_inclusive else hours > self.lower
        under = hours <= self.upper if self.upper_inclusive else hours < self.upper
        return above & under

    @property
    def range_text(self) -> str:
        """``不足1小时``, ``1小时(含)至3小时(含)``, ``超过24小时`` …"""
        low = "" if self.lower == 0 and self.lower_inclusive else (
            f"{self.lower:g}小时(含)" if self.lower_inclusive else f"超过{self.lower:g}小时")
        if math.isinf(self.upper):
            return low or "任意"
        if not low:
            return f"{self.upper:g}小时(含)以内" if self.upper_inclusive else f"不足{self.upper:g}小时"
        return f"{low}至{self.upper:g}小时({'含' if self.upper_inclusive else '不含'})"


@dataclasses.dataclass(frozen=True)
class GradeBand:
    """``min`` ≤ score < ``below``."""

    label: str
    min: float
    below: float = math.inf


@dataclasses.dataclass(frozen=True)
class Payment:
    assessed_share: float
    scale: float = 100.0
    cap_at_fee: bool = True
    source: str = ""
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Risk:
    measure: str
    op: str
    threshold: float
    months: int
    run: str
    consequence: str
    source: str
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Level:
    name: str
    definition: str
    consequence: str
    source: str
    when: tuple[str, ...] = ()  # conditions, any of which puts a ticket at this level
    default: bool = False       # the level of a ticket that meets no level's conditions


@dataclasses.dataclass(frozen=True)
class Rulebook:
    name: str
    title: str
    source: str
    version: str
    path: str
    period: str = ""
    assumptions: tuple[str, ...] = ()
    score: Score | None = None
    categories: tuple[Category, ...] = ()
    items: tuple[Item, ...] = ()
    time_limits: tuple[TimeLimit, ...] = ()
    bands: tuple[Band, ...] = ()
    grade_bands: tuple[GradeBand, ...] = ()
    payment: Payment | None = None
    risks: tuple[Risk, ...] = ()
    levels: tuple[Level, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    extends: str = ""
    extends_depth: int = dataclasses.field(default=0, compare=False, repr=False)  # bases below this one

    def item(self, key: str) -> Item:
        """The item with this id (or Chinese name); a KaoheError names the unknown key."""
        key = str(key).strip()
        for item in self.items:
            if item.id == key or item.name == key:
                return item
        raise KaoheError(f"考核办法“{self.name}”中没有考核项: {key}", f"rulebook {self.name!r} has no item {key!r}")

    def category(self, key: str) -> Category:
        for category in self.categories:
            if category.id == key:
                return category
        raise KaoheError(f"考核办法“{self.name}”中没有类别: {key}", f"rulebook {self.name!r} has no category {key!r}")

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(limit.stage for limit in self.time_limits))

    @property
    def score_unit(self) -> str:
        """The unit the score counts in (``[score].unit``; 分 for a scheme without a score)."""
        return self.score.unit if self.score is not None else "分"

    @property
    def party(self) -> str:
        """Whom the items without ``who`` assess (``[score].party``, default 代维公司)."""
        return self.score.party if self.score is not None else DEFAULT_PARTY

    def party_of(self, item: Item) -> str:
        return item.who or self.party

    @property
    def parties(self) -> tuple[str, ...]:
        """The parties the items assess, the scheme's own first."""
        return tuple(dict.fromkeys([self.party] + [self.party_of(item) for item in self.items]))

    @property
    def can_score(self) -> bool:
        """Whether a monthly score can be worked out: a score rule and at least one item."""
        return self.score is not None and bool(self.items)


@dataclasses.dataclass(frozen=True)
class RulebookInfo:
    name: str
    title: str
    source: str
    version: str
    path: str


# -- finding files -----------------------------------------------------------------------------
def search_dirs(dirs=()) -> list[Path]:
    """Directories searched for rulebooks: ``dirs``, then ``KAOHE_RULEBOOKS``, then the package's."""
    extra = [Path(d) for d in dirs]
    env = os.environ.get(DIRS_ENV, "")
    extra += [Path(p) for p in env.split(os.pathsep) if p.strip()]
    return extra + [PACKAGE_DIR]


def installed(dirs=()) -> list[RulebookInfo]:
    """Name, title, source and version of every rulebook found (first of a name wins), by name."""
    found: dict[str, RulebookInfo] = {}
    for directory in search_dirs(dirs):
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
            if path.stem in found:
                continue
            book = load(path)
            found[path.stem] = RulebookInfo(book.name, book.title, book.source, book.version, str(path))
    return sorted(found.values(), key=lambda info: info.name)


def find(name: str, dirs=()) -> Path:
    """The file of the rulebook called ``name`` (a path is returned as it is)."""
    text = str(name).strip()
    if not text:
        raise KaoheError("未指定考核办法(规则文件名)", "no rulebook named")
    candidate = Path(text)
    if text.lower().endswith(".toml") or candidate.is_file():
        if not candidate.is_file():
            raise KaoheError(f"规则文件不存在: {text}", f"rulebook file not found: {text}")
        return candidate
    for directory in search_dirs(dirs):
        path = directory / f"{text}.toml"
        if path.is_file():
            return path
    names = "、".join(_names_found(dirs))
    raise KaoheError(f"未安装的考核办法: {text}(可用: {names})", f"no rulebook named {text!r} (installed: {names})")


def _names_found(dirs=()) -> list[str]:
    """The names (file stems) of the rulebooks in the search directories, without reading them: a
    broken file elsewhere must not stand in for the one asked about."""
    stems = {path.stem for directory in search_dirs(dirs) if directory.is_dir() for path in directory.glob("*.toml")}
    return sorted(stems)


def load(name_or_path, dirs=()) -> Rulebook:
    """The rulebook with this name (file stem, searched in :func:`search_dirs`) or at this path."""
    if isinstance(name_or_path, Rulebook):
        return name_or_path
    path = find(name_or_path, dirs)
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def check(path) -> Rulebook:
    """Validate one rulebook file; returns it, or raises a KaoheError naming file, line and key."""
    path = Path(path)
    if not path.is_file():
        raise KaoheError(f"规则文件不存在: {path}", f"rulebook file not found: {path}")
    return _parse(path)


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> Rulebook:
    return _parse(Path(path))


# -- parsing and validation --------------------------------------------------------------------
class _Reader:
    """Reads one file's tables, raising errors that name the file, line and key."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def fail(self, where: tuple, zh: str, en: str):
        line = self.line_of(where)
        key = self.key_text(where)
        at_zh = f"第{line}行 " if line else ""
        at_en = f"line {line}, " if line else ""
        raise KaoheError(f"规则文件 {self.path.name} {at_zh}{key}: {zh}", f"{self.path.name}: {at_en}{key}: {en}")

    @staticmethod
    def key_text(where: tuple) -> str:
        out = ""
        for part in where:
            if isinstance(part, int):
                out += f"[{part + 1}]"
            elif isinstance(part, tuple):  # ("id", value) annotation
                out += f"(id={part[1]})"
            else:
                out += ("." if out else "") + part
        return out or "(文件)"

    def line_of(self, where: tuple) -> int | None:
        """1-based line of the key ``where`` points to, where the layout allows finding it."""
        parts = [p for p in where if not isinstance(p, tuple)]
        if not parts:
            return None
        table, rest = parts[0], parts[1:]
        index = rest.pop(0) if rest and isinstance(rest[0], int) else None
        key = rest[0] if rest and isinstance(rest[0], str) else None
        header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]" if index is not None
                            else r"^\s*\[\s*" + re.escape(table) + r"\s*\]")
        start, seen = None, -1
        for number, line in enumerate(self.lines):
            if header.match(line):
                seen += 1
                if index is None or seen == index:
                    start = number
                    break
        if start is None:
            return None
        if key is None:
            return start + 1
        pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for number in range(start + 1, len(self.lines)):
            if re.match(r"^\s*\[", self.lines[number]):
                break
            if pattern.match(self.lines[number]):
                return number + 1
        return start + 1


def _type_name(value) -> str:
    return {bool: "布尔", int: "整数", float: "数字", str: "文本", list: "数组", dict: "表"}.get(type(value), type(value).__name__)


class _Table:
    """One TOML table being read: typed getters that report the key on error."""

    def __init__(self, reader: _Reader, data, where: tuple, allowed: tuple[str, ...]):
        self.reader, self.where = reader, where
        if not isinstance(data, dict):
            reader.fail(where, f"应为表，实际为{_type_name(data)}", f"must be a table, not {type(data).__name__}")
        self.data = data
        for key in data:
            if key not in allowed:
                reader.fail(where + (key,), f"未知的键(可用: {', '.join(allowed)})",
                            f"unknown key (allowed: {', '.join(allowed)})")

    def fail(self, key, zh, en):
        self.reader.fail(self.where + ((key,) if key else ()), zh, en)

    def raw(self, key, required):
        if key not in self.data:
            if required:
                self.fail(key, "缺少必填的键", "required key is missing")
            return None
        return self.data[key]

    def text(self, key, required=False, default=""):
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(key, f"应为文本，实际为{_type_name(value)}: {_show(value)}", f"must be a string, not {_show(value)}")
        if required and not value.strip():
            self.fail(key, "不能为空", "must not be empty")
        return value.strip()

    def number(self, key, required=False, default=None, minimum=None, integer=False):
        value = self.raw(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            want = "整数" if integer else "数字"
            self.fail(key, f"应为{want}，实际为{_type_name(value)}: {_show(value)}",
                      f"must be {'an integer' if integer else 'a number'}, not {_show(value)}")
        if isinstance(value, float) and math.isnan(value):
            self.fail(key, "不能为 nan", "must not be nan")
        if abs(value) > MAX_MAGNITUDE or math.isinf(value):
            self.fail(key, f"数值超出范围(绝对值最大 {MAX_MAGNITUDE:g}，不能为 inf)",
                      f"out of range (at most {MAX_MAGNITUDE:g} in absolute value, not inf)")
        if minimum is not None and value < minimum:
            self.fail(key, f"不能小于{minimum:g}(实际 {value:g})" if minimum else f"不能为负数(实际 {value:g})",
                      f"must be at least {minimum:g}, got {value:g}")
        return int(value) if integer else float(value)

    def name(self, key, required=False, default=""):
        """A name that formulas and sheet columns carry (an id, a stage, a label): text of at most
        :data:`MAX_NAME` characters, without line breaks or other control characters."""
        value = self.text(key, required, default)
        _check_name(self, key, value)
        return value

    def names(self, key) -> tuple[str, ...]:
        """:meth:`texts` whose every value is a name (:meth:`name`)."""
        values = self.texts(key)
        for value in values:
            _check_name(self, key, value)
        return values

    def flag(self, key, default):
        value = self.raw(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"应为 true 或 false，实际为{_type_name(value)}: {_show(value)}", f"must be true or false, not {_show(value)}")
        return value

    def texts(self, key) -> tuple[str, ...]:
        value = self.raw(key, False)
        if value is None:
            return ()
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            self.fail(key, f"应为文本或文本数组，实际为: {_show(value)}", f"must be a string or an array of strings, not {_show(value)}")
        return tuple(v.strip() for v in values)

    def choice(self, key, options, required=False, default=None):
        value = self.text(key, required, default or "")
        if value not in options:
            if not value and not required:
                return default
            self.fail(key, f"取值无效: {value}(可用: {'/'.join(options)})", f"invalid value {_show(value)} (allowed: {', '.join(options)})")
        return value


def _check_name(t: _Table, key: str, value: str) -> None:
    if len(value) > MAX_NAME:
        t.fail(key, f"名称过长({len(value)} 个字符，最多 {MAX_NAME} 个): {value[:20]}…",
               f"too long ({len(value)} characters, at most {MAX_NAME})")
    bad = next((c for c in value if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"), None)
    if bad is not None:
        t.fail(key, f"名称中不能有换行、制表符等控制字符(U+{ord(bad):04X})", f"must not hold control characters (U+{ord(bad):04X})")


def _show(value, limit: int = 60) -> str:
    """A value's repr for a message, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _tables(reader: _Reader, data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        reader.fail((key,), f"应写成 [[{key}]] 表数组", f"must be an array of tables [[{key}]]")
    return value


def _parse(path: Path) -> Rulebook:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise KaoheError(f"规则文件 {path.name}: 不是 UTF-8 编码", f"{path.name}: not UTF-8 ({err})")
    except OSError as err:
        raise KaoheError(f"规则文件 {path.name}: 无法读取", f"{path.name}: cannot read ({err})")
    reader = _Reader(path, text)
    problem = _scan(text)
    if problem is not None:  # refused before the TOML parser recurses into it or converts it
        line, key, zh, en = problem
        raise KaoheError(f"规则文件 {path.name} 第{line}行 {key}: {zh}", f"{path.name}: line {line}, {key}: {en}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"line (\d+)", str(err))
        line = f" 第{match.group(1)}行" if match else ""
        raise KaoheError(f"规则文件 {path.name}{line}: TOML 语法错误({err})", f"{path.name}: TOML syntax error: {err}")
    except RecursionError:
        raise KaoheError(f"规则文件 {path.name}: 数组或内联表嵌套过深(最多 {MAX_NESTING} 层)",
                         f"{path.name}: arrays or inline tables nested too deep (at most {MAX_NESTING})") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer of more digits than Python converts
        raise KaoheError(f"规则文件 {path.name}: 有无法读取的数值({_show(str(err), 120)})",
                         f"{path.name}: a value cannot be read: {err}") from None
    _check_values(reader, data)
    top = _Table(reader, data, (), ("rulebook", "score", "categories", "items", "time_limits", "bands", "grade_bands",
                                    "payment", "risks", "levels", "columns"))
    head = _Table(reader, top.raw("rulebook", True), ("rulebook",),
                  ("name", "title", "source", "version", "period", "assumptions", "extends"))
    name = head.text("name", True)
    if name != path.stem:
        head.fail("name", f"须与文件名一致: {name} ≠ {path.stem}", f"must equal the file stem: {name!r} != {path.stem!r}")
    base = _base(head, path)

    def section(key, parse, *context):
        """This file's section, or the base's when this file does not give it."""
        if key not in data and base is not None:
            return getattr(base, key)
        raw = data.get(key) if key in ("score", "payment", "columns") else _tables(reader, data, key)
        return parse(reader, raw, *context)

    score = section("score", _score)
    categories = section("categories", _categories)
    items = section("items", _items, categories, score)
    time_limits = section("time_limits", _time_limits)
    levels = section("levels", _levels)
    for index, level in enumerate(levels):
        for condition in level.when:
            if condition.startswith("overdue:") and condition[8:] not in {limit.stage for limit in time_limits}:
                reader.fail(("levels", index, "when"), f"时限表中没有环节“{condition[8:]}”", f"no time-limit stage {condition[8:]!r}")
    for index, item in enumerate(items):
        if item.measure.split(":")[0] in ("overdue", "none_overdue"):
            for stage in item.measure.split(":", 1)[1].split("|"):
                if stage not in {limit.stage for limit in time_limits}:
                    reader.fail(("items", index, ("id", item.id), "measure"), f"时限表中没有环节“{stage}”",
                                f"no time-limit stage {stage!r}")
    return Rulebook(
        name=name,
        title=head.text("title", True),
        source=head.text("source", True),
        version=head.text("version", True),
        path=str(path),
        period=head.text("period"),
        assumptions=head.texts("assumptions"),
        score=score,
        categories=categories,
        items=items,
        time_limits=time_limits,
        bands=section("bands", _bands),
        grade_bands=section("grade_bands", _grade_bands),
        payment=section("payment", _payment),
        risks=section("risks", _risks),
        levels=levels,
        columns=section("columns", _columns),
        extends=base.name if base is not None else "",
        extends_depth=base.extends_depth + 1 if base is not None else 0,
    )


class _ChainError(KaoheError):
    """A cycle or too long a chain of ``extends``, found in a base: passed up the chain as it is
    (each file would otherwise wrap it again) to the file first asked for, which names it."""


def _base(head: _Table, path: Path) -> Rulebook | None:
    """The rulebook named by ``[rulebook].extends`` (looked up next to ``path`` first), or None.

    A name that finds no rulebook is refused naming this file, its ``extends`` and the name; a
    cycle (a → b → a) naming the cycle; a chain of more than :data:`MAX_EXTENDS` bases naming
    the chain (both reported on the file first asked for)."""
    key = head.text("extends")
    if not key:
        return None
    if key == path.stem:
        head.fail("extends", "不能继承自身", "a rulebook cannot extend itself")
    me = str(path.resolve())

    def refuse(zh, en):
        if _EXTENDING:  # a base of the file asked for: that file reports it
            raise _ChainError(zh, en)
        head.fail("extends", zh, en)

    if me in _EXTENDING:
        cycle = " → ".join(Path(p).name for p in _EXTENDING[_EXTENDING.index(me):] + [me])
        refuse(f"继承关系成环: {cycle}", f"rulebooks extend each other in a cycle: {cycle}")
    if len(_EXTENDING) >= MAX_EXTENDS:
        chain = " → ".join(Path(p).name for p in _EXTENDING + [me]) + f" → {key}"
        refuse(f"继承层数过多(最多 {MAX_EXTENDS} 层): {chain}",
               f"too long a chain of extends (at most {MAX_EXTENDS}): {chain}")
    _EXTENDING.append(me)
    base = problem = None
    try:
        relative = path.parent / key
        base = load(relative if relative.suffix == ".toml" and relative.is_file() else key, dirs=(path.parent,))
    except _ChainError as err:
        problem = err
    except KaoheError as err:
        problem = KaoheError(f"无法载入所继承的考核办法“{key}”: {err.zh}", f"cannot load the base rulebook {key!r}: {err.en}")
    except RecursionError:  # a chain deeper than the checks above can see (never expected)
        problem = _ChainError(f"继承层数过多(最多 {MAX_EXTENDS} 层)", f"too long a chain of extends (at most {MAX_EXTENDS})")
    finally:
        _EXTENDING.pop()
    if isinstance(problem, _ChainError):
        refuse(problem.zh, problem.en)
    if problem is not None:
        head.fail("extends", problem.zh, problem.en)
    if base.extends_depth + 1 > MAX_EXTENDS:  # a base read before (cached) with its own chain
        refuse(f"继承层数过多(最多 {MAX_EXTENDS} 层): {key} 自身已继承 {base.extends_depth} 层",
               f"too long a chain of extends (at most {MAX_EXTENDS}): {key} has {base.extends_depth} below it")
    return base


_EXTENDING: list[str] = []  # the files whose base is being loaded, outermost first: cycles and depth


def _scan(text: str) -> tuple[int, str, str, str] | None:
    """``(line, key, Chinese, English)`` of the first place in ``text`` where arrays or inline
    tables nest deeper than :data:`MAX_NESTING` or a number is written with more than
    :data:`MAX_DIGITS` digits, else None. A light scan of the TOML (strings and comments
    skipped; a table header's brackets are not nesting), so that a hostile file is refused
    before the parser recurses into it or converts the number."""
    depth, line, i, n = 0, 1, 0, len(text)
    in_value, key, table = False, "", ""
    statement = ""  # the current statement's text up to "=" (its key)
    rows: dict[str, int] = {}  # [[table]] headers seen so far, per table
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if depth == 0:
                in_value, statement = False, ""
            i += 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            start = i + len(quote)
            j = start
            while j < n and not text.startswith(quote, j):
                if text[j] == "\\" and quote[0] == '"' and j + 1 < n and text[j + 1] != "\n":
                    j += 1  # an escaped character (an escaped line end is counted below)
                elif text[j] == "\n":
                    if len(quote) == 1:
                        break  # an unclosed single-line string: the parser will say so
                    line += 1
                j += 1
            closed = j < n and text.startswith(quote, j)
            end = j + len(quote) if closed else j
            if not in_value:
                statement += text[i:end]
            i = end
            continue
        if not in_value:
            if c == "=":
                in_value, key = True, statement.strip()
            elif c == "[" and not statement.strip():  # a table header: [score], [[items]] (items[3] for the third)
                end = text.find("\n", i)
                header = text[i:end if end >= 0 else n].split("#")[0].strip()
                table = header.strip("[]").strip()
                if header.startswith("[["):
                    rows[table] = rows.get(table, 0) + 1
                    table += f"[{rows[table]}]"
                i = end if end >= 0 else n
                continue
            else:
                statement += c
            i += 1
            continue
        where = f"{table}.{key}" if table else key
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return (line, where, f"数组或内联表嵌套过深(最多 {MAX_NESTING} 层)",
                        f"arrays or inline tables nested too deep (at most {MAX_NESTING})")
        elif c.isdigit():
            j = i
            while j < n and (text[j].isdigit() or text[j] == "_"):
                j += 1
            if j - i > MAX_DIGITS:
                return (line, where, f"数字位数过多({j - i} 位；数值绝对值最大 {MAX_MAGNITUDE:g})",
                        f"a number of {j - i} digits (at most {MAX_MAGNITUDE:g} in absolute value)")
            i = j
            continue
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _check_values(reader: _Reader, data: dict) -> None:
    """Refuse, anywhere in the file, a number that is nan or inf (but for the open upper end of a
    points range, ``[10, inf]`` = 不低于10) or beyond :data:`MAX_MAGNITUDE`, and tables nested deeper
    than :data:`MAX_NESTING` (dotted keys and table headers build those without brackets)."""
    stack = [(data, (), 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_NESTING:
                reader.fail(where, f"嵌套过深(最多 {MAX_NESTING} 层)", f"nested too deep (at most {MAX_NESTING})")
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for k, child in children:
                here = where + (k,)
                if isinstance(child, dict) and isinstance(child.get("id"), str) and isinstance(k, int):
                    here += (("id", child["id"]),)  # items[3](id=B1): the row by its id too
                stack.append((child, here, depth + 1))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, (int, float)):
            open_end = (len(where) >= 4 and where[0] == "items" and where[-2:] == ("points", 1)
                        and value == math.inf)
            if isinstance(value, float) and math.isnan(value):
                reader.fail(where, "不能为 nan(不是数)", "must not be nan")
            if not open_end and (abs(value) > MAX_MAGNITUDE or math.isinf(value)):
                reader.fail(where, f"数值超出范围(绝对值最大 {MAX_MAGNITUDE:g}；inf 只可作分值范围的上限)",
                            f"out of range (at most {MAX_MAGNITUDE:g} in absolute value; inf only as the upper "
                            "end of a points range)")


def _score(reader, data) -> Score | None:
    if data is None:
        return None
    t = _Table(reader, data, ("score",), ("unit", "full_marks", "bonus_cap", "min", "max", "pass_mark",
                                          "pass_inclusive", "repeats_double", "party", "source", "text"))
    score = Score(
        unit=t.choice("unit", POINT_UNITS, default="分"),
        full_marks=t.number("full_marks", True, minimum=0),
        bonus_cap=t.number("bonus_cap", minimum=0),
        min=t.number("min"),
        max=t.number("max"),
        pass_mark=t.number("pass_mark"),
        pass_inclusive=t.flag("pass_inclusive", True),
        repeats_double=t.flag("repeats_double", False),
        party=t.name("party") or DEFAULT_PARTY,
        source=t.text("source", True),
        text=t.text("text"),
    )
    if score.min is not None and score.max is not None and score.min > score.max:
        t.fail("min", f"下限 {score.min:g} 大于上限 {score.max:g}", f"min {score.min:g} exceeds max {score.max:g}")
    return score


def _categories(reader, rows) -> tuple[Category, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("categories", index), ("id", "name", "points", "source", "text"))
        category = Category(t.name("id", True), t.name("name", True), t.number("points", minimum=0),
                            t.text("source", True), t.text("text"))
        if any(c.id == category.id for c in out):
            t.fail("id", f"类别编号重复: {category.id}", f"duplicate category id {category.id!r}")
        out.append(category)
    return tuple(out)


def _points(t: _Table) -> tuple[float, float]:
    value = t.raw("points", True)
    if isinstance(value, list):
        if len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
            t.fail("points", f"范围应写成 [下限, 上限]，实际为: {value!r}", f"a range must be [lo, hi], not {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if math.isnan(lo) or math.isnan(hi):
            t.fail("points", "不能为 nan", "must not be nan")
        if lo < 0 or hi < 0:
            t.fail("points", f"分值不能为负数: {value!r}(扣分写正数，方向由 kind 决定)",
                   f"points must not be negative: {value!r} (kind gives the direction)")
        if lo > hi:
            t.fail("points", f"范围下限大于上限: {value!r}", f"range lower end exceeds upper end: {value!r}")
        return lo, hi
    number = t.number("points", True)
    if number < 0:
        t.fail("points", f"分值不能为负数: {number:g}(扣分写正数，方向由 kind 决定)",
               f"points must not be negative: {number:g} (kind gives the direction)")
    if math.isinf(number):
        t.fail("points", "固定分值不能为无穷", "a fixed amount cannot be infinite")
    return number, number


_MEASURE = re.compile(r"^(overdue|none_overdue):([^:|]+(?:\|[^:|]+)*)$|^avg_hours_over:(\d+(?:\.\d+)?)$|^flag:(\w+)$")


def _items(reader, rows, categories, score) -> tuple[Item, ...]:
    out = []
    ids = {c.id: c for c in categories}
    for index, row in enumerate(rows):
        label = row.get("id") if isinstance(row, dict) and isinstance(row.get("id"), str) else None
        where = ("items", index) + ((("id", label),) if label else ())
        t = _Table(reader, row, where, ("id", "name", "category", "kind", "points", "unit", "per", "item_points",
                                        "zero_out_at", "zero_out_inclusive", "doubles", "cap", "who", "measure",
                                        "source", "text", "assumption", "void_if"))
        item = Item(
            id=t.name("id", True),
            name=t.name("name", True),
            kind=KINDS[t.choice("kind", tuple(KINDS), default="扣分")],
            points=_points(t),
            unit=t.choice("unit", POINT_UNITS, default="分"),
            per=t.choice("per", PER_UNITS, required=True),
            source=t.text("source", True),
            text=t.text("text", True),
            category=t.name("category") or None,
            item_points=t.number("item_points", minimum=0),
            zero_out_at=t.number("zero_out_at", integer=True, minimum=1),
            zero_out_inclusive=t.flag("zero_out_inclusive", True),
            doubles=t.flag("doubles", score.repeats_double if score else False),
            cap=t.number("cap", minimum=0),
            who=t.name("who"),
            measure=t.text("measure"),
            assumption=t.text("assumption"),
            void_if=t.names("void_if"),
        )
        if any(o.id == item.id for o in out):
            t.fail("id", f"考核项编号重复: {item.id}", f"duplicate item id {item.id!r}")
        if item.category is not None and item.category not in ids:
            t.fail("category", f"没有这个类别: {item.category}(先在 [[categories]] 中定义)",
                   f"unknown category {item.category!r} (define it in [[categories]])")
        if item.zero_out_at is not None and item.item_points is None:
            t.fail("zero_out_at", "规定了“N次以上扣除该项目所有分数”却没有 item_points(该项目分值)",
                   "a zero-out threshold needs item_points (the item's allocated points)")
        if item.category is not None and item.item_points is not None:
            points = ids[item.category].points
            if points is not None and item.item_points > points:
                t.fail("item_points", f"项目分值 {item.item_points:g} 超过类别分值 {points:g}",
                       f"item_points {item.item_points:g} exceed the category's {points:g}")
        if item.measure and not _MEASURE.match(item.measure):
            t.fail("measure", f"无法识别的工单度量: {item.measure}(可用: overdue:环节、none_overdue:环节、"
                              "avg_hours_over:小时数、flag:字段)",
                   f"unknown measure {item.measure!r} (use overdue:STAGE, none_overdue:STAGE, avg_hours_over:H, flag:FIELD)")
        match = _MEASURE.match(item.measure)
        if match and match.group(3) and float(match.group(3)) > MAX_MAGNITUDE:
            t.fail("measure", f"小时数超出范围(最大 {MAX_MAGNITUDE:g})", f"hours out of range (at most {MAX_MAGNITUDE:g})")
        if item.measure.startswith("flag:") and item.measure[5:] not in CANONICAL_FIELDS:
            t.fail("measure", f"flag: 后应为标准字段({', '.join(CANONICAL_FIELDS)})", "flag: needs a canonical field")
        if item.void_if and not item.bonus:
            t.fail("void_if", "只有加分项可以规定 void_if", "only a bonus can be voided by findings")
        out.append(item)
    known = {item.id for item in out}
    for index, item in enumerate(out):
        for key in item.void_if:
            if key not in known:
                reader.fail(("items", index, ("id", item.id), "void_if"), f"没有这个考核项: {key}", f"no item {key!r}")
    return tuple(out)


def _time_limits(reader, rows) -> tuple[TimeLimit, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("time_limits", index), ("stage", "limit", "unit", "hours", "priority", "area", "kind",
                                                         "from", "until", "ticket_limit", "source", "text"))
        unit = t.text("unit", not t.raw("ticket_limit", False)) or "天"
        try:
            unit_code(unit)
        except KaoheError as err:
            t.fail("unit", err.zh, err.en)
        hours = t.text("hours")
        try:
            parse_hours(hours)
        except KaoheError as err:
            t.fail("hours", err.zh, err.en)
        fields = []
        for key in ("from", "until"):
            field = t.text(key)
            field = _FIELD_BY_LABEL.get(field, field)
            if field and field not in CANONICAL_FIELDS:
                t.fail(key, f"不是标准字段: {field}(可用: {', '.join(CANONICAL_FIELDS)})", f"not a canonical field: {field!r}")
            fields.append(field)
        ticket_limit = t.flag("ticket_limit", False)
        limit = TimeLimit(stage=t.name("stage", True), limit=t.number("limit", not ticket_limit, minimum=0,
                                                                        default=math.nan), unit=unit,
                          source=t.text("source", True), text=t.text("text", True), hours=hours,
                          priority=t.names("priority"), area=t.names("area"), kind=t.names("kind"),
                          start_field=fields[0] or "dispatched_at", end_field=fields[1], ticket_limit=ticket_limit)
        for other in out:
            if other.stage == limit.stage and all(set(getattr(other, k)) & set(getattr(limit, k)) or
                                                  (not getattr(other, k) and not getattr(limit, k))
                                                  for k in ("priority", "area", "kind")):
                t.fail("stage", f"与前面一行时限重复(同一环节、优先级、区域、类型): {limit.stage}",
                       f"duplicates an earlier row for stage {limit.stage!r}")
        out.append(limit)
    return tuple(out)


def _bands(reader, rows) -> tuple[Band, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("bands", index), ("stage", "points", "from", "until", "over", "at_least", "below",
                                                   "within", "source", "text"))
        for a, b in (("over", "at_least"), ("below", "within")):
            if a in t.data and b in t.data:
                t.fail(b, f"{a} 与 {b} 只能给一个", f"give {a} or {b}, not both")
        fields = []
        for key, default in (("from", "dispatched_at"), ("until", "accepted_at")):
            field = _FIELD_BY_LABEL.get(t.text(key), t.text(key)) or default
            if field not in CANONICAL_FIELDS:
                t.fail(key, f"不是标准字段: {field}", f"not a canonical field: {field!r}")
            fields.append(field)
        lower = t.number("over" if "over" in t.data else "at_least", minimum=0, default=0.0)
        upper = t.number("below" if "below" in t.data else "within", minimum=0, default=math.inf)
        band = Band(stage=t.name("stage", True), points=t.number("points", True), source=t.text("source", True),
                    text=t.text("text", True), lower=lower, lower_inclusive="over" not in t.data, upper=upper,
                    upper_inclusive="within" in t.data, start_field=fields[0], end_field=fields[1])
        if upper < lower or (upper == lower and not (band.lower_inclusive and band.upper_inclusive)):
            t.fail("points", f"区间为空: {band.range_text}", "the band is empty")
        for other in out:
            if other.stage != band.stage:
                continue
            if (other.start_field, other.end_field) != (band.start_field, band.end_field):
                t.fail("from", "同一环节的各档须用同样的 from/until", "the bands of a stage must share from/until")
            probe = [x for x in (band.lower, band.upper, other.lower, other.upper) if not math.isinf(x)]
            probe += [(a + b) / 2 for a in probe for b in probe] + [max(probe, default=0) + 1]
            if any(band.contains(x) and other.contains(x) for x in probe):
                t.fail("points", f"与前面一档重叠: {band.range_text} / {other.range_text}", "bands overlap")
        out.append(band)
    return tuple(out)


def _grade_bands(reader, rows) -> tuple[GradeBand, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("grade_bands", index), ("label", "min", "below"))
        band = GradeBand(t.name("label", True), t.number("min", default=-math.inf), t.number("below", default=math.inf))
        if band.below <= band.min:
            t.fail("below", f"上限 {band.below:g} 不大于下限 {band.min:g}", f"below {band.below:g} must exceed min {band.min:g}")
        for other in out:
            if band.min < other.below and other.min < band.below:
                t.fail("min", f"等级区间重叠: {band.label} [{band.min:g}, {band.below:g}) 与 {other.label} "
                              f"[{other.min:g}, {other.below:g})",
                       f"grade bands overlap: {band.label} and {other.label}")
        out.append(band)
    return tuple(sorted(out, key=lambda b: -b.min))


def _payment(reader, data) -> Payment | None:
    if data is None:
        return None
    t = _Table(reader, data, ("payment",), ("assessed_share", "scale", "cap_at_fee", "source", "text"))
    share = t.number("assessed_share", True, minimum=0)
    if not 0 < share <= 1:
        t.fail("assessed_share", f"应在 0 到 1 之间(如 0.3 表示30%)，实际 {share:g}", f"must be in (0, 1], got {share:g}")
    scale = t.number("scale", default=100.0, minimum=0)
    if scale == 0:
        t.fail("scale", "不能为0", "must not be 0")
    return Payment(share, scale, t.flag("cap_at_fee", True), t.text("source", True), t.text("text"))


def _risks(reader, rows) -> tuple[Risk, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("risks", index), ("measure", "op", "threshold", "months", "run", "consequence",
                                                   "source", "text"))
        risk = Risk(measure=t.choice("measure", RISK_MEASURES, required=True),
                    op=t.choice("op", tuple(RISK_OPS), required=True),
                    threshold=t.number("threshold", True, minimum=0),
                    months=t.number("months", True, integer=True, minimum=1),
                    run=t.choice("run", RISK_RUNS, required=True),
                    consequence=t.text("consequence", True), source=t.text("source", True), text=t.text("text"))
        if risk.run == "in_year" and risk.months > 12:
            t.fail("months", "按年计的规则最多12个月", "an in-year rule counts at most 12 months")
        if risk.measure == "timely_rate" and risk.threshold > 1:
            t.fail("threshold", f"及时率写成小数(0.7 表示70%)，实际 {risk.threshold:g}",
                   f"a rate is a fraction (0.7 = 70%), got {risk.threshold:g}")
        out.append(risk)
    return tuple(out)


def _levels(reader, rows) -> tuple[Level, ...]:
    out = []
    for index, row in enumerate(rows):
        t = _Table(reader, row, ("levels", index), ("name", "definition", "consequence", "source", "when", "default"))
        level = Level(t.name("name", True), t.text("definition", True), t.text("consequence"), t.text("source", True),
                      t.texts("when"), t.flag("default", False))
        for condition in level.when:
            match = _WHEN.match(condition)
            if not match or not (match.group(1) or (match.group(2) or match.group(3)) in CANONICAL_FIELDS):
                t.fail("when", f"无法识别的条件: {condition}(可用: overdue:环节、flag:字段、at_least:字段:数)",
                       f"unknown condition {condition!r} (use overdue:STAGE, flag:FIELD, at_least:FIELD:N)")
            if match.group(3) and float(condition.rsplit(":", 1)[1]) > MAX_MAGNITUDE:
                t.fail("when", f"数值超出范围(最大 {MAX_MAGNITUDE:g}): {condition[:40]}",
                       f"number out of range (at most {MAX_MAGNITUDE:g})")
        if level.default and any(other.default for other in out):
            t.fail("default", "只能有一个默认等级", "only one level can be the default")
        out.append(level)
    return tuple(out)


_WHEN = re.compile(r"^overdue:([^:]+)$|^flag:(\w+)$|^at_least:(\w+):\d+(?:\.\d+)?$")


def _columns(reader, data) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        reader.fail(("columns",), "应为表: \"表头\" = \"标准字段\"", "must be a table of header = field")
    out = []
    for header, field in data.items():
        if not isinstance(field, str):
            reader.fail(("columns", header), f"应为文本(标准字段)，实际为{_type_name(field)}", "must be a string")
        field = _FIELD_BY_LABEL.get(field.strip(), field.strip())
        if field not in CANONICAL_FIELDS:
            reader.fail(("columns", header), f"不是标准字段: {field}(可用: {', '.join(CANONICAL_FIELDS)})",
                        f"not a canonical field: {field!r}")
        out.append((header.strip(), field))
    return tuple(out)
