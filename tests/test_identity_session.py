"""Personal data: numbers masked 6 + 4 wherever shown or logged; a session leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import logging

from devices.identity import CardType, Identity, check_digit, is_valid_id_number, mask_number
from kiosk.session import IdleState, Session

SAMPLE = Identity(CardType.RESIDENT, "张三丰", "11010519491231002X", gender="女",
                  birth_date=dt.date(1949, 12, 31), photo=b"\x01" * 1024)


def test_check_digit_worked_example():
    assert check_digit("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110101197608056896")  # the invalid sample of one API doc
    assert is_valid_id_number("932682198501010017")  # 2023 foreigner's card number
    # Unicode digits pass str.isdigit() but are no ID number (a damaged text block held one).
    assert not is_valid_id_number("11010519491231002X".replace("1", "\u00b9"))


def test_masking_everywhere_it_is_shown(caplog):
    assert mask_number("11010519491231002X") == "110105********002X"
    for form in (repr(SAMPLE), str(SAMPLE), f"{SAMPLE}", SAMPLE.log_form()):
        assert "11010519491231002X" not in form
        assert "110105********002X" in form
        assert "张三丰" not in form
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("read %s", SAMPLE)
    assert "19491231" not in caplog.text
    # Full values only by asking for them by name.
    assert SAMPLE.id_number == "11010519491231002X"


def test_session_wipes_the_person_and_times_out():
    now = [0.0]
    s = Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0])
    s.begin(SAMPLE)
    s.data["query"] = "hunyin"
    now[0] = 39
    assert s.idle_state() is IdleState.ACTIVE
    now[0] = 41
    assert s.idle_state() is IdleState.WARNING and s.seconds_left() == 19
    s.touch()
    assert s.idle_state() is IdleState.ACTIVE
    now[0] = 41 + 60
    assert s.idle_state() is IdleState.EXPIRED
    s.end("idle")
    assert s.identity is None and s.data == {} and not s.active


def test_event_json_masks_identities_and_card_numbers():
    from devices.events import CardInserted, IdentityRead, to_json

    card = to_json(CardInserted(device="pcsc", reader="R", atr="3B", info={"card_number": "A12345678",
                                                                           "spec_version": "3.00"}))
    assert "A12345678" not in str(card) and card["info"]["spec_version"] == "3.00"
    read = to_json(IdentityRead(device="id", identity=SAMPLE))
    assert read["identity"]["number"] == "110105********002X" and "张三丰" not in str(read)
