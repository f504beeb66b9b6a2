"""SecretBox: AES-GCM tokens bound to their row, with versioned keys."""

from __future__ import annotations

import base64
import copy
import pickle
import re
import traceback
from uuid import uuid4

import pytest

from ghostart.errors import ConfigurationError
from ghostart.secretbox import SecretBox, SecretBoxError

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def aad_for(row_id: object) -> str:
    return f"secrets.ciphertext:{row_id}"


def split(token: str) -> tuple[str, str, bytes]:
    version, key_id, body = token.split(".")
    return version, key_id, b64decode(body)


def join(version: str, key_id: str, raw: bytes) -> str:
    return f"{version}.{key_id}.{b64(raw)}"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox({"k1": KEY_A}, primary="k1")


@pytest.mark.parametrize("plaintext", ["ya29.token-value", "x", "", "ünïcødé ✓ 🔑", "a" * 10_000])
def test_roundtrip(box: SecretBox, plaintext: str) -> None:
    aad = aad_for(uuid4())
    token = box.encrypt(plaintext, aad=aad)

    assert re.fullmatch(r"gsb1\.k1\.[A-Za-z0-9_-]+", token)
    assert box.decrypt(token, aad=aad) == plaintext
    assert box.key_id_of(token) == "k1"
    assert not box.needs_rotation(token)


def test_token_does_not_contain_plaintext_and_nonce_is_fresh(box: SecretBox) -> None:
    first = box.encrypt("hunter2hunter2", aad="a")
    second = box.encrypt("hunter2hunter2", aad="a")

    assert first != second
    assert split(first)[2][:12] != split(second)[2][:12]
    assert "hunter2" not in first
    assert b"hunter2" not in split(first)[2]


def test_ciphertext_moved_to_another_row_fails(box: SecretBox) -> None:
    row_a, row_b = uuid4(), uuid4()
    token = box.encrypt("webhook-secret", aad=aad_for(row_a))

    with pytest.raises(SecretBoxError) as excinfo:
        box.decrypt(token, aad=aad_for(row_b))
    assert "webhook-secret" not in str(excinfo.value)
    assert excinfo.value.code == "secret_box_error"


@pytest.mark.parametrize("aad", ["", "secrets.ciphertext:", "secrets.ciphertext:1 ", "other"])
def test_any_other_aad_fails(box: SecretBox, aad: str) -> None:
    token = box.encrypt("v", aad="secrets.ciphertext:1")
    with pytest.raises(SecretBoxError):
        box.decrypt(token, aad=aad)


# Nonce is bytes 0-11, the encrypted body follows, the 16-byte GCM tag ends the data.
@pytest.mark.parametrize(
    "position",
    [0, 5, 11, 12, 20, 30, -17, -16, -8, -1],
    ids=lambda p: f"byte{p}",
)
@pytest.mark.parametrize("bit", [0, 7])
def test_flipping_one_bit_fails(box: SecretBox, position: int, bit: int) -> None:
    aad = aad_for(uuid4())
    token = box.encrypt("a secret long enough to have a body of thirty bytes", aad=aad)
    version, key_id, raw = split(token)
    tampered = bytearray(raw)
    tampered[position] ^= 1 << bit

    with pytest.raises(SecretBoxError):
        box.decrypt(join(version, key_id, bytes(tampered)), aad=aad)


def test_truncated_or_extended_data_fails(box: SecretBox) -> None:
    token = box.encrypt("value", aad="a")
    version, key_id, raw = split(token)
    for changed in (raw[:-1], raw + b"\x00", raw[1:]):
        with pytest.raises(SecretBoxError):
            box.decrypt(join(version, key_id, changed), aad="a")


def test_key_id_is_bound_into_the_associated_data() -> None:
    # Both ids name the same key: only the associated data can tell the tokens apart.
    box = SecretBox({"k1": KEY_A, "k2": KEY_A}, primary="k1")
    token = box.encrypt("value", aad="a")
    relabelled = token.replace("gsb1.k1.", "gsb1.k2.", 1)

    with pytest.raises(SecretBoxError):
        box.decrypt(relabelled, aad="a")


