"""Benchmark: writing the ledger (台账) and the monthly table (月度考核表) for 100,000 and 1,000,000 tickets.

For each size, two fresh subprocesses (so that each peak RSS is its own):

* **ours**: synthetic tickets (``generators.demo.synthesize_month``; timed apart, not
  counted) → ``compute_ledger`` (demo contract ``jiangmen_demo.toml``, judged at the first
  instant of the next month) → ``write_ledger`` (no 附件3) → ``assess_month`` →
  ``write_monthly``. Wall time of each stage, resident memory after it and the peak during
  it. The memory target is the job's peak (the highest of its stages'); the synthetic tickets
  are Python objects, larger than an import's Arrow text, and their own peak is printed apart.
  As the CLI does, Arrow's pool gives freed pages back at once and, once the tickets are made
  (where the import ends), what the C library keeps is handed back (:mod:`generators.memory`).
  The real commands' peak on a real export, import included, is ``bench_import.py --export``.
* **plain**: the same cells as the 台账 sheet (same rows, columns, value types and blanks:
  text with ``write_string``, datetimes with ``write_datetime`` and the same default date
  format, numbers with ``write_number``), written by a direct loop over Python lists
  prepared beforehand, with ``xlsxwriter.Workbook(path, {"constant_memory": True})``.
  Then **floor**: the same loop again with the 台账's cell formats (top-aligned, wrapped,
  date and hour formats), its header format and its row heights (taken from the ledger's
  own layout, prepared beforehand): the lowest time xlsxwriter's public API allows for the
  same cell content. Timed: the cell loop and ``close()`` (which assembles the file); not
  timed: preparing the lists.

Each step is timed in wall and CPU seconds; the ratios are taken from CPU seconds (the work
is one-threaded, so on an idle machine they equal the wall seconds, and on a shared one they
are the steadier measure). Each counted stage of ours is printed with its ratio to plain, and
``write_ledger`` also with its ratio to the floor. The Rust writer (rustpy-xlsxwriter) is not compared: it was evaluated
for #12 and not adopted (no fixed document dates, so no byte-identical output; no document
properties; a missing time raises; no rows below a table for the 附件3 form's footer).

Checks in the same run: rows read = ledger rows + rejected rows; the written 台账 sheet's
``<dimension>`` spans the header plus one row per ledger row and one column per ledger
column, the same as the plain file's; the monthly table counts every ledger row; and up to
200,000 tickets the 台账 sheet read back with python-calamine matches the ledger (ids,
deadlines, deductions). Run:

    python bench/bench_generators.py [--sizes 100000 1000000] [--repeat 3]

With ``--repeat N`` each child runs N times per size (alternating which goes first) and each
time printed is the fastest of the N: on a shared machine the least disturbed measure.

Targets: the whole job (compute_ledger + write_ledger + assess_month + write_monthly) / plain
xlsxwriter ≤ 1.5×, and the job's peak memory ≤ 1 GiB at 1,000,000 tickets.
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


# -- time ------------------------------------------------------------------------------------------
def _clock() -> tuple[float, float]:
    """(wall, CPU) seconds now: each step is timed both ways. On a shared machine the CPU seconds
    of this one-threaded process are the steadier measure, and the ratios are taken from them."""
    return time.perf_counter(), time.process_time()


def _since(began: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds since ``began`` (:func:`_clock`)."""
    wall, cpu = _clock()
    return wall - began[0], cpu - began[1]


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

    from generators.memory import release_freed, use_returning_pool

    use_returning_pool()  # as the CLI
    memory = Memory()
    result = {"tickets": tickets, "stages": {}}
    stages = result["stages"]

    def stage(name: str, seconds: float, cpu: float = 0.0) -> None:
        now, peak = memory.mark()
        stages[name] = {"seconds": seconds, "cpu": cpu, "rss": now, "peak": peak}

    stage("start (imports)", 0.0)
    book, calendar, as_of, frame, seconds = _setup(tickets, month)
    # The month's hand-recorded findings and history, as the monthly job reads them (small; not timed).
    findings_path = out / "findings.xlsx"
    demo.write_table(demo.synthesize_findings(month, demo.VENDORS, book), findings_path, "考核记录")
    findings = read_findings(findings_path, book)
    history = demo.synthesize_history(month, demo.VENDORS, book.name)
    release_freed()  # as the import does when it ends
    stage("synthesis (not counted)", seconds)

    ledger_path, monthly_path = out / "台账.xlsx", out / "月度考核表.xlsx"
    began = _clock()
    ledger = compute_ledger(frame, book, as_of=as_of, calendar=calendar, source="synthetic")
    stage("compute_ledger", *_since(began))
    began = _clock()
    write_ledger(ledger, ledger_path, rulebook=book, month=month, calendar_version=calendar.version, appendix3=False)
    stage("write_ledger", *_since(began))
    del frame  # the CLI drops the imported tickets once the ledger is written
    began = _clock()
    assessment = assess_month(ledger, book, month, findings=findings, history=history)
    stage("assess_month", *_since(began))
    began = _clock()
    write_monthly(assessment, monthly_path, calendar_version=calendar.version,
                  sources={"工单": "synthetic", "考核记录": findings_path.name, "考核历史": ""})
    stage("write_monthly", *_since(began))

    rows = ledger.rows
    result.update(
        total=sum(s["seconds"] for name, s in stages.items() if not name.startswith(("start", "synthesis"))),
        total_cpu=sum(s["cpu"] for name, s in stages.items() if not name.startswith(("start", "synthesis"))),
        peak=max(s["peak"] for name, s in stages.items() if not name.startswith(("start", "synthesis"))),
        process_peak=memory.peak,
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
    """Write the 台账 sheet's cells with plain xlsxwriter, twice: values only (the issue's floor),
    then with the 台账's own cell formats, header format and row heights (the floor of the same
    file content); wall seconds of each loop and of its close()."""
    import numpy as np
    import pandas as pd

    from generators import ledger as ledgers
    from udfs.rulebook import CANONICAL_FIELDS

    book, calendar, as_of, frame, _ = _setup(tickets, month)
    rows = ledgers.compute_ledger(frame, book, as_of=as_of, calendar=calendar).rows
    del frame
    # One Python list per column, None where the ledger leaves the cell empty (NaN, NaT, "").
    labels = [CANONICAL_FIELDS.get(c, c) for c in rows.columns]
    widths, wraps, measured = ledgers._layout(rows, labels)  # the 台账's layout, prepared (not timed)
    heights = ledgers._heights(rows, widths, wraps, measured)
    tall = [] if heights is None else [None if np.isnan(h) else h for h in heights.tolist()]
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
    hours = [str(name).endswith(("小时", "历时")) for name in rows.columns]
    del rows

    result = {"tickets": tickets, "kinds": {k: kinds.count(k) for k in ("string", "datetime", "number")}}
    for variant in ("plain", "formatted"):
        path = out / f"{variant}.xlsx"
        result[variant] = _plain_write(path, labels, kinds, columns, variant == "formatted", widths, wraps, hours, tall)
    return result


def _plain_write(path: Path, labels, kinds, columns, formatted: bool, widths, wraps, hours, tall) -> dict:
    """One timed write of the prepared columns: the cell loop, then ``close()``."""
    import xlsxwriter

    from generators import paper

    began = _clock()
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": DATE_FORMAT})
    sheet = workbook.add_worksheet("台账")
    if formatted:  # the formats of generators.ledger._Styles
        add = workbook.add_format
        header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
        text, wrap = add({"valign": "top"}), add({"valign": "top", "text_wrap": True})
        when = add({"valign": "top", "num_format": DATE_FORMAT})
        two, number = add({"valign": "top", "num_format": "0.00"}), add({"valign": "top"})
        writers = [(sheet.write_datetime, when) if kind == "datetime" else
                   (sheet.write_number, two if hour else number) if kind == "number" else
                   (sheet.write_string, wrap if wrapped else text) for kind, wrapped, hour in zip(kinds, wraps, hours)]
        for j, width in enumerate(widths):
            sheet.set_column(j, j, width)
        for j, label in enumerate(labels):
            sheet.write_string(0, j, label, header)
        sheet.set_row(0, paper.row_height(zip(labels, widths)))
    else:
        number = workbook.add_format({"num_format": "0.00"})
        writers = [(sheet.write_datetime, None) if kind == "datetime" else
                   (sheet.write_number, number) if kind == "number" else
                   (sheet.write_string, None) for kind in kinds]
        for j, label in enumerate(labels):
            sheet.write_string(0, j, label)
        tall = []
    for i in range(len(columns[0]) if columns else 0):
        if tall and tall[i] is not None:
            sheet.set_row(i + 1, tall[i])
        for j, (write, cell_format) in enumerate(writers):
            value = columns[j][i]
            if value is not None:
                write(i + 1, j, value, cell_format)
    cells, _ = _since(began)
    workbook.close()
    total, cpu = _since(began)
    return {"cells": cells, "close": total - cells, "total": total, "cpu": cpu, "dimension": _dimension(path),
            "bytes": path.stat().st_size}


def _run_child(kind: str, tickets: int, month: str, out: Path) -> dict:
    """Run one child in a fresh interpreter; its result is the last line of its output (JSON)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--sizes", str(tickets),
               "--month", month, "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fastest(runs: list[dict]) -> dict:
    """One child's result from several runs: every time the fastest seen (the least disturbed by
    other work on the machine), every peak the highest, the checks and sizes of the first run."""
    best = json.loads(json.dumps(runs[0]))
    for run in runs[1:]:
        for name, stage in run.get("stages", {}).items():
            kept = best["stages"][name]
            kept.update(seconds=min(kept["seconds"], stage["seconds"]), cpu=min(kept["cpu"], stage["cpu"]),
                        peak=max(kept["peak"], stage["peak"]))
        for variant in ("plain", "formatted"):
            if variant in run:
                kept, seen = best[variant], run[variant]
                if seen["cpu"] < kept["cpu"]:
                    kept.update({k: seen[k] for k in ("cells", "close", "total", "cpu")})
        for key in ("peak", "process_peak"):
            if key in run:
                best[key] = max(best[key], run[key])
    if "stages" in best:
        counted = [s for name, s in best["stages"].items() if not name.startswith(("start", "synthesis"))]
        best["total"], best["total_cpu"] = sum(s["seconds"] for s in counted), sum(s["cpu"] for s in counted)
    return best


# -- report ----------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description="台账与月度考核表生成基准 / ledger and monthly table benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="tickets per run")
    parser.add_argument("--month", default="2025-10", help="synthetic month YYYY-MM")
    parser.add_argument("--out", default=None, help="keep the workbooks in this folder (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each child per size; each time is the fastest of them (default 1)")
    parser.add_argument("--child", choices=("ours", "plain"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        function = child_ours if options.child == "ours" else child_plain
        print(json.dumps(function(options.sizes[0], options.month, Path(options.out))))
        return

    import pandas as pd
    import xlsxwriter

    print(f"python {platform.python_version()}, pandas {pd.__version__}, xlsxwriter {xlsxwriter.__version__}, "
          f"{os.cpu_count()} CPUs; each measurement in a fresh process"
          + (f", the fastest of {options.repeat} runs" if options.repeat > 1 else ""))
    results = []
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-") as scratch:
        for size in options.sizes:
            out = Path(options.out or scratch) / str(size)
            out.mkdir(parents=True, exist_ok=True)
            runs = {"ours": [], "plain": []}
            for r in range(options.repeat):  # alternating which goes first
                for kind in ("ours", "plain") if r % 2 == 0 else ("plain", "ours"):
                    runs[kind].append(_run_child(kind, size, options.month, out))
            ours, plain = _fastest(runs["ours"]), _fastest(runs["plain"])
            results.append((ours, plain))
            _report_stages(ours, plain)

    print()
    print("Summary (CPU seconds; ratios from them):")
    print(f"{'tickets':>10} {'台账 s':>7} {'月度 s':>7} {'plain s':>8} {'(台账+月度)/plain':>16} {'floor s':>8} "
          f"{'台账/floor':>9} {'job/plain':>9} {'peak MiB':>9}")
    failed = False
    for ours, plain in results:
        ledger_s, monthly_s = (ours["stages"][name]["cpu"] for name in ("write_ledger", "write_monthly"))
        base, floor = plain["plain"]["cpu"], plain["formatted"]["cpu"]
        ratio = ours["total_cpu"] / base
        memory_ok = ours["peak"] <= MEMORY_TARGET or ours["tickets"] < MEMORY_TARGET_SIZE
        memory_mark = _mark(memory_ok) if ours["tickets"] >= MEMORY_TARGET_SIZE else "(n/a)"
        checks_ok = _checks(ours, plain)
        failed |= ratio > RATIO_TARGET or not memory_ok or not checks_ok
        print(f"{ours['tickets']:>10,} {ledger_s:>7.2f} {monthly_s:>7.2f} {base:>8.2f} "
              f"{(ledger_s + monthly_s) / base:>15.2f}× {floor:>8.2f} {ledger_s / floor:>8.2f}× "
              f"{ratio:>8.2f}× {ours['peak']:>9.0f}   job ratio {_mark(ratio <= RATIO_TARGET)} (≤ {RATIO_TARGET}×), "
              f"memory {memory_mark}, checks {_mark(checks_ok)}")
    print("台账 = write_ledger; 月度 = write_monthly; plain = the 台账's values by a plain xlsxwriter loop + close();"
          " floor = the same loop with the 台账's cell formats and row heights (same cell content);"
          " job = compute_ledger + write_ledger + assess_month + write_monthly;"
          f" memory target ≤ {MEMORY_TARGET} MiB at {MEMORY_TARGET_SIZE:,}")
    sys.exit(1 if failed else 0)


def _checks(ours: dict, plain: dict) -> bool:
    return (ours["reconciles"] and ours["monthly_counts"] and ours["dimension"] == ours["expected_dimension"]
            and all(plain[v]["dimension"] == ours["dimension"] for v in ("plain", "formatted"))
            and ours.get("read_back", True))


def _report_stages(ours: dict, plain: dict) -> None:
    print()
    print(f"{ours['tickets']:,} tickets → {ours['rows']:,} ledger rows × {ours['columns']} columns "
          f"+ {ours['rejected']:,} rejected; 台账 {ours['ledger_bytes'] / 2**20:.1f} MiB, "
          f"月度考核表 {ours['monthly_bytes'] / 2**10:.0f} KiB")
    print(f"  {'stage':26s} {'wall s':>8} {'CPU s':>8} {'RSS after':>10} {'peak in':>8}  (MiB)   "
          "CPU vs plain, vs its floor")
    base, floor = plain["plain"]["cpu"], plain["formatted"]["cpu"]
    for name, s in ours["stages"].items():
        versus = "" if name.startswith(("start", "synthesis")) else f"{s['cpu'] / base:.2f}× plain"
        if name == "write_ledger":
            versus += f", {s['cpu'] / floor:.2f}× floor"
        print(f"  {name:26s} {s['seconds']:>8.2f} {s['cpu']:>8.2f} {s['rss']:>10.0f} {s['peak']:>8.0f}         {versus}")
    print(f"  {'ours, total':26s} {ours['total']:>8.2f} {ours['total_cpu']:>8.2f} {'':>10} {ours['peak']:>8.0f}"
          f"  (job peak; process with the synthesis {ours['process_peak']:.0f})   {ours['total_cpu'] / base:.2f}× plain")
    for variant, label in (("plain", "plain xlsxwriter"), ("formatted", "floor (formats, heights)")):
        run = plain[variant]
        print(f"  {label:26s} {run['total']:>8.2f} {run['cpu']:>8.2f}   wall: cells {run['cells']:.2f} s + close "
              f"{run['close']:.2f} s; {run['bytes'] / 2**20:.1f} MiB")
    print("  columns: " + ", ".join(f"{n} {k}" for k, n in plain["kinds"].items()))
    checks = [("rows read = ledger + rejected", ours["reconciles"]),
              (f"台账 dimension {ours['dimension']} = expected, = plain's", ours["dimension"] == ours["expected_dimension"]
               and all(plain[v]["dimension"] == ours["dimension"] for v in ("plain", "formatted"))),
              ("monthly table counts every ledger row", ours["monthly_counts"])]
    if "read_back" in ours:
        checks.append(("台账 read back (calamine) = ledger", ours["read_back"]))
    print("  checks: " + "; ".join(f"{label} {_mark(ok)}" for label, ok in checks))


if __name__ == "__main__":
    main()
