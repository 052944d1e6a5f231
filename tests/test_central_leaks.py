"""Leaks and wrong answers of the reference platform, over real HTTP on 127.0.0.1 (SQLite and
PostgreSQL): idempotency keys scoped to the person, replay protection that survives a clock step,
the /fleet login, who may rate a case (and only once), and personal data at rest (a private
database file, secure_delete, person tokens revoked when the call is done).

Raw signed requests are used where the point is what a misbehaving terminal could do; the kiosk
client where the point is what the kiosk does.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import stat
import subprocess
import threading
import uuid

import pytest
import requests
from central_pg import new_database
from sqlalchemy import inspect, text

from central.platform import PlatformStore
from central.server import BackgroundServer
from contract import auth
from contract.models import CaseSubmission, EvaluationSubmission
from kiosk.central_client import CentralClient, CentralError
from kiosk.outbox import Outbox, send_due
from tests.conftest import KIOSK, FakeClock

PASSPORT = "511A0116400001-511602000000-000-11511300008778693M-1-00"  # 普通护照签发
STEP = 10.0
ALICE = ("51160219900101123X", "张三")
BOB = ("51160219850505004X", "李四")
SCORES = {"overall": 5, "efficiency": 5, "competence": 4, "attitude": 5}
STAFF = ("staff", "demo-staff-password")  # the documented demo login of the reference /fleet page


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    clock = FakeClock()
    db = (tmp_path_factory.mktemp("leaks") / "central.db" if request.param == "sqlite"
          else new_database("central_leaks"))
    with BackgroundServer(db, clock=clock, step_seconds=STEP) as srv, \
            CentralClient(srv.url, backoff=0.01, terminal_id=auth.DEMO_TERMINAL_ID,
                          secret=auth.DEMO_TERMINAL_SECRET, clock=clock) as client:
        srv.store = PlatformStore(srv.db_path)
        yield srv, client, clock


@pytest.fixture
def usual_umask():
    """022, as on a hall server: files would be world-readable unless created private."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def signed(srv, clock, method: str, path: str, body: bytes = b"", *, person: str | None = None,
           key: str | None = None, extra: dict | None = None) -> requests.Response:
    headers = auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, method, path, body, now=clock())
    if body:
        headers["Content-Type"] = "application/json"
    if person:
        headers[auth.HEADER_PERSON] = person
    if key:
        headers["Idempotency-Key"] = key
    return requests.request(method, srv.url + path, data=body, headers={**headers, **(extra or {})}, timeout=5)


def error(resp: requests.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def case_body(path: str = "approve") -> bytes:
    return CaseSubmission(item_code=PASSPORT, form={"_demo_path": path}).model_dump_json().encode()


def rating_body(case_no: str | None, scores: dict | None = None) -> bytes:
    return EvaluationSubmission(case_no=case_no, scores=scores or SCORES).model_dump_json().encode()


def token_rows(srv, id_number: str) -> int:
    with srv.store.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM person_tokens WHERE id_number = :i"),
                            {"i": id_number}).scalar_one()


