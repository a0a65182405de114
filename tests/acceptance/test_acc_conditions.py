"""SPEC sections 6 and 7: the rule language and segment membership."""

from __future__ import annotations

import pytest
from acceptance_support import passes, plan_of, trace_of

from simulator.scenario.errors import InputError

SECTION_6_RULE = """
        all:                                  # also: any, not
          - performed: checkout_started       # event name, exact and case-sensitive
            within: 2h                        # event timestamp in (T-2h, T]
            where: {value: {gt: 50}, currency: USD}
            count: {gte: 1}                   # default: at least once
          - not_performed: order_completed
            after: checkout_started           # only events later than the latest checkout_started
          - attribute: vip
            eq: true
          - in_segment: recent_purchasers
"""


def _scenario(segments: str, timeline: str, expect: str, extra: str = "") -> str:
    return f"""
scenario: conditions
shoppers:
  ana: {{id: cus_1}}
  ben: {{id: cus_2}}
workspace:
{extra}
  segments:
{segments}
timeline:
{timeline}
expect:
{expect}
"""


def test_section_6_condition_verbatim() -> None:
    segments = f"""
    recent_purchasers: {{rule: {{performed: order_completed, within: 30d}}}}
    section_6:
      rule:{SECTION_6_RULE}"""
    passes(
        _scenario(
            segments,
            """
  - {at: 0m, who: ana, identify: {attributes: {vip: true}}}
  - {at: 0m, who: ben, identify: {attributes: {vip: true}}}
  - {at: 1m, who: ana, track: order_completed}
  - {at: 1m, who: ben, track: order_completed}
  - {at: 2m, who: ana, track: checkout_started, properties: {value: 120, currency: USD}}
  - {at: 2m, who: ben, track: checkout_started, properties: {value: 40, currency: USD}}
  - {at: 3h, who: ana, track: checkout_started, properties: {value: 120, currency: EUR}}
  - {at: 4h, who: ana, track: checkout_started, properties: {value: 60, currency: USD}}
  - {at: 4h30m, who: ana, track: order_completed}
""",
            """
  - {at: 10m, segment: section_6, members: [ana]}
  - {at: 2h2m, segment: section_6, members: []}       # (T-2h, T]: 2m is out at exactly 2h2m
  - {at: 2h1m, segment: section_6, members: [ana]}
  - {at: 3h1m, segment: section_6, members: []}       # currency EUR
  - {at: 4h1m, segment: section_6, members: [ana]}
  - {at: 4h31m, segment: section_6, members: []}      # ordered after the latest checkout
""",
        )
    )


def test_event_names_are_exact_and_case_sensitive() -> None:
    passes(
        _scenario(
            "    started: {rule: {performed: checkout_started}}",
            "  - {at: 0m, who: ana, track: Checkout Started}\n  - {at: 0m, who: ben, track: checkout_Started}",
            "  - {at: 1m, segment: started, members: []}",
        )
    )


def test_events_stamped_after_t_do_not_count_yet() -> None:
    passes(
        _scenario(
            "    started: {rule: {performed: checkout_started}}",
            "  - {at: 0m, who: ana, track: checkout_started, timestamp: 1h}",
            "  - {at: 59m, segment: started, members: []}\n  - {at: 1h, segment: started, members: [ana]}",
        )
    )


@pytest.mark.parametrize(
    ("count", "members"),
    [
        ("{eq: 2}", "[ana]"),
        ("{gte: 2}", "[ana, ben]"),
        ("{lte: 2}", "[ana]"),
        ("{gt: 2}", "[ben]"),
        ("{lt: 3}", "[ana]"),
    ],
)
def test_count_operators(count: str, members: str) -> None:
    passes(
        _scenario(
            f"    s: {{rule: {{performed: x, count: {count}}}}}",
            "\n".join(["  - {at: 0m, who: ana, track: x}"] * 2 + ["  - {at: 0m, who: ben, track: x}"] * 3),
            f"  - {{at: 1m, segment: s, members: {members}}}",
        )
    )


def test_count_eq_zero_matches_a_profile_without_the_event() -> None:
    passes(
        _scenario(
            "    s: {rule: {performed: x, count: {eq: 0}}}",
            "  - {at: 0m, who: ana, track: y}\n  - {at: 0m, who: ben, track: x}",
            "  - {at: 1m, segment: s, members: [ana]}",
        )
    )


