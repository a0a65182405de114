"""SPEC section 5: profiles, anonymous ids, identify resolution, merges, ownership."""

from __future__ import annotations

from acceptance_support import outcome_of, passes, trace_of

from simulator.checks.expectations import ScenarioResult


def _scenario(timeline: str, workspace: str = "", expect: str = "", shoppers: str = "") -> str:
    return f"""
scenario: identity
shoppers:
  ana: {{id: cus_1, email: ana@example.com}}
  ben: {{email: ben@example.com}}        # no customer id: guest checkout
  cat: {{}}                              # never identifies
{shoppers}
workspace:
  segments:
    browsed: {{rule: {{performed: product_viewed}}}}
    started: {{rule: {{performed: checkout_started}}}}
    bought: {{rule: {{performed: order_completed}}}}
    vip: {{rule: {{attribute: vip, eq: true}}}}
    inactive_week: {{rule: {{not_performed: checkout_started, within: 7d}}}}
    browsed_and_started: {{rule: {{all: [{{performed: product_viewed}}, {{performed: checkout_started}}]}}}}
{workspace}
timeline:
{timeline}
expect:
{expect}
"""


def _profiles(result: ScenarioResult) -> dict[str, dict[str, object]]:
    return {
        p.cio_id: {"id": p.id, "email": p.email, "anon": list(p.anonymous_ids), "events": [e.name for e in p.events]}
        for p in result.outcome.platform.live_profiles()
    }


def test_section_5_shoppers_verbatim_and_cio_ids_in_creation_order() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: cat, device: phone, track: product_viewed}
  - {at: 1m, who: ben, track: order_completed}
  - {at: 2m, who: ana, track: order_completed}
""",
            expect="""
  - {at: 1h, segment: bought, members: [ana, ben]}
  - {at: 1h, segment: browsed, members: [cat]}
  - {who: cat, profiles: 1}
""",
        )
    )
    profiles = _profiles(result)
    assert profiles == {
        "cio_1": {"id": None, "email": None, "anon": ["anon-cat-phone"], "events": ["product_viewed"]},
        "cio_2": {"id": None, "email": "ben@example.com", "anon": [], "events": ["order_completed"]},
        "cio_3": {"id": "cus_1", "email": None, "anon": [], "events": ["order_completed"]},
    }


def test_identify_merges_the_device_and_tracks_then_carry_the_id() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed}
  - {at: 10m, who: ana, device: phone, identify: true}
  - {at: 20m, who: ana, device: phone, track: checkout_started}
""",
            expect="""
  - {at: 5m, who: ana, profiles: 1}
  - {at: 15m, who: ana, profiles: 1}
  - {at: 30m, who: ana, in_segment: started}
""",
        )
    )
    profiles = _profiles(result)
    # the anonymous profile (cio_1) is deleted; its cio_id is never reused
    assert profiles == {
        "cio_2": {
            "id": "cus_1",
            "email": "ana@example.com",
            "anon": ["anon-ana-phone"],
            "events": ["product_viewed", "checkout_started"],
        }
    }


def test_identify_with_email_only_then_tracks_carry_the_email() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, identify: {with: [email]}}
  - {at: 1m, who: ana, device: phone, track: checkout_started}
  - {at: 2m, who: ana, track: order_completed}
""",
            expect="""
  - {at: 1h, who: ana, profiles: 2}
""",
        )
    )
    profiles = _profiles(result)
    assert profiles["cio_1"]["email"] == "ana@example.com" and profiles["cio_1"]["id"] is None
    assert profiles["cio_1"]["events"] == ["checkout_started"]
    assert profiles["cio_2"]["id"] == "cus_1" and profiles["cio_2"]["events"] == ["order_completed"]


def test_identify_attributes_and_identify_true_sends_identifiers_only() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, identify: true}
  - {at: 1m, who: ben, identify: {attributes: {vip: true, tier: gold}}}
""",
            expect="""
  - {at: 1h, segment: vip, members: [ben]}
""",
        )
    )
    attrs = {p.email: p.attributes for p in result.outcome.platform.live_profiles()}
    assert attrs["ben@example.com"] == {"vip": True, "tier": "gold"}
    assert attrs["ana@example.com"] == {}


def test_server_identify_sends_every_identifier_despite_identify_by() -> None:
    result = passes(
        _scenario(
            "  - {at: 0m, who: ana, source: backend, identify: true}\n  - {at: 1m, who: ana, track: order_completed}",
            workspace="  sources:\n    backend: {kind: server, latency: 0s, identify_by: email}",
            expect="  - {at: 1h, who: ana, profiles: 1}",
        )
    )
    assert _profiles(result)["cio_1"]["id"] == "cus_1"
    assert _profiles(result)["cio_1"]["email"] == "ana@example.com"


