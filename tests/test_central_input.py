"""Hostile or broken input to the central platform over real HTTP on 127.0.0.1: every answer is a
4xx with the contract's error body, nothing reaches the database or the server log as a crash.

The platform logs every unhandled error with its traceback (central.app ``_crash``), so "no
ERROR record while the request ran" is what an operator reading the log would see.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from central.app import MAX_BODY_BYTES
from contract import auth
from contract.models import MAX_FORM_KEY, MAX_FORM_VALUE, MAX_LIST, MAX_NAME

ID_NO, NAME = "51160219900101123X", "张三"
PASSPORT = "511A0116400001-511602000000-000-11511300008778693M-1-00"
MIB = 1024 * 1024


def signed(url: str, method: str, path: str, body: bytes | None = b"", extra: dict | None = None,
           content_type: str = "application/json") -> requests.Response:
    headers = {**auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, method, path, body or b""),
               **(extra or {})}
    if body:
        headers["Content-Type"] = content_type
    return requests.request(method, url + path, data=body, headers=headers, timeout=30)


def post_json(url: str, path: str, doc: object, extra: dict | None = None) -> requests.Response:
    return signed(url, "POST", path, json.dumps(doc).encode(), extra)


def error_code(resp: requests.Response) -> tuple[int, str]:
    """(status, error code); the body must be the contract's error envelope."""
    body = resp.json()
    assert set(body) == {"error"} and {"code", "message", "zh"} <= set(body["error"]), body
    return resp.status_code, body["error"]["code"]


@pytest.fixture
def server_log(caplog):
    """Fails the test if the platform logged an error (a crash with its traceback) meanwhile."""
    caplog.set_level(logging.WARNING)
    yield caplog
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not crashes, "server logged: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in crashes)


@pytest.fixture(scope="module")
def person(platform):
    resp = post_json(platform.url, "/api/v1/persons/token", {"id_number": ID_NO, "name": NAME})
    assert resp.status_code == 200, resp.text
    return {auth.HEADER_PERSON: resp.json()["token"]}


HEARTBEAT = "/api/v1/terminals/heartbeat"


# -- numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("beat", [
    {"outbox_depth": 2**63},  # overflowed the SQLite INTEGER column: 500
    {"outbox_depth": -1},
    {"outbox_depth": 10**9},
    {"outbox_depth": True},  # a boolean is not a count
    {"outbox_depth": 3.0},
    {"outbox_depth": "3"},
    {"acked_commands": [2**64]},  # 500 as well
    {"acked_commands": [0]},
    {"acked_commands": list(range(1, 1002))},
    {"devices": [{"name": f"d{i}"} for i in range(500)]},
], ids=["depth-2^63", "depth-negative", "depth-huge", "depth-bool", "depth-float", "depth-string",
        "ack-2^64", "ack-0", "ack-too-many", "too-many-devices"])
def test_heartbeat_numbers_out_of_range_are_refused(platform, server_log, beat):
    assert error_code(post_json(platform.url, HEARTBEAT, beat)) == (422, "invalid_request")


def test_a_boolean_does_not_acknowledge_command_one(platform, server_log):
    """``[true]`` was read as command 1: the terminal would never see that command."""
    admin = {auth.HEADER_ADMIN: auth.DEMO_ADMIN_KEY}
    url = f"{platform.url}/api/v1/terminals/{auth.DEMO_TERMINAL_ID}/commands"
    queued = requests.post(url, json={"command": "sync_guides"}, headers=admin, timeout=5).json()
    assert error_code(post_json(platform.url, HEARTBEAT, {"acked_commands": [True]})) == (422, "invalid_request")
    pending = post_json(platform.url, HEARTBEAT, {}).json()["commands"]
    assert queued["command_id"] in [c["command_id"] for c in pending]
    answer = post_json(platform.url, HEARTBEAT, {"acked_commands": [queued["command_id"]]}).json()
    assert queued["command_id"] not in [c["command_id"] for c in answer["commands"]]


