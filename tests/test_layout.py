"""Layout for everyone at the counter: Chinese line breaking measured with the kiosk's own font,
result names that keep their tail, masked names of bounded length, and 长辈模式 on the real app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devices.identity import MASKED_NAME_MAX, mask_name
from screens.linebreak import CLOSING, OPENING, break_lines, break_markup
from tests.conftest import REPO, own_demo_config


@pytest.fixture(scope="module")
def measure(display):
    """Widths in pixels from Kivy's core label with the kiosk's CJK font at 22 px, as a label measures."""
    import os

    from devices.fonts import cjk_font

    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(font_name=str(cjk_font("regular")), font_size=22)
    core.resolve_font_name()
    return lambda text: core.get_extents(text)[0]


GUIDE_TEXT = ("申请人持本人居民身份证、户口簿（原件），到户籍所在地派出所办理；材料不全的，"
              "窗口一次性告知需补正的全部内容。受理后，《居民身份证》于二十个工作日内办结！"
              "咨询电话：「12345」，可预约（网上或电话）办理。")


@pytest.mark.parametrize("width", range(90, 400, 7))
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(measure, width):
    lines = break_lines(GUIDE_TEXT, width, measure)
    assert "".join(lines) == GUIDE_TEXT  # nothing lost, nothing added
    assert all(measure(line) <= width for line in lines), lines
    assert not any(line[0] in CLOSING for line in lines[1:]), lines
    assert not any(line[-1] in OPENING for line in lines[:-1]), lines


def _laid_out(core_cls, text: str, width: int) -> list[str]:
    from devices.fonts import cjk_font

    core = core_cls(text=text, font_name=str(cjk_font("regular")), font_size=22, text_size=(width, None))
    core.resolve_font_name()
    core.render()  # the layout pass (drawing needs a window)
    return ["".join(word.text for word in line.words) for line in core._cached_lines]


def test_a_label_never_starts_a_line_with_closing_punctuation_as_kivy_alone_does(display, measure):
    from kivy.core.text import Label as CoreLabel

    from screens.linebreak import breaking

    # Widths where the text's first "），" would start a line under Kivy's greedy fill.
    bad = [w for w in range(120, 420, 3) if any(line[:1] in CLOSING for line in _laid_out(CoreLabel, GUIDE_TEXT, w)[1:])]
    assert bad, "Kivy alone never broke before punctuation here: the test shows nothing"
    for width in bad:
        lines = _laid_out(breaking(CoreLabel), GUIDE_TEXT, width)
        assert "".join(lines) == GUIDE_TEXT
        assert not any(line[:1] in CLOSING for line in lines[1:]), (width, lines)
        assert not any(line[-1:] in OPENING for line in lines[:-1]), (width, lines)


def test_english_breaks_at_spaces_and_markup_keeps_its_tags(measure):
    text = "Bring the original ID card (and two copies) to window 3."
    lines = break_lines(text, measure("Bring the original ID card"), measure)
    assert lines[0] == "Bring the original ID card" and " ".join(lines) == text
    marked = "[b]办理地点：[/b]广安区政务服务中心一楼（东门进）婚姻登记窗口，周一至周五"
    out = break_markup(marked, 200, measure)
    assert out.startswith("[b]办理地点：[/b]") and out.replace("\n", "") == marked
    assert not any(line[:1] in CLOSING for line in out.split("\n")[1:])


def test_two_long_names_that_differ_at_the_end_stay_different_on_two_lines(measure):
    a = "对从事计算机信息网络国际联网业务的单位和个人报送备案材料的审核（新设立单位备案）"
    b = "对从事计算机信息网络国际联网业务的单位和个人报送备案材料的审核（变更单位信息备案）"
    shown_a, shown_b = (break_lines(name, 300, measure, max_lines=2) for name in (a, b))
    assert len(shown_a) == len(shown_b) == 2
    assert shown_a != shown_b
    assert shown_a[1].startswith("…") and shown_a[1].endswith("新设立单位备案）")
    assert all(measure(line) <= 300 for line in shown_a + shown_b)


def test_a_masked_name_is_bounded_whatever_its_length():
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    long = mask_name("ALEXANDRA MARIA VON HUMBOLDT-SCHWARZENBERG")
    assert long == "A****" and len(long) == MASKED_NAME_MAX
    assert "ALEX" not in long


def test_elder_mode_on_the_real_app_makes_text_and_targets_larger(display, tmp_path):
    demo = own_demo_config(tmp_path)
    out = tmp_path / "measured.json"
    r = subprocess.run([sys.executable, "-m", "tests.elder_child", str(demo), str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "DISPLAY": display})
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads(out.read_text())
    normal, elder = m["normal"], m["elder"]
    assert normal["screen"] == elder["screen"] == "welcome" and elder["elder"] and not normal["elder"]
    assert normal["smallest_text_px"] >= 18 and elder["smallest_text_px"] >= 30, m
    assert elder["smallest_text_px"] >= 1.5 * normal["smallest_text_px"]
    assert elder["prompt_px"] >= 1.5 * normal["prompt_px"]
    assert normal["smallest_target_dp"] >= 44 and elder["smallest_target_dp"] >= 60
    assert m["elder_keys_dp"] >= 60
    assert m["guides_elder"]["smallest_text_px"] >= 30 and m["guides_elder"]["smallest_target_dp"] >= 60
    assert m["guides_normal"]["smallest_text_px"] < 30  # and back off again
    # English in elder size, every device needing attention: wider than the screen on one line.
    bar = m["bar"]
    assert len(bar["chips"]) == 4 and all("needs attention" in c for c in bar["chips"]), bar
    assert bar["chips_width"] > bar["bar_width"], bar  # (so this did test the overflow)
    assert bar["outside"] == [] and bar["lines"] == 2 and bar["bar_in_window"], bar
