"""Worked months: for each rulebook, a small export worked out by hand from the source text
(``tests/worked/<case>/expected.toml``, the working in its comments) run through the front door:
``kaohe ledger`` and ``kaohe monthly`` on the command line, and the assessment workbook built from
the same export and findings, then compared with the hand-worked verdicts, deadlines, per-ticket
amounts, unit scores, timeliness, payments and warnings.

A case folder holds ``tickets.csv`` (or ``.xlsx``), optionally ``findings.csv`` and
``history.csv``, and ``expected.toml``::

    rulebook = "jiangmen"           month = "2025-10"   (or a .toml path relative to the repository)
    timeliness_only = false         # monthly with --timeliness-only (a rulebook that cannot score)
    monthly_exit = 0                # the exit code kaohe monthly should give
    [counts] read/accepted/rejected # the ledger's reconciliation; findings_rejected: findings rows not used
    [[tickets]] id, verdicts = {stage = 是/否/超时未完成/未完成/不考核}, deadlines = {stage = "YYYY-MM-DD HH:MM"},
                amount (分, the score's unit) / amounts = {元 = …, 分 = …}, basis (a substring of 扣分依据),
                points = {stage = band points}, level (投诉等级)
    [[units]] name, score (absent = no score), timely_rate (absent = not timed), paid, apart = {元 = …},
              warnings = [substrings], no_warnings = true, band_means = {stage = mean points}
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tomllib
from pathlib import Path

import openpyxl
import pytest

from generators.cli import main
from generators.ledger import AMOUNT_COLUMNS, ledger_from_export, per_ticket
from generators.monthly import assess_month, read_findings, read_history
from udfs import rulebook as rulebooks
from workbook.builder import SUMMARY_TOP, build_workbook, inputs_from_assessment, tickets_from_export

CASES = sorted(p.parent for p in (Path(__file__).parent / "worked").glob("*/expected.toml"))


def _table(sheet, header_row: int = 1) -> list[dict]:
    """The rows under ``header_row`` up to the first blank row, as dicts by header."""
    rows = list(sheet.iter_rows(values_only=True))
    header, out = rows[header_row - 1], []
    for row in rows[header_row:]:
        if all(v is None for v in row):
            break
        out.append(dict(zip(header, row)))
    return out


def _moment(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


def _inputs(case: Path, tmp_path: Path) -> tuple[dict, Path, Path | None, Path | None]:
    expected = tomllib.loads((case / "expected.toml").read_text(encoding="utf-8"))
    if expected["rulebook"].endswith(".toml"):  # a contract file, relative to the repository
        expected["rulebook"] = str(Path(__file__).parents[1] / expected["rulebook"])
    tickets = next(p for p in sorted(case.glob("tickets.*")))
    findings = case / "findings.csv" if (case / "findings.csv").is_file() else None
    history = None
    if (case / "history.csv").is_file():  # the history is appended to: work on a copy
        history = tmp_path / "history.csv"
        shutil.copyfile(case / "history.csv", history)
    return expected, tickets, findings, history


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_worked_month_through_the_command_line(case, tmp_path, capsys):
    expected, tickets, findings, history = _inputs(case, tmp_path)
    book, month = expected["rulebook"], expected["month"]

    ledger_path = tmp_path / "台账.xlsx"
    assert main(["ledger", str(tickets), "--rulebook", book, "--month", month, "--out", str(ledger_path)]) == 0
    workbook = openpyxl.load_workbook(ledger_path)
    notes = {row[0]: row[1] for row in workbook["说明"].iter_rows(values_only=True)}
    counts = expected.get("counts", {})
    for key, label in (("read", "读入行数"), ("accepted", "入账行数"), ("rejected", "拒收行数")):
        if key in counts:
            assert notes[label] == counts[key], label
    rows = {str(r["工单号"]): r for r in _table(workbook["台账"])}
    score_unit = rulebooks.load(book).score.unit if rulebooks.load(book).score else "分"
    for ticket in expected.get("tickets", []):
        row = rows[ticket["id"]]
        for stage, verdict in ticket.get("verdicts", {}).items():
            assert row[f"{stage}及时"] == verdict, (ticket["id"], stage)
        for stage, when in ticket.get("deadlines", {}).items():
            assert row[f"{stage}截止"] == _moment(when), (ticket["id"], stage)
        amounts = dict(ticket.get("amounts", {}))
        if "amount" in ticket:
            amounts[score_unit] = ticket["amount"]
        for unit, amount in amounts.items():
            assert (row.get(AMOUNT_COLUMNS[unit]) or 0) == pytest.approx(amount), (ticket["id"], unit)
        if "basis" in ticket:
            assert ticket["basis"] in (row["扣分依据"] or ""), ticket["id"]
        for stage, points in ticket.get("points", {}).items():
            assert row[f"{stage}得分"] == points, (ticket["id"], stage)
        if "level" in ticket:
            assert row["投诉等级"] == ticket["level"], ticket["id"]

    monthly_path = tmp_path / "月度考核表.xlsx"
    argv = ["monthly", str(tickets), "--rulebook", book, "--month", month, "--out", str(monthly_path)]
    argv += ["--findings", str(findings)] if findings else []
    argv += ["--history", str(history)] if history else []
    argv += ["--timeliness-only"] if expected.get("timeliness_only") else []
    assert main(argv) == expected.get("monthly_exit", 0)
    if expected.get("monthly_exit", 0):
        assert expected.get("monthly_message", "") in capsys.readouterr().err
        return
    table = openpyxl.load_workbook(monthly_path, data_only=True)
    if "findings_rejected" in counts:
        notes = {row[0]: row[1] for row in table["说明"].iter_rows(values_only=True)}
        assert notes["记录拒收"] == counts["findings_rejected"]
    summary = {r["考核单位"]: r for r in _table(table["汇总"], 3)}
    for unit in expected.get("units", []):
        row = summary[unit["name"]]
        score = row.get("得分", row.get("得分(元)"))  # a money scheme heads the column 得分(元)
        if "score" in unit:
            assert score == pytest.approx(unit["score"]), unit["name"]
        else:
            assert score in ("—", "", None), unit["name"]
        if "timely_rate" in unit:
            assert row["及时率"] == pytest.approx(unit["timely_rate"]), unit["name"]
        else:
            assert row["及时率"] in ("—", "", None), unit["name"]
        if "paid" in unit:
            assert row["应付金额(元)"] == pytest.approx(unit["paid"]), unit["name"]
        for point_unit, amount in unit.get("apart", {}).items():
            label = f"另计{'扣款' if point_unit == '元' else '扣分'}合计({point_unit})"
            assert row[label] == pytest.approx(amount), unit["name"]
        for stage, mean in unit.get("band_means", {}).items():
            assert row[f"平均{stage}得分"] == pytest.approx(mean, abs=1e-4), unit["name"]
        for warning in unit.get("warnings", []):
            assert warning in row["合同预警(按生成时数据)"], unit["name"]
        if unit.get("no_warnings"):
            assert row["合同预警(按生成时数据)"] == "无", unit["name"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ledger_amounts_sum_to_the_tables_items(case, tmp_path):
    """Per unit, the ledger's per-ticket amounts add up to the table's amounts of the items the
    tickets count toward (zero-outs and item caps included; a capped category at most its points):
    the ledger never contradicts the table."""
    expected, tickets, findings, _ = _inputs(case, tmp_path)
    book = rulebooks.load(expected["rulebook"])
    if not book.can_score:
        pytest.skip("the rulebook has no items")
    ledger, _ = ledger_from_export(tickets, book, expected["month"])
    assessment = assess_month(ledger, book, expected["month"], findings=read_findings(findings, book) if findings else None)
    units = ledger.rows["unit"].fillna("").astype(str).str.strip() if "unit" in ledger.rows.columns else None
    for result in assessment.units:
        mine = (units == result.unit) if units is not None else slice(None)
        for point_unit, column in AMOUNT_COLUMNS.items():
            if column not in ledger.rows.columns:
                continue
            ledger_total = float(ledger.rows.loc[mine, column].sum())
            # the table's amounts of the items the tickets count, each capped category at most its points
            by_category: dict = {}
            for line in result.lines:
                if per_ticket(line.item) and line.item.unit == point_unit and not math.isnan(line.amount):
                    key = line.item.category if not line.item.bonus else None
                    by_category[key] = by_category.get(key, 0.0) + (-1 if line.item.bonus else 1) * line.amount
            caps = {c.id: c.points for c in book.categories if c.points is not None}
            table_total = sum(min(total, caps[key]) if key in caps and point_unit == book.score.unit else total
                              for key, total in by_category.items())
            assert ledger_total == pytest.approx(table_total), (result.unit, point_unit)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_worked_month_through_the_workbook(case, tmp_path):
    """The assessment workbook built from the case's export, findings and history caches the same
    verdicts, per-ticket amounts, scores, timeliness, payments and warnings (its formulas are
    checked against their caches in tests/test_workbook.py)."""
    expected, tickets, findings, history = _inputs(case, tmp_path)
    book, month = rulebooks.load(expected["rulebook"]), expected["month"]
    ledger, _ = ledger_from_export(tickets, book, month)
    past = read_history(history) if history else None
    assessment = assess_month(ledger, book, month, findings=read_findings(findings, book) if findings else None,
                              history=past, timeliness_only=not book.can_score)
    path = build_workbook(book, tmp_path / "考核工作簿.xlsm", month=month, tickets=tickets_from_export(tickets, book),
                          units=inputs_from_assessment(assessment, past), rows=ledger.read + 3)
    workbook = openpyxl.load_workbook(path, data_only=True)
    rows = {str(r["工单号"]): r for r in _table(workbook["台账"]) if r["入账"] == 1}
    assert len(rows) == len(ledger.rows)
    score_unit = book.score.unit if book.score else "分"
    for ticket in expected.get("tickets", []):
        row = rows[ticket["id"]]
        for stage, verdict in ticket.get("verdicts", {}).items():
            assert row[f"{stage}及时"] == verdict, (ticket["id"], stage)
        amounts = dict(ticket.get("amounts", {}))
        if "amount" in ticket:
            amounts[score_unit] = ticket["amount"]
        for unit, amount in amounts.items():
            assert (row.get(AMOUNT_COLUMNS[unit]) or 0) == pytest.approx(amount), (ticket["id"], unit)
    summary = {r["考核单位"]: r for r in _table(workbook["汇总"], SUMMARY_TOP + 1) if r["考核单位"]}
    for unit in expected.get("units", []):
        row = summary[unit["name"]]
        score = next((v for k, v in row.items() if str(k).startswith("得分")), None)
        if "score" in unit and expected.get("monthly_exit", 0) == 0:
            assert score == pytest.approx(unit["score"]), unit["name"]
        elif "score" not in unit:
            assert score in ("", None), unit["name"]
        if "timely_rate" in unit:
            assert row["及时率"] == pytest.approx(unit["timely_rate"]), unit["name"]
        if "paid" in unit:
            assert row["应付金额(元)"] == pytest.approx(unit["paid"]), unit["name"]
        for point_unit, amount in unit.get("apart", {}).items():
            label = f"另计{'扣款' if point_unit == '元' else '扣分'}合计({point_unit})"
            assert row[label] == pytest.approx(amount), unit["name"]
        for warning in unit.get("warnings", []):
            assert warning in (row["合同预警"] or ""), unit["name"]
