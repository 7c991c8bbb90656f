"""The one registry of cell functions (KH_*): names, Chinese help, arguments, examples.

The xlwings layer (:mod:`udfs.excel`), the formula-engine tests and the README's function
table are all generated from :data:`CATALOGUE`. A cell function here takes cell values as
xlwings or a formula engine hands them over (a scalar, or a 2-D list/array for a range)
and returns a 2-D object array of the broadcast shape: numbers, booleans, text, datetimes,
``None`` for an empty result, and ``"#..."`` Chinese messages for a bad element.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

CATEGORY = "考核"
MAX_HELP = 255  # Excel's limit for function and argument descriptions


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argument: ASCII ``name`` (valid in VBA), Chinese help, unit, optional or not."""

    name: str
    help: str
    unit: str = ""
    optional: bool = False

    @property
    def description(self) -> str:
        """What the function wizard shows for this argument."""
        text = self.help + (f"(单位: {self.unit})" if self.unit else "")
        return text + ("。可省略" if self.optional else "")


@dataclasses.dataclass(frozen=True)
class Function:
    name: str
    zh_name: str
    description: str
    args: tuple[Arg, ...]
    returns: str
    example: str
    impl: Callable


CATALOGUE: dict[str, Function] = {}


def register(name: str, zh_name: str, description: str, args: tuple[Arg, ...] | list[Arg], returns: str, example: str):
    """Decorator adding a cell function to :data:`CATALOGUE` under ``name``."""

    def add(impl: Callable) -> Callable:
        if name in CATALOGUE:
            raise ValueError(f"duplicate cell function {name}")
        CATALOGUE[name] = Function(name, zh_name, description, tuple(args), returns, example, impl)
        return impl

    return add


def load_all() -> dict[str, Function]:
    """Import every module that registers cell functions and return the catalogue."""
    import importlib
    import pkgutil

    import udfs

    for module in pkgutil.iter_modules(udfs.__path__):
        if module.name.endswith("cells"):
            importlib.import_module(f"udfs.{module.name}")
    return CATALOGUE


def markdown_table() -> str:
    """The README's function table, generated from the catalogue."""
    lines = ["| 函数 | 中文名 | 说明 | 参数 | 示例 |", "|---|---|---|---|---|"]
    for spec in load_all().values():
        args = "<br>".join(f"`{a.name}`{'(可省略)' if a.optional else ''}: {a.help}" + (f"({a.unit})" if a.unit else "")
                           for a in spec.args) or "—"
        signature = ", ".join(f"[{a.name}]" if a.optional else a.name for a in spec.args)
        lines.append(f"| `{spec.name}({signature})` | {spec.zh_name} | {spec.description} | {args} | `{spec.example}` |")
    return "\n".join(lines)
