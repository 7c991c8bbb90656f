"""The month's assessment of each unit: item counts from tickets and findings, scores, history.

:func:`assess_month` is plain pandas/numpy over the engine (:mod:`udfs.scoring`); the
workbook is written by :mod:`generators.monthly_book`. Inputs besides the ledger:

* **Findings** (考核记录, .csv or .xlsx) that the assessor fills, one row per finding:
  ``考核单位, 考核项, 次数, 选定值, 加倍次数, 备注``. 考核项 is an item id or name of the
  rulebook; 选定值 the per-occurrence value of a range item (empty = its minimum, flagged);
  加倍次数 how many of the occurrences are repeats (doubling items only). A row whose
  考核项 is ``代维费`` gives the unit's monthly fee in 元 in 选定值 (for the payment). Items
  the rulebook measures from tickets are not accepted here: their count comes from the
  tickets. Rows of one unit and item add up: counts and repeats are summed and the chosen
  value is the count-weighted mean, so that count × value is the sum of the findings.
* **History** (考核历史.csv): ``月份, 考核办法, 考核单位, 得分, 及时率`` for earlier months;
  the month's results are added (a rerun replaces them). Contract warnings look at the
  twelve months up to the assessed one; in-year rules count from January.

Every findings row is accepted or rejected with file, row, column, value and reason.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from generators.ledger import (
    REJECTED_COLUMNS,
    Ledger,
    assessed_flags,
    elapsed,
    measure_hits,
    overdue_flags,
    stage_fields,
    ticket_parties,
    unit_names,
)
from generators.safe_files import atomic_output, csv_cell, csv_text, exclusive
from generators.tickets import _cell_text, header_key, read_grids
from udfs import scoring
from udfs.errors import KaoheError
from udfs.rulebook import Item, Rulebook
from udfs.timeliness import parse_suspensions
from udfs.wording import field_label, measure_words, month_label, stages_words

FINDING_COLUMNS = ("考核单位", "考核项", "次数", "选定值", "加倍次数", "备注")
FINDING_ALIASES = {
    "考核单位": ("考核单位", "代维单位", "代维公司", "单位", "被考核单位", "班组", "人员"),
    "考核项": ("考核项", "考核项目", "项目", "扣分项", "条款"),
    "次数": ("次数", "数量", "张数", "发生次数"),
    "选定值": ("选定值", "每次分值", "扣分标准", "金额"),
    "加倍次数": ("加倍次数", "重复次数", "重复"),
    "备注": ("备注", "说明", "情况说明", "依据"),
}
FEE_ITEM = "代维费"
HISTORY_COLUMNS = ("月份", "考核办法", "考核单位", "得分", "及时率")
CANNOT_SCORE = "本办法原文未附量化考核表，没有考核项：得分无法计算"


def cannot_score_reason(rulebook: Rulebook) -> str:
    """Why a scheme cannot score (:data:`CANNOT_SCORE`, or no total for items charged to people's
    own performance) and what its table shows instead."""
    head = CANNOT_SCORE if not rulebook.items else "本办法不计总分(考核项计入个人或部门当月绩效)：得分无法计算"
    if rulebook.bands:
        shows = "本办法逐单按历时评分(见台账)，本表列出各单位的平均分"
    elif stage_fields(rulebook):
        shows = "本表只统计工单数与及时率"
    else:
        shows = "本办法没有可由工单计时的时限，本表只列出工单数"
    return f"{head}；{shows}"


# -- findings --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Findings:
    """Accepted findings (``unit, item, count, chosen, repeats, note, source_row``; item = id),
    the units' monthly fees (元) from ``fee_rows`` 代维费 rows, and rejected rows
    (:data:`~generators.ledger.REJECTED_COLUMNS`); ``read`` rows that were not blank."""

    rows: pd.DataFrame
    fees: dict[str, float]
    rejected: pd.DataFrame
    read: int
    fee_rows: int = 0
    source: str = ""  # the file's name, for rejected rows

    @property
    def used(self) -> int:
        return len(self.rows) + self.fee_rows

    @property
    def reconciles(self) -> bool:
        return self.read == self.used + len(self.rejected)


def no_findings() -> Findings:
    rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("unit", "item", "note", "source")})
    for column in ("count", "chosen", "repeats", "source_row"):
        rows[column] = pd.Series(dtype=float)
    return Findings(rows, {}, pd.DataFrame(columns=list(REJECTED_COLUMNS)), 0)


def no_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("月份", "考核办法", "考核单位") else float)
                         for c in HISTORY_COLUMNS})


def _number(text: str) -> float:
    """A number typed in a cell ("" → NaN); text such as nan or inf is not a number (ValueError)."""
    text = text.strip().replace(",", "")
    if not text:
        return math.nan
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_findings(path, rulebook: Rulebook) -> Findings:
    """Read and check a findings file (see the module docstring); bad rows are rejected, never raised.

    Raises :class:`KaoheError` naming the file when no sheet has the 考核单位 and 考核项 columns.
    """
    path = Path(path)
    wanted = {header_key(alias): column for column, aliases in FINDING_ALIASES.items() for alias in aliases}
    found = []
    for sheet, grid, _ in read_grids(path, "考核记录")[1]:  # every sheet with a findings header
        for position in range(min(len(grid), 10)):
            header = [header_key(_cell_text(v)) for v in grid.iloc[position]]
            columns = {}
            for j, key in enumerate(header):
                if key in wanted and wanted[key] not in columns:
                    columns[wanted[key]] = j
            if "考核单位" in columns and "考核项" in columns:
                found.append((sheet, grid, position, columns))
                break
    if not found:
        raise KaoheError(f"考核记录 {path.name}: 找不到表头(应含 {'、'.join(FINDING_COLUMNS)})",
                         f"{path.name}: no header row with {', '.join(FINDING_COLUMNS)}")
    accepted, rejected, fees, read = [], [], {}, 0
    for sheet, grid, position, columns in found:
        source = f"{path.name} 工作表“{sheet}”" if len(found) > 1 else path.name
        read += _check_findings(source, grid, position, columns, rulebook, accepted, rejected, fees)
    rows = pd.DataFrame(accepted) if accepted else no_findings().rows
    return Findings(rows, fees, pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS)), read, len(fees), path.name)


def _check_findings(source: str, grid: pd.DataFrame, position: int, columns: dict, rulebook: Rulebook,
                    accepted: list, rejected: list, fees: dict) -> int:
    """Check one sheet's findings rows below the header at ``position``, adding to ``accepted``,
    ``rejected`` and ``fees``; returns the rows read (not blank). ``source`` names the file (and
    sheet) in rejections."""
    read = 0
    for offset, record in enumerate(grid.iloc[position + 1:].itertuples(index=False)):
        row = position + 2 + offset  # the row number a user sees
        cells = {c: _cell_text(record[j]).strip() if j < len(record) else "" for c, j in columns.items()}
        if not any(cells.values()):
            continue
        read += 1

        def reject(column, reason, value=None, row=row, cells=cells):
            rejected.append({"源文件": source, "源行号": row, "工单号": "", "列": column,
                             "原值": cells.get(column, "") if value is None else value, "原因": reason})

        unit, key = cells.get("考核单位", ""), cells.get("考核项", "")
        if not unit:
            reject("考核单位", "缺少考核单位")
            continue
        numbers = {}
        bad = False
        for column in ("次数", "选定值", "加倍次数"):
            try:
                numbers[column] = _number(cells.get(column, ""))
            except ValueError:
                reject(column, f"不是数字: {cells[column]}")
                bad = True
                break
        if bad:
            continue
        if key == FEE_ITEM:
            fee = numbers["选定值"]
            if math.isnan(fee) or fee < 0:
                reject("选定值", "代维费应为不小于0的金额(元)，写在“选定值”列")
            elif unit in fees:
                reject("考核单位", f"该单位的代维费已在前面给出: {fees[unit]:g}元", unit)
            else:
                fees[unit] = fee
            continue
        try:
            item = rulebook.item(key)
        except KaoheError as err:
            reject("考核项", err.zh)
            continue
        count = 1.0 if math.isnan(numbers["次数"]) else numbers["次数"]
        repeats = None if math.isnan(numbers["加倍次数"]) else numbers["加倍次数"]
        chosen = None if math.isnan(numbers["选定值"]) else numbers["选定值"]
        _, _, messages = scoring.item_with_messages(rulebook, item.id, count, chosen, repeats)
        message = str(messages.reshape(-1)[0])
        if message:
            column = ("选定值" if "选定值" in message or "固定值" in message else
                      "加倍次数" if "加倍" in message else "次数")
            reject(column, message)
            continue
        accepted.append({"unit": unit, "item": item.id, "count": count, "chosen": chosen if chosen is not None else np.nan,
                         "repeats": repeats or 0.0, "note": cells.get("备注", ""), "source_row": row,
                         "source": source})
    return read


# -- history ---------------------------------------------------------------------------------------
def read_history(path) -> pd.DataFrame:
    """Earlier months' results (:data:`HISTORY_COLUMNS`, and any other columns the file has, kept
    as text); an absent file is an empty history. Only a .csv can be a history: it is written back."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise KaoheError(f"考核历史应为 .csv 文件(会写回本月结果): {path.name}",
                         f"the history must be a .csv file (this month is written back to it): {path.name}")
    if not path.is_file():
        return no_history()
    grid = next(read_grids(path, "考核历史")[1])[1]  # a CSV: one sheet
    header = [_cell_text(v).strip() for v in grid.iloc[0]] if len(grid) else []
    missing = [c for c in HISTORY_COLUMNS if c not in header]
    if missing:
        raise KaoheError(f"考核历史 {path.name}: 缺少列 {'、'.join(missing)}", f"{path.name}: missing columns {missing}")
    out = {}
    for column in [c for c in HISTORY_COLUMNS] + [c for c in header if c and c not in HISTORY_COLUMNS]:
        values = [csv_text(_cell_text(v).strip()) for v in grid.iloc[1:, header.index(column)]]
        if column in ("得分", "及时率"):
            parsed = []
            for row, text in enumerate(values, start=2):
                try:
                    number = _number(text)
                except ValueError:
                    raise KaoheError(f"考核历史 {path.name} 第{row}行“{column}”列不是数字: {text}",
                                     f"{path.name}: row {row}, column {column}: not a number: {text!r}") from None
                parsed.append(number)
            out[column] = parsed
        else:
            out[column] = values
    for row, month in enumerate(out["月份"], start=2):
        if not (len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit()
                and 1 <= int(month[5:]) <= 12):
            raise KaoheError(f"考核历史 {path.name} 第{row}行“月份”应为 YYYY-MM: {month}",
                             f"{path.name}: row {row}: month must be YYYY-MM: {month!r}")
    return pd.DataFrame(out)


