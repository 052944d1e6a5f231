"""The headless tour, run as a user runs it: the real app under the suite's Xvfb, emulated hardware,
the reference central platform. Every screen and the printed slip must come out as real pictures."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image

from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.journeys import JOURNEYS
from tests.conftest import KIOSK, REPO

pytestmark = pytest.mark.timeout(420)  # the whole tour, after waiting its turn for pcscd (conftest)

# Every journey, each with pictures in all three languages (screens/tour_steps); home's pages are
# the identify journey's, and idle belongs to the shell. Maintenance mode is staff's: pictured as
# "staff", in 简体 only (the audit still sees its pages in every language and elder mode).
PICTURED = {name for name in JOURNEYS if name not in ("home", "maintenance")} | {"idle", "staff"}
STAFF_ONLY = {"staff"}
AUDITED = re.compile(r"^(?P<journey>[a-z]+)-\d\d-(?P<page>[a-z-]+)-(?P<variant>(zh_CN|zh_TW|en)(-elder)?)$")
NAME = re.compile(r"^(?P<journey>[a-z]+)-(?P<n>\d\d)-(?P<page>[a-z-]+)-(?P<lang>zh_CN|zh_TW|en)(?P<elder>-elder)?\.png$")


@pytest.fixture(scope="module")
def tour_work(tmp_path_factory):
    """The tour's working folder: its config and var/ (the platform's log among them)."""
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(REPO / "config", work / "config")
    return work


@pytest.fixture(scope="module")
def tour(display, tour_work, tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    work = tour_work
    # With the audit (screens/audit.py): each page pictured, in every language and elder mode.
    r = subprocess.run([KIOSK, "demo", "--headless", "--audit", "--config", str(work / "config" / "demo.toml"),
                        "--out", str(out)], cwd=work, capture_output=True, text=True, timeout=360)
    return r, out


def test_tour_succeeds_and_says_where_the_pictures_are(tour):
    r, out = tour
    assert r.returncode == 0, r.stderr[-3000:]
    assert str(out) in r.stdout


def test_every_journey_is_pictured_in_every_language(tour):
    _r, out = tour
    shots = [NAME.match(p.name) for p in out.glob("*.png") if not p.name.startswith("slip-")]
    assert all(shots), [p.name for p in out.glob("*.png")]
    langs: dict[str, set[str]] = {}
    for m in shots:
        langs.setdefault(m["journey"], set()).add(m["lang"])
    assert set(langs) >= PICTURED, PICTURED - set(langs)
    assert all(found == {"zh_CN", "zh_TW", "en"} for j, found in langs.items() if j not in STAFF_ONLY), langs
    assert all(langs[j] == {"zh_CN"} for j in STAFF_ONLY), langs


def test_every_screen_is_a_real_picture(tour):
    _r, out = tour
    for path in out.glob("*.png"):
        if path.name.startswith("slip-"):
            continue
        img = Image.open(path).convert("RGB")
        assert img.size == (1520, 800), path.name
        # A blank, black or half-drawn window has few colours; a rendered screen with text has many.
        colours = img.getcolors(maxcolors=1_000_000)
        assert len(colours) > 200, path.name
        dark = sum(n for n, (r, g, b) in colours if r + g + b < 60)
        assert dark < img.width * img.height * 0.5, path.name


def test_the_logs_of_a_tour_hold_no_id_number_name_or_citizen_code(tour, tour_work):
    # The tour reads every sample card and shows a citizen code; the kiosk's log (stderr, the
    # journal on a terminal) and the platform's must keep them masked.
    r, _out = tour
    logs = {"stderr": r.stderr, **{str(p.relative_to(tour_work)): p.read_text(errors="replace")
                                   for p in tour_work.rglob("*.log")}}
    assert "var/central.log" in logs and "kiosk ready" in r.stderr  # what was scanned really is the logs
    masked = {card.masked_number for card in SAMPLE_CARDS.values()}
    assert any(m in text for m in masked for text in logs.values())  # and they tell of cards read
    secrets = {s for card in SAMPLE_CARDS.values()
               for s in (card.id_number, card.name, card.extra.get("name_en"), card.address) if s}
    for where, text in logs.items():
        assert not [s for s in secrets if s in text], where
        assert not re.search(r"GAC1\.[A-Za-z0-9_-]{8,}", text), where


def test_printed_slips_have_readable_qr_codes(tour):
    _r, out = tour
    guide, receipt, progress, *_others = sorted(out.glob("slip-*.png"))  # then tickets, proofs, checklists
    codes = zxingcpp.read_barcodes(Image.open(guide))
    assert codes and codes[0].text.startswith("http")
    # The receipt of the case the tour submitted: its QR opens the case's public progress page.
    codes = zxingcpp.read_barcodes(Image.open(receipt))
    assert codes and re.search(r"/track/GA\d{8}[0-9A-F]{8}$", codes[0].text), codes
    # The progress of that case, printed from the query journey, opens the same page.
    assert [c.text for c in zxingcpp.read_barcodes(Image.open(progress))] == [codes[0].text]


def test_a_failed_step_fails_the_tour(display, tmp_path):
    # A search that finds nothing: the tour cannot open a guide, so it must stop and say so.
    env = {**os.environ, "KIOSK_TOUR_QUERY": "qqqq"}
    shutil.copytree(REPO / "config", tmp_path / "config")
    r = subprocess.run([KIOSK, "demo", "--headless", "--config", str(tmp_path / "config" / "demo.toml"),
                        "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode != 0
    assert "Tour failed" in r.stderr and "results for 'qqqq'" in r.stderr
    assert (tmp_path / "out" / "FAILED.png").exists()


def test_elder_mode_is_pictured_in_chinese_and_english(tour):
    _r, out = tour
    elder = [m for m in (NAME.match(p.name) for p in out.glob("*-elder.png")) if m]
    pages = {(m["journey"], m["page"]) for m in elder}
    assert pages >= {("identify", "welcome"), ("identify", "personal"), ("guide", "results"), ("guide", "guide"),
                     ("guide", "printed"), ("apply", "confirm"), ("query", "timeline"), ("rating", "levels"),
                     ("ticket", "services")}, pages
    assert {m["lang"] for m in elder} >= {"zh_CN", "en"}


def test_the_audit_saw_every_page_pictured_in_every_language_and_elder_mode(tour):
    r, out = tour
    pictured = {(m["journey"], m["page"]) for p in out.glob("*.png") if (m := NAME.match(p.name))}
    variants: dict[tuple[str, str], set[str]] = {}
    for name in json.loads((out / "audit.json").read_text(encoding="utf-8"))["pages"]:
        m = AUDITED.match(name)
        variants.setdefault((m["journey"], m["page"]), set()).add(m["variant"])
    every = {f"{lang}{elder}" for lang in ("zh_CN", "zh_TW", "en") for elder in ("", "-elder")}
    assert pictured and all(variants.get(page) == every for page in pictured), (pictured, variants)
    assert "Audit:" in r.stdout


def test_the_audit_finds_nothing_on_any_page(tour):
    _r, out = tour
    lines = (out / "audit.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("0 violations"), "\n".join(lines[:80])