# -- 1. idempotency keys are scoped to the person ---------------------------------------------------
def test_idempotency_key_of_another_person_is_a_conflict_not_their_case(env):
    srv, client, clock = env
    alice, bob = client.person_token(*ALICE).token, client.person_token(*BOB).token
    key = str(uuid.uuid4())
    first = signed(srv, clock, "POST", "/api/v1/cases", case_body(), person=alice, key=key)
    assert first.status_code == 201
    case_no = first.json()["case_no"]
    stolen = signed(srv, clock, "POST", "/api/v1/cases", case_body(), person=bob, key=key)
    assert error(stolen) == (409, "idempotency_conflict") and case_no not in stolen.text
    again = signed(srv, clock, "POST", "/api/v1/cases", case_body(), person=alice, key=key)
    assert again.status_code == 200 and again.json()["case_no"] == case_no
    # A key stored before keys had a scope is checked against the case's applicant.
    with srv.store.engine.begin() as conn:
        conn.execute(text("UPDATE idempotency SET scope = NULL WHERE key = :k"), {"k": key})
    assert signed(srv, clock, "POST", "/api/v1/cases", case_body(), person=bob, key=key).status_code == 409
    assert signed(srv, clock, "POST", "/api/v1/cases", case_body(), person=alice, key=key).status_code == 200

    # Supplements: Bob's key-reuse on his own case must not answer "done" without doing it.
    a_case = client.submit_case(alice, CaseSubmission.model_validate_json(case_body("supplement")), str(uuid.uuid4()))
    b_case = client.submit_case(bob, CaseSubmission.model_validate_json(case_body("supplement")), str(uuid.uuid4()))
    clock.advance(STEP * 2 + 1)
    sup, skey = b'{"materials": ["\xe6\x88\xb7\xe5\x8f\xa3\xe7\xb0\xbf"]}', str(uuid.uuid4())
    assert signed(srv, clock, "POST", f"/api/v1/cases/{a_case.case_no}/supplements", sup, person=alice,
                  key=skey).status_code == 200
    resp = signed(srv, clock, "POST", f"/api/v1/cases/{b_case.case_no}/supplements", sup, person=bob, key=skey)
    assert error(resp) == (409, "idempotency_conflict")
    assert client.get_case(b_case.case_no, bob).state == "supplement"


# -- 2. replay protection survives clock steps ------------------------------------------------------
def test_replay_is_refused_across_a_clock_step_both_ways(env):
    srv, _, clock = env
    path = "/api/v1/queue/services"

    def send(headers):
        return requests.get(srv.url + path, headers=headers, timeout=5)

    def capture():
        return auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "GET", path, now=clock())

    # Back 11 minutes and forward again: the captured request is still known.
    captured = capture()
    assert send(captured).status_code == 200
    clock.advance(-660)
    assert send(capture()).status_code == 200
    assert error(send(captured)) == (401, "stale_timestamp")
    clock.advance(660)
    assert error(send(captured)) == (401, "replayed")

    # Forward 11 minutes (the server tidies up on the way) and back again: still refused.
    captured = capture()
    assert send(captured).status_code == 200
    clock.advance(660)
    assert send(capture()).status_code == 200
    clock.advance(-660)
    assert send(captured).status_code == 401
    # A new request from that moment is refused too (the server no longer knows what it saw
    # then) until the clock is past what it forgot; then requests pass again.
    assert error(send(capture())) == (401, "stale_timestamp")
    clock.advance(auth.WINDOW_S)
    assert send(capture()).status_code == 200


# -- 3. the fleet page needs a staff login -------------------------------------------------------------
def test_fleet_page_needs_a_staff_login(env):
    srv, _, _ = env
    anonymous = requests.get(f"{srv.url}/fleet", timeout=5)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    assert auth.DEMO_TERMINAL_ID not in anonymous.text
    assert requests.get(f"{srv.url}/fleet", auth=(STAFF[0], "guess"), timeout=5).status_code == 401
    page = requests.get(f"{srv.url}/fleet", auth=STAFF, timeout=5)
    assert page.status_code == 200 and auth.DEMO_TERMINAL_ID in page.text