def test_server_track_falls_back_to_the_other_identifier() -> None:
    result = passes(
        _scenario(
            "  - {at: 0m, who: ben, track: order_completed}",
            workspace="  sources:\n    backend: {kind: server, latency: 0s, identify_by: id}",
            expect="  - {at: 1h, who: ben, in_segment: bought}",
        )
    )
    assert _profiles(result)["cio_1"]["email"] == "ben@example.com"


def test_identify_finding_the_email_profile_gives_it_the_id() -> None:
    result = passes(
        _scenario(
            "  - {at: 0m, who: ana, track: order_completed}\n  - {at: 1m, who: ana, device: laptop, identify: true}",
            workspace="  sources:\n    backend: {kind: server, latency: 0s, identify_by: email}",
            expect="  - {at: 1h, who: ana, profiles: 1}",
        )
    )
    assert _profiles(result)["cio_1"]["id"] == "cus_1"


def test_auto_merge_joins_the_id_and_email_profiles_older_primary() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, source: by_email, track: checkout_started}
  - {at: 1m, who: ana, source: by_id, track: order_completed}
  - {at: 2m, who: ana, device: laptop, identify: true}
""",
            workspace="""  sources:
    by_email: {kind: server, latency: 0s, identify_by: email}
    by_id: {kind: server, latency: 0s, identify_by: id}""",
            expect="""
  - {at: 90s, who: ana, profiles: 2}
  - {at: 3m, who: ana, profiles: 1}
  - {at: 3m, who: ana, in_segment: started}
  - {at: 3m, who: ana, in_segment: bought}
""",
        )
    )
    profiles = _profiles(result)
    assert list(profiles) == ["cio_1"]
    assert profiles["cio_1"]["id"] == "cus_1"


def test_auto_merge_false_updates_the_id_profile_and_records_a_conflict() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, source: by_email, track: checkout_started}
  - {at: 1m, who: ana, source: by_id, track: order_completed}
  - {at: 2m, who: ana, source: by_id, identify: {attributes: {vip: true}}}
""",
            workspace="""  identity: {auto_merge: false}
  sources:
    by_email: {kind: server, latency: 0s, identify_by: email}
    by_id: {kind: server, latency: 0s, identify_by: id}""",
            expect="""
  - {at: 3m, who: ana, profiles: 2}
  - {invariant: no_split_identities}
""".replace("{invariant: no_split_identities}", "{violation: split_identity, who: ana, cause: identity_split}"),
        )
    )
    profiles = _profiles(result)
    vip = [p for p in result.outcome.platform.live_profiles() if p.attributes.get("vip")]
    assert [p.id for p in vip] == ["cus_1"]
    assert profiles["cio_1"]["id"] is None
    kinds = {r["kind"] for r in result.outcome.platform.trace.records}
    assert any("conflict" in k for k in kinds), sorted(kinds)


def test_anonymous_events_older_than_retention_are_left_behind() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed}
  - {at: 1d, who: ana, device: phone, track: checkout_started}
  - {at: 31d, who: ana, device: phone, identify: true}
""",
            expect="""
  - {at: 32d, who: ana, not_in_segment: browsed}
  - {at: 32d, who: ana, in_segment: started}
  - {at: 32d, who: ana, profiles: 1}
""",
        )
    )


def test_retention_boundary_is_inclusive() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed}
  - {at: 30d, who: ana, device: phone, identify: true}
""",
            expect="  - {at: 31d, who: ana, in_segment: browsed}",
        )
    )


GRACE_WS = """  sources:
    app: {kind: client, latency: 0s}
  journeys:
    browse_follow_up:
      trigger: {event: product_viewed}
      steps: [{send: follow_up}]"""


def test_an_anonymous_event_arriving_within_the_grace_lands_on_the_known_profile_and_triggers() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, identify: true, latency: 0s}
  - {at: 0m, who: ana, device: phone, track: product_viewed, latency: 5m}
""".replace("identify: true, latency: 0s}", "identify: true, latency: 0s}"),
            workspace=GRACE_WS,
            expect="""
  - {at: 10m, who: ana, profiles: 1}
  - {who: ana, journey: browse_follow_up, entered: 1}
