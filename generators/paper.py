"""Print-ready sheets: paper, orientation and scale chosen from the columns' widths so that text
is never printed below 8 pt, header rows repeated, page numbers, and rows tall enough for the
text they wrap (Excel and LibreOffice do not grow merged or explicitly sized rows by themselves).

Widths are Excel character units as given to ``set_column``; heights are points.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

A4, A3 = 9, 8
PAGES = {A4: (595.3, 841.9), A3: (841.9, 1190.6)}   # portrait width, height in points
SIDE_MARGIN = 0.4                                     # inches, left and right
TOP_MARGIN = BOTTOM_MARGIN = 0.6
MIN_TEXT = 8.0                                        # points: no printed text smaller
FONT_SIZE = 11.0                                      # xlsxwriter's default cell font
FOOTER = "&C第 &P 页 共 &N 页"
# Printed text takes more of a column than its character units say: LibreOffice sets CJK in Noto
# Sans CJK (about 2.1 units a glyph) and breaks lines at words, not anywhere; so wrapping is counted
# against this much more width than the characters alone.
WRAP_SLACK = 1.18


def column_points(width: float) -> float:
    """Printed width at 100 % of a column ``width`` characters wide: Excel's pixel rule for its
    default font (Calibri 11), plus the 6 % more LibreOffice gives the same column (measured with
    Carlito, Calibri's metric twin), so that a scale chosen here fits both."""
    pixels = int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)
    return pixels * 0.75 * 1.06


def text_width(text: str) -> int:
    """Width of ``text`` in character units: CJK and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def lines_needed(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` characters wide (each paragraph apart), with
    :data:`WRAP_SLACK` so that a printer's slightly wider font and word breaks still fit."""
    usable = max(1.0, width - 1.0)
    return sum(max(1, math.ceil(text_width(part) * WRAP_SLACK / usable)) for part in str(text).split("\n")) or 1


def lines_height(lines, font_size: float = FONT_SIZE):
    """Height in points of ``lines`` printed lines (a number or an array of them)."""
    return np.round(np.asarray(lines) * font_size * 1.5 + 3, 1)


def row_height(cells: Iterable[tuple[object, float]], font_size: float = FONT_SIZE) -> float:
    """Height in points of a row whose cells ``(text, column width)`` wrap: the tallest cell."""
    lines = max((lines_needed(text, width) for text, width in cells if text not in (None, "")), default=1)
    return float(lines_height(lines, font_size))


def print_ready(sheet, widths: Sequence[float], *, header_rows: tuple[int, int] | None = None,
                repeat_columns: tuple[int, int] | None = None, header: str = "",
                font_size: float = FONT_SIZE, allow_a3: bool = False) -> int:
    """Set up ``sheet`` (xlsxwriter) for printing and return the print scale (percent).

    The narrowest paper that takes every column at a scale keeping ``font_size`` text at
    :data:`MIN_TEXT` or more: A4 portrait, A4 landscape, then (``allow_a3``) A3 landscape. When
    even that is too narrow, the columns go on over more pages across at the smallest such scale,
    with ``repeat_columns`` (e.g. the ticket id) printed on each. Rows ``header_rows`` repeat on
    every page; the footer numbers pages 第 N 页 共 M 页; ``header`` goes in the page header."""
    total = sum(column_points(w) for w in widths) or 1.0
    floor_scale = math.ceil(MIN_TEXT / font_size * 100)
    candidates = [(A4, False), (A4, True)] + ([(A3, True)] if allow_a3 else [])
    for paper, landscape in candidates:
        width = PAGES[paper][1 if landscape else 0] - 2 * SIDE_MARGIN * 72
        scale = min(100, math.floor(width / total * 100))
        if scale >= floor_scale:
            break
    else:
        scale = floor_scale
    sheet.set_paper(paper)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_print_scale(scale)
    sheet.set_margins(left=SIDE_MARGIN, right=SIDE_MARGIN, top=TOP_MARGIN, bottom=BOTTOM_MARGIN)
    if header:
        sheet.set_header(f"&C{header.replace('&', '&&')}")
    sheet.set_footer(FOOTER)
    if header_rows is not None:
        sheet.repeat_rows(*header_rows)
    if repeat_columns is not None:
        sheet.repeat_columns(*repeat_columns)
    return scale
