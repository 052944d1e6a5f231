"""The pinyin keyboard's candidate bar (issue #15): the catalogue's own words for what a citizen
types, on the kiosk's copy of the real 广安区 catalogue synced from the reference platform."""

from __future__ import annotations

import time

import pytest

from contract.pinyin_input import Candidate, Candidates, PinyinInputError
from tests.test_search import client, synced  # noqa: F401 - the kiosk's synced catalogue

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def bar(synced):  # noqa: F811
    return Candidates(synced)


def texts(bar, typed: str, n: int = 5) -> list[str]:
    return [c.text for c in bar.suggest(typed, limit=n)]


@pytest.mark.parametrize(("typed", "wanted"), [
    ("jieh", "结婚"),        # a syllable begun
    ("jiehun", "结婚"),      # full syllables
    ("jh", "结婚"),          # initials
    ("JieHun", "结婚"),      # capitals from a shifted key
    ("shebaoka", "社保卡"),
    ("shebaok", "社保卡"),
    ("sbk", "社保卡"),       # s stands for sh
    ("shbk", "社保卡"),      # ... and so does sh
    ("hukou", "户口"),
    ("hkdj", "户口登记"),    # initials of a whole name form
    ("dibao", "低保"),       # an everyday word no name holds
    ("hunyindengji", "婚姻登记"),
    ("dengji", "登记"),      # a word inside names
])
def test_typed_letters_offer_the_catalogues_words(bar, typed, wanted):
    assert wanted in texts(bar, typed), texts(bar, typed, 10)


def test_the_exact_word_comes_before_longer_ones_and_words_before_characters(bar):
    got = bar.suggest("hukou", limit=40)
    assert got[0] == Candidate("户口", 5)
    assert any(c.text == "户口迁移" for c in got)
    kinds = [len(c.text) > 1 for c in got]
    assert kinds == sorted(kinds, reverse=True), "a single character before a word"
    # One syllable typed: its characters, then the words it begins (户口 is typed hu-kou).
    got = texts(bar, "hu", 20)
    assert "户" in got[:10] and got.index("户") < got.index("户口")


def test_picking_a_word_leaves_the_rest_to_type_on(bar):
    typed = "jiehundengji"
    pick = next(c for c in bar.suggest(typed, limit=20) if c.text == "结婚")
    assert pick.consumed == len("jiehun")
    rest = typed[pick.consumed:]
    assert rest == "dengji" and "登记" in texts(bar, rest)
    # The whole of it as one word, when the catalogue has one, comes first.
    assert bar.suggest(typed, limit=1) == [Candidate("结婚登记", len(typed))]
    # Initials continue the same way: jhdj → 结婚 (jh) → dj → 登记.
    pick = next(c for c in bar.suggest("jhdj", limit=20) if c.text == "结婚")
    assert pick.consumed == 2 and "登记" in texts(bar, "dj", 20)


def test_single_characters_follow_for_the_first_syllable(bar):
    got = bar.suggest("jie", limit=60)
    chars = [c for c in got if len(c.text) == 1][:20]
    assert chars and all(c.consumed == 3 for c in chars)
    assert "结" in [c.text for c in chars] and "家" not in [c.text for c in chars]  # 家 is jia here
    # A surname the catalogue never uses can still be typed (GB 2312's common characters).
    assert "邓" in [c.text for c in bar.suggest("deng", limit=60)]
    # 行 is read as in the catalogue: both hang (银行) and xing (行政).
    assert "行" in texts(bar, "xing", 60) and "行" in texts(bar, "hang", 60)


@pytest.mark.parametrize("typed", ["v", "iii", "uuuuu", "q" * 40, "zzzzzzzzzz"])
def test_letters_that_spell_nothing_offer_characters_or_nothing(bar, typed):
    got = bar.suggest(typed)
    assert all(0 < c.consumed <= len(typed) and c.text for c in got)


@pytest.mark.parametrize("typed", ["jie1", "结婚", "jie hun", "xi'an", "ｊｉｅ", "jié", "\n"])
def test_anything_but_letters_is_refused_with_a_clear_message(bar, typed):
    with pytest.raises(PinyinInputError, match="letters a-z only"):
        bar.suggest(typed)


def test_nothing_typed_offers_nothing(bar):
    assert bar.suggest("") == [] and bar.suggest("jie", limit=0) == []


def test_the_limit_is_kept_and_no_candidate_repeats(bar):
    for typed in ("s", "zh", "jh", "a", "shebaoka"):
        got = bar.suggest(typed, limit=20)
        assert len(got) == 20 and len({c.text for c in got}) == 20, typed


def test_words_are_built_again_after_a_sync_changes_the_catalogue(synced, tmp_path):  # noqa: F811
    from kiosk.catalogue import Catalogue

    local = Catalogue(synced.path, {"毛孩子": ["犬类"]})  # a hall's own word, seen only here
    try:
        words = Candidates(local)
        assert "毛孩子" in texts(words, "mhz")
        guide = next(local.guides()).model_copy(update={"item_code": "TEST-PY-1", "keywords": ["熊猫基地"]})
        local.upsert([guide])
        assert "熊猫基地" in texts(words, "xiongmao")
        with local.transaction() as conn:
            local.delete(conn, ["TEST-PY-1"])
        assert "熊猫基地" not in texts(words, "xiongmao", 20)
    finally:
        local.close()


