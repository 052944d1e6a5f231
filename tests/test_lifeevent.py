"""Browse by life event (一件事): the platform's event → items map (a reviewed file checked against the
广安区 catalogue), and the journey as a citizen uses it - the events from the reference platform over
HTTP, an event's items, a guide opened from them, and one combined materials checklist out of the
ESC/POS emulator."""

from __future__ import annotations

import json
import re

import pytest

from central.seed import LIFE_EVENTS_JSON, load_life_events
from kiosk.central_client import CentralClient, CentralError

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
