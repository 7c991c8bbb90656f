"""LibreOffice (headless) as an independent, third-party reader of the workbooks we write.

Usage in a test file (``tests/`` is on ``sys.path``, as for ``formula_engine``)::

    from office import read_csv, requires_office, to_csv, to_pdf

    pytestmark = requires_office        # the whole file; or @requires_office on single tests

    def test_something(tmp_path):
        sheets = to_csv(workbook, tmp_path)            # {sheet name: csv path}
        rows = read_csv(sheets["台账"])

Tests marked ``requires_office`` are skipped when neither ``soffice`` nor ``libreoffice``
is on PATH, unless ``KAOHE_REQUIRE_OFFICE=1`` (CI sets it): then they run and fail,
because the helpers raise when LibreOffice is missing.

Every conversion starts its own LibreOffice with a fresh temporary user profile, so
concurrent runs (pytest-xdist, two checkouts) never share a profile or lock and the
user's ``$HOME`` profile is neither needed nor touched (about 1 s of start-up a call).

Formulas: with its default settings LibreOffice 7.4 does NOT recalculate an .xlsx on
load: it reports the cached values the writer stored (a formula ``=1+1`` whose stored
value is 5 exports as 5, and xlsxwriter's default stored value 0 exports as 0), and it
ignores xlsxwriter's ``fullCalcOnLoad="1"``. So by default (``recalc=True``) the profile
is set to "always recalculate on load"; pass ``recalc=False`` to see the cached values.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import openpyxl
import pytest

TIMEOUT = 180  # seconds for one conversion, start-up included

REQUIRED = os.environ.get("KAOHE_REQUIRE_OFFICE") == "1"

# Export options of the "Text - txt - csv (StarCalc)" filter, by position (export meanings;
# several positions mean something else on import):
#   44     field separator ","
#   34     text delimiter '"'
#   76     character set UTF-8 (no BOM)
#   1,,0   first line, column formats, language: import only
#   false  7: quote all text cells: no, text is quoted only when it needs to be
#   true   8: save numbers as such: numbers unquoted (false would quote them; only
#             matters when 9 is false)
#   false  9: save cell contents as shown: no, so numbers keep full precision (15
#             significant digits, "2" rather than the 0.00 display "2.00") and
#             date-times come as "2025-10-01 08:06:43"; with en-US numbers parse with float()
#   false 10: export formulas: no, formula cells give their values
#   false 11: remove spaces: import only
#   -1    12: every sheet, each to "<stem>-<sheet name>.csv" (LibreOffice 7.2 or later)
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"

# The temporary profile's settings: en-US number formats whatever the machine's locale,
# and whether formulas are recalculated when a file is loaded (0 always, 1 never).
SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>en-US</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    """The LibreOffice binary on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


requires_office = pytest.mark.skipif(
    soffice() is None and not REQUIRED,
    reason="LibreOffice (soffice) not installed; KAOHE_REQUIRE_OFFICE=1 makes this a failure")


def to_csv(workbook: str | Path, out_dir: str | Path, *, recalc: bool = True) -> dict[str, Path]:
    """Every sheet of ``workbook`` as a UTF-8 CSV file in ``out_dir``: {sheet name: path}."""
    workbook = Path(workbook)
    book = openpyxl.load_workbook(workbook, read_only=True)
    try:
        names = book.sheetnames
    finally:
        book.close()
    out_dir = Path(out_dir)
    outputs = {name: out_dir / f"{workbook.stem}-{name}.csv" for name in names}
    _convert(workbook, out_dir, CSV_FILTER, list(outputs.values()), recalc=recalc)
    return outputs


def to_pdf(path: str | Path, out_dir: str | Path, *, recalc: bool = True) -> Path:
    """``path`` printed to PDF in ``out_dir`` (with the file's own page setup)."""
    output = Path(out_dir) / f"{Path(path).stem}.pdf"
    _convert(Path(path), Path(out_dir), "pdf", [output], recalc=recalc)
    return output


def read_csv(path: str | Path) -> list[list[str]]:
    """The rows of a CSV file written by :func:`to_csv`, every cell as text."""
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def _convert(source: Path, out_dir: Path, target: str, outputs: list[Path], *, recalc: bool) -> None:
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice not found: neither soffice nor libreoffice is on PATH")
    if not source.is_file():
        raise FileNotFoundError(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    for output in outputs:  # so that a stale file from an earlier run cannot pass for a result
        output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="kaohe-lo-") as profile:
        (Path(profile) / "user").mkdir()
        (Path(profile) / "user" / "registrymodifications.xcu").write_text(
            SETTINGS.format(mode=0 if recalc else 1), encoding="utf-8")
        command = [binary, f"-env:UserInstallation={Path(profile).as_uri()}",
                   "--headless", "--norestore", "--nolockcheck",
                   "--convert-to", target, "--outdir", str(out_dir), str(source)]
        # A UTF-8 locale is needed for non-ASCII paths and sheet names: under C/POSIX
        # LibreOffice writes "台账" in output file names as "??".
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                   text=True, errors="replace", start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # soffice is a wrapper: end its children too
            stdout, stderr = process.communicate()
            raise RuntimeError(f"LibreOffice timed out after {TIMEOUT} s: {command}\n{stdout}{stderr}") from None
    # LibreOffice exits 0 even when it could not load or convert, so look for the files.
    missing = [str(output) for output in outputs if not output.is_file()]
    if process.returncode != 0 or missing:
        raise RuntimeError(f"LibreOffice failed (exit {process.returncode}); missing: {', '.join(missing) or '-'}\n"
                           f"command: {command}\nstdout: {stdout}\nstderr: {stderr}")
