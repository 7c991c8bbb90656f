"""Errors that users see: Chinese first, English after, naming the value at fault."""

from __future__ import annotations

import numpy as np


class KaoheError(ValueError):
    """A bad input or a rule that cannot be applied.

    ``zh`` is the short Chinese message shown in a cell (it starts with ``#`` there);
    ``en`` the English one; ``str(err)`` gives both.
    """

    def __init__(self, zh: str, en: str = ""):
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}" if en else zh)


class ElementErrors(KaoheError):
    """Some elements of a vectorized call could not be computed.

    ``values`` holds the result with the bad elements set to NaN/NaT, ``messages`` an
    object array of the same shape with a Chinese message per bad element ("" elsewhere).
    Callers that can report per element (cell functions, the ledger's 拒收 sheet) catch it;
    everyone else gets an exception naming the first bad element.
    """

    def __init__(self, values, messages: np.ndarray):
        self.values = values
        self.messages = messages
        bad = np.flatnonzero(messages != "")
        first = int(bad[0]) if len(bad) else -1
        self.first = first
        if len(bad) == 1 and messages.size == 1:
            zh = str(messages.flat[first])
        else:
            zh = f"{len(bad)} 个元素无法计算，第一个(序号 {first}): {messages.flat[first]}"
        super().__init__(zh, f"{len(bad)} element(s) could not be computed; first at index {first}")


def collect(values, messages: np.ndarray):
    """Return ``values`` or raise :class:`ElementErrors` if any message is set."""
    if messages is not None and (messages != "").any():
        raise ElementErrors(values, messages)
    return values


def with_messages(function, *args, **kwargs):
    """``(values, messages)`` of a vectorized call that raises :class:`ElementErrors` for bad
    elements; ``messages`` has the result's shape, "" where the element was computed."""
    try:
        values = function(*args, **kwargs)
    except ElementErrors as err:
        return err.values, err.messages
    return values, np.full(np.shape(values), "", dtype=object)


def merge_messages(*arrays: np.ndarray | None) -> np.ndarray | None:
    """Element-wise first non-empty message of several message arrays (None = no messages)."""
    present = [a for a in arrays if a is not None]
    if not present:
        return None
    out = np.broadcast_arrays(*present)[0].astype(object).copy()
    for other in np.broadcast_arrays(*present)[1:]:
        fill = (out == "") & (other != "")
        out[fill] = other[fill]
    return out
