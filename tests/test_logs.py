"""The kiosk's log: JSON lines for the journal, text for a person, a rotated file with --log-file,
and never a full ID number or citizen code, whoever logs it (tests/test_tour.py scans a whole tour's
logs for the sample persons)."""

from __future__ import annotations

import json
import logging
import os
import subprocess

import pytest

from contract.auth import make_citizen_code
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk import cli, logs
from tests.conftest import KIOSK

PERSON = SAMPLE_CARDS["li_xiaomei"]


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_with_every_id_number_and_citizen_code_masked(capfd, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('[central]\nurl = "http://127.0.0.1:9"\n')
    assert cli.main(["--log-format", "json", "config", "check", str(config)]) == 0
    capfd.readouterr()
    code = make_citizen_code(PERSON.id_number, PERSON.name)
    log = logging.getLogger("kiosk.somewhere")
    log.info("card read: %s", PERSON.id_number)  # a careless line, as a driver's debug might be
    try:
        raise ValueError(f"platform refused {{'id_number': '{PERSON.id_number}', 'code': '{code}'}}")
    except ValueError:
        log.exception("submission failed")
    log.info("guide %s", "511A0074300005-511602000000-000-115113016823646795-1-00")
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]
    assert [(x["level"], x["logger"]) for x in lines] == [("INFO", "kiosk.somewhere"), ("ERROR", "kiosk.somewhere"),
                                                        ("INFO", "kiosk.somewhere")]
    assert lines[0]["message"] == f"card read: {PERSON.id_number[:6]}********{PERSON.id_number[-4:]}"
    assert "ValueError" in lines[1]["exc_info"] and "GAC1…(" in lines[1]["exc_info"]
    assert PERSON.id_number not in err and code not in err and code[:20] not in err
    assert lines[2]["message"].endswith("-115113016823646795-1-00")  # an item code is left whole
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_text_by_default_and_a_rotated_file_of_the_kiosk_user_alone(capfd, tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    monkeypatch.delenv("KIOSK_LOG_FORMAT", raising=False)
    path = tmp_path / "kiosk.log"
    old = os.umask(0o022)  # main() sets 077 for its own files; the log files are 0600 by themselves
    try:
        logs.setup(file=str(path))
        for i in range(300):
            logging.getLogger("kiosk.t").info("line %d of the log, for ID %s", i, PERSON.id_number)
    finally:
        os.umask(old)
    assert capfd.readouterr().err.splitlines()[0].endswith(
        f"INFO kiosk.t: line 0 of the log, for ID {PERSON.id_number[:6]}********{PERSON.id_number[-4:]}")
    files = sorted(tmp_path.glob("kiosk.log*"))
    assert [f.name for f in files] == ["kiosk.log", *(f"kiosk.log.{i}" for i in range(1, 6))]  # 5 kept
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}
    assert all(PERSON.id_number not in f.read_text() for f in files)


def test_a_log_setting_that_cannot_work_is_one_line(kiosk_env, tmp_path):
    for env, argv in (({"KIOSK_LOG_FORMAT": "xml"}, []), ({}, ["--log-file", str(tmp_path / "no" / "such.log")])):
        r = subprocess.run([KIOSK, *argv, "drivers"], env={**kiosk_env, **env}, capture_output=True, text=True)
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
