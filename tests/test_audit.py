"""The audit (screens/audit.py) on small pages built by hand (tests/audit_child.py, in a Kivy window
under the suite's Xvfb): each rule finds what it is for and nothing on a page built right, and a
page built from a deliberately broken theme fails every rule, each naming the page and widget."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from screens.audit import contrast
from tests.conftest import REPO


@pytest.fixture(scope="module")
def found(display):
    r = subprocess.run([sys.executable, "-m", "tests.audit_child"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def rules(found, case: str) -> set[tuple[str, str]]:
    """(widget id, rule) pairs reported on a case."""
    return {(v["widget"].split(" ")[0].split("#")[-1], v["rule"]) for v in found[case]}


def test_wcag_contrast_of_known_colours():
    assert contrast((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    assert contrast((1, 1, 1), (1, 1, 1)) == pytest.approx(1.0)
    # #767676 on white is the classic 4.5:1 grey (WCAG's own example)
    assert contrast((0x76 / 255,) * 3, (1, 1, 1)) == pytest.approx(4.54, abs=0.01)


def test_text_contrast_is_against_what_is_drawn_behind_it(found):
    assert rules(found, "grey_on_white") == {("faint", "contrast"), ("grey_on_dark", "contrast")}
    faint = next(v for v in found["grey_on_white"] if "faint" in v["widget"])
    assert faint["measured"].startswith("1.48:1 (#cccccc on #f4f6f9)") and faint["page"] == "grey_on_white"


def test_small_targets_are_found_and_only_visible_ones(found):
    assert rules(found, "targets") == {("small", "target"), ("wide_but_flat", "target")}
    assert ("fifty", "target") in rules(found, "targets-elder")  # 50 dp: enough, but not in elder mode
    assert not any(v["widget"].split()[0].endswith(("#hidden", "#off_screen")) for v in found["targets-elder"])


def test_text_size_is_stricter_in_elder_mode(found):
    assert not any(v["rule"] == "text_size" for v in found["overflow"])
    assert {w for w, rule in rules(found, "overflow-elder") if rule == "text_size"} == {"spills", "shortened", "wraps"}


def test_text_that_spills_or_is_shortened_overflows(found):
    assert rules(found, "overflow") == {("spills", "overflow"), ("shortened", "overflow"), ("line_lost", "overflow"),
                                        ("tail_cut", "overflow")}


def test_a_name_shortened_in_its_middle_to_keep_its_end_is_declared_not_lost(found):
    # Result rows: max_lines with the end kept ("…换领）"), every line drawn inside its box. The
    # whole name is on the page the row opens; tail_cut's box loses a line, which is not declared.
    assert not [v for v in found["overflow"] if "#tail_kept" in v["widget"]]


def test_a_line_dropped_whole_overflows_though_the_rest_fits(found):
    # Two lines of 33 px text in a box 84 px high: the first line is not drawn at all, the second
    # fits (the leading the audit lets spill out of a box must not hide a lost line).
    lost = next(v for v in found["overflow"] if "#line_lost" in v["widget"])
    assert lost["measured"].endswith("cut to 330x84 px"), lost


def test_a_control_needs_a_fill_or_a_border_that_stands_out(found):
    assert rules(found, "edges") == {("white_on_page", "edge")}


def test_a_control_partly_scrolled_out_of_view_is_judged_on_the_edges_that_show(found):
    # "framed_cut" runs under the end of its row, next to a white panel: its hidden side has no edge
    # to see, and the white beyond it is not what it stands on. "bare_cut", further out, has no
    # frame on the sides that show either.
    assert rules(found, "scrolled") == {("bare_cut", "edge")}


def test_message_ids_on_screen_are_untranslated(found):
    assert rules(found, "words") == {("message_id", "untranslated"), ("unknown_id", "untranslated")}


def test_a_page_built_from_the_theme_passes_in_both_modes(found):
    assert found["themed"] == [] and found["themed-elder"] == []


def test_a_broken_theme_fails_every_rule_naming_page_and_widget(found):
    assert rules(found, "broken") >= {("key", "target"), ("hint", "text_size"), ("hint", "contrast"),
                                      ("key", "edge"), ("chip", "overflow"), ("label", "untranslated")}
    assert all(v["page"] == "broken" for v in found["broken"])
    hint = next(v for v in found["broken"] if v["rule"] == "text_size")
    assert hint["widget"] == "Label#hint 'Searching, please wait…'"
    assert hint["measured"] == "10 px" and hint["required"] == ">= 30 px"