""",
        )
    )


def _orphan_timeline() -> str:
    # the track leaves the phone before the identify (so it is anonymous) but arrives
    # 5m1s after the identify: past the anonymous grace
    return """
  - {at: 0m, who: ana, device: phone, track: product_viewed, latency: 10m1s}
  - {at: 5m, who: ana, device: phone, identify: true}
"""


def test_an_anonymous_event_arriving_past_the_grace_becomes_an_orphan() -> None:
    result = passes(
        _scenario(
            _orphan_timeline() + "  - {at: 20m, who: ana, device: phone, track: checkout_started}\n",
            workspace=GRACE_WS,
            expect="""
  - {at: 1h, who: ana, profiles: 2}
  - {who: ana, journey: browse_follow_up, entered: 0}
  - {violation: split_identity, who: ana, cause: identity_split}
""",
        )
    )
    orphan = [p for p in result.outcome.platform.live_profiles() if p.id is None]
    assert [p.anonymous_ids for p in orphan] == [["anon-ana-phone"]]


def test_grace_boundary_is_inclusive() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed, latency: 10m}
  - {at: 5m, who: ana, device: phone, identify: true}
""",
            workspace=GRACE_WS,
            expect="""
  - {at: 1h, who: ana, profiles: 1}
  - {who: ana, journey: browse_follow_up, entered: 1}
""",
        )
    )


def test_an_orphan_is_never_merged_even_by_a_later_identify_with_that_anonymous_id() -> None:
    passes(
        _scenario(
            _orphan_timeline() + "  - {at: 1h, who: ana, device: phone, identify: true}\n",
            workspace=GRACE_WS,
            expect="  - {at: 2h, who: ana, profiles: 2}",
        )
    )


def test_reset_then_identify_merges_the_new_anonymous_id() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, identify: true, reset: true}
  - {at: 1m, who: ana, device: phone, track: product_viewed}
  - {at: 2m, who: ana, device: phone, identify: true}
  - {at: 3m, who: ana, device: phone, track: checkout_started}
""",
            expect="""
  - {at: 90s, who: ana, profiles: 2}
  - {at: 1h, who: ana, profiles: 1}
  - {at: 1h, who: ana, in_segment: browsed}
""",
        )
    )
    live = result.outcome.platform.live_profiles()
    assert [sorted(p.anonymous_ids) for p in live] == [["anon-ana-phone", "anon-ana-phone-2"]]


def test_reset_applies_after_the_steps_own_call() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, identify: true}
  - {at: 1m, who: ana, device: phone, track: product_viewed, reset: true}
  - {at: 2m, who: ana, device: phone, track: checkout_started}
""",
            expect="""
  - {at: 1h, who: ana, profiles: 2}
""",
        )
    )
    anon = [p for p in result.outcome.platform.live_profiles() if p.id is None]
    assert [(p.anonymous_ids, [e.name for e in p.events]) for p in anon] == [
        (["anon-ana-phone-2"], ["checkout_started"])
    ]


def test_merge_anonymous_false_never_merges() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed}
  - {at: 1m, who: ana, device: phone, identify: true}
  - {at: 2m, who: ana, device: phone, track: checkout_started}
""",
            workspace="  identity: {merge_anonymous: false}",
            expect="""
  - {at: 1h, who: ana, profiles: 2}
  - {at: 1h, who: ana, in_segment: browsed}
""",
        )
    )


def test_anonymous_profiles_never_enter_journeys() -> None:
    passes(
        _scenario(
            "  - {at: 0m, who: cat, device: phone, track: product_viewed}",
            workspace=GRACE_WS,
            expect="  - {who: cat, journey: browse_follow_up, entered: 0}\n  - {at: 1m, who: cat, in_segment: browsed}",
        )
    )


def test_moved_events_are_offered_to_triggers_within_max_age_in_order() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed, properties: {n: 1}}
  - {at: 1d, who: ana, device: phone, track: product_viewed, properties: {n: 2}}
  - {at: 3d1h, who: ana, device: phone, track: product_viewed, properties: {n: 3}}
  - {at: 4d, who: ana, device: phone, identify: true}
""",
            workspace="""  journeys:
    follow_up:
      trigger: {event: product_viewed}
      steps:
        - branch:
            if: {trigger: {n: 2}}
            then: [{send: two}]
            else: [{send: three}]""",
            expect="""
  - {who: ana, journey: follow_up, entered: 2}
  - {who: ana, journey: follow_up, sent: [two, three]}
""",
        )
    )