def test_kiosk_central_serve_takes_the_staff_login_from_the_environment(tmp_path):
    env = {**os.environ, "CENTRAL_STAFF_PASSWORD": "hall-7-pw"}
    proc = subprocess.Popen([KIOSK, "central", "serve", "--port", "0", "--db", str(tmp_path / "central.db")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        url = lines.get(timeout=20).split()[3]
        told = lines.get(timeout=5)
        assert f"{url}/fleet" in told and "CENTRAL_STAFF_PASSWORD" in told and "hall-7-pw" not in told
        assert requests.get(f"{url}/fleet", auth=STAFF, timeout=5).status_code == 401  # not the demo login
        assert requests.get(f"{url}/fleet", auth=("staff", "hall-7-pw"), timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


# -- 4. who may rate a case, and how often -----------------------------------------------------------
def test_a_case_is_rated_once_by_its_applicant(env):
    srv, client, clock = env
    alice, bob = client.person_token(*ALICE).token, client.person_token(*BOB).token
    case = client.submit_case(alice, CaseSubmission.model_validate_json(case_body()), str(uuid.uuid4()))
    body = rating_body(case.case_no, {"overall": 1, "efficiency": 1, "competence": 1, "attitude": 1})
    assert error(signed(srv, clock, "POST", "/api/v1/evaluations", body)) == (401, "person_token_required")
    assert error(signed(srv, clock, "POST", "/api/v1/evaluations", body, person=bob)) == (403, "not_case_owner")
    assert error(signed(srv, clock, "POST", "/api/v1/evaluations", body,
                        extra={"X-Rating-Code": "NOT-THE-CODE"})) == (403, "rating_code_invalid")
    key = str(uuid.uuid4())
    first = signed(srv, clock, "POST", "/api/v1/evaluations", body, person=alice, key=key)
    assert first.status_code == 201
    again = signed(srv, clock, "POST", "/api/v1/evaluations", body, person=alice, key=key)  # a lost answer
    assert again.status_code == 200 and again.json()["evaluation_id"] == first.json()["evaluation_id"]
    assert error(signed(srv, clock, "POST", "/api/v1/evaluations", body, person=alice,
                        key=str(uuid.uuid4()))) == (409, "already_rated")
    assert error(signed(srv, clock, "POST", "/api/v1/evaluations", rating_body(case.case_no),
                        person=alice)) == (409, "already_rated")
    with srv.store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM evaluations WHERE case_no = :c"),
                            {"c": case.case_no}).scalar_one() == 1


def test_rating_idempotency_key_of_another_person_is_a_conflict(env):
    srv, client, clock = env
    alice, bob = client.person_token(*ALICE).token, client.person_token(*BOB).token
    case = client.submit_case(alice, CaseSubmission.model_validate_json(case_body()), str(uuid.uuid4()))
    key = str(uuid.uuid4())
    rated = signed(srv, clock, "POST", "/api/v1/evaluations", rating_body(case.case_no), person=alice, key=key)
    assert rated.status_code == 201
    resp = signed(srv, clock, "POST", "/api/v1/evaluations", rating_body(case.case_no), person=bob, key=key)
    assert error(resp) == (409, "idempotency_conflict") and rated.json()["evaluation_id"] not in resp.text


def test_rating_code_on_the_receipt_works_once(env):
    srv, client, clock = env
    alice = client.person_token(*ALICE).token
    case = client.submit_case(alice, CaseSubmission.model_validate_json(case_body()), str(uuid.uuid4()))
    assert case.rating_code and client.get_case(case.case_no).rating_code == case.rating_code
    # Another terminal finds the case by its number, but not the code; the public page neither.
    srv.store.add_terminal("HALL-LEAKS", "s-leaks", exist_ok=True)
    with CentralClient(srv.url, terminal_id="HALL-LEAKS", secret="s-leaks", clock=clock) as other:
        assert other.get_case(case.case_no).rating_code is None
    assert case.rating_code not in requests.get(f"{srv.url}/track/{case.case_no}", timeout=5).text
    with CentralClient(srv.url, terminal_id=auth.DEMO_TERMINAL_ID, secret=auth.DEMO_TERMINAL_SECRET,
                       clock=clock) as kiosk:  # later, without the citizen's card: the code alone
        key = str(uuid.uuid4())
        ev = EvaluationSubmission(case_no=case.case_no, scores=SCORES)
        first = kiosk.evaluate(ev, key, rating_code=case.rating_code)
        assert kiosk.evaluate(ev, key, rating_code=case.rating_code).evaluation_id == first.evaluation_id
        with pytest.raises(CentralError) as err:
            kiosk.evaluate(ev, str(uuid.uuid4()), rating_code=case.rating_code)
        assert (err.value.status, err.value.code) == (409, "already_rated")
        assert kiosk.get_case(case.case_no).evaluated
        # A rating of the hall's service, about no case, needs no one's token.
        assert not kiosk.evaluate(EvaluationSubmission(item_code=PASSPORT, scores=SCORES)).flagged


# -- 5. personal data at rest -------------------------------------------------------------------------
def test_revoked_person_token_is_gone(env):
    srv, client, clock = env
    who = ("51160220000229001X", "王五")
    token = client.person_token(*who).token
    assert token_rows(srv, who[0]) == 1
    resp = signed(srv, clock, "DELETE", "/api/v1/persons/token", person=token)
    assert resp.status_code == 204
    assert token_rows(srv, who[0]) == 0
    with pytest.raises(CentralError) as err:
        client.my_cases(token)
    assert (err.value.status, err.value.code) == (401, "person_token_invalid")
    client.revoke_person_token(token)  # revoking twice (a retry) is fine
    token = client.person_token(*who).token
    client.revoke_person_token(token)
    assert token_rows(srv, who[0]) == 0


def test_expired_tokens_are_purged_without_a_new_sign_in(env):
    srv, client, clock = env
    who = ("51160219700707002X", "赵六")
    client.person_token(*who)
    clock.advance(31 * 60)  # 15 min valid, then answered "expired" for 15 min, then gone
    client.queue_services()
    assert token_rows(srv, who[0]) == 0


def test_outbox_revokes_the_token_it_used(env, tmp_path):
    srv, _, clock = env
    tid = "OB-" + uuid.uuid4().hex[:6].upper()
    secret = srv.store.add_terminal(tid)
    who = ("51160219800808003X", "孙七")
    box = Outbox(tmp_path / "outbox.db", tid, clock=clock)
    case = box.enqueue_case(CaseSubmission(item_code=PASSPORT, form={"_demo_path": "approve"}), *who)
    with CentralClient(srv.url, terminal_id=tid, secret=secret, clock=clock) as client:
        assert send_due(box, client)["delivered"] == 1
        assert token_rows(srv, who[0]) == 0
        # The citizen rates the case at the kiosk: the rating goes out with a token of its own.
        case_no = box.get(case.seq).case_number
        box.enqueue_evaluation(EvaluationSubmission(case_no=case_no, scores=SCORES), *who)
        assert send_due(box, client)["delivered"] == 1
        assert token_rows(srv, who[0]) == 0 and client.get_case(case_no).evaluated
        # Or later, with the code from the receipt: no personal data in the outbox at all.
        person = client.person_token(*who).token
        other = client.submit_case(person, CaseSubmission(item_code=PASSPORT), str(uuid.uuid4()))
        client.revoke_person_token(person)
        rating = box.enqueue_evaluation(EvaluationSubmission(case_no=other.case_no, scores=SCORES),
                                        rating_code=other.rating_code)
        assert rating.person == {"rating_code": other.rating_code}
        assert send_due(box, client)["delivered"] == 1 and client.get_case(other.case_no).evaluated


def test_platform_database_is_private_and_wipes_deleted_rows(tmp_path, usual_umask):
    old = tmp_path / "old.db"
    old.write_bytes(b"")
    old.chmod(0o644)  # a database from before: tightened on open
    for path in (tmp_path / "fresh" / "central.db", old):
        store = PlatformStore(path)
        name = "绝密测试人" + uuid.uuid4().hex[:4]
        store.issue_token(auth.DEMO_TERMINAL_ID, "51160219600606004X", name)
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert {p.name for p in files} >= {path.name, path.name + "-wal"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            conn.exec_driver_sql("DELETE FROM person_tokens")
            conn.commit()
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        data = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
        assert name.encode("utf-8") not in data  # overwritten, not just unlinked from the b-tree
        store.engine.dispose()


def test_database_from_before_gains_the_new_columns(tmp_path):
    path = tmp_path / "central.db"
    PlatformStore(path)
    with sqlite3.connect(path) as conn:  # as the schema was before scopes and rating codes
        conn.execute("ALTER TABLE idempotency DROP COLUMN scope")
        conn.execute("ALTER TABLE cases DROP COLUMN rating_code")
    store = PlatformStore(path)
    columns = {t: {c["name"] for c in inspect(store.engine).get_columns(t)} for t in ("idempotency", "cases")}
    assert "scope" in columns["idempotency"] and "rating_code" in columns["cases"]
    store.engine.dispose()
