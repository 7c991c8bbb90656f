"""A worksheet's XML read straight into text columns, with array operations, in one streamed pass.

The import's reader for .xlsx/.xlsm sheets written the way Excel, WPS, LibreOffice, openpyxl and
xlsxwriter write them (``<row r="3">``, ``<c r="B3" s="1" t="s"><v>7</v></c>``, inline strings
``<is><t>…</t></is>``). The sheet is decompressed in blocks of whole rows; in each block the
positions of the tags are found with numpy, each cell's type, style and value are located by
``searchsorted`` over those positions, and the values' bytes are gathered into Arrow string
columns. Nothing is allocated per cell in Python and nothing is allocated by area, so:

* memory is the text of the cells (plus one block), not calamine's 32-byte grid of the sheet's
  whole area (a million-row export: ~0.5 GB instead of 1.7 GB);
* the sheet's area is known exactly before any column is made dense, so a stray far cell is
  refused with :mod:`generators.input_files`' message, never allocated.

A cell reads as the text a user sees, as python-calamine's values shown by
:func:`generators.tickets._cell_text`: text as typed (XML entities and Excel's ``_x000D_``
escapes decoded), numbers without ``.0`` (``13800138000``) or in their shortest exact form,
booleans TRUE/FALSE, errors empty, and numbers in a date or time format as
``YYYY-MM-DD HH:MM:SS`` (``.fff`` when they carry milliseconds; ``YYYY-MM-DD`` for a whole day).
Times of day and durations (python-calamine's time and timedelta) read as date-times. A sheet holding anything else
(a namespace prefix, a cell without its reference, rows out of order, rich text in a cell) is
not read here: :func:`read_sheet` returns None and fastexcel reads it.
"""

from __future__ import annotations

