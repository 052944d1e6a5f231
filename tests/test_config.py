"""Configuration: the shipped files are valid; a bad file gives one clear line and exit code 2."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from kiosk import config
from tests.conftest import KIOSK, REPO


@pytest.mark.parametrize("name", ["kiosk.toml", "demo.toml"])
def test_shipped_configs_are_valid(name):
    cfg = config.load(REPO / "config" / name)
    assert {"id_reader", "printer"} <= set(cfg.devices)
    assert set(cfg.demo.emulate) <= set(cfg.devices)
    assert cfg.session.warning_s < cfg.session.idle_timeout_s


def check(tmp_path, text: str) -> subprocess.CompletedProcess:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    return subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[session]\nidle_timeout_s = 'soon'\n", "session.idle_timeout_s"),
        ("[terminal]\nlanguage = 'fr'\n", "terminal.language"),
        ("[display]\nwidht = 1280\n", "display.widht"),  # a typo is an error, not silently ignored
        ("[session]\nidle_timeout_s = 60\nwarning_s = 90\n", "session.warning_s"),
        ("[session]\nwarning_s = 10\n", "session.warning_s"),  # a countdown too short to notice and answer
        ("[session]\ncard_grace_s = 600\n", "session.card_grace_s"),  # the next person could apply in that name
        ("[session]\ncard_grace_s = -1\n", "session.card_grace_s"),
        ("[session]\ncard_grace_s = true\n", "session.card_grace_s"),
        ("[devices.printer]\ndriver = 'escpos'\nwidth = 57\n", "devices.printer.width"),
        ("[devices.printer]\ndriver = 'no-such-driver'\n", "no-such-driver"),
        ("[devices.printer]\nport = '/dev/x'\n", "devices.printer: missing key 'driver'"),
        ("[central]\ntrack_url = 'https://x/track'\n", "central.track_url"),  # no {number}: every QR the same
        ("[terminal\nid = 1\n", "TOML syntax error"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path, text, expected):
    r = check(tmp_path, text)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr  # one line, no traceback
    assert "bad.toml" in lines[0] and expected in lines[0]


def test_good_config_check_passes(tmp_path):
    r = check(tmp_path, (REPO / "config" / "demo.toml").read_text(encoding="utf-8"))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_missing_file(tmp_path):
    r = subprocess.run([KIOSK, "config", "check", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert r.returncode == 2 and "file not found" in r.stderr


# --- files that used to reach staff as a traceback, or pass the check and crash a later command ---

ESCPOS = "[devices.printer]\ndriver = 'escpos'\nport = '/dev/ttyUSB1'\n"
SAMV = "[devices.id_reader]\ndriver = 'sam-serial'\nport = '/dev/ttyUSB0'\n"


def one_line(r: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def check_bytes(tmp_path, data: bytes) -> subprocess.CompletedProcess:
    f = tmp_path / "bad.toml"
    f.write_bytes(data)
    return subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[terminal]\nid = " + "[" * 500 + "]" * 500 + "\n", "nested too deeply"),
        ("[terminal]\nid = " + "{a = " * 500 + "1" + "}" * 500 + "\n", "nested too deeply"),
        (ESCPOS + "baud = 1e23\n", "devices.printer.baud: Input should be 1200, 2400"),
        (ESCPOS + "baud = 1e18\n", "devices.printer.baud"),  # passed, then OverflowError in pyserial
        (ESCPOS + "status_timeout_ms = 1e20\n", "devices.printer.status_timeout_ms: Input should be a valid integer"),
        (ESCPOS + "status_timeout_ms = 1e15\n", "devices.printer.status_timeout_ms"),  # time_t overflow
        (ESCPOS + "tcp_port = true\n", "devices.printer.tcp_port: Input should be a valid integer (got True)"),
        (ESCPOS + "confirm_timeout_ms = 2500.0\n", "devices.printer.confirm_timeout_ms: Input should be a valid integer"),
        (ESCPOS + "cutter = 'yes'\n", "devices.printer.cutter"),
        (ESCPOS.replace("'/dev/ttyUSB1'", '"/dev/tty\\u0000USB1"'), "devices.printer.port: must be one line"),
        (ESCPOS.replace("/dev/ttyUSB1", "x" * 5000), "devices.printer.port: String should have at most"),
        (SAMV + "timeout_ms = 2e3\n", "devices.id_reader.timeout_ms: Input should be a valid integer"),
        (SAMV + "photo_decoder = 'no_such_vendor_module:decode'\n", "devices.id_reader: photo_decoder"),
        ("[central]\ntimeout_s = nan\n", "central.timeout_s: Input should be a finite number"),
        ("[display]\nfont_scale = inf\n", "display.font_scale: Input should be a finite number"),
        ("[central]\nguides_sync_min = true\n", "central.guides_sync_min"),  # was taken as 1 minute
        ("[session]\nidle_timeout_s = 1" + "0" * 5000 + "\n", "too many digits"),
        ('[terminal]\nid = "KIOSK\\n0001"\n', "terminal.id: must be one line"),  # a newline in a signed HTTP header
        ('[paths]\nvar = "var\\u0000"\n', "paths.var"),
        ('[devices."a\\nb"]\ndriver = "x"\n', "devices.a\\nb"),  # the key stays on one line
        (b"[terminal]\nhall = '\xb9\xe3\xb0\xb2'\n", "not UTF-8 text (line 2"),  # a GBK-saved file
        (bytes(range(256)) * 4, "not UTF-8 text"),
    ],
)
def test_bad_value_is_one_line_naming_the_key(tmp_path, text, expected):
    line = one_line(check_bytes(tmp_path, text if isinstance(text, bytes) else text.encode()))
    assert line.startswith("config error: ") and "bad.toml" in line
    assert expected in line, line


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d, "is a directory"),
        (lambda d: d / "kiosk.toml" / "x.toml", "not a directory"),  # a file used as a folder
        (lambda d: d / "big.toml", "larger than"),
    ],
)
def test_a_path_that_is_not_a_config_file_is_one_line(tmp_path, make, expected):
    (tmp_path / "kiosk.toml").write_text("")
    (tmp_path / "big.toml").write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    path = make(tmp_path)
    r = subprocess.run([KIOSK, "config", "check", str(path)], capture_output=True, text=True, timeout=60)
    line = one_line(r)
    assert str(path) in line and expected in line.lower(), line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_unreadable_file(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text("")
    f.chmod(0)
    r = subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)
    assert "permission denied" in one_line(r)


def test_empty_file_is_all_defaults(tmp_path):
    r = check(tmp_path, "")
    assert r.returncode == 0, r.stderr
    assert "OK (0 devices" in r.stdout


COMMANDS = [
    ["devices", "--config", "{f}", "check"],
    ["devices", "--config", "{f}", "list", "--wait", "0"],
    ["devices", "--config", "{f}", "read-id", "--device", "id_reader"],
    ["run", "--config", "{f}"],
    ["demo", "--headless", "--config", "{f}"],
    ["print", "--config", "{f}", "reprint-last"],
    ["guides", "--config", "{f}", "search", "x"],
    ["outbox", "--config", "{f}", "status"],
]


@pytest.mark.parametrize(("command", "kind"),
                         [(c, "deep") for c in COMMANDS]
                         + [(c, k) for c in COMMANDS[:1] + COMMANDS[3:4] for k in ("directory", "overflow")],
                         ids=lambda v: v if isinstance(v, str) else " ".join(v[:1] + v[3:4]).replace("{f}", "headless"))
def test_every_command_that_loads_a_config_says_one_line(tmp_path, kiosk_env, command, kind):
    if kind == "directory":
        f = tmp_path
    else:
        f = tmp_path / "bad.toml"
        f.write_text("[terminal]\nid = " + "[" * 500 + "]" * 500 + "\n" if kind == "deep"
                     else ESCPOS.replace("/dev/ttyUSB1", "/dev/ptmx") + "baud = 1e18\n")
    argv = [str(f) if a == "{f}" else a for a in command]
    r = subprocess.run([KIOSK, *argv], capture_output=True, text=True, timeout=60, env=kiosk_env,
                       cwd=tmp_path)
    line = one_line(r)
    assert line.startswith(f"config error: {f}"), line


@pytest.mark.parametrize("secret_file", ["{dir}", "/bin/sh"])
def test_an_unusable_secret_file_is_one_line_not_a_traceback(tmp_path, kiosk_env, secret_file):
    f = tmp_path / "k.toml"
    f.write_text(f"[paths]\nvar = '{tmp_path}/var'\n[central]\nurl = 'http://127.0.0.1:9'\n"
                 f"secret_file = '{secret_file.format(dir=tmp_path)}'\n")
    kiosk_env.pop("KIOSK_CENTRAL_SECRET", None)
    r = subprocess.run([KIOSK, "guides", "--config", str(f), "sync"], capture_output=True, text=True,
                       timeout=60, env=kiosk_env)
    assert "central.secret_file: cannot read a secret" in one_line(r)


BUILTIN = ["sam-serial", "escpos", "pcsc", "serial-scanner", "hid-scanner", "camera-scanner"]


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_driver_options_are_strict_and_bounded(name):
    from devices import registry

    options = registry.load(name).Options
    assert options.model_config.get("strict") and options.model_config.get("allow_inf_nan") is False
    for key, prop in options.model_json_schema()["properties"].items():
        for alt in prop.get("anyOf", [prop]):  # an optional or either-typed option: each way bounded
            if "enum" in alt or "const" in alt or alt.get("type") in ("boolean", "null"):
                continue
            need = {"integer": {"minimum", "maximum"}, "number": {"minimum", "maximum"},
                    "string": {"maxLength"}, "array": {"maxItems"}}[alt["type"]]
            assert need <= set(alt), f"{name}.{key} is unbounded: {prop}"


def test_kiosk_drivers_shows_the_bounds():
    r = subprocess.run([KIOSK, "drivers"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"status_timeout_ms\s+default 500\s+≥10 ≤60000$", r.stdout, re.M), r.stdout
    assert re.search(r"baud\s+default 115200\s+one of 1200, 2400, .*921600$", r.stdout, re.M), r.stdout
    assert re.search(r"port\s+required\s+≤255 chars$", r.stdout, re.M), r.stdout
    rows = {d["driver"]: d for d in json.loads(
        subprocess.run([KIOSK, "drivers", "--json"], capture_output=True, text=True, timeout=60).stdout)}
    assert rows["sam-serial"]["options"]["baud"]["bounds"] == "one of 9600, 19200, 38400, 57600, 115200, 'auto'"


def extreme(name: str, end: str) -> str:
    """TOML lines setting every number option of a driver to the end of its range."""
    from devices import registry

    lines = []
    for key, prop in registry.load(name).Options.model_json_schema()["properties"].items():
        ints = [v for v in prop.get("enum", []) if isinstance(v, int)]
        if end in prop:
            lines.append(f"{key} = {prop[end]}")
        elif ints:
            lines.append(f"{key} = {max(ints) if end == 'maximum' else min(ints)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("end", ["maximum", "minimum"])
def test_a_config_that_passes_the_check_does_not_crash_devices_check(tmp_path, kiosk_env, end):
    from drivers.escpos.emulator import VirtualPrinter
    from drivers.samv.emulator import SamEmulator

    with SamEmulator() as reader, VirtualPrinter() as printer:
        f = tmp_path / "k.toml"
        f.write_text(f"[devices.id_reader]\ndriver = 'sam-serial'\nport = '{reader.port}'\n"
                     + extreme("sam-serial", end).replace("baud = 9600", "baud = 115200")
                     + f"[devices.printer]\ndriver = 'escpos'\nport = '{printer.port}'\n" + extreme("escpos", end))
        ok = subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stderr
        r = subprocess.run([KIOSK, "devices", "--config", str(f), "check"], capture_output=True, text=True,
                           timeout=90, env=kiosk_env)
    assert r.returncode in (0, 1), r.stderr  # a device may FAIL at an extreme timeout; it must not crash
    assert "Traceback" not in r.stderr and "driver failed" not in r.stderr and "Overflow" not in r.stderr + r.stdout
    assert len(r.stdout.splitlines()) == 2, r.stdout


def test_a_driver_that_crashes_on_its_options_is_named_not_a_traceback(tmp_path):
    """A real installed vendor package whose driver raises a non-config exception when built."""
    dist = tmp_path / "vendor_crashing_driver-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-crashing-driver\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[kiosk.drivers]\nvendor-crash = vendor_crash:Scanner\n")
    (tmp_path / "vendor_crash.py").write_text(
        "from devices.contracts import CodeScanner\n"
        "class Scanner(CodeScanner):\n"
        "    def __init__(self, name, options, emit):\n"
        "        raise RuntimeError('vendor bug')\n"
        "    open = close = state = lambda self: None\n")
    cfg = tmp_path / "k.toml"
    cfg.write_text("[devices.scanner]\ndriver = 'vendor-crash'\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([KIOSK, "config", "check", str(cfg)], capture_output=True, text=True, timeout=60, env=env)
    line = one_line(r)
    assert "devices.scanner: driver 'vendor-crash' failed on these options: RuntimeError: vendor bug" in line
    r = subprocess.run([KIOSK, "-v", "config", "check", str(cfg)], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 2 and "Traceback" in r.stderr  # -v shows where, for whoever fixes it


def test_an_unexpected_error_in_the_check_is_one_line_with_its_type(tmp_path, monkeypatch):
    def broken(raw, source):
        raise AttributeError("'NoneType' object has no attribute 'items'")

    monkeypatch.setattr(config, "validate", broken)
    f = tmp_path / "k.toml"
    f.write_text("")
    with pytest.raises(config.ConfigError) as info:
        config.load(f)
    assert info.value.unexpected
    assert str(info.value).startswith(f"{f}: cannot be checked: AttributeError: 'NoneType' object")
