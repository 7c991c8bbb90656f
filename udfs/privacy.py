"""Masking phone numbers for archives (``138****5678``)."""

from __future__ import annotations

import re

import numpy as np

# Mainland mobile numbers (optionally +86), and landlines with an area code.
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}[- ]?)(\d{3,4})(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """Every phone number in ``text`` with its middle digits replaced by ``*``.

    Mobile ``13812345678`` → ``138****5678``; landline ``0750-3456789`` → ``0750-***6789``.
    Other text is kept as it is.
    """
    text = _MOBILE.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)
    return _LANDLINE.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)


def mask_phones(values) -> np.ndarray:
    """:func:`mask_phone` over an array; non-text values become text first, empties stay None."""
    values = np.asarray(values, dtype=object)
    out = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        if value is None or (isinstance(value, float) and value != value):
            out[index] = None
        else:
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a number typed into a cell arrives as float
            out[index] = mask_phone(str(value))
    return out
