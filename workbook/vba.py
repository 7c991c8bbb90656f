"""The VBA side of the assessment workbook (.xlsm): xlwings' own standalone project, its
settings sheet, and buttons that call ``RunPython`` with the Python call as their argument.

No VBA of ours. The project is ``xl/vbaProject.bin`` of ``quickstart_standalone.xlsm`` in
the *installed* xlwings package, read at build time and never copied into this repository
(``xlwings quickstart NAME --standalone`` copies the same file). Its modules:

* ``xlwings`` — the add-in's code as one standard module: ``RunPython``, ``ImportPythonUDFs``,
  ``GetConfig`` (reads the ``xlwings.conf`` sheet), the UDF server glue;
* ``Dictionary`` — a class module xlwings needs on macOS;
* ``Module1`` — ``SampleCall`` (runs ``main()`` of a module named like the workbook; unused);
* ``ThisWorkbook``, ``Sheet1``, ``Sheet2`` — empty document modules.

The VBA names the xlwings DLL of its own version (``xlwings64-0.37.8.dll``), so the workbook
must be built with the same xlwings version the user's Python has: build it on the user's
machine (``kaohe workbook``), which is what reading the project at build time gives.

Buttons. xlsxwriter's ``insert_button`` takes the text of the button's macro reference
(``FmlaMacro`` in the VML drawing). Excel runs a reference of the form
``'Macro "argument"'`` as a call with that argument (the "macro with arguments" form typed
into Assign Macro or set as ``OnAction``), and a saved Excel file keeps such a reference
quoted, without the ``[0]!`` workbook prefix Excel puts before plain macro names. So a button
runs ``'RunPython "import macros;macros.generate_month()"'``: xlwings' public API with the
Python call as its argument, no glue Sub. Only Excel can prove that the click runs it.

The builder calls, on an ``xlsxwriter.Workbook`` whose file name ends in ``.xlsm``::

    attach_standalone_project(book)       # the xlwings VBA, workbook codename ThisWorkbook
    add_buttons(sheet, BUTTONS)           # 生成本月考核表, 导出台账归档, 刷新节假日
    add_xlwings_conf(book)                # the xlwings.conf sheet (UDF Modules = udfs.excel, ...)
    add_intellisense(book)                # the _IntelliSense_ sheet: per-argument help (Excel-DNA IntelliSense)
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

STANDALONE_WORKBOOK = "quickstart_standalone.xlsm"
VBA_PROJECT_PART = "xl/vbaProject.bin"
WORKBOOK_CODENAME = "ThisWorkbook"  # the xlwings module refers to ThisWorkbook only
RUN_PYTHON = "RunPython"            # Public Function RunPython(PythonCommand As String)
IMPORT_UDFS = "ImportPythonUDFs"    # Sub ImportPythonUDFs(): imports the UDF Modules' functions
ON_ACTION_LIMIT = 255               # a conservative bound for a macro reference (Excel's limit for names)


# -- the VBA project -------------------------------------------------------------------------------
def standalone_path() -> Path:
    """``quickstart_standalone.xlsm`` of the installed xlwings package (found without importing
    xlwings: ``udfs.excel`` stays the one module that does)."""
    spec = importlib.util.find_spec("xlwings")
    path = Path(spec.origin).parent / STANDALONE_WORKBOOK if spec and spec.origin else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"the installed xlwings has no {STANDALONE_WORKBOOK}: {path}")
    return path


def standalone_version() -> str:
    """The installed xlwings version: the version of the VBA, which names that version's DLL."""
    return importlib.metadata.version("xlwings")


def standalone_project() -> bytes:
    """The bytes of ``xl/vbaProject.bin`` in the installed xlwings' standalone quickstart workbook."""
    with zipfile.ZipFile(standalone_path()) as archive:
        return archive.read(VBA_PROJECT_PART)


