"""A rulebook carried inside a workbook, so that it loads on any computer without a path.

A workbook built for a rulebook that is not installed under its name (a contract's own file,
e.g. ``jiangmen_demo.toml``) carries the rulebook's text, with the files it ``extends``, on the
hidden sheet :data:`RULES_SHEET`, and the defined name ``考核办法`` refers to that sheet's cells:
A1 the rulebook's name, then one row per line of each file (column A the file's name, column B
the line). :func:`rulebook_from_cells` turns those cells (as a cell function or a button gets
them) back into the rulebook.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from .errors import KaoheError
from .rulebook import load

RULES_SHEET = "规则文件"   # hidden: the embedded rulebook files
EMBEDDED_DIR = "kaohe-embedded-rulebooks"


def rulebook_from_cells(cells):
    """The rulebook named by a ``考核办法`` value: a name (one cell) is returned as it is; the cells of
    :data:`RULES_SHEET` (rows of ``(file, line)``, the first row's first cell the rulebook's name)
    give the :class:`~udfs.rulebook.Rulebook` they hold, written once to a folder named by a hash of
    the text (so an edited copy is never mistaken for another) and loaded from there."""
    grid = np.asarray(cells, dtype=object)
    if grid.size <= 1:
        value = grid.reshape(-1)[0] if grid.size else None
        return "" if value is None else str(value).strip()
    grid = grid.reshape(grid.shape[0], -1)
    name = str(grid[0, 0] or "").strip()
    files: dict[str, list[str]] = {}
    for row in grid[1:]:
        file = str(row[0] or "").strip()
        if file:
            files.setdefault(file, []).append("" if row.shape[0] < 2 or row[1] is None else str(row[1]))
    if not name or f"{name}.toml" not in files:
        raise KaoheError(f"“{RULES_SHEET}”表中没有考核办法 {name or '(未命名)'} 的规则文件",
                         f"the sheet {RULES_SHEET} holds no rulebook file for {name!r}")
    texts = {file: "\n".join(lines) + "\n" for file, lines in files.items()}
    digest = hashlib.sha256(repr(sorted(texts.items())).encode("utf-8")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / EMBEDDED_DIR / digest
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in texts.items():
        target = folder / Path(file).name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return load(folder / f"{name}.toml", dirs=(folder,))


def rulebook_files(rulebook) -> list[tuple[str, str]]:
    """``(file name, text)`` of ``rulebook``'s file and of every file it ``extends``, the rulebook's own
    first: what a workbook carries so that the rulebook loads where it was never installed."""
    out, book = [], rulebook
    while book is not None:
        path = Path(book.path)
        out.append((path.name, path.read_text(encoding="utf-8")))
        if not book.extends:
            break
        relative = path.parent / book.extends
        book = load(relative if relative.suffix == ".toml" and relative.is_file() else book.extends,
                    dirs=(path.parent,))
    return out
