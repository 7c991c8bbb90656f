"""Converting cell arguments to arrays and results back to cells (no rules here).

Cell functions receive a scalar for one cell or a 2-D list/array for a range (xlwings
``ndim=2`` or a formula engine); :func:`grid` turns any of them into a 2-D object array,
:func:`broadcast` aligns several like Excel does, and :func:`cells` assembles the answer:
values where computed, ``"#message"`` where an element failed, ``None`` where empty.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .errors import ElementErrors, KaoheError


def is_empty(value) -> bool:
    """An empty cell: None, "", NaN, or a formula engine's EMPTY sentinel."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("Token", "_Empty") or repr(value) == "empty"


def grid(value) -> np.ndarray:
    """Any cell argument as a 2-D object array, empties as None."""
    if isinstance(value, np.ndarray):
        array = value.astype(object)
    elif isinstance(value, (list, tuple)):
        array = np.array(value, dtype=object)
        if array.ndim == 1:
            array = array.reshape(-1, 1) if value and not isinstance(value[0], (list, tuple)) else array
    else:
        array = np.array(value, dtype=object)
    array = array.reshape(1, 1) if array.ndim == 0 else array
    array = array.reshape(-1, 1) if array.ndim == 1 else array
    out = np.empty(array.shape, dtype=object)
    for index, item in np.ndenumerate(array):
        out[index] = None if is_empty(item) else item
    return out


def broadcast(*values) -> list[np.ndarray]:
    """Grids of all arguments broadcast to one shape; a mismatch raises a Chinese message."""
    grids = [grid(v) for v in values]
    try:
        return list(np.broadcast_arrays(*grids))
    except ValueError:
        shapes = "、".join(f"{g.shape[0]}行×{g.shape[1]}列" for g in grids)
        raise KaoheError(f"区域大小不一致: {shapes}", f"ranges have different shapes: {shapes}") from None


def scalar(value, default=None):
    """One value from an argument that must be a single cell (e.g. a rulebook name)."""
    array = grid(value)
    if array.size != 1:
        raise KaoheError("此参数只能是单个单元格", "this argument takes a single cell")
    item = array.flat[0]
    return default if item is None else item


def to_cell(value):
    """One numpy/Python value as a plain cell value."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else value.astype("datetime64[s]").astype(dt.datetime)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if value != value else float(value)
    return value


def cells(values, messages=None, empty=None) -> np.ndarray:
    """The 2-D result: ``#message`` where ``messages`` is set, None where ``empty``, else the value."""
    values = np.asarray(values)
    values = values.reshape(1, 1) if values.ndim == 0 else values
    out = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        out[index] = to_cell(value)
    if empty is not None:
        out[np.broadcast_to(empty, out.shape)] = None
    if messages is not None:
        messages = np.broadcast_to(np.asarray(messages, dtype=object).reshape(out.shape), out.shape)
        bad = messages != ""
        out[bad] = np.char.add("#", messages[bad].astype(str)).astype(object) if bad.any() else out[bad]
    return out


def guarded(compute):
    """Run ``compute()`` → ``(values, messages, empty)``; any KaoheError becomes ``#message`` cells.

    :class:`~udfs.errors.ElementErrors` keeps the good elements; another KaoheError (a bad
    scalar argument such as an unknown unit) fills every cell with its message.
    """
    try:
        return cells(*compute())
    except ElementErrors as err:
        return cells(err.values, err.messages)
    except KaoheError as err:
        return np.array([[f"#{err.zh}"]], dtype=object)
