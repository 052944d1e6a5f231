"""SAM_V frames and card text, against the spec's published vectors (specs/idcard-sam.md §2, §9)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ProtocolError
from devices.identity import CardType, Identity, check_digit, is_valid_id_number
from drivers.samv import cardtext
from drivers.samv import protocol as p
from drivers.samv.emulator import FAKE_PHOTO, SAMPLE_CARDS


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def single(reader: p.FrameReader, data: bytes):
    items = reader.feed(data)
    assert len(items) == 1, items
    return items[0]


# ---------------------------------------------------------------- requests (§2)

REQUESTS = [
    (p.RESET_SAM, b"", "AA AA AA 96 69 00 03 10 FF EC"),
    (p.SAM_STATUS, b"", "AA AA AA 96 69 00 03 11 FF ED"),
    (p.SAM_ID, b"", "AA AA AA 96 69 00 03 12 FF EE"),
    (p.FIND_CARD, b"", "AA AA AA 96 69 00 03 20 01 22"),
    (p.SELECT_CARD, b"", "AA AA AA 96 69 00 03 20 02 21"),
    (p.READ_BASE, b"", "AA AA AA 96 69 00 03 30 01 32"),
    (p.READ_BASE_FP, b"", "AA AA AA 96 69 00 03 30 10 23"),
    (p.READ_NEWEST_ADDRESS, b"", "AA AA AA 96 69 00 03 30 03 30"),
    (p.Command(0x30, 0x05), b"", "AA AA AA 96 69 00 03 30 05 36"),
    (p.Command(0x60, 0x00), b"", "AA AA AA 96 69 00 03 60 00 63"),
    (p.Command(0x61, 0xFF), b"\x50", "AA AA AA 96 69 00 04 61 FF 50 CA"),
]


@pytest.mark.parametrize(("command", "data", "wire"), REQUESTS)
def test_request_vectors_both_ways(command, data, wire):
    assert p.build_request(command, data) == h(wire)
    assert single(p.RequestReader(), h(wire)) == p.Request(command.cmd, command.para, data)


def test_checksum_excludes_preamble_and_matches_spec_corrections():
    assert p.checksum(h("00 03 20 01")) == 0x22
    assert p.checksum(h("00 03 20 00")) == 0x23  # [U6] sent 22
    assert p.checksum(b"") == 0


@pytest.mark.parametrize("wire", ["AA AA AA 96 69 00 03 20 01 21", "AA AA AA 96 69 00 03 20 00 22"])
def test_public_bad_checksum_requests_are_rejected(wire):
    err = single(p.RequestReader(), h(wire))
    assert isinstance(err, ProtocolError) and err.code == "bad_checksum"


# ---------------------------------------------------------------- replies (§9)

REPLIES = [
    (0x9F, h("00 00 00 00"), "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"),
    (0x80, b"", "AA AA AA 96 69 00 04 00 00 80 84"),
    (0x90, bytes(8), "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"),
    (0x81, b"", "AA AA AA 96 69 00 04 00 00 81 85"),
    (0x41, b"", "AA AA AA 96 69 00 04 00 00 41 45"),
    (0x31, b"", "AA AA AA 96 69 00 04 00 00 31 35"),
    (0x90, b"", "AA AA AA 96 69 00 04 00 00 90 94"),
    (0x60, b"", "AA AA AA 96 69 00 04 00 00 60 64"),
]


@pytest.mark.parametrize(("sw3", "data", "wire"), REPLIES)
def test_reply_vectors_both_ways(sw3, data, wire):
    assert p.build_reply(sw3, data) == h(wire)
    assert single(p.FrameReader(), h(wire)) == p.Reply(0, 0, sw3, data)


def test_read_reply_heads_and_sizes():
    card = SAMPLE_CARDS["li_xiaomei"]
    base = p.build_reply(0x90, cardtext.encode_base_info(card, FAKE_PHOTO))
    assert base.startswith(h("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")) and len(base) == 1295
    fp = p.build_reply(0x90, cardtext.encode_base_info(card, FAKE_PHOTO, bytes(1024)))
    assert fp.startswith(h("AA AA AA 96 69 09 0A 00 00 90 01 00 04 00 04 00")) and len(fp) == 2321
    for wire, fingerprint in ((base, False), (fp, True)):
        reply = single(p.FrameReader(), wire)
        assert cardtext.parse_base_info(reply.data, fingerprint=fingerprint) == card


def test_sw3_table_covers_spec_section_3():
    codes = {0x90, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x47, 0x60,
             0x66, 0x80, 0x81, 0x91}
    assert set(p.SW3_MESSAGES) == codes
    assert p.sw3_text(0x41) == ("读证/卡操作失败", "read failed (card moved?)")
    assert "FF" in p.sw3_text(0xFF)[1]
    err = p.SamStatusError(0x41, p.READ_BASE)
    assert err.code == "sam_41" and err.zh == "读证/卡操作失败" and "30 01" in str(err)


def test_reply_repr_hides_data():
    assert "李" not in repr(p.Reply(0, 0, 0x90, "李晓梅".encode("utf-16-le")))


# ---------------------------------------------------------------- FrameReader robustness (§10)

FIND_OK = h("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
SELECT_OK = h("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")


def test_resync_after_garbage_inside_the_preamble():
    reader = p.FrameReader()
    assert reader.feed(h("AA 00") + SELECT_OK) == [p.Reply(0, 0, 0x90, bytes(8))]
    assert reader.discarded == 2
    assert reader.feed(b"\x13\x37\xaa" + FIND_OK + b"\x00") == [p.Reply(0, 0, 0x9F, bytes(4))]


def test_partial_frames_one_byte_at_a_time():
    reader = p.FrameReader()
    out = []
    for b in SELECT_OK + FIND_OK:
        out += reader.feed(bytes([b]))
    assert out == [p.Reply(0, 0, 0x90, bytes(8)), p.Reply(0, 0, 0x9F, bytes(4))]
    assert reader.buffered == 0


@pytest.mark.parametrize("length", [0, 1, 3, 0x1001, 0xFFFF])
def test_length_out_of_bounds_is_garbage_then_resync(length):
    bad = p.PREAMBLE + length.to_bytes(2, "big") + b"\x00\x00\x90"
    items = p.FrameReader().feed(bad + FIND_OK)
    assert [type(i) for i in items] == [p.FrameError, p.Reply]
    assert items[0].code == "bad_length" and items[1].sw3 == 0x9F


def test_bad_checksum_is_an_error_and_next_frame_survives():
    bad = SELECT_OK[:-1] + bytes([SELECT_OK[-1] ^ 1])
    items = p.FrameReader().feed(bad + FIND_OK)
    assert isinstance(items[0], ProtocolError) and items[0].code == "bad_checksum"
    assert items[1:] == [p.Reply(0, 0, 0x9F, bytes(4))]


def test_buffer_stays_bounded_on_endless_noise():
    reader = p.FrameReader()
    for _ in range(100):
        assert reader.feed(bytes(range(256)) * 4) == []
    assert reader.buffered < len(p.PREAMBLE)


def test_reset_drops_a_half_frame():
    reader = p.FrameReader()
    reader.feed(SELECT_OK[:9])
    reader.reset()
    assert reader.feed(FIND_OK) == [p.Reply(0, 0, 0x9F, bytes(4))]


def test_build_refuses_oversized_frames():
    with pytest.raises(ValueError):
        p.build_reply(0x90, bytes(p.MAX_LEN))


# ---------------------------------------------------------------- properties

replies = st.builds(p.build_reply, st.integers(0, 255), st.binary(max_size=80),
                    st.integers(0, 255), st.integers(0, 255))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def run(reader: p.FrameReader, pieces: list[bytes]) -> list:
    out = []
    for piece in pieces:
        items = reader.feed(piece)
        assert all(isinstance(i, p.Reply | p.Request | ProtocolError) for i in items)
        out += items
    return out


def normal(items: list) -> list:
    return [i if isinstance(i, p.Reply) else ("error", i.code) for i in items]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=20))
def test_any_bytes_yield_only_replies_or_protocol_errors(data, cuts):
    run(p.FrameReader(), chunked(data, cuts))
    run(p.RequestReader(), chunked(data, cuts))


@settings(max_examples=200, deadline=None)
@given(st.lists(replies, min_size=1, max_size=4), st.data())
def test_mutated_frames_never_raise_and_chunking_does_not_matter(frames, data):
    stream = bytearray(b"".join(frames))
    for _ in range(data.draw(st.integers(0, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = data.draw(st.integers(0, max(len(stream) - 1, 0)))
        if op == "flip" and stream:
            stream[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del stream[at:at + data.draw(st.integers(1, 8))]
        elif op == "insert":
            stream[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del stream[at:]
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    whole = run(p.FrameReader(), [bytes(stream)])
    pieces = run(p.FrameReader(), chunked(bytes(stream), cuts))
    assert normal(whole) == normal(pieces)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=20).map(lambda b: b.replace(b"\xaa", b"")), replies),
                max_size=5))
def test_valid_frames_survive_noise_between_them(parts):
    stream = b"".join(noise + frame for noise, frame in parts)
    got = run(p.FrameReader(), [stream])
    assert got == [single(p.FrameReader(), frame) for _, frame in parts]


# ---------------------------------------------------------------- card text (§4, §5, §7)


FLAGS = {CardType.RESIDENT: b" \x00", CardType.HMT_RESIDENT: b"J\x00", CardType.FOREIGNER_2017: b"I\x00",
         CardType.FOREIGNER_2023: b"Y\x00"}


@pytest.mark.parametrize("key", sorted(SAMPLE_CARDS))
def test_sample_cards_round_trip(key):
    card = SAMPLE_CARDS[key]
    assert card.card_type is CardType.FOREIGNER_2017 or is_valid_id_number(card.id_number)
    block = cardtext.encode_text(card)
    assert len(block) == 256 and block[248:250] == FLAGS[card.card_type]
    back = cardtext.parse_text(block, FAKE_PHOTO)
    assert back == card and back.photo == FAKE_PHOTO
    assert (back.name, back.address, back.issuer, back.nation) == (card.name, card.address,
                                                                     card.issuer, card.nation)
    assert {k: v for k, v in card.extra.items() if k != "newest_address"} == back.extra


def test_sample_cards_cover_every_card_type_after_the_demo_four():
    cards = list(SAMPLE_CARDS.values())
    assert all(c.card_type is CardType.RESIDENT for c in cards[:4])  # the demo panel's four
    assert {c.card_type for c in cards} == set(FLAGS)


def test_sample_cards_are_varied():
    cards = list(SAMPLE_CARDS.values())
    assert len({c.name for c in cards}) == len(cards) >= 3
    assert len({c.nation for c in cards}) >= 3
    assert any(c.long_term and c.valid_to is None for c in cards)
    assert any("堃" in c.name for c in cards)


def test_long_term_validity():
    card = SAMPLE_CARDS["wang_kun"]
    block = cardtext.encode_resident_text(card)
    assert block[204:220].decode("utf-16-le").rstrip() == "长期"
    back = cardtext.parse_text(block)
    assert back.long_term and back.valid_to is None and back.valid_from == dt.date(2012, 4, 18)


def test_fields_sit_at_spec_offsets():
    card = SAMPLE_CARDS["li_xiaomei"]
    block = cardtext.encode_resident_text(card)
    text = block.decode("utf-16-le")
    assert text[61:79] == card.id_number  # byte 122
    assert text[15] == "2" and text[16:18] == "01" and text[18:26] == "19850312"
    assert text[94:102] == "20160520" and text[102:110] == "20360520"


def test_worked_example_check_digit():
    assert check_digit("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110101197608056896")  # the bad sample in one API doc
    card = dataclasses.replace(SAMPLE_CARDS["li_xiaomei"], id_number="11010519491231002X",
                               birth_date=dt.date(1949, 12, 31))
    assert cardtext.parse_text(cardtext.encode_resident_text(card)).id_number == "11010519491231002X"


def test_bad_check_digit_is_rejected_without_leaking_the_number():
    card = dataclasses.replace(SAMPLE_CARDS["li_xiaomei"], id_number="110105198503120241")
    with pytest.raises(ProtocolError) as info:
        cardtext.parse_text(cardtext.encode_resident_text(card))
    assert info.value.code == "bad_id_number" and "110105198503120241" not in str(info.value)


def test_all_gender_and_nation_codes_decode():
    card = SAMPLE_CARDS["deng_yuxi"]
    assert len(cardtext.NATIONS) == 58 and cardtext.NATIONS["56"] == "基诺"
    for code, nation in cardtext.NATIONS.items():
        back = cardtext.parse_text(cardtext.encode_resident_text(dataclasses.replace(card, nation=nation)))
        assert back.nation == nation, code
    for gender in ("未知", "男", "女", "未说明"):
        back = cardtext.parse_text(cardtext.encode_resident_text(dataclasses.replace(card, gender=gender)))
        assert back.gender == gender


def patch(block: bytes, offset: int, text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return block[:offset] + raw + block[offset + len(raw):]


@pytest.mark.parametrize(("offset", "text"), [
    (30, "5"),  # gender code
    (32, "57"),  # nation code
    (36, "19850231"),  # impossible birth date
    (188, "2016-5-2"),  # not YYYYMMDD
    (248, "Z"),  # unknown card type
])
def test_malformed_fields_raise_protocol_error(offset, text):
    block = cardtext.encode_resident_text(SAMPLE_CARDS["li_xiaomei"])
    with pytest.raises(ProtocolError):
        cardtext.parse_text(patch(block, offset, text))


def test_payload_lengths_must_add_up():
    data = cardtext.encode_base_info(SAMPLE_CARDS["li_xiaomei"], FAKE_PHOTO)
    for bad in (data[:-1], data + b"\x00", b"\x01\x00", b"\x00\x80\x04\x00" + data[4:]):
        with pytest.raises(ProtocolError):
            cardtext.parse_base_info(bad)
    with pytest.raises(ProtocolError):
        cardtext.parse_text(b"\xff\xd8" * 128)  # lone surrogates: not UCS-2


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SAMPLE_CARDS)), st.integers(0, 255),
       st.one_of(st.binary(max_size=40), st.text(max_size=20).map(lambda t: t.encode("utf-16-le", "surrogatepass"))))
def test_damaged_text_blocks_parse_or_raise_protocol_error(key, offset, junk):
    block = cardtext.encode_text(SAMPLE_CARDS[key])
    block = (block[:offset] + junk + block[offset + len(junk):])[:256]
    with contextlib.suppress(ProtocolError):
        assert isinstance(cardtext.parse_text(block), Identity)
    with contextlib.suppress(ProtocolError):
        cardtext.parse_text(junk)


def _number(prefix17: str) -> str:
    return prefix17 + check_digit(prefix17)


OTHER_CARDS = [
    Identity(card_type=CardType.HMT_RESIDENT, name="陈家豪", id_number=_number("81000019880621003"),
             gender="男", birth_date=dt.date(1988, 6, 21), address="广东省深圳市福田区福华一路1号",
             issuer="深圳市公安局福田分局", valid_from=dt.date(2019, 3, 1), valid_to=dt.date(2024, 3, 1),
             extra={"permit_number": "H12345678", "issue_count": "01"}),
    Identity(card_type=CardType.FOREIGNER_2017, name="马克", id_number="CAN110081030001", gender="男",
             birth_date=dt.date(1981, 8, 3), valid_from=dt.date(2017, 5, 2), valid_to=dt.date(2027, 5, 2),
             extra={"name_en": "SMITH, MARK JOHN", "name_zh": "马克", "nationality": "CAN",
                    "card_version": "05", "authority_code": "1100"}),
    Identity(card_type=CardType.FOREIGNER_2023, name="", id_number="932682198501010017", gender="男",
             birth_date=dt.date(1985, 1, 1), valid_from=dt.date(2023, 12, 1),
             valid_to=dt.date(2033, 12, 1),
             extra={"name_en": "ALGHAMDI, ABDULRAHMAN MOHAMMED SAEED BIN FAHAD",
                    "name_zh": "", "renewals": "00", "nationality": "SAU", "previous_link": "SAU"}),
]


@pytest.mark.parametrize("card", OTHER_CARDS, ids=lambda c: c.card_type.value)
def test_other_card_types_round_trip(card):
    back = cardtext.parse_text(cardtext.encode_text(card))
    assert back.card_type is card.card_type and back.id_number == card.id_number
    assert back.extra == card.extra
    assert back.birth_date == card.birth_date and back.valid_to == card.valid_to


def test_2023_foreigner_english_name_spans_two_slots():
    card = OTHER_CARDS[2]
    assert len(card.extra["name_en"]) > 35
    back = cardtext.parse_text(cardtext.encode_text(card))
    assert back.name == card.extra["name_en"]  # no Chinese name on this card


def test_other_card_numbers_are_checked():
    hmt = dataclasses.replace(OTHER_CARDS[0], id_number=_number("11010519880621003"))
    with pytest.raises(ProtocolError, match="check digit"):  # valid number, wrong 81/82/83 prefix
        cardtext.parse_text(cardtext.encode_text(hmt))
    assert is_valid_id_number("911124198108030024")
    bad = dataclasses.replace(OTHER_CARDS[2], id_number="932682198501010018")
    with pytest.raises(ProtocolError):
        cardtext.parse_text(cardtext.encode_text(bad))
