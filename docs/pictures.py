"""Remake the README's pictures: a unit's page of the monthly scoring table and the first page of
the monthly notice, as LibreOffice prints them from `kaohe demo`'s files.

    python docs/pictures.py            # needs LibreOffice (soffice) and poppler-utils (pdftoppm)

Writes docs/月度考核表.png and docs/月度考核通报.png (70 dpi, like a screen preview).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MONTH = "2025-10"


def run(*command: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=cwd, env=env).stdout


def to_pdf(path: Path, out: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="kaohe-lo-") as profile:
        run(shutil.which("soffice") or "libreoffice", f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path))
    return out / f"{path.stem}.pdf"


def page_with(pdf: Path, words: str) -> int:
    pages = int(next(line.split()[-1] for line in run("pdfinfo", str(pdf)).splitlines() if line.startswith("Pages:")))
    for page in range(1, pages + 1):
        if words in run("pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"):
            return page
    raise SystemExit(f"{pdf.name}: no page shows {words!r}")


def picture(pdf: Path, page: int, target: Path) -> None:
    run("pdftoppm", "-f", str(page), "-l", str(page), "-r", "70", "-png", "-singlefile", str(pdf), str(target.with_suffix("")))
    print(f"wrote {target.relative_to(HERE.parent)} ({pdf.name} page {page})")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kaohe-pictures-") as work:
        folder = Path(work) / "demo"
        run(sys.executable, "-m", "generators.cli", "demo", "--out", str(folder))
        table = to_pdf(folder / f"月度考核表_{MONTH}.xlsx", Path(work))
        picture(table, page_with(table, "考核日期"), HERE / "月度考核表.png")  # a unit's first page
        notice = to_pdf(next(folder.glob("*.docx")), Path(work))
        picture(notice, 1, HERE / "月度考核通报.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
