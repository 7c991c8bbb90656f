"""Benchmark: importing a month's ticket export, against a bare columnar read of the same file.

For each form of export (.xlsx as the demo writes it: a title row, datetimes and now and then
typed Chinese times, a few faulty rows; .csv: the same tickets as UTF-8 text), in one run,
alternating, median of ``--repeat``:

* **ours**: ``generators.tickets.read_tickets`` (the import ``kaohe ledger``/``monthly`` use:
  the size and area guard, header search, every row checked, times parsed, duplicates);
* **bare**: the columnar read alone, every cell as text — fastexcel's
  ``load_sheet(dtypes="string").to_arrow()`` for .xlsx, ``pyarrow.csv.read_csv`` for .csv;
* for reference, the whole-grid reader the import used before (python-calamine ``to_python``,
  the ``csv`` module).

The ratio ours ÷ bare is checked against the target (1.3×); the counts must reconcile.

``--commands N`` also writes an N-row .xlsx export (default 1,000,000) and runs the real
commands on it, each in a fresh process: ``kaohe ledger`` and ``kaohe monthly``, printing the
wall time and the peak resident memory of each (import included), against the 1 GiB target.

    python bench/bench_import.py [--rows 100000] [--repeat 5] [--commands 1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONTH = "2025-10"
RULEBOOK = "jiangmen"
RATIO_TARGET = 1.3
MEMORY_TARGET = 1024  # MiB


def write_exports(rows: int, folder: Path) -> tuple[Path, Path]:
    """The demo's .xlsx export of ``rows`` tickets and the same tickets as a UTF-8 .csv."""
    import pandas as pd

    from generators.demo import EXPORT_HEADERS, synthesize_month, write_export

    frame = synthesize_month(MONTH, rows)
    xlsx, text = folder / f"工单_{rows}.xlsx", folder / f"工单_{rows}.csv"
    write_export(frame, xlsx, MONTH)
    table = frame[list(EXPORT_HEADERS)].rename(columns=EXPORT_HEADERS)
    for field in ("dispatched_at", "accepted_at", "replied_at"):
        column = EXPORT_HEADERS[field]
        table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    table.to_csv(text, index=False, encoding="utf-8")
    return xlsx, text


def bare(path: Path) -> int:
    if path.suffix == ".csv":
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        with open(path, encoding="utf-8") as stream:
            width = len(next(csv.reader(stream)))
        table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
                                convert_options=pa_csv.ConvertOptions(
                                    column_types={f"f{j}": pa.string() for j in range(width)},
                                    strings_can_be_null=False))
        return table.num_rows
    import fastexcel

    return fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_arrow().num_rows


def grid(path: Path) -> int:
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as stream:
            return len(list(csv.reader(stream)))
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return len(book.get_sheet_by_index(0).to_python(skip_empty_area=False))


def ours(path: Path):
    from generators.tickets import read_tickets

    return read_tickets(path, rulebook=RULEBOOK, month=MONTH)


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def compare(path: Path, repeat: int) -> tuple[float, bool]:
    imported = ours(path)  # warm: imports, the calendar
    bare(path)
    reconciles = imported.reconciles and imported.read == imported.accepted + len(imported.rejected)
    times = {"ours": [], "bare": [], "grid": []}
    for _ in range(repeat):
        times["bare"].append(timed(lambda: bare(path)))
        times["ours"].append(timed(lambda: ours(path)))
        times["grid"].append(timed(lambda: grid(path)))
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["ours"] / median["bare"]
    print(f"{path.suffix:5s} {median['ours']:8.2f} {median['bare']:8.2f} {ratio:7.2f}× {median['grid']:9.2f}"
          f"   读入 {imported.read:,} = 入账 {imported.accepted:,} + 拒收 {len(imported.rejected):,}"
          + ("" if reconciles else "  ！不平衡"))
    return ratio, reconciles


def command_peak(arguments: list[str]) -> tuple[float, float, int]:
    """``(seconds, peak MiB, exit code)`` of one ``kaohe`` command in a fresh process."""
    probe = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
             "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
             "print(json.dumps([time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code]))")
    kaohe = [sys.executable, "-c", "from generators.cli import main; main()"]
    out = subprocess.run([sys.executable, "-c", probe, *kaohe, *arguments], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    seconds, peak, code = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, peak, code


def commands(rows: int, folder: Path, export: Path | None = None) -> bool:
    xlsx = export or write_exports(rows, folder)[0]
    print(f"\n真实命令，{xlsx.name}({xlsx.stat().st_size / 2**20:,.0f} MB) / real commands:")
    ok = True
    common = ["--rulebook", RULEBOOK, "--month", MONTH]
    for name, arguments in (
        ("kaohe ledger", ["ledger", str(xlsx), *common, "--out", str(folder / "台账.xlsx")]),
        ("kaohe monthly", ["monthly", str(xlsx), *common, "--out", str(folder / "月度考核表.xlsx")]),
        ("monthly --ledger", ["monthly", str(xlsx), *common, "--out", str(folder / "月度考核表2.xlsx"),
                              "--ledger", str(folder / "台账2.xlsx")]),
    ):
        seconds, peak, code = command_peak(arguments)
        met = peak <= MEMORY_TARGET and code == 0
        ok &= met
        print(f"  {name:14s} {seconds:8.1f} s   峰值内存 {peak:7,.0f} MiB (目标 ≤ {MEMORY_TARGET}) "
              f"退出码 {code}  {'✓' if met else '✗'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description="工单导入基准 / ticket import benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--commands", type=int, nargs="?", const=1_000_000, default=0,
                        help="另在 N 行的导出上运行 kaohe ledger / monthly 并测峰值内存")
    parser.add_argument("--export", type=Path, help="真实命令用这个导出文件(不另生成) / run the commands on this export")
    parser.add_argument("--skip-compare", action="store_true", help="只运行真实命令 / only the real commands")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-import-") as temporary:
        folder = Path(temporary)
        ok = True
        if not options.skip_compare:
            exports = write_exports(options.rows, folder)
            print(f"{options.rows:,} 行，{options.repeat} 次取中位数(秒) / seconds, median")
            print(f"{'file':5s} {'ours':>8s} {'bare':>8s} {'÷bare':>8s} {'old grid':>9s}")
            results = [compare(path, options.repeat) for path in exports]
            ok = all(r for _, r in results)
            worst = max(ratio for ratio, _ in results)
            print(f"最大比值 {worst:.2f}× (目标 ≤ {RATIO_TARGET}×) → {'达到' if worst <= RATIO_TARGET else '未达到'}")
            ok &= worst <= RATIO_TARGET
        if options.commands or options.export:
            ok &= commands(options.commands or 1_000_000, folder, options.export)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
