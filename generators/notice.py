"""The monthly notice (月度考核通报) as a Word document: what each unit scored and why.

One .docx (python-docx) for the assessor to print, sign and send: a title, a short introduction,
a summary table of every unit, then per unit (each on its own page, so that each can sign and
keep its own) the score, grade, pass, payment, every deduction and bonus with its evidence (the
tickets the ledger counts toward a per-ticket item, the assessor's findings with their notes),
the contract clauses the month triggers, and a block for signatures.

Every number is taken from the :class:`~generators.monthly.Assessment` that the monthly table is
written from, never recomputed, so the notice and the table cannot disagree. The document is
A4 portrait with 宋体/黑体 set as East Asian fonts (Word and LibreOffice both render the Chinese),
and numbered pages. It is written whole or not at all (:func:`atomic_output`), and the same
month gives the same bytes (no clock is read: the document's dates are the assessed month's).
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from generators.ledger import Ledger, measure_hits, per_ticket, unit_names
from generators.monthly import Assessment, Findings, Line, UnitResult, cannot_score_reason
from generators.monthly_book import row_note, total_label
from generators.safe_files import atomic_output
from udfs import scoring
from udfs.rulebook import Item, Rulebook
from udfs.wording import citation, measure_words, month_label

BODY_FONT, HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
BODY_SIZE, TABLE_SIZE, TITLE_SIZE = 12, 10.5, 18      # 小四, 五号, 小二
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(25), "bottom": Mm(22), "left": Mm(25), "right": Mm(20)}
TICKETS_LISTED = 20                                  # ticket ids named per item, then "等N张"
ITEM_COLUMNS = (("考核项", 36), ("标准", 26), ("次数", 14), ("扣分", 15), ("依据", 74))  # mm, 165 in all
SUMMARY_WIDTHS = {"单位": 40, "工单数": 17, "及时率": 18, "等级": 18, "是否合格": 19, "应付金额(元)": 30}  # mm
SIGNATURES = ("考核人(签字)", "审核人(签字)", "被考核单位确认(签字/盖章)")
BLANK = "_" * 13
SIGNATURE_WIDTHS = (62, 37, 66)  # mm: label, blank for the signature, date
DATE_BLANK = "_____年___月___日"
CHINESE_ORDINALS = "一二三四五六七八九十"


# -- numbers as the monthly table shows them --------------------------------------------------------
def number(value: float) -> str:
    """A count or score as the table's General format shows it: ``80``, ``79.995``; ``—`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.10g}"


def money(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.2f}"


def rate(value: float) -> str:
    return "未计时" if value is None or math.isnan(value) else f"{value:.1%}"


def pass_words(unit: UnitResult) -> str:
    return "—" if unit.passed is None else ("合格" if unit.passed else "不合格")


def ordinal(k: int) -> str:
    """1 → 一, 12 → 十二, 25 → 二十五 (section numbers)."""
    if k <= 10:
        return CHINESE_ORDINALS[k - 1]
    tens, ones = divmod(k, 10)
    return (CHINESE_ORDINALS[tens - 1] if tens > 1 else "") + "十" + (CHINESE_ORDINALS[ones - 1] if ones else "")


# -- evidence ---------------------------------------------------------------------------------------
def counted_tickets(ledger: Ledger, rulebook: Rulebook, unit: str, item: Item) -> list[str]:
    """Ids of the unit's tickets a per-ticket item counts, in the ledger's order (dispatch time,
    then row): the tickets the ledger's 扣分依据 numbers 本月第1张, 第2张 … for the item."""
    rows = ledger.rows
    if not per_ticket(item) or not len(rows):
        return []
    mine = (unit_names(rows) == unit).to_numpy(bool) & measure_hits(item.measure, rows)
    picked = rows[mine]
    order = np.lexsort((np.arange(len(picked)), picked["dispatched_at"].to_numpy("datetime64[s]").astype(np.int64)))
    return [str(v) for v in picked["ticket_id"].to_numpy(object)[order]]


