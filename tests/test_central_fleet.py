"""The checked-in contract and the /fleet page, the latter rendered by headless Chromium.

Chromium runs against the reference server on 127.0.0.1 with everything that phones home off;
the test reads the DOM it built and keeps a screenshot (var/screenshots/fleet.png) for people.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from central.openapi import CONTRACT, dumps
from central.platform import PlatformStore
from central.server import BackgroundServer
from contract import auth
from contract.models import CaseSubmission, EvaluationSubmission, Heartbeat
from kiosk.central_client import CentralClient

REPO = Path(__file__).resolve().parent.parent
PASSPORT = "511A0116400001-511602000000-000-11511300008778693M-1-00"


class Clock:
    def __init__(self):
        import time

        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Three terminals: one well, one low on paper with a queued outbox, one out of paper and silent."""
    clock = Clock()
    db = tmp_path_factory.mktemp("fleet") / "central.db"
    secrets = {"HALL-0102": "s-0102", "HALL-0103": "s-0103"}
    store = PlatformStore(db)
    for tid, secret in secrets.items():
        store.add_terminal(tid, secret, exist_ok=True)
    with BackgroundServer(db, clock=clock) as srv:
        def client(tid, secret):
            return CentralClient(srv.url, terminal_id=tid, secret=secret, clock=clock)

        with client("HALL-0103", secrets["HALL-0103"]) as c:
            c.register(name="二楼 3 号机", hall="广安区政务服务中心", version="0.1.9")
            c.heartbeat(Heartbeat(version="0.1.9", outbox_depth=0, devices=[
                {"name": "热敏打印机", "kind": "printer", "status": "user_error", "paper": "out",
                 "detail": "请更换纸卷"}]))
        clock.t += 600  # HALL-0103 has been silent for ten minutes
        with client(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET) as c:
            c.register(name="一楼 1 号机", hall="广安区政务服务中心", version="0.2.0")
            c.heartbeat(Heartbeat(version="0.2.0", devices=[
                {"name": "身份证阅读器", "kind": "id_reader", "status": "online"},
                {"name": "热敏打印机", "kind": "printer", "status": "online", "paper": "full"}]))
            token = c.person_token("51160219900101123X", "张三").token
            case = c.submit_case(token, CaseSubmission(item_code=PASSPORT), str(uuid.uuid4()))
            c.evaluate(EvaluationSubmission(case_no=case.case_no, scores=dict.fromkeys(
                ["overall", "efficiency", "competence", "attitude"], 5)), person_token=token)
            c.evaluate(EvaluationSubmission(scores={"overall": 1, "efficiency": 1, "competence": 2, "attitude": 1}))
        with client("HALL-0102", secrets["HALL-0102"]) as c:
            c.register(name="一楼 2 号机", hall="广安区政务服务中心", version="0.2.0")
            c.heartbeat(Heartbeat(version="0.2.0", outbox_depth=4, devices=[
                {"name": "热敏打印机", "kind": "printer", "status": "online", "paper": "low"},
                {"name": "扫码器", "kind": "scanner", "status": "no_device"}]))
        yield srv


def test_served_contract_is_the_checked_in_one(fleet):
    served = requests.get(f"{fleet.url}/openapi.json", timeout=5).json()
    checked_in = json.loads(CONTRACT.read_text(encoding="utf-8"))
    assert dumps(served) == dumps(checked_in), (
        "the API contract changed: review it and run `python -m central.openapi` to update docs/openapi.json")


STAFF = (auth.DEMO_STAFF_USER, auth.DEMO_STAFF_PASSWORD)


def test_fleet_html_lists_every_terminal(fleet):
    resp = requests.get(f"{fleet.url}/fleet", auth=STAFF, timeout=5)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    for words in ("HALL-0102", "HALL-0103", "DEMO-0001", "缺纸", "纸尽", "离线", "未连接", "0.1.9"):
        assert words in html, words


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed (make system-deps)")
def test_fleet_page_in_headless_chromium(fleet, tmp_path):
    shot = REPO / "var" / "screenshots" / "fleet.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
    url = fleet.url.replace("http://", "http://{}:{}@".format(*STAFF)) + "/fleet"  # the staff login
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    rows = html.count('<tr data-terminal="')
    assert rows == 3, html
    assert 'data-terminal="HALL-0103"' in html and "离线" in html
    assert 'data-paper="low"' in html and "缺纸" in html and 'data-paper="out"' in html and "纸尽" in html
    assert "每日办件与评价" in html
    shot.unlink(missing_ok=True)
    result = subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and shot.stat().st_size > 10_000, result.stderr[-2000:]