@pytest.mark.parametrize(
    ("where", "members"),
    [
        ("{value: 120}", "[ana]"),
        ("{value: {eq: 120}}", "[ana]"),
        ("{value: {ne: 120}}", "[ben]"),
        ("{value: {gt: 100}}", "[ana]"),
        ("{value: {gte: 40}}", "[ana, ben]"),
        ("{value: {lt: 120}}", "[ben]"),
        ("{value: {lte: 120}}", "[ana, ben]"),
        ("{currency: {in: [USD, GBP]}}", "[ana]"),
        ("{title: {contains: blue}}", "[ben]"),
        ("{tags: {contains: sale}}", "[ana]"),
        ("{coupon: {exists: true}}", "[ben]"),
        ("{coupon: {exists: false}}", "[ana]"),
        ("{address.country: FR}", "[ben]"),
        ('{"items[].category": shoes}', "[ana]"),
        ('{"items[].price": {gt: 90}}', "[ana]"),
    ],
)
def test_where_tests(where: str, members: str) -> None:
    passes(
        _scenario(
            f"    s: {{rule: {{performed: x, where: {where}}}}}",
            """
  - {at: 0m, who: ana, track: x, properties: {value: 120, currency: USD, tags: [sale, new], title: red shoes,
     address: {country: US}, items: [{category: hats, price: 10}, {category: shoes, price: 95}]}}
  - {at: 0m, who: ben, track: x, properties: {value: 40, currency: EUR, tags: [], title: light blue shirt,
     coupon: SAVE, address: {country: FR}, items: [{category: hats, price: 10}]}}
""",
            f"  - {{at: 1m, segment: s, members: {members}}}",
        )
    )


@pytest.mark.parametrize(
    ("test", "members"),
    [
        ("{attribute: plan, eq: pro}", "[ana]"),
        ("{attribute: plan, ne: pro}", "[ben]"),
        ("{attribute: seats, gte: 5}", "[ana]"),
        ("{attribute: plan, exists: true}", "[ana, ben]"),
        ("{attribute: plan, in: [pro, team]}", "[ana]"),
        ("{attribute: company.size, lt: 10}", "[ben]"),
    ],
)
def test_attribute_tests(test: str, members: str) -> None:
    passes(
        _scenario(
            f"    s: {{rule: {test}}}",
            """
  - {at: 0m, who: ana, identify: {attributes: {plan: pro, seats: 7, company: {size: 50}}}}
  - {at: 0m, who: ben, identify: {attributes: {plan: free, seats: 1, company: {size: 3}}}}
""",
            f"  - {{at: 1m, segment: s, members: {members}}}",
        )
    )


def test_strict_types_and_coerce() -> None:
    text = _scenario(
        """
    numeric_gt: {rule: {performed: x, where: {value: {gt: 50}}}}
    numeric_eq: {rule: {performed: x, where: {value: 120}}}
    numeric_in: {rule: {performed: x, where: {value: {in: [120]}}}}
    numeric_ne: {rule: {performed: x, where: {value: {ne: 120}}}}
    flag: {rule: {performed: x, where: {value: {gt: 0}}}}""",
        """
  - {at: 0m, who: ana, track: x, properties: {value: "120"}}
  - {at: 0m, who: ben, track: x, properties: {value: true}}
""",
        "EXPECT",
        extra="  rules: {types: TYPES}",
    )
    passes(
        text.replace("TYPES", "strict").replace(
            "EXPECT",
            """  - {at: 1m, segment: numeric_gt, members: []}
  - {at: 1m, segment: numeric_eq, members: []}
  - {at: 1m, segment: numeric_in, members: []}
  - {at: 1m, segment: numeric_ne, members: []}       # a type mismatch makes any test false
  - {at: 1m, segment: flag, members: []}""",
        )
    )
    passes(
        text.replace("TYPES", "coerce").replace(
            "EXPECT",
            """  - {at: 1m, segment: numeric_gt, members: [ana]}
  - {at: 1m, segment: numeric_eq, members: [ana]}
  - {at: 1m, segment: numeric_in, members: [ana]}
  - {at: 1m, segment: numeric_ne, members: []}""",
        )
    )


def test_coerce_applies_to_journey_triggers_and_filters() -> None:
    passes(
        _scenario(
            "    s: {rule: {performed: y}}",
            "  - {at: 0m, who: ana, track: x, properties: {value: '120'}}",
            "  - {who: ana, journey: j, entered: 1}",
            extra="""  rules: {types: coerce}
  journeys:
    j:
      trigger: {event: x, where: {value: {gte: 100}}}
      filter: {performed: x, where: {value: {lt: 200}}}
      steps: [{send: m}]""",
        )
    )


def test_after_without_any_after_event_does_not_restrict() -> None:
    passes(
        _scenario(
            "    s: {rule: {performed: order_completed, after: checkout_started}}",
            "  - {at: 0m, who: ana, track: order_completed}",
            "  - {at: 1m, segment: s, members: [ana]}",
        )
    )


def test_after_compares_timestamps_not_arrival() -> None:
    # the checkout arrives late but is stamped before the order: the order is later
    passes(
        _scenario(
            "    s: {rule: {all: [{performed: checkout_started},"
            " {not_performed: order_completed, after: checkout_started}]}}",
            """
  - {at: 0m, who: ana, track: checkout_started, latency: 1h}
  - {at: 10m, who: ana, track: order_completed}
""",
            "  - {at: 2h, segment: s, members: []}",
        )
    )


