"""shebao.core.crypto: AES-GCM columns, versioned HMAC lookups, payload sealing."""

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from shebao.core import crypto

NEW_KEY = base64.b64encode(b"n" * 32).decode()


def test_round_trip_and_random_nonce():
    a = crypto.encrypt("11010519491231002X", context="t.a")
    b = crypto.encrypt("11010519491231002X", context="t.a")
    assert a != b and a.startswith("demo1:") and "1101" not in a
    assert crypto.decrypt(a, context="t.a") == "11010519491231002X"
    assert crypto.encrypt("", context="t.a") == "" and crypto.decrypt("", context="t.a") == ""


def test_other_column_tampering_and_unknown_key_refused():
    token = crypto.encrypt("13800138000", context="t.a")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, context="t.b")  # moved to another column
    body = base64.b64decode(token.split(":", 1)[1])
    tampered = "demo1:" + base64.b64encode(body[:-1] + bytes([body[-1] ^ 1])).decode()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered, context="t.a")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("gone:" + token.split(":", 1)[1], context="t.a")
    wrong = override_settings(SHEBAO_FIELD_KEYS={"k9": NEW_KEY}, SHEBAO_FIELD_KEY_CURRENT="k9")
    with wrong, pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, context="t.a")  # wrong key


def test_lookup_canonical_versioned_and_kind_separated():
    x = crypto.lookup(" 11010519491231002x ", kind=crypto.ID)
    assert x == crypto.lookup("11010519491231002X", kind=crypto.ID)
    assert x.startswith("1:") and len(x) == 66
    assert crypto.lookup("13800138000", kind=crypto.ID) != crypto.lookup(
        "13800138000", kind=crypto.MOBILE
    )
    assert crypto.lookup("", kind=crypto.ID) == "" and crypto.lookups("", kind=crypto.ID) == []
    keys = {"1": crypto.lookup_keys()[0]["1"], "2": NEW_KEY}
    keys["1"] = base64.b64encode(keys["1"]).decode()
    with override_settings(SHEBAO_LOOKUP_KEYS=keys, SHEBAO_LOOKUP_KEY_CURRENT="2"):
        both = crypto.lookups("11010519491231002X", kind=crypto.ID)
        assert both[0].startswith("2:") and both[1] == x


def test_bad_key_configuration_is_a_clear_error():
    short = override_settings(SHEBAO_FIELD_KEYS={"k1": "short"}, SHEBAO_FIELD_KEY_CURRENT="k1")
    with short, pytest.raises(ImproperlyConfigured, match=r"base64|32 bytes"):
        crypto.encrypt("x", context="t")
    missing = override_settings(SHEBAO_FIELD_KEY_CURRENT="missing")
    with missing, pytest.raises(ImproperlyConfigured, match="SHEBAO_FIELD_KEY_CURRENT"):
        crypto.encrypt("x", context="t")


def test_payload_tree_sealed_at_any_depth_and_opened():
    tree = {
        "id_number": "11010519491231002X",
        "name": "张三",
        "after": {"mobile": "13800138000", "legal_rep_id_number": "110101197505010011"},
        "rows": [{"contact_mobile": "13900000001"}],
    }
    sealed = crypto.seal_tree(tree, "t.payload")
    text = repr(sealed)
    assert "1380013" not in text and "110105" not in text and "张三" in text
    assert crypto.seal_tree(sealed, "t.payload") == sealed  # sealing twice changes nothing
    assert crypto.open_tree(sealed, "t.payload") == tree
    assert crypto.tree_key_ids(sealed) == {"demo1"}


def test_the_key_ring_parser_refuses_malformed_entries():
    key = base64.b64encode(b"k" * 32).decode()
    assert crypto.parse_key_ring(f" k1={key} , k2={key},") == {"k1": key, "k2": key}
    assert crypto.parse_key_ring("") == {}
    for bad in ("k1", f"={key}", "k1=", f"k1={key},k1={key}"):
        with pytest.raises(ImproperlyConfigured):
            crypto.parse_key_ring(bad)


def test_the_settings_use_the_one_parser():
    from config.settings import base

    assert base.parse_key_ring is crypto.parse_key_ring


@pytest.mark.parametrize(
    "settings_override",
    [
        {"SHEBAO_FIELD_KEY_CURRENT": "absent"},
        {"SHEBAO_FIELD_KEYS": {"demo1": base64.b64encode(b"short").decode()}},
        {"SHEBAO_LOOKUP_KEYS": {"1": "not base64!"}},
        {"SHEBAO_LOOKUP_KEYS": {}},
    ],
)
def test_a_bad_key_ring_fails_the_system_check(settings_override):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    call_command("check")  # the configured rings pass
    with override_settings(**settings_override), pytest.raises(SystemCheckError, match="E00"):
        call_command("check")