def with_month(history: pd.DataFrame, assessment: Assessment) -> pd.DataFrame:
    """The history with the assessed month's results in place of any earlier run of that month
    (other columns of the file kept; the new rows leave them empty)."""
    mine = (history["月份"] == assessment.month) & (history["考核办法"] == assessment.rulebook.name)
    fresh = pd.DataFrame({
        "月份": assessment.month, "考核办法": assessment.rulebook.name,
        "考核单位": [u.unit for u in assessment.units],
        "得分": [u.score for u in assessment.units],
        "及时率": [u.timely_rate for u in assessment.units],
    })
    for column in history.columns:
        if column not in fresh.columns:
            fresh[column] = ""
    out = pd.concat([history[~mine], fresh[list(history.columns)]], ignore_index=True) if len(history[~mine]) else fresh
    return out.sort_values(["考核办法", "考核单位", "月份"], kind="stable").reset_index(drop=True)


def _number_text(value: float) -> str:
    """A score or rate as written: exact to 12 significant digits (79.995 stays 79.995), "" for none."""
    return "" if math.isnan(value) else f"{value:.12g}"


def write_history(history: pd.DataFrame, path) -> None:
    """Write the history as UTF-8 CSV with BOM (Excel opens it with Chinese intact), atomically;
    text that would read as a formula is neutralised."""
    out = history.copy()
    for column in out.columns:
        if column in ("得分", "及时率"):
            out[column] = [_number_text(v) for v in out[column].astype(float)]
        else:
            out[column] = [csv_cell(v) for v in out[column].fillna("")]
    with atomic_output(path) as temporary:
        out.to_csv(temporary, index=False, encoding="utf-8-sig", lineterminator="\n")