def test_moved_events_see_each_other_for_filters_and_frequency() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, device: phone, track: product_viewed}
  - {at: 1m, who: ana, device: phone, track: product_viewed}
  - {at: 2m, who: ana, device: phone, track: checkout_started}
  - {at: 10m, who: ana, device: phone, identify: true}
""",
            workspace="""  journeys:
    follow_up:
      trigger: {event: product_viewed}
      filter: {not_performed: checkout_started}
      steps: [{send: m}]
    once_only:
      trigger: {event: product_viewed}
      frequency: once
      steps: [{send: m}]""",
            expect="""
  - {who: ana, journey: follow_up, entered: 0}
  - {who: ana, journey: once_only, entered: 1}
""",
        )
    )


MERGE_WS = """  sources:
    by_email: {kind: server, latency: 0s, identify_by: email}
    slow_backend: {kind: server, latency: 1h}
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 2h}, {send: reminder}]
    welcome:
      trigger: {segment: started}
      steps: [{send: hello}]"""

MERGE_STEP = "{primary: {id: cus_1}, secondary: {email: ana@example.com}}"


def test_merge_step_primary_gains_identifiers_attributes_and_events() -> None:
    result = passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 1m, who: ana, source: by_email, identify: {{with: [email], attributes: {{vip: true, tier: gold}}}}}}
  - {{at: 2m, who: ana, source: by_email, track: order_completed}}
  - {{at: 3m, who: ana, identify: {{with: [id], attributes: {{tier: silver}}}}}}
  - {{at: 10m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect="""
  - {at: 5m, who: ana, profiles: 2}
  - {at: 11m, who: ana, profiles: 1}
  - {at: 11m, who: ana, in_segment: bought}
  - {at: 11m, who: ana, in_segment: vip}
""",
        )
    )
    (p,) = result.outcome.platform.live_profiles()
    assert (p.cio_id, p.id, p.email) == ("cio_1", "cus_1", "ana@example.com")
    assert p.attributes == {"vip": True, "tier": "silver"}


def test_merge_step_with_a_missing_profile_or_the_same_profile_does_nothing() -> None:
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, track: product_viewed}
  - {at: 1m, merge: {primary: {id: cus_1}, secondary: {email: nobody@example.com}}}
  - {at: 2m, merge: {primary: {id: cus_1}, secondary: {id: cus_1}}}
""",
            workspace=MERGE_WS,
            expect="  - {at: 1h, who: ana, profiles: 1}\n  - {at: 1h, who: ana, in_segment: browsed}",
        )
    )


def test_merge_step_through_a_source_with_latency() -> None:
    passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 1m, who: ana, source: by_email, track: order_completed}}
  - {{at: 10m, merge: {MERGE_STEP}, source: slow_backend}}
""",
            workspace=MERGE_WS,
            expect="""
  - {at: 1h9m, who: ana, profiles: 2}
  - {at: 1h10m, who: ana, profiles: 1}
""",
        )
    )


def test_merge_window_drops_older_secondary_events() -> None:
    passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, source: by_email, track: product_viewed}}
  - {{at: 5d, who: ana, source: by_email, track: order_completed}}
  - {{at: 6d, who: ana, track: checkout_started}}
  - {{at: 6d1m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS + "\n  identity: {merge_event_window: 3d}",
            expect="""
  - {at: 7d, who: ana, not_in_segment: browsed}
  - {at: 7d, who: ana, in_segment: bought}
""",
        )
    )


def test_a_goal_met_through_a_merge_ends_the_run_at_the_merge_instant() -> None:
    result = passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: checkout_started}}
  - {{at: 10m, who: ana, source: by_email, track: order_completed}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect="""
  - {who: ana, journey: cart_recovery, exited: goal}
  - {who: ana, journey: cart_recovery, sent: []}
""",
        )
    )
    run = next(r for r in result.outcome.platform.runs if r.journey.name == "cart_recovery")
    assert run.ended_at == result.plan.start + 30 * 60


def test_inherited_events_never_start_event_triggered_runs() -> None:
    passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 10m, who: ana, source: by_email, track: checkout_started}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect="""
  - {who: ana, journey: cart_recovery, entered: 1, within: [10m, 10m]}
  - {who: ana, journey: cart_recovery, entered: 1}
""",
        )
    )


def test_segment_join_through_a_merge_starts_a_segment_triggered_run_on_the_primary() -> None:
    result = passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 10m, who: ana, source: by_email, track: checkout_started}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS.replace("trigger: {segment: started}", "trigger: {segment: browsed_and_started}"),
            expect="""
  - {at: 20m, segment: browsed_and_started, members: []}
  - {who: ana, journey: welcome, entered: 1}
  - {who: ana, journey: welcome, sent: [hello]}
