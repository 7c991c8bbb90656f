"""The rulebook format: every installed file loads; malformed files fail with file, line and key; new schemes need only a file."""

import re
from pathlib import Path

import pytest

from udfs import rulebook, rulelist, scoring
from udfs.errors import KaoheError

BAD = Path(__file__).parent / "fixtures" / "bad_rulebooks"
SEEDS = ("000_3b788ccbddc931ee.txt", "001_35fa0593db5ec040.txt", "002_cc85a4517a6603df.txt",
         "003_59537381dc9cde98.txt", "004_23aa2ed94b820f37.txt")
EXPECTED = {"jiangmen", "dongguan", "beijing_unicom", "poyang", "ningxia", "service_quality", "call_centre",
            "h_effective_complaints", "h_business_hall", "h_maintenance_clients", "h_operator_rules", "h_mobile_info",
            "h_tax_service", "h_hall_rating", "h_operation_rating", "h_complaint_levels"}


def _expectation(path: Path):
    """The first line of a corpus file: ``# expect: KEY | FRAGMENT | LINE`` (LINE 0 = no line to name)."""
    key, fragment, line = (part.strip() for part in path.read_text(encoding="utf-8").splitlines()[0][len("# expect:"):].split("|"))
    return key, fragment, int(line)


@pytest.mark.parametrize("path", sorted(BAD.glob("*.toml")), ids=lambda p: p.stem)
def test_a_malformed_rulebook_is_rejected_naming_file_line_and_key(path):
    key, fragment, line = _expectation(path)
    for attempt in (rulebook.check, rulebook.load):
        with pytest.raises(KaoheError) as caught:
            attempt(path)
        message = caught.value.zh
        assert message.startswith(f"规则文件 {path.name}"), message
        assert fragment in message, message
        if key != "(文件)":
            assert f" {key}: " in message, message
        if line:
            assert f"第{line}行" in message, message
        else:
            assert "行" not in message.split(":")[0], message
        assert "Traceback" not in str(caught.value) and caught.value.en


def test_the_corpus_covers_the_required_kinds_of_mistake():
    fragments = " ".join(_expectation(p)[1] for p in BAD.glob("*.toml"))
    for kind in ("缺少必填的键", "应为数字", "等级区间重叠", "时限单位无法识别", "不能为负数", "item_points", "未知的键"):
        assert kind in fragments


