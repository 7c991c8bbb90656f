"""``kaohe``: the command line (Chinese first, English after)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path

import numpy as np

from generators.memory import use_returning_pool
from udfs.errors import KaoheError
from udfs.wording import citation, month_label

EPILOG = "退出码 / exit codes: 0 成功 success, 1 输入有误 bad input, 2 用法错误 wrong usage"


def _month(text: str) -> str:
    """An argparse type: ``YYYY-MM`` with a real month, else a usage error (exit 2) in Chinese."""
    try:
        np.datetime64(text, "M")
        valid = len(text) == 7
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"月份格式应为 YYYY-MM(如 2025-10): {text} / month must be YYYY-MM")
    return text


def _count(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"应为 {low}~{high} 之间的整数: {text} / a whole number from {low} to {high}")
        return value
    return parse


class UsageError(KaoheError):
    """Wrong usage found after parsing (an output that is an input, a wrong file type): exit 2."""


def _output(out, default: Path, suffix: str, inputs=()) -> Path:
    """The output path: ``out`` or ``default``; its type must be ``suffix`` and it must not be an input."""
    path = Path(out) if out else default
    if path.suffix.lower() != suffix:
        raise UsageError(f"输出文件应以 {suffix} 结尾: {path}", f"the output must end in {suffix}: {path}")
    for source in inputs:
        if source is not None and Path(source).exists() and path.exists() and os.path.samefile(source, path):
            raise UsageError(f"输出文件不能是输入文件: {path}", f"the output must not be an input file: {path}")
    return path


def _wrote(path: Path, existed: bool) -> None:
    print(f"{'已覆盖 / replaced' if existed else '已写出 / wrote'}: {path}")


def _write_ledger(tickets: Path, book, month: str, path: Path, *, appendix3: bool = False):
    """Import, compute, write and report one ledger; returns it and the import."""
    from generators.ledger import ledger_from_export
    from udfs.calendar import china_calendar

    ledger, imported = ledger_from_export(tickets, book, month, calendar=china_calendar())
    _ledger_written(ledger, imported, book, month, path, appendix3=appendix3)
    return ledger, imported


def _ledger_written(ledger, imported, book, month: str, path: Path, *, appendix3: bool = False) -> None:
    """Write and report a computed ledger."""
    from generators.ledger import write_ledger
    from udfs.calendar import china_calendar

    existed = path.exists()
    notices = write_ledger(ledger, path, rulebook=book, month=month, calendar_version=china_calendar().version,
                           appendix3=appendix3)
    _report_ledger(ledger, imported, book, month)
    for notice in notices:
        print(f"  ！ {notice}")
    _wrote(path, existed)


def _report_ledger(ledger, imported, book, month: str) -> None:
    """The import's and the ledger's counts and rejections, then per stage the tickets timed and
    not; the stages the export cannot time; the system's own deadlines that differ; the
    late-December calendar caveat."""
    from generators.ledger import NOT_ASSESSED, NOTES, stage_fields, untimed_stages

    print(imported.summary())
    doubt = imported.month_doubt(month)
    if doubt:
        print(f"！ {doubt}")
    read, kept, rejected = ledger.read, len(ledger.rows), len(ledger.rejected)
    print(f"读入 {read} 行 = 入账 {kept} 行 + 拒收 {rejected} 行 / read {read} = accepted {kept} + rejected {rejected}"
          f"{'' if ledger.reconciles else '  ！不平衡 / does not reconcile'}")
    for reason, count in ledger.rejected["原因"].str.replace(r"[:：(].*", "", regex=True).value_counts().items():
        print(f"  拒收 {reason}: {count}")

    rows = ledger.rows
    for stage in ledger.stages:
        flags = rows[f"{stage}及时"]
        skipped = int((flags == NOT_ASSESSED).sum())
        print(f"  {stage}: 及时 {int((flags == '是').sum())}，超时 {int(flags.isin(['否', '超时未完成']).sum())}"
              + (f"，不考核 {skipped}(见台账“{NOTES}”列)" if skipped else ""))
    absent, unmapped = untimed_stages(book, ledger)
    if absent:
        print(f"  ！ 导出中没有这些环节所需的时间列(或整列为空)，未计时: {'、'.join(absent)}"
              f" / stages not timed (their time columns are absent or empty): {', '.join(absent)}")
    if unmapped:
        print(f"  ！ 本办法的这些时限没有对应的工单时间列，台账不计时，须人工核对: {'、'.join(unmapped)}"
              f" / limits no ticket column can time, check by hand: {', '.join(unmapped)}")
    if not stage_fields(book):
        print(f"  ！ 考核办法《{book.title}》没有可按工单计时的时限，不计及时率 / the rulebook times no ticket stage")
    differs = int(rows[NOTES].fillna("").str.contains("系统时限").sum()) if NOTES in rows.columns else 0
    if differs:
        print(f"  ！ {differs} 张工单的系统时限与本办法截止时间不同或无法识别(见台账“{NOTES}”列)"
              f" / {differs} ticket(s) whose system deadline differs from the rulebook's")
    if ledger.caveat:
        print(f"  ！ {ledger.caveat}")


def _assess(ledger, book, month: str, *, findings: Path | None, history: Path | None,
            timeliness_only: bool = False):
    """The month's assessment from a computed ledger, the findings and the history (the step
    ``kaohe monthly``, ``kaohe notice`` and the demo share); returns ``(assessment, findings read
    or None, history read or None)``. Nothing is written."""
    from generators import monthly as table

    found = table.read_findings(findings, book) if findings else None
    past = table.read_history(history) if history else None
    assessment = table.assess_month(ledger, book, month, findings=found, history=past,
                                    timeliness_only=timeliness_only)
    return assessment, found, past


def _assess_export(options):
    """Import the export a monthly command names and assess the month: ``(book, tickets, ledger,
    import, assessment, findings read, history read)``."""
    from generators.ledger import ledger_from_export
    from udfs import rulebook as rulebooks
    from udfs.calendar import china_calendar

    book = rulebooks.load(options.rulebook)
    tickets = Path(options.tickets)
    ledger, imported = ledger_from_export(tickets, book, options.month, calendar=china_calendar())
    assessment, found, past = _assess(ledger, book, options.month, findings=_path(options.findings),
                                      history=_path(options.history),
                                      timeliness_only=getattr(options, "timeliness_only", False))
    return book, tickets, ledger, imported, assessment, found, past


def _path(text) -> Path | None:
    return Path(text) if text else None


def _write_monthly(assessment, path: Path, *, tickets: Path, findings: Path | None, history: Path | None,
                   password: str = "") -> bool:
    """Write the monthly table, then add the month to the history (when one is given); returns
    whether the table replaced an earlier file."""
    from generators import monthly as table
    from generators.monthly_book import write_monthly
    from udfs.calendar import china_calendar

    existed = path.exists()
    write_monthly(assessment, path, calendar_version=china_calendar().version, password=password,
                  sources={"工单": tickets.name, "考核记录": findings.name if findings else "",
                           "考核历史": history.name if history else ""})
    if history is not None:
        table.update_history(history, assessment)
    return existed


def _report_month(assessment, found, *, findings: Path | None, ledger=None, imported=None) -> bool:
    """Report an assessment on screen (the import's and ledger's counts first, when ``imported``
    is given): findings read and rejected, then per unit its score, grade, pass, payment and
    warnings. Returns whether every ticket and findings row is accounted for."""
    from generators import monthly as table
    from udfs.rulebook import DEDUCTION_WORDS

    book = assessment.rulebook
    if imported is not None:
        _report_ledger(ledger, imported, book, assessment.month)
    if found is not None:
        counts = assessment.counts
        read, used, rejected = counts["记录读入"], counts["记录采用"], counts["记录拒收"]
        print(f"考核记录 {findings.name}: 读入 {read} 行 = 采用 {used} 行 + 拒收 {rejected} 行"
              f" / read {read} = used {used} + rejected {rejected}"
              f"{'' if found.reconciles else '  ！不平衡 / does not reconcile'}")
        rows = assessment.rejected[assessment.rejected["源文件"] == findings.name]
        for record in rows.itertuples(index=False):
            print(f"  拒收 第{record.源行号}行 {record.列}“{record.原值}”: {record.原因}")
    if not assessment.scored:
        print(f"  ！ {table.cannot_score_reason(book)} / the rulebook has no scoring items: no score")
    unit = book.score_unit
    for result in assessment.units:
        parts = []
        if result.scored:
            parts += [f"得分 {result.score:g}{unit}", f"扣 {result.deducted:g}", f"加 {result.bonus:g}"]
        parts += [f"另计{DEDUCTION_WORDS[u]} {v:g}{u}" for u, v in result.apart.items()]
        parts += [f"及时率 {result.timely_rate:.1%}" if result.timely_rate == result.timely_rate else "未计时"]
        parts += [f"平均{stage}得分 {mean:.2f}" for stage, mean in result.band_means.items()
                  if not np.isnan(mean)]
        parts += [f"等级 {result.grade}"] if result.grade is not None else []
        parts += ["合格" if result.passed else "不合格"] if result.passed is not None else []
        parts += [f"应付 {result.paid:,.2f} 元"] if result.paid == result.paid else []
        who = "" if result.party == book.party else f"({result.party})"
        print(f"  {result.unit}{who}: {'，'.join(parts)}")
        for warning in result.warnings:
            print(f"    ！ {warning}")
    return (ledger is None or ledger.reconciles) and (found is None or found.reconciles)


def _write_notice(assessment, ledger, found, path: Path) -> bool:
    """Write the monthly notice (.docx); returns whether it replaced an earlier file."""
    from generators.notice import write_notice

    existed = path.exists()
    write_notice(assessment, ledger, path, findings=found)
    return existed


def _notice_written(assessment, path: Path, existed: bool) -> None:
    units = len(assessment.units)
    print(f"月度考核通报 / monthly notice: {month_label(assessment.month)}，{units} 家单位 / {units} unit(s)")
    _wrote(path, existed)


def _demo(options) -> int:
    import shutil

    from generators import demo
    from generators.archive import export_archive, verify_archive
    from udfs import rulebook as rulebooks
    from workbook.builder import inputs_from_assessment

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    month = options.month
    book = rulebooks.load(options.rulebook or demo.RULEBOOK)
    if Path(book.path).parent == demo.RULEBOOK.parent:  # the demo contract: put it beside the outputs
        shutil.copyfile(book.path, out / Path(book.path).name)
    export = out / f"工单导出_{month}.xlsx"
    demo.write_export(demo.synthesize_month(month, tickets=options.tickets), export, month)
    findings = out / f"考核记录_{month}.xlsx"
    demo.write_table(demo.synthesize_findings(month, demo.VENDORS, book), findings, "考核记录")
    history = out / "考核历史.csv"
    demo.synthesize_history(month, demo.VENDORS, book.name).to_csv(history, index=False, encoding="utf-8-sig",
                                                                    lineterminator="\n")
    print(f"示例月份 {month_label(month)}，考核办法《{book.title}》")
    print(f"示例输入 / inputs: {export.name}(工单导出)、{findings.name}(考核记录)、{history.name}(前三个月)")
    ledger_path = out / f"台账_{month}.xlsx"
    ledger, _ = _write_ledger(export, book, month, ledger_path, appendix3=True)
    monthly_path = out / f"月度考核表_{month}.xlsx"
    assessment, found, past = _assess(ledger, book, month, findings=findings, history=history)
    existed = _write_monthly(assessment, monthly_path, tickets=export, findings=findings, history=history)
    balanced = _report_month(assessment, found, findings=findings, ledger=ledger)
    print(f"已更新考核历史 / history updated: {history}")
    _wrote(monthly_path, existed)
    if book.can_score:
        notice_path = out / f"月度考核通报_{month}.docx"
        _notice_written(assessment, notice_path, _write_notice(assessment, ledger, found, notice_path))
        workbook_path = out / f"考核工作簿_{month}.xlsm"
        _build_workbook(book, workbook_path, month=month, tickets=export,
                        units=inputs_from_assessment(assessment, past), rows=2000)
    manifest = export_archive(ledger_path, month=month, out_dir=out / "归档", mask_phones=True)
    problems = verify_archive(out / "归档")
    print(f"已归档 / archived: {', '.join(f.file for f in manifest.files)}(电话已脱敏，清单 {manifest.csv_path.name}，"
          f"核对{'通过' if not problems else '失败'})")
    return 0 if balanced and not problems else 1


def _ledger(options) -> int:
    from udfs import rulebook as rulebooks

    month = options.month
    book = rulebooks.load(options.rulebook)
    tickets = Path(options.tickets)
    path = _output(options.out, tickets.with_name(f"台账_{month}.xlsx"), ".xlsx", [tickets])
    ledger, imported = _write_ledger(tickets, book, month, path, appendix3=options.appendix3)
    return 0 if ledger.reconciles and not imported.month_doubt(month) else 1


def _monthly(options) -> int:
    tickets = Path(options.tickets)
    path = _output(options.out, tickets.with_name(f"月度考核表_{options.month}.xlsx"), ".xlsx",
                   [tickets, options.findings, options.history])
    ledger_path = None
    if options.ledger is not None:  # the ledger of the same import, written by the same run
        ledger_path = _output(options.ledger or None, tickets.with_name(f"台账_{options.month}.xlsx"), ".xlsx",
                              [tickets, options.findings, options.history])
        if ledger_path.absolute() == path.absolute():
            raise UsageError(f"台账和月度考核表不能写到同一个文件: {path}", f"the ledger and the table are one file: {path}")
    book, tickets, ledger, imported, assessment, found, _ = _assess_export(options)
    if ledger_path is not None:
        _ledger_written(ledger, imported, book, options.month, ledger_path)
    history = _path(options.history)
    existed = _write_monthly(assessment, path, tickets=tickets, findings=_path(options.findings), history=history,
                             password=options.password)
    balanced = _report_month(assessment, found, findings=_path(options.findings), ledger=ledger, imported=imported)
    if history is not None:
        print(f"已更新考核历史 / history updated: {history}")
    _wrote(path, existed)
    return 0 if balanced and not imported.month_doubt(options.month) else 1


def _notice(options) -> int:
    tickets = Path(options.tickets)
    path = _output(options.out, tickets.with_name(f"月度考核通报_{options.month}.docx"), ".docx",
                   [tickets, options.findings, options.history])
    _, tickets, ledger, imported, assessment, found, _ = _assess_export(options)
    existed = _write_notice(assessment, ledger, found, path)
    balanced = _report_month(assessment, found, findings=_path(options.findings), ledger=ledger, imported=imported)
    _notice_written(assessment, path, existed)
    return 0 if balanced and not imported.month_doubt(options.month) else 1


def _build_workbook(book, path: Path, *, month: str | None, tickets: Path | None, units=(), rows: int | None = None,
                    password: str = "") -> None:
    from udfs.calendar import china_calendar
    from workbook.builder import DEFAULT_ROWS, build_workbook, tickets_from_export

    rows_given = tickets_from_export(tickets, book) if tickets else None
    build_workbook(book, path, month=month, tickets=rows_given, units=units, rows=rows, password=password,
                   calendar=china_calendar())
    count = len(next(iter(rows_given.values()))) if rows_given else 0
    covered, named = max(rows or DEFAULT_ROWS, count), len([u for u in units if u])
    print(f"考核工作簿 / assessment workbook: 考核办法《{book.title}》，考核月份 {month_label(month) if month else '(待填写)'}，"
          f"工单 {count} 行，台账公式覆盖 {covered} 行，单位 {named} 个"
          f" / {count} ticket rows, formulas over {covered} rows, {named} unit(s)")
    print(f"已写出 / wrote: {path}")


def _workbook(options) -> int:
    from udfs import rulebook as rulebooks

    book = rulebooks.load(options.rulebook)
    month = options.month
    path = Path(options.out) if options.out else Path(f"考核工作簿_{book.name}.xlsm")
    if path.suffix.lower() != ".xlsm":
        raise KaoheError(f"考核工作簿带宏，文件名应以 .xlsm 结尾: {path}", f"the workbook carries macros: use .xlsm ({path})")
    _build_workbook(book, path, month=month, tickets=Path(options.tickets) if options.tickets else None,
                    units=options.unit or (), rows=options.rows, password=options.password)
    return 0


def _rulebooks(options) -> int:
    from generators.paper import text_width
    from udfs import rulebook as rulebooks
    from udfs.rulelist import plain

    if options.name:
        print(plain(rulebooks.load(options.name)), end="")
        return 0
    infos = rulebooks.installed()
    width = max(text_width(info.title) for info in infos)
    print("已安装的考核办法(中文名称，其后是在命令中输入的名称) / installed rulebooks (title, then the name to type)")
    for info in infos:
        pad = " " * (width - text_width(info.title))
        print(f"  {info.title}{pad}  {info.name}")
        source = citation(info.source)
        if source:
            print(f"  {' ' * width}  出处: {source}；版本 {info.version}")
    print(f"共 {len(infos)} 个考核办法 / {len(infos)} rulebooks。"
          "显示一个办法的规则清单: kaohe rulebooks 名称 / show one: kaohe rulebooks NAME")
    return 0


def _check(options) -> int:
    from udfs import rulebook as rulebooks

    book = rulebooks.check(options.file)
    items, limits = len(book.items), len(book.time_limits)
    print(f"规则文件有效: {options.file} —《{book.title}》，{items} 个考核项，{limits} 条时限"
          f" / valid: {items} item(s), {limits} time limit(s)")
    return 0


def _archive(options) -> int:
    from generators.archive import export_archive, verify_archive

    if options.verify:
        problems = verify_archive(options.out)
        for problem in problems:
            print(f"  ✗ {problem}")
        for note in problems.notes:
            print(f"  ！ {note}")
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


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法 / usage: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with its own words in Chinese and English (help, section titles, usage errors)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "参数 / arguments"
        self._optionals.title = "选项 / options"
        self.add_argument("-h", "--help", action="help", help="显示本帮助 / show this help")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 用法错误 / usage error: {_chinese(message)} / {message}\n")


_USAGE_WORDS = (  # argparse's own messages, in Chinese
    (r"the following arguments are required: (.*)", "缺少必需的参数: {0}"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)", "参数 {0} 的值无效: {1}(可选: {2})"),
    (r"argument (\S+): expected one argument", "参数 {0} 需要一个值"),
    (r"argument (\S+): invalid (\w+) value: (.*)", "参数 {0} 的值无效: {2}"),
    (r"argument (\S+): (.*)", "参数 {0}: {1}"),
    (r"unrecognized arguments: (.*)", "无法识别的参数: {0}"),
)


def _chinese(message: str) -> str:
    for pattern, words in _USAGE_WORDS:
        match = re.fullmatch(pattern, message)
        if match:
            return words.format(*match.groups())
    return message


def _assessment_arguments(command, *, history: str, out: str, timeliness: str) -> None:
    """The inputs of a month's assessment, the same for ``monthly`` and ``notice``."""
    command.add_argument("tickets", metavar="TICKETS", help="工单导出 .xlsx/.csv (UTF-8/GB18030)")
    command.add_argument("--findings", help="考核记录 .xlsx/.csv: 考核单位,考核项,次数,选定值,加倍次数,备注 / findings file")
    command.add_argument("--history", help=history)
    command.add_argument("--rulebook", required=True, help="考核办法名称或 .toml 路径 / rulebook name or file")
    command.add_argument("--month", required=True, type=_month, help="考核月份 YYYY-MM / month")
    command.add_argument("--out", help=f"输出文件 / output file (默认 与工单同目录的 {out})")
    command.add_argument("--timeliness-only", action="store_true",
                         help=f"考核办法没有考核项(不能计分)时，{timeliness} / timeliness only, for a rulebook that "
                              "cannot score")


