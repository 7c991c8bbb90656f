"""The monthly notice (月度考核通报, .docx) end to end: `kaohe notice` and `kaohe demo` write it from
the same assessment as the monthly table, so every unit's score, grade, pass and payment agree;
the overdue item names the tickets the ledger counts; each unit signs; no code token is shown;
LibreOffice lays it out on A4 with the scores. Also the CLI's words for `kaohe rulebooks`."""

import re
from datetime import datetime

import docx
import openpyxl
import pdfplumber
import pytest
from office import requires_office, to_pdf

from generators import demo, notice
from generators.cli import main
from udfs import rulebook

MONTH = "2025-10"
TOKENS = re.compile(r"[A-Za-z]+_[A-Za-z_]+|overdue|none_overdue|flag:|avg_hours|\.txt|\.toml|\.xlsx|\.csv|TRUE|FALSE"
                    r"|\||/tmp|jiangmen|\bnan\b|\b20\d\d-\d\d\b")


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """The demo's month (900 tickets: some unit has more overdue tickets than are listed), its
    findings and history, then `kaohe notice` and `kaohe monthly` on them: ``(folder, notice,
    monthly table)``."""
    out = tmp_path_factory.mktemp("notice")
    book = rulebook.load(demo.RULEBOOK)
    demo.write_export(demo.synthesize_month(MONTH, tickets=900), out / f"工单导出_{MONTH}.xlsx", MONTH)
    demo.write_table(demo.synthesize_findings(MONTH, demo.VENDORS, book), out / f"考核记录_{MONTH}.xlsx", "考核记录")
    demo.synthesize_history(MONTH, demo.VENDORS, book.name).to_csv(out / "考核历史.csv", index=False,
                                                                   encoding="utf-8-sig")
    assert main(["notice", *_inputs(out), "--out", str(out / "通报.docx")]) == 0
    assert main(["monthly", *_inputs(out), "--out", str(out / "考核表.xlsx")]) == 0
    return out, out / "通报.docx", out / "考核表.xlsx"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`kaohe demo` (400 tickets): its folder."""
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--tickets", "400"]) == 0
    return out


def _inputs(out) -> list[str]:
    return [str(out / f"工单导出_{MONTH}.xlsx"), "--findings", str(out / f"考核记录_{MONTH}.xlsx"),
            "--history", str(out / "考核历史.csv"), "--rulebook", str(demo.RULEBOOK), "--month", MONTH]


def _text(path) -> str:
    """Everything the document shows: paragraphs, table cells, page header and footer."""
    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def _summary(path) -> dict[str, dict[str, str]]:
    """The notice's summary table: {unit: {column: text}}."""
    table = docx.Document(path).tables[0]
    header = [c.text for c in table.rows[0].cells]
    return {row.cells[0].text: dict(zip(header, (c.text for c in row.cells))) for row in table.rows[1:]}


