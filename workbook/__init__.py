"""The assessment workbook (考核工作簿): :mod:`workbook.builder` writes it. A contract's rulebook
travels inside it (:mod:`udfs.carried`)."""

from udfs.carried import RULES_SHEET, rulebook_files

__all__ = ["RULES_SHEET", "rulebook_files"]
