"""Everything the platform stores beyond guides: terminals and their signatures, person tokens,
cases with their timelines, e-certificates and proofs, evaluations, queue tickets.

Same database and engine as GuideStore (central.db), same portable SQL. Every method that
depends on time takes it from ``clock`` (Unix seconds), so tests can move time forward.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from central import backoffice
from central.db import GuideStore, _Tx, init_schema, iso, shared_engine
from central.errors import ApiError
from central.search import PlatformSearch, load_aliases
from contract import auth
from contract.models import (
    BAD_RATING_MAX,
    CASE_STATE_LABELS,
    EVALUATION_LEVEL_LABELS,
    CaseState,
    CaseSubmission,
    EvaluationSubmission,
    Heartbeat,
    SupplementSubmission,
    TerminalRegistration,
)

PREFERENCES_JSON = Path(__file__).with_name("data") / "person-preferences.json"
TOKEN_TTL_S = 15 * 60
# A signature is kept this long after its own timestamp: twice the window, so a server clock
# stepping back by up to a window refuses no fresh request (see PlatformStore._purge).
SIGNATURES_KEPT_S = 2 * auth.WINDOW_S
PURGE_EVERY_S = 60
PROOF_TTL_DAYS = 90
FOLLOW_UP_DAYS = 7  # 差评 callback and correction deadline (local rules: 5-15 working days)
HEARTBEAT_STALE_S = 120  # a terminal silent this long is shown 离线
QUEUE_SERVE_S = 300  # simulated windows call a ticket five minutes after it was taken
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
QUEUE_SERVICES = {"A": "综合受理", "B": "社保医保", "C": "户籍证件", "D": "不动产登记", "E": "市场主体登记"}


def _parse(ts: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(ts) if ts else None


def request_hash(body: bytes) -> str:
    """Idempotency compares requests by their JSON content, not their bytes' key order."""
    try:
        canon = json.dumps(json.loads(body or b"null"), sort_keys=True, ensure_ascii=False)
    except ValueError:
        canon = body.decode("utf-8", "replace")
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class PlatformStore:
    def __init__(self, db: str | Path | Engine, clock: Callable[[], float] = time.time,
                 step_seconds: float = 20.0):
        self.engine = shared_engine(db)
        init_schema(self.engine)
        self.clock = clock
        self.step_seconds = step_seconds
        self.guides = GuideStore(self.engine)
        self.search = PlatformSearch(self.guides, load_aliases(), popularity=self.refresh_popularity)
        self._purged_at = 0.0
        self.add_terminal(auth.DEMO_TERMINAL_ID, auth.DEMO_TERMINAL_SECRET, name="演示终端", exist_ok=True)

    def _read(self) -> _Tx:
        return _Tx(self.engine, write=False)

    def _write(self) -> _Tx:
        return _Tx(self.engine, write=True)

    def now_iso(self) -> str:
        return iso(self.clock())

    # -- terminals and signatures ------------------------------------------------------------
    def add_terminal(self, terminal_id: str, secret: str | None = None, name: str = "",
                     exist_ok: bool = False) -> str:
        """Provision a terminal; returns its secret (generated unless given)."""
        secret = secret or secrets.token_urlsafe(32)
        with self._write() as conn:
            n = conn.execute(sql("INSERT INTO terminals (terminal_id, secret, name) VALUES (:t, :s, :n) "
                                 "ON CONFLICT (terminal_id) DO NOTHING"),
                             {"t": terminal_id, "s": secret, "n": name}).rowcount
        if not n and not exist_ok:
            raise ValueError(f"terminal {terminal_id} already exists")
        return secret

    def authenticate(self, method: str, target: str, headers: dict[str, str], body: bytes) -> str:
        """The terminal id of a correctly signed, fresh, first-seen request; ApiError 401 otherwise."""
        tid = headers.get(auth.HEADER_TERMINAL.lower(), "")
        ts = headers.get(auth.HEADER_TIMESTAMP.lower(), "")
        sig = headers.get(auth.HEADER_SIGNATURE.lower(), "")
        nonce = headers.get(auth.HEADER_NONCE.lower(), "")
        if not (tid and ts and sig and nonce):
            raise ApiError(401, "unsigned", f"this call needs {auth.HEADER_TERMINAL}, {auth.HEADER_TIMESTAMP}, "
                                            f"{auth.HEADER_NONCE} and {auth.HEADER_SIGNATURE}")
        now = self.clock()
        # One transaction for the whole check (the fleet's every request pays for it: bench/FLEET.md).
        # The terminal's secret and the replay marker are read together; a refused request writes nothing.
        with self._write() as conn:
            row = conn.execute(sql("SELECT secret, (SELECT value FROM meta WHERE key = 'replay_forgotten') "
                                   "FROM terminals WHERE terminal_id = :t"), {"t": tid}).first()
            if row is None:
                raise ApiError(401, "unknown_terminal", f"terminal {tid!r} is not registered")
            secret, forgotten = row
            try:
                stamp = int(ts)
            except ValueError:
                raise ApiError(401, "bad_timestamp", f"{auth.HEADER_TIMESTAMP} must be Unix seconds") from None
            skew = abs(now - stamp)
            if skew > auth.WINDOW_S:
                raise ApiError(401, "stale_timestamp", f"timestamp {ts} is {skew:.0f} s from server time "
                                                       f"(window ±{auth.WINDOW_S} s)")
            if not auth.check_signature(secret, method, target, ts, nonce, body, sig):
                raise ApiError(401, "bad_signature", "signature does not match the request")
            if forgotten is not None and stamp <= int(forgotten):
                # Only after the server clock stepped back: signatures this old were purged, so
                # this could be one of them again.
                raise ApiError(401, "stale_timestamp", f"timestamp {ts} is not newer than signatures this server "
                                                       "has already forgotten (its clock stepped back)")
            if now - self._purged_at > PURGE_EVERY_S:
                self._purge(conn, int(now))
                self._purged_at = now
            fresh = conn.execute(sql("INSERT INTO seen_signatures (signature, terminal_id, seen_at) "
                                     "VALUES (:s, :t, :n) ON CONFLICT (signature) DO NOTHING"),
                                 {"s": sig.lower(), "t": tid, "n": stamp}).rowcount
        if not fresh:
            raise ApiError(401, "replayed", "this signed request was already received")
        return tid

    def _purge(self, conn, now: int) -> None:
        """Forget each signature SIGNATURES_KEPT_S after its own X-Timestamp (the window is about
        that timestamp, not about when the request arrived) and remember the newest one forgotten:
        authenticate refuses anything stamped at or before it. Also drop expired person tokens."""
        cutoff = now - SIGNATURES_KEPT_S
        newest = conn.execute(sql("SELECT MAX(seen_at) FROM seen_signatures WHERE seen_at < :c"),
                              {"c": cutoff}).scalar()
        if newest is not None:
            conn.execute(sql("DELETE FROM seen_signatures WHERE seen_at <= :n"), {"n": newest})
            conn.execute(sql("INSERT INTO meta (key, value) VALUES ('replay_forgotten', :v) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value "
                             "WHERE CAST(meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)"), {"v": str(newest)})
        # Names and ID numbers of sessions nobody signed out of; kept a while after expiry so the
        # kiosk can still say "timed out" (person_token_expired) rather than "invalid".
        conn.execute(sql("DELETE FROM person_tokens WHERE expires_at < :n"), {"n": now - TOKEN_TTL_S})

    def register(self, tid: str, reg: TerminalRegistration) -> dict[str, Any]:
        with self._write() as conn:
            conn.execute(sql("UPDATE terminals SET name = :n, hall = :h, version = :v, registered_at = :t "
                             "WHERE terminal_id = :id"),
                         {"n": reg.name, "h": reg.hall, "v": reg.version, "t": self.now_iso(), "id": tid})
        return self.terminal(tid)

    def heartbeat(self, tid: str, hb: Heartbeat) -> dict[str, Any]:
        now = self.now_iso()
        devices = json.dumps([d.model_dump() for d in hb.devices], ensure_ascii=False)
        with self._write() as conn:
            conn.execute(sql("UPDATE terminals SET last_heartbeat = :t, version = :v, outbox_depth = :o, "
                             "devices = :d WHERE terminal_id = :id"),
                         {"t": now, "v": hb.version, "o": hb.outbox_depth, "d": devices, "id": tid})
            for cid in hb.acked_commands:
                conn.execute(sql("UPDATE terminal_commands SET acked_at = :t WHERE command_id = :c "
                                 "AND terminal_id = :id AND acked_at IS NULL"), {"t": now, "c": cid, "id": tid})
            rows = conn.execute(sql("SELECT command_id, command, args, created_at FROM terminal_commands "
                                    "WHERE terminal_id = :id AND acked_at IS NULL ORDER BY command_id"),
                                {"id": tid}).mappings().all()
            if rows:  # most beats carry no command: no second statement for them
                conn.execute(sql("UPDATE terminal_commands SET delivered_at = :t WHERE terminal_id = :id "
                                 "AND acked_at IS NULL AND delivered_at IS NULL"), {"t": now, "id": tid})
        return {"server_time": now,
                "commands": [{**r, "args": json.loads(r["args"])} for r in rows]}

    def queue_command(self, tid: str, command: str, args: dict[str, str]) -> dict[str, Any]:
        self.terminal(tid)  # 404 for an unknown terminal
        now = self.now_iso()
        with self._write() as conn:
            conn.execute(sql("INSERT INTO terminal_commands (terminal_id, command, args, created_at) "
                             "VALUES (:id, :c, :a, :t)"),
                         {"id": tid, "c": command, "a": json.dumps(args, ensure_ascii=False), "t": now})
            cid = conn.execute(sql("SELECT MAX(command_id) FROM terminal_commands WHERE terminal_id = :id"),
                               {"id": tid}).scalar_one()
        return {"command_id": cid, "command": command, "args": args, "created_at": now}

    def command_result(self, tid: str, command_id: int, ok: bool, result: str) -> dict[str, Any]:
        """The terminal's word on one of its commands. The first result stands: a resend (the
        answer to the first was lost) gets the stored state back, so a retry is harmless."""
        now = self.now_iso()
        with self._write() as conn:
            found = conn.execute(sql("SELECT command_id FROM terminal_commands WHERE command_id = :c "
                                     "AND terminal_id = :id"), {"c": command_id, "id": tid}).first()
            if found is None:  # another terminal's command is no more this one's business than a missing one
                raise ApiError(404, "not_found", f"no command {command_id} for this terminal")
            conn.execute(sql("UPDATE terminal_commands SET acked_at = :t, ok = :ok, result = :r, "
                             "delivered_at = COALESCE(delivered_at, :t) "
                             "WHERE command_id = :c AND ok IS NULL"),
                         {"t": now, "ok": int(ok), "r": result, "c": command_id})
        return self.commands(tid, command_id=command_id)[0]

    def commands(self, tid: str, limit: int = 20, command_id: int | None = None) -> list[dict[str, Any]]:
        """A terminal's latest commands, newest first, with their state (contract CommandState)."""
        where = " AND command_id = :c" if command_id is not None else ""
        with self._read() as conn:
            rows = conn.execute(sql("SELECT command_id, command, args, created_at, delivered_at, acked_at, ok, "
                                    f"result FROM terminal_commands WHERE terminal_id = :id{where} "
                                    "ORDER BY command_id DESC LIMIT :n"),
                                {"id": tid, "c": command_id, "n": limit}).mappings().all()
        return [{**r, "args": json.loads(r["args"]), "ok": None if r["ok"] is None else bool(r["ok"]),
                 "state": _command_state(r)} for r in rows]

    def terminals(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sql("SELECT * FROM terminals ORDER BY terminal_id")).mappings().all()
        return [{**self._terminal(r), "commands": self.commands(r["terminal_id"])} for r in rows]

    def terminal(self, tid: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(sql("SELECT * FROM terminals WHERE terminal_id = :t"), {"t": tid}).mappings().first()
        if row is None:
            raise ApiError(404, "not_found", f"no terminal {tid!r}")
        return self._terminal(row)

    def _terminal(self, r) -> dict[str, Any]:
        last = _parse(r["last_heartbeat"])
        online = last is not None and self.clock() - last.timestamp() <= HEARTBEAT_STALE_S
        return {"terminal_id": r["terminal_id"], "name": r["name"], "hall": r["hall"], "version": r["version"],
                "registered_at": r["registered_at"], "last_heartbeat": r["last_heartbeat"], "online": online,
                "outbox_depth": r["outbox_depth"], "devices": json.loads(r["devices"])}

    # -- persons -----------------------------------------------------------------------------
    def issue_token(self, tid: str, id_number: str, name: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        expires = int(self.clock()) + TOKEN_TTL_S
        with self._write() as conn:
            conn.execute(sql("DELETE FROM person_tokens WHERE expires_at < :n"), {"n": int(self.clock())})
            conn.execute(sql("INSERT INTO person_tokens (token_hash, terminal_id, id_number, name, expires_at) "
                             "VALUES (:h, :t, :i, :n, :e)"),
                         {"h": _sha(token), "t": tid, "i": id_number, "n": name, "e": expires})
        return {"token": token, "expires_at": iso(expires), "id_masked": auth.mask_id(id_number)}

    def revoke_token(self, tid: str, token: str) -> None:
        """Sign-out: the token row (with the name and ID number) is deleted, not just marked.
        Revoking an unknown or already revoked token is a no-op, so a retry is harmless."""
        if not token:
            raise ApiError(401, "person_token_required", f"this call needs {auth.HEADER_PERSON}")
        with self._write() as conn:
            conn.execute(sql("DELETE FROM person_tokens WHERE token_hash = :h AND terminal_id = :t"),
                         {"h": _sha(token), "t": tid})

    def person(self, tid: str, token: str | None) -> tuple[str, str]:
        """(id_number, name) of a valid token issued to this terminal."""
        if not token:
            raise ApiError(401, "person_token_required", f"this call needs {auth.HEADER_PERSON}",
                           "请先刷身份证或扫码登录")
        with self._read() as conn:
            row = conn.execute(sql("SELECT terminal_id, id_number, name, expires_at FROM person_tokens "
                                   "WHERE token_hash = :h"), {"h": _sha(token)}).first()
        if row is None or row[0] != tid:
            raise ApiError(401, "person_token_invalid", "unknown person token (or issued to another terminal)",
                           "登录已失效，请重新刷身份证或扫码")
        if row[3] < self.clock():
            raise ApiError(401, "person_token_expired", "person token expired", "登录已超时，请重新刷身份证或扫码")
        return row[1], row[2]

    # -- cases -------------------------------------------------------------------------------
    def idempotent(self, tid: str, key: str, kind: str, body: bytes, scope: str) -> str | None:
        """The resource an earlier request with this key created, or None. 409 if the body, the
        kind or the scope (the person, see person_scope) differs: a key is no way into someone
        else's case."""
        with self._read() as conn:
            row = conn.execute(sql("SELECT kind, request_hash, resource_id, scope FROM idempotency "
                                   "WHERE terminal_id = :t AND key = :k"), {"t": tid, "k": key}).first()
            if row is None:
                return None
            stored = row[3]
            if stored is None and kind in ("case", "supplement"):  # a row from before scopes
                owner = conn.execute(sql("SELECT id_number FROM cases WHERE case_no = :c"), {"c": row[2]}).scalar()
                stored = person_scope(owner) if owner else None
        if row[0] != kind or row[1] != request_hash(body) or stored not in (scope, None):
            raise ApiError(409, "idempotency_conflict",
                           f"Idempotency-Key {key!r} was already used for another request "
                           "(another body, kind or person)")
        return row[2]

    def _remember(self, conn, tid: str, key: str | None, kind: str, body: bytes, resource_id: str,
                  scope: str) -> None:
        if key:
            conn.execute(sql("INSERT INTO idempotency (terminal_id, key, kind, scope, request_hash, resource_id, "
                             "created_at) VALUES (:t, :k, :kind, :s, :h, :r, :c)"),
                         {"t": tid, "k": key, "kind": kind, "s": scope, "h": request_hash(body), "r": resource_id,
                          "c": self.now_iso()})

    def submit_case(self, tid: str, person: tuple[str, str], sub: CaseSubmission, key: str,
                    body: bytes) -> tuple[dict[str, Any], bool]:
        """(case, created). The same key and body return the first case (created=False)."""
        scope = person_scope(person[0])
        existing = self.idempotent(tid, key, "case", body, scope)
        if existing:
            return self.case(existing, person[0], tid), False
        if sub.terminal_ref and self._by_ref(sub.terminal_ref, tid, own_only=True):
            raise ApiError(409, "terminal_ref_conflict",
                           f"terminal reference {sub.terminal_ref!r} was already used for another case")
        guide = self.guides.get(sub.item_code)
        if guide is None:
            raise ApiError(404, "not_found", f"no guide with item code {sub.item_code!r}",
                           "没有找到这个事项，请返回重新查找")
        now = self.clock()
        local = dt.datetime.fromtimestamp(now, CHINA_TZ)
        case_no = f"GA{local:%Y%m%d}{secrets.token_hex(4).upper()}"
        path = backoffice.choose_path(case_no, sub.form)
        days = guide.get("promised_limit_days")
        promised = iso(now + days * 7 / 5 * 86400) if days else None  # 工作日 → calendar, roughly
        row = {"case_no": case_no, "item_code": sub.item_code, "item_name": guide["name"],
               "id_number": person[0], "applicant_name": person[1], "terminal_id": tid,
               "terminal_ref": sub.terminal_ref,
               "body": sub.model_dump_json(), "path": path, "step": 0, "state": CaseState.SUBMITTED.value,
               "state_since": iso(now), "promised_by": promised, "submitted_at": iso(now), "updated_at": iso(now),
               "rating_code": secrets.token_hex(4).upper()}
        try:
            with self._write() as conn:
                conn.execute(sql(f"INSERT INTO cases ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"),
                             row)
                conn.execute(sql("INSERT INTO case_events (case_no, state, at, note) VALUES (:c, :s, :t, :n)"),
                             {"c": case_no, "s": CaseState.SUBMITTED.value, "t": iso(now),
                              "n": backoffice.PATHS[path][0].note})
                self._remember(conn, tid, key, "case", body, case_no, scope)
        except IntegrityError:  # the same key raced in from another connection
            existing = self.idempotent(tid, key, "case", body, scope)
            if existing:
                return self.case(existing, person[0], tid), False
            raise
        return self.case(case_no, person[0], tid), True

    def _by_ref(self, ref: str, tid: str | None, own_only: bool = False) -> str | None:
        """The case number of a terminal reference (the asking terminal's own first)."""
        q = "SELECT case_no FROM cases WHERE terminal_ref = :r"
        q += " AND terminal_id = :t" if own_only else " ORDER BY (terminal_id = :t) DESC LIMIT 1"
        with self._read() as conn:
            return conn.execute(sql(q), {"r": ref, "t": tid or ""}).scalars().first()

    def case_by_number_or_ref(self, key: str, tid: str | None, id_number: str | None = None) -> dict[str, Any]:
        """GET /cases/{key}: a case number, or a terminal reference printed on an offline receipt."""
        with self._read() as conn:
            known = conn.execute(sql("SELECT 1 FROM cases WHERE case_no = :c"), {"c": key}).first()
        if known is None and key:
            ref_case = self._by_ref(key, tid)
            if ref_case is not None:
                return self.case(ref_case, id_number, tid)
        return self.case(key, id_number, tid)

    def _advance(self, case_no: str) -> None:
        """Let the back office catch up with the clock (see central.backoffice)."""
        with self._read() as conn:
            r = conn.execute(sql("SELECT path, step, state_since FROM cases WHERE case_no = :c"),
                             {"c": case_no}).first()
        if r is None:
            return
        due = backoffice.due_steps(r[0], r[1], _parse(r[2]).timestamp(), self.clock(), self.step_seconds)
        if not due:
            return
        plan = backoffice.PATHS[r[0]]
        with self._write() as conn:
            last_step, last_t = due[-1]
            final = plan[last_step]
            moved = conn.execute(sql(
                "UPDATE cases SET step = :s, state = :st, state_since = :t, updated_at = :t, "
                "result = COALESCE(:res, result), supplement = :sup WHERE case_no = :c AND step = :old"),
                {"s": last_step, "st": final.state.value, "t": iso(last_t), "c": case_no, "old": r[1],
                 "res": next((plan[i].result for i, _ in due if plan[i].result), None),
                 "sup": self._supplement_json(last_t) if final.state == CaseState.SUPPLEMENT else None}).rowcount
            if not moved:  # another request advanced it first
                return
            for i, t in due:
                conn.execute(sql("INSERT INTO case_events (case_no, state, at, note) VALUES (:c, :s, :t, :n)"),
                             {"c": case_no, "s": plan[i].state.value, "t": iso(t), "n": plan[i].note})
                if plan[i].result == "approved":
                    self._issue_result_certificate(conn, case_no, t)

    @staticmethod
    def _supplement_json(t: float) -> str:
        return json.dumps({"materials": backoffice.SUPPLEMENT_MATERIALS,
                           "note": "请一次性补齐上述材料，可在本终端或窗口提交",
                           "due": iso(t + 5 * 86400)}, ensure_ascii=False)

    def case(self, case_no: str, id_number: str | None = None, viewer: str | None = None) -> dict[str, Any]:
        """A case with its timeline; ``id_number`` restricts it to its applicant. The rating code
        is shown to the applicant and to the terminal that submitted the case (``viewer``)."""
        self._advance(case_no)
        with self._read() as conn:
            r = conn.execute(sql("SELECT * FROM cases WHERE case_no = :c"), {"c": case_no}).mappings().first()
            if r is None or (id_number is not None and r["id_number"] != id_number):
                raise ApiError(404, "not_found", f"no case {case_no!r} for this person",
                               "没有找到这个办件，请核对办件编号")
            events = conn.execute(sql("SELECT state, at, note FROM case_events WHERE case_no = :c ORDER BY id"),
                                  {"c": case_no}).mappings().all()
        state = CaseState(r["state"])
        return {"case_no": r["case_no"], "terminal_ref": r["terminal_ref"], "item_code": r["item_code"], "item_name": r["item_name"],
                "applicant_masked": auth.mask_id(r["id_number"]), "terminal_id": r["terminal_id"],
                "state": state, "state_label": CASE_STATE_LABELS[state], "result": r["result"],
                "submitted_at": r["submitted_at"], "updated_at": r["updated_at"],
                "promised_by": r["promised_by"],
                "supplement": json.loads(r["supplement"]) if r["supplement"] else None,
                "evaluated": bool(r["evaluated"]),
                "rating_code": r["rating_code"] if not r["evaluated"] and (
                    id_number is not None or (viewer is not None and viewer == r["terminal_id"])) else None,
                "timeline": [{"state": e["state"], "label": CASE_STATE_LABELS[CaseState(e["state"])],
                              "at": e["at"], "note": e["note"]} for e in events]}

    def cases_of(self, id_number: str, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of the person's cases, newest first, and how many they have in all."""
        with self._read() as conn:
            total = conn.execute(sql("SELECT COUNT(*) FROM cases WHERE id_number = :i"), {"i": id_number}).scalar_one()
            nos = conn.execute(sql("SELECT case_no FROM cases WHERE id_number = :i "
                                   "ORDER BY submitted_at DESC, case_no DESC LIMIT :l OFFSET :o"),
                               {"i": id_number, "l": limit, "o": offset}).scalars().all()
        return [self.case(n, id_number) for n in nos], total

    def supplement(self, tid: str, case_no: str, id_number: str, sup: SupplementSubmission, key: str | None,
                   body: bytes) -> dict[str, Any]:
        scope = person_scope(id_number)
        if key and self.idempotent(tid, key, "supplement", body, scope):
            return self.case(case_no, id_number)
        case = self.case(case_no, id_number)
        if case["state"] != CaseState.SUPPLEMENT:
            raise ApiError(409, "not_awaiting_supplement", f"case {case_no} is {case['state'].value}, "
                           "not waiting for 补正", "这个办件目前不需要补正材料")
        now = self.clock()
        text_ = "已补正：" + "、".join(sup.materials) + (f"（{sup.note}）" if sup.note else "")
        try:
            with self._write() as conn:
                moved = conn.execute(sql(
                    "UPDATE cases SET step = step + 1, state = :s, state_since = :t, updated_at = :t, "
                    "supplement = NULL WHERE case_no = :c AND state = :sup"),
                    {"s": CaseState.PRE_REVIEW.value, "t": iso(now), "c": case_no,
                     "sup": CaseState.SUPPLEMENT.value}).rowcount
                if moved:
                    conn.execute(sql("INSERT INTO case_events (case_no, state, at, note) VALUES (:c, :s, :t, :n)"),
                                 {"c": case_no, "s": CaseState.PRE_REVIEW.value, "t": iso(now), "n": text_})
                self._remember(conn, tid, key, "supplement", body, case_no, scope)
        except IntegrityError:  # the same key raced in from another connection
            if key and self.idempotent(tid, key, "supplement", body, scope):
                return self.case(case_no, id_number)
            raise
        return self.case(case_no, id_number)

    def preferences(self, id_number: str) -> dict[str, Any]:
        """The person's settings; the reference platform's sample persons have theirs in
        central/data/person-preferences.json (an elderly one with 长辈模式), anyone else none."""
        person = _sample_preferences().get(id_number, {})
        return {"elder_mode": person.get("elder_mode", False), "language": person.get("language")}

    # -- certificates ------------------------------------------------------------------------
    def _issue_result_certificate(self, conn, case_no: str, t: float) -> None:
        r = conn.execute(sql("SELECT id_number, item_name FROM cases WHERE case_no = :c"), {"c": case_no}).first()
        conn.execute(sql("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, "
                         "valid_until) VALUES (:c, :i, :n, :no, :iss, :t, NULL) ON CONFLICT (cert_id) DO NOTHING"),
                     {"c": f"R-{case_no}", "i": r[0], "n": f"《{r[1]}》办理结果", "no": case_no,
                      "iss": "广安市广安区行政审批局", "t": iso(t)})

    def certificates(self, id_number: str, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of the person's e-certificates and how many they have in all; the demo gives
        everyone an ID card and a social security card."""
        now = self.clock()
        digest = _sha(id_number)[:10].upper()
        demo = [(f"ID-{digest}", "居民身份证电子证照", auth.mask_id(id_number), "广安市公安局广安区分局", 10 * 365),
                (f"SC-{digest}", "社会保障卡", f"SC{digest}", "广安市人力资源和社会保障局", None)]
        with self._write() as conn:
            for cid, name, number, issuer, years_days in demo:
                conn.execute(sql("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, "
                                 "valid_until) VALUES (:c, :i, :n, :no, :iss, :t, :v) "
                                 "ON CONFLICT (cert_id) DO NOTHING"),
                             {"c": cid, "i": id_number, "n": name, "no": number, "iss": issuer, "t": iso(now),
                              "v": iso(now + years_days * 86400) if years_days else None})
            total = conn.execute(sql("SELECT COUNT(*) FROM certificates WHERE id_number = :i"),
                                 {"i": id_number}).scalar_one()
            rows = conn.execute(sql("SELECT * FROM certificates WHERE id_number = :i ORDER BY issued_at, cert_id "
                                    "LIMIT :l OFFSET :o"), {"i": id_number, "l": limit, "o": offset}).mappings().all()
        return [self._cert(r) for r in rows], total

    @staticmethod
    def _cert(r) -> dict[str, Any]:
        return {"cert_id": r["cert_id"], "name": r["name"], "number": r["number"], "issuer": r["issuer"],
                "holder_masked": auth.mask_id(r["id_number"]), "issued_at": r["issued_at"],
                "valid_until": r["valid_until"]}

    def proof(self, cert_id: str, id_number: str, base_url: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(sql("SELECT * FROM certificates WHERE cert_id = :c AND id_number = :i"),
                               {"c": cert_id, "i": id_number}).mappings().first()
        if row is None:
            raise ApiError(404, "not_found", f"no certificate {cert_id!r} for this person", "没有找到这个证照")
        cert = self._cert(row)
        now = self.clock()
        raw = secrets.token_hex(6).upper()
        code = "-".join(raw[i:i + 4] for i in range(0, 12, 4))
        until = iso(now + PROOF_TTL_DAYS * 86400)
        with self._write() as conn:
            conn.execute(sql("INSERT INTO proofs (verification_code, cert_id, issued_at, valid_until) "
                             "VALUES (:v, :c, :t, :u)"), {"v": code, "c": cert_id, "t": iso(now), "u": until})
        return {"certificate": cert, "verification_code": code,
                "verify_url": f"{base_url.rstrip('/')}/api/v1/proofs/{code}", "issued_at": iso(now),
                "valid_until": until}

    def check_proof(self, code: str) -> dict[str, Any]:
        with self._read() as conn:
            r = conn.execute(sql("SELECT p.valid_until, c.name, c.id_number FROM proofs p JOIN certificates c "
                                 "ON c.cert_id = p.cert_id WHERE p.verification_code = :v"),
                             {"v": code.strip().upper()}).first()
        if r is None:
            raise ApiError(404, "not_found", f"no proof with verification code {code!r}", "核验码不存在")
        return {"valid": _parse(r[0]).timestamp() >= self.clock(), "certificate_name": r[1],
                "holder_masked": auth.mask_id(r[2]), "valid_until": r[0]}

    # -- evaluations ---------------------------------------------------------------------------
    def evaluate(self, tid: str, ev: EvaluationSubmission, key: str | None, body: bytes,
                 person: tuple[str, str] | None = None, rating_code: str = "") -> tuple[dict, bool]:
        """(evaluation, created). A rating of a case needs its applicant (``person``) or its
        rating code, and a case is rated once; a rating of the hall's service (no case) needs
        neither. The same key and body from the same person (or code) return the first rating."""
        rating_code = rating_code.strip().upper()
        scope = person_scope(person[0]) if person else _sha("code:" + rating_code) if rating_code else ""
        if key:
            existing = self.idempotent(tid, key, "evaluation", body, scope)
            if existing:
                return self.evaluation(existing), False
        if ev.case_no:
            self._may_rate(ev.case_no, person, rating_code)
        now = self.clock()
        level = ev.scores["overall"]
        flagged = level <= BAD_RATING_MAX
        eid = "EV" + secrets.token_hex(6).upper()
        try:
            with self._write() as conn:
                if ev.case_no and not conn.execute(sql("UPDATE cases SET evaluated = 1 WHERE case_no = :c AND "
                                                       "evaluated = 0"), {"c": ev.case_no}).rowcount:
                    raise ApiError(409, "already_rated", f"case {ev.case_no} has already been rated",
                                   "这个办件已经评价过了，感谢您的评价")
                conn.execute(sql("INSERT INTO evaluations (evaluation_id, terminal_id, case_no, item_code, level, "
                                 "scores, comment, flagged, follow_up_due, created_at) VALUES (:e, :t, :c, :i, :l, "
                                 ":s, :cm, :f, :due, :now)"),
                             {"e": eid, "t": tid, "c": ev.case_no, "i": ev.item_code, "l": level,
                              "s": json.dumps(ev.scores), "cm": ev.comment, "f": int(flagged),
                              "due": iso(now + FOLLOW_UP_DAYS * 86400) if flagged else None, "now": iso(now)})
                self._remember(conn, tid, key, "evaluation", body, eid, scope)
        except IntegrityError:  # the same key raced in from another connection
            existing = key and self.idempotent(tid, key, "evaluation", body, scope)
            if existing:
                return self.evaluation(existing), False
            raise
        except ApiError as exc:  # already_rated: perhaps by this very rating, resent while it was stored
            existing = key and self.idempotent(tid, key, "evaluation", body, scope)
            if existing:
                return self.evaluation(existing), False
            raise exc from None
        return self.evaluation(eid), True

    def _may_rate(self, case_no: str, person: tuple[str, str] | None, rating_code: str) -> None:
        """ApiError unless the applicant (or the holder of the case's rating code) is rating."""
        with self._read() as conn:
            r = conn.execute(sql("SELECT id_number, rating_code FROM cases WHERE case_no = :c"),
                             {"c": case_no}).first()
        if r is None:
            raise ApiError(404, "not_found", f"no case {case_no!r}", "没有找到这个办件")
        if person is not None:
            if person[0] != r[0]:
                raise ApiError(403, "not_case_owner", f"case {case_no} belongs to another person",
                               "只有办件申请人本人可以评价这个办件")
        elif rating_code:
            if not r[1] or not hmac.compare_digest(rating_code.encode(), r[1].encode()):
                raise ApiError(403, "rating_code_invalid", f"wrong rating code for case {case_no}",
                               "评价码不正确，请核对回执上的评价码")
        else:
            raise ApiError(401, "person_token_required",
                           f"rating a case needs the applicant's {auth.HEADER_PERSON} or the case's {auth.HEADER_RATING_CODE}",
                           "请先刷身份证或扫码登录，或输入回执上的评价码")

    def evaluation(self, eid: str) -> dict[str, Any]:
        with self._read() as conn:
            r = conn.execute(sql("SELECT * FROM evaluations WHERE evaluation_id = :e"), {"e": eid}).mappings().one()
        return {"evaluation_id": r["evaluation_id"], "case_no": r["case_no"], "level": r["level"],
                "level_label": EVALUATION_LEVEL_LABELS[r["level"]], "scores": json.loads(r["scores"]),
                "flagged": bool(r["flagged"]), "follow_up_due": r["follow_up_due"], "created_at": r["created_at"]}

    # -- queue ---------------------------------------------------------------------------------
    def _today(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), CHINA_TZ).date().isoformat()

    def queue_services(self) -> list[dict[str, Any]]:
        since = iso(self.clock() - QUEUE_SERVE_S)
        with self._read() as conn:
            rows = dict(conn.execute(sql("SELECT service, COUNT(*) FROM queue_tickets WHERE day = :d AND "
                                         "issued_at >= :s GROUP BY service"), {"d": self._today(), "s": since}).all())
        return [{"code": c, "name": n, "waiting": rows.get(c, 0)} for c, n in QUEUE_SERVICES.items()]

    def take_ticket(self, tid: str, service: str) -> dict[str, Any]:
        """Per-service numbering that restarts every day: A001, A002, ... The unique (day, service,
        seq) constraint settles two terminals taking a ticket at the same instant."""
        if service not in QUEUE_SERVICES:
            raise ApiError(404, "not_found", f"no queue service {service!r}", "没有这个业务类别")
        day, now = self._today(), self.clock()
        for _ in range(10):
            try:
                with self._write() as conn:
                    seq = conn.execute(sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM queue_tickets "
                                           "WHERE day = :d AND service = :s"), {"d": day, "s": service}).scalar_one()
                    conn.execute(sql("INSERT INTO queue_tickets (day, service, seq, terminal_id, issued_at) "
                                     "VALUES (:d, :s, :q, :t, :i)"),
                                 {"d": day, "s": service, "q": seq, "t": tid, "i": iso(now)})
                    ahead = conn.execute(sql("SELECT COUNT(*) FROM queue_tickets WHERE day = :d AND service = :s "
                                             "AND seq < :q AND issued_at >= :since"),
                                         {"d": day, "s": service, "q": seq,
                                          "since": iso(now - QUEUE_SERVE_S)}).scalar_one()
                break
            except IntegrityError:
                continue
        else:
            raise ApiError(503, "busy", "could not allocate a ticket number", "取号繁忙，请稍后再试")
        return {"ticket_no": f"{service}{seq:03d}", "service": service, "service_name": QUEUE_SERVICES[service],
                "waiting_ahead": ahead, "issued_at": iso(now)}

    # -- fleet ---------------------------------------------------------------------------------
    def refresh_popularity(self, days: int = 365) -> int:
        """Rank search results by use: each item's case count over ``days`` (GuideStore.set_popularity)."""
        with self._read() as conn:
            counts = dict(conn.execute(sql("SELECT item_code, COUNT(*) FROM cases WHERE submitted_at >= :s "
                                           "GROUP BY item_code"), {"s": iso(self.clock() - days * 86400)}).all())
        return self.guides.set_popularity(counts, self.now_iso())

    def daily_stats(self, days: int = 7) -> list[dict[str, Any]]:
        """Cases and ratings per local (UTC+8) day, newest first."""
        start = self.clock() - days * 86400
        out: dict[str, dict[str, Any]] = {}
        for d in range(days):
            day = dt.datetime.fromtimestamp(self.clock() - d * 86400, CHINA_TZ).date().isoformat()
            out[day] = {"day": day, "cases": 0, "ratings": 0, "bad": 0, "level_sum": 0}
        with self._read() as conn:
            cases = conn.execute(sql("SELECT submitted_at FROM cases WHERE submitted_at >= :s"),
                                 {"s": iso(start)}).scalars().all()
            ratings = conn.execute(sql("SELECT created_at, level, flagged FROM evaluations WHERE created_at >= :s"),
                                   {"s": iso(start)}).all()

        def day_of(ts: str) -> str:
            return _parse(ts).astimezone(CHINA_TZ).date().isoformat()

        for ts in cases:
            if day_of(ts) in out:
                out[day_of(ts)]["cases"] += 1
        for ts, level, flagged in ratings:
            if day_of(ts) in out:
                rec = out[day_of(ts)]
                rec["ratings"] += 1
                rec["bad"] += int(flagged)
                rec["level_sum"] += level
        return list(out.values())


@functools.cache
def _sample_preferences() -> dict[str, dict[str, Any]]:
    return json.loads(PREFERENCES_JSON.read_text(encoding="utf-8"))["persons"]


def person_scope(id_number: str) -> str:
    """The idempotency scope of calls about one person (a hash: no extra copy of the ID number)."""
    return _sha("person:" + id_number)


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def _command_state(r) -> str:
    if r["ok"] is not None:
        return "ok" if r["ok"] else "failed"
    if r["acked_at"]:
        return "acknowledged"  # in a heartbeat's acked_commands, without a result
    return "delivered" if r["delivered_at"] else "queued"