def update_history(path, assessment: Assessment) -> pd.DataFrame:
    """Add the assessed month to the history file (replacing an earlier run of it): the file is read
    again and written while no other run may update it, so two runs at once keep both months."""
    with exclusive(path):
        history = with_month(read_history(path), assessment)
        write_history(history, path)
    return history


# -- the assessment --------------------------------------------------------------------------------
@dataclasses.dataclass
class Line:
    """One item of one unit's table: the inputs (count, chosen value, repeats), the engine's amount
    (a magnitude in the item's unit; NaN when the inputs are invalid), and where the count came from."""

    item: Item
    count: float
    chosen: float
    repeats: float
    amount: float
    defaulted: bool
    origin: str  # "工单", "记录" or ""
    basis: str


@dataclasses.dataclass
class UnitResult:
    """One assessed unit's month. ``lines`` are the items that apply to the unit's ``party``;
    ``deducted`` and ``bonus`` are as the total counts them (category and bonus caps applied),
    in the score's unit; items in another unit (元 beside 分) never enter the score: their net
    amount per unit is in ``apart`` (deductions positive). ``score`` is NaN where the scheme
    cannot score or none of the party's items is in the score's unit. ``timely_rate`` is a
    fraction of the tickets assessed at some stage (NaN when none was timed); ``trend`` the
    months shown, ``(YYYY-MM, score, rate)``, ending with the assessed month."""

    unit: str
    lines: list[Line]
    tickets: int
    overdue: int
    timely_rate: float
    deducted: float
    bonus: float
    score: float
    grade: str | None
    passed: bool | None
    fee: float
    paid: float
    warnings: list[str]
    trend: list[tuple[str, float, float]]
    party: str = ""
    assessed: int = 0
    apart: dict[str, float] = dataclasses.field(default_factory=dict)
    band_means: dict[str, float] = dataclasses.field(default_factory=dict)  # 平均响应得分 …

    @property
    def scored(self) -> bool:
        return not math.isnan(self.score)


