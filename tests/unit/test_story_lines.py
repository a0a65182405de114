"""The timeline's lines speak the scenario file's language: values as a file
writes them, and why an entry did not happen in words rather than fields."""

from __future__ import annotations

from simulator.report.story import describe

SENT = {"at": "t", "offset": "+0h", "kind": "sent", "who": "ana", "call": "track", "source": "backend"}


def test_text_numbers_booleans_and_nulls_are_told_apart() -> None:
    props = {"value": "40", "total": 40, "vip": True, "coupon": None, "items": [{"sku": "a"}], "rate": 1.5}
    line = describe({**SENT, "event": "order_completed", "properties": props})
    assert line == (
        'ana sent order_completed {value: "40", total: 40, vip: true, coupon: null, '
        'items: [{sku: "a"}], rate: 1.5} from backend'
    )


def test_attributes_read_as_a_file_writes_them() -> None:
    r = {"kind": "attributes_updated", "cio_id": "cio_1", "who": "ben", "attributes": {"vip": False, "ltv": "120"}}
    assert describe(r) == 'cio_1 (ben) attributes set: {vip: false, ltv: "120"}'


def test_held_and_refused_entries_name_the_event_and_the_reason() -> None:
    base = {"journey": "cart_recovery", "cio_id": "cio_1", "who": "ana", "seq": 2, "event": "checkout_started"}
    held = describe({**base, "kind": "entry_held", "until": "2026-01-01T00:30:00Z"})
    assert held == (
        "ana's checkout_started waits until 2026-01-01T00:30:00Z to enter cart_recovery (cio_1): "
        "the filter does not match yet"
    )
    assert describe({**base, "kind": "entry_refused", "reason": "frequency once"}) == (
        "ana's checkout_started did not enter cart_recovery (cio_1): frequency once"
    )
    expired = describe({**base, "kind": "entry_expired"})
    assert expired.endswith("the filter still did not match when its retry ended")
    segment = {k: v for k, v in base.items() if k != "event"}
    assert describe({**segment, "kind": "entry_filtered"}) == (
        "ana did not enter cart_recovery (cio_1): the filter does not match"
    )


def test_nothing_that_acts_on_a_terminal_is_printed_raw_and_keys_are_quoted_when_a_file_would() -> None:
    props = {"c1": "\x9b31mred", "bidi": "abc\u202eevil", "a: b": 1, "": 3, "ok": "café ☕", "nl": "a\nb"}
    line = describe({**SENT, "event": "e", "properties": props})
    assert line == (
        'ana sent e {c1: "\\u009b31mred", bidi: "abc\\u202eevil", "a: b": 1, "": 3, ok: "café ☕", nl: "a\\nb"} '
        "from backend"
    )
    assert line.isprintable()


def test_event_names_and_identifiers_cannot_act_on_a_terminal_and_scalar_keys_are_quoted() -> None:
    line = describe({**SENT, "event": "order\x1b]0;TITLE\x07completed", "properties": {"null": "one", "true": 2}})
    assert line == 'ana sent order\\u001b]0;TITLE\\u0007completed {"null": "one", true: 2} from backend'
    identified = describe({"kind": "profile_created", "cio_id": "cio_1", "id": "cus_\x1b[31mRED"})
    assert identified == "profile cio_1 created (id=cus_\\u001b[31mRED)"


def test_every_character_that_cannot_act_on_a_terminal_is_kept_as_written() -> None:
    name = "Checkout \U0001f468\u200d\U0001f469\u200d\U0001f467 \u6771\u4eac\u3000\u99c5 a\u00a0b \U0001fa77"
    assert describe({**SENT, "event": name}) == f"ana sent {name} from backend"
