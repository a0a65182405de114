"""SPEC 5: cio ids, anonymous ids, identify resolution, anonymous merging, the
merge step, profile age and who a run belongs to."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.checks.expectations import holding_profiles
from simulator.model.plan import Plan
from simulator.model.time import parse_instant
from simulator.pipeline import Outcome
from simulator.platform.state import Profile
from simulator.scenario.errors import InputError

START = parse_instant("2026-01-01T00:00:00Z")


def live(outcome: Outcome) -> dict[str, Profile]:
    return {p.cio_id: p for p in outcome.platform.live_profiles()}


def kinds(outcome: Outcome, kind: str) -> list[dict[str, object]]:
    return [r for r in outcome.platform.trace.records if r["kind"] == kind]


def names(p: Profile) -> list[str]:
    return [e.name for e in p.events]


# ------------------------------------------------------------------ ids


def test_cio_ids_follow_creation_order_and_are_never_reused(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed}
          - {at: 1m, who: ben, track: viewed}
          - {at: 2m, who: ana, device: phone, identify: true}
          - {at: 3m, who: ben, device: laptop, track: viewed}
        """
    )
    profiles = outcome.platform.profiles
    assert [p.cio_id for p in profiles.values()] == ["cio_1", "cio_2", "cio_3", "cio_4"]
    assert profiles[1].deleted_at == START + 120  # the anonymous phone profile, merged
    assert profiles[3].id == "cus_1"
    assert profiles[4].anonymous_ids == ["anon-ben-laptop"]
    assert sorted(live(outcome)) == ["cio_2", "cio_3", "cio_4"]


def test_anonymous_ids_derive_from_shopper_and_device_and_reset_renews_them(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        shoppers: {ana: {id: cus_1, email: ana@example.com}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed}
          - {at: 1m, who: ana, device: phone, identify: true}
          - {at: 2m, who: ana, device: phone, track: viewed, reset: true}
          - {at: 3m, who: ana, device: phone, track: viewed}
          - {at: 4m, who: ana, device: laptop, identify: {with: [email]}}
          - {at: 5m, who: ana, device: laptop, track: viewed}
        """
    )
    s = plan.sends
    assert (s[0].anonymous_id, s[0].user_id, s[0].email) == ("anon-ana-phone", None, None)
    assert (s[1].anonymous_id, s[1].user_id, s[1].email) == ("anon-ana-phone", "cus_1", "ana@example.com")
    # the step's own call still carries the identity; the reset applies after it
    assert (s[2].user_id, s[2].anonymous_id) == ("cus_1", None)
    assert (s[3].anonymous_id, s[3].user_id) == ("anon-ana-phone-2", None)
    assert (s[4].user_id, s[4].email, s[4].anonymous_id) == (None, "ana@example.com", "anon-ana-laptop")
    assert (s[5].email, s[5].user_id) == ("ana@example.com", None)
    assert plan.shoppers["ana"].anonymous_ids == ("anon-ana-phone", "anon-ana-phone-2", "anon-ana-laptop")


def test_identify_attributes_and_identifiers(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        shoppers: {ana: {id: cus_1, email: ana@example.com}}
        timeline:
          - {at: 0s, who: ana, identify: {attributes: {vip: true}}}
          - {at: 1m, who: ana, identify: {with: [id]}}
        """
    )
    first, second = plan.sends
    assert (first.user_id, first.email, first.attributes, first.anonymous_id) == (
        "cus_1",
        "ana@example.com",
        {"vip": True},
        None,
    )
    assert (second.user_id, second.email) == ("cus_1", None)