def test_a_boolean_is_not_a_rating(platform, server_log):
    scores = {"overall": True, "efficiency": 5, "competence": 5, "attitude": 5}
    resp = post_json(platform.url, "/api/v1/evaluations", {"scores": scores})
    assert error_code(resp) == (422, "invalid_request")  # was stored as 非常不满意 and flagged


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_sync_cursor_that_overflows_utc_is_refused(platform, server_log, since):
    resp = requests.get(f"{platform.url}/api/v1/guides/changes", params={"since": since}, timeout=5)
    assert error_code(resp) == (422, "invalid_request")
    assert "since" in resp.json()["error"]["message"]


def test_earliest_sync_cursor_still_works(platform, server_log):
    resp = requests.get(f"{platform.url}/api/v1/guides/changes",
                        params={"since": "0001-01-01T00:00:00Z", "limit": 1}, timeout=5)
    assert resp.status_code == 200 and resp.json()["more"]


# -- sizes --------------------------------------------------------------------------------------
def case_body(**fields) -> dict:
    return {"item_code": PASSPORT, "form": {"目的地": "新加坡"}, "materials": ["居民身份证"], **fields}


def submit(platform, person, doc: dict) -> requests.Response:
    return post_json(platform.url, "/api/v1/cases", doc, {**person, "Idempotency-Key": str(uuid.uuid4())})


def test_a_body_over_the_limit_is_refused_with_413(platform, server_log, person):
    resp = submit(platform, person, case_body(form={"说明": "x" * (5 * MIB)}))
    assert error_code(resp) == (413, "body_too_large")
    assert str(MIB) in resp.json()["error"]["message"]


def test_a_streamed_body_is_cut_off_at_the_limit(platform, server_log, person):
    """Chunked, with no Content-Length: the server counts the bytes as they come."""
    path = "/api/v1/cases"
    chunk = b" " * 65536
    headers = {**auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, "POST", path, b""),
               **person, "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    resp = requests.post(platform.url + path, data=(chunk for _ in range(40)), headers=headers, timeout=30)
    assert error_code(resp) == (413, "body_too_large")


def test_a_declared_oversize_body_is_refused_before_it_is_sent(platform, server_log):
    """Content-Length alone decides: the 413 comes back while the client has sent no body byte."""
    parts = urlsplit(platform.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"POST {HEARTBEAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {64 * MIB}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(("label", "fields"), [
    ("200k materials", {"materials": ["a"] * 200_000}),  # 800 kB: under the body limit
    ("long material", {"materials": ["x" * 1000]}),
    ("1000 form fields", {"form": {f"f{i}": "x" for i in range(1000)}}),
    ("long form value", {"form": {"说明": "x" * 10_000}}),
    ("long form key", {"form": {"x" * 1000: "x"}}),
    ("form value not text", {"form": {"年龄": 30}}),
])
def test_oversized_case_fields_are_refused(platform, server_log, person, label, fields):
    assert error_code(submit(platform, person, case_body(**fields))) == (422, "invalid_request")


def test_a_real_case_still_fits(platform, server_log, person):
    form = {f"字段{i}": "内容" * 200 for i in range(50)}
    resp = submit(platform, person, case_body(form=form, materials=[f"材料{i}" for i in range(50)]))
    assert resp.status_code == 201, resp.text


def test_a_case_at_every_bound_fits_the_body_limit(platform, server_log, person):
    """The bounds and the body limit agree: the largest case the model allows, all Chinese and
    sent as \\uXXXX escapes, is accepted rather than refused as too large."""
    form = {f"{i:03d}" + "栏" * (MAX_FORM_KEY - 3): "答" * MAX_FORM_VALUE for i in range(MAX_LIST)}
    doc = case_body(form=form, materials=[f"{i:03d}" + "材" * (MAX_NAME - 3) for i in range(MAX_LIST)],
                    phone="1" * 20, terminal_ref="R" * 64)
    body = json.dumps(doc).encode()
    assert len(body) < MAX_BODY_BYTES
    resp = signed(platform.url, "POST", "/api/v1/cases", body, {**person, "Idempotency-Key": str(uuid.uuid4())})
    assert resp.status_code == 201, resp.text[:300]