def test_any_and_not() -> None:
    passes(
        _scenario(
            """
    either: {rule: {any: [{performed: a}, {performed: b}]}}
    neither: {rule: {not: {any: [{performed: a}, {performed: b}]}}}""",
            "  - {at: 0m, who: ana, track: a}\n  - {at: 0m, who: ben, track: c}",
            "  - {at: 1m, segment: either, members: [ana]}\n  - {at: 1m, segment: neither, members: [ben]}",
        )
    )


def test_in_segment() -> None:
    passes(
        _scenario(
            """
    base: {rule: {performed: a}}
    derived: {rule: {all: [{in_segment: base}, {performed: b}]}}""",
            "  - {at: 0m, who: ana, track: a}\n  - {at: 0m, who: ana, track: b}\n  - {at: 0m, who: ben, track: b}",
            "  - {at: 1m, segment: derived, members: [ana]}",
        )
    )


def test_in_segment_cycle_is_a_load_error() -> None:
    with pytest.raises(InputError) as info:
        plan_of(
            _scenario(
                """
    one: {rule: {in_segment: two}}
    two: {rule: {in_segment: one}}""",
                "  []",
                "  []",
            )
        )
    assert "cycle" in str(info.value).lower()


def test_unknown_segment_in_a_rule_is_a_load_error() -> None:
    with pytest.raises(InputError):
        plan_of(_scenario("    one: {rule: {in_segment: tow}}", "  []", "  []"))


def test_negative_window_needs_age() -> None:
    text = _scenario(
        "    inactive: {rule: {not_performed: order_completed, within: 1d}}",
        "  - {at: 0m, who: ana, track: browsed}",
        "EXPECT",
        extra="  rules: {negative_window_needs_age: KNOB}",
    )
    passes(
        text.replace("KNOB", "true").replace(
            "EXPECT",
            "  - {at: 23h59m, segment: inactive, members: []}\n  - {at: 1d, segment: inactive, members: [ana]}",
        )
    )
    passes(text.replace("KNOB", "false").replace("EXPECT", "  - {at: 1m, segment: inactive, members: [ana]}"))


def test_negative_window_age_from_creation_makes_a_time_driven_entry() -> None:
    result = passes(
        _scenario(
            "    inactive: {rule: {not_performed: order_completed, within: 1d}}",
            "  - {at: 0m, who: ana, track: browsed}",
            "  - {at: 2d, segment: inactive, members: [ana]}",
        )
    )
    entered = [r["at"] - result.plan.start for r in trace_of(result, "segment_entered")]
    assert entered == [86400]


def test_window_bounds_open_below_closed_above() -> None:
    passes(
        _scenario(
            "    recent: {rule: {performed: x, within: 30m}}",
            "  - {at: 10m, who: ana, track: x}",
            """
  - {at: 9m59s, segment: recent, members: []}
  - {at: 10m, segment: recent, members: [ana]}
  - {at: 39m59s, segment: recent, members: [ana]}
  - {at: 40m, segment: recent, members: []}
""",
        )
    )


def test_window_closing_is_traced_as_a_segment_exit() -> None:
    result = passes(
        _scenario(
            "    recent: {rule: {performed: x, within: 30m}}",
            "  - {at: 10m, who: ana, track: x}",
            "  - {at: 1h, segment: recent, members: []}",
        )
    )
    left = [r["at"] - result.plan.start for r in trace_of(result, "segment_left")]
    entered = [r["at"] - result.plan.start for r in trace_of(result, "segment_entered")]
    assert (entered, left) == ([600], [2400])


def test_segment_refresh_holds_membership_between_sweeps() -> None:
    passes(
        _scenario(
            "    recent: {rule: {performed: x, within: 30m}}",
            "  - {at: 10m, who: ana, track: x}",
            """
  - {at: 10m, segment: recent, members: []}
  - {at: 59m, segment: recent, members: []}
  - {at: 1h, segment: recent, members: []}
  - {at: 2h, segment: recent, members: []}
""",
            extra="  rules: {segment_refresh: 1h}",
        )
    )
    passes(
        _scenario(
            "    slow: {rule: {performed: x, within: 2h}}",
            "  - {at: 10m, who: ana, track: x}",
            """
  - {at: 59m, segment: slow, members: []}
  - {at: 1h, segment: slow, members: [ana]}
  - {at: 2h10m, segment: slow, members: [ana]}
  - {at: 2h59m, segment: slow, members: [ana]}
  - {at: 3h, segment: slow, members: []}
""",
            extra="  rules: {segment_refresh: 1h}",
        )
    )


def test_segment_description_is_accepted() -> None:
    passes(
        _scenario(
            """
    cart_abandoners:
      description: started checkout in the last 2h, no order since
      rule:
        all:
          - {performed: checkout_started, within: 2h}
          - {not_performed: order_completed, after: checkout_started}""",
            "  - {at: 0m, who: ana, track: checkout_started}",
            "  - {at: 1h, segment: cart_abandoners, members: [ana]}\n"
            "  - {at: 2h, segment: cart_abandoners, members: []}",
        )
    )
