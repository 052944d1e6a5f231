"""The local guide catalogue: offline search (Chinese substring, pinyin, initials, code), sync
with tombstones against the reference platform over HTTP, all-or-nothing import, CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time

import pytest

from central.db import GuideStore
from central.server import BackgroundServer
from contract.models import Guide
from kiosk import config
from kiosk.catalogue import Catalogue, CatalogueError
from kiosk.central_client import CentralClient
from kiosk.shell import Shell
from tests.conftest import KIOSK, REPO

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def guide(code: str, name: str, dept: str = "民政局", materials=("居民身份证",), **kw) -> Guide:
    return Guide.model_validate({
        "item_code": code, "name": name, "department": dept, "updated_at": T0,
        "detail_complete": True, "materials": [{"name": m, "form": "原件", "copies": 1, "required": "必要"}
                                               for m in materials], **kw})


@pytest.fixture
def cat(tmp_path):
    c = Catalogue(tmp_path / "catalogue.db")
    c.upsert([guide("11511602MB1552795G4000110000", "中国内地公民婚姻登记"),
              guide("11511602MB1552795G4000120000", "户口登记", "公安局", ("户口簿", "出生医学证明")),
              guide("X-SB-001", "社会保险参保证明打印", "人社局"),
              guide("X-ZY-002", "准印证核发", "新闻出版局")])
    yield c
    c.close()


def names(page) -> list[str]:
    return [g.name for g in page.items]


@pytest.mark.parametrize(("query", "expected"), [
    ("婚姻", ["中国内地公民婚姻登记"]),           # Chinese substring in the middle of a name
    ("婚", ["中国内地公民婚姻登记"]),             # one character
    ("hunyin", ["中国内地公民婚姻登记"]),         # full pinyin from a syllable start, not 准印 (zhun yin)
    ("HunYin", ["中国内地公民婚姻登记"]),
    ("bxcb", ["社会保险参保证明打印"]),           # initials anywhere (shBXCBzmdy)
    ("hkdj", ["户口登记"]),
    ("出生医学", ["户口登记"]),                   # a material
    ("公安", ["户口登记"]),                       # a department
    ("11511602MB1552795G400012", ["户口登记"]),   # an item code prefix
    ("中国内地公民婚姻登记", ["中国内地公民婚姻登记"]),  # longer than a search key
    ("zhongguoneidigongminhunyindengji", ["中国内地公民婚姻登记"]),
    ("婚姻 登记", ["中国内地公民婚姻登记"]),         # spaces between Chinese words do not matter
    ("婚姻 户口", ["户口登记", "中国内地公民婚姻登记"]),  # one word found in each: shorter name first
    ("ｈｕｎｙｉｎ", ["中国内地公民婚姻登记"]),     # full-width letters from a touch keyboard
    ("结婚", ["中国内地公民婚姻登记"]),           # 结 is in no guide: what is left, 婚, is searched
    ("qqq", []),
])
def test_offline_search(cat, query, expected):
    assert names(cat.search(query)) == expected


def test_ranking_exact_then_prefix_then_shorter(cat):
    cat.upsert([guide("A1", "户口登记项目内容变更更正证明", "公安局"), guide("A2", "补办户口登记", "公安局")])
    assert names(cat.search("户口登记")) == ["户口登记", "户口登记项目内容变更更正证明", "补办户口登记"]
    page = cat.search("户口", limit=1, offset=1)
    assert page.total == 3 and len(page.items) == 1


def test_update_replaces_search_keys(cat):
    cat.upsert([guide("X-ZY-002", "出版物准印证核发", "新闻出版局").model_copy(update={"name": "印刷许可"})])
    assert "印刷许可" in names(cat.search("印刷")) and "出版物准印证核发" not in names(cat.search("准印"))
    assert not any("准" in n for n in names(cat.search("zhunyin")))
    assert cat.get("X-ZY-002").name == "印刷许可"


def test_import_is_all_or_nothing(tmp_path):
    good = [guide(f"C{i}", f"事项{i}").model_dump_json() for i in range(3)]
    f = tmp_path / "guides.jsonl"
    f.write_text("\n".join([good[0], good[1], '{"item_code": "C9", "name": "坏"}', good[2]]) + "\n", encoding="utf-8")
    c = Catalogue(tmp_path / "c.db")
    with pytest.raises(CatalogueError, match=r"line 3: department: Field required"):
        c.import_jsonl(f)
    assert c.count() == 0 and not c.ready
    f.write_text("\n".join(good) + "\n", encoding="utf-8")
    assert c.import_jsonl(f) == 3 and c.ready and names(c.search("事项2"))[0] == "事项2"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db") as server:
        yield server


def test_sync_is_incremental_and_applies_tombstones(platform, tmp_path):
    client = CentralClient(platform.url)
    c = Catalogue(tmp_path / "c.db")
    assert not c.ready
    first = c.sync(client, page=300)
    assert first.changed == c.count() == client.health().guides and first.pages >= 4 and c.ready
    assert names(c.search("hunyin"))[0] == "中国内地公民婚姻登记"
    store = GuideStore(platform.db_path)
    victim = c.search("hunyin").items[0].item_code
    store.delete([victim])
    store.upsert([{"item_code": "NEW-0001", "name": "新增测试事项", "department": "测试局",
                   "detail": {"detail_complete": False}}])
    second = c.sync(client)
    assert (second.changed, second.deleted) == (1, 1)
    assert c.get(victim) is None and names(c.search("xzcs")) == ["新增测试事项"]
    assert c.sync(client).changed == 0


def test_a_sync_that_brings_nothing_keeps_the_pinyin_candidates_and_one_that_brings_a_guide_rebuilds_them(
        platform, tmp_path):
    """Every regular sync of an unchanged catalogue rebuilt the candidates (~0.6 s, and ~20 MB of
    Python's arenas left fragmented for good: bench/SOAK.md); a guide that did change is offered."""
    client = CentralClient(platform.url)
    c = Catalogue(tmp_path / "c.db")
    c.sync(client)
    c.warm()
    built, generation = c.pinyin._built, c.generation
    again = c.sync(client)
    c.warm()
    assert again.changed == again.deleted == 0
    assert c.pinyin._built is built and c.generation == generation
    assert c.last_sync is not None  # the cursor and the time of the sync were still written
    GuideStore(platform.db_path).upsert([{"item_code": "NEW-BEES-1", "name": "蜂箱迁移备案", "department": "农业局",
                                          "detail": {"detail_complete": False}}])
    assert "蜂箱迁移备案" not in [x.text for x in c.pinyin.suggest("fxqy")]
    assert c.sync(client).changed == 1
    c.warm()
    assert c.pinyin._built is not built
    assert "蜂箱迁移备案" in [x.text for x in c.pinyin.suggest("fxqy")]


def test_searching_all_day_does_not_grow_sqlites_memory(platform, tmp_path):
    """Each search's candidates once made a statement of their own (a placeholder per id), kept in
    the connection's cache of 128, and the page cache held up to 4 MB: SQLite's memory rose for
    hours of searches (bench/SOAK.md). Now it stays where the first searches put it."""
    import ctypes
    import random

    lib = ctypes.CDLL("libsqlite3.so.0")  # the library Python's sqlite3 module uses
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    c = Catalogue(tmp_path / "c.db")
    c.sync(CentralClient(platform.url))
    names = [g.name for g in c.guides()]
    rnd = random.Random(3)

    def search(n: int) -> None:
        for _ in range(n):
            name = rnd.choice(names)
            k = rnd.randint(1, min(4, len(name)))
            page = c.search(name[:k] if rnd.random() < 0.5 else "".join(rnd.sample(name, k)))
            if page.items:
                c.get(page.items[0].item_code)

    search(100)
    before = lib.sqlite3_memory_used()
    search(300)
    grown = (lib.sqlite3_memory_used() - before) / 1e6
    assert grown < 0.3, f"SQLite's memory grew {grown:.2f} MB over 300 more searches"


def test_the_guide_journey_searches_the_local_copy_when_the_platform_is_down(tmp_path):
    cfg = config.load(REPO / "config" / "demo.toml")
    cat = Catalogue(tmp_path / "c.db")
    cat.upsert([guide("L1", "中国内地公民婚姻登记")])
    f = tmp_path / "one.jsonl"
    f.write_text(guide("L2", "户口登记").model_dump_json() + "\n", encoding="utf-8")
    cat.import_jsonl(f)
    c = Shell(cfg, CentralClient("http://127.0.0.1:9", retries=1), catalogue=cat)
    try:
        c.start("guide")
        c.act("search", query="hunyin")
        deadline = time.monotonic() + 5
        while c.page.loading or not c.page.items:
            assert time.monotonic() < deadline, c.page
            c.tick()
            time.sleep(0.02)
        assert [i.name for i in c.page.items] == ["中国内地公民婚姻登记"]
        c.act("open", code="L1")
        while c.page.screen != "guide":
            assert time.monotonic() < deadline, c.page
            c.tick()
            time.sleep(0.02)
    finally:
        c.shutdown()


def test_cli_import_and_search(tmp_path):
    (tmp_path / "k.toml").write_text(f'[paths]\nvar = "{tmp_path}"\n', encoding="utf-8")
    f = tmp_path / "g.jsonl"
    f.write_text(guide("C1", "中国内地公民婚姻登记").model_dump_json() + "\nnot json\n", encoding="utf-8")
    r = subprocess.run([KIOSK, "guides", "--config", str(tmp_path / "k.toml"), "import", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "line 2" in r.stderr
    f.write_text(guide("C1", "中国内地公民婚姻登记").model_dump_json() + "\n", encoding="utf-8")
    r = subprocess.run([KIOSK, "guides", "--config", str(tmp_path / "k.toml"), "import", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([KIOSK, "guides", "--config", str(tmp_path / "k.toml"), "search", "hy", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert json.loads(r.stdout)["items"][0]["item_code"] == "C1"


def test_pages_follow_the_tiers_across_their_borders(cat):
    """Paging a query whose hits span all four tiers gives each guide once, in tier order."""
    cat.upsert([guide("T0", "户口"), guide("T1", "户口迁出"), guide("T2", "补办户口", "公安局"),
                guide("T3", "居住证签注", "公安局", ("户口簿复印件",)),
                *(guide(f"M{i:03d}", f"材料事项{i:03d}", "民政局", ("户口簿",)) for i in range(40))])
    whole = cat.search("户口", limit=100)
    top = names(whole)[:4]  # exact, prefix (same length and start: either order), in the name
    assert whole.total == 45 and top[0] == "户口" and set(top[1:3]) == {"户口登记", "户口迁出"} and top[3] == "补办户口"
    assert set(names(whole)[4:]) == {"居住证签注", *(f"材料事项{i:03d}" for i in range(40))}
    paged = [n for off in range(0, 45, 7) for n in names(cat.search("户口", limit=7, offset=off))]
    assert paged == names(whole)


def test_many_guides_of_one_name_all_stay_findable(cat):
    """Same name, same length and first characters: rowid slots collide and are probed past."""
    cat.upsert([guide(f"SAME-{i:04d}", "同名事项") for i in range(300)])
    page = cat.search("tmsx", limit=500)
    assert page.total == 300 and len({g.item_code for g in page.items}) == 300
    cat.upsert([guide("SAME-0007", "同名事项改名后更长了")])  # a longer name moves it in the order
    page = cat.search("tmsx", limit=500)
    assert page.total == 300 and names(page)[-1] == "同名事项改名后更长了"  # shorter names first


def test_a_copy_in_an_older_format_is_dropped_and_fetched_again(tmp_path, caplog):
    import sqlite3
    old = tmp_path / "catalogue.db"
    with sqlite3.connect(old) as conn:
        conn.executescript("CREATE TABLE guides (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO guides VALUES (1, 'x');"
                           "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('complete', '1');"
                           "PRAGMA user_version = 1;")
    c = Catalogue(old)
    assert c.count() == 0 and not c.ready and "older format (1)" in caplog.text
    c.upsert([guide("N1", "新格式事项")])
    assert names(c.search("xgssx")) == ["新格式事项"]


def test_a_failed_sync_is_tried_again_soon_not_at_the_next_regular_one(platform, tmp_path):
    """The platform is away when the kiosk starts (the demo's starts beside it; a hall's network
    may be late): the copy is fetched seconds after it answers, not guides_sync_min later."""
    from kiosk.background import Background
    from kiosk.upkeep import Upkeep

    cfg = config.load(REPO / "config" / "demo.toml")
    now = [100.0]
    cat = Catalogue(tmp_path / "catalogue.db")
    background = Background()
    upkeep = Upkeep(cfg, CentralClient("http://127.0.0.1:9", retries=1), background, lambda: now[0], cat)
    try:
        upkeep.tick()
        deadline = time.monotonic() + 10
        while not background.answered() and time.monotonic() < deadline:
            time.sleep(0.02)
        background.apply_finished()  # failed: tried again in 2 s, then 4, 8 ...
        assert not cat.ready
        upkeep.central = CentralClient(platform.url)
        now[0] += 1
        upkeep.tick()
        assert not background._pending  # not yet
        now[0] += 1.5
        upkeep.tick()
        deadline = time.monotonic() + 30
        while not background.answered() and time.monotonic() < deadline:
            time.sleep(0.05)
        background.apply_finished()
        assert cat.ready and cat.count() > 1000
    finally:
        background.shutdown()
        cat.close()


def test_the_first_letter_typed_finds_its_candidates_built(platform, tmp_path):
    """The pinyin candidates (~0.6 s to build for a county) are built by the sync's own job, after a
    sync and after a failed one (offline, an earlier copy), not by the first citizen's keystroke."""
    from kiosk.background import Background
    from kiosk.upkeep import Upkeep

    def sync_once(upkeep, background):
        upkeep.tick()
        deadline = time.monotonic() + 30
        while not background.answered() and time.monotonic() < deadline:
            time.sleep(0.05)
        background.apply_finished()

    cfg = config.load(REPO / "config" / "demo.toml")
    for central in (CentralClient(platform.url), CentralClient("http://127.0.0.1:9", retries=1)):
        cat = Catalogue(tmp_path / "catalogue.db")  # the second time: the first's copy, the platform away
        background = Background()
        try:
            sync_once(Upkeep(cfg, central, background, lambda: 0.0, cat), background)
            assert cat.ready
            built = cat.pinyin._built
            assert built is not None and built[0] == cat.generation
            assert cat.pinyin.suggest("hun", limit=3)
        finally:
            background.shutdown()
            cat.close()
