"""Locust users for bench/fleet.py: each user is one provisioned terminal of a hall.

A terminal signs every request with its own secret exactly as kiosk/central_client.py does
(contract.auth over the exact path, query and body bytes sent) and keeps the schedule of a real
one (kiosk/upkeep.py, the citizen journeys), every interval divided by the plan's ``speed``:

- heartbeat every 30 s (``[central] heartbeat_s``) with its device statuses;
- guide sync every 15 min (``guides_sync_min``): the everyday-word table, then the changes since
  its cursor, page after page while ``more`` (a terminal whose copy is current, as in a hall);
- a case every ``case_s`` (default 5 min): a citizen identifies (person token), the terminal
  reads their preferences, submits the case (with an Idempotency-Key, as the outbox does) and
  signs them out;
- a case query every ``query_s``: alternately a receipt's case number looked up (no token) and
  a citizen signing in to list their cases.

Each first run of every schedule is at a random point of its interval, so the fleet does not beat
in step. Every answer is checked against the contract's model; anything else is a failure.

The plan (JSON, path in $FLEET_PLAN) is written by bench/fleet.py: terminals and secrets, item
codes to apply for, the sync cursor, the intervals.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent  # noqa: E402
from locust import FastHttpUser, events, task  # noqa: E402
from pydantic import BaseModel, ValidationError  # noqa: E402

from contract import auth  # noqa: E402
from contract.models import (  # noqa: E402
    API_PREFIX,
    Case,
    CaseList,
    GuideChanges,
    HeartbeatAnswer,
    PersonPreferences,
    PersonToken,
    SearchAliases,
    Terminal,
)

PLAN = json.loads(Path(os.environ["FLEET_PLAN"]).read_text(encoding="utf-8"))
SPEED = float(PLAN.get("speed", 1.0))
HEARTBEAT_S = PLAN.get("heartbeat_s", 30.0) / SPEED
SYNC_S = PLAN.get("sync_s", 900.0) / SPEED
CASE_S = PLAN.get("case_s", 300.0) / SPEED
QUERY_S = PLAN.get("query_s", 300.0) / SPEED
WARMUP_S = float(os.environ.get("FLEET_WARMUP", "0"))
_next_terminal = itertools.count()
DEVICES = [{"name": "idcard", "kind": "id_reader", "status": "online"},
           {"name": "printer", "kind": "printer", "status": "online", "paper": "full"},
           {"name": "scanner", "kind": "scanner", "status": "online"}]


@events.spawning_complete.add_listener
def _measure_after_warm_up(user_count: int, **_kw) -> None:
    """The figures count from ``FLEET_WARMUP`` seconds after the last terminal started: a fleet
    booting at once (each terminal registering) is not the steady state being measured."""
    env = _measure_after_warm_up.environment
    gevent.spawn_later(WARMUP_S, env.stats.reset_all)


@events.init.add_listener
def _keep_environment(environment, **_kw) -> None:
    _measure_after_warm_up.environment = environment


def _id_number(rng: random.Random) -> str:
    """A made-up 18-character 居民身份证 number (region 511602: 广安区; valid check digit)."""
    born = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"511602{born}{rng.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


class Kiosk(FastHttpUser):
    # The connection of a terminal that beats every 30 s is closed by the server between beats
    # (uvicorn's keep-alive is 5 s), so most requests open a new one, as in a hall.
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        n = next(_next_terminal)
        self.tid, self.secret = PLAN["terminals"][n % len(PLAN["terminals"])]
        self.rng = random.Random(n)
        self.since, self.after = PLAN["since"], PLAN.get("after", "")
        # A citizen who applied here before the run (bench/fleet.py made the case), then the latest one
        self.last_case, person = PLAN["cases"][n % len(PLAN["cases"])] if PLAN.get("cases") else (None, None)
        self.last_person = tuple(person) if person else None
        self.next_query = self.rng.choice(("by number", "mine"))
        now = time.monotonic()
        self.due = {"heartbeat": now + self.rng.uniform(0, HEARTBEAT_S), "sync": now + self.rng.uniform(0, SYNC_S),
                    "case": now + self.rng.uniform(0, CASE_S), "query": now + self.rng.uniform(0, QUERY_S)}
        self.call("POST", f"{API_PREFIX}/terminals/register", "register", Terminal,
                  {"name": f"自助终端 {self.tid}", "hall": "广安区政务服务中心", "version": "fleet"})

    def wait_time(self) -> float:
        return max(0.0, min(self.due.values()) - time.monotonic())

    @task
    def due_work(self) -> None:
        now = time.monotonic()
        for what, every in (("heartbeat", HEARTBEAT_S), ("sync", SYNC_S), ("case", CASE_S), ("query", QUERY_S)):
            if self.due[what] <= now:
                self.due[what] += every
                getattr(self, what)()

    # -- what a terminal does -------------------------------------------------------------------
    def heartbeat(self) -> None:
        self.call("POST", f"{API_PREFIX}/terminals/heartbeat", "heartbeat", HeartbeatAnswer,
                  {"version": "fleet", "outbox_depth": 0, "devices": DEVICES, "acked_commands": []})

    def sync(self) -> None:
        self.call("GET", f"{API_PREFIX}/search/aliases", "sync: aliases", SearchAliases)
        while True:
            query = {"since": self.since, "limit": 200, **({"after": self.after} if self.after else {})}
            ch = self.call("GET", f"{API_PREFIX}/guides/changes?{urlencode(query)}", "sync: changes", GuideChanges)
            if ch is None:
                return
            self.since, self.after = ch.next_since.isoformat(), ch.next_after
            if not ch.more:
                return

    def case(self) -> None:
        person = (_id_number(self.rng), "测试" + "".join(self.rng.choices("伟芳娜敏静丽强磊军洋", k=2)))
        token = self.sign_in(person)
        if token is None:
            return
        try:
            self.call("GET", f"{API_PREFIX}/persons/preferences", "preferences", PersonPreferences, token=token)
            ref = secrets.token_hex(8).upper()
            case = self.call("POST", f"{API_PREFIX}/cases", "submit case", Case,
                             {"item_code": self.rng.choice(PLAN["items"]), "form": {}, "materials": ["身份证"],
                              "phone": "13800000000", "terminal_ref": ref},
                             token=token, extra={"Idempotency-Key": ref}, ok=(201,))
            if case is not None:
                self.last_case, self.last_person = case.case_no, person
        finally:
            self.sign_out(token)

    def query(self) -> None:
        if self.last_case is None:
            return
        how, self.next_query = self.next_query, "mine" if self.next_query == "by number" else "by number"
        if how == "by number":
            self.call("GET", f"{API_PREFIX}/cases/{quote(self.last_case, safe='')}", "case by number", Case)
            return
        token = self.sign_in(self.last_person)
        if token is None:
            return
        try:
            self.call("GET", f"{API_PREFIX}/cases", "my cases", CaseList, token=token)
        finally:
            self.sign_out(token)

    def sign_in(self, person: tuple[str, str]) -> str | None:
        tok = self.call("POST", f"{API_PREFIX}/persons/token", "person token", PersonToken,
                        {"id_number": person[0], "name": person[1], "source": "id_card"})
        return tok.token if tok else None

    def sign_out(self, token: str) -> None:
        self.call("DELETE", f"{API_PREFIX}/persons/token", "sign out", None, token=token, ok=(204,))

    # -- one signed request ---------------------------------------------------------------------
    def call(self, method: str, target: str, name: str, model: type[BaseModel] | None, body: dict | None = None,
             token: str | None = None, extra: dict | None = None, ok: tuple[int, ...] = (200,)):
        """Send one request signed over the exact bytes on the wire; the validated answer, or
        None after recording a failure (wrong status or an answer the contract does not allow)."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else b""
        headers = {"Accept": "application/json", **auth.signed_headers(self.tid, self.secret, method, target, data)}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers[auth.HEADER_PERSON] = token
        headers.update(extra or {})
        with self.client.request(method, target, name=name, data=data or None, headers=headers,
                                 catch_response=True) as resp:
            if resp.status_code == 0:  # no answer: refused, reset or timed out
                resp.failure(f"no answer: {resp.error!r}"[:200])
                return None
            if resp.status_code not in ok:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:200]}")
                return None
            if model is None:
                return True
            try:
                answer = model.model_validate_json(resp.content)
            except ValidationError as exc:
                resp.failure(f"answer not in the contract: {str(exc).splitlines()[0]}")
                return None
            resp.success()
            return answer

