"""Browse by life event (一件事): the platform's event → items map (a reviewed file checked against the
广安区 catalogue), and the journey as a citizen uses it - the events from the reference platform over
HTTP, an event's items, a guide opened from them, and one combined materials checklist out of the
ESC/POS emulator."""

from __future__ import annotations

import json
import re
import socket
import time
from contextlib import ExitStack

import pytest

from central.seed import LIFE_EVENTS_JSON, load_life_events
from central.server import BackgroundServer
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.central_client import CentralClient, CentralError
from kiosk.shell import Shell
from tests.fault_proxy import FaultProxy
from tests.test_apply import Hall
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
EVENTS = ["birth", "school", "work", "business", "marriage", "housing", "retirement", "death"]


# -- the platform ---------------------------------------------------------------------------------
def test_every_mapped_item_is_in_the_seeded_catalogue_under_its_name(platform):
    doc = json.loads(LIFE_EVENTS_JSON.read_text(encoding="utf-8"))
    assert "高效办成一件事" in doc["source"] and "v-luobo/zwfw" in doc["source"]  # where it comes from
    assert [e["code"] for e in doc["events"]] == EVENTS
    for event in doc["events"]:
        assert event["items"], event["code"]
        for item in event["items"]:
            guide = platform.store.guides.get(item["item_code"])
            assert guide is not None and guide["name"] == item["name"], item


def test_the_platform_answers_the_events_with_their_items(platform):
    client = CentralClient(platform.url, retries=1)  # open, like guide reads: no signature needed
    events = client.life_events()
    assert [e.code for e in events.items] == EVENTS
    assert [e.name for e in events.items] == ["出生", "上学", "就业", "创业开店", "婚姻", "住房", "退休养老", "身后事"]
    assert "高效办成一件事" in events.source
    birth = client.life_event("birth")
    assert birth == events.items[0]
    names = [i.name for i in birth.items]
    assert "《出生医学证明》首次签发" in names and "户口登记" in names and "社会保障卡申领" in names
    assert all(i.department for i in birth.items)
    with pytest.raises(CentralError) as err:
        client.life_event("moving-to-mars")
    assert err.value.code == "not_found" and err.value.zh == "没有找到这件事"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["events"][0]["items"].append({"item_code": "NO-SUCH-ITEM", "name": "没有的事项"}),
     "NO-SUCH-ITEM (没有的事项) is not in the catalogue"),
    (lambda d: d["events"][0]["items"][0].update(name="出生证明"), "is now named '《出生医学证明》首次签发'"),
    (lambda d: d["events"].append(dict(d["events"][0])), "'birth' without a name, or listed twice"),
])
def test_a_wrong_entry_in_the_file_is_refused_with_where_it_is(tmp_path, change, message):
    doc = json.loads(LIFE_EVENTS_JSON.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "life-events.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_life_events(path)


# -- the journey ----------------------------------------------------------------------------------
@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def kiosk(hall: Hall, url: str) -> Shell:
    c = Shell(hall.cfg, hall.signed(url), hall.devices)
    hall.stack.callback(c.shutdown)
    run_until(c, lambda: c.device_states.get("printer", {}).get("state") == "online")
    return c


def open_event(c: Shell, code: str) -> None:
    if c.journey.name != "lifeevent":
        c.start("lifeevent")
        run_until(c, lambda: c.page.screen == "life_events" and not c.page.loading)
    c.act("open", code=code)
    run_until(c, lambda: c.page.screen == "life_event" and not c.page.loading)


def test_the_events_come_from_the_platform_without_a_card(hall):
    c = kiosk(hall, hall.platform.url)
    assert "lifeevent" in [e.journey for e in c.page.entries]  # on the welcome page
    c.start("lifeevent")
    assert c.page.screen == "life_events" and c.page.loading and c.page.status == "正在查询，请稍候…"
    run_until(c, lambda: not c.page.loading)
    assert [e.label for e in c.page.events] == ["出生", "上学", "就业", "创业开店", "婚姻", "住房", "退休养老", "身后事"]
    assert c.page.events[0].sub == "7 个事项" and not c.page.error
    c.set_language("en")
    assert c.page.events[0].label == "A birth" and c.page.events[7].label == "After a death"
    c.back()
    assert c.page.screen == "welcome"


def test_an_events_items_and_one_checklist_with_each_material_once(hall):
    c = kiosk(hall, hall.platform.url)
    open_event(c, "birth")
    page = c.page
    assert page.title == "出生" and page.can_print
    assert [i.name for i in page.items][:3] == ["1. 《出生医学证明》首次签发", "2. 《预防接种证》办理", "3. 户口登记"]
    asks = [i.name for i in page.items if i.note == "请到窗口咨询"]  # catalogue-only: no material list
    assert asks == ["2. 《预防接种证》办理", "7. 生育医疗费支付"]
    # The same material asked for by two items is listed once, with both items.
    ids = [m for m in page.materials if m.startswith("父母双方居民身份证")]
    assert ids == ["父母双方居民身份证（原件，1 份，必要） 用于事项 1、3"]
    assert "《出生医学证明》（原件，1 份，必要） 用于事项 3、4" in page.materials  # required by one of them
    names = [m.split("（")[0] for m in page.materials]
    assert len(names) == len(set(names))

    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "info", timeout=15)
    [slip] = hall.printer.wait_for_slips(1, timeout=5)
    lines = [line.strip() for line in slip.text_lines]
    text = "".join("".join(lines).split())  # lines wrap at the paper's edge; key and value are spaced apart
    assert "一件事材料清单" in text and "一件事：出生" in text
    assert "2.《预防接种证》办理（材料请到窗口咨询）" in text
    printed = [line for line in lines if line.startswith("□")]
    assert len(printed) == len(page.materials)
    assert sum(line.startswith("□ 父母双方居民身份证") for line in printed) == 1
    assert "父母双方居民身份证（原件，1份，必要）用于事项1、3" in text
    assert "申请人" not in text and "证件号码" not in text  # nothing about a person
    c.dismiss_notice()
    assert c.page.screen == "life_event"