def test_server_tracks_use_identify_by_falling_back_to_the_other(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        workspace:
          sources:
            orders: {kind: server, identify_by: email}
        shoppers:
          ana: {id: cus_1, email: ana@example.com}
          ben: {id: cus_2}
          cat: {email: cat@example.com}
        timeline:
          - {at: 0s, who: ana, source: orders, track: a}
          - {at: 0s, who: ben, source: orders, track: b}
          - {at: 0s, who: ana, track: c}
          - {at: 0s, who: cat, track: d}
          - {at: 0s, who: ana, source: orders, identify: true}
        """
    )
    got = [(s.name, s.user_id, s.email) for s in plan.sends]
    assert got == [
        ("a", None, "ana@example.com"),
        ("b", "cus_2", None),
        ("c", "cus_1", None),
        ("d", None, "cat@example.com"),
        (None, "cus_1", "ana@example.com"),  # a server identify sends every identifier
    ]


def test_a_server_track_with_an_unknown_identifier_creates_the_profile(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ben: {email: ben@example.com}}
        timeline:
          - {at: 0s, who: ben, track: order_completed}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert (p.id, p.email, names(p)) == (None, "ben@example.com", ["order_completed"])


# ------------------------------------------------------------------ identify resolution

SHOPPER = "shoppers: {ana: {id: cus_1, email: ana@example.com}}"


def test_identify_updates_the_profile_matching_the_id(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, identify: {{with: [id]}}}}
          - {{at: 1m, who: ana, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_1", "cus_1", "ana@example.com")


def test_identify_by_email_match_takes_the_id(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, identify: {{with: [email]}}}}
          - {{at: 1m, who: ana, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_1", "cus_1", "ana@example.com")


def test_identify_with_no_match_creates_a_profile(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, identify: true}}
        """
    )
    assert [r["cio_id"] for r in kinds(outcome, "profile_created")] == ["cio_1"]


TWO_PROFILES = """
        scenario: s
        workspace: {identity: {auto_merge: AUTO}}
        shoppers: {ana: {id: cus_1, email: ana@example.com}}
        timeline:
          - {at: 0s, who: ana, track: by_email, source: mail}
          - {at: 1m, who: ana, track: by_id}
          - {at: 2m, who: ana, identify: true}
"""


def two_profiles(auto: str) -> str:
    return TWO_PROFILES.replace("AUTO", auto).replace(
        "workspace: {identity:", "workspace: {sources: {mail: {kind: server, identify_by: email}}, identity:"
    )


def test_auto_merge_merges_id_and_email_profiles_older_primary(play: Callable[..., Outcome]) -> None:
    outcome = play(two_profiles("true"))
    (p,) = outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_1", "cus_1", "ana@example.com")
    assert sorted(names(p)) == ["by_email", "by_id"]
    merged = kinds(outcome, "profile_merged")
    assert [(r["how"], r["primary"], r["secondary"]) for r in merged] == [("auto_merge", "cio_1", "cio_2")]


def test_auto_merge_false_updates_the_id_profile_and_records_a_conflict(play: Callable[..., Outcome]) -> None:
    outcome = play(two_profiles("false"))
    profiles = live(outcome)
    assert sorted(profiles) == ["cio_1", "cio_2"]
    assert names(profiles["cio_2"]) == ["by_id"] and profiles["cio_2"].id == "cus_1"
    conflicts = kinds(outcome, "identity_conflict")
    assert [(r["cio_id"], r["other"]) for r in conflicts] == [("cio_2", "cio_1")]


# ------------------------------------------------------------------ anonymous merging


