"""hypothesis: parsers and the reader's flow raise only the package's own errors."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.card_reader import apdu
from terminal_drivers.card_reader.applet import Applet, CardProfile
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.errors import CardProtocolError
from terminal_drivers.card_reader.estate_app import Assurance, EstateCardApp
from terminal_drivers.errors import DriverError


@given(st.binary(max_size=300))
def test_parse_response_raises_only_protocol_errors(raw: bytes) -> None:
    try:
        response = apdu.parse_response(raw)
    except CardProtocolError:
        assert len(raw) < 2
    else:
        assert response.encode() == raw


@given(st.binary(max_size=300))
def test_parse_command_raises_only_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(CardProtocolError):
        apdu.parse_command(raw)


@given(st.binary(max_size=300))
def test_decode_card_number_raises_only_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(CardProtocolError):
        apdu.decode_card_number(raw)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=40), min_size=5, max_size=5))
def test_reader_survives_any_answers(answers: list[bytes]) -> None:
    """A card (or a relay) answering anything: a typed error, never a trusted number."""
    queue = list(answers)

    class Garbage:
        def transmit(self, command: bytes) -> bytes:
            return queue.pop(0)

    app = EstateCardApp(master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID)
    try:
        reading = app.read(Garbage())
    except DriverError:
        return
    assert reading.assurance is Assurance.LOW
    assert reading.card_number is None


@settings(max_examples=300)
@given(st.data())
def test_reader_survives_garbage_after_a_valid_prefix(data: st.DataObject) -> None:
    """Genuine answers up to a point, then arbitrary bytes: still only typed errors."""
    profile = CardProfile.genuine(
        uid=bytes.fromhex("04112233445566"),
        card_number="1001",
        master_key=DEMO_MASTER_KEY,
        system_id=DEMO_SYSTEM_ID,
    )
    applet = Applet(profile)
    honest = data.draw(st.integers(min_value=0, max_value=4))
    sent = 0

    class Corrupting:
        def transmit(self, command: bytes) -> bytes:
            nonlocal sent
            sent += 1
            genuine = applet.process(command)
            if sent <= honest:
                return genuine
            return data.draw(st.binary(max_size=40))

    app = EstateCardApp(master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID)
    try:
        reading = app.read(Corrupting())
    except DriverError:
        return
    # Only a reading the honest card fully produced may come back as trusted.
    assert reading.card_number in (None, "1001")


GENUINE = CardProfile.genuine(
    uid=bytes.fromhex("04112233445566"),
    card_number="1001",
    master_key=DEMO_MASTER_KEY,
    system_id=DEMO_SYSTEM_ID,
)


@given(
    st.sampled_from([GENUINE, GENUINE.clone(), CardProfile.uid_only(uid=b"\x01\x02\x03\x04")]),
    st.lists(st.binary(max_size=60), max_size=6),
)
def test_applet_answers_anything_with_a_status_word(
    profile: CardProfile, commands: list[bytes]
) -> None:
    applet = Applet(profile)
    # A valid prefix (SELECT, AuthenticateAES) so fuzzing reaches the later states too.
    for raw in [apdu.select_application().encode(), apdu.authenticate_aes().encode(), *commands]:
        assert len(applet.process(raw)) >= 2
