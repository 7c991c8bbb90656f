"""Converting cell arguments to arrays and results back to cells (no rules here).

Cell functions receive a scalar for one cell or a 2-D list/array for a range (xlwings
``ndim=2`` or a formula engine); :func:`grid` turns any of them into a 2-D object array,
:func:`broadcast` aligns several like Excel does, and :func:`cells` assembles the answer:
values where computed, ``"#message"`` where an element failed, ``None`` where empty.
"""

from __future__ import annotations

import datetime as dt
import math
from itertools import chain

import numpy as np

from .errors import ElementErrors, KaoheError


def is_empty(value) -> bool:
    """An empty cell: None, "", NaN, or a formula engine's EMPTY sentinel."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("Token", "_Empty") or repr(value) == "empty"


# Types of cell values that are never empty: no test needed beyond the type.
_FULL = frozenset({int, bool, dt.datetime, dt.date, dt.time, np.datetime64, np.int64, np.bool_})


def _cell(value):
    """One cell value, None if empty (the test decided by the value's type, cheapest first)."""
    kind = type(value)
    if kind in _FULL:
        return value
    if kind is str:
        return value if value.strip() else None
    if kind is float:
        return None if math.isnan(value) else value
    return None if is_empty(value) else value


def _column_of_rows(value, blanks: bool = True) -> np.ndarray | None:
    """A list of equally long lists (a range as xlwings hands it over) as a 2-D object array with
    empties as None, in one pass; None for anything else."""
    if not value or type(value[0]) not in (list, tuple):
        return None
    try:  # one cell per row, the usual column: unpacking checks the width too
        flat, width = [cell for (cell,) in value], 1
    except (ValueError, TypeError):
        flat = None
    kinds = set(map(type, flat)) if flat is not None and not blanks else None
    if kinds != {float} and not set(map(type, value)) <= {list, tuple}:  # rows that held one float each pass
        return None
    if flat is None:
        widths = set(map(len, value))
        if len(widths) != 1:
            return None
        width = widths.pop()
        flat = list(chain.from_iterable(value))
        kinds = None if blanks else set(map(type, flat))
    if not blanks:
        if kinds == {float}:  # numbers, Excel serials: a float array, read at once
            return np.array(flat, dtype=float).reshape(len(value), width)
        if kinds <= _SELF_EMPTY:
            out = np.empty(len(flat), dtype=object)
            out[:] = flat
            return out.reshape(len(value), width)
    return _cells_of(flat).reshape(len(value), width)


# Types whose empty values (None, blank text, NaN) a reader such as the moment parser takes as empty
# itself: a grid of only these needs no emptiness pass when that reader comes next.
_SELF_EMPTY = frozenset({type(None), str, float, int, bool, dt.datetime, dt.date})


def _cells_of(flat: list) -> np.ndarray:
    """A flat list of cell values as a 1-D object array with empties as None: what :func:`_cell`
    does to each, by type groups (floats tested for NaN at once, texts for blankness by C-level maps)."""
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    kinds = list(map(type, flat))
    code_of = {kind: code for code, kind in enumerate(dict.fromkeys(kinds))}
    if code_of.keys() <= _FULL:
        return out
    if len(code_of) > 1:
        codes = np.fromiter(map(code_of.__getitem__, kinds), dtype=np.intp, count=len(kinds))
    for kind, code in code_of.items():
        if kind in _FULL:
            continue
        at = np.flatnonzero(codes == code) if len(code_of) > 1 else np.arange(len(flat))
        group = out[at].tolist() if len(code_of) > 1 else flat
        if kind is float:
            out[at[np.isnan(np.array(group, dtype=float))]] = None
        elif kind is str:  # blank: what str.strip() leaves nothing of
            blank = np.fromiter(map(str.isspace, group), dtype=bool, count=len(group))
            out[at[blank | (np.fromiter(map(len, group), dtype=np.intp, count=len(group)) == 0)]] = None
        else:
            for index, item in zip(at.tolist(), group):
                out[index] = _cell(item)
    return out


def grid(value, blanks: bool = True) -> np.ndarray:
    """Any cell argument as a 2-D object array, empties as None.

    ``blanks=False``: blank text and NaN in a column of plain values may stay as they are, for a
    reader that takes them as empty itself (:func:`udfs.moments.parse_moments`); a column of
    floats only comes back as a float array."""
    if isinstance(value, (list, tuple)):
        rows = _column_of_rows(value, blanks)
        if rows is not None:
            return rows
    if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
        array = value.astype(object)
        return array.reshape(1, 1) if array.ndim == 0 else array.reshape(-1, 1) if array.ndim == 1 else array
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
    flat = [_cell(item) for item in array.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)


def shape_of(*grids: np.ndarray) -> tuple[int, ...]:
    """The shape the grids broadcast to; a mismatch raises a Chinese message."""
    try:
        return np.broadcast_shapes(*(g.shape for g in grids))
    except ValueError:
        shapes = "、".join(f"{g.shape[0]}行×{g.shape[1]}列" for g in grids)
        raise KaoheError(f"区域大小不一致: {shapes}", f"ranges have different shapes: {shapes}") from None


def number_grid(value) -> np.ndarray:
    """:func:`grid` of an argument of numbers: a range holding only numbers comes back as a float
    array (NaN where a cell is empty), read at once; any other as :func:`grid` gives it."""
    cells = grid(value, blanks=False)
    if cells.dtype.kind == "f":
        return cells
    return _cells_of(cells.reshape(-1).tolist()).reshape(cells.shape)


def broadcast(*values, moments: tuple[int, ...] = (), numbers: tuple[int, ...] = ()) -> list[np.ndarray]:
    """Grids of all arguments, aligned like Excel aligns them; a mismatch raises a Chinese message.

    A single cell stays a 1×1 grid (numpy broadcasting stretches it where it meets a column), so
    that a scalar argument such as a unit is read once, not once per row; other grids are
    broadcast to the common shape. The arguments at positions ``moments`` go to the moment
    parser, which reads blank text as empty: their grids skip that test (``grid(blanks=False)``);
    those at ``numbers`` are read by :func:`number_grid`.
    """
    grids = [number_grid(v) if position in numbers else grid(v, blanks=position not in moments)
             for position, v in enumerate(values)]
    shape = shape_of(*grids)
    return [g if g.size == 1 or g.shape == shape else np.broadcast_to(g, shape) for g in grids]


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
        return None if math.isnan(value) else float(value)
    return value


# Values :func:`to_cell` returns unchanged: an object array of only these needs no pass.
_PLAIN = frozenset({str, int, bool, float, dt.datetime, type(None)})


def _plain_cells(values: np.ndarray) -> np.ndarray:
    """A result array as an object array of plain cell values, by whole-array casts where the
    dtype allows (what :func:`to_cell` does one element at a time)."""
    kind = values.dtype.kind
    if kind == "M":
        moments = values.astype("datetime64[s]")
        return moments.astype(object)  # datetimes; NaT becomes None
    if kind == "f":
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out
    if kind in "iubU":
        return values.astype(object)
    if kind == "O":
        flat = values.reshape(-1)
        if all(type(v) in _PLAIN for v in flat):
            out = flat.copy()
            floats = np.fromiter((type(v) is float and math.isnan(v) for v in flat), dtype=bool, count=flat.size)
            out[floats] = None
            return out.reshape(values.shape)
    out = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        out[index] = to_cell(value)
    return out


def cells(values, messages=None, empty=None) -> np.ndarray:
    """The 2-D result: ``#message`` where ``messages`` is set, None where ``empty``, else the value.

    The three are broadcast to one shape (a result computed from single cells meets a column's
    messages or empties)."""
    values = np.asarray(values)
    values = values.reshape(1, 1) if values.ndim == 0 else values
    if messages is not None:
        messages = np.asarray(messages, dtype=object)
        messages = messages.reshape(values.shape) if messages.size == values.size else messages
    shapes = [values.shape] + [np.shape(a) for a in (messages, empty) if a is not None]
    shape = np.broadcast_shapes(*shapes)
    out = _plain_cells(values)
    if out.shape != shape:
        out = np.broadcast_to(out, shape).copy()
    if empty is not None:
        out[np.broadcast_to(empty, out.shape)] = None
    if messages is not None:
        messages = np.broadcast_to(messages, out.shape)
        bad = messages != ""
        if bad.any():
            out[bad] = np.char.add("#", messages[bad].astype(str)).astype(object)
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
