"""The journey layer (docs/architecture.md) driven without a screen: steps and actions by name,
results, notices as overlays, and answers bound to the journey and the session that asked.

The platform is the reference server over HTTP; a fault proxy delays its answers where a test
needs the citizen to act before the answer is back.
"""

from __future__ import annotations

import time

import pytest

from kiosk import config
from kiosk.central_client import CentralClient
from kiosk.journeys import JOURNEYS
from kiosk.journeys.base import NEEDS_IDENTITY, Journey, UnknownStep
from kiosk.outbox import Outbox
from kiosk.pages import GuidePage, GuidesPage, NoticePage, PersonalPage, WelcomePage
from kiosk.shell import Shell
from tests.conftest import REPO
from tests.fault_proxy import FaultProxy
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def shell(platform, tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", "DEMO-0001")  # so that a guide may be applied for
    s = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(platform.url, retries=1), outbox=outbox)
    yield s
    s.shutdown()
    outbox.close()


@pytest.fixture(scope="module")
def codes(platform) -> list[str]:
    return [g.item_code for g in platform.store.search.search("hunyin").items[:2]]


def slow_shell(platform, delay: float) -> tuple[Shell, FaultProxy]:
    proxy = FaultProxy(platform.url, ["delay"], delay_s=delay)
    return Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(proxy.url, retries=1)), proxy


def test_actions_and_steps_are_dispatched_by_name_and_unknown_ones_fail_loudly(shell):
    shell.start("guide")
    journey = shell.journey
    assert journey.name == "guide" and isinstance(shell.page, GuidesPage)
    with pytest.raises(UnknownStep, match="no action 'fly'"):
        journey.act("fly")
    journey.step = "nowhere"
    with pytest.raises(UnknownStep, match="no step 'nowhere'"):
        journey.page()
    journey.step = "search"
    shell.act("fly")  # from a screen: logged, and the kiosk keeps running on the same page
    assert shell.journey is journey and isinstance(shell.page, GuidesPage)


def test_the_search_text_is_edited_below_the_screen(shell):
    shell.start("guide")
    for key in "hun":
        shell.act("type", text=key)
    shell.act("backspace")
    run_until(shell, lambda: not shell.page.loading)
    assert shell.page.query == "hu" and shell.page.items
    shell.act("clear")
    assert shell.page.query == ""


def test_a_notice_is_an_overlay_never_a_step_back(shell, codes):
    shell.start("guide", code=codes[0])
    run_until(shell, lambda: isinstance(shell.page, GuidePage) and shell.page.code == codes[0])
    shell.act("apply")  # nobody identified: the identify journey asks for the card
    assert isinstance(shell.page, NoticePage) and shell.journey.name == "identify"
    shell.back()
    assert shell.page.code == codes[0]  # back on the guide, not on some earlier page
    shell.start("guide", code="NO-SUCH-ITEM")
    run_until(shell, lambda: isinstance(shell.page, NoticePage) and shell.page.kind == "error")
    shell.dismiss_notice()
    shell.back()
    assert shell.page.code == codes[0]


def test_an_answer_for_a_person_who_has_left_is_dropped(platform, codes):
    shell, proxy = slow_shell(platform, 0.6)
    try:
        shell.start("guide", code=codes[0])  # the guide is on its way...
        shell.logout()  # ...and the citizen leaves before it arrives
        time.sleep(1.0)
        for _ in range(5):
            shell.tick()
            time.sleep(0.02)
        assert not isinstance(shell.page, GuidePage) and len(shell.stack) == 1
        shell.dismiss_notice()
        assert isinstance(shell.page, WelcomePage)
    finally:
        shell.shutdown()
        proxy.close()


def test_an_answer_for_a_journey_that_was_left_is_dropped(platform, codes):
    shell, proxy = slow_shell(platform, 0.6)
    try:
        shell.start("guide")
        shell.act("open", code=codes[0])
        shell.home()  # a new journey from home while the old one's answer is still coming
        shell.start("guide", query="hukou")
        time.sleep(1.0)
        run_until(shell, lambda: not shell.page.loading)
        assert isinstance(shell.page, GuidesPage) and shell.page.query == "hukou"
    finally:
        shell.shutdown()
        proxy.close()


def test_needs_identity_runs_identify_then_resumes_the_caller(shell, platform):
    class Wants(Journey):
        name = "wants"
        first_step = "hello"

        def start(self):
            return NEEDS_IDENTITY if self.shell.session.identity is None else None

        def resume(self):
            self.resumed = self.shell.session.identity is not None
            return None

        def page_hello(self):
            return PersonalPage(greeting="hello")

    from devices.events import IdentityRead
    from drivers.samv.emulator import SAMPLE_CARDS

    JOURNEYS["wants"] = Wants
    try:
        shell.start("wants")
        assert [j.name for j in shell.stack] == ["home", "wants", "identify"]
        shell.on_device_event(IdentityRead(device="id_reader", identity=SAMPLE_CARDS["li_xiaomei"]))
        assert [j.name for j in shell.stack] == ["home", "wants"] and shell.journey.resumed
        assert shell.page == PersonalPage(greeting="hello")
    finally:
        del JOURNEYS["wants"]


def test_after_an_idle_sign_out_the_welcome_page_returns_by_itself(platform):
    from kiosk.session import Session

    now = [0.0]
    session = Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0])
    shell = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(platform.url, retries=1),
                  session=session, monotonic=lambda: now[0])
    try:
        shell.start("guide")
        now[0] = 41
        shell.tick()
        assert shell.idle_warning == 19  # the countdown
        now[0] = 61
        shell.tick()
        assert isinstance(shell.page, NoticePage) and "已自动退出" in shell.page.message
        now[0] = 66
        shell.tick()
        assert isinstance(shell.page, NoticePage)  # time to read it...
        now[0] = 72
        shell.tick()
        assert isinstance(shell.page, WelcomePage) and shell.notice is None  # ...and nobody has to tap OK
    finally:
        shell.shutdown()


def test_keys_typed_while_a_search_runs_are_searched_together(platform):
    """A fast typist's keystrokes do not queue one search each behind a slow answer: the one in
    flight ends, then what is typed by then is searched once, and that is what shows."""
    shell, proxy = slow_shell(platform, 0.4)
    try:
        shell.start("guide")  # the empty query: a first search, in flight
        for key in "hunyin":
            shell.act("type", text=key)
        run_until(shell, lambda: not shell.page.loading, timeout=10)
        assert shell.page.query == "hunyin" and any("婚姻" in i.name for i in shell.page.items)
        assert proxy.seen["delay"] == 2, proxy.seen  # the first search and one for all six keys
    finally:
        shell.shutdown()
        proxy.close()