def ticket_list(ids: list[str], per: str = "张") -> str:
    """``A B C`` or, beyond :data:`TICKETS_LISTED`, the first ones then ``等84张``. Ids are apart
    by a space: LibreOffice breaks no line after “、” before Latin text."""
    shown = " ".join(ids[:TICKETS_LISTED])
    return shown + (f" 等{len(ids)}{per}" if len(ids) > TICKETS_LISTED else "")


def finding_lines(findings: Findings | None, unit: str, item: Item) -> list[str]:
    """The assessor's findings behind an item: ``考核记录第3行: 10月20日…(2次，每次14分)``."""
    if findings is None or not len(findings.rows):
        return []
    rows = findings.rows[(findings.rows["unit"] == unit) & (findings.rows["item"] == item.id)]
    out = []
    for record in rows.itertuples(index=False):
        extra = [f"{number(record.count)}{item.per}"]
        if item.ranged and not pd.isna(record.chosen):
            extra.append(f"每{item.per}{number(record.chosen)}{item.unit}")
        if item.doubles and record.repeats:
            extra.append(f"其中加倍{number(record.repeats)}{item.per}")
        note = str(record.note or "").strip() or "(未写备注)"
        out.append(f"考核记录第{int(record.source_row)}行: {note}({'，'.join(extra)})")
    return out


def standard(item: Item) -> str:
    """The item's rule in a few words: ``2分/张；5张以上扣除该项目所有分数(10分)``."""
    words = scoring.range_text(item)
    if item.zero_out_at is not None and item.item_points is not None:
        at = f"{item.zero_out_at}{item.per}以上" if item.zero_out_inclusive else f"超过{item.zero_out_at}{item.per}"
        words += f"；{at}扣除该项目所有分数({number(item.item_points)}{item.unit})"
    elif item.cap is not None:
        words += f"；最多{number(item.cap)}{item.unit}"
    if item.doubles:
        words += "；重复发生加倍"
    return words


def evidence(line: Line, unit: str, ledger: Ledger, rulebook: Rulebook,
             findings: Findings | None) -> tuple[str, str]:
    """Why an item counted what it did, for people: ``(text, tickets)``, the tickets the item
    counted (a line of their ids, "" when it counts none) and the rest: the findings with their
    notes, or the ledger's words for a measure over the month, and the clause."""
    item = line.item
    parts, tickets = [], ""
    if line.origin == "工单":
        ids = counted_tickets(ledger, rulebook, unit, item)
        if ids:
            parts.append(f"{measure_words(item.measure)} {len(ids)}{item.per}(工单号见下行)")
            tickets = (f"计入“{item.name}”的工单(按派单时间): {ticket_list(ids, item.per)}。"
                       "逐张扣分见台账“扣分依据”列。")
        else:
            parts.append(line.basis.removeprefix("工单: "))
    elif line.origin == "记录":
        parts += finding_lines(findings, unit, item) or [line.basis]
    elif line.basis:
        parts.append(line.basis)
    if line.defaulted:
        parts.append("未填选定值，按最低值计")
    parts.append(f"出处: {citation(item.source)}")
    return "\n".join(parts), tickets


