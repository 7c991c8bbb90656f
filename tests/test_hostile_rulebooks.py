"""Hostile and mistyped rulebooks (issue #11 item 13): each attack is a shipped rulebook's text,
altered and written to a temporary folder.

* Names with quotes, brackets, spaces, commas, a leading digit or the look of a cell (R1C1) in
  stages, item ids and names, parties, areas, kinds, grade labels and band stages: the workbook
  is built without a warning from xlsxwriter, every defined name is one Excel accepts, every
  formula tokenizes with its string constants closed and within 255 characters, the formula
  engine gives every cached value, the 台账 gives `kaohe ledger`'s verdicts, and the names stand
  in the cells as written.
* Numbers that are nan, inf or huge, nesting hundreds deep, a chain of 400 ``extends``, a cycle,
  a mistyped ``extends``: ``kaohe check`` refuses each with a Chinese message naming the file,
  the line where it can be found and the key, never a RecursionError or OverflowError.
* The workbook is written whole or not at all: a missing folder, or a failure while xlsxwriter
  writes the file, is a Chinese message naming the file, and the file already there is kept.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.formula import Tokenizer

from generators.cli import main
from generators.ledger import ledger_from_export
from generators.monthly import assess_month, read_findings
from tests.formula_engine import evaluate
from tests.test_workbook import _export, _findings, _formula_cells, _ledger_rows, _same, _summary_row
from udfs import rulebook
from udfs.errors import KaoheError
from udfs.rulebook import MAX_EXTENDS, PACKAGE_DIR
from workbook.builder import TEXT, build_workbook, inputs_from_assessment, tickets_from_export
from workbook.ledger_sheet import literal, number, utf16_length

MONTH = "2025-10"


def _shipped(name: str) -> str:
    return (PACKAGE_DIR / f"{name}.toml").read_text(encoding="utf-8")


def _toml(text: str) -> str:
    """A TOML basic string holding ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(re.sub(r'^name = ".*"$', f'name = "{name}"', text, count=1, flags=re.MULTILINE), encoding="utf-8")
    return path


# -- Excel's rules, checked on the built file ----------------------------------------------------------
def _valid_name(name: str) -> bool:
    """A defined name Excel accepts: ≤ 255 characters, a letter, _ or \\ first, then letters, digits,
    _ and .; not a cell reference (A1, XFD1048576, R1C1, R, C)."""
    if not name or utf16_length(name) > 255:
        return False
    if not (name[0].isalpha() or name[0] in "_\\") or not all(c.isalnum() or c in "_.\\" for c in name):
        return False
    cell = re.fullmatch(r"[A-Za-z]{1,3}\d+", name) or re.fullmatch(r"[RrCc]\d*|[Rr]\d*[Cc]\d*", name)
    return not cell


def _string_constants(formula: str) -> list[str]:
    """The string constants of a formula, unescaped; fails on an unclosed one."""
    out, i = [], 0
    while i < len(formula):
        if formula[i] != '"':
            i += 1
            continue
        j, text = i + 1, ""
        while True:
            assert j < len(formula), f"unclosed string in {formula[:200]}"
            if formula[j] == '"':
                if formula[j + 1:j + 2] == '"':
                    text, j = text + '"', j + 2
                    continue
                break
            text, j = text + formula[j], j + 1
        out.append(text)
        i = j + 1
    return out


def _formulas(path: Path) -> list[tuple[str, str]]:
    """``(SHEET!A1, formula text)`` of every formula of the workbook (array formulas once)."""
    out = []
    for sheet in openpyxl.load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                text = value.text if type(value).__name__ == "ArrayFormula" else value
                if isinstance(text, str) and text.startswith("="):
                    out.append((f"{sheet.title}!{cell.coordinate}", text))
    return out


