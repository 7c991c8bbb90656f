"""Masking phone numbers for archives (``138****5678``)."""

from __future__ import annotations

import math
import re

import numpy as np

_DIGIT = "[0-9０-９]"
_SEP = "[-\\s－　]?"  # a hyphen or space (half or full width) between groups, as people type them
_NOT_BEFORE = "(?<![A-Za-z0-9０-９_\\-－])"  # not inside an id such as TS-13912345678
_NOT_AFTER = "(?![0-9０-９A-Za-z])"
# Mainland mobile numbers (optionally +86), and landlines with an area code (optionally in brackets).
_MOBILE = re.compile(
    _NOT_BEFORE + f"((?:[+＋]?(?:86|８６){_SEP})?[1１][3-9３-９]{_DIGIT}){_SEP}({_DIGIT}{{4}}){_SEP}({_DIGIT}{{4}})"
    + _NOT_AFTER)
_LANDLINE = re.compile(
    _NOT_BEFORE + f"([(（]?[0０]{_DIGIT}{{2,3}}[)）]?{_SEP})({_DIGIT}{{3,4}}){_SEP}({_DIGIT}{{4}})" + _NOT_AFTER)


def _masked(match: re.Match) -> str:
    """The number with the digits of its middle group starred; separators and the rest kept."""
    start, end = match.span(2)
    text = match.group(0)
    offset = match.start(0)
    middle = "".join("*" if ch.isdigit() else ch for ch in text[start - offset:end - offset])
    return text[:start - offset] + middle + text[end - offset:]


def mask_phone(text: str) -> str:
    """Every phone number in ``text`` with its middle digits replaced by ``*``.

    Mobile ``13812345678`` → ``138****5678`` (also ``138 1234 5678``, ``138-1234-5678``,
    ``+86 138…``, full-width digits); landline ``0750-3456789`` → ``0750-***6789`` (also
    ``(0750)3456789``, ``0750 345 6789``). Digits inside an id (``TS-13912345678``) and other
    text are kept as they are.
    """
    return _LANDLINE.sub(_masked, _MOBILE.sub(_masked, text))


def mask_phones(values) -> np.ndarray:
    """:func:`mask_phone` over an array; non-text values become text first, empties stay None."""
    values = np.asarray(values, dtype=object)
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [_masked_cell(value) for value in values.reshape(-1).tolist()]
    return out


def _masked_cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value) is not str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a number typed into a cell arrives as float
        value = str(value)
    return mask_phone(value)