def test_identify_moves_the_anonymous_profiles_events_and_deletes_it(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: viewed}}
          - {{at: 5m, who: ana, device: phone, track: carted}}
          - {{at: 10m, who: ana, identify: {{with: [id]}}}}
          - {{at: 20m, who: ana, device: phone, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert p.cio_id == "cio_2"
    assert names(p) == ["viewed", "carted"]
    assert "anon-ana-phone" in p.anonymous_ids
    assert outcome.platform.profiles[1].deleted_at == START + 1200
    assert [e.via for e in p.events] == ["anonymous_merge", "anonymous_merge"]


def test_anonymous_retention_leaves_older_events_behind(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        workspace: {{identity: {{anonymous_retention: 1h}}}}
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: too_old}}
          - {{at: 59m59s, who: ana, device: phone, track: old_but_kept}}
          - {{at: 1h, who: ana, device: phone, track: at_the_edge}}
          - {{at: 2h, who: ana, device: phone, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    # "no more than anonymous_retention before the identify's arrival": exactly 1h before is kept
    assert names(p) == ["at_the_edge"]
    lost = [e for e in outcome.platform.events if e.lost is not None]
    assert sorted(e.name for e in lost) == ["old_but_kept", "too_old"]


def test_an_event_of_the_anonymous_id_within_the_grace_lands_on_the_known_profile(
    play: Callable[..., Outcome],
) -> None:
    # The anonymous track is sent first but reaches the platform 5m after the identify.
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: viewed, latency: 5m}}
          - {{at: 0s, who: ana, device: phone, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert p.id == "cus_1" and names(p) == ["viewed"]
    assert p.events[0].via == "grace"


def test_the_grace_boundary_is_inclusive_and_later_is_an_orphan(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: on_time, latency: 5m}}
          - {{at: 0s, who: ana, device: phone, track: too_late, latency: 5m1s}}
          - {{at: 0s, who: ana, device: phone, identify: true}}
        """
    )
    profiles = live(outcome)
    known = next(p for p in profiles.values() if p.identified)
    orphan = next(p for p in profiles.values() if not p.identified)
    assert names(known) == ["on_time"]
    assert names(orphan) == ["too_late"] and orphan.orphan
    assert orphan.anonymous_ids == ["anon-ana-phone"]


def test_an_orphan_is_never_merged_even_by_a_later_identify(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: too_late, latency: 10m}}
          - {{at: 0s, who: ana, device: phone, identify: true}}
          - {{at: 20m, who: ana, device: phone, identify: true}}
        """
    )
    # the second identify carries the same anonymous id, now an orphan's: no merge
    orphans = [p for p in outcome.platform.live_profiles() if p.orphan]
    assert [names(p) for p in orphans] == [["too_late"]]
    assert len(outcome.platform.live_profiles()) == 2
    assert kinds(outcome, "profile_merged") == []


def test_a_second_identify_opens_no_new_grace_window(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 9m, who: ana, device: phone, track: late_anonymous, latency: 24m}}
          - {{at: 10m, who: ana, device: phone, identify: true}}
          - {{at: 30m, who: ana, device: phone, identify: true}}
        """
    )
    # it arrives at 33m: within 5m of the second identify, long past the first's grace
    orphans = [p for p in outcome.platform.live_profiles() if p.orphan]
    assert [names(p) for p in orphans] == [["late_anonymous"]]


def test_two_names_deriving_one_id_still_get_ids_of_their_own(load: Callable[[str], Plan]) -> None:
    """(ana, x-phone) and (ana-x, phone) both derive `anon-ana-x-phone`; ana's
    phone after a reset and her device `phone-2` both derive `anon-ana-phone-2`;
    an explicit event id and a generated one can be the same text."""
    plan = load(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}, ana-x: {id: cus_2}}
        timeline:
          - {at: 0s, who: ana, device: x-phone, track: viewed}
          - {at: 1m, who: ana-x, device: phone, track: viewed}
          - {at: 2m, who: ana, device: phone-2, track: viewed}
          - {at: 3m, who: ana, device: phone, track: viewed, reset: true}
          - {at: 4m, who: ana, device: phone, track: viewed, event_id: evt-00006}
          - {at: 5m, who: ana, device: phone, track: viewed}
        """
    )
    anonymous = [send.anonymous_id for send in plan.sends]
    assert anonymous == [
        "anon-ana-x-phone",
        "anon-ana-x-phone~2",
        "anon-ana-phone-2",
        "anon-ana-phone",
        "anon-ana-phone-2~2",
        "anon-ana-phone-2~2",
    ]
    assert [send.event_id for send in plan.sends][4:] == ["evt-00006", "evt-00006~2"]