def _check_excel_rules(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    bad = [name for name in book.defined_names if not _valid_name(name)]
    assert not bad, bad
    names = set(book.defined_names)
    for where, formula in _formulas(path):
        tokens = Tokenizer(formula).items  # raises on an unclosed string or bracket
        assert formula.count("(") - sum(s.count("(") for s in _string_constants(formula)) == \
            formula.count(")") - sum(s.count(")") for s in _string_constants(formula)), where
        for text in _string_constants(formula):
            assert utf16_length(text) <= 255, (where, text[:40])
        for token in tokens:  # every name a formula refers to is defined (no half of a name with a space)
            if token.type == "OPERAND" and token.subtype == "RANGE" and re.match(r"^[^\W\d]", token.value) \
                    and "!" not in token.value and not re.fullmatch(r"\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?",
                                                                 token.value):
                assert token.value in names or token.value in ("TRUE", "FALSE"), (where, token.value)


def _no_xlsxwriter_warning(caught) -> None:
    mine = [str(w.message) for w in caught if "xlsxwriter" in str(w.filename)]
    assert not mine, mine


# -- the string constant helper ----------------------------------------------------------------------
def test_literal_doubles_quotes_and_splits_what_excel_cannot_hold_in_one_constant():
    assert literal('超"时') == '"超""时"'
    assert literal("") == '""'
    assert literal("处理") == '"处理"'
    long = "甲" * 300
    split = literal(long)
    assert split.startswith('("') and split.endswith('")') and split.count('"&"') == 1
    assert "".join(_string_constants(split)) == long and all(len(p) <= 255 for p in _string_constants(split))
    quotes = '"' * 200  # each counts twice as written: pieces of at most 127
    assert "".join(_string_constants(literal(quotes))) == quotes
    astral = "𠮷" * 200  # 𠮷 is two UTF-16 units, as Excel counts it
    assert utf16_length("𠮷") == 2
    assert all(utf16_length(p) <= 255 for p in _string_constants(literal(astral)))
    assert number(40) == "40" and number(0.3) == "0.3" and number(1234567.5) == "1234567.5"
    with pytest.raises(ValueError):
        number(float("inf"))


# -- names that are not safe as written ----------------------------------------------------------------
RENAME = {  # poyang's names → hostile ones (quote, space, brackets, comma, a leading digit, a cell's look)
    "处理": '处理 (现场)"甲"', "签收": "R1C1", "城区": '城"区', "乡镇": "乡 镇", "农村": "农村,郊区",
    "故障": "故障(1)" + "很长的类型名" * 9, "新开": '新"开', "超时": '超"时', "工单超时": '工单"超时"',
    "确认单": "1 确认单", "自维人员": '自维"人员',
}
BANDS = '''
[[grade_bands]]
label = "\\"良\\"好 (A)"
min = 0

[[grade_bands]]
label = "差,\\"1\\""
below = 0

[[bands]]
stage = "响应 \\"A1\\" (h)"
below = 1
points = 5
source = "测试"
text = "1小时内响应5分"

[[bands]]
stage = "响应 \\"A1\\" (h)"
at_least = 1
points = 3
source = "测试"
text = "1小时及以上3分"
'''


def _hostile_poyang(folder: Path, rename: dict, extra: str = "", name: str = "hostile_poyang") -> Path:
    text = _shipped("poyang")
    for old, new in rename.items():
        text = text.replace(f'"{old}"', _toml(new))
        if old == "处理":
            text = text.replace(f"overdue:{old}", "overdue:" + _toml(new)[1:-1])
    return _write(folder, name, text + extra)


def _built(tmp_path: Path, book, tickets: list[dict], findings=()):
    """The workbook of ``book`` for the tickets and findings as `kaohe monthly` reads them, after
    checking it against Excel's rules and every formula's value against the engine's."""
    export = _export(tmp_path / "工单导出.xlsx", tickets)
    ledger, _ = ledger_from_export(export, book, MONTH)
    found = read_findings(_findings(tmp_path / "考核记录.xlsx", findings), book) if findings else None
    assessment = assess_month(ledger, book, MONTH, findings=found)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = build_workbook(book, tmp_path / "考核工作簿.xlsm", month=MONTH, tickets=tickets_from_export(export, book),
                              units=inputs_from_assessment(assessment), rows=len(tickets) + 3)
    _no_xlsxwriter_warning(caught)
    _check_excel_rules(path)
    computed, cached = evaluate(path), _formula_cells(path)
    wrong = {k: (computed.get(k, "<not computed>"), v) for k, v in cached.items() if not _same(computed.get(k, ""), v)}
    assert not wrong, list(wrong.items())[:10]
    _, rows = _ledger_rows(path)
    assert len(rows) == len(tickets) == len(ledger.rows)
    for record in ledger.rows.to_dict("records"):
        for stage in ledger.stages:
            assert rows[record["ticket_id"]][f"{stage}及时"] == record[f"{stage}及时"], (record["ticket_id"], stage)
    return computed, rows, assessment, path


def test_quotes_spaces_brackets_and_cell_like_names_give_a_workbook_excel_reads(tmp_path):
    path = _hostile_poyang(tmp_path, RENAME, BANDS)
    book = rulebook.check(path)
    stage, sign, band = RENAME["处理"], RENAME["签收"], '响应 "A1" (h)'
    assert book.stages == (stage, sign) and book.parties == ("代维公司", RENAME["自维人员"])
    r, day = RENAME, dt.datetime
    tickets = [
        {"ticket_id": "P1", "unit": "丙", "area": r["城区"], "kind": r["新开"], "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 9, 10), "notified_at": day(2025, 10, 10, 9), "closed_at": day(2025, 10, 11, 8)},
        {"ticket_id": "P2", "unit": "丙", "area": r["城区"], "kind": r["故障"], "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 11, 10), "closed_at": day(2025, 10, 9, 15)},
        {"ticket_id": "P3", "unit": "丙", "area": r["乡镇"], "kind": r["故障"], "dispatched_at": day(2025, 10, 9, 9),
         "accepted_at": day(2025, 10, 9, 9, 10), "closed_at": day(2025, 10, 13, 8)},
        {"ticket_id": "P4", "unit": "丁", "party": r["自维人员"], "area": r["农村"], "kind": r["故障"],
         "dispatched_at": day(2025, 10, 9, 9), "accepted_at": day(2025, 10, 9, 9, 10), "closed_at": day(2025, 10, 9, 17)},
    ]
    findings = [("丙", r["确认单"], 1, None, None, ""), ("丙", "全勤奖", 1, None, None, ""),
                ("丁", "自维迟到", 2, None, None, "")]
    _, rows, assessment, path = _built(tmp_path, book, tickets, findings)
    assert {key: rows[key][f"{stage}及时"] for key in rows} == {"P1": "是", "P2": "是", "P3": "否", "P4": "是"}
    assert rows["P2"][f"{sign}及时"] == "否" and rows["P3"][f"{band}得分"] == 5 and rows["P2"][f"{band}得分"] == 3
    assert rows["P3"][f"{r['超时']}扣款(元)"] == 200 and rows["P4"]["人员类别"] == r["自维人员"]

    units = {u.unit: u for u in assessment.units}
    shown = {name: _summary_row(path, name) for name in units}
    assert shown["丙"]["得分(元)"] == pytest.approx(units["丙"].score) == pytest.approx(-200 - 20 + 100)
    assert shown["丙"]["等级"] == '差,"1"' and shown["丙"][f"平均{band}得分"] == pytest.approx((5 + 3 + 5) / 3)
    assert shown["丁"]["另计扣分合计(分)"] == pytest.approx(units["丁"].apart["分"])

    book_cells = openpyxl.load_workbook(path, data_only=True)
    scoring = [row for row in book_cells["考核表"].iter_rows(values_only=True)]
    assert {r["超时"], r["确认单"]} <= {row[0] for row in scoring}
    assert any(row[1] == r["工单超时"] for row in scoring)
    assert [row[TEXT] for row in scoring if row[0] == "考核单位" and row[1]] == ["代维公司", r["自维人员"]]
    notes = {row[1]: row[2] for row in book_cells["说明"].iter_rows(values_only=True) if row[1] in (stage, sign, band)}
    assert notes[stage].startswith("考核(") and r["城区"] in notes[stage] and len(notes[stage]) > 255  # split, rejoined
    assert notes[band].startswith("按历时分档计分")
    header = [c.value for c in book_cells["台账"][1]]
    assert {f"{stage}截止", f"{sign}及时", f"{band}历时", f"{r['超时']}第几张", f"{r['自维人员']}计票"} <= set(header)
    defined = openpyxl.load_workbook(path).defined_names
    assert {"启用_处理现场甲", "启用_R1C1", "分档_响应A1h", "台账_入账"} <= set(defined)
    # a list a dropdown cannot hold (a comma in 农村,郊区) gets no dropdown rather than a broken one
    areas = [v for v in openpyxl.load_workbook(path)["工单"].data_validations.dataValidation if v.sqref and "F2" in str(v.sqref)]
    assert not areas


def test_names_that_lose_the_same_characters_get_distinct_defined_names(tmp_path):
    """Stages 处理 and "处 理" (and their 台账 columns) would both be 启用_处理 once the space is
    dropped: the second gets a name of its own, and the formulas tell them apart."""
    path = _hostile_poyang(tmp_path, {"签收": "处 理"}, name="hostile_twins")
    book = rulebook.check(path)
    assert book.stages == ("处理", "处 理")
    day = dt.datetime
    tickets = [{"ticket_id": "T1", "unit": "丙", "area": "城区", "kind": "故障", "dispatched_at": day(2025, 10, 9, 9),
                "accepted_at": day(2025, 10, 9, 11, 10), "closed_at": day(2025, 10, 9, 12)}]
    _, rows, _, path = _built(tmp_path, book, tickets)
    assert rows["T1"]["处理及时"] == "是" and rows["T1"]["处 理及时"] == "否"
    names = set(openpyxl.load_workbook(path).defined_names)
    assert {"启用_处理", "台账_处理及时"} <= names and len({n for n in names if n.startswith("启用_")}) == 2


def test_two_ledger_columns_of_one_name_are_refused_naming_it(tmp_path):
    """An item called 二类此前 would have the 台账 column 二类此前扣分 of the capped category 二."""
    text = _shipped("jiangmen") + '''
[[items]]
id = "二类此前"
name = "撞名"
category = "二"
points = 1
per = "张"
measure = "overdue:回复"
source = "测试"
text = "测试"
'''
    book = rulebook.check(_write(tmp_path, "hostile_clash", text))
    with pytest.raises(KaoheError, match="两列同名“二类此前扣分”"):
        build_workbook(book, tmp_path / "x.xlsm", month=MONTH, units=["甲"], rows=3)
    assert not list(tmp_path.glob("*.xlsm*"))


# -- numbers, nesting and extends that kaohe check refuses ----------------------------------------------
def _refused(path: Path, *parts: str) -> str:
    with pytest.raises(KaoheError) as caught:
        rulebook.check(path)
    message = caught.value.zh
    assert message.startswith(f"规则文件 {path.name}"), message
    for part in parts:
        assert part in message, (part, message)
    return message


OPERATOR = "h_operator_rules"  # [rulebook] on lines 3-8 (version on 7), [[time_limits]] on 10, its limit on 12


@pytest.mark.parametrize("value", ["inf", "+inf", "-inf", "nan", "1e13", "9" * 400, "9" * 5000, "0x" + "F" * 64])
def test_a_limit_that_is_not_a_finite_sensible_number_is_refused(tmp_path, value):
    path = _write(tmp_path, "hostile_limit", _shipped(OPERATOR).replace("limit = 5", f"limit = {value}"))
    _refused(path, "第12行", "time_limits[1].limit")


@pytest.mark.parametrize(("old", "new", "where"), [
    ("full_marks = 95", "full_marks = inf", "score.full_marks"),
    ("threshold = 80", "threshold = nan", "risks[1].threshold"),
    ("min = 95", "min = -inf", "grade_bands[1].min"),
    ("assessed_share = 0.30", "assessed_share = 0.30\nscale = " + "1" * 40, "payment.scale"),
])
def test_nan_inf_and_huge_numbers_are_refused_in_every_section(tmp_path, old, new, where):
    path = _write(tmp_path, "hostile_numbers", _shipped("dongguan").replace(old, new, 1))
    _refused(path, where, "第")


def test_inf_stays_allowed_only_as_the_open_end_of_a_points_range(tmp_path):
    assert any(item.points[1] == float("inf") for item in rulebook.check(PACKAGE_DIR / "service_quality.toml").items)
    for points, key in (("[inf, inf]", "points[1]"), ("[20, nan]", "points[2]"), ("inf", "points"),
                        ("[20, -inf]", "points[2]")):
        path = _write(tmp_path, "hostile_points", _shipped("poyang").replace("points = 20", f"points = {points}", 1))
        _refused(path, "items[1](id=迟到)", key, "第")


def test_a_huge_hour_count_in_a_measure_is_refused(tmp_path):
    text = _shipped("jiangmen").replace("avg_hours_over:17", "avg_hours_over:" + "9" * 400)
    assert "avg_hours_over:99" in text
    _refused(_write(tmp_path, "hostile_measure", text), "measure", "小时数超出范围")


@pytest.mark.parametrize("value", ["[" * 400 + '"x"' + "]" * 400, "[" * 9 + '"x"' + "]" * 9,
                                   "[{a = " * 200 + "1" + "}]" * 200])
def test_deep_arrays_are_refused_before_the_parser_recurses(tmp_path, value):
    text = _shipped(OPERATOR).replace('assumptions = ["“一般不超过五个工作日”按5个工作日计。"]', f"assumptions = {value}")
    _refused(_write(tmp_path, "hostile_deep", text), "第8行", "rulebook.assumptions", "嵌套过深")


def test_deep_inline_tables_and_deep_table_headers_are_refused(tmp_path):
    inline = _shipped(OPERATOR) + "\n[columns]\n" + "x = " + "{a = " * 400 + "1" + "}" * 400 + "\n"
    _refused(_write(tmp_path, "hostile_inline", inline), "第19行", "columns.x", "嵌套过深")
    headers = _shipped(OPERATOR) + "\n[columns." + ".".join(["a"] * 50) + "]\nx = 1\n"
    _refused(_write(tmp_path, "hostile_headers", headers), "columns.a.a.a", "嵌套过深")


def test_strings_and_comments_do_not_count_as_nesting(tmp_path):
    text = _shipped(OPERATOR).replace('version = "1.0.0"', 'version = "1.0.0 [[[[[[[[[[[[[["  # {{{{{{{{{{{{{{{\n'
                                                          "period = '''\n[[[[[[[[[[[[\n'''")
    assert rulebook.check(_write(tmp_path, "hostile_strings", text)).period.startswith("[[[[")


def test_names_too_long_or_with_line_breaks_are_refused(tmp_path):
    long = _shipped(OPERATOR).replace('stage = "回复"', f"stage = {_toml('回复' * 40)}")
    _refused(_write(tmp_path, "hostile_long", long), "time_limits[1].stage", "名称过长")
    broken = _shipped(OPERATOR).replace('stage = "回复"', 'stage = "回\\n复"')
    _refused(_write(tmp_path, "hostile_break", broken), "第11行", "time_limits[1].stage", "控制字符")


def _chain(folder: Path, names: list[str], last: str | None = None) -> None:
    for k, name in enumerate(names):
        base = names[k + 1] if k + 1 < len(names) else last
        head = _shipped(OPERATOR).replace('version = "1.0.0"', 'version = "1.0.0"' + (f'\nextends = "{base}"' if base else ""))
        _write(folder, name, head)


def test_a_chain_of_400_extends_is_refused_naming_the_chain(tmp_path):
    _chain(tmp_path, [f"hostile_r{k}" for k in range(400)])
    message = _refused(tmp_path / "hostile_r0.toml", "第8行", "rulebook.extends", f"继承层数过多(最多 {MAX_EXTENDS} 层)",
                       "hostile_r0.toml → hostile_r1.toml")
    assert "无法载入" not in message  # said once, not wrapped by every file of the chain
    assert rulebook.check(tmp_path / f"hostile_r{400 - MAX_EXTENDS - 1}.toml").extends_depth == MAX_EXTENDS


def test_a_base_read_before_does_not_lengthen_the_chain_unseen(tmp_path):
    names = [f"hostile_c{k}" for k in range(MAX_EXTENDS + 2)]
    _chain(tmp_path, names)
    assert rulebook.load(tmp_path / f"{names[1]}.toml").extends_depth == MAX_EXTENDS  # now cached
    _refused(tmp_path / f"{names[0]}.toml", "rulebook.extends", "继承层数过多")


def test_a_cycle_of_extends_is_refused_naming_the_cycle(tmp_path):
    _chain(tmp_path, ["hostile_a", "hostile_b", "hostile_c"], last="hostile_a")
    _refused(tmp_path / "hostile_a.toml", "rulebook.extends",
             "继承关系成环: hostile_a.toml → hostile_b.toml → hostile_c.toml → hostile_a.toml")


def test_a_mistyped_extends_blames_its_own_file_not_a_broken_neighbour(tmp_path):
    (tmp_path / "hostile_broken.toml").write_text("[rulebook\n", encoding="utf-8")
    _chain(tmp_path, ["hostile_contract"], last="jiangmenn")
    message = _refused(tmp_path / "hostile_contract.toml", "第8行", "rulebook.extends", "“jiangmenn”",
                       "未安装的考核办法: jiangmenn")
    assert "TOML 语法错误" not in message and "成环" not in message
    _chain(tmp_path, ["hostile_contract"], last="hostile_broken")  # a base that is there but broken: both named
    _refused(tmp_path / "hostile_contract.toml", "“hostile_broken”", "规则文件 hostile_broken.toml", "TOML 语法错误")


def test_kaohe_check_prints_the_refusal_and_fails(tmp_path, capsys):
    path = _write(tmp_path, "hostile_cli", _shipped(OPERATOR).replace("limit = 5", "limit = inf"))
    assert main(["check", str(path)]) == 1
    assert "规则文件 hostile_cli.toml 第12行 time_limits[1].limit" in capsys.readouterr().err


# -- written whole or not at all ----------------------------------------------------------------------
def test_the_workbook_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    import xlsxwriter.workbook

    target = tmp_path / "考核工作簿.xlsm"
    build_workbook("h_operator_rules", target, rows=3)
    first = target.read_bytes()
    build_workbook("h_operator_rules", tmp_path / "again.xlsm", rows=3)
    assert (tmp_path / "again.xlsm").read_bytes() == first  # the same file, wherever it is written
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None

    with pytest.raises(KaoheError, match="输出文件夹不存在"):
        build_workbook("h_operator_rules", tmp_path / "absent" / "x.xlsm", rows=3)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.workbook, "ZipFile", full_disk)  # xlsxwriter's FileCreateError on close
    with pytest.raises(KaoheError, match="无法写入.*磁盘已满"):
        build_workbook("h_operator_rules", target, rows=3)
    monkeypatch.undo()
    assert target.read_bytes() == first  # the earlier file is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.xlsm", "考核工作簿.xlsm"]  # no temporary left


def test_a_folder_where_the_workbook_should_go_is_refused(tmp_path):
    folder = tmp_path / "x.xlsm"
    folder.mkdir()
    with pytest.raises(KaoheError, match="无法写入"):
        build_workbook("h_operator_rules", folder, rows=3)
    shutil.rmtree(folder)


def test_a_formula_longer_than_excel_takes_is_refused_naming_where(tmp_path, monkeypatch):
    """200 priorities of 50 characters make the 台账's formulas longer than Excel's 8192: refused
    naming the column, no file written; any other sheet's formula is checked the same way."""
    many = ", ".join(_toml(f"P{k}" + "很" * 48) for k in range(200))
    text = _shipped(OPERATOR).replace('stage = "回复"', f'stage = "回复"\npriority = [{many}]')
    book = rulebook.check(_write(tmp_path, "hostile_priorities", text))
    with pytest.raises(KaoheError, match="台账“.+”列的公式有 [0-9]+ 个字符，超过 Excel 的上限 8192"):
        build_workbook(book, tmp_path / "x.xlsm", rows=3)
    import workbook.builder

    monkeypatch.setattr(workbook.builder, "FORMULA_LIMIT", 60)
    with pytest.raises(KaoheError, match="“.+”表 [A-Z]+[0-9]+ 的公式有 [0-9]+ 个字符，超过 Excel 的上限 60"):
        build_workbook("h_operator_rules", tmp_path / "x.xlsm", rows=3)
    assert not list(tmp_path.glob("*.xlsm*"))
