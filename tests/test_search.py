"""Search that finds what citizens mean: everyday words, 繁體, typos, pinyin, initials and codes,
read the same way by the platform and by a kiosk's offline copy after `kiosk guides sync`.

Everything runs on the real 广安区 catalogue: the reference platform over HTTP on 127.0.0.1 and a
kiosk catalogue synced from it. The figures over judged query sets are bench/search_quality.py's.
"""

from __future__ import annotations

import csv
import json

import pytest

from central.search import ALIASES_JSON, load_aliases
from central.seed import CATALOGUE_CSV
from contract.aliases import AliasTable
from contract.models import CaseSubmission
from contract.textkeys import fold, name_forms, words
from kiosk import config
from kiosk.catalogue import Catalogue
from kiosk.central_client import CentralClient
from kiosk.pages import GuidesPage
from kiosk.shell import Shell
from tests.conftest import REPO
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def client(platform):
    return CentralClient(platform.url, retries=1)


@pytest.fixture(scope="module")
def synced(client, tmp_path_factory):
    """The kiosk's copy after a sync, as `kiosk guides sync` leaves it."""
    cat = Catalogue(tmp_path_factory.mktemp("kiosk") / "catalogue.db")
    cat.sync(client)
    yield cat
    cat.close()


def top(cat, q: str, n: int = 3) -> list[str]:
    return [g.name for g in cat.search(q, limit=n).items]


@pytest.mark.parametrize(("query", "wanted"), [
    ("低保", "最低生活保障"),            # an everyday word for an item whose name lacks it
    ("狗证", "犬类准养证"),
    ("社保卡挂失", "社会保障卡挂失"),      # two words, each from a different reading
    ("身份證 補辦", "居民身份证"),          # 繁體, and a space between the words
    ("戶口遷移", "户口迁移"),
    ("结昏", "婚姻登记"),                 # same-sound typo: 结昏 sounds like 结婚
    ("低宝", "最低生活保障"),
    ("养老保险补教", "补缴"),              # 补教 heard as bujiao inside a longer query
    ("shebaoak", "社会保障卡"),            # pinyin two letters swapped
    ("sbk", "社会保障卡"),                 # initials of an everyday word
    ("shehui baozhangka guashi", "社会保障卡挂失"),  # pinyin words with spaces
    ("511A0147300000", "户口迁移"),        # the first part of an item code
    ("食品经营许可", "食品(含保健食品)经营许可"),  # brackets do not split a name
    ("我要办低保怎么办", "最低生活保障"),    # filler words around it
])
def test_citizens_words_find_the_item(synced, query, wanted):
    assert any(wanted in n for n in top(synced, query)), top(synced, query, 8)


def test_initials_never_run_across_a_bracket():
    # 特殊车辆在城市道路上行驶（包括经过城市桥梁）审批: "sbk" only spans 行驶）（包括 in the raw name.
    forms = name_forms("特殊车辆在城市道路上行驶（包括经过城市桥梁）审批")
    assert "特殊车辆在城市道路上行驶审批" in forms and not any("行驶包括" in f for f in forms)


def test_short_initials_rank_the_common_item_first(synced):
    """hy starts 货运代理… and is inside 婚姻登记: with two letters, complete guides come first."""
    assert top(synced, "hy", 1) == ["中国内地公民婚姻登记"]


def test_material_only_matches_form_their_own_group_after_the_answers(synced):
    page = synced.search("身份证", limit=60)
    kinds = [g.matched for g in page.items]
    assert kinds[0] in ("name", "keyword") and "material" in kinds
    first_material = kinds.index("material")
    assert all(k == "material" for k in kinds[first_material:]), kinds


def test_offline_answers_are_the_platforms(synced, client):
    for q in ("社保卡丢了", "hunyin", "sbk", "結婚證", "养老金资格认正", "营业执照", "511A0147300000", "犬"):
        offline = [g.item_code for g in synced.search(q, limit=10).items]
        online = [g.item_code for g in client.search_guides(q, limit=10).items]
        assert offline == online and offline, q


def test_the_alias_table_is_synced_and_read_offline(synced, client):
    served = client.search_aliases()
    assert synced.aliases().version == served.version == load_aliases().version
    assert synced.meta("aliases") and "最低生活保障" in synced.aliases().means["低保"]


