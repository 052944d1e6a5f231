"""Commands from the platform: queued by staff, carried by the heartbeat, run exactly once by the
real Shell across restarts (a new Shell on the same var folder), their results reported to the
reference platform over HTTP until it confirms, and shown on the fleet page with their state."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
import requests

from contract import auth
from devices.events import IdentityRead
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk import commands, config
from kiosk.central_client import CentralClient
from kiosk.commands import CommandBook
from kiosk.pages import OutOfServicePage, PersonalPage, WelcomePage
from kiosk.shell import Shell
from tests.fault_proxy import FaultProxy

ADMIN = {auth.HEADER_ADMIN: auth.DEMO_ADMIN_KEY}
STAFF = (auth.DEMO_STAFF_USER, auth.DEMO_STAFF_PASSWORD)
CARD = next(iter(SAMPLE_CARDS.values()))


class Terminal:
    """A terminal of its own on the module's platform, and its var folder and configuration file."""

    def __init__(self, platform, tmp_path, url: str | None = None):
        self.platform = platform
        self.tid = f"T-{uuid.uuid4().hex[:8]}"
        self.secret = platform.store.add_terminal(self.tid)
        self.url = url or platform.url
        self.var = tmp_path / "var"
        self.config_path = tmp_path / "kiosk.toml"
        self.write_config()

    def write_config(self, extra: str = "") -> None:
        self.config_path.write_text(f'[terminal]\nid = "{self.tid}"\n[central]\nurl = "{self.url}"\n'
                                    f'[paths]\nvar = "{self.var}"\n{extra}', encoding="utf-8")

    def shell(self, book_clock=time.time) -> Shell:
        """A kiosk started (again) on this terminal's var folder."""
        cfg = config.load(self.config_path)
        client = CentralClient(self.url, timeout=(1, 2), retries=1, terminal_id=self.tid, secret=self.secret)
        shell = Shell(cfg, client, speaker=None, config_path=self.config_path,
                      commands=CommandBook(commands.default_path(self.var), clock=book_clock))
        shell.remote.retry_s = 0.1
        return shell

    def queue(self, command: str, **args: str) -> int:
        resp = requests.post(f"{self.platform.url}/api/v1/terminals/{self.tid}/commands",
                             json={"command": command, "args": args}, headers=ADMIN, timeout=5)
        assert resp.status_code == 201, resp.text
        return resp.json()["command_id"]

    def states(self) -> dict[int, dict]:
        """The commands as staff see them in the JSON API."""
        listing = requests.get(f"{self.platform.url}/api/v1/terminals", headers=ADMIN, timeout=5).json()["items"]
        mine = next(t for t in listing if t["terminal_id"] == self.tid)
        return {c["command_id"]: c for c in mine["commands"]}


