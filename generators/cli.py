"""``kaohe``: the command line (Chinese first, English after)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from udfs.errors import KaoheError

EPILOG = "退出码 / exit codes: 0 成功 success, 1 输入有误 bad input, 2 用法错误 wrong usage"


def _month(text: str) -> str:
    try:
        np.datetime64(text, "M")
    except ValueError:
        raise KaoheError(f"月份格式应为 YYYY-MM: {text}", f"month must be YYYY-MM: {text!r}") from None
    if len(text) != 7:
        raise KaoheError(f"月份格式应为 YYYY-MM: {text}", f"month must be YYYY-MM: {text!r}")
    return text


def _write_ledger(tickets: Path, book, month: str, path: Path) -> bool:
    """Import, compute, write and report one ledger; True when the counts reconcile."""
    from generators.ledger import ledger_from_export, write_ledger
    from udfs.calendar import china_calendar

    calendar = china_calendar()
    ledger, imported = ledger_from_export(tickets, book, month, calendar=calendar)
    write_ledger(ledger, path, rulebook=book, month=month, calendar_version=calendar.version)
    print(imported.summary())
    print(f"读入 {ledger.read} 行 = 入账 {len(ledger.rows)} 行 + 拒收 {len(ledger.rejected)} 行"
          f"{'' if ledger.reconciles else '  ！不平衡 / does not reconcile'}")
    for reason, count in ledger.rejected["原因"].str.replace(r"[:：(].*", "", regex=True).value_counts().items():
        print(f"  拒收 {reason}: {count}")
    for stage in ledger.stages:
        flags = ledger.rows[f"{stage}及时"]
        print(f"  {stage}: 及时 {int((flags == '是').sum())}，超时 {int(flags.isin(['否', '超时未完成']).sum())}")
    print(f"已写出 / wrote: {path}")
    return ledger.reconciles


def _demo(options) -> int:
    from generators.archive import export_archive, verify_archive
    from generators.demo import synthesize_month, write_export
    from udfs import rulebook as rulebooks

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    month = _month(options.month)
    book = rulebooks.load(options.rulebook)
    export = out / f"工单导出_{month}.xlsx"
    write_export(synthesize_month(month, tickets=options.tickets), export, month)
    print(f"示例月份 {month}，考核办法 {book.title}({book.name})；示例工单导出: {export}")
    path = out / f"台账_{month}.xlsx"
    balanced = _write_ledger(export, book, month, path)
    manifest = export_archive(path, month=month, out_dir=out / "归档", mask_phones=True)
    problems = verify_archive(out / "归档")
    print(f"已归档 / archived: {', '.join(f.file for f in manifest.files)}(电话已脱敏，清单 {manifest.csv_path.name}，"
          f"核对{'通过' if not problems else '失败'})")
    return 0 if balanced and not problems else 1


def _ledger(options) -> int:
    from udfs import rulebook as rulebooks

    month = _month(options.month)
    book = rulebooks.load(options.rulebook)
    tickets = Path(options.tickets)
    path = Path(options.out) if options.out else tickets.with_name(f"台账_{month}.xlsx")
    return 0 if _write_ledger(tickets, book, month, path) else 1


def _rulebooks(options) -> int:
    from udfs import rulebook as rulebooks
    from udfs.rulelist import markdown

    if options.name:
        print(markdown(rulebooks.load(options.name)))
        return 0
    infos = rulebooks.installed()
    width = max(len(info.name) for info in infos)
    for info in infos:
        print(f"{info.name:<{width}}  {info.version:<8}  {info.title}  〔{info.source}〕")
    print(f"共 {len(infos)} 个考核办法 / {len(infos)} rulebooks")
    return 0


def _check(options) -> int:
    from udfs import rulebook as rulebooks

    book = rulebooks.check(options.file)
    print(f"规则文件有效 / valid: {options.file} — {book.title}，{len(book.items)} 个考核项，"
          f"{len(book.time_limits)} 条时限")
    return 0


def _archive(options) -> int:
    from generators.archive import export_archive, verify_archive

    if options.verify:
        problems = verify_archive(options.out)
        for problem in problems:
            print(f"  ✗ {problem}")
        print("归档核对通过 / archive verified" if not problems
              else f"发现 {len(problems)} 个问题 / {len(problems)} problem(s) found")
        return 0 if not problems else 1
    if not options.workbook or not options.month:
        print("错误 / error: 导出需要 WORKBOOK 和 --month / export needs WORKBOOK and --month", file=sys.stderr)
        return 2
    manifest = export_archive(options.workbook, month=options.month, out_dir=options.out,
                              mask_phones=options.mask_phones, sheets=options.sheet)
    for archived in manifest.files:
        print(f"  {archived.file}: {archived.sheet} {archived.rows} 行 / rows  SHA-256 {archived.sha256[:16]}…")
    print(f"电话号码{'已' if manifest.masked else '未'}脱敏 / phones {'masked' if manifest.masked else 'not masked'}")
    print(f"已写出 / wrote: {manifest.csv_path}, {manifest.json_path}")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="kaohe", description="考核: 通信代维客户投诉处理考核工具 / telecom complaint-handling assessment",
        epilog=EPILOG)
    commands = main.add_subparsers(dest="command", metavar="命令", required=True)
    demo = commands.add_parser("demo", help="用内置示例数据跑一遍主流程 / run the main job on built-in data", epilog=EPILOG)
    demo.add_argument("--out", default="kaohe-demo", help="输出目录 / output folder (默认 kaohe-demo)")
    demo.add_argument("--month", default="2025-10", help="示例月份 YYYY-MM / month (默认 2025-10，含国庆)")
    demo.add_argument("--rulebook", default="jiangmen", help="考核办法 / rulebook (默认 jiangmen)")
    demo.add_argument("--tickets", type=int, default=1500, help="工单数 / number of tickets")
    demo.set_defaults(run=_demo)
    ledger = commands.add_parser("ledger", help="由工单导出生成台账 / ticket ledger from an export", epilog=EPILOG)
    ledger.add_argument("tickets", metavar="TICKETS", help="工单导出 .xlsx/.csv (UTF-8/GB18030)")
    ledger.add_argument("--rulebook", required=True, help="考核办法名称或 .toml 路径 / rulebook name or file")
    ledger.add_argument("--month", required=True, help="考核月份 YYYY-MM / month")
    ledger.add_argument("--out", help="输出文件 / output file (默认 与工单同目录的 台账_YYYY-MM.xlsx)")
    ledger.set_defaults(run=_ledger)
    listing = commands.add_parser("rulebooks", help="列出已安装的考核办法，或显示一个的规则清单 / list rulebooks",
                                  epilog=EPILOG)
    listing.add_argument("name", nargs="?", help="考核办法名称: 显示其中文规则清单 / show one's rule list")
    listing.set_defaults(run=_rulebooks)
    check = commands.add_parser("check", help="检查规则文件 / validate a rulebook file", epilog=EPILOG)
    check.add_argument("file", help="规则文件 RULEBOOK.toml")
    check.set_defaults(run=_check)
    archive = commands.add_parser("archive", help="把台账工作表分别导出归档，附 SHA-256 清单 / export ledger tabs for archiving",
                                  epilog=EPILOG)
    archive.add_argument("workbook", nargs="?", help="台账工作簿 WORKBOOK (.xlsx/.xlsm)；--verify 时不需要")
    archive.add_argument("--month", help="考核月份 YYYY-MM / month")
    archive.add_argument("--out", required=True, help="归档文件夹 / archive folder")
    archive.add_argument("--mask-phones", action="store_true", help="电话号码脱敏 (138****5678) / mask phone numbers")
    archive.add_argument("--sheet", action="append", metavar="名称",
                         help="只导出这个工作表，可重复 / export only this sheet (repeatable); 默认含“台账”或“拒收”的工作表")
    archive.add_argument("--verify", action="store_true", help="核对已有归档的清单 / verify an existing archive against its manifest")
    archive.set_defaults(run=_archive)
    return main


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        return options.run(options)
    except KaoheError as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