def test_an_event_with_no_material_lists_says_ask_at_the_window(hall):
    c = kiosk(hall, hall.platform.url)
    open_event(c, "death")
    assert c.page.materials == () and c.page.status == "这些事项要带的材料请到窗口咨询"
    assert all(i.note == "请到窗口咨询" for i in c.page.items) and "殡葬" in c.page.note
    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "info", timeout=15)
    text = "".join("".join(hall.printer.wait_for_slips(1, timeout=5)[0].text_lines).split())
    assert "这些事项要带的材料请到窗口咨询" in text and "户口注销（材料请到窗口咨询）" in text


def test_a_guide_opened_from_an_event_goes_back_to_the_events_items(hall):
    c = kiosk(hall, hall.platform.url)
    open_event(c, "marriage")
    row = next(i for i in c.page.items if "中国内地公民婚姻登记" in i.name)
    c.act("guide", code=row.code)
    run_until(c, lambda: c.page.screen == "guide" and c.page.code == row.code)
    assert c.page.materials  # the full guide, as from the guide list
    c.back()
    assert c.page.screen == "life_event" and c.page.title == "婚姻" and c.page.items
    c.back()
    assert c.page.screen == "life_events" and len(c.page.events) == 8
    c.act("guide", code=row.code)  # no event open: nothing to open a guide from
    assert c.page.screen == "life_events"


def test_platform_down_says_so_and_try_again_works_once_it_is_back(hall, tmp_path):
    with socket.socket() as probe:  # a port where the platform will answer, once it is started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Life events are open, like guide reads: this platform does not know the terminal, nor needs to.
    c = Shell(hall.cfg, CentralClient(f"http://127.0.0.1:{port}", retries=1), hall.devices)
    hall.stack.callback(c.shutdown)
    c.start("lifeevent")
    run_until(c, lambda: not c.page.loading)
    assert c.page.error and c.page.status == "暂时无法连接服务平台，请稍后再试" and c.page.events == ()
    with BackgroundServer(tmp_path / "central.db", port=port):
        c.act("retry")
        run_until(c, lambda: not c.page.loading)
        assert not c.page.error and len(c.page.events) == 8
    c.act("open", code="birth")  # down again while the citizen chooses
    run_until(c, lambda: not c.page.loading)
    assert c.page.screen == "life_event" and c.page.title == "出生" and c.page.error
    assert c.page.items == () and not c.page.can_print
    c.act("print")
    assert c.page.screen == "life_event"
    with BackgroundServer(tmp_path / "central.db", port=port):
        c.act("retry")
        run_until(c, lambda: not c.page.loading)
        assert not c.page.error and c.page.items and c.page.can_print
    time.sleep(0.3)
    assert hall.printer.slips == []


def test_what_one_citizen_browsed_is_gone_when_they_leave(hall):
    proxy = FaultProxy(hall.platform.url, ["delay"], delay_s=0.3)
    hall.stack.callback(proxy.close)
    c = kiosk(hall, proxy.url)
    hall.reader.place_card(SAMPLE_CARDS["li_xiaomei"])
    run_until(c, lambda: c.page.screen == "personal")
    open_event(c, "business")
    c.back()
    c.act("open", code="marriage")  # still on its way when the citizen signs out
    c.logout()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        c.tick()
        time.sleep(0.02)
    assert [j.name for j in c.stack] == ["home"] and c.page.screen == "notice"
    c.dismiss_notice()
    assert c.page.screen == "welcome"
    c.start("lifeevent")  # the next citizen starts from the events, not from someone's event
    assert c.page.screen == "life_events" and c.page.loading
    assert hall.printer.slips == []