def test_keystrokes_are_quick(bar):
    """Every prefix of what citizens type, one suggest per key (timed for the report, not
    asserted: the machines are noisy; bench/README.md has the figures)."""
    bar.suggest("a")  # the vocabulary is built on the first keystroke
    times = []
    for word in ("jiehundengji", "shebaokaguashi", "hukouqianyi", "sbkgs", "zuidishenghuobaozhang",
                 "yanglaojin", "canjiren", "xiongmao", "zhzhzh", "chushengzhengming"):
        for n in range(1, len(word) + 1):
            t = time.perf_counter()
            bar.suggest(word[:n])
            times.append(time.perf_counter() - t)
    times.sort()
    print(f"pinyin candidates: {len(times)} keystrokes, p95 {times[int(0.95 * len(times))] * 1000:.2f} ms, "
          f"max {times[-1] * 1000:.2f} ms")


# -- on the guides page: the candidate bar ---------------------------------------------------------
def test_typed_pinyin_offers_chinese_on_the_guides_page_and_a_pick_searches_it(platform, synced):  # noqa: F811
    from kiosk import config
    from kiosk.central_client import CentralClient
    from kiosk.shell import Shell
    from tests.conftest import REPO
    from tests.test_shell import run_until

    shell = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(platform.url, retries=1),
                  catalogue=synced)

    def typed(keys: str, query: str, wanted: str) -> None:
        for key in keys:
            shell.act("type", text=key)
        run_until(shell, lambda: not shell.page.loading and shell.page.query == query
                  and wanted in shell.page.candidates)

    try:
        shell.start("guide")
        assert shell.page.candidates == ()  # nothing typed: the popular topics, no candidates
        typed("jieh", "jieh", "结婚")
        shell.act("pick", index=shell.page.candidates.index("结婚"))
        run_until(shell, lambda: not shell.page.loading and shell.page.query == "结婚")
        assert shell.page.candidates == () and any("婚姻登记" in i.name for i in shell.page.items)
        typed("dengji", "结婚dengji", "登记")  # the letters after the Chinese are the next word
        shell.act("pick", index=shell.page.candidates.index("登记"))
        run_until(shell, lambda: not shell.page.loading and shell.page.query == "结婚登记")
        assert shell.page.items
        shell.act("pick", index=7)  # a chip that is not there: nothing happens
        assert shell.page.query == "结婚登记"
    finally:
        shell.shutdown()


def test_a_character_drawn_on_the_pad_is_offered_and_searched(platform, synced):  # noqa: F811
    """The guides page's handwriting pad, as the screen reports it: strokes of 结 and 婚 (stroke
    medians, tests/fixtures/handwriting) in pad coordinates, y down."""
    import json
    from pathlib import Path

    from kiosk import config
    from kiosk.central_client import CentralClient
    from kiosk.shell import Shell
    from tests.conftest import REPO
    from tests.test_shell import run_until

    medians = json.loads((Path(__file__).parent / "fixtures" / "handwriting" / "medians.json").read_text())
    shell = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(platform.url, retries=1),
                  catalogue=synced)

    def draw(char: str) -> None:
        side = 320  # the pad's size on screen, in pixels
        strokes = [[(x * side / 1024, (900 - y) * side / 1024) for x, y in stroke] for stroke in medians[char]]
        shell.act("strokes", strokes=strokes, width=side, height=side)
        run_until(shell, lambda: char in shell.page.candidates)
        shell.act("pick", index=shell.page.candidates.index(char))

    try:
        shell.start("guide")
        shell.act("strokes", strokes=[[(1, 1), (5, 5)]], width=10, height=10)  # keyboard out: ignored
        shell.act("handwriting", on=True)
        first_round = shell.page.pad_round
        assert shell.page.handwriting and shell.page.candidates == ()
        draw("结")
        assert shell.page.query == "结" and shell.page.pad_round > first_round  # the pad is clear again
        draw("婚")
        run_until(shell, lambda: not shell.page.loading and shell.page.query == "结婚")
        assert shell.page.candidates == () and any("结婚" in i.name for i in shell.page.items)
        shell.act("handwriting", on=False)
        assert not shell.page.handwriting and shell.page.query == "结婚"
    finally:
        shell.shutdown()


def test_a_terminal_without_the_handwriting_model_says_so_and_logs_it_plainly(platform, synced, monkeypatch,  # noqa: F811
                                                                               tmp_path, caplog):
    """Zinnia's model not installed: the pad goes, the citizen is told, and staff read one line
    naming the Debian package, not a crash report."""
    from kiosk import config, handwriting
    from kiosk.central_client import CentralClient
    from kiosk.journeys import guide
    from kiosk.shell import Shell
    from tests.conftest import REPO
    from tests.test_shell import run_until

    monkeypatch.setattr(handwriting, "DEFAULT_MODEL", tmp_path / "absent.model")
    guide._recognizer.cache_clear()
    shell = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(platform.url, retries=1),
                  catalogue=synced)
    try:
        shell.start("guide")
        shell.act("handwriting", on=True)
        shell.act("strokes", strokes=[[(10, 10), (200, 200)]], width=320, height=320)
        run_until(shell, lambda: shell.page.screen == "notice")
        assert not shell.journey.handwriting
        assert [r.levelname for r in caplog.records if "crash" in r.getMessage()] == []
        said = [r.getMessage() for r in caplog.records if handwriting.MODEL_PACKAGE in r.getMessage()]
        assert len(said) == 1 and "handwriting" in said[0], said
    finally:
        shell.shutdown()
        guide._recognizer.cache_clear()