def parser() -> argparse.ArgumentParser:
    main = _Parser(
        prog="kaohe", description="考核: 通信代维客户投诉处理考核工具 / telecom complaint-handling assessment",
        epilog=EPILOG)
    commands = main.add_subparsers(dest="command", metavar="命令", required=True)
    demo = commands.add_parser("demo", help="用内置示例数据跑一遍主流程 / run the main job on built-in data", epilog=EPILOG)
    demo.add_argument("--out", default="kaohe-demo", help="输出目录 / output folder (默认 kaohe-demo)")
    demo.add_argument("--month", default="2025-10", type=_month, help="示例月份 YYYY-MM / month (默认 2025-10，含国庆)")
    demo.add_argument("--rulebook", default=None,
                      help="考核办法 / rulebook (默认 示例合同 jiangmen_demo: 江门办法 + 付款与合同条款)")
    demo.add_argument("--tickets", type=_count(1, 1_000_000), default=1500, help="工单数 / number of tickets")
    demo.set_defaults(run=_demo)
    ledger = commands.add_parser("ledger", help="由工单导出生成台账 / ticket ledger from an export", epilog=EPILOG)
    ledger.add_argument("tickets", metavar="TICKETS", help="工单导出 .xlsx/.csv (UTF-8/GB18030)")
    ledger.add_argument("--rulebook", required=True, help="考核办法名称或 .toml 路径 / rulebook name or file")
    ledger.add_argument("--month", required=True, type=_month, help="考核月份 YYYY-MM / month")
    ledger.add_argument("--out", help="输出文件 / output file (默认 与工单同目录的 台账_YYYY-MM.xlsx)")
    ledger.add_argument("--appendix3", action="store_true",
                        help="另附《服务质量问题处理管理台账》(附件3)格式的工作表 / add the seed-004 appendix-3 sheet")
    ledger.set_defaults(run=_ledger)
    monthly = commands.add_parser("monthly", help="生成月度量化考核表 / the monthly quantified scoring table",
                                  epilog=EPILOG)
    _assessment_arguments(monthly, history="考核历史 .csv (读取并追加本月结果) / history file, read and appended to",
                          out="月度考核表_YYYY-MM.xlsx", timeliness="只统计工单及时率")
    monthly.add_argument("--password", default="", help="工作表保护密码 / sheet protection password (默认无)")
    monthly.add_argument("--ledger", nargs="?", const="", default=None, metavar="FILE",
                         help="同时写出同一次导入的台账(不必再运行 kaohe ledger) / also write the ledger of the same "
                              "import (默认 与工单同目录的 台账_YYYY-MM.xlsx)")
    monthly.set_defaults(run=_monthly)
    notice = commands.add_parser("notice", help="生成月度考核通报(.docx) / the monthly notice as a Word document",
                                 epilog=EPILOG)
    _assessment_arguments(notice, history="考核历史 .csv (只读取，用于合同预警；不写回) / history file, read only",
                          out="月度考核通报_YYYY-MM.docx", timeliness="只通报工单及时率")
    notice.set_defaults(run=_notice)
    builder = commands.add_parser("workbook", help="生成考核工作簿(.xlsm) / the assessment workbook", epilog=EPILOG)
    builder.add_argument("--rulebook", required=True, help="考核办法名称或 .toml 路径 / rulebook name or file")
    builder.add_argument("--out", help="输出文件 / output file (默认 考核工作簿_办法名.xlsm)")
    builder.add_argument("--month", type=_month, help="考核月份 YYYY-MM / month (默认留空，在工作簿中填写)")
    builder.add_argument("--rows", type=_count(1, 1_048_575), default=None, help="台账公式覆盖的工单行数 / ticket rows the ledger formulas cover "
                         "(默认 1000)")
    builder.add_argument("--unit", action="append", metavar="名称", help="考核单位，可重复 / a unit (repeatable)")
    builder.add_argument("--tickets", help="预先填入“工单”表的工单导出 / an export to fill the 工单 sheet with")
    builder.add_argument("--password", default="", help="工作表保护密码 / sheet protection password (默认无)")
    builder.set_defaults(run=_workbook)
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
    archive.add_argument("--month", type=_month, help="考核月份 YYYY-MM / month")
    archive.add_argument("--out", required=True, help="归档文件夹 / archive folder")
    archive.add_argument("--mask-phones", action="store_true", help="电话号码脱敏 (138****5678) / mask phone numbers")
    archive.add_argument("--sheet", action="append", metavar="名称",
                         help="只导出这个工作表，可重复 / export only this sheet (repeatable); 默认含“台账”或“拒收”的工作表")
    archive.add_argument("--verify", action="store_true", help="核对已有归档的清单 / verify an existing archive against its manifest")
    archive.set_defaults(run=_archive)
    return main


