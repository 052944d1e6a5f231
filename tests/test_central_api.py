"""Every endpoint of the central platform over real HTTP on 127.0.0.1, with signed requests, on
SQLite and on a local PostgreSQL (tests/central_pg.py).

Time is a FakeClock shared by server and client: moving it forward drives the simulated back
office, token expiry and the signature window without sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import requests
from central_pg import new_database
from fault_proxy import FaultProxy

from central.db import GuideStore
from central.server import BackgroundServer
from contract import auth
from contract.models import CaseSubmission, EvaluationSubmission, Heartbeat
from kiosk.central_client import CentralClient, CentralError
from tests.conftest import FakeClock

SOCIAL_PROOF = "51201401800006-511602000000-000-12511301452260997J-1-00"  # 个人参保证明查询打印
PASSPORT = "511A0116400001-511602000000-000-11511300008778693M-1-00"  # 普通护照签发 (承诺件, 7 days)
ID_NO, NAME = "51160219900101123X", "张三"
STEP = 10.0  # back-office seconds per step in these tests


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    clock = FakeClock()
    db = (tmp_path_factory.mktemp("api") / "central.db" if request.param == "sqlite"
          else new_database("central_api"))
    with BackgroundServer(db, clock=clock, step_seconds=STEP) as srv, \
            CentralClient(srv.url, backoff=0.01, terminal_id=auth.DEMO_TERMINAL_ID,
                          secret=auth.DEMO_TERMINAL_SECRET, clock=clock) as client:
        yield srv, client, clock


@pytest.fixture
def person(env):
    _, client, _ = env
    return client.person_token(ID_NO, NAME).token


def submission(path: str = "approve", item: str = PASSPORT) -> CaseSubmission:
    return CaseSubmission(item_code=item, form={"_demo_path": path, "目的地": "新加坡"}, materials=["居民身份证"])


def signed(url: str, method: str, path: str, body: bytes = b"", *, now: float, secret: str = auth.DEMO_TERMINAL_SECRET,
           terminal: str = auth.DEMO_TERMINAL_ID, extra: dict | None = None) -> requests.Response:
    headers = {**auth.signed_headers(terminal, secret, method, path, body, now=now), **(extra or {})}
    if body:
        headers["Content-Type"] = "application/json"
    return requests.request(method, url + path, data=body, headers=headers, timeout=5)


# -- guides ---------------------------------------------------------------------------------------
def test_guides_are_open_and_also_accept_signed_reads(env):
    srv, client, _ = env
    with CentralClient(srv.url) as anonymous:
        assert anonymous.search_guides("护照").items[0].item_code == PASSPORT
    assert client.search_guides("huzhao").items[0].item_code == PASSPORT
    guide = client.get_guide(PASSPORT)
    assert guide.detail_complete and guide.fee.startswith("普通护照 120 元")
    assert client.departments().items


def test_incremental_sync_pages_and_reports_deletions(env):
    srv, client, _ = env
    seen: dict[str, str] = {}
    since, after, pages = None, "", 0
    while True:
        page = client.guide_changes(since, after, limit=500)
        pages += 1
        for g in page.guides:
            assert g.item_code not in seen
            seen[g.item_code] = g.name
        since, after = page.next_since, page.next_after
        if not page.more:
            break
    assert len(seen) == 1135 and pages == 3  # all seeded in one instant: keyset paging still works
    assert not client.guide_changes(since, after).guides

    store = GuideStore(srv.db_path)
    row = store.get(SOCIAL_PROOF)
    assert store.delete([SOCIAL_PROOF]) == 1
    page = client.guide_changes(since, after)
    assert page.deleted == [SOCIAL_PROOF] and not page.guides
    with pytest.raises(CentralError) as err:
        client.get_guide(SOCIAL_PROOF)
    assert err.value.code == "not_found"
    from central.seed import load_catalogue  # put it back: re-adding clears the tombstone
    store.upsert([r for r in load_catalogue() if r["item_code"] == SOCIAL_PROOF])
    page = client.guide_changes(page.next_since, page.next_after)
    assert [g.item_code for g in page.guides] == [SOCIAL_PROOF] and page.deleted == []
    assert client.get_guide(SOCIAL_PROOF).name == row["name"]


# -- authentication ---------------------------------------------------------------------------------
def test_signature_window_and_replay(env):
    srv, _, clock = env
    path = "/api/v1/queue/services"
    assert signed(srv.url, "GET", path, now=clock()).status_code == 200

    def code(resp):
        return resp.status_code, resp.json()["error"]["code"]

    assert code(requests.get(srv.url + path, timeout=5)) == (401, "unsigned")
    assert code(signed(srv.url, "GET", path, now=clock(), secret="wrong")) == (401, "bad_signature")
    assert code(signed(srv.url, "GET", path, now=clock() - 301)) == (401, "stale_timestamp")
    assert code(signed(srv.url, "GET", path, now=clock() + 301)) == (401, "stale_timestamp")
    assert signed(srv.url, "GET", path, now=clock() - 290).status_code == 200
    assert code(signed(srv.url, "GET", path, now=clock(), terminal="NOPE-1")) == (401, "unknown_terminal")
    # the signature covers the query and the body
    headers = auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "GET", path + "?x=1",
                                  now=clock())
    assert code(requests.get(srv.url + path + "?x=2", headers=headers, timeout=5)) == (401, "bad_signature")
    body = json.dumps({"service": "A"}).encode()
    headers = auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "POST", "/api/v1/queue/tickets",
                                  body, now=clock())
    tampered = json.dumps({"service": "B"}).encode()
    resp = requests.post(srv.url + "/api/v1/queue/tickets", data=tampered, headers=headers, timeout=5)
    assert code(resp) == (401, "bad_signature")
    # replay: the very same signed request a second time
    headers = auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "GET", path, now=clock())
    assert requests.get(srv.url + path, headers=headers, timeout=5).status_code == 200
    assert code(requests.get(srv.url + path, headers=headers, timeout=5)) == (401, "replayed")
    # a guide read is open, but a wrong signature on it is still refused
    headers = auth.signed_headers(auth.DEMO_TERMINAL_ID, "wrong", "GET", "/api/v1/departments", now=clock())
    assert code(requests.get(srv.url + "/api/v1/departments", headers=headers, timeout=5)) == (401, "bad_signature")


def test_person_token_is_required_bound_and_short_lived(env):
    srv, client, clock = env
    with pytest.raises(CentralError) as err:
        client.my_cases("")
    assert err.value.code == "person_token_required" and err.value.zh == "请先刷身份证或扫码登录"
    token = client.person_token(ID_NO, NAME)
    assert token.id_masked == "511602********123X"
    assert client.my_cases(token.token).items is not None
    # another terminal cannot use it
    platform_secret = "second-terminal-secret"
    _add_terminal(srv, "HALL-0002", platform_secret)
    with CentralClient(srv.url, terminal_id="HALL-0002", secret=platform_secret, clock=clock) as other, \
            pytest.raises(CentralError) as err:
        other.my_cases(token.token)
    assert err.value.code == "person_token_invalid"
    clock.advance(15 * 60 + 1)
    with pytest.raises(CentralError) as err:
        client.my_cases(token.token)
    assert err.value.code == "person_token_expired" and err.value.status == 401


def test_citizen_code_verifies_into_an_identity(env):
    _, client, clock = env
    code = auth.make_citizen_code(ID_NO, NAME, ttl_s=60, now=clock())
    who = client.verify_citizen_code(code)
    assert (who.id_number, who.name) == (ID_NO, NAME)
    assert client.person_token(who.id_number, who.name, source="citizen_code").token
    with pytest.raises(CentralError) as err:
        client.verify_citizen_code(auth.make_citizen_code(ID_NO, NAME, ttl_s=60, now=clock() - 120))
    assert (err.value.code, err.value.status) == ("code_expired", 400) and "过期" in err.value.zh
    forged = auth.make_citizen_code(ID_NO, NAME, key="not-the-province", now=clock())
    for bad in (forged, "https://example.org/not-a-code", code[:-3] + "AAA"):
        with pytest.raises(CentralError) as err:
            client.verify_citizen_code(bad)
        assert err.value.code == "code_invalid" and err.value.zh


# -- cases ----------------------------------------------------------------------------------------
def test_submit_is_idempotent(env, person):
    srv, client, clock = env
    key = str(uuid.uuid4())
    first = client.submit_case(person, submission(), key)
    again = client.submit_case(person, submission(), key)
    assert first.case_no == again.case_no and len(first.case_no) <= 50
    assert first.item_name == "普通护照签发" and first.applicant_masked == "511602********123X"
    assert first.state == "submitted" and first.state_label == "已申报" and first.promised_by is not None
    with pytest.raises(CentralError) as err:
        client.submit_case(person, submission("deny"), key)
    assert (err.value.code, err.value.status) == ("idempotency_conflict", 409)
    # raw HTTP: 201 for a new key, 200 for a repeat, 422 without a key
    body = submission().model_dump_json().encode()
    extra = {"Idempotency-Key": str(uuid.uuid4()), auth.HEADER_PERSON: person}
    assert signed(srv.url, "POST", "/api/v1/cases", body, now=clock(), extra=extra).status_code == 201
    assert signed(srv.url, "POST", "/api/v1/cases", body, now=clock(), extra=extra).status_code == 200
    resp = signed(srv.url, "POST", "/api/v1/cases", body, now=clock(), extra={auth.HEADER_PERSON: person})
    assert resp.status_code == 422
    with pytest.raises(CentralError) as err:
        client.submit_case(person, submission(item="NO-SUCH-ITEM"), str(uuid.uuid4()))
    assert err.value.code == "not_found"


def _states(case) -> list[str]:
    return [e.state.value for e in case.timeline]


def test_back_office_path_through_supplement(env, person):
    srv, client, clock = env
    case = client.submit_case(person, submission("supplement"), str(uuid.uuid4()))
    clock.advance(STEP * 2 + 1)
    case = client.get_case(case.case_no, person)
    assert _states(case) == ["submitted", "pre_review", "supplement"]
    assert case.state_label == "补齐补正" and case.supplement and case.supplement.materials
    # The receipt's QR page, no login: what to bring, told once, and nobody's name or number.
    page = requests.get(f"{srv.url}/track/{case.case_no}", timeout=5)
    assert page.status_code == 200 and all(m in page.text for m in case.supplement.materials)
    assert NAME not in page.text and ID_NO[-4:] not in page.text
    clock.advance(STEP * 50)  # the back office waits for the citizen, however long
    assert client.get_case(case.case_no).state == "supplement"
    with pytest.raises(CentralError) as err:
        client.submit_supplement(person, "GA-NOT-MINE", ["x"])
    assert err.value.code == "not_found"
    case = client.submit_supplement(person, case.case_no, case.supplement.materials)
    assert case.state == "pre_review" and case.supplement is None
    clock.advance(STEP * 10)
    case = client.get_case(case.case_no, person)
    assert _states(case) == ["submitted", "pre_review", "supplement", "pre_review", "accepted", "processing",
                             "concluded", "delivered", "awaiting_rating"]
    assert case.result == "approved" and case.state_label == "待评价"
    times = [e.at for e in case.timeline]
    assert times == sorted(times)
    with pytest.raises(CentralError) as err:
        client.submit_supplement(person, case.case_no, ["again"])
    assert err.value.code == "not_awaiting_supplement"
    # the approved result became an e-certificate of the applicant
    assert any(c.number == case.case_no for c in client.certificates(person).items)


def test_supplement_answer_lost_is_applied_once(env, person):
    """The answer to a supplement is lost after the platform applied it (the proxy closes the
    connection): the client sends it again with the same key and gets the case, not a 409."""
    srv, client, clock = env
    case = client.submit_case(person, submission("supplement"), str(uuid.uuid4()))
    clock.advance(STEP * 2 + 1)
    case = client.get_case(case.case_no, person)
    assert case.state == "supplement"
    key = str(uuid.uuid4())
    with FaultProxy(srv.url, ["drop_after", "pass"]) as proxy, \
            CentralClient(proxy.url, backoff=0.01, terminal_id=auth.DEMO_TERMINAL_ID,
                          secret=auth.DEMO_TERMINAL_SECRET, clock=clock) as lossy:
        again = lossy.submit_supplement(person, case.case_no, case.supplement.materials, idempotency_key=key)
        assert proxy.seen["drop_after"] == 1
    assert again.state == "pre_review" and _states(again).count("pre_review") == 2
    clock.advance(STEP * 3)  # the case has moved on: the same key still answers the case
    assert client.submit_supplement(person, case.case_no, case.supplement.materials,
                                    idempotency_key=key).case_no == case.case_no
    assert _states(client.get_case(case.case_no, person)).count("pre_review") == 2
    with pytest.raises(CentralError) as err:
        client.submit_supplement(person, case.case_no, ["另一份材料"], idempotency_key=key)
    assert err.value.code == "idempotency_conflict"


@pytest.mark.parametrize(("path", "states", "result"), [
    ("refuse", ["submitted", "pre_review", "not_accepted"], None),
    ("special", ["submitted", "pre_review", "accepted", "processing", "special", "processing", "concluded",
                 "delivered", "awaiting_rating"], "approved"),
    ("deny", ["submitted", "pre_review", "accepted", "processing", "concluded", "delivered", "awaiting_rating"],
     "denied"),
])
def test_back_office_other_paths(env, person, path, states, result):
    _, client, clock = env
    case = client.submit_case(person, submission(path), str(uuid.uuid4()))
    clock.advance(STEP * 3 + 1)
    partial = client.get_case(case.case_no)
    assert _states(partial) == states[:4]  # progress is visible on the way
    clock.advance(STEP * 20)
    final = client.get_case(case.case_no)
    assert _states(final) == states and final.result == result
    assert case.case_no in {c.case_no for c in client.my_cases(person).items}


# -- certificates, evaluations, queue -------------------------------------------------------------
def test_certificates_and_printable_proof(env, person):
    srv, client, clock = env
    certs = client.certificates(person).items
    assert {"居民身份证电子证照", "社会保障卡"} <= {c.name for c in certs}
    assert all(c.holder_masked == "511602********123X" for c in certs)
    proof = client.certificate_proof(person, certs[0].cert_id)
    assert len(proof.verification_code) == 14 and proof.verify_url.endswith(proof.verification_code)
    check = requests.get(proof.verify_url, timeout=5).json()  # open: whoever holds the paper checks it
    assert check["valid"] and check["certificate_name"] == certs[0].name
    clock.advance(91 * 86400)
    assert requests.get(proof.verify_url, timeout=5).json()["valid"] is False
    with pytest.raises(CentralError) as err:
        client.certificate_proof(client.person_token(ID_NO, NAME).token, "NO-SUCH-CERT")
    assert err.value.code == "not_found"


def test_evaluations_flag_bad_ratings(env, person):
    _, client, _ = env
    questions = client.evaluation_questions()
    assert [q.text for q in questions.questions] == ["整体满意度", "服务效率", "服务水平", "服务态度"]
    assert questions.levels[1] == "非常不满意" and questions.levels[5] == "非常满意"
    case = client.submit_case(person, submission(), str(uuid.uuid4()))
    good = client.evaluate(EvaluationSubmission(case_no=case.case_no, scores=dict.fromkeys(
        ["overall", "efficiency", "competence", "attitude"], 5)), person_token=person)
    assert not good.flagged and good.level_label == "非常满意" and good.follow_up_due is None
    assert client.get_case(case.case_no).evaluated
    key = str(uuid.uuid4())
    bad = EvaluationSubmission(item_code=PASSPORT, comment="等了很久",
                               scores={"overall": 2, "efficiency": 1, "competence": 3, "attitude": 3})
    first = client.evaluate(bad, key)
    assert first.flagged and first.level == 2 and first.follow_up_due > first.created_at
    assert client.evaluate(bad, key).evaluation_id == first.evaluation_id
    with pytest.raises(ValueError):
        EvaluationSubmission(scores={"overall": 5})  # every fixed question must be answered


def test_queue_tickets_number_per_service_and_day(env):
    _, client, clock = env
    clock.advance(2 * 86400)  # a fresh day for this test
    a1, a2, b1 = client.take_ticket("A"), client.take_ticket("A"), client.take_ticket("B")
    assert (a1.ticket_no, a2.ticket_no, b1.ticket_no) == ("A001", "A002", "B001")
    assert a2.waiting_ahead == 1 and a1.service_name == "综合受理"
    waiting = {s.code: s.waiting for s in client.queue_services().items}
    assert waiting["A"] == 2 and waiting["C"] == 0
    clock.advance(86400)
    assert client.take_ticket("A").ticket_no == "A001"
    with pytest.raises(CentralError) as err:
        client.take_ticket("Z")
    assert err.value.code == "not_found"


# -- terminals ------------------------------------------------------------------------------------
def test_register_heartbeat_and_commands(env):
    srv, client, clock = env
    reg = client.register(name="一楼大厅 1 号机", hall="广安区政务服务中心", version="0.2.0")
    assert reg.terminal_id == auth.DEMO_TERMINAL_ID and reg.hall == "广安区政务服务中心"
    beat = Heartbeat(version="0.2.0", outbox_depth=3, devices=[
        {"name": "printer", "kind": "printer", "status": "online", "paper": "low"},
        {"name": "id_reader", "kind": "id_reader", "status": "online"}])
    assert client.heartbeat(beat).commands == []
    url = f"{srv.url}/api/v1/terminals/{auth.DEMO_TERMINAL_ID}/commands"
    assert requests.post(url, json={"command": "sync_guides"}, timeout=5).status_code == 401
    admin = {auth.HEADER_ADMIN: auth.DEMO_ADMIN_KEY}
    resp = requests.post(url, json={"command": "notice", "args": {"text": "今日 16:00 停机维护"}},
                         headers=admin, timeout=5)
    assert resp.status_code == 201
    cmds = client.heartbeat(beat).commands
    assert [(c.command, c.args) for c in cmds] == [("notice", {"text": "今日 16:00 停机维护"})]
    assert client.heartbeat(beat).commands == cmds  # until acknowledged
    assert client.heartbeat(beat.model_copy(update={"acked_commands": [cmds[0].command_id]})).commands == []
    listing = requests.get(f"{srv.url}/api/v1/terminals", headers=admin, timeout=5).json()["items"]
    demo = next(t for t in listing if t["terminal_id"] == auth.DEMO_TERMINAL_ID)
    assert demo["online"] and demo["outbox_depth"] == 3 and demo["devices"][0]["paper"] == "low"
    clock.advance(600)
    listing = requests.get(f"{srv.url}/api/v1/terminals", headers=admin, timeout=5).json()["items"]
    assert not next(t for t in listing if t["terminal_id"] == auth.DEMO_TERMINAL_ID)["online"]


def test_client_retries_idempotent_posts_with_fresh_signatures(env, person, monkeypatch):
    """A retried submission is re-signed (a new nonce), so replay protection does not refuse it."""
    _, client, _ = env
    real = client.session.request
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        resp = real(*args, **kwargs)
        if calls["n"] == 1:  # the server got it, the answer was "lost": a 502 from a proxy
            resp.status_code = 502
        return resp

    monkeypatch.setattr(client.session, "request", flaky)
    key = str(uuid.uuid4())
    case = client.submit_case(person, submission(), key)
    assert calls["n"] == 2
    monkeypatch.undo()
    assert client.submit_case(person, submission(), key).case_no == case.case_no


def _add_terminal(srv, tid: str, secret: str) -> None:
    from central.platform import PlatformStore

    PlatformStore(srv.db_path).add_terminal(tid, secret, exist_ok=True)


def test_timestamps_are_utc(env, person):
    _, client, _ = env
    case = client.submit_case(person, submission(), str(uuid.uuid4()))
    assert case.submitted_at.utcoffset() == dt.timedelta(0)