def run_until(shell: Shell, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out on {shell.page}"
        shell.tick()
        time.sleep(0.02)


def settle(shell: Shell, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        shell.tick()
        time.sleep(0.02)


def deliver(shell: Shell, term: Terminal, cid: int, state: str = "ok") -> dict:
    """A heartbeat now; ticks until the platform holds the command's result in ``state``."""
    shell.upkeep.beat_now()
    run_until(shell, lambda: term.states()[cid]["state"] == state)
    return term.states()[cid]


@pytest.fixture
def term(platform, tmp_path):
    return Terminal(platform, tmp_path)


def test_a_restart_runs_once_is_acknowledged_and_does_not_run_again_after_the_restart(term):
    cid = term.queue("restart")
    assert term.states()[cid]["state"] == "queued"
    shell = term.shell()
    done = deliver(shell, term, cid)
    assert done["result"] == "accepted"
    run_until(shell, lambda: shell.stop_requested == "restart")  # the app exits; systemd starts it again
    shell.shutdown()
    again = term.shell()
    again.upkeep.beat_now()
    settle(again, 1.0)
    assert again.stop_requested == ""
    assert term.states()[cid]["state"] == "ok"
    again.shutdown()


def test_a_result_the_platform_missed_is_sent_once_it_is_back_and_the_restart_is_not_run_twice(
        platform, tmp_path, monkeypatch):
    monkeypatch.setattr(commands, "RESTART_ACK_WAIT_S", 0.5)
    proxy = FaultProxy(platform.url, ["pass"])
    term = Terminal(platform, tmp_path, url=proxy.url)
    cid = term.queue("restart")
    shell = term.shell()
    receive = shell.upkeep.on_commands

    def platform_goes_down(cmds):  # just as the command has arrived
        proxy._modes = itertools.cycle(["drop"])
        receive(cmds)

    shell.upkeep.on_commands = platform_goes_down
    shell.upkeep.beat_now()
    run_until(shell, lambda: shell.stop_requested == "restart")  # it does not wait for the platform for ever
    settle(shell, 0.5)
    assert term.states()[cid]["state"] == "delivered"  # the platform has not heard the result
    shell.shutdown()

    proxy._modes = itertools.cycle(["pass"])  # the platform is back; the kiosk has restarted
    again = term.shell()
    again.upkeep.beat_now()  # the heartbeat carries the restart again: it is not run again
    run_until(again, lambda: term.states()[cid]["state"] == "ok")
    settle(again, 0.5)
    assert again.stop_requested == ""
    assert term.states()[cid]["result"] == "accepted"
    again.shutdown()
    proxy.close()


def test_reload_config_applies_a_good_file_and_refuses_a_broken_one(term):
    shell = term.shell()
    term.write_config("[session]\nidle_timeout_s = 300\n[devices.printer]\ndriver = \"escpos\"\nport = \"/dev/ttyUSB9\"\n")
    done = deliver(shell, term, term.queue("reload_config"))
    assert done["result"] == "reloaded; applied at the next restart: devices"
    assert shell.config.session.idle_timeout_s == 300 and shell.session.idle_timeout_s == 300
    assert shell.config.devices == {}  # the devices were opened at start-up

    term.write_config("[session]\nidle_timeout_s = 5\n")  # under the least allowed
    failed = deliver(shell, term, term.queue("reload_config"), "failed")
    assert failed["result"].startswith("config error: ") and "idle_timeout_s" in failed["result"]
    assert "\n" not in failed["result"] and "Traceback" not in failed["result"]
    assert shell.config.session.idle_timeout_s == 300  # the old configuration stays
    shell.shutdown()


def test_out_of_service_blocks_journeys_survives_a_restart_and_lets_a_session_finish(term):
    shell = term.shell()
    shell.on_device_event(IdentityRead(device="id_reader", identity=CARD))  # someone is being served
    assert isinstance(shell.page, PersonalPage)
    done = deliver(shell, term, term.queue("out_of_service", state="on"))
    assert done["result"] == "out of service on (after the session in progress)"
    assert isinstance(shell.page, PersonalPage)  # they finish what they came for
    shell.logout()
    shell.dismiss_notice()
    assert isinstance(shell.page, OutOfServicePage) and shell.page.title == "暂停服务"
    shell.start("guide")
    shell.on_device_event(IdentityRead(device="id_reader", identity=CARD))
    assert isinstance(shell.page, OutOfServicePage) and shell.session.identity is None
    shell.shutdown()

    again = term.shell()  # after a restart, before any heartbeat
    assert isinstance(again.page, OutOfServicePage)
    for lang, title in (("zh_TW", "暫停服務"), ("en", "Out of service")):
        again.set_language(lang)
        assert again.page.title == title and again.page.message
    deliver(again, term, term.queue("out_of_service", state="off"))
    assert isinstance(again.page, WelcomePage)
    again.start("guide")
    assert again.journey.name == "guide"
    again.shutdown()


def test_a_notice_shows_on_the_welcome_page_until_it_expires_or_is_cleared(term):
    now = [time.time()]
    shell = term.shell(book_clock=lambda: now[0])
    deliver(shell, term, term.queue("notice", text="今日 16:00 起系统维护，暂停办理", minutes="30"))
    assert shell.page.notice == "今日 16:00 起系统维护，暂停办理"
    now[0] += 31 * 60
    shell.tick()
    assert shell.page.notice == ""
    deliver(shell, term, term.queue("notice", text="本机打印机维修中"))
    shell.set_language("zh_TW")
    assert shell.page.notice == "本機打印機維修中"
    shell.shutdown()
    again = term.shell(book_clock=lambda: now[0])
    assert again.page.notice == "本机打印机维修中"  # kept across the restart, in the terminal's language
    deliver(again, term, term.queue("notice", text=""))
    assert again.page.notice == ""
    again.shutdown()


@pytest.mark.parametrize(("command", "args", "reason"), [
    ("notice", {"text": "第一行\n第二行"}, "bad arguments: text has control characters"),
    ("notice", {"text": "长" * 201}, "bad arguments: text is 201 characters; at most 200"),
    ("notice", {"text": "维护", "minutes": "0"}, "bad arguments: minutes must be a whole number"),
    ("out_of_service", {"state": "maybe"}, "bad arguments: state must be 'on' or 'off'"),
    ("restart", {"now": "1"}, "bad arguments: unexpected argument 'now'"),
    ("self_destruct", {}, "unknown command 'self_destruct'"),
], ids=["notice-newline", "notice-long", "notice-minutes", "oos-state", "restart-args", "unknown"])
def test_unknown_commands_and_bad_arguments_fail_with_the_reason(term, command, args, reason):
    # Straight into the platform's store: staff's API takes only the commands it knows.
    cid = term.platform.store.queue_command(term.tid, command, args)["command_id"]
    shell = term.shell()
    failed = deliver(shell, term, cid, "failed")
    assert failed["result"].startswith(reason), failed["result"]
    assert shell.stop_requested == "" and not shell.remote.out_of_service
    shell.shutdown()


def test_the_fleet_page_shows_each_command_with_its_state(term):
    ok = term.queue("out_of_service", state="off")
    bad = term.queue("out_of_service", state="maybe")
    shell = term.shell()
    deliver(shell, term, bad, "failed")
    queued = term.queue("sync_guides")  # no heartbeat since
    shell.shutdown()
    html = requests.get(f"{term.platform.url}/fleet", auth=STAFF, timeout=5).text
    assert f'<tr data-command="{ok}" data-state="ok">' in html and "已完成" in html
    assert f'<tr data-command="{bad}" data-state="failed">' in html and "state must be" in html
    assert f'<tr data-command="{queued}" data-state="queued">' in html and "待下发" in html
    assert requests.get(f"{term.platform.url}/fleet", timeout=5).status_code == 401
    states = term.states()
    assert states[ok]["state"] == "ok" and states[ok]["delivered_at"] and states[ok]["acked_at"]
    assert states[queued]["state"] == "queued" and states[queued]["delivered_at"] is None


def test_a_result_must_be_signed_by_the_terminal_the_command_was_for(term):
    cid = term.queue("restart")
    path = f"/api/v1/terminals/commands/{cid}/result"
    body = b'{"ok": true, "result": "accepted"}'
    url = term.platform.url + path
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "unsigned"
    forged = auth.signed_headers(term.tid, "not-the-secret", "POST", path, body)
    resp = requests.post(url, data=body, headers={**forged, "Content-Type": "application/json"}, timeout=5)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "bad_signature"
    other = auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "POST", path, body)
    resp = requests.post(url, data=body, headers={**other, "Content-Type": "application/json"}, timeout=5)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert term.states()[cid]["state"] == "queued"