@dataclasses.dataclass
class Assessment:
    month: str
    rulebook: Rulebook
    units: list[UnitResult]
    overdue_by_area: pd.DataFrame   # rows area, columns priority: overdue tickets
    complaint_types: pd.Series      # tickets per complaint type
    rejected: pd.DataFrame          # tickets and findings rows not used, with reasons
    counts: dict[str, int]          # read/accepted/rejected of tickets and findings
    timed: bool = True              # some stage was timed (else no 及时率 is shown)
    caveat: str = ""                # the calendar's late-December caveat, when the month touches it

    @property
    def scored(self) -> bool:
        """Whether the scheme gives scores (else the table shows timeliness only, and says why)."""
        return self.rulebook.can_score


def _handling_hours(rows: pd.DataFrame) -> np.ndarray:
    """Hours from dispatch to the reply (or closing when there is no reply time), suspensions
    deducted; NaN for tickets not finished, or whose end lies before the dispatch (bad data, noted
    in the ledger)."""
    end_field = next((f for f in ("replied_at", "closed_at") if f in rows.columns and rows[f].notna().any()), None)
    if end_field is None or "dispatched_at" not in rows.columns:
        return np.full(len(rows), np.nan)
    texts = rows["suspended"].fillna("").to_numpy(object) if "suspended" in rows.columns else np.full(len(rows), "")
    suspensions, _ = parse_suspensions(texts)
    hours = elapsed(rows["dispatched_at"].to_numpy("datetime64[s]"), rows[end_field].to_numpy("datetime64[s]"),
                    suspensions)
    return hours


def _measure_values(item: Item, rows: pd.DataFrame, hours: np.ndarray) -> tuple[np.ndarray, str]:
    """Per-ticket values for ``scoring.measured`` and, in words, what was measured."""
    kind, _, argument = item.measure.partition(":")
    if kind in ("overdue", "none_overdue"):
        return overdue_flags(rows, argument.split("|")), stages_words(argument)
    if kind == "avg_hours_over":
        return hours, argument
    return measure_hits(item.measure, rows), field_label(argument)