def test_unknown_key_id_fails() -> None:
    old = SecretBox({"old": KEY_A}, primary="old")
    new = SecretBox({"new": KEY_B}, primary="new")
    token = old.encrypt("value", aad="a")

    with pytest.raises(SecretBoxError, match="unknown key id 'old'"):
        new.decrypt(token, aad="a")


def test_same_id_other_key_fails() -> None:
    token = SecretBox({"k1": KEY_A}, primary="k1").encrypt("value", aad="a")
    with pytest.raises(SecretBoxError):
        SecretBox({"k1": KEY_B}, primary="k1").decrypt(token, aad="a")


def _valid_body() -> str:
    return SecretBox({"k1": KEY_A}, primary="k1").encrypt("v", aad="a").split(".")[2]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "gsb1",
        "gsb1.k1",
        "gsb1.k1.",
        "gsb1..AAAA",
        "gsb1.k1.!!!!",
        "gsb1.k1.a",  # a length no base64 can have
        "gsb1.k1.AAAA",  # decodes, but shorter than nonce + tag
        "gsb1.k1.AAAA AAAA",
        "gsb1.k1.AAA=AAA",
        "gsb1.k1.+/+/+/+/",  # standard, not url-safe, alphabet
        "gsb2.k1." + _valid_body(),
        "GSB1.k1." + _valid_body(),
        "gsb1.k 1." + _valid_body(),
        "gsb1." + "k" * 33 + "." + _valid_body(),
        "gsb1.k1." + _valid_body() + ".extra",
        "gsb1.k1." + _valid_body() + "\n",
        " gsb1.k1." + _valid_body(),
        "not a token at all",
        "gsb1.k1.\u00e9\u00e9\u00e9\u00e9",
    ],
)
def test_malformed_token_raises_secret_box_error(box: SecretBox, token: str) -> None:
    with pytest.raises(SecretBoxError):
        box.decrypt(token, aad="a")
    with pytest.raises(SecretBoxError):
        box.needs_rotation(token)


def test_non_canonical_base64_is_rejected(box: SecretBox) -> None:
    token = box.encrypt("v", aad="a")
    version, key_id, body = token.split(".")
    # 29 bytes encode to 39 characters; the last one carries 2 unused bits that must be 0.
    assert len(body) % 4 == 3
    last = body[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(SecretBoxError, match="malformed"):
        box.decrypt(f"{version}.{key_id}.{body[:-1]}{sibling}", aad="a")


def test_non_string_token_raises_secret_box_error(box: SecretBox) -> None:
    with pytest.raises(SecretBoxError):
        box.decrypt(b"gsb1.k1.AAAA", aad="a")  # type: ignore[arg-type]


def test_from_setting_first_entry_is_primary_others_only_decrypt() -> None:
    old = SecretBox({"k1": KEY_A}, primary="k1")
    token = old.encrypt("value", aad="a")

    box = SecretBox.from_setting(f" k2:{b64(KEY_B)} , k1:{b64(KEY_A)}=")

    assert box.primary == "k2"
    assert box.key_ids == ("k2", "k1")
    assert box.decrypt(token, aad="a") == "value"
    assert box.needs_rotation(token)
    assert box.key_id_of(box.encrypt("value", aad="a")) == "k2"


def test_generate_key_is_fresh_32_bytes_and_usable() -> None:
    keys = {SecretBox.generate_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
        assert len(b64decode(key)) == 32
    box = SecretBox.from_setting(f"k:{keys.pop()}")
    assert box.decrypt(box.encrypt("v", aad="a"), aad="a") == "v"


GOOD = SecretBox.generate_key()
SHORT = b64(b"S" * 16)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        GOOD,
        f"k1{GOOD}",
        f"k1:{GOOD},",
        f"k1:{GOOD},,k2:{GOOD}",
        f":{GOOD}",
        "k1:",
        f"k1:{SHORT}",
        f"k1:{GOOD}{GOOD}",
        f"k1:{GOOD[:-1]}!",
        f"k1:+{GOOD[1:]}",
        f"k1:{GOOD},k1:{GOOD}",
        f"bad id:{GOOD}",
        f"{GOOD}:{GOOD}",
        f"{'k' * 33}:{GOOD}",
    ],
)
def test_from_setting_errors_name_the_setting_and_hide_the_key(value: str) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        SecretBox.from_setting(value)

    error = excinfo.value
    assert "GHOSTART_SECRET_KEYS" in error.message
    rendered = "".join(traceback.format_exception(error)) + repr(error.details) + repr(error.args)
    for material in (GOOD, GOOD[:12], GOOD[-12:], SHORT, SHORT[:12]):
        assert material not in rendered


