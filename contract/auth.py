"""Request signing and the demo citizen-code format: pure functions, shared by server and kiosk.

Terminal signature (every kiosk request)::

    canonical = METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n hex(sha256(body))
    X-Signature = hex(hmac_sha256(terminal_secret, canonical))

``PATH_WITH_QUERY`` is the request target exactly as sent on the wire (percent-encoded path, then
``?query`` if any), so nothing is re-encoded on either side. ``TIMESTAMP`` is Unix seconds. The
server accepts a timestamp within ±WINDOW_S of its clock and each signature once (replay). The
random ``NONCE`` (X-Nonce) keeps two identical requests in the same second - a retry, two
searches for the same word - from looking like a replay.

Citizen code (the province app's QR, demo format)::

    GAC1.<base64url(json payload)>.<base64url(hmac_sha256(province_key, "GAC1." + payload_b64))>

payload ``{"id": ID number, "name": ..., "exp": unix seconds, "n": nonce}``. A real province has
its own format; only ``verify_citizen_code`` needs replacing.

Imports only the standard library, so the kiosk can use it without the server's packages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

WINDOW_S = 300
HEADER_TERMINAL = "X-Terminal-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"
HEADER_NONCE = "X-Nonce"
HEADER_PERSON = "X-Person-Token"
HEADER_RATING_CODE = "X-Rating-Code"

# Documented demo credentials: seeded into every reference database. Never use them in a hall.
DEMO_TERMINAL_ID = "DEMO-0001"
DEMO_TERMINAL_SECRET = "demo-secret-DEMO-0001-not-for-production"
DEMO_CITIZEN_CODE_KEY = "demo-province-citizen-code-key"

CITIZEN_CODE_PREFIX = "GAC1"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def canonical_request(method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path_with_query, timestamp, nonce, body_hash(body)])


def sign(secret: str, method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes = b"") -> str:
    """The X-Signature value (lowercase hex HMAC-SHA256)."""
    msg = canonical_request(method, path_with_query, timestamp, nonce, body).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def signed_headers(terminal_id: str, secret: str, method: str, path_with_query: str, body: bytes = b"",
                   now: float | None = None) -> dict[str, str]:
    """The four headers a terminal adds to a request."""
    ts = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(8)
    return {HEADER_TERMINAL: terminal_id, HEADER_TIMESTAMP: ts, HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign(secret, method, path_with_query, ts, nonce, body)}


def check_signature(secret: str, method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes,
                    signature: str) -> bool:
    return hmac.compare_digest(sign(secret, method, path_with_query, timestamp, nonce, body), signature.lower())


def mask_id(id_number: str) -> str:
    """First 6 + last 4, the rest as * (DESIGN.md: personal data)."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


# -- citizen codes ---------------------------------------------------------------------------
class CitizenCodeError(ValueError):
    """``code`` is code_invalid or code_expired; ``zh`` is for the citizen."""

    def __init__(self, code: str, message: str, zh: str):
        super().__init__(message)
        self.code, self.zh = code, zh


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _code_mac(key: str, signed_part: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), signed_part.encode("ascii"), hashlib.sha256).digest())


def make_citizen_code(id_number: str, name: str, ttl_s: int = 120, key: str = DEMO_CITIZEN_CODE_KEY,
                      now: float | None = None) -> str:
    """What the province app shows as a QR code (for emulators and tests)."""
    exp = int((time.time() if now is None else now) + ttl_s)
    payload = json.dumps({"id": id_number, "name": name, "exp": exp, "n": secrets.token_hex(4)},
                         ensure_ascii=False, separators=(",", ":"))
    signed_part = f"{CITIZEN_CODE_PREFIX}.{_b64(payload.encode('utf-8'))}"
    return f"{signed_part}.{_code_mac(key, signed_part)}"


def verify_citizen_code(code: str, key: str = DEMO_CITIZEN_CODE_KEY,
                        now: float | None = None) -> dict[str, object]:
    """The payload of a valid code; CitizenCodeError otherwise."""
    code = code.strip()
    parts = code.split(".")
    if len(parts) != 3 or parts[0] != CITIZEN_CODE_PREFIX:
        raise CitizenCodeError("code_invalid", "not a citizen code (expected GAC1.<payload>.<mac>)",
                               "这不是有效的电子证照码，请打开政务服务APP出示本人码")
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_code_mac(key, signed_part), parts[2]):
        raise CitizenCodeError("code_invalid", "citizen code signature does not verify",
                               "这不是有效的电子证照码，请打开政务服务APP出示本人码")
    try:
        payload = json.loads(_unb64(parts[1]))
        exp = int(payload["exp"])
        str(payload["id"]), str(payload["name"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CitizenCodeError("code_invalid", f"citizen code payload unreadable: {exc}",
                               "这不是有效的电子证照码，请打开政务服务APP出示本人码") from None
    if exp < (time.time() if now is None else now):
        raise CitizenCodeError("code_expired", f"citizen code expired at {exp}",
                               "二维码已过期，请在APP中刷新后重新扫码")
    return payload

# Staff/admin calls of the reference server (queue a command for a terminal, list terminals).
HEADER_ADMIN = "X-Admin-Key"
DEMO_ADMIN_KEY = "demo-admin-key"

# The staff login of the /fleet page (HTTP Basic). Documented demo values; a hall sets its own.
DEMO_STAFF_USER = "staff"
DEMO_STAFF_PASSWORD = "demo-staff-password"


def basic_auth_ok(authorization: str, user: str, password: str) -> bool:
    """Does an ``Authorization: Basic ...`` header carry exactly this user and password?"""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_user, sep, given_password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    # Both compared in full, whatever the first result, so timing tells nothing.
    user_ok = hmac.compare_digest(given_user.encode("utf-8"), user.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password.encode("utf-8"), password.encode("utf-8"))
    return bool(sep) and user_ok and password_ok