def test_reset_logs_out_the_device_a_server_step_names(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, device: phone, identify: true}
          - {at: 1m, who: ana, source: backend, device: phone, track: signed_out, reset: true}
          - {at: 2m, who: ana, device: phone, track: viewed}
        """
    )
    assert (plan.sends[1].user_id, plan.sends[1].anonymous_id) == ("cus_1", None)
    assert (plan.sends[2].anonymous_id, plan.sends[2].user_id) == ("anon-ana-phone-2", None)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("{at: 0s, who: ana, source: backend, track: signed_out, reset: true}", "this step names no device"),
        ("{at: 0s, merge: {primary: {id: cus_1}, secondary: {email: a@x}}, reset: true}", "a merge step"),
    ],
)
def test_reset_without_a_device_to_log_out_is_refused(load: Callable[[str], Plan], step: str, said: str) -> None:
    with pytest.raises(InputError) as info:
        load(f"scenario: s\nshoppers: {{ana: {{id: cus_1}}}}\ntimeline:\n  - {step}\n")
    assert [p.path for p in info.value.problems] == ["timeline[0].reset"]
    assert said in info.value.problems[0].message


def test_reset_then_identify_merges_the_new_anonymous_id(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, identify: true, reset: true}}
          - {{at: 1m, who: ana, device: phone, track: browsing_again}}
          - {{at: 2m, who: ana, device: phone, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert names(p) == ["browsing_again"]
    assert p.anonymous_ids == ["anon-ana-phone", "anon-ana-phone-2"]


def test_merge_anonymous_false_never_merges(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        workspace: {{identity: {{merge_anonymous: false}}}}
        {SHOPPER}
        timeline:
          - {{at: 0s, who: ana, device: phone, track: before}}
          - {{at: 1m, who: ana, device: phone, identify: true}}
          - {{at: 0s, who: ana, device: phone, track: in_grace, latency: 2m}}
        """
    )
    profiles = live(outcome)
    assert len(profiles) == 2
    anon = next(p for p in profiles.values() if not p.identified)
    known = next(p for p in profiles.values() if p.identified)
    assert sorted(names(anon)) == ["before", "in_grace"]
    assert names(known) == []
    assert kinds(outcome, "profile_merged") == []