class _Console:
    """A console stream that cannot end the run: characters it cannot show (GBK on Chinese
    Windows, output redirected) are replaced, and once its reader has gone (`kaohe … | head`)
    the rest is dropped, so every file is still written and the exit code still tells."""

    def __init__(self, stream):
        self.stream, self.closed_pipe = stream, False
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                self.stream.write(text)
            except (BrokenPipeError, ValueError, OSError):  # ValueError: the stream was closed
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._lost()

    def _lost(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no flush at exit onto the closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _message(err: BaseException) -> str:
    """A Chinese-first message for what went wrong outside the program's own checks."""
    if isinstance(err, KeyboardInterrupt):
        return "已中断(Ctrl+C)；未写完的文件没有留下，已有的文件未改动 / interrupted: no half-written file was left"
    if isinstance(err, MemoryError):
        return "内存不足，无法完成；请把工单分成几个文件 / out of memory: split the export"
    where = f" {err.filename}" if getattr(err, "filename", None) else ""
    if isinstance(err, PermissionError):
        return f"无法读写{where}: 没有权限，或文件正被其他程序(如 Excel)打开 / permission denied: {err}"
    if isinstance(err, IsADirectoryError):
        return f"无法读写{where}: 这是一个文件夹，应为文件 / is a folder: {err}"
    if isinstance(err, (NotADirectoryError, FileNotFoundError)):
        return f"找不到{where}: 路径中的文件夹不存在或不是文件夹 / no such file or folder: {err}"
    if getattr(err, "errno", None) == 28:
        return f"磁盘已满{where} / disk full: {err}"
    return f"无法读写{where}: {err.strerror or err} / {err}"


def main(argv: list[str] | None = None) -> int:
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Console(sys.stdout), _Console(sys.stderr)
    use_returning_pool()
    try:
        options = parser().parse_args(argv)
        return options.run(options)
    except UsageError as err:
        print(f"用法错误 / usage error: {err}", file=sys.stderr)
        return 2
    except KaoheError as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        print(_message(err), file=sys.stderr)
        return 130
    except (OSError, MemoryError) as err:  # the program's own writes say more; this catches the rest
        print(f"错误 / error: {_message(err)}", file=sys.stderr)
        return 1
    finally:
        if sys.stdout.closed_pipe:
            print("输出管道已关闭，其余屏幕输出未显示(文件均已写出) / output pipe closed", file=sys.stderr)
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
