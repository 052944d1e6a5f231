"""Start-up draws the welcome page before the kiosk is loaded (kiosk.startup): what that first
frame shows must be what the assembled kiosk shows, read from the file without failing, and a
configuration that fails its check is still refused before anything is drawn."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk import config
from kiosk.journeys import JOURNEYS
from kiosk.shell import Shell
from kiosk.startup import ConfigCheck, FirstFrame, FirstShell, first_frame
from kiosk.welcome import WELCOME_ENTRIES
from tests.conftest import REPO


def test_the_first_frames_defaults_are_the_configurations():
    d, c = FirstFrame(), config.KioskConfig()
    assert (d.width, d.height, d.fullscreen, d.font_scale) == \
        (c.display.width, c.display.height, c.display.fullscreen, c.display.font_scale)
    assert (d.language, d.hall, d.terminal_id, d.var, d.panel) == \
        (c.terminal.language, c.terminal.hall, c.terminal.id, c.paths.var, c.demo.panel)


def test_the_welcome_buttons_of_the_first_frame_are_the_journeys_own():
    assert tuple((j.name, j.entry) for j in JOURNEYS.values() if j.entry and j.on_welcome) == WELCOME_ENTRIES


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
def test_the_first_frame_is_the_welcome_page_the_shell_shows(tmp_path, lang):
    f = tmp_path / "k.toml"
    f.write_text(f'[terminal]\nlanguage = "{lang}"\nhall = "测试大厅"\n[paths]\nvar = "{tmp_path}"\n')
    cfg = config.load(f)
    shell = Shell(cfg, central=None)  # no scanner: no citizen-code hint in either
    try:
        first = FirstShell(first_frame(f))
        assert first.page == shell.page and first.tr.lang == shell.tr.lang == lang
        assert first.config.terminal.hall == "测试大厅"
    finally:
        shell.shutdown()


@pytest.mark.parametrize("text", [
    '[display]\nwidth = "wide"\nheight = true\nfont_scale = 99\n[terminal]\nlanguage = "fr"\nid = 7\n',
    "[display\nwidth = 1",  # not TOML at all
    "display = 3\nterminal = []\n",
    "",
])
def test_reading_the_first_frame_never_fails_and_falls_back_to_defaults(tmp_path, text):
    f = tmp_path / "k.toml"
    f.write_text(text)
    got = first_frame(f)
    d = FirstFrame()
    assert (got.width, got.height, got.language, got.terminal_id) == (d.width, d.height, d.language, d.terminal_id)
    assert 0.5 <= got.font_scale <= 3.0
    assert first_frame(tmp_path / "missing.toml") == d


def test_the_first_frame_reads_what_it_shows(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text('[display]\nwidth = 1920\nheight = 1080\nfont_scale = 1.5\n[terminal]\nid = "T-9"\n'
                 '[demo]\npanel = false\n[paths]\nvar = "/srv/k"\n')
    assert dataclasses.astuple(first_frame(f)) == (1920, 1080, False, 1.5, "zh_CN", "政务服务中心", "T-9", "/srv/k",
                                                  False)


def test_the_check_beside_start_up_says_what_kiosk_config_check_says(tmp_path):
    good = ConfigCheck(REPO / "config" / "demo.toml")
    assert good.verdict() == ""
    bad = tmp_path / "bad.toml"
    bad.write_text('[devices.printer]\ndriver = "escpos"\nconnection = "serial"\nport = "/dev/x"\nbaud = 1e18\n')
    said = ConfigCheck(bad).verdict()
    try:
        config.load(bad)
    except config.ConfigError as exc:
        expected = f"config error: {exc}"
    assert said == expected and "baud" in said