def test_moved_events_keep_timestamp_order(play: Callable[..., Outcome]) -> None:
    outcome = play(
        f"""
        scenario: s
        workspace: {{sources: {{web: {{kind: client, latency: 0s}}}}}}
        {SHOPPER}
        timeline:
          - {{at: 10m, who: ana, device: phone, track: second, timestamp: 2m}}
          - {{at: 5m, who: ana, device: phone, track: first, timestamp: 1m}}
          - {{at: 20m, who: ana, device: phone, identify: true}}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert names(p) == ["first", "second"]


# ------------------------------------------------------------------ the merge step

MERGE_BASE = """
        scenario: s
        workspace:
          identity: {merge_event_window: 1d}
          sources: {mail: {kind: server, identify_by: email}}
        shoppers:
          ana: {id: cus_1, email: ana@example.com}
          ben: {id: cus_2, email: ben@example.com}
        timeline:
          - {at: 0s, who: ana, track: old_email_event, source: mail}
          - {at: 1d, who: ana, track: recent_email_event, source: mail}
          - {at: 1d, who: ana, source: mail, identify: {with: [email], attributes: {plan: gold, tier: 1}}}
          - {at: 1d1h, who: ana, identify: {with: [id], attributes: {tier: 2}}}
          - {at: 1d1h, who: ana, track: id_event}
"""


HELD_AT_THE_MERGE = """
scenario: s
workspace:
  sources: {mail: {kind: server, identify_by: email}}
  identity: {auto_merge: false}
  journeys:
    cart: {trigger: {event: checkout_started}, steps: [{send: reminder}]}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0s, who: ana, track: signed_in}
  - {at: 1m, who: ana, source: mail, track: checkout_started, timestamp: STAMP}
  - {at: 10m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
until: 1h
"""


def test_an_event_held_for_its_stamp_when_merged_in_is_offered_at_its_stamp(play: Callable[..., Outcome]) -> None:
    # never seen before the merge: not an inherited event (README "Decisions")
    outcome = play(HELD_AT_THE_MERGE.replace("STAMP", "20m"))
    (run,) = outcome.platform.runs
    assert (run.journey.name, run.profile, run.entered_at - outcome.plan.start) == ("cart", 1, 1200)
    assert [m.message for m in outcome.platform.messages] == ["reminder"]
    # merged at its very stamp: deliveries come before held events at an instant, so not seen yet
    at_stamp = play(HELD_AT_THE_MERGE.replace("STAMP", "10m"))
    assert [(r.journey.name, r.profile, r.entered_at - outcome.plan.start) for r in at_stamp.platform.runs] == [
        ("cart", 1, 600)
    ]
    # one already seen on the secondary is inherited: it starts nothing on the primary
    seen = play(HELD_AT_THE_MERGE.replace("STAMP", "1m"))
    assert [(r.journey.name, r.profile) for r in seen.platform.runs] == [("cart", 2)]


def test_merge_step_gains_identifiers_attributes_and_recent_events(play: Callable[..., Outcome]) -> None:
    outcome = play(
        MERGE_BASE + "          - {at: 1d2h, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}\n"
    )
    (p,) = outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_2", "cus_1", "ana@example.com")
    assert p.attributes == {"tier": 2, "plan": "gold"}  # the primary keeps its own values
    assert sorted(names(p)) == ["id_event", "recent_email_event"]
    lost = [(e.name, e.lost) for e in outcome.platform.events if e.lost]
    assert lost == [("old_email_event", "merge_event_window")]
    merged = kinds(outcome, "profile_merged")
    assert [(r["how"], r["primary"], r["secondary"]) for r in merged] == [("merge_people", "cio_2", "cio_1")]


def test_merge_with_a_missing_profile_does_nothing(play: Callable[..., Outcome]) -> None:
    outcome = play(
        MERGE_BASE + "          - {at: 1d2h, merge: {primary: {id: nobody}, secondary: {email: ana@example.com}}}\n"
    )
    assert len(outcome.platform.live_profiles()) == 2
    assert [r["reason"] for r in kinds(outcome, "merge_ignored")] == ["profile missing"]


def test_merge_of_a_profile_with_itself_does_nothing(play: Callable[..., Outcome]) -> None:
    outcome = play(MERGE_BASE + "          - {at: 1d2h, merge: {primary: {id: cus_1}, secondary: {cio_id: cio_2}}}\n")
    assert len(outcome.platform.live_profiles()) == 2
    assert [r["reason"] for r in kinds(outcome, "merge_ignored")] == ["same profile"]


def test_merge_is_delivered_through_its_source(play: Callable[..., Outcome]) -> None:
    outcome = play(
        MERGE_BASE.replace("sources: {", "sources: {backend: {kind: server, latency: 30m}, ")
        + "          - {at: 1d2h, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}\n"
    )
    (merged,) = kinds(outcome, "profile_merged")
    assert merged["at"] == START + 86400 + 2 * 3600 + 1800


# ------------------------------------------------------------------ age


def test_profile_age_starts_at_creation_or_the_earliest_event(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
        timeline:
          - {at: 1h, who: ana, track: backfilled, timestamp: 0s}
          - {at: 1h, who: ben, track: fresh}
          - {at: 2h, who: ben, track: backfilled, timestamp: 3h}
        """
    )
    ana, ben = outcome.platform.profiles[1], outcome.platform.profiles[2]
    assert ana.age_start == START
    assert ben.age_start == START + 3600


# ------------------------------------------------------------------ ownership


