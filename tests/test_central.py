"""The reference central platform and the kiosk's client, over real HTTP on 127.0.0.1.

The server runs in a thread with its own database (seeded from the real 广安区 catalogue), once on
a SQLite file and once on a local PostgreSQL (tests/central_pg.py; skipped if it cannot start);
a second, deliberately broken server (http.server) checks that every failure reaches the kiosk
as a CentralError with a plain Chinese message, never as a raw exception.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from central_pg import new_database

from central.db import GuideStore, normalise
from central.seed import HAND_WRITTEN, seed
from central.server import BackgroundServer
from kiosk.central_client import ZH_NOT_FOUND, ZH_UNAVAILABLE, CentralClient, CentralError

SOCIAL_PROOF = "51201401800006-511602000000-000-12511301452260997J-1-00"  # 个人参保证明查询打印
HUKOU_MOVE = "511A0147300000-511602000000-000-11511300008778693M-1-00"  # 户口迁移审批
PLAIN_ITEM = "511Z07001006-511602000000-000-11511301008778183N-1-00"  # no hand-written details


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """One platform per backend: first start on an empty database, so it also seeds."""
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("central") / "central.db"
    else:
        db = new_database("central_guides")
    with BackgroundServer(db) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with CentralClient(server.url, backoff=0.01) as c:
        yield c


def names(page) -> list[str]:
    return [g.name for g in page.items]


# -- server start ---------------------------------------------------------------------------
def test_startup_seeds_the_catalogue_quickly(server):
    """Demo and tests start the platform on every run: it must be ready in well under 3 s."""
    assert server.url.startswith("http://127.0.0.1:")
    assert server.seed_report is not None and server.seed_report.total == 1135
    assert server.seed_report.written == 1135
    assert server.startup_seconds < 3.0, f"startup took {server.startup_seconds:.2f} s"


def test_health_counts_guides(client):
    health = client.health()
    assert health.status == "ok" and health.guides == 1135


def test_openapi_documents_the_contract(server):
    spec = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    assert {"/health", "/api/v1/guides", "/api/v1/guides/{item_code}", "/api/v1/departments"} <= set(spec["paths"])
    assert {"Guide", "GuidePage", "Material", "ErrorResponse"} <= set(spec["components"]["schemas"])


# -- search ---------------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["社保", "sb", "shebao"])
def test_social_insurance_by_hanzi_initials_and_pinyin(client, q):
    """A citizen types 社保 / sb / shebao: the everyday word finds the official items."""
    page = client.search_guides(q)
    found = names(page)
    assert "个人参保证明查询打印" in found[:5]  # via its keyword 社保, ranked as an exact hit
    assert "高校毕业生社保补贴申领" in names(client.search_guides(q, limit=100))
    assert page.total >= 8


@pytest.mark.parametrize(("q", "word"), [("hukou", "户口"), ("hunyin", "婚姻")])
def test_hot_topics_by_pinyin(client, q, word):
    """Pinyin matches only from a syllable start: 'hunyin' must not hit 准印 (zhun yin)."""
    page = client.search_guides(q, limit=100)
    assert page.total > 0
    assert all(word in n for n in names(page)[:5]), names(page)
    assert not any("准印" in n for n in names(page))


def test_pinyin_may_end_mid_syllable(client):
    """Typing is incremental: 'jiaoyu' also finds 宗教院校 (jiao yuan), after the 教育 items."""
    found = names(client.search_guides("jiaoyu", limit=100))
    assert all("教育" in n for n in found[:10])
    assert any("宗教院校" in n for n in found)
    assert names(client.search_guides("shebao"))[0] in names(client.search_guides("sheb"))


def test_everyday_words_reach_official_names(client):
    assert "个体工商户设立登记" in names(client.search_guides("yingye"))
    assert "城乡居民参保登记" in names(client.search_guides("医保"))


def test_exact_and_prefix_hits_come_first(client):
    found = names(client.search_guides("户口登记"))
    assert found[0] == "户口登记"
    assert found[1] == "户口登记项目内容变更更正证明"


@pytest.mark.parametrize("q", ["511A01473", "511a01473", "５１１Ａ０１４７３", " 511A 01473 ", HUKOU_MOVE])
def test_item_code_fragment(client, q):
    page = client.search_guides(q)
    assert page.total == 1 and page.items[0].item_code == HUKOU_MOVE


def test_full_width_half_width_and_spaces_are_normalised(client):
    half = client.search_guides("个体工商户信息确认(县级行使)")  # the catalogue has （）
    assert names(half)[0] == "个体工商户信息确认（县级行使）"
    assert client.search_guides("ｓｂ").total == client.search_guides("sb").total
    assert client.search_guides("社 保").total == client.search_guides("社保").total
    assert names(client.search_guides("ＳＨＥＢＡＯ")) == names(client.search_guides("shebao"))


def test_like_wildcards_are_literal(client):
    assert client.search_guides("_").total == 0
    assert all("%" in n for n in names(client.search_guides("%")))


def test_paging_departments_and_filter(client):
    everything = client.search_guides("", limit=100)
    assert everything.total == 1135 and len(everything.items) == 100
    page2 = client.search_guides("", limit=100, offset=100)
    assert not {g.item_code for g in everything.items} & {g.item_code for g in page2.items}
    depts = client.departments().items
    assert len(depts) == 34 and sum(d.count for d in depts) == 1135
    assert (depts[0].name, depts[0].count) == ("区行政审批局", 344)
    civil = client.search_guides("", limit=100, department="区民政局")
    assert civil.total == 20 and {g.department for g in civil.items} == {"区民政局"}


# -- guides ---------------------------------------------------------------------------------
def test_hand_written_guide_has_full_materials(client):
    guide = client.get_guide(SOCIAL_PROOF)
    assert guide.name == "个人参保证明查询打印" and guide.detail_complete
    first = guide.materials[0]
    assert (first.form, first.copies, first.required) == ("原件", 1, "必要")
    assert guide.handling_type == "即办件" and guide.promised_limit_days == 0
    assert guide.fee == "不收费" and guide.place.startswith("广安区政务服务中心")
    assert guide.hours == "周一至周五 9:00-12:00 13:30-17:00"
    assert guide.basis and guide.conditions and guide.link.startswith("http")


def test_every_hand_written_guide_is_complete(client):
    assert len(HAND_WRITTEN) >= 8
    for code in HAND_WRITTEN:
        g = client.get_guide(code)
        assert g.detail_complete and g.materials and g.handling_type and g.visits is not None, code
        assert any(m.required == "必要" for m in g.materials), code


def test_catalogue_only_guide_says_ask_at_the_window(client):
    guide = client.get_guide(PLAIN_ITEM)
    assert not guide.detail_complete and guide.materials == []
    assert guide.name == "企业投资项目备案（技术改造）（市级/县级）"
    assert client.search_guides(PLAIN_ITEM).items[0].detail_complete is False


@pytest.mark.parametrize("code", ["NO-SUCH-ITEM", "a/b?c#d", "社保"])
def test_unknown_code_is_not_found(client, code):
    with pytest.raises(CentralError) as err:
        client.get_guide(code)
    assert err.value.code == "not_found" and err.value.status == 404 and err.value.zh == ZH_NOT_FOUND


def test_bad_parameters_get_the_error_envelope(server, client):
    resp = requests.get(f"{server.url}/api/v1/guides", params={"limit": 1000}, timeout=5)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_request"
    with pytest.raises(CentralError) as err:
        client.search_guides("x", limit=1000)
    assert err.value.code == "invalid_request" and "limit" in err.value.message


# -- database -------------------------------------------------------------------------------
def test_seed_is_idempotent(server):
    """Re-seeding writes nothing and keeps updated_at, which incremental refresh relies on."""
    store = GuideStore(server.db_path)
    before = store.get(SOCIAL_PROOF)["updated_at"]
    report = seed(store)
    assert (report.total, report.written) == (1135, 0)
    assert store.count() == 1135 and store.get(SOCIAL_PROOF)["updated_at"] == before


def test_normalise():
    assert normalise(" ＳＢ （ ） ") == "sb()"


def test_a_schema_2_database_loses_its_search_columns_and_keeps_its_guides(tmp_path):
    import sqlite3

    db = tmp_path / "old.db"
    GuideStore(db).upsert([{"item_code": "OLD-1", "name": "旧库事项", "department": "测试局", "detail": {}}])
    with sqlite3.connect(db) as conn:  # as schema 2 left it: search columns written on every insert
        conn.execute("ALTER TABLE guides ADD COLUMN search_name TEXT NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE guides ADD COLUMN pinyin_starts TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store = GuideStore(db)  # as a new version of the platform opens it
    assert store.upsert([{"item_code": "NEW-1", "name": "新事项", "department": "测试局", "detail": {}}]) == 1
    assert store.count() == 2
    with sqlite3.connect(db) as conn:
        assert "pinyin_starts" not in {r[1] for r in conn.execute("PRAGMA table_info(guides)")}


def test_second_server_reuses_database_and_stops_cleanly(server):
    with BackgroundServer(server.db_path) as other:
        assert other.url != server.url and other.seed_report is None
        with CentralClient(other.url) as c:
            assert c.health().guides == 1135
        url = other.url
    with CentralClient(url, retries=1) as c, pytest.raises(CentralError) as err:
        c.health()
    assert err.value.code == "unreachable"


# -- failures -------------------------------------------------------------------------------
class _Junk(BaseHTTPRequestHandler):
    """Answers every GET the way server.mode says; counts requests for the retry checks."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits += 1
        mode = self.server.mode
        if mode == "close":  # read the request, answer nothing, hang up
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(0.6)
        status, ctype, body = {
            "html": (200, "text/html", b"<html><body>Wi-Fi login</body></html>"),
            "badjson": (200, "application/json", b'{"status": "ok", "guides": '),
            "wrongshape": (200, "application/json", b'{"total": "many", "items": [{"name": 1}]}'),
            "500": (500, "text/plain", b"boom"),
            "503json": (503, "application/json",
                        json.dumps({"error": {"code": "maintenance", "message": "back at 9"}}).encode()),
            "bare404": (404, "text/html", b"<h1>Not Found</h1>"),
            "slow": (200, "application/json", b'{"status": "ok", "guides": 1}'),
        }[mode]
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (read timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def junk():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Junk)
    srv.daemon_threads = True
    srv.mode, srv.hits = "html", 0
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(("mode", "call", "code", "hits"), [
    ("html", "health", "bad_response", 1),
    ("badjson", "health", "bad_response", 1),
    ("wrongshape", "search", "bad_response", 1),
    ("500", "guide", "server_error", 3),
    ("503json", "search", "server_error", 3),
    ("close", "health", "unreachable", 3),
    ("bare404", "guide", "http_error", 1),  # a wrong base URL is not "no such item"
    ("slow", "health", "timeout", 1),
])
def test_broken_server_gives_central_error(junk, mode, call, code, hits):
    junk.mode, junk.hits = mode, 0
    with CentralClient(f"http://127.0.0.1:{junk.server_address[1]}", timeout=(1, 0.3), backoff=0.01) as client:
        fn = {"health": client.health, "search": lambda: client.search_guides("sb"),
              "guide": lambda: client.get_guide(SOCIAL_PROOF)}[call]
        with pytest.raises(CentralError) as err:
            fn()
    assert err.value.code == code, err.value.message
    assert err.value.zh == ZH_UNAVAILABLE
    assert junk.hits == hits
    assert str(junk.server_address[1]) in err.value.message  # staff can see which server failed


def test_nothing_listening_gives_central_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with CentralClient(f"http://127.0.0.1:{port}", backoff=0.01) as c, pytest.raises(CentralError) as err:
        c.search_guides("社保")
    assert err.value.code == "unreachable" and err.value.zh == ZH_UNAVAILABLE
    assert "3 attempt" in err.value.message
    assert time.perf_counter() - started < 2


def test_client_rejects_a_url_that_is_not_http():
    with pytest.raises(ValueError):
        CentralClient("ftp://example.org")


def test_client_does_not_load_the_server():
    """The kiosk shares only the contract (pydantic models), not FastAPI, uvicorn or SQLite code."""
    code = ("import sys, kiosk.central_client; "
            "bad = [m for m in ('fastapi', 'uvicorn', 'central.app', 'central.db', 'central.server') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