@pytest.mark.parametrize(
    ("keys", "primary"),
    [
        ({}, "k1"),
        ({"k1": KEY_A}, "k2"),
        ({"k1": KEY_A[:16]}, "k1"),
        ({"k1": KEY_A + b"x"}, "k1"),
        ({"k.1": KEY_A}, "k.1"),
        ({"k1\n": KEY_A}, "k1\n"),
        ({"": KEY_A}, ""),
    ],
)
def test_constructor_rejects_bad_keys(keys: dict[str, bytes], primary: str) -> None:
    with pytest.raises(ConfigurationError):
        SecretBox(keys, primary=primary)


def test_repr_and_str_show_only_key_ids() -> None:
    box = SecretBox({"k1": KEY_A, "k2": KEY_B}, primary="k2")

    assert repr(box) == "SecretBox(primary='k2', keys=['k2', 'k1'])"
    for text in (repr(box), str(box), f"{box!r} {box}"):
        for key in (KEY_A, KEY_B):
            for form in (b64(key), key.hex(), repr(key), str(list(key))):
                assert form not in text


def test_no_public_attribute_exposes_key_bytes() -> None:
    box = SecretBox({"k1": KEY_A, "k2": KEY_B}, primary="k1")

    assert not hasattr(box, "__dict__")
    for name in dir(box):
        if name.startswith("_"):
            continue
        value = getattr(box, name)
        if callable(value):
            continue
        assert KEY_A not in repr(value).encode()
        assert b64(KEY_A) not in repr(value)


def test_box_refuses_to_be_pickled() -> None:
    box = SecretBox({"k1": KEY_A}, primary="k1")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(box, protocol=protocol)
    with pytest.raises(TypeError):
        pickle.dumps({"settings": [box]})


def test_copy_returns_the_same_immutable_box() -> None:
    box = SecretBox({"k1": KEY_A}, primary="k1")
    assert copy.copy(box) is box
    assert copy.deepcopy({"box": box})["box"] is box


def test_rotate_moves_token_to_primary() -> None:
    old = SecretBox({"k1": KEY_A}, primary="k1")
    token = old.encrypt("value", aad="a")
    both = SecretBox({"k2": KEY_B, "k1": KEY_A}, primary="k2")

    rotated = both.rotate(token, aad="a")

    assert both.key_id_of(rotated) == "k2"
    assert not both.needs_rotation(rotated)
    assert SecretBox({"k2": KEY_B}, primary="k2").decrypt(rotated, aad="a") == "value"
    assert both.rotate(rotated, aad="a") == rotated


def test_rotate_authenticates_before_reencrypting() -> None:
    old = SecretBox({"k1": KEY_A}, primary="k1")
    both = SecretBox({"k2": KEY_B, "k1": KEY_A}, primary="k2")
    token = old.encrypt("value", aad="row-1")

    with pytest.raises(SecretBoxError):
        both.rotate(token, aad="row-2")
    with pytest.raises(SecretBoxError):
        both.rotate(both.encrypt("value", aad="row-1"), aad="row-2")


def test_unencodable_plaintext_raises_without_leaking_it(box: SecretBox) -> None:
    with pytest.raises(SecretBoxError) as excinfo:
        box.encrypt("secret-\ud800-value", aad="a")
    # The source line of this test shows up in a full traceback, so look at the error itself.
    assert "secret-" not in "".join(traceback.format_exception_only(excinfo.value))
    assert excinfo.value.__context__ is None
    assert excinfo.value.__cause__ is None