def test_a_halls_own_words_are_read_with_the_platforms(synced, tmp_path):
    assert not any("犬类" in n for n in top(synced, "毛孩子"))
    local = Catalogue(synced.path, {"毛孩子": ["犬类"]})  # [search] aliases in the kiosk's config
    try:
        assert any("犬类" in n for n in top(local, "毛孩子"))
        assert any("最低生活保障" in n for n in top(local, "低保"))  # the platform's words still apply
    finally:
        local.close()


def test_punctuation_alone_finds_nothing_and_blank_browses(synced):
    assert synced.search("、（）").total == 0
    assert synced.search("  ").total == synced.count()


def test_nothing_found_offers_words_that_look_alike(synced):
    page = synced.search("shebaoxxx")  # three letters too many to be read as 社保, close enough to offer it
    assert page.total == 0 and "社保" in page.suggestions
    assert synced.search("qxz").suggestions == []


def test_popularity_from_cases_ranks_equal_results(platform, client, tmp_path):
    """Items people use come first among equals: the platform counts its cases per item and the
    kiosk gets the order with its next sync."""
    store = platform.store
    # Two catalogue items answering "xiaoyu" (小鱼) alike: same level, same length, no cases yet.
    rows = [{"item_code": f"TEST-POP-{i}", "name": f"小鱼养殖{suffix}", "department": "测试局",
             "detail": {"detail_complete": False}} for i, suffix in enumerate(("备案", "许可"))]
    store.guides.upsert(rows)
    cat = Catalogue(tmp_path / "catalogue.db")
    try:
        cat.sync(client)
        before = [g.item_code for g in cat.search("xiaoyu").items]
        assert sorted(before) == ["TEST-POP-0", "TEST-POP-1"]
        rare = before[1]
        tid, person = "DEMO-0001", ("110101199003077777", "测试")
        for n in range(3):
            body = json.dumps({"item_code": rare, "n": n}).encode()
            store.submit_case(tid, person, CaseSubmission(item_code=rare), f"pop-{n}", body)
        assert store.refresh_popularity() >= 1
        cat.sync(client)
        assert [g.item_code for g in cat.search("xiaoyu").items][0] == rare
        assert [g.item_code for g in client.search_guides("xiaoyu").items][0] == rare
    finally:
        cat.close()
        store.guides.delete([r["item_code"] for r in rows])


def test_the_guides_page_shows_groups_and_helps_when_nothing_is_found(platform, synced):
    cfg = config.load(REPO / "config" / "demo.toml").model_copy(deep=True)
    cfg.search.help_desk = "一楼导服台"
    shell = Shell(cfg, CentralClient(platform.url, retries=1), catalogue=synced)
    try:
        shell.start("guide")
        for key in "qxz":
            shell.act("type", text=key)
        run_until(shell, lambda: isinstance(shell.page, GuidesPage) and shell.page.nothing)
        page = shell.page
        assert not page.items and page.topics and "一楼导服台" in page.ask
        assert page.topics[1] == ("身份证", "身份证")
        shell.act("search", query=page.topics[1][0])  # a topic chip
        run_until(shell, lambda: not shell.page.loading and shell.page.items)
        assert shell.page.items and shell.page.mentions and not shell.page.nothing
        shell.act("clear")
        shell.act("events")  # nothing found → browse by life event instead
        run_until(shell, lambda: shell.journey.name == "lifeevent")
    finally:
        shell.shutdown()


# -- the alias table is reviewed data: check it as such ------------------------------------------
def _catalogue_names() -> list[str]:
    with open(CATALOGUE_CSV, encoding="utf-8-sig", newline="") as fh:
        return [r["name"] for r in csv.DictReader(fh)]


def test_every_alias_meaning_is_in_the_catalogue_and_no_word_means_two_things():
    raw = json.loads(ALIASES_JSON.read_text("utf-8"))
    assert raw["source"] and all(e["source"] for e in raw["aliases"])
    texts = [f for n in _catalogue_names() for f in ("".join(words(n)), *name_forms(n))]
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw["aliases"]):
        for m in entry["means"]:
            key = "".join(words(fold(m)))
            assert any(key in t for t in texts), f"{m!r} is in no catalogue name"
        for w in entry["words"]:
            assert seen.setdefault(w, i) == i, f"{w!r} is in two entries"
    table = AliasTable(load_aliases())
    assert not table.fillers & set(table.means), "a filler is also an everyday word"
    assert len(table.hot) >= 8
