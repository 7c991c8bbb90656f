"""Kaohe's engine: the working-time calendar, timeliness, rulebooks and scoring.

Plain functions over plain values and numpy arrays; nothing here needs Excel. The only
module that imports xlwings is :mod:`udfs.excel`.
"""

__version__ = "0.1.5"