# -- the document -----------------------------------------------------------------------------------
def _fonts(element, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Set the run fonts of a style or run element: ``latin`` for Latin text and digits,
    ``east_asian`` (w:eastAsia) for Chinese; theme fonts, which would override them, removed."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for key, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asian), ("w:cs", latin)):
        fonts.set(qn(key), name)
    language = rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        rpr.append(language)
    language.set(qn("w:eastAsia"), "zh-CN")


def _styles(document) -> None:
    normal = document.styles["Normal"]
    normal.font.size = Pt(BODY_SIZE)
    _fonts(normal.element, BODY_FONT)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.25
    for name, size in (("Title", TITLE_SIZE), ("Heading 1", 15), ("Heading 2", 14), ("Heading 3", 12)):
        style = document.styles[name]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = None
        _fonts(style.element, HEADING_FONT)
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    title = document.styles["Title"]
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    borders = title.element.pPr.find(qn("w:pBdr")) if title.element.pPr is not None else None
    if borders is not None:  # the template draws a rule under the title
        title.element.pPr.remove(borders)


def _page(document, title: str) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    for side, length in MARGINS.items():
        setattr(section, f"{side}_margin", length)
    header = section.header.paragraphs[0]
    header.text = title
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in header.runs:
        run.font.size = Pt(9)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text, field in (("第 ", "PAGE"), (" 页 共 ", "NUMPAGES"), (" 页", None)):
        footer.add_run(text).font.size = Pt(9)
        if field:
            _field(footer, field)


def _field(paragraph, code: str) -> None:
    """A Word field (``PAGE``, ``NUMPAGES``) that Word and LibreOffice fill in when they lay out."""
    def char(kind):
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    run = paragraph.add_run()
    run.font.size = Pt(9)
    run._r.append(char("begin"))
    run = paragraph.add_run()
    run.font.size = Pt(9)
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = f" {code} "
    run._r.append(instruction)
    paragraph.add_run()._r.append(char("separate"))
    shown = paragraph.add_run("1")
    shown.font.size = Pt(9)
    paragraph.add_run()._r.append(char("end"))


def _paragraph(document, text: str = "", *, bold: str = "", size: float | None = None, indent: bool = False,
               align=None, space_before: float | None = None):
    """A paragraph; ``bold`` is a leading label set in bold (``得分: `` then ``text``)."""
    paragraph = document.add_paragraph()
    if bold:
        run = paragraph.add_run(bold)
        run.bold = True
        if size:
            run.font.size = Pt(size)
    run = paragraph.add_run(text)
    if size:
        run.font.size = Pt(size)
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(2 * (size or BODY_SIZE))
    if align is not None:
        paragraph.alignment = align
    if space_before is not None:
        paragraph.paragraph_format.space_before = Pt(space_before)
    return paragraph


def _cell_text(cell, text: str, *, bold: bool = False, align=None) -> None:
    """Fill a table cell: one paragraph per line of ``text``, table-sized."""
    lines = str(text).split("\n")
    first = cell.paragraphs[0]
    for k, line in enumerate(lines):
        paragraph = first if k == 0 else cell.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(1)
        paragraph.paragraph_format.line_spacing = 1.1
        paragraph.paragraph_format.first_line_indent = None
        if align is not None:
            paragraph.alignment = align
        run = paragraph.add_run()
        run.font.size = Pt(TABLE_SIZE)
        run.bold = bold
        _unbroken(run, line)


def _unbroken(run, text: str) -> None:
    """Put ``text`` in ``run`` with its hyphens as Word's non-breaking hyphen, so that a ticket id
    such as JM-202510-00016 is never split across lines (its text still reads with ``-``)."""
    for k, part in enumerate(text.split("-")):
        if k:
            run._r.append(OxmlElement("w:noBreakHyphen"))
        if part:
            piece = OxmlElement("w:t")
            piece.set(qn("xml:space"), "preserve")
            piece.text = part
            run._r.append(piece)


def _new_table(document, rows: int, widths_mm):
    """An empty centred table of ``rows`` rows, its columns ``widths_mm`` wide (fixed, not autofit)."""
    table = document.add_table(rows=rows, cols=len(widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for j, width in enumerate(widths_mm):
        table.columns[j].width = Mm(width)
        for cell in table.columns[j].cells:
            cell.width = Mm(width)
    return table


def _table(document, header: list[str], rows: list, widths_mm: list[float], *,
           centred: tuple[int, ...] = (), bold_last: bool = False):
    """A bordered table with a repeated, bold header row; the columns ``widths_mm`` wide. A row
    given as a string spans every column."""
    table = _new_table(document, 1 + len(rows), widths_mm)
    table.style = document.styles["Table Grid"]
    head = table.rows[0]
    repeat = OxmlElement("w:tblHeader")  # on/off elements: present means on (no "true": not in the schema)
    head._tr.get_or_add_trPr().append(repeat)
    for j, label in enumerate(header):
        _cell_text(head.cells[j], label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(head.cells[j], "DDEBF7")
    for i, values in enumerate(rows, start=1):
        row = table.rows[i]
        no_split = OxmlElement("w:cantSplit")
        row._tr.get_or_add_trPr().append(no_split)
        if isinstance(values, str):
            _cell_text(row.cells[0].merge(row.cells[-1]), values)
            continue
        last = bold_last and i == len(rows)
        for j, value in enumerate(values):
            _cell_text(row.cells[j], value, bold=last, align=WD_ALIGN_PARAGRAPH.CENTER if j in centred else None)
    return table


def _shade(cell, colour: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _summary_columns(assessment: Assessment) -> list[str]:
    rulebook = assessment.rulebook
    columns = ["单位", "工单数", "及时率"]
    if assessment.scored:
        columns.append(total_label(rulebook, "得分"))
        columns += ["等级"] if rulebook.grade_bands else []
        columns += ["是否合格"] if rulebook.score.pass_mark is not None else []
        columns += ["应付金额(元)"] if rulebook.payment is not None else []
    return columns


def _summary_row(unit: UnitResult, columns: list[str]) -> list[str]:
    values = {"单位": unit.unit, "工单数": f"{unit.tickets}", "及时率": rate(unit.timely_rate),
              "等级": unit.grade or "—", "是否合格": pass_words(unit), "应付金额(元)": money(unit.paid)}
    return [values.get(c, number(unit.score)) for c in columns]


def _introduction(document, assessment: Assessment, ledger: Ledger, findings: Findings | None) -> None:
    rulebook, counts = assessment.rulebook, assessment.counts
    units = assessment.units
    source = citation(rulebook.source)
    text = (f"依据《{rulebook.title}》" + (f"(出处: {source})" if source else "")
            + f"，对{month_label(assessment.month)}{len(units)}家单位的客户投诉处理情况进行了考核。"
            + f"本月入账工单 {counts['工单入账']:,} 张")
    if ledger.stages:
        timed = sum(u.assessed for u in units)
        text += f"，其中 {timed:,} 张在{'、'.join(ledger.stages)}环节计时、超时 {sum(u.overdue for u in units):,} 张"
    if counts["工单拒收"]:
        text += f"；工单导出另有 {counts['工单拒收']:,} 行因数据问题未入账(见台账“拒收”表)"
    if findings is not None:
        text += f"；考核记录采用 {counts['记录采用']:,} 条"
        text += f"，未采用 {counts['记录拒收']:,} 条(见月度考核表“拒收”表)" if counts["记录拒收"] else ""
    text += "。现将考核结果通报如下。"
    _paragraph(document, text, indent=True)
    if assessment.caveat:
        _paragraph(document, f"注意: {assessment.caveat}", indent=True)


def _rules_note(rulebook: Rulebook) -> str:
    """How the score, the pass and the payment are worked out, as the monthly table notes them."""
    score = rulebook.score
    parts = [f"得分 = {row_note(rulebook, '得分')}"]
    parts += [row_note(rulebook, "是否合格")] if score.pass_mark is not None else []
    parts += [f"应付金额 = {row_note(rulebook, '应付金额(元)')}"] if rulebook.payment is not None else []
    parts += [f"及时率 = {row_note(rulebook, '及时率')}"]
    return "；".join(parts) + "。"


def _unit_section(document, number_word: str, unit: UnitResult, assessment: Assessment, ledger: Ledger,
                  findings: Findings | None, *, new_page: bool) -> None:
    """One unit's part, on a page of its own (each unit signs and keeps its own pages)."""
    rulebook = assessment.rulebook
    heading = document.add_heading(f"（{number_word}）{unit.unit}", level=2)
    heading.paragraph_format.page_break_before = new_page
    score_unit = rulebook.score_unit
    if unit.scored:
        said = f"{number(unit.score)}{score_unit}(满分{number(rulebook.score.full_marks)}{score_unit}，" \
               f"扣分合计{number(unit.deducted)}{score_unit}，加分合计{number(unit.bonus)}{score_unit})"
        if unit.grade is not None:
            said += f"；等级: {unit.grade}"
        if unit.passed is not None:
            said += f"；{pass_words(unit)}"
        _paragraph(document, said + "。", bold="得分: ")
    else:
        _paragraph(document, cannot_score_reason(rulebook) + "。", bold="得分: ")
    if ledger.stages:
        timing = (f"入账 {unit.tickets} 张，计时 {unit.assessed} 张，超时 {unit.overdue} 张，"
                  f"及时率 {rate(unit.timely_rate)}。")
    else:
        timing = f"入账 {unit.tickets} 张；本办法没有可由工单计时的时限(或导出缺少计时所需的时间列)，不计及时率。"
    _paragraph(document, timing, bold="工单: ")
    if unit.scored and rulebook.payment is not None:
        if math.isnan(unit.fee):
            _paragraph(document, "考核记录中没有本单位的代维费，应付金额未计算。", bold="付款: ")
        else:
            _paragraph(document, f"代维费 {money(unit.fee)} 元，应付金额 {money(unit.paid)} 元。", bold="付款: ")
    for money_unit, amount in unit.apart.items():
        words = "扣款" if amount >= 0 else "奖励"
        _paragraph(document, f"{number(abs(amount))}{money_unit}(与得分单位不同的考核项，单独合计，不计入得分)。",
                   bold=f"另计{words}: ")

    counted = [line for line in unit.lines if line.count or (line.amount == line.amount and line.amount)]
    deductions = [line for line in counted if not line.item.bonus]
    bonuses = [line for line in counted if line.item.bonus]
    document.add_heading("1. 扣分及依据", level=3)
    _items_table(document, deductions, unit, ledger, rulebook, findings, total=(
        "扣分合计", unit.deducted, _capped_note(rulebook, deductions, unit)) if unit.scored else None)
    document.add_heading("2. 加分及依据", level=3)
    cap = rulebook.score.bonus_cap if rulebook.score is not None else None
    _items_table(document, bonuses, unit, ledger, rulebook, findings, total=(
        "加分合计", unit.bonus, f"加分最多计{number(cap)}{score_unit}" if cap is not None else "") if unit.scored else None)
    document.add_heading("3. 合同条款与后果", level=3)
    if unit.warnings:
        for warning in unit.warnings:
            _paragraph(document, warning, bold="！ ")
    elif rulebook.risks:
        _paragraph(document, "本月未触发合同条款。", indent=True)
    else:
        _paragraph(document, "本考核办法没有按月份累计的合同条款。", indent=True)
    _signatures(document)


def _capped_note(rulebook: Rulebook, lines: list[Line], unit: UnitResult) -> str:
    """Why the total deduction is less than the items' sum: the categories capped at their points."""
    counted = [line for line in lines if line.item.unit == rulebook.score_unit and line.amount == line.amount]
    if not counted or sum(line.amount for line in counted) <= unit.deducted + 1e-9:
        return ""
    capped = []
    for category in rulebook.categories:
        amounts = [line.amount for line in counted if line.item.category == category.id]
        if amounts and float(scoring.lost(rulebook, amounts, [category.id] * len(amounts))) < sum(amounts) - 1e-9:
            capped.append(f"“{category.name}”类最多扣{number(category.points)}{rulebook.score_unit}")
    return "；".join(capped) or "扣分合计按考核办法的上限计"


def _items_table(document, lines: list[Line], unit: UnitResult, ledger: Ledger, rulebook: Rulebook,
                 findings: Findings | None, *, total) -> None:
    """The unit's deductions (or bonuses): item, rule, count, amount and evidence, the tickets an
    item counted on a row of their own below it, and the total as the monthly table has it."""
    if not lines:
        _paragraph(document, "无。", indent=True)
        return
    rows = []
    for line in lines:
        item = line.item
        text, tickets = evidence(line, unit.unit, ledger, rulebook, findings)
        rows.append([f"{item.id} {item.name}" if item.id != item.name else item.name, standard(item),
                     f"{number(line.count)}{item.per}", f"{number(line.amount)}{item.unit}", text])
        rows += [tickets] if tickets else []
    if total is not None:
        label, value, note = total
        rows.append([label, "", "", f"{number(value)}{rulebook.score_unit}", note])
    header = [("加分" if lines[0].item.bonus else c) if c == "扣分" else c for c, _ in ITEM_COLUMNS]
    _table(document, header, rows, [w for _, w in ITEM_COLUMNS], centred=(2, 3),
           bold_last=total is not None)


def _signatures(document) -> None:
    document.add_heading("4. 确认", level=3)
    _paragraph(document, "被考核单位已知悉以上考核结果及其依据。", indent=True).paragraph_format.keep_with_next = True
    table = _new_table(document, len(SIGNATURES), SIGNATURE_WIDTHS)
    for row, label in zip(table.rows, SIGNATURES):
        row.height = Mm(14)
        no_split = OxmlElement("w:cantSplit")
        row._tr.get_or_add_trPr().append(no_split)
        for cell, text, bold in zip(row.cells, (f"{label}:", BLANK, f"日期: {DATE_BLANK}"), (True, False, False)):
            cell.vertical_alignment = WD_ALIGN_VERTICAL.BOTTOM
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.keep_with_next = True
            run = paragraph.add_run(text)
            run.bold = bold


def _drop_styles_with_effects(document) -> None:
    """python-docx's template carries Word 2010's optional stylesWithEffects part; once our styles
    change it no longer matches styles.xml, which Word may report as unreadable content."""
    for rid, rel in list(document.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            document.part.drop_rel(rid)


def build_notice(assessment: Assessment, ledger: Ledger, findings: Findings | None = None):
    """The notice as a python-docx ``Document`` (see the module docstring)."""
    rulebook = assessment.rulebook
    month = month_label(assessment.month)
    title = f"{rulebook.title} {month} 月度考核通报"
    document = Document()
    _drop_styles_with_effects(document)
    _styles(document)
    _page(document, title)
    properties = document.core_properties
    properties.title, properties.subject = title, rulebook.title
    properties.author = properties.last_modified_by = "考核"
    properties.keywords, properties.comments = "月度考核通报", ""
    first = pd.Timestamp(assessment.month + "-01").to_pydatetime()
    properties.created = properties.modified = first  # the month assessed, not the clock
    properties.revision = 1

    document.add_paragraph(title, style="Title")
    _introduction(document, assessment, ledger, findings)
    document.add_heading("一、考核结果汇总", level=1)
    columns = _summary_columns(assessment)
    widths = [SUMMARY_WIDTHS.get(c, 20) for c in columns]
    widths[0] += 165 - sum(widths)
    _table(document, columns, [_summary_row(u, columns) for u in assessment.units], widths,
           centred=tuple(range(1, len(columns))))
    if assessment.scored:
        _paragraph(document, _rules_note(rulebook), size=TABLE_SIZE, space_before=4)
    else:
        _paragraph(document, cannot_score_reason(rulebook) + "。", size=TABLE_SIZE, space_before=4)
    warned = [u for u in assessment.units if u.warnings]
    if warned:
        _paragraph(document, "、".join(f"{u.unit}({len(u.warnings)}条)" for u in warned)
                   + "，详见各单位的“合同条款与后果”。", bold="本月触发合同条款: ")
    document.add_heading("二、各单位考核情况", level=1).paragraph_format.page_break_before = True
    for k, unit in enumerate(assessment.units, start=1):
        _unit_section(document, ordinal(k), unit, assessment, ledger, findings, new_page=k > 1)
    return document


def _steady_zip(data: bytes) -> bytes:
    """The package re-zipped with fixed entry times, so that the same month gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()


def write_notice(assessment: Assessment, ledger: Ledger, path, *, findings: Findings | None = None) -> None:
    """Write the notice to ``path`` (.docx), atomically."""
    buffer = io.BytesIO()
    build_notice(assessment, ledger, findings).save(buffer)
    with atomic_output(Path(path)) as temporary:
        temporary.write_bytes(_steady_zip(buffer.getvalue()))