def test_anonymous_profiles_never_enter_journeys(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace:
          journeys:
            hello: {trigger: {event: viewed}, steps: [{send: hi}]}
        shoppers: {cat: {}}
        timeline:
          - {at: 0s, who: cat, device: phone, track: viewed}
        """
    )
    assert outcome.platform.runs == [] and outcome.platform.messages == []


def test_runs_belong_to_the_shopper_whose_call_created_the_trigger(play: Callable[..., Outcome]) -> None:
    # Two shoppers sharing one email: the run belongs to the sender of the trigger event.
    outcome = play(
        """
        scenario: s
        workspace:
          journeys:
            hello: {trigger: {event: viewed}, steps: [{send: hi}]}
        shoppers:
          ana: {id: cus_1}
          ana_alias: {id: cus_1}
        timeline:
          - {at: 0s, who: ana_alias, track: viewed}
          - {at: 1m, who: ana, track: viewed}
        """
    )
    assert [(r.shopper, r.profile) for r in outcome.platform.runs] == [("ana_alias", 1), ("ana", 1)]
    assert [m.shopper for m in outcome.platform.messages] == ["ana_alias", "ana"]


def test_an_event_remembers_each_profile_that_held_it(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1, email: ana@example.com}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed}
          - {at: 1m, who: ana, device: laptop, identify: {with: [email]}}
          - {at: 2m, who: ana, device: phone, identify: true}
        """
    )
    viewed = next(e for e in outcome.platform.events if e.name == "viewed")
    # Landed on the phone's anonymous profile, moved at 2m to the laptop's
    # identified one, which the phone's identify resolved to by email.
    assert viewed.history == [(viewed.arrival, 1), (START + 120, 2)]
    assert (viewed.seq, viewed.copy, viewed.shopper, viewed.holder) == (1, 1, "ana", 2)


def test_a_merge_through_a_client_source_is_refused(load: Callable[[str], Plan]) -> None:
    # Merge People is a server call (the API key); a client source needs a device a merge has not.
    step = "{at: 0s, source: web, merge: {primary: {id: cus_1}, secondary: {email: a@x}}}"
    with pytest.raises(InputError) as info:
        load(f"scenario: s\nshoppers: {{ana: {{id: cus_1}}}}\ntimeline:\n  - {step}\n")
    assert [p.path for p in info.value.problems] == ["timeline[0].source"]
    assert "comes from a server" in info.value.problems[0].message


def test_an_identify_narrowed_to_a_missing_identifier_is_one_problem(load: Callable[[str], Plan]) -> None:
    step = "{at: 0s, who: ben, device: phone, identify: {with: [id]}}"
    with pytest.raises(InputError) as info:
        load(f"scenario: s\nshoppers: {{ben: {{email: b@x.com}}}}\ntimeline:\n  - {step}\n")
    assert [p.message for p in info.value.problems] == ["shopper 'ben' has no id to identify with"]