def _basis(item: Item, values: np.ndarray, label: str, count: int) -> str:
    """The count of a ticket-measured item in a sentence (84张工单签收或回复超时)."""
    kind = item.measure.partition(":")[0]
    if kind == "avg_hours_over":
        finished = values[~np.isnan(values)]
        if not len(finished):
            return "本月没有已完成的工单，无从计算平均处理时长"
        verdict = "超过" if count else "未超过"
        return f"{len(finished)}张已完成工单平均处理时长{finished.mean():.2f}小时，{verdict}{label}小时"
    if kind == "none_overdue":
        late = int(np.sum(values))
        return f"本月{label}环节没有超时工单" if count else f"本月{late}张工单{label}超时，不奖励"
    if kind == "overdue":
        return f"{count}张工单{label}超时"
    return f"{count}张工单标记为“{label}”"


def assess_month(ledger: Ledger, rulebook: Rulebook, month: str, *, findings: Findings | None = None,
                 history: pd.DataFrame | None = None, unit_field: str = "unit",
                 timeliness_only: bool = False) -> Assessment:
    """Score every unit of the month: ticket-measured items from the ledger, the rest from findings.

    Units are those of the tickets and of the findings, ordered by ticket count (most first),
    then name. A unit's party is its tickets' 人员类别 (the scheme's own party when empty) or,
    without tickets, the party of the items its findings name; only the items aimed at that
    party apply to it. Amounts, totals, grades, pass, payment and contract warnings all come
    from :mod:`udfs.scoring`; the history gives the earlier months of the warnings.

    A scheme that cannot score (no score rule, or no items: the source carries no scoring
    sheet) raises :data:`CANNOT_SCORE` unless ``timeliness_only`` asks for the tickets'
    timeliness alone.
    """
    if not rulebook.can_score and not timeliness_only:
        raise KaoheError(f"考核办法“{rulebook.title}”({rulebook.name}): {cannot_score_reason(rulebook)}。"
                         "只需统计工单时加 --timeliness-only",
                         f"rulebook {rulebook.name!r} cannot score (no {'score' if rulebook.score is None else 'items'}); "
                         "use --timeliness-only for a timeliness table")
    findings = findings or no_findings()
    history = history if history is not None else no_history()
    rows = ledger.rows
    units_of_rows = unit_names(rows, unit_field)
    counts = units_of_rows.value_counts()
    names = sorted(set(counts.index) | set(findings.rows["unit"]) | set(findings.fees),
                   key=lambda name: (-int(counts.get(name, 0)), name))
    parties = _unit_parties(rulebook, names, units_of_rows, ticket_parties(rows, rulebook), findings)
    items = rulebook.items if rulebook.can_score else ()
    hours = _handling_hours(rows) if any(i.measure.startswith("avg_hours_over") for i in items) else None
    overdue_all = overdue_flags(rows, ledger.stages)
    assessed_all = assessed_flags(rows, ledger.stages)
    from_tickets = {item.id for item in items if item.measure and _measurable(item, ledger)}
    finding_rows, misplaced = _unusable_findings(rulebook, findings, parties, from_tickets)

    # One engine call for every line of every unit; each measure worked out once for all tickets
    # (never a copy of a unit's rows).
    measured = {item.id: _measure_values(item, rows, hours) for item in items if item.id in from_tickets}
    assessed_at: dict[str, np.ndarray] = {}
    plan = []
    for name in names:
        mine = (units_of_rows == name).to_numpy(bool)
        found = finding_rows[finding_rows["unit"] == name]
        for item in items:
            if rulebook.party_of(item) != parties[name]:
                continue
            these = found[found["item"] == item.id]
            if item.id in from_tickets:  # every ticket of the unit is of its party (ticket_parties)
                values, label = measured[item.id]
                values = values[mine]
                count = scoring.measured(rulebook, item.id, values) if mine.any() else 0
                basis = _basis(item, values, label, count)
                kind, _, stages = item.measure.partition(":")
                if kind == "none_overdue" and count and stages not in assessed_at:
                    assessed_at[stages] = assessed_flags(rows, stages.split("|"))
                if kind == "none_overdue" and count and not assessed_at[stages][mine].any():
                    count, basis = 0, f"本月没有在{stages_words(stages)}环节计时的工单，无从确认无超时，不奖励"
                entry = [name, item, float(count), np.nan, 0.0, "工单", basis]
            elif len(these):
                total = float(these["count"].sum())
                effective = these["chosen"].fillna(item.points[0]) * these["count"]
                chosen = (float(effective.sum() / total) if total and these["chosen"].notna().any() else np.nan)
                notes = "；".join(f"考核记录第{int(r)}行：{n}" if n else f"考核记录第{int(r)}行"
                                 for n, r in zip(these["note"], these["source_row"]))
                entry = [name, item, total, chosen, float(these["repeats"].sum()), "记录", notes]
            else:
                entry = [name, item, 0.0, np.nan, 0.0, "", "导出中没有计算此项所需的列，可在考核记录中填写"
                         if item.measure else ""]
            plan.append(entry)
    # A bonus voided by other items (void_if): any of them counted for the unit, from the findings
    # or the tickets, takes the bonus away.
    counted = {(entry[0], entry[1].id): entry[2] for entry in plan}
    for entry in plan:
        voiding = [key for key in entry[1].void_if if counted.get((entry[0], key), 0) > 0]
        if entry[2] and voiding:
            entry[2] = 0.0
            entry[6] += "；但本月有" + "、".join(f"“{rulebook.item(key).name}”" for key in voiding) + "，不奖励"
    if plan:
        amounts, defaulted, _ = scoring.item_with_messages(
            rulebook, [p[1].id for p in plan], [p[2] for p in plan], [p[3] for p in plan],
            [p[4] if p[1].doubles else None for p in plan])
    lines: dict[str, list[Line]] = {name: [] for name in names}
    for position, (name, item, count, chosen, repeats, origin, basis) in enumerate(plan):
        lines[name].append(Line(item, count, chosen, repeats, float(amounts[position]), bool(defaulted[position]),
                                origin, basis))
    results = []
    for name in names:
        mine = (units_of_rows == name).to_numpy(bool)
        result = _unit_result(name, lines[name], rulebook, month, int(mine.sum()), int(overdue_all[mine].sum()),
                              int(assessed_all[mine].sum()), bool(ledger.stages),
                              findings.fees.get(name, np.nan), history, parties[name])
        for stage in dict.fromkeys(band.stage for band in rulebook.bands):
            points = rows[f"{stage}得分"].to_numpy(float)[mine] if f"{stage}得分" in rows.columns else np.array([])
            points = points[~np.isnan(points)]
            result.band_means[stage] = float(points.mean()) if len(points) else np.nan
        results.append(result)

    areas = rows["area"].fillna("未填") if "area" in rows.columns else pd.Series("未填", index=rows.index)
    priorities = rows["priority"].fillna("未填") if "priority" in rows.columns else pd.Series("未填", index=rows.index)
    overdue_by_area = pd.crosstab(areas[overdue_all], priorities[overdue_all]) if overdue_all.any() else pd.DataFrame()
    kinds = rows["kind"].fillna("未填") if "kind" in rows.columns else pd.Series(dtype=object)
    complaint_types = kinds.value_counts().sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    rejected = pd.concat([ledger.rejected, findings.rejected, misplaced], ignore_index=True)
    return Assessment(month, rulebook, results, overdue_by_area, complaint_types, rejected, {
        "工单读入": ledger.read, "工单入账": len(rows), "工单拒收": len(ledger.rejected),
        "记录读入": findings.read, "记录采用": findings.used - len(misplaced),
        "记录拒收": len(findings.rejected) + len(misplaced),
    }, timed=bool(ledger.stages), caveat=ledger.caveat)