""",
        )
    )
    (run,) = [r for r in result.outcome.platform.runs if r.journey.name == "welcome"]
    assert (run.entered_at - result.plan.start, run.profile) == (1800, 1)


def test_segment_once_frequency_counts_runs_of_merged_profiles() -> None:
    # default frequency of a segment trigger is `once`, judged over the runs of
    # every profile merged into the primary
    passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 10m, who: ana, source: by_email, track: checkout_started}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect=(
                "  - {who: ana, journey: welcome, entered: 1, within: [10m, 10m]}\n"
                "  - {who: ana, journey: welcome, entered: 1}"
            ),
        )
    )


def test_a_secondarys_open_run_moves_to_the_primary() -> None:
    result = passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: product_viewed}}
  - {{at: 10m, who: ana, source: by_email, track: checkout_started}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect="""
  - {who: ana, journey: cart_recovery, entered: 1}
  - {who: ana, journey: cart_recovery, sent: [reminder]}
  - {who: ana, journey: cart_recovery, exited: completed}
""",
        )
    )
    msg = next(r for r in result.outcome.platform.runs if r.journey.name == "cart_recovery").messages[0]
    assert msg.at - result.plan.start == 2 * 3600 + 600
    assert msg.profile == 1  # sent on the primary (cio_1)


def test_a_secondarys_open_run_ends_merged_when_the_primary_has_one_open() -> None:
    result = passes(
        _scenario(
            f"""
  - {{at: 0m, who: ana, track: checkout_started}}
  - {{at: 10m, who: ana, source: by_email, track: checkout_started}}
  - {{at: 30m, merge: {MERGE_STEP}}}
""",
            workspace=MERGE_WS,
            expect="""
  - {who: ana, journey: cart_recovery, entered: 2}
  - {who: ana, journey: cart_recovery, sent: [reminder]}
  - {who: ana, journey: cart_recovery, exited: merged}
""",
        )
    )
    reasons = sorted(
        (r.entered_at - result.plan.start, r.reason)
        for r in result.outcome.platform.runs
        if r.journey.name == "cart_recovery"
    )
    assert reasons == [(0, "completed"), (600, "merged")]


def test_auto_merge_makes_the_lower_cio_number_primary() -> None:
    result = passes(
        _scenario(
            """
  - {at: 0m, who: ana, source: by_email, track: checkout_started}
  - {at: 1m, who: ana, track: product_viewed}
  - {at: 2m, who: ana, identify: true}
""",
            workspace=MERGE_WS,
            expect="  - {at: 1h, who: ana, profiles: 1}",
        )
    )
    assert [p.cio_id for p in result.outcome.platform.live_profiles()] == ["cio_1"]


def test_profile_age_uses_the_earliest_event_timestamp() -> None:
    passes(
        _scenario(
            """
  - {at: 10d, who: ana, track: product_viewed, timestamp: 0m}
  - {at: 10d, who: ben, track: product_viewed}
""",
            expect="""
  - {at: 10d1m, segment: inactive_week, members: [ana]}
  - {at: 17d, segment: inactive_week, members: [ana, ben]}
""",
        )
    )


def test_runs_belong_to_the_shopper_whose_call_made_the_trigger() -> None:
    # two shoppers share one email: the profile is shared, each run stays its caller's
    passes(
        _scenario(
            """
  - {at: 0m, who: ana, source: by_email, track: checkout_started}
  - {at: 1m, who: dan, source: by_email, track: checkout_started}
""",
            shoppers="  dan: {email: ana@example.com}",
            workspace=MERGE_WS,
            expect="""
  - {who: ana, journey: cart_recovery, entered: 1}
  - {who: dan, journey: cart_recovery, entered: 1}
""",
        )
    )


def test_identify_trace_records_the_anonymous_id() -> None:
    result = passes(
        _scenario(
            "  - {at: 0m, who: ana, device: phone, identify: true}",
            expect="  - {at: 1m, who: ana, profiles: 1}",
        )
    )
    assert result.outcome.platform.live_profiles()[0].anonymous_ids == ["anon-ana-phone"]
    assert trace_of(result, "profile_created")


def test_outcome_of_is_deterministic() -> None:
    text = _scenario(
        "  - {at: 0m, who: ana, device: phone, track: product_viewed}", expect="  - {who: ana, profiles: 1}"
    )
    assert outcome_of(text).outcome.platform.trace.records == outcome_of(text).outcome.platform.trace.records