def test_emails_are_case_insensitive(play: Callable[..., Outcome]) -> None:
    """The Track API: `person@example.com` and `PERSON@example.com` are one person."""
    outcome = play(
        """
        scenario: s
        workspace: {sources: {mail: {kind: server, identify_by: email}}}
        shoppers: {ana: {id: cus_1, email: Ana@Example.com}, same: {email: ana@example.COM}}
        timeline:
          - {at: 0s, who: ana, identify: true}
          - {at: 1m, who: same, track: by_email, source: mail}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_1", "cus_1", "Ana@Example.com")  # as first written
    assert names(p) == ["by_email"]
    assert holding_profiles(outcome.platform, outcome.plan.shoppers["same"]) == [p]  # expectations see it


def test_an_orphan_merged_away_leaves_the_next_late_event_a_new_orphan(play: Callable[..., Outcome]) -> None:
    """Merge People took the orphan: a later late event of its anonymous id must land
    on a live profile (a new orphan), never on the deleted one."""
    outcome = play(
        """
        scenario: s
        workspace: {segments: {didz: {rule: {performed: z}}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0m, who: ana, device: phone, track: a, latency: 20m}
          - {at: 0m, who: ana, device: phone, track: z, latency: 50m}
          - {at: 1m, who: ana, device: phone, identify: true}
          - {at: 30m, merge: {primary: {id: cus_1}, secondary: {cio_id: cio_2}}}
        """
    )
    z = next(e for e in outcome.platform.events if e.name == "z")
    holder = outcome.platform.profiles[z.holder]
    assert holder.deleted_at is None and holder.orphan and holder.cio_id == "cio_3"
    assert outcome.platform.members("didz") == [holder]


def test_an_identify_never_deletes_an_identified_profile_as_anonymous(play: Callable[..., Outcome]) -> None:
    """The phone's anonymous profile was merged (Merge People) into the email profile;
    the phone then identifies by id alone: the email profile is not anonymous, it stays."""
    outcome = play(
        """
        scenario: s
        workspace: {sources: {backend: {identify_by: email}}}
        shoppers: {ana: {id: cus_1, email: ana@example.com}}
        timeline:
          - {at: 0m, who: ana, source: backend, track: p}
          - {at: 1m, who: ana, device: phone, track: x}
          - {at: 5m, merge: {primary: {email: ana@example.com}, secondary: {cio_id: cio_2}}}
          - {at: 10m, who: ana, device: phone, identify: {with: [id]}}
          - {at: 20m, who: ana, source: backend, track: q}
        """
    )
    profiles = live(outcome)
    assert sorted(profiles) == ["cio_1", "cio_3"]
    assert sorted(names(profiles["cio_1"])) == ["p", "q", "x"] and profiles["cio_1"].email == "ana@example.com"
    assert profiles["cio_3"].id == "cus_1"


def test_an_identify_that_auto_merges_is_one_profile_update(play: Callable[..., Outcome]) -> None:
    """SPEC 4: a delivery is processed completely before anything is judged. The
    auto-merge, the identify's attributes and its anonymous id's events are all in
    before segments move: no segment is joined (and no message sent) from a state
    between them."""
    outcome = play(
        """
        scenario: s
        workspace:
          segments:
            bp_not_vip: {rule: {all: [{performed: b}, {performed: p}, {not: {attribute: vip, eq: true}}]}}
            bp_no_c: {rule: {all: [{performed: b}, {performed: p}, {not_performed: c}]}}
          journeys:
            j1: {trigger: {segment: bp_not_vip}, steps: [{send: m1}]}
            j2: {trigger: {segment: bp_no_c}, steps: [{send: m2}]}
        shoppers:
          ana: {id: cus_1, email: ana@example.com}
          ben: {id: cus_2, email: ben@example.com}
        timeline:
          - {at: 0m, who: ana, source: backend, identify: {with: [id]}}
          - {at: 0m, who: ana, source: backend, track: p}
          - {at: 1m, who: ana, device: laptop, identify: {with: [email]}}
          - {at: 2m, who: ana, device: laptop, track: b}
          - {at: 3m, who: ana, device: laptop, identify: {attributes: {vip: true}}}
          - {at: 0m, who: ben, source: backend, identify: {with: [id]}}
          - {at: 0m, who: ben, source: backend, track: p}
          - {at: 1m, who: ben, device: laptop, identify: {with: [email]}}
          - {at: 2m, who: ben, device: laptop, track: b}
          - {at: 2m, who: ben, device: phone, track: c}
          - {at: 3m, who: ben, device: phone, identify: true}
        """
    )
    entered = {(r["who"], r["segment"]) for r in kinds(outcome, "segment_entered")}
    assert entered == {("ana", "bp_no_c"), ("ben", "bp_not_vip")}  # never ana's bp_not_vip, ben's bp_no_c
    assert sorted((m.shopper, m.message) for m in outcome.platform.messages) == [("ana", "m2"), ("ben", "m1")]
    assert [r["how"] for r in kinds(outcome, "profile_merged")].count("auto_merge") == 2


def test_an_identify_replacing_an_id_says_so(play: Callable[..., Outcome]) -> None:
    """Two shoppers share an email: the second's identify gives the profile its id
    (SPEC 5: the email's profile takes the id), and the trace tells it."""
    outcome = play(
        """
        scenario: s
        shoppers:
          ana: {id: cus_1, email: fam@example.com}
          bob: {id: cus_2, email: fam@example.com}
        timeline:
          - {at: 0m, who: ana, device: phone, identify: true}
          - {at: 1m, who: bob, device: laptop, identify: true}
        """
    )
    (p,) = outcome.platform.live_profiles()
    assert p.id == "cus_2"
    replaced = [
        (r["cio_id"], r["identifier"], r["old"], r["new"], r["who"]) for r in kinds(outcome, "identifier_replaced")
    ]
    assert replaced == [("cio_1", "id", "cus_1", "cus_2", "bob")]