def _measurable(item: Item, ledger: Ledger) -> bool:
    """Whether the tickets give an item's measure: its stage was timed, its flag column or the
    handling times are in the export. Otherwise the assessor enters the count in the findings."""
    kind, _, argument = item.measure.partition(":")
    if kind in ("overdue", "none_overdue"):
        return any(stage in ledger.stages for stage in argument.split("|"))
    if kind == "flag":
        return argument in ledger.rows.columns
    rows = ledger.rows
    return "dispatched_at" in rows.columns and any(f in rows.columns and rows[f].notna().any()
                                                   for f in ("replied_at", "closed_at"))


def _unusable_findings(rulebook: Rulebook, findings: Findings, parties: dict[str, str],
                       from_tickets: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(usable rows, rejected rows)`` of the findings: rows of a scheme that cannot score, naming
    an item the tickets already count, or an item aimed at another party than the unit's, are
    rejected with their reason."""
    rows = findings.rows
    reasons = []
    for unit, key in zip(rows["unit"], rows["item"]):
        item = rulebook.item(key)
        party = parties.get(unit, rulebook.party)
        if not rulebook.can_score:
            reasons.append("本办法不计分(原文未附量化考核表或不计总分)，考核记录不计入本表")
        elif key in from_tickets:
            reasons.append(f"“{item.name}”由工单计算({measure_words(item.measure)})，不在考核记录中填写")
        elif rulebook.party_of(item) != party:
            reasons.append(f"“{item.name}”只考核{rulebook.party_of(item)}，“{unit}”是{party}")
        else:
            reasons.append("")
    reasons = np.array(reasons, dtype=object)
    wrong = reasons != ""
    out = pd.DataFrame({
        "源文件": rows["source"][wrong] if "source" in rows.columns else findings.source,
        "源行号": rows["source_row"][wrong].astype(int), "工单号": "", "列": "考核项",
        "原值": rows["item"][wrong], "原因": reasons[wrong],
    }, columns=list(REJECTED_COLUMNS))
    return rows[~wrong].reset_index(drop=True), out


def _unit_parties(rulebook: Rulebook, names, units_of_rows: pd.Series, ticket_party: np.ndarray,
                  findings: Findings) -> dict[str, str]:
    """Each unit's party: its tickets' (:func:`ticket_parties` gives each ticket its unit's), else
    the party of the first item its findings name, else the scheme's own."""
    out = {}
    for name in names:
        mine = np.flatnonzero((units_of_rows == name).to_numpy(bool))
        if len(mine):
            out[name] = ticket_party[mine[0]]
            continue
        named = findings.rows["item"][findings.rows["unit"] == name]
        out[name] = rulebook.party_of(rulebook.item(named.iloc[0])) if len(named) else rulebook.party
    return out


def _unit_result(name, lines, rulebook: Rulebook, month: str, tickets: int, overdue: int, assessed: int,
                 timed: bool, fee: float, history: pd.DataFrame, party: str) -> UnitResult:
    score_unit = rulebook.score_unit
    counted = [line for line in lines if line.item.unit == score_unit]
    deductions = [line.amount for line in counted if not line.item.bonus]
    categories = [line.item.category for line in counted if not line.item.bonus]
    bonuses = [line.amount for line in counted if line.item.bonus]
    by_category = categories if rulebook.categories else None
    apart = {}
    for line in lines:
        if line.item.unit != score_unit and not math.isnan(line.amount):
            apart[line.item.unit] = apart.get(line.item.unit, 0.0) + (-1 if line.item.bonus else 1) * line.amount
    if counted:
        score = scoring.total(rulebook, deductions, bonuses, by_category)
        deducted = scoring.lost(rulebook, deductions, by_category)
        bonus = float(np.nansum(bonuses))
        if rulebook.score.bonus_cap is not None:
            bonus = min(bonus, rulebook.score.bonus_cap)
    else:
        score = deducted = bonus = np.nan
    rate = (assessed - overdue) / assessed if timed and assessed else np.nan
    scored = not math.isnan(score)
    grade = scoring.grade(rulebook, score).item() if rulebook.grade_bands and scored else None
    passed = bool(scoring.passed(rulebook, score)) if scored and rulebook.score.pass_mark is not None else None
    paid = (float(scoring.payment(rulebook, fee, score)) if scored and rulebook.payment is not None
            and not math.isnan(fee) else np.nan)

    months = [str(np.datetime64(month, "M") - k) for k in range(11, -1, -1)]
    earlier = history[(history["考核办法"] == rulebook.name) & (history["考核单位"] == name)]
    earlier = earlier.drop_duplicates("月份", keep="last").set_index("月份")
    scores = [float(earlier["得分"].get(m, np.nan)) for m in months[:-1]] + [score]
    rates = [float(earlier["及时率"].get(m, np.nan)) for m in months[:-1]] + [rate]
    warnings = []
    if rulebook.risks:
        labels = [month_label(m) for m in months]
        warnings = scoring.risk_list(rulebook, scores, rates, labels=labels, year_from=12 - int(month[5:]),
                                     current=True)
    trend = [(m, s, r) for m, s, r in zip(months, scores, rates) if not math.isnan(s) or m == month]
    return UnitResult(name, lines, tickets, overdue, rate, deducted, bonus, score, grade, passed,
                      fee, paid, warnings, trend, party=party, assessed=assessed, apart=apart)
