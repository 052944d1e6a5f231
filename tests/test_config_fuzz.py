"""Fuzzing the configuration loader with mutations of the shipped config/kiosk.toml.

Whatever the file holds, ``config.load`` (what every `kiosk` command calls) either returns a
configuration or raises ConfigError with one line starting with the file name; it never raises
anything else, and the guard for unexpected exceptions is never what caught it.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import registry
from kiosk import config
from tests.conftest import KIOSK, REPO
from tests.fuzzing import examples

SHIPPED_TEXT = (REPO / "config" / "kiosk.toml").read_text(encoding="utf-8")
SHIPPED = tomllib.loads(SHIPPED_TEXT)
DRIVERS = ["escpos", "sam-serial", "pcsc", "serial-scanner", "hid-scanner", "camera-scanner"]
OPTION_KEYS = sorted({k for d in DRIVERS for k in registry.load(d).Options.model_fields})
# Every field of every section, those the shipped file leaves out ([demo], search.synonyms …) too.
FIELDS = {name: sorted(info.annotation.model_fields) for name, info in config.KioskConfig.model_fields.items()
          if name != "devices"}
FUZZ = examples(100)


@dataclass(frozen=True)
class Deep:
    """An array nested ``depth`` times, written without recursion (deeper than Python's stack)."""

    depth: int


def toml_key(key: str) -> str:
    return '"' + toml_escape(key) + '"'


def toml_escape(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def toml_value(v) -> str:
    if isinstance(v, Deep):
        return "[" * v.depth + "1" + "]" * v.depth
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, str):
        return '"' + toml_escape(v) + '"'
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(map(toml_value, v)) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_document(doc: dict) -> str:
    # Top-level keys with inline tables: one writer for any shape a mutation leaves.
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


scalars = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**23, -(10**30), 9600, 65536]),
    st.floats(),
    st.sampled_from([1e23, 1e20, 1e18, 115200.0, float("nan"), float("inf"), float("-inf"), -0.0, 0.5]),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "a\nb", "\x1b[2J", "x" * 3000, "auto", "embedded", "escpos", "serial",
                     "/dev/ttyUSB0", "https://x/track/{number}", "zh_CN", "no_such_module:f", ":",
                     "GAC1.", "cmn", "yue", "wav", "device", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                     "$argon2id$\n", "1234", "51160219900101123X"]),
    st.dates(), st.datetimes(), st.times(),
    st.integers(1, 600).map(Deep),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.text(max_size=8), scalars, max_size=3))


def tables(doc: dict, path: tuple = ()) -> list[tuple]:
    out = [path]
    for k, v in doc.items():
        if isinstance(v, dict):
            out += tables(v, path + (k,))
    return out


def at(doc: dict, path: tuple) -> dict:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated_documents(draw) -> dict:
    doc = copy.deepcopy(SHIPPED)
    for _ in range(draw(st.integers(1, 4))):
        table = at(doc, draw(st.sampled_from(tables(doc))))
        what = draw(st.sampled_from(["replace", "replace", "delete", "extra", "device", "option", "field"]))
        if what in ("replace", "delete") and table:
            key = draw(st.sampled_from(sorted(table)))
            if what == "delete":
                del table[key]
            else:
                table[key] = draw(values)
        elif what == "field":  # a known key of any section, present in the file or not
            section = draw(st.sampled_from(sorted(FIELDS)))
            if not isinstance(doc.get(section), dict):
                doc[section] = {}
            doc[section][draw(st.sampled_from(FIELDS[section]))] = draw(values)
        elif what == "extra":
            table[draw(st.text(max_size=12))] = draw(values)
        elif what == "device":
            name = draw(st.sampled_from(["printer", "id_reader", "card", "x\ny", ""]) | st.text(max_size=6))
            options = draw(st.dictionaries(st.sampled_from(OPTION_KEYS), values, max_size=4))
            driver = draw(st.sampled_from(DRIVERS) | scalars)
            if not isinstance(doc.get("devices"), dict):
                doc["devices"] = {}
            doc["devices"][name] = {"driver": driver, "port": "/dev/ttyUSB9", **options}
        elif isinstance(doc.get("devices"), dict) and doc["devices"]:
            device = doc["devices"][draw(st.sampled_from(sorted(doc["devices"])))]
            if isinstance(device, dict):
                device[draw(st.sampled_from(OPTION_KEYS))] = draw(values)
    return doc


@st.composite
def mutated_bytes(draw) -> bytes:
    data = bytearray(SHIPPED_TEXT.encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(data)))
        what = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate", "nest"]))
        if what == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif what == "insert":
            data[i:i] = draw(st.binary(max_size=8) | st.sampled_from([b"[", b"]", b"{", b"=", b"\n", b'"', b"\xff",
                                                                     b"\n[devices.x]\n", b"1e23", b"nan"]))
        elif what == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif what == "duplicate" and data:
            lines = bytes(data).splitlines(keepends=True)
            j = draw(st.integers(0, len(lines) - 1))
            data = bytearray(b"".join(lines[:j + 1] + lines[j:]))
        elif what == "truncate":
            del data[i:]
        else:  # at a line start, where the parser reads it rather than stopping at a syntax error
            i = data.rfind(b"\n", 0, i) + 1
            n = draw(st.integers(1, 700))
            data[i:i] = b"x = " + b"[" * n + b"]" * n + b"\n"
    return bytes(data)


pytestmark = pytest.mark.fuzz


def loads_or_says_one_line(path: Path) -> None:
    try:
        config.load(path)
    except config.ConfigError as exc:
        message = str(exc)
        assert not exc.unexpected, message  # the top-level guard is for bugs: there must be none
        assert message.startswith(f"{path}: ") and "\n" not in message and len(message) <= 500, message


@FUZZ
@given(doc=mutated_documents())
def test_mutated_values_load_or_fail_with_one_line(tmp_path, doc):
    f = tmp_path / "kiosk.toml"
    f.write_text(toml_document(doc), encoding="utf-8")
    loads_or_says_one_line(f)


@FUZZ
@given(data=mutated_bytes())
def test_mutated_bytes_load_or_fail_with_one_line(tmp_path, data):
    f = tmp_path / "kiosk.toml"
    f.write_bytes(data)
    loads_or_says_one_line(f)


def test_the_writer_round_trips_the_shipped_file(tmp_path):
    assert tomllib.loads(toml_document(SHIPPED)) == SHIPPED
    f = tmp_path / "kiosk.toml"
    f.write_text(toml_document(SHIPPED), encoding="utf-8")
    config.load(f)


def test_a_mutated_file_through_the_cli_exits_2_with_one_line(tmp_path):
    doc = copy.deepcopy(SHIPPED)
    doc["devices"]["printer"]["status_timeout_ms"] = 1e20
    doc["terminal"]["hall"] = Deep(500)
    f = tmp_path / "kiosk.toml"
    f.write_text(toml_document(doc), encoding="utf-8")
    r = subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"config error: {f}: "), r.stderr
    del doc["terminal"]["hall"]
    f.write_text(toml_document(doc), encoding="utf-8")
    r = subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "devices.printer.status_timeout_ms: Input should be a valid integer (got 1e+20)" in r.stderr
