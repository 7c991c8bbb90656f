"""Benchmark: writing the ledger (台账) and the monthly table (月度考核表) for 100,000 and 1,000,000 tickets.

For each size, two fresh subprocesses (so that each peak RSS is its own):

* **ours**: synthetic tickets (``generators.demo.synthesize_month``; timed apart, not
  counted) → ``compute_ledger`` (demo contract ``jiangmen_demo.toml``, judged at the first
  instant of the next month) → ``write_ledger`` (no 附件3) → ``assess_month`` →
  ``write_monthly``. Wall time of each stage, resident memory after it and the peak during
  it, and the process's peak over the whole run (interpreter, imports and the synthetic
  tickets included).
* **plain**: the same cells as the 台账 sheet (same rows, columns, value types and blanks:
  text with ``write_string``, datetimes with ``write_datetime`` and the same default date
  format, numbers with ``write_number``), written by a direct loop over Python lists
  prepared beforehand, with ``xlsxwriter.Workbook(path, {"constant_memory": True})``.
  Timed: the cell loop and ``close()`` (which assembles the file); not timed: preparing
  the lists.

Checks in the same run: rows read = ledger rows + rejected rows; the written 台账 sheet's
``<dimension>`` spans the header plus one row per ledger row and one column per ledger
column, the same as the plain file's; the monthly table counts every ledger row; and up to
200,000 tickets the 台账 sheet read back with python-calamine matches the ledger (ids,
deadlines, deductions). Run:

    python bench/bench_generators.py [--sizes 100000 1000000]

Targets (issue acceptance): (ledger + monthly table) / plain xlsxwriter ≤ 1.5×, and peak
memory ≤ 1 GiB at 1,000,000 tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET = 1.5  # (ledger + monthly table) wall time / plain xlsxwriter wall time
MEMORY_TARGET = 1024  # MiB, peak RSS at 1,000,000 tickets
MEMORY_TARGET_SIZE = 1_000_000
READ_BACK_LIMIT = 200_000  # tickets up to which the 台账 sheet is read back cell by cell
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"  # generators.workbooks.OPTIONS["default_date_format"]


# -- memory ----------------------------------------------------------------------------------------
class Memory:
    """Resident memory (MiB) now and its peak since the last :meth:`mark`.

    On Linux the kernel's high-water mark (VmHWM) is reset at each mark (``clear_refs``),
    so that each stage's own peak is seen; the process's peak is the largest of them.
    Elsewhere only the process's peak (``ru_maxrss``) is known.
    """

    def __init__(self):
        self.resettable = self._reset()
        self.peak = 0.0

    @staticmethod
    def _reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    @staticmethod
    def _status() -> dict[str, float]:
        try:
            lines = Path("/proc/self/status").read_text().splitlines()
        except OSError:
            return {}
        return {k: int(v.split()[0]) / 1024 for k, _, v in (line.partition(":") for line in lines)
                if k in ("VmRSS", "VmHWM")}

    def mark(self) -> tuple[float, float]:
        """(resident MiB now, peak MiB since the previous mark) — and start a new interval."""
        status = self._status()
        if self.resettable and status:
            now, peak = status["VmRSS"], status["VmHWM"]
            self._reset()
        else:  # ru_maxrss: KiB on Linux, bytes on macOS
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
            now = status.get("VmRSS", float("nan"))
        self.peak = max(self.peak, peak)
        return now, peak


def _dimension(path: Path) -> str:
    """The ``<dimension ref="A1:V100001"/>`` of the first sheet (written at its top by xlsxwriter)."""
    with zipfile.ZipFile(path) as archive, archive.open("xl/worksheets/sheet1.xml") as sheet:
        head = sheet.read(4096).decode("utf-8", "replace")
    found = re.search(r'<dimension ref="([A-Z0-9:]+)"', head)
    return found.group(1) if found else ""


def _expected_dimension(rows: int, columns: int) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell

    return f"A1:{xl_rowcol_to_cell(rows, columns - 1)}"


# -- children --------------------------------------------------------------------------------------
def _setup(tickets: int, month: str):
    """Rulebook, calendar (built here, outside the timings), as-of instant and synthetic tickets."""
    import numpy as np

    from generators import demo
    from udfs import rulebook as rulebooks
    from udfs.calendar import china_calendar

    book = rulebooks.load(demo.RULEBOOK)
    calendar = china_calendar()
    as_of = (np.datetime64(month, "M") + 1).astype("datetime64[s]")
    began = time.perf_counter()
    frame = demo.synthesize_month(month, tickets=tickets)
    return book, calendar, as_of, frame, time.perf_counter() - began


def child_ours(tickets: int, month: str, out: Path) -> dict:
    """Run the whole job once; wall seconds, resident MiB and peak MiB per stage."""
    from generators import demo
    from generators.ledger import compute_ledger, write_ledger
    from generators.monthly import assess_month, read_findings
    from generators.monthly_book import write_monthly

    memory = Memory()
    result = {"tickets": tickets, "stages": {}}
    stages = result["stages"]

    def stage(name: str, seconds: float) -> None:
        now, peak = memory.mark()
        stages[name] = {"seconds": seconds, "rss": now, "peak": peak}

    stage("start (imports)", 0.0)
    book, calendar, as_of, frame, seconds = _setup(tickets, month)
    # The month's hand-recorded findings and history, as the monthly job reads them (small; not timed).
    findings_path = out / "findings.xlsx"
    demo.write_table(demo.synthesize_findings(month, demo.VENDORS, book), findings_path, "考核记录")
    findings = read_findings(findings_path, book)
    history = demo.synthesize_history(month, demo.VENDORS, book.name)
    stage("synthesis (not counted)", seconds)

    ledger_path, monthly_path = out / "台账.xlsx", out / "月度考核表.xlsx"
    began = time.perf_counter()
    ledger = compute_ledger(frame, book, as_of=as_of, calendar=calendar, source="synthetic")
    stage("compute_ledger", time.perf_counter() - began)
    began = time.perf_counter()
    write_ledger(ledger, ledger_path, rulebook=book, month=month, calendar_version=calendar.version, appendix3=False)
    stage("write_ledger", time.perf_counter() - began)
    del frame  # the CLI drops the imported tickets once the ledger is written
    began = time.perf_counter()
    assessment = assess_month(ledger, book, month, findings=findings, history=history)
    stage("assess_month", time.perf_counter() - began)
    began = time.perf_counter()
    write_monthly(assessment, monthly_path, calendar_version=calendar.version,
                  sources={"工单": "synthetic", "考核记录": findings_path.name, "考核历史": ""})
    stage("write_monthly", time.perf_counter() - began)

    rows = ledger.rows
    result.update(
        total=sum(s["seconds"] for name, s in stages.items() if not name.startswith(("start", "synthesis"))),
        peak=memory.peak,
        rows=len(rows), rejected=len(ledger.rejected), columns=len(rows.columns),
        dimension=_dimension(ledger_path), expected_dimension=_expected_dimension(len(rows), len(rows.columns)),
        reconciles=len(rows) + len(ledger.rejected) == tickets,
        monthly_counts=(assessment.counts["工单入账"] == len(rows)
                        and sum(unit.tickets for unit in assessment.units) == len(rows)),
        ledger_bytes=ledger_path.stat().st_size, monthly_bytes=monthly_path.stat().st_size,
    )
    if tickets <= READ_BACK_LIMIT:
        result["read_back"] = _read_back(ledger_path, rows)
    return result


def _read_back(path: Path, rows) -> bool:
    """The 台账 sheet read back with python-calamine: row count, ticket ids, reply deadlines, deductions."""
    import numpy as np
    from python_calamine import CalamineWorkbook

    cells = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python(skip_empty_area=False)
    header, body = cells[0], cells[1:]
    if len(body) != len(rows) or len(header) != len(rows.columns):
        return False
    position = {name: j for j, name in enumerate(rows.columns)}
    ids = [r[position["ticket_id"]] for r in body]
    due = np.array([r[position["回复截止"]] or None for r in body], dtype="datetime64[s]")
    points = np.array([r[position["扣分"]] for r in body], dtype=float)
    expected = rows["回复截止"].to_numpy("datetime64[s]")  # NaT where 回复 is not assessed (不考核)
    return (ids == rows["ticket_id"].tolist()
            and bool(((due == expected) | (np.isnat(due) & np.isnat(expected))).all())
            and np.allclose(points, rows["扣分"].to_numpy(float)))


def child_plain(tickets: int, month: str, out: Path) -> dict:
    """Write the 台账 sheet's cells with plain xlsxwriter; wall seconds of the loop and of close()."""
    import numpy as np
    import pandas as pd
    import xlsxwriter

    from generators.ledger import compute_ledger
    from udfs.rulebook import CANONICAL_FIELDS

    book, calendar, as_of, frame, _ = _setup(tickets, month)
    rows = compute_ledger(frame, book, as_of=as_of, calendar=calendar).rows
    del frame
    # One Python list per column, None where the ledger leaves the cell empty (NaN, NaT, "").
    labels = [CANONICAL_FIELDS.get(c, c) for c in rows.columns]
    kinds, columns = [], []
    for name in rows.columns:
        series = rows[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            kinds.append("datetime")
            columns.append(series.to_numpy("datetime64[us]").tolist())  # datetime.datetime, NaT → None
        elif pd.api.types.is_float_dtype(series):
            kinds.append("number")
            columns.append([None if np.isnan(v) else v for v in series.to_numpy(float).tolist()])
        else:
            kinds.append("string")
            columns.append([v if isinstance(v, str) and v else None for v in series.tolist()])
    del rows

    path = out / "plain.xlsx"
    began = time.perf_counter()
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": DATE_FORMAT})
    sheet = workbook.add_worksheet("台账")
    number = workbook.add_format({"num_format": "0.00"})
    writers = [(sheet.write_datetime, None) if kind == "datetime" else
               (sheet.write_number, number) if kind == "number" else
               (sheet.write_string, None) for kind in kinds]
    for j, label in enumerate(labels):
        sheet.write_string(0, j, label)
    for i in range(len(columns[0]) if columns else 0):
        for j, (write, cell_format) in enumerate(writers):
            value = columns[j][i]
            if value is not None:
                write(i + 1, j, value, cell_format)
    cells = time.perf_counter() - began
    workbook.close()
    total = time.perf_counter() - began
    return {"tickets": tickets, "cells": cells, "close": total - cells, "total": total,
            "dimension": _dimension(path), "bytes": path.stat().st_size,
            "kinds": {k: kinds.count(k) for k in ("string", "datetime", "number")}}


def _run_child(kind: str, tickets: int, month: str, out: Path) -> dict:
    """Run one child in a fresh interpreter; its result is the last line of its output (JSON)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--sizes", str(tickets),
               "--month", month, "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report ----------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description="台账与月度考核表生成基准 / ledger and monthly table benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="tickets per run")
    parser.add_argument("--month", default="2025-10", help="synthetic month YYYY-MM")
    parser.add_argument("--out", default=None, help="keep the workbooks in this folder (default: a temporary one)")
    parser.add_argument("--child", choices=("ours", "plain"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        function = child_ours if options.child == "ours" else child_plain
        print(json.dumps(function(options.sizes[0], options.month, Path(options.out))))
        return

    import pandas as pd
    import xlsxwriter

    print(f"python {platform.python_version()}, pandas {pd.__version__}, xlsxwriter {xlsxwriter.__version__}, "
          f"{os.cpu_count()} CPUs; each measurement in a fresh process")
    results = []
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-") as scratch:
        for size in options.sizes:
            out = Path(options.out or scratch) / str(size)
            out.mkdir(parents=True, exist_ok=True)
            ours = _run_child("ours", size, options.month, out)
            plain = _run_child("plain", size, options.month, out)
            results.append((ours, plain))
            _report_stages(ours, plain)

    print()
    print(f"{'tickets':>10} {'ours s':>8} {'plain s':>8} {'ratio':>6} {'台账/plain':>10} {'peak MiB':>9}   "
          f"targets: ratio ≤ {RATIO_TARGET}×, peak ≤ {MEMORY_TARGET} MiB at {MEMORY_TARGET_SIZE:,}")
    failed = False
    for ours, plain in results:
        ratio = ours["total"] / plain["total"]
        ledger_ratio = ours["stages"]["write_ledger"]["seconds"] / plain["total"]
        memory_ok = ours["peak"] <= MEMORY_TARGET or ours["tickets"] < MEMORY_TARGET_SIZE
        memory_mark = _mark(memory_ok) if ours["tickets"] >= MEMORY_TARGET_SIZE else "(n/a)"
        checks_ok = _checks(ours, plain)
        failed |= ratio > RATIO_TARGET or not memory_ok or not checks_ok
        print(f"{ours['tickets']:>10,} {ours['total']:>8.2f} {plain['total']:>8.2f} {ratio:>5.2f}× {ledger_ratio:>9.2f}× "
              f"{ours['peak']:>9.0f}   ratio {_mark(ratio <= RATIO_TARGET)}, memory {memory_mark}, "
              f"checks {_mark(checks_ok)}")
    print("ours = compute_ledger + write_ledger + assess_month + write_monthly; plain = cell loop + close();"
          " 台账/plain = write_ledger alone")
    sys.exit(1 if failed else 0)


def _checks(ours: dict, plain: dict) -> bool:
    return (ours["reconciles"] and ours["monthly_counts"] and ours["dimension"] == ours["expected_dimension"]
            and plain["dimension"] == ours["dimension"] and ours.get("read_back", True))


def _report_stages(ours: dict, plain: dict) -> None:
    print()
    print(f"{ours['tickets']:,} tickets → {ours['rows']:,} ledger rows × {ours['columns']} columns "
          f"+ {ours['rejected']:,} rejected; 台账 {ours['ledger_bytes'] / 2**20:.1f} MiB, "
          f"月度考核表 {ours['monthly_bytes'] / 2**10:.0f} KiB")
    print(f"  {'stage':26s} {'wall s':>8} {'RSS after':>10} {'peak in':>8}  (MiB)")
    for name, s in ours["stages"].items():
        print(f"  {name:26s} {s['seconds']:>8.2f} {s['rss']:>10.0f} {s['peak']:>8.0f}")
    print(f"  {'ours, total':26s} {ours['total']:>8.2f} {'':>10} {ours['peak']:>8.0f}  (process peak)")
    kinds = ", ".join(f"{n} {k}" for k, n in plain["kinds"].items())
    print(f"  {'plain xlsxwriter':26s} {plain['total']:>8.2f}   cells {plain['cells']:.2f} s + close "
          f"{plain['close']:.2f} s; columns: {kinds}")
    checks = [("rows read = ledger + rejected", ours["reconciles"]),
              (f"台账 dimension {ours['dimension']} = expected, = plain's", ours["dimension"] == ours["expected_dimension"]
               and plain["dimension"] == ours["dimension"]),
              ("monthly table counts every ledger row", ours["monthly_counts"])]
    if "read_back" in ours:
        checks.append(("台账 read back (calamine) = ledger", ours["read_back"]))
    print("  checks: " + "; ".join(f"{label} {_mark(ok)}" for label, ok in checks))


if __name__ == "__main__":
    main()