def attach_standalone_project(book) -> None:
    """Embed the xlwings standalone VBA project in ``book`` (an ``xlsxwriter.Workbook``; its
    file name must end in ``.xlsm``) and give the workbook the codename the VBA uses.

    Worksheets keep xlsxwriter's default codenames (``Sheet1``, ``Sheet2`` ...): the xlwings
    code does not refer to any sheet by codename.
    """
    book.add_vba_project(io.BytesIO(standalone_project()), is_stream=True)
    book.set_vba_name(WORKBOOK_CODENAME)


# -- the xlwings.conf sheet --------------------------------------------------------------------------
CONF_SHEET = "xlwings.conf"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of the ``xlwings.conf`` sheet: key (column A), value (column B), and why."""

    key: str
    value: str | bool
    why: str


# xlwings docs, "Add-in & Settings" (docs/addin.rst): "Workbook specific settings are set by
# listing the config key/value pairs in a sheet with the name xlwings.conf"; they override the
# user's %USERPROFILE%\.xlwings\xlwings.conf and an xlwings.conf file beside the workbook.
# The standalone module reads them in GetConfigFromSheet: keys from A1 down to the first blank
# cell, compared in capitals, values from column B. A key present with an empty value would
# override the user's file with "", so keys we do not need are left out, not left blank.
SETTINGS = (
    Setting("UDF Modules", "udfs.excel",
            "UDF Modules: \"Names of Python modules (without .py extension) from which the UDFs are "
            "being imported\"; ours is the one module that exposes the KH_ functions."),
    Setting("Use UDF Server", True,
            "RunPython: Use UDF Server: \"Uses the same COM Server for RunPython as for UDFs\". "
            "刷新节假日 loads the workbook's 节假日 sheet into the process that computes the cells, "
            "and the buttons start without a new Python each time."),
)
# Deliberately absent: Interpreter_Win. Without it xlwings uses the user's config file, which
# `xlwings addin install` / `xlwings config create` write with INTERPRETER_WIN = that Python
# (xlwings/cli.py, config_create), and else `python`/`pythonw` from PATH.

CONF_NOTES = (
    "说明: 本页是 xlwings 的工作簿设置(A 列键、B 列值，从 A1 起连续书写，中间不能有空行；本列的说明不被读取)。",
    "UDF Modules = udfs.excel: 导入 KH_ 单元格函数的 Python 模块；首次使用运行宏 ImportPythonUDFs。",
    "Use UDF Server = TRUE: 按钮在计算单元格函数的同一个 Python 进程中运行(刷新节假日因此对单元格生效)。",
    ("如需指定 Python，在上面设置的紧下一行(不留空行)写 Interpreter_Win 和 python.exe 的完整路径；"
     "不写时使用 %USERPROFILE%\\.xlwings\\xlwings.conf 中的设置(xlwings addin install 会写入)。"),
)


def add_xlwings_conf(book, *, interpreter: str | None = None, settings: Iterable[Setting] = SETTINGS,
                     notes: Iterable[str] = CONF_NOTES):
    """Add the ``xlwings.conf`` sheet to ``book`` and return it: ``settings`` in A1:B*, and
    ``notes`` in column D (xlwings reads column A down to its first blank cell, so a setting a
    user adds on the next row never runs into the notes).

    ``interpreter`` (a python.exe path) adds ``Interpreter_Win`` for this workbook only.
    """
    rows = list(settings)
    if interpreter:
        rows.insert(0, Setting("Interpreter_Win", interpreter, "the Python for this workbook"))
    sheet = book.add_worksheet(CONF_SHEET)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 40)
    for i, setting in enumerate(rows):
        if not setting.key or not str(setting.value).strip():
            raise ValueError(f"xlwings.conf: empty key or value in {setting!r}")
        sheet.write_string(i, 0, setting.key)
        if isinstance(setting.value, bool):
            sheet.write_boolean(i, 1, setting.value)
        else:
            sheet.write_string(i, 1, setting.value)
    sheet.set_column(3, 3, 100)
    for i, note in enumerate(notes):
        sheet.write_string(i, 3, note)
    # xlwings' own settings, with its English keys: hidden (the standalone VBA's GetConfigFromSheet reads a
    # hidden sheet as well; 说明 says how to show it to add Interpreter_Win)
    sheet.hide()
    return sheet


# -- buttons ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Button:
    """A form button: its caption and either the Python that ``RunPython`` runs or the name of
    a macro of the xlwings project that takes no argument (such as ``ImportPythonUDFs``)."""

    caption: str
    python: str = ""
    macro_name: str = ""

    def __post_init__(self):
        if bool(self.python) == bool(self.macro_name):
            raise ValueError(f"button {self.caption!r}: give python or macro_name, not both or neither")
        if self.python and any(c in self.python for c in "\"'\r\n"):
            raise ValueError(f"button {self.caption!r}: the Python call may not contain quotes or line breaks")
        if len(self.macro) > ON_ACTION_LIMIT:
            raise ValueError(f"button {self.caption!r}: macro reference longer than {ON_ACTION_LIMIT} characters")

    @property
    def macro(self) -> str:
        """The macro reference as it goes into the VML drawing (``FmlaMacro``)."""
        if self.python:
            return f"'{RUN_PYTHON} \"{self.python}\"'"
        return f"[0]!{self.macro_name}"


BUTTONS = (
    Button("生成本月考核表", python="import macros;macros.generate_month()"),
    Button("导出台账归档", python="import macros;macros.export_archive()"),
    Button("刷新节假日", python="import macros;macros.refresh_holidays()"),
)
# Optional: the first-time step of the README as a button; an existing xlwings Sub, no argument.
IMPORT_FUNCTIONS = Button("导入单元格函数", macro_name=IMPORT_UDFS)


def add_buttons(sheet, buttons: Iterable[Button] = BUTTONS, *, row: int = 0, col: int = 0,
                width: int = 128, height: int = 32, gap: int = 12) -> None:
    """Place ``buttons`` side by side on ``sheet`` (an xlsxwriter worksheet), the first at the
    top left of cell (``row``, ``col``), ``width`` × ``height`` pixels, ``gap`` pixels apart.

    xlsxwriter writes every macro as ``[0]!`` + name; for a ``RunPython`` call the reference
    is set as Excel itself saves a macro call with an argument (quoted, no prefix).
    """
    for i, button in enumerate(buttons):
        sheet.insert_button(row, col, {"caption": button.caption, "macro": button.macro_name or RUN_PYTHON,
                                       "width": width, "height": height, "x_offset": i * (width + gap)})
        sheet.buttons_list[-1].macro = button.macro


# -- per-argument help: the Excel-DNA IntelliSense add-in's sheet ---------------------------------------
INTELLISENSE_SHEET = "_IntelliSense_"
INTELLISENSE_VERSION = "1.0"


def intellisense_rows() -> list[list[str]]:
    """The rows of the ``_IntelliSense_`` sheet, from the function catalogue: ``FunctionInfo`` and the
    version, then per ``KH_`` function its name, description, help topic (none) and a name/description
    pair per argument (optional ones in brackets, as Excel writes them). The Excel-DNA IntelliSense
    add-in (ExcelDna.IntelliSense.xll, WorkbookIntelliSenseProvider) reads this sheet of an open workbook,
    hidden or not, and shows the help while a formula is typed."""
    from udfs.catalogue import MAX_HELP, load_all

    def clip(text: str) -> str:
        return text if len(text) <= MAX_HELP else text[:MAX_HELP - 1] + "…"

    rows = [["FunctionInfo", INTELLISENSE_VERSION]]
    for spec in load_all().values():
        row = [spec.name, clip(f"{spec.zh_name}: {spec.description}"), ""]
        for arg in spec.args:
            row += [f"[{arg.name}]" if arg.optional else arg.name, clip(arg.description)]
        rows.append(row)
    return rows


def add_intellisense(book):
    """Add the hidden ``_IntelliSense_`` sheet (the last sheet, as the add-in's guide asks) and return it."""
    sheet = book.add_worksheet(INTELLISENSE_SHEET)
    for i, row in enumerate(intellisense_rows()):
        for j, value in enumerate(row):
            if value:
                sheet.write_string(i, j, value)
    sheet.hide()
    return sheet