import functools
import re
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_BYTES = 8 << 20
_LT, _GT, _SLASH, _QUOTE = 60, 62, 47, 34
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Built-in number formats that show a date or a time (ECMA-376 18.8.30; 27-36 and 50-58 are the
# East Asian date formats a Chinese Excel uses).
_DATE_FORMATS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_CUSTOM_DATE = re.compile(r"[ymdhs]", re.IGNORECASE)
_NOT_FORMAT = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')  # quoted text, [colour]/[h], escapes, fill
_NUMBER_FORMAT = re.compile(rb'<numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_XF = re.compile(rb"<xf\b[^>]*?>")
_XF_FORMAT = re.compile(rb'numFmtId="(\d+)"')


class Unsupported(Exception):
    """The sheet holds something this reader does not take: fastexcel reads it."""


def date_styles(styles: bytes) -> np.ndarray:
    """For each cell style (``cellXfs``) of ``xl/styles.xml``, whether it shows a date or time."""
    custom = {}
    for number, code in _NUMBER_FORMAT.findall(styles):
        text = _NOT_FORMAT.sub("", _unescape(code.decode("utf-8", "replace")))
        custom[int(number)] = bool(_CUSTOM_DATE.search(text)) and "General" not in text
    start, end = styles.find(b"<cellXfs"), styles.find(b"</cellXfs>")
    if start < 0 or end < 0:
        return np.zeros(1, dtype=bool)
    flags = []
    for xf in _XF.findall(styles[start:end]):
        found = _XF_FORMAT.search(xf)
        number = int(found.group(1)) if found else 0
        flags.append(custom.get(number, number in _DATE_FORMATS))
    return np.array(flags or [False], dtype=bool)


def _prefixed(codes: np.ndarray, length: int) -> bool:
    """Whether a tag has a namespace prefix (``<x:c``, ``<ns1:row``): a ``:`` after ``<`` and a
    name (looked for from the colons, fewer than the tags)."""
    colons = np.flatnonzero(codes[:length] == ord(":"))
    colons = colons[colons >= 8]
    named = np.ones(len(colons), dtype=bool)
    for back in range(1, 8):
        before = codes[colons - back]
        if (named & (before == _LT) & (back > 1)).any():
            return True
        lower = before | 32
        named &= ((lower >= ord("a")) & (lower <= ord("z"))) | ((before >= ord("0")) & (before <= ord("9")))
        if not named.any():
            return False
    return False


class _Tags:
    """Sorted positions of the tags of one block; those only the searching path needs are found
    when first asked for."""

    def __init__(self, codes: np.ndarray, length: int):
        self.codes, self.length = codes, length
        self.opens = opens = np.flatnonzero(codes[:length] == _LT)
        self.following = following = codes[opens + 1]
        self.ends = opens[following == _SLASH]
        c_tags = opens[following == ord("c")]
        self.cells = self._match(c_tags, b'<c r="')
        self.any_cells = int(np.isin(codes[c_tags + 2], (32, _GT, _SLASH)).sum())  # <c …>, <c>, <c/>
        self.cell_ends = self._match(self.ends, b"</c>")
        r_tags = opens[following == ord("r")]
        self.rows = self._match(r_tags, b'<row r="')
        self.any_rows = len(self._match(r_tags, b"<row"))
        self.prefixed = _prefixed(codes, length)

    @functools.cached_property
    def closes(self) -> np.ndarray:
        return np.flatnonzero(self.codes[:self.length] == _GT)

    @functools.cached_property
    def values(self) -> np.ndarray:
        return self._match(self.opens[self.following == ord("v")], b"<v>")

    @functools.cached_property
    def value_ends(self) -> np.ndarray:
        return self._match(self.ends, b"</v>")

    @functools.cached_property
    def texts(self) -> np.ndarray:
        texts = self.opens[self.following == ord("t")]
        return texts[np.isin(self.codes[texts + 2], (_GT, 32))]  # <t> or <t xml:space="preserve">

    @functools.cached_property
    def text_ends(self) -> np.ndarray:
        return self._match(self.ends, b"</t>")

    @functools.cached_property
    def runs(self) -> np.ndarray:
        return self._match(self.opens[self.following == ord("r")], b"<r>")

    def _match(self, opens: np.ndarray, tag: bytes) -> np.ndarray:
        for k, byte in enumerate(tag[2:], start=2):
            opens = opens[self.codes[opens + k] == byte]
        return opens

    @staticmethod
    def after(positions: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """The first of ``positions`` at or after each of ``starts`` (len(codes) where none)."""
        found = np.searchsorted(positions, starts)
        out = np.full(len(starts), np.iinfo(np.int64).max, dtype=np.int64)
        inside = found < len(positions)
        out[inside] = positions[found[inside]]
        return out


DIGITS = 10  # digits read of a number; a longer one (a row beyond any limit) reads as 10**DIGITS


def numbers(codes: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, ends)`` of the decimal numbers at ``starts`` (0 and the start where none)."""
    values, ends = np.zeros(len(starts), dtype=np.int64), starts.astype(np.int64).copy()
    going = np.arange(len(starts))  # the numbers still being read
    for _ in range(DIGITS):
        digit = codes[ends[going]].astype(np.int64) - 48
        going = going[(digit >= 0) & (digit <= 9)]
        if not len(going):
            return values, ends
        values[going] = values[going] * 10 + codes[ends[going]] - 48
        ends[going] += 1
    values[going] = 10 ** DIGITS  # still digits after DIGITS of them
    return values, ends


def cell_references(codes: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(columns, rows, ends)`` of the cell references ``AB3"`` at ``starts`` (1-based; ``ends``:
    the closing quote), or None when one is not letters, digits and a quote."""
    columns = np.zeros(len(starts), dtype=np.int64)
    ends, going = starts.astype(np.int64).copy(), np.ones(len(starts), dtype=bool)
    for _ in range(3):  # column letters A..XFD
        letter = codes[ends].astype(np.int64) - 64
        going &= (letter >= 1) & (letter <= 26)
        columns = np.where(going, columns * 26 + letter, columns)
        ends += going
    rows, after = numbers(codes, ends)
    if ((columns == 0) | (after == ends) | (codes[after] != _QUOTE)).any():
        return None
    return columns, rows, after


def _attribute(codes: np.ndarray, closes: np.ndarray, cells: np.ndarray, tag_ends: np.ndarray,
               name: bytes) -> np.ndarray:
    """Position of the value of attribute ``name`` (`` t="``) within each cell's start tag, or -1
    (for the few cells whose attributes are not where they usually are)."""
    pattern = b" " + name + b'="'
    out = np.full(len(cells), -1, dtype=np.int64)
    for offset in range(int((tag_ends - cells).max(initial=0))):
        where = np.flatnonzero((out < 0) & (cells + offset + len(pattern) <= tag_ends))
        if not len(where):
            break
        found = _at(codes, cells[where] + offset, pattern)
        out[where[found]] = cells[where[found]] + offset + len(pattern)
    return out


def _gather(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The bytes ``codes[start:end]`` of each pair as one string array."""
    lengths = np.maximum(ends - starts, 0)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    index = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1] - starts, lengths)
    data = codes[index]
    if total >= 2**31:
        raise Unsupported("block too large")
    return pa.Array.from_buffers(pa.string(), len(starts), [None, pa.py_buffer(offsets.astype(np.int32)),
                                                             pa.py_buffer(data)])


_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(match: re.Match) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED[name]
    return chr(int(name[1:].removeprefix("x"), 16) if name[1] == "x" else int(name[1:]))  # XML: &#128; is U+0080, not HTML's €


def _unescape(text: str) -> str:
    """XML entities and Excel's ``_xHHHH_`` escapes decoded."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), _ENTITY.sub(_entity, text))


def _decode_marked(values: pa.Array, codes: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                   marks: np.ndarray) -> pa.Array:
    """Values with XML entities (``&``) or ``_xHHHH_`` escapes decoded (only those cells)."""
    if not len(marks):
        return values
    first = np.searchsorted(marks, starts)
    has = (first < len(marks)) & (marks[np.minimum(first, len(marks) - 1)] < ends)
    where = np.flatnonzero(has)
    if not len(where):
        return values
    decoded = pa.array([_unescape(t) for t in values.take(where).to_pylist()], type=pa.string())
    mask = np.zeros(len(values), dtype=bool)
    mask[where] = True
    return pc.replace_with_mask(values, pa.array(mask), decoded)


def _marks(codes: np.ndarray, length: int) -> np.ndarray:
    """Positions of ``&`` and of ``_x`` (where an entity or an Excel escape may begin)."""
    ampersands = np.flatnonzero(codes[:length] == ord("&"))
    underscores = np.flatnonzero(codes[:length] == ord("_"))
    underscores = underscores[codes[underscores + 1] == ord("x")]
    return np.union1d(ampersands, underscores)


def _numpy_mask(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False).astype(bool)


def _number_texts(values: pa.Array, dates: np.ndarray) -> pa.Array:
    """Numbers as python-calamine's values are shown: whole numbers without ``.0``, others in
    their shortest exact form, and those in a date format as ``YYYY-MM-DD HH:MM:SS(.fff)``."""
    try:
        numbers = pc.cast(values, pa.float64(), safe=False) if len(values) else pa.array([], pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise Unsupported("a number that is not one") from err
    floats = numbers.to_numpy(zero_copy_only=False)
    out = pc.cast(numbers, pa.string())  # the shortest exact digits, as Python's repr ...
    whole = np.isfinite(floats) & (np.floor(floats) == floats)
    small = whole & (np.abs(floats) < 2.0**62)
    python = ~small & (whole | (np.abs(floats) < 1e-4) | _numpy_mask(pc.match_substring(out, "e")))
    if small.any():
        integers = pc.cast(pa.array(floats[small].astype(np.int64)), pa.string())
        out = pc.replace_with_mask(out, pa.array(small), integers)
    if python.any():  # ... but where Python writes an exponent (or a huge whole number) otherwise
        out = pc.replace_with_mask(out, pa.array(python), pa.array(
            [str(int(f)) if np.isfinite(f) and f == int(f) else repr(f) for f in floats[python].tolist()],
            type=pa.string()))
    when = np.flatnonzero(dates & np.isfinite(floats) & (floats >= 0) & (floats < 2_958_466))
    if len(when):
        mask = np.zeros(len(floats), dtype=bool)
        mask[when] = True
        out = pc.replace_with_mask(out, pa.array(mask), _moment_texts(floats[when]))
    return out


def _moment_texts(serials: np.ndarray) -> pa.Array:
    """Excel serials as ``YYYY-MM-DD HH:MM:SS`` (``.fff`` when they carry milliseconds, only
    ``YYYY-MM-DD`` for a whole day, as python-calamine gives a date), the digits written into a
    byte matrix at once."""
    ms = np.round(serials * 86_400_000).astype(np.int64)
    ms += np.where(serials < 60, 86_400_000, 0)  # before Excel's 1900-02-29 the days count from 1899-12-31
    stamps = np.datetime64("1899-12-30T00:00:00.000", "ms") + ms.astype("timedelta64[ms]")
    days = stamps.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    clock = (stamps - days).astype(np.int64)
    fields = [(years.astype(np.int64) + 1970, 4), ((months - years).astype(np.int64) + 1, 2),
              ((days - months).astype(np.int64) + 1, 2), (clock // 3_600_000, 2), (clock // 60_000 % 60, 2),
              (clock // 1000 % 60, 2), (clock % 1000, 3)]
    text = np.zeros((len(serials), 23), dtype=np.uint8)
    column = 0
    for (value, width), separator in zip(fields, b"-- ::."):
        for k in range(width):
            text[:, column + k] = 48 + value // 10 ** (width - 1 - k) % 10
        column += width
        text[:, column] = separator
        column += 1
    for k in range(3):
        text[:, 20 + k] = 48 + fields[-1][0] // 10 ** (2 - k) % 10
    lengths = np.where(clock == 0, 10, np.where(clock % 1000 == 0, 19, 23))  # a whole day reads as its date
    offsets = np.zeros(len(serials) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    keep = np.arange(23) < lengths[:, None]
    return pa.Array.from_buffers(pa.string(), len(serials), [None, pa.py_buffer(offsets.astype(np.int32)),
                                                             pa.py_buffer(text[keep].tobytes())])


def shared_strings(data: bytes) -> pa.Array:
    """The shared strings table (``xl/sharedStrings.xml``) as a string array: an item's text, or
    its runs' texts joined (phonetic runs left out)."""
    codes = np.concatenate([np.frombuffer(data, np.uint8), np.zeros(16, np.uint8)])
    tags = _Tags(codes, len(data))
    opens = np.flatnonzero(codes[:len(data)] == _LT)
    items = tags._match(opens[codes[opens + 1] == ord("s")], b"<si>")
    if not len(items):
        return pa.array([], pa.string())
    item_ends = tags._match(opens[codes[opens + 1] == _SLASH], b"</si>")
    texts_in = np.searchsorted(tags.texts, item_ends) - np.searchsorted(tags.texts, items)
    phonetic = tags._match(opens[codes[opens + 1] == ord("r")], b"<rPh")
    plain = (texts_in == 1) & ((np.searchsorted(tags.runs, item_ends) - np.searchsorted(tags.runs, items)) == 0) & (
        (np.searchsorted(phonetic, item_ends) - np.searchsorted(phonetic, items)) == 0)
    starts = np.where(texts_in >= 1, _Tags.after(tags.closes, _Tags.after(tags.texts, items)) + 1, items)
    ends = np.where(texts_in >= 1, _Tags.after(tags.text_ends, starts), items)
    values = _gather(codes, starts, np.where(plain | (texts_in == 0), ends, starts))
    values = _decode_marked(values, codes, starts, ends, _marks(codes, len(data)))
    rich = np.flatnonzero(~plain & (texts_in > 0))
    if len(rich):
        joined = [_rich_text(data[int(s):int(e)]) for s, e in zip(items[rich], item_ends[rich])]
        mask = np.zeros(len(items), dtype=bool)
        mask[rich] = True
        values = pc.replace_with_mask(values, pa.array(mask), pa.array(joined, type=pa.string()))
    return values


_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.DOTALL)
_TEXT = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.DOTALL)


def _rich_text(item: bytes) -> str:
    return "".join(_unescape(t.decode("utf-8")) for t in _TEXT.findall(_PHONETIC.sub(b"", item)))


class _Columns:
    """Text columns being filled block by block, rows from 1."""

    def __init__(self):
        self.chunks: list[list[pa.Array]] = []
        self.rows = 0  # rows filled so far (row 1 .. rows)
        self.last = [0, 0]  # the farthest row and column of a cell with a value (as calamine counts the area)

    def add(self, first_row: int, rows: int, row_of: np.ndarray, column_of: np.ndarray, values: pa.Array) -> None:
        """Rows ``first_row .. first_row + rows - 1`` (1-based): the cells at (row_of, column_of),
        in the sheet's order (rows ascending, each cell once)."""
        if first_row <= self.rows:
            raise Unsupported("rows out of order")
        gap = first_row - 1 - self.rows
        width = max(len(self.chunks), int(column_of.max(initial=-1)) + 1)
        while len(self.chunks) < width:  # a column first seen now: empty above
            self.chunks.append([_blank(self.rows)] if self.rows else [])
        order = np.argsort(column_of, kind="stable")  # by column; rows stay ascending within each
        bounds = np.searchsorted(column_of[order], np.arange(width + 1))
        padded = pa.concat_arrays([values, _blank(1)])  # a missing cell takes the last, empty, value
        for j, chunks in enumerate(self.chunks):
            if gap:
                chunks.append(_blank(gap))
            mine = order[bounds[j]:bounds[j + 1]] if j < width else order[:0]
            if not len(mine):
                chunks.append(_blank(rows))
                continue
            index = np.full(rows, len(values), dtype=np.int64)
            index[row_of[mine]] = mine
            chunks.append(padded.take(pa.array(index)))
        self.rows = first_row - 1 + rows

    def columns(self) -> list[pa.ChunkedArray]:
        """The columns from A1 to the farthest cell with a value: empty styled cells beyond do not count."""
        rows, width = self.last
        return [pa.chunked_array([c for c in chunks if len(c)] or [_blank(0)], type=pa.string()).slice(0, rows)
                for chunks in self.chunks[:width]]


def _blank(rows: int) -> pa.Array:
    """``rows`` empty texts."""
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(np.zeros(rows + 1, np.int32)), pa.py_buffer(b"")])


class _Layout:
    """Where each cell's type, style and text lie. Cells written as Excel, WPS, LibreOffice,
    openpyxl and xlsxwriter write them (``<c r="B3" s="1" t="s"><v>7</v></c>``, ``<c r="B3"
    t="inlineStr"><is><t>…</t></is></c>``) are read at fixed offsets; the others by searching
    the block's tags."""

    def __init__(self, codes: np.ndarray, cells: np.ndarray, quotes: np.ndarray, tags: _Tags):
        n = len(cells)
        self.kind = np.full(n, ord("n"), dtype=np.int64)
        self.style = np.zeros(n, dtype=np.int64)
        position = quotes + 1  # after the reference's closing quote
        styled = _at(codes, position, b' s="')
        styles, ends = numbers(codes, position[styled] + 4)
        styled_ok = codes[ends] == _QUOTE
        self.style[np.flatnonzero(styled)[styled_ok]] = styles[styled_ok]
        regular = ~styled.copy()
        regular[np.flatnonzero(styled)[styled_ok]] = True
        position = position.copy()
        position[np.flatnonzero(styled)[styled_ok]] = ends[styled_ok] + 1
        typed = _at(codes, position, b' t="')
        kind_at = position + 4
        length = np.zeros(n, dtype=np.int64)  # of the type's name: t="s" 1, t="str" 3, t="inlineStr" 9
        named = np.flatnonzero(typed)
        one = (codes[kind_at[named] + 1] == _QUOTE) & np.isin(codes[kind_at[named]], np.frombuffer(b"snbed", np.uint8))
        length[named[one]] = 1
        named = named[~one]
        for name in (b"str", b"inlineStr"):
            fits = _at(codes, kind_at[named], name + b'"')
            length[named[fits]] = len(name)
            named = named[~fits]
        regular &= ~typed | (length > 0)
        self.kind[typed & (length > 0)] = codes[kind_at[typed & (length > 0)]]
        self.kind[typed & (length == 3)] = ord("t")  # t="str": a formula's text
        position = np.where(typed & (length > 0), kind_at + length + 1, position)
        closed = codes[position] == _GT
        empty = (codes[position] == _SLASH) & (codes[position + 1] == _GT)
        regular &= closed | empty
        tag_ends = np.where(empty, position + 1, position)
        cell_ends = np.where(empty, tag_ends, _Tags.after(tags.cell_ends, cells))
        following = np.append(cells[1:], np.iinfo(np.int64).max)
        if (cell_ends > following).any():
            raise Unsupported("a cell inside a cell")
        valued = regular & ~empty & _at(codes, tag_ends + 1, b"<v>") & _at(codes, cell_ends - 4, b"</v>")
        texted = np.zeros(n, dtype=bool)
        inline = np.flatnonzero(regular & ~empty & ~valued)  # only these can hold <is><t>…</t></is>
        texted[inline] = _at(codes, tag_ends[inline] + 1, b"<is><t>") & _at(codes, cell_ends[inline] - 9, b"</t></is>")
        self.starts = np.where(valued, tag_ends + 4, np.where(texted, tag_ends + 8, tag_ends))
        self.stops = np.where(valued, cell_ends - 4, np.where(texted, cell_ends - 9, tag_ends))
        self.has_value = valued | texted
        plain = regular & (empty | valued | texted)
        if not plain.all():
            self._search(codes, cells, np.flatnonzero(~plain), tags)
        self.has_value &= self.stops >= self.starts
        self.style = np.where(self.style < 0, 0, self.style)

    def _search(self, codes: np.ndarray, cells: np.ndarray, which: np.ndarray, tags: _Tags) -> None:
        """The cells not written in the usual way: attributes and text found by searching the tags."""
        cells = cells[which]
        tag_ends = _Tags.after(tags.closes, cells)
        empty = codes[tag_ends - 1] == _SLASH
        cell_ends = np.where(empty, tag_ends, _Tags.after(tags.cell_ends, cells))
        kind = _attribute(codes, tags.closes, cells, tag_ends, b"t")
        style = _attribute(codes, tags.closes, cells, tag_ends, b"s")
        code = np.where(kind >= 0, codes[np.maximum(kind, 0)], ord("n"))
        code = np.where((code == ord("s")) & (codes[np.maximum(kind, 0) + 1] != _QUOTE), ord("t"), code)
        self.kind[which] = code
        self.style[which] = np.where(style >= 0, numbers(codes, np.maximum(style, 0))[0], 0)
        value_starts = _Tags.after(tags.values, tag_ends)
        has_value = ~empty & (value_starts < cell_ends)
        starts = np.where(has_value, value_starts + 3, tag_ends)
        stops = np.where(has_value, _Tags.after(tags.value_ends, starts), starts)
        inline = code == ord("i")
        if inline.any():
            text_starts = _Tags.after(tags.texts, tag_ends[inline])
            inside = text_starts < cell_ends[inline]
            runs = _Tags.after(tags.runs, tag_ends[inline]) < cell_ends[inline]
            second = _Tags.after(tags.texts, np.where(inside, text_starts + 1, 0)) < cell_ends[inline]
            if (runs | (inside & second)).any():
                raise Unsupported("rich text in a cell")
            opened = _Tags.after(tags.closes, text_starts) + 1
            starts[inline] = np.where(inside, opened, tag_ends[inline])
            stops[inline] = np.where(inside, _Tags.after(tags.text_ends, opened), tag_ends[inline])
            has_value[inline] = inside
        self.starts[which], self.stops[which], self.has_value[which] = starts, stops, has_value


def _at(codes: np.ndarray, positions: np.ndarray, pattern: bytes) -> np.ndarray:
    """Whether ``pattern`` is written at each of ``positions``."""
    found = np.ones(len(positions), dtype=bool)
    for k, byte in enumerate(pattern):
        found &= codes[positions + k] == byte
    return found


def _block(text: bytes, sst: pa.Array, dates: np.ndarray, columns: _Columns, limit) -> None:
    """Read the cells of one block of whole rows into ``columns``, after ``limit(rows, columns)``
    has seen the area they reach."""
    codes = np.concatenate([np.frombuffer(text, np.uint8), np.zeros(32, np.uint8)])
    tags = _Tags(codes, len(text))
    if len(tags.cells) != tags.any_cells or len(tags.rows) != tags.any_rows or tags.prefixed:
        raise Unsupported("tags spelt otherwise")
    cells = tags.cells
    if not len(cells):
        return
    references = cell_references(codes, cells + len(b'<c r="'))
    if references is None:
        raise Unsupported("a cell reference spelt otherwise")
    letters, row_numbers, after = references
    limit(int(row_numbers.max()), int(letters.max()))  # before anything is made as wide or as long as that
    if (np.diff(row_numbers * 16_384 + letters) <= 0).any():
        raise Unsupported("cells out of order")  # rows ascending, columns ascending within a row
    layout = _Layout(codes, cells, after, tags)
    shared, error = layout.kind == ord("s"), layout.kind == ord("e")
    boolean, number = layout.kind == ord("b"), (layout.kind == ord("n")) & layout.has_value
    starts, stops, has_value, style = layout.starts, layout.stops, layout.has_value, layout.style
    values = _gather(codes, starts, np.where(has_value & ~error, stops, starts))
    if b"&" in text or b"_x" in text:
        values = _decode_marked(values, codes, starts, stops, _marks(codes, len(text)))
    if shared.any():
        index = np.flatnonzero(shared)
        try:
            positions = pc.cast(values.take(index), pa.int64(), safe=False).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise Unsupported("a shared string index that is not one") from err
        if len(positions) and (positions.min() < 0 or positions.max() >= len(sst)):
            raise Unsupported("a shared string that is not there")
        mask = np.zeros(len(cells), dtype=bool)
        mask[index] = True
        values = pc.replace_with_mask(values, pa.array(mask), sst.take(pa.array(positions)))
    if boolean.any():
        mask = np.zeros(len(cells), dtype=bool)
        mask[np.flatnonzero(boolean)] = True
        shown = pc.if_else(pc.equal(values.filter(pa.array(mask)), pa.scalar("1")), pa.scalar("TRUE"),
                           pa.scalar("FALSE"))
        values = pc.replace_with_mask(values, pa.array(mask), shown)
    numeric = np.flatnonzero(number & has_value & (stops > starts))
    if len(numeric):
        styles = style[numeric]
        dated = dates[np.minimum(styles, len(dates) - 1)] & (styles < len(dates))
        mask = np.zeros(len(cells), dtype=bool)
        mask[numeric] = True
        values = pc.replace_with_mask(values, pa.array(mask), _number_texts(values.take(numeric), dated))
    first_row = int(_first_row(codes, tags.rows, row_numbers))
    rows = int(row_numbers.max()) - first_row + 1
    columns.add(first_row, rows, (row_numbers - first_row).astype(np.int64), letters - 1, values)
    if has_value.any():
        columns.last = [max(columns.last[0], int(row_numbers[has_value].max())),
                        max(columns.last[1], int(letters[has_value].max()))]


def _first_row(codes: np.ndarray, rows: np.ndarray, cell_rows: np.ndarray) -> int:
    """The first row of a block: its first row tag's number (a row may have no cells)."""
    if len(rows):
        return min(int(numbers(codes, rows[:1] + len(b'<row r="'))[0][0]), int(cell_rows.min()))
    return int(cell_rows.min())


def read_sheet(archive: zipfile.ZipFile, part: str, sst: pa.Array, dates: np.ndarray, limit) -> list | None:
    """The text columns of one sheet (row 0 = sheet row 1), or None when fastexcel must read it.

    ``limit(rows, columns)`` is called with the area from A1 to the farthest cell seen so far
    before any column is made that long or that wide (it raises to refuse the sheet)."""
    columns = _Columns()
    widest = [0, 0]

    def checked(rows: int, width: int) -> None:
        widest[0], widest[1] = max(widest[0], rows), max(widest[1], width)
        limit(*widest)

    tail, inside = b"", False
    try:
        with archive.open(part) as stream:
            while True:
                chunk = stream.read(BLOCK_BYTES)
                text, tail = tail + chunk, b""
                if not inside:
                    start = text.find(b"<sheetData")
                    if start < 0:
                        if b":sheetData" in text:
                            return None  # a namespace prefix on every tag
                        if not chunk:
                            break
                        tail = text[-16:]
                        continue
                    text, inside = text[start:], True
                end = text.find(b"</sheetData>")
                if end >= 0:
                    text, chunk = text[:end], b""
                elif chunk:  # whole rows only; the rest waits for the next block
                    cut = text.rfind(b"</row>")
                    cut = cut + len(b"</row>") if cut >= 0 else 0
                    text, tail = text[:cut], text[cut:]
                elif text.strip():
                    return None  # the sheet's XML ends inside a row
                if text:
                    _block(text, sst, dates, columns, checked)
                if not chunk:
                    break
    except Unsupported:
        return None
    rows = columns.last[0]
    return [c if len(c) == rows else pa.chunked_array([*c.chunks, _blank(rows - len(c))]) for c in columns.columns()]


__all__ = ["Unsupported", "date_styles", "read_sheet", "shared_strings"]