def test_every_scheme_of_the_seeds_is_installed_with_title_source_and_version():
    infos = {info.name: info for info in rulebook.installed()}
    assert EXPECTED <= set(infos)
    for info in infos.values():
        assert info.title and info.version and any(seed in info.source for seed in SEEDS), info


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_rule_cites_a_seed_and_quotes_its_wording(name):
    book = rulebook.load(name)
    for rule in book.items + book.time_limits + book.risks:
        assert any(seed in rule.source for seed in SEEDS), rule
        assert re.search(r"[\u4e00-\u9fff]", rule.text), rule
    for level in book.levels:
        assert any(seed in level.source for seed in SEEDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_rule_list_is_generated_from_the_file(name):
    book = rulebook.load(name)
    text = rulelist.markdown(book)
    assert text.startswith(f"# {book.title}\n")
    for item in book.items:
        assert f"| {item.id} | {item.name} |" in text
    for row in book.time_limits:
        assert row.text.replace("|", "\\|") in text
    for band in book.grade_bands:
        assert f"| {band.label} |" in text
    for assumption in book.assumptions:
        assert assumption in text


def test_ranges_zero_out_and_money_read_as_the_source_says():
    text = rulelist.markdown("jiangmen")
    assert "| 一1 | 保密制度 | -5~15分/次 |" in text
    assert "5张以上(含)扣除该项目所有分数" in text
    assert "| 其他1 | 抢修不及时或操作不当造成障碍升级 | -500~5000元/次 |" in rulelist.markdown("ningxia")
    assert "-不低于20分/次" in rulelist.markdown("service_quality")
    assert "单月故障处理及时率低于或等于60%" in rulelist.markdown("dongguan")


NEW_SCHEME = '''
[rulebook]
name = "test_scheme"
title = "测试办法"
source = "测试来源"
version = "0.1"

[score]
full_marks = 100
pass_mark = 60
source = "测试"

[[items]]
id = "T1"
name = "超时"
points = 3
per = "张"
source = "测试"
text = "超时扣3分/张"

[[time_limits]]
stage = "处理"
limit = 4
unit = "小时"
source = "测试"
text = "4小时内处理"
'''


def test_a_new_scheme_is_a_new_file_only(tmp_path, monkeypatch):
    (tmp_path / "test_scheme.toml").write_text(NEW_SCHEME, encoding="utf-8")
    assert "test_scheme" not in {i.name for i in rulebook.installed()}
    assert "test_scheme" in {i.name for i in rulebook.installed(dirs=[tmp_path])}
    book = rulebook.load("test_scheme", dirs=[tmp_path])
    assert scoring.item(book, "T1", 2) == 6  # 2 × 3
    assert scoring.total(book, [6]) == 94  # 100 − 6
    # The environment variable adds the directory for every caller, cell functions included.
    monkeypatch.setenv(rulebook.DIRS_ENV, str(tmp_path))
    from udfs.scoring_cells import kh_item, kh_rulebooks

    assert kh_item("test_scheme", "T1", 2)[0, 0] == 6
    assert "test_scheme" in kh_rulebooks()[:, 0]


def test_a_rulebook_loads_by_path_and_an_unknown_name_lists_the_installed():
    path = Path(rulebook.PACKAGE_DIR) / "jiangmen.toml"
    assert rulebook.load(str(path)).name == "jiangmen"
    with pytest.raises(KaoheError, match="未安装的考核办法: nosuch.*jiangmen"):
        rulebook.load("nosuch")
    with pytest.raises(KaoheError, match="规则文件不存在"):
        rulebook.check(path.with_name("absent.toml"))


def test_an_edited_file_is_reloaded(tmp_path):
    path = tmp_path / "test_scheme.toml"
    path.write_text(NEW_SCHEME, encoding="utf-8")
    assert rulebook.load(path).item("T1").points == (3, 3)
    path.write_text(NEW_SCHEME.replace("points = 3", "points = 4") + "\n", encoding="utf-8")
    assert rulebook.load(path).item("T1").points == (4, 4)


def test_a_contract_extends_a_scheme_section_by_section(tmp_path):
    """``extends``: sections the file gives replace the base's; the others are the base's."""
    (tmp_path / "contract.toml").write_text('''
[rulebook]
name = "contract"
title = "合同"
source = "测试"
version = "1"
extends = "jiangmen"

[payment]
assessed_share = 0.3
source = "合同第8条"

[[risks]]
measure = "score"
op = "below"
threshold = 80
months = 2
run = "consecutive"
consequence = "约谈"
source = "合同第9条"
''', encoding="utf-8")
    contract, base = rulebook.load(tmp_path / "contract.toml"), rulebook.load("jiangmen")
    assert contract.extends == "jiangmen" and contract.name == "contract"
    assert contract.items == base.items and contract.time_limits == base.time_limits and contract.score == base.score
    assert contract.payment.assessed_share == 0.3 and [r.consequence for r in contract.risks] == ["约谈"]
    assert float(scoring.payment(contract, 1000, 90)) == pytest.approx(970)
    demo = rulebook.load(Path(__file__).parents[1] / "generators" / "demo_rulebooks" / "jiangmen_demo.toml")
    assert demo.items == base.items and demo.score.pass_mark == 80 and demo.payment and demo.risks


def test_rulebooks_that_extend_each_other_are_refused(tmp_path):
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.toml").write_text(
            f'[rulebook]\nname = "{name}"\ntitle = "t"\nsource = "s"\nversion = "1"\nextends = "{other}"\n', encoding="utf-8")
    with pytest.raises(KaoheError, match="继承关系成环"):
        rulebook.load(tmp_path / "a.toml")