def test_supplement_and_command_sizes_are_bounded(platform, server_log, person):
    resp = post_json(platform.url, "/api/v1/cases/GA-NONE/supplements", {"materials": ["a"] * 1000}, person)
    assert error_code(resp) == (422, "invalid_request")
    resp = post_json(platform.url, "/api/v1/cases/GA-NONE/supplements", {"materials": ["a"], "note": "x" * 5000},
                     person)
    assert error_code(resp) == (422, "invalid_request")
    admin = {auth.HEADER_ADMIN: auth.DEMO_ADMIN_KEY}
    url = f"{platform.url}/api/v1/terminals/{auth.DEMO_TERMINAL_ID}/commands"
    resp = requests.post(url, json={"command": "notice", "args": {"text": "x" * 10_000}}, headers=admin,
                         timeout=5)
    assert error_code(resp) == (422, "invalid_request")


def test_long_path_parameters_are_refused(platform, server_log, person):
    resp = requests.get(f"{platform.url}/api/v1/guides/{'x' * 5000}", timeout=5)
    assert error_code(resp) == (422, "invalid_request")
    resp = signed(platform.url, "GET", f"/api/v1/cases/{'x' * 5000}", extra=person)
    assert error_code(resp) == (422, "invalid_request")


# -- encodings ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"version": "\xff\xfe"}', "application/json"),  # not UTF-8
    (b"\xff\xfe\x00\x01", "application/json"),
    (b"not json", "application/json"),
    (b'{"version": "0.1"', "application/json"),  # cut off
    (b"\xff\xfe", "text/plain"),
    (b"[1, 2]", "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested past the JSON parser's recursion limit
    (b"[" * 100_000 + b"]" * 100_000, "text/plain"),
])
def test_bodies_that_are_not_json_get_a_contract_error(platform, server_log, body, content_type):
    status, code = error_code(signed(platform.url, "POST", HEARTBEAT, body, content_type=content_type))
    assert (status, code) in {(400, "invalid_request"), (422, "invalid_request")}


@pytest.fixture(scope="module")
def pg_platform(tmp_path_factory):
    """The platform on a local PostgreSQL, whose text columns cannot hold NUL."""
    from central_pg import new_database

    from central.server import BackgroundServer

    with BackgroundServer(new_database("central_input")) as server:
        yield server


def test_nul_characters_are_refused_not_crashed_on(pg_platform, server_log):
    """NUL in a path, a query or a JSON string reached PostgreSQL and came back as a 500."""
    url = pg_platform.url
    assert error_code(requests.get(f"{url}/api/v1/guides/a%00b", timeout=5)) == (422, "invalid_request")
    resp = requests.get(f"{url}/api/v1/guides", params={"q": "护\x00照"}, timeout=5)
    assert error_code(resp) == (422, "invalid_request")
    resp = post_json(url, "/api/v1/terminals/register", {"name": "一楼\u0000大厅"})
    assert error_code(resp) == (422, "invalid_request") and "NUL" in resp.json()["error"]["message"]
    resp = post_json(url, "/api/v1/terminals/heartbeat", {"devices": [{"name": "printer", "detail": "\x00"}]})
    assert error_code(resp) == (422, "invalid_request")
    assert post_json(url, "/api/v1/terminals/register", {"name": "一楼大厅"}).status_code == 200


# -- the contract says so -----------------------------------------------------------------------
def test_openapi_documents_the_answers_the_server_gives(platform):
    paths = requests.get(f"{platform.url}/openapi.json", timeout=5).json()["paths"]
    for path in ("/api/v1/cases", "/api/v1/evaluations", "/api/v1/cases/{case_no}/supplements"):
        assert "200" in paths[path]["post"]["responses"], path  # an idempotent replay
    for path, ops in paths.items():
        if "post" in ops:
            expected = {"400", "413", "422"} if "requestBody" in ops["post"] else {"413", "422"}
            assert expected <= set(ops["post"]["responses"]), path
    verify = paths["/api/v1/citizen-codes/verify"]["post"]["responses"]["400"]["description"]
    assert "code_invalid" in verify and "code_expired" in verify
    heartbeat = (requests.get(f"{platform.url}/openapi.json", timeout=5).json()
                 ["components"]["schemas"]["Heartbeat"]["properties"])
    assert heartbeat["outbox_depth"]["maximum"] and heartbeat["acked_commands"]["maxItems"]