def _monthly(path) -> dict[str, dict[str, object]]:
    """The monthly table's 汇总 as Excel shows it (cached values): {unit: {column: value}}."""
    sheet = openpyxl.load_workbook(path, data_only=True)["汇总"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    header, units = rows[0], {}
    for row in rows[1:]:
        if not row[0]:  # the units' rows end at the first blank row (charts' data follow)
            break
        units[row[0]] = dict(zip(header, row))
    return units


@pytest.mark.parametrize("which", ["command", "demo"])
def test_every_units_numbers_equal_the_monthly_table(request, which):
    if which == "demo":
        out = request.getfixturevalue("demo_run")
        written, table = out / f"月度考核通报_{MONTH}.docx", out / f"月度考核表_{MONTH}.xlsx"
    else:
        _, written, table = request.getfixturevalue("month")
    shown, expected = _summary(written), _monthly(table)
    assert list(shown) == list(expected) and len(shown) == 3
    for unit, values in expected.items():
        row = shown[unit]
        assert float(row["得分(分)"]) == pytest.approx(values["得分"], abs=1e-9), unit
        assert row["等级"] == values["等级"] and row["是否合格"] == values["是否合格"], unit
        assert float(row["应付金额(元)"].replace(",", "")) == pytest.approx(values["应付金额(元)"], abs=0.005), unit
        assert row["工单数"] == str(values["工单数"]), unit
    assert {row["是否合格"] for row in shown.values()} == {"合格", "不合格"}  # the demo has both


def test_the_overdue_item_lists_the_tickets_the_ledger_counts(month):
    out, written, _ = month
    assert main(["ledger", *_inputs(out)[:1], "--rulebook", str(demo.RULEBOOK), "--month", MONTH]) == 0
    sheet = openpyxl.load_workbook(out / f"台账_{MONTH}.xlsx", read_only=True)["台账"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    at = {name: header.index(name) for name in ("工单号", "考核单位", "派单时间", "扣分依据")}
    document = docx.Document(written)
    spans = [cell.text for table in document.tables[1:] for row in table.rows for cell in row.cells[:1]
             if cell.text.startswith("计入“EOMS投诉单处理及时率”的工单")]
    units = list(_summary(written))
    assert len(spans) == len(units)  # one ticket row per unit, in the units' order
    longest = ""
    for unit, span in zip(units, spans):
        counted = sorted((r for r in rows[1:] if r[at["考核单位"]] == unit and "计入二1" in (r[at["扣分依据"]] or "")),
                         key=lambda r: r[at["派单时间"]])
        ids = [r[at["工单号"]] for r in counted]
        listed = span.split(": ", 1)[1].split("。")[0].split(" ")
        if len(ids) > notice.TICKETS_LISTED:
            assert listed == ids[:notice.TICKETS_LISTED] + [f"等{len(ids)}张"], unit
            longest = unit
        else:
            assert listed == ids, unit
        assert f"签收或回复超时的工单张数 {len(ids)}张" in _text(written)
    assert longest  # some unit has more tickets than are listed


def test_each_unit_has_its_evidence_consequences_and_signature_block(month):
    _, written, _ = month
    text = _text(written)
    units = list(_summary(written))
    for label in notice.SIGNATURES:
        assert text.count(f"{label}:") == len(units), label
    assert text.count("日期: ") == len(units) * len(notice.SIGNATURES)
    assert text.startswith("江门代维客户投诉处理考核·示例合同(附付款与合同条款) 2025年10月 月度考核通报")
    # a finding with its note and row; the clause cited without the seed file's name
    assert "考核记录第2行: 10月17日借用测试手机未做登记" in text and "出处: 江门办法 一、4" in text
    # the unit below 75 points: the contract clauses, as the monthly table states them
    assert "单月得分低于75分(2025年10月): 甲方(移动公司)有权调整乙方(代维公司)的代维量或者单方面解除代维合同" in text
    assert text.count("本月未触发合同条款") == len(units) - 1


def test_no_code_token_or_file_name_is_shown(month, demo_run):
    for path in (month[1], demo_run / f"月度考核通报_{MONTH}.docx"):
        found = TOKENS.findall(_text(path))
        assert not found, found


def test_a4_portrait_with_page_numbers_chinese_fonts_and_the_same_bytes_twice(month, tmp_path):
    out, written, _ = month
    document = docx.Document(written)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    footer = section.footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == notice.BODY_FONT
    assert document.core_properties.created.replace(tzinfo=None) == datetime(2025, 10, 1)  # the month, not the clock
    again = tmp_path / "again.docx"
    assert main(["notice", *_inputs(out), "--out", str(again)]) == 0
    assert again.read_bytes() == written.read_bytes()


def test_notice_usage_and_a_scheme_that_cannot_score(month, tmp_path, capsys):
    out, _, _ = month
    export = str(out / f"工单导出_{MONTH}.xlsx")
    assert main(["notice", export, "--rulebook", "jiangmen", "--month", MONTH, "--out", str(tmp_path / "x.pdf")]) == 2
    assert "应以 .docx 结尾" in capsys.readouterr().err
    assert main(["notice", export, "--rulebook", "dongguan", "--month", MONTH, "--out", str(tmp_path / "d.docx")]) == 1
    assert "得分无法计算" in capsys.readouterr().err and not (tmp_path / "d.docx").exists()
    main(["notice", export, "--rulebook", "dongguan", "--month", MONTH, "--timeliness-only",
          "--out", str(tmp_path / "d.docx")])
    text = _text(tmp_path / "d.docx")
    assert "得分无法计算" in text and "得分(分)" not in text and "考核人(签字):" in text
    assert not TOKENS.findall(text)


@pytest.mark.slow
@requires_office
def test_libreoffice_prints_it_on_a4_with_every_units_score(month, tmp_path):
    _, written, _ = month
    pdf = to_pdf(written, tmp_path)
    summary = _summary(written)
    with pdfplumber.open(pdf) as document:
        pages = document.pages
        assert all((round(p.width), round(p.height)) == (595, 842) for p in pages)
        text = "\n".join(p.extract_text() or "" for p in pages)
        assert len(pages) >= 1 + len(summary)  # the summary, then every unit on pages of its own
    flat = re.sub(r"\s+", "", text)
    for unit, row in summary.items():
        assert f"{unit}{row['工单数']}{row['及时率']}{row['得分(分)']}{row['等级']}{row['是否合格']}" in flat, unit
        assert f"{unit}得分:{row['得分(分)']}分" in flat, unit
    assert f"第1页共{len(pages)}页" in flat


def test_rulebooks_lists_titles_first_and_prints_the_rule_list_as_plain_text(capsys):
    assert main(["rulebooks"]) == 0
    said = capsys.readouterr().out
    line = next(x for x in said.splitlines() if x.rstrip().endswith(" jiangmen"))
    assert line.strip().startswith("代维客户投诉处理考核办法(V1.0)·江门")
    assert ".txt" not in said and re.search(r"共 (\d+) 个考核办法 / \1 rulebooks", said)
    assert main(["rulebooks", "jiangmen"]) == 0
    said = capsys.readouterr().out
    assert "保密制度" in said and "|---" not in said and "## " not in said and ".txt" not in said


def test_screen_words_say_the_month_in_chinese_and_numbers_in_both_halves(month, capsys):
    out, _, _ = month
    assert main(["notice", *_inputs(out), "--out", str(out / "又一份.docx")]) == 0
    said = capsys.readouterr().out
    found = re.search(r"读入 (\d+) 行 = 采用 (\d+) 行 \+ 拒收 (\d+) 行 / read (\d+) = used (\d+) \+ rejected (\d+)", said)
    assert found and found.groups()[:3] == found.groups()[3:]
    assert "月度考核通报 / monthly notice: 2025年10月，3 家单位 / 3 unit(s)" in said
