"""Words for people (udfs/wording.py) over every shipped rulebook: what the documents print for
a clause, a measure, a time limit and a month never shows a code token or a stored file name."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from udfs.rulebook import installed, load
from udfs.wording import citation, limit_words, measure_words, month_label

BOOKS = [info.name for info in installed()]
SEED = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")


def sources(book):
    yield book.source
    for group in (book.items, book.time_limits, book.risks, book.bands, book.levels):
        yield from (entry.source for entry in group)


@pytest.mark.parametrize("name", BOOKS)
def test_every_clause_is_cited_without_the_stored_file_name(name):
    for source in sources(load(name)):
        words = citation(source)
        assert words and not SEED.search(words) and "  " not in words, (source, words)


@pytest.mark.parametrize("name", BOOKS)
def test_every_measure_and_limit_reads_as_words(name):
    book = load(name)
    for item in book.items:
        if item.measure:
            words = measure_words(item.measure)
            assert words and not re.search(r"[A-Za-z_:|]", words), (item.id, item.measure, words)
    for row in book.time_limits:
        words = limit_words(row)
        assert words and words != "0天" and not re.search(r"[A-Za-z_]", words), (row.stage, words)


def test_examples_worked_by_hand():
    assert citation("000_3b788ccbddc931ee.txt 江门办法 二、1") == "江门办法 二、1"
    assert citation("000_3b788ccbddc931ee.txt《客户投诉管理和考核办法》3-4") == "《客户投诉管理和考核办法》3-4"
    assert measure_words("overdue:签收|回复") == "签收或回复超时的工单张数"
    assert measure_words("flag:repeat") == "标记为“二次投诉”的工单张数"
    assert month_label("2025-08") == "2025年8月" and month_label("2025年8月") == "2025年8月"


@given(st.integers(1900, 2100), st.integers(1, 12))
def test_month_label_reads_back(year, month):
    assert month_label(f"{year}-{month:02d}") == f"{year}年{month}月"
