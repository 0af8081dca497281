"""Payloads sealed at rest behind the serializer seam: the header in clear, the rest not."""

from __future__ import annotations

import json
from decimal import Decimal

import attrs
import pytest
from cryptography.fernet import Fernet

from hexbus import (
    ConfigurationError,
    DomainEvent,
    EventSerializer,
    NonRetryableError,
    UndecryptableEvent,
)
from hexbus.adapters.encryption import EncryptingSerializer, Keyring, UnknownKey, generate_key
from hexbus.adapters.encryption.keys import key_id_of
from hexbus.container import create_container
from hexbus.settings import Settings

MARKER = "Zoe-Nunez-HIV-positive"


@attrs.frozen(kw_only=True)
class LabResult(DomainEvent):
    event_type = "test.unit.encryption.lab_result"
    patient: str
    value: Decimal


EVENT = LabResult(patient=MARKER, value=Decimal("4.20"))
KEY_A, KEY_B, KEY_C = generate_key(), generate_key(), generate_key()


def sealing(*keys: str) -> EncryptingSerializer:
    return EncryptingSerializer(Keyring.from_texts(keys))


def test_the_payload_is_sealed_and_the_header_stays_in_clear() -> None:
    text = sealing(KEY_A).dumps(EVENT)
    assert MARKER not in text
    assert "4.20" not in text
    envelope = json.loads(text)
    assert set(envelope) == {
        "event_type",
        "version",
        "event_id",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "ciphertext",
    }
    assert envelope["event_id"] == str(EVENT.event_id)
    assert envelope["ciphertext"].startswith("hxe1.")
    assert sealing(KEY_A).loads(text) == EVENT


def test_each_message_is_sealed_afresh() -> None:
    serializer = sealing(KEY_A)
    assert serializer.dumps(EVENT) != serializer.dumps(EVENT)


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = sealing(KEY_A).dumps(EVENT)
    rotated = sealing(KEY_B, KEY_A)
    assert rotated.loads(old) == EVENT
    new = rotated.dumps(EVENT)
    assert key_id_of(json.loads(new)["ciphertext"]) == rotated.keyring.primary.id
    with pytest.raises(UnknownKey):
        sealing(KEY_A).loads(new)


def test_a_payload_sealed_with_an_unknown_key_is_undecryptable_with_its_key_id() -> None:
    text = sealing(KEY_A).dumps(EVENT)
    with pytest.raises(UndecryptableEvent) as caught:
        sealing(KEY_C).loads(text)
    assert sealing(KEY_A).keyring.primary.id in str(caught.value)
    assert KEY_A not in str(caught.value)


def test_a_ciphertext_moved_onto_another_header_does_not_open() -> None:
    serializer = sealing(KEY_A)
    first = json.loads(serializer.dumps(EVENT))
    other = json.loads(serializer.dumps(LabResult(patient="someone else", value=Decimal(1))))
    other["ciphertext"] = first["ciphertext"]
    with pytest.raises(UndecryptableEvent, match="altered"):
        serializer.from_dict(other)


def test_a_process_without_keys_says_the_payload_is_encrypted() -> None:
    text = sealing(KEY_A).dumps(EVENT)
    with pytest.raises(UndecryptableEvent, match="HEXBUS_ENCRYPTION_KEYS"):
        EventSerializer().loads(text)


def test_events_stored_in_clear_are_still_read_and_rotation_seals_them() -> None:
    plain = json.loads(EventSerializer().dumps(EVENT))
    serializer = sealing(KEY_A)
    assert serializer.from_dict(plain) == EVENT
    resealed = serializer.reseal(plain)
    assert resealed is not None
    assert MARKER not in json.dumps(resealed)
    assert serializer.reseal(resealed) is None, "already under the newest key"
    assert serializer.from_dict(resealed) == EVENT


def test_reveal_gives_the_operator_the_payload() -> None:
    serializer = sealing(KEY_A)
    envelope = json.loads(serializer.dumps(EVENT))
    assert serializer.reveal(envelope)["payload"]["patient"] == MARKER


def test_a_fernet_key_is_a_key() -> None:
    key = Fernet.generate_key().decode()
    assert sealing(key).loads(sealing(key).dumps(EVENT)) == EVENT


# --- settings ----------------------------------------------------------------------------


def test_the_keys_are_read_from_either_setting_and_shown_by_id_only() -> None:
    settings = Settings.from_env({"HEXBUS_ENCRYPTION_KEYS": f"{KEY_B},{KEY_A}"})
    assert settings.encryption.keys == (KEY_B, KEY_A)
    shown = settings.describe()["HEXBUS_ENCRYPTION_KEYS"]
    assert shown.startswith("on: seals with key ")
    assert KEY_A not in repr(settings) + str(settings.describe())
    single = Settings.from_env({"DATA_ENCRYPTION_KEY": KEY_C})
    assert single.encryption.keys == (KEY_C,)
    both = Settings.from_env({"HEXBUS_ENCRYPTION_KEYS": KEY_A, "DATA_ENCRYPTION_KEY": KEY_C})
    assert both.encryption.keys == (KEY_A, KEY_C), "the single key only opens"
    assert Settings.from_env({}).describe()["HEXBUS_ENCRYPTION_KEYS"].startswith("off")


@pytest.mark.parametrize("bad", ["short", "x" * 44, KEY_A[:-4], f"{KEY_A},{KEY_A}"])
def test_a_bad_key_is_refused_without_being_echoed(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HEXBUS_ENCRYPTION_KEYS": bad})
    assert caught.value.setting == "HEXBUS_ENCRYPTION_KEYS"
    assert bad.split(",", maxsplit=1)[0] not in str(caught.value)


def test_the_container_picks_the_sealing_serializer_when_keys_are_set() -> None:
    assert type(create_container({}).serializer()) is EventSerializer
    sealed = create_container({"HEXBUS_ENCRYPTION_KEYS": KEY_A}).serializer()
    assert isinstance(sealed, EncryptingSerializer)


def test_an_in_memory_dead_letter_holds_the_payload_sealed_and_retries() -> None:
    container = create_container({"HEXBUS_ENCRYPTION_KEYS": KEY_A})
    calls: list[str] = []

    def refuse(event: LabResult) -> None:
        calls.append(event.patient)
        if len(calls) == 1:
            raise NonRetryableError("lab system down")

    container.processor().register_handler(LabResult, refuse, name="lab.refuse")
    container.event_bus().publish(EVENT)
    (letter,) = container.dead_letters().list().items
    assert MARKER not in letter.message
    container.dead_letters().retry(letter.id)
    assert calls == [MARKER, MARKER]