# -- fuzzing the whole contract -----------------------------------------------------------------
# A short run in every test suite; the long one (docs/central-api.md) sets CENTRAL_FUZZ_EXAMPLES.
FUZZ_EXAMPLES = int(os.environ.get("CENTRAL_FUZZ_EXAMPLES", "50"))


class TerminalSignature(requests.auth.AuthBase):
    """Signs a request as the demo terminal, as prepared for the wire: requests applies auth after
    the body is encoded, and ``path_url`` is the target it sends (path and query as encoded), so
    the signature covers exactly the bytes the server sees. Person and staff credentials are
    valid too, so generated requests get past authentication into the endpoints."""

    def __init__(self, url: str, person_token: str):
        self.url, self.person_token = url, person_token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        r.headers.update(auth.signed_headers(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, r.method,
                                             r.path_url, body))
        person = self.person_token
        if r.method == "DELETE" and r.path_url.startswith("/api/v1/persons/token"):
            # Signing out ends the token: a fresh one, so the other operations keep theirs.
            person = post_json(self.url, "/api/v1/persons/token", {"id_number": ID_NO, "name": NAME}).json()["token"]
        r.headers[auth.HEADER_PERSON] = person
        r.headers[auth.HEADER_ADMIN] = auth.DEMO_ADMIN_KEY
        return r


@pytest.fixture(scope="module")
def known(platform, person) -> dict[str, str | int]:
    """Real keys, so generated requests also reach a real guide, case, certificate and proof."""
    case = submit(platform, person, case_body(form={"_demo_path": "supplement"})).json()
    cert = signed(platform.url, "GET", "/api/v1/certificates", extra=person).json()["items"][0]
    proof = signed(platform.url, "POST", f"/api/v1/certificates/{cert['cert_id']}/proof", extra=person).json()
    command = requests.post(f"{platform.url}/api/v1/terminals/{auth.DEMO_TERMINAL_ID}/commands",
                            json={"command": "sync_guides"}, headers={auth.HEADER_ADMIN: auth.DEMO_ADMIN_KEY},
                            timeout=5).json()
    return {"item_code": PASSPORT, "case_no": case["case_no"], "cert_id": cert["cert_id"],
            "code": proof["verification_code"], "terminal_id": auth.DEMO_TERMINAL_ID,
            "command_id": command["command_id"]}


# No 5xx, and every answer as the contract says: a documented status, its content type, headers
# and a body matching that status's schema.
CONTRACT_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_headers_conformance, response_schema_conformance]


@pytest.mark.fuzz
def test_fuzzed_requests_never_get_a_server_error(platform, person, known, server_log):
    """Schemathesis generates requests from the served /openapi.json, valid and invalid ones,
    for every operation, and sends them signed to the live server: none may answer 5xx, and
    every answer matches the contract."""
    schema = schemathesis.openapi.from_url(f"{platform.url}/openapi.json")
    sign = TerminalSignature(platform.url, person[auth.HEADER_PERSON])
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    served = {(o.method.upper(), o.path) for o in operations}
    assert len(served) >= 28 and {("GET", "/api/v1/persons/preferences"), ("DELETE", "/api/v1/persons/token"),
                                  ("POST", "/api/v1/terminals/commands/{command_id}/result")} <= served
    for operation in operations:
        real_keys = {name: known[name] for name in re.findall(r"{(\w+)}", operation.path)}
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE),
                          operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real_keys))

        @given(case=cases, data=st.data())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
        def no_server_error(case, data):
            if isinstance(case.body, dict):  # now and then a real item or case in the body
                for name in ("item_code", "case_no"):
                    if name in case.body and data.draw(st.booleans(), label=f"real {name}"):
                        case.body[name] = known[name]
            response = case.call(auth=sign, timeout=30)
            case.validate_response(response, checks=CONTRACT_CHECKS)

        try:
            no_server_error()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
