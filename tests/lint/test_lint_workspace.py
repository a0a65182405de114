"""Workspace rules: the plan's own names, rule references, and time windows
or waits tighter than ingestion latency. Each rule fires on a workspace that
breaks it and stays silent on the clean one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lint_support import LintFolder, rules, workspace

from simulator.lint.trackplan import is_snake_case, suggested_name


def test_the_clean_workspace_has_no_finding(folder: LintFolder) -> None:
    assert folder.lint().findings == []


def test_the_shipped_workspace_has_no_finding(folder: LintFolder) -> None:
    from pathlib import Path

    from simulator.lint.lint_run import lint_paths

    run = lint_paths(Path("fixtures/workspaces/dtc_store.yaml"), [], 0)
    assert run.problems == []
    assert run.findings == []


def _lint(folder: LintFolder, change: Any) -> list[str]:
    folder.write_workspace(workspace(change=change))
    return rules(folder.lint().findings)


def test_rule_on_an_unplanned_event(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["cart_abandoners"]["rule"]["all"][0]["performed"] = "checkout_start"

    run_rules = _lint(folder, change)
    assert "rule-unknown-event" in run_rules
    finding = next(f for f in folder.lint().findings if f.rule == "rule-unknown-event")
    assert finding.path == "segments.cart_abandoners.rule.all[0].performed"
    assert finding.line > 0
    assert "checkout_started" in finding.message  # the nearest planned name


def test_rule_on_an_unplanned_property(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["trigger"]["where"] = {"total": {"gt": 0}}

    assert _lint(folder, change) == ["rule-unknown-property"]


def test_a_trigger_reference_to_an_unplanned_property(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["goal"]["where"] = {"checkout_id": {"trigger": "cart_id"}}

    folder.write_workspace(workspace(change=change))
    found = folder.lint().findings
    assert [(f.rule, f.path) for f in found] == [
        ("rule-unknown-property", "journeys.cart_recovery.goal.where.checkout_id")
    ]


def test_a_rule_comparing_a_number_with_a_string(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["trigger"]["where"] = {"value": {"gt": "50"}}

    assert _lint(folder, change) == ["rule-type-mismatch"]


def test_a_window_tighter_than_the_batch_latency(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}

    folder.write_workspace(workspace(change=change))
    found = [f for f in folder.lint().findings if f.rule == "window-tighter-than-latency"]
    assert len(found) == 1
    assert found[0].severity == "error"
    assert found[0].path == "segments.recent_buyers.rule.within"
    assert "backend" in found[0].message and "30m" in found[0].message


def test_a_window_wider_than_the_latency_is_fine(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "31m"}}

    assert _lint(folder, change) == []


def test_a_yaml_1_1_boolean_word_in_a_rule_is_a_warning(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["vips"] = {"rule": {"attribute": "vip", "eq": "yes"}}
        ws["segments"]["quiet"] = {"rule": {"performed": "order_completed", "where": {"gift": {"in": ["No"]}}}}

    folder.write_workspace(workspace(change=change))
    found = [f for f in folder.lint().findings if f.rule == "yaml-boolean-word"]
    assert [(f.severity, f.path) for f in found] == [
        ("warning", "segments.vips.rule.eq"),
        ("warning", "segments.quiet.rule.where.gift.in[0]"),
    ]
    assert "write true if a boolean is meant" in found[0].message
    assert "write false if a boolean is meant" in found[1].message


def test_an_empty_any_or_all_is_a_warning(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["nobody"] = {"rule": {"all": [{"performed": "order_completed"}, {"any": []}]}}
        ws["segments"]["everybody"] = {"rule": {"all": []}}

    folder.write_workspace(workspace(change=change))
    found = [f for f in folder.lint().findings if f.rule == "empty-condition-list"]
    assert [(f.severity, f.path) for f in found] == [
        ("warning", "segments.nobody.rule.all[1].any"),
        ("warning", "segments.everybody.rule.all"),
    ]
    assert "never holds" in found[0].message and "always holds" in found[1].message


def test_a_source_stamped_on_arrival_never_closes_a_window_on_its_events(folder: LintFolder) -> None:
    # `timestamps: none`: the platform stamps the event when it arrives, so it always counts.
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}
        ws["sources"]["backend"]["timestamps"] = "none"

    assert _lint(folder, change) == []


def test_an_exponential_latency_is_read_at_its_99th_percentile(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["sources"]["web"]["latency"] = {"exponential": "30m"}

    # checkout_started comes from any source; 30m mean gives a 99th percentile over 2h
    assert _lint(folder, change) == ["window-tighter-than-latency"]


def test_a_wait_shorter_than_the_goal_latency(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["steps"][0] = {"wait": "10m"}

    assert _lint(folder, change) == ["wait-shorter-than-latency"]


ORDERED = {"performed": "order_completed"}
VIP = {"attribute": "vip", "eq": True}


@pytest.mark.parametrize(
    ("steps", "flagged"),
    [
        # Not met by its max, the wait_until goes on to the reminder 10m after entry.
        ([{"wait_until": {"condition": ORDERED, "max": "10m"}}, {"send": "r"}], True),
        # Its `then` runs when the order is in: no reminder there.
        ([{"wait_until": {"condition": ORDERED, "max": "2h", "then": [{"send": "t"}]}}], False),
        # A branch arm sends at once; the other arm waits long enough.
        ([{"branch": {"if": VIP, "then": [{"send": "v"}], "else": [{"wait": "2h"}]}}], True),
        # A branch inside an arm: its quicker arm reaches the send after 5m.
        (
            [
                {
                    "branch": {
                        "if": VIP,
                        "then": [{"branch": {"if": VIP, "then": [{"wait": "2h"}], "else": [{"wait": "5m"}]}}],
                        "else": [{"wait": "3h"}],
                    }
                },
                {"send": "r"},
            ],
            True,
        ),
        # Both arms wait long enough, then the step after the branch sends.
        ([{"branch": {"if": VIP, "then": [{"wait": "2h"}], "else": [{"wait": "3h"}]}}, {"send": "r"}], False),
        ([{"branch": {"if": VIP, "then": [{"update": {"a": 1}}]}}, {"send": "r"}], True),
    ],
)
def test_the_first_message_is_found_through_wait_until_and_branch(
    folder: LintFolder, steps: list[dict[str, Any]], flagged: bool
) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["steps"] = steps

    assert ("wait-shorter-than-latency" in _lint(folder, change)) is flagged


def test_a_not_list_is_read_like_the_clauses_it_holds(folder: LintFolder) -> None:
    """`not: [...]` (none of these): its events are references, and a filter's excluded order is watched."""

    def change(ws: dict[str, Any]) -> None:
        journey = ws["journeys"]["cart_recovery"]
        journey.update(filter={"not": [{"performed": "order_completed"}]}, exit="stop_matching")
        journey["steps"][0] = {"wait": "10m"}
        ws["segments"]["cart_abandoners"]["rule"]["all"][1] = {"not": [{"performed": "order_complete"}]}

    assert _lint(folder, change) == ["rule-unknown-event", "wait-shorter-than-latency"]
    unknown = next(f for f in folder.lint().findings if f.rule == "rule-unknown-event")
    assert unknown.path == "segments.cart_abandoners.rule.all[1].not[0].performed"


def test_plan_names_not_in_snake_case(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        events = ws["tracking_plan"]["events"]
        events["ProductViewed"] = {"description": "a product page", "properties": {"productId": {"type": "string"}}}

    assert sorted(_lint(folder, change)) == ["event-name-case", "property-name-case"]


def test_near_duplicate_planned_names(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["Checkout Started"] = {"description": "the old name"}

    assert "near-duplicate-name" in _lint(folder, change)


def test_a_planned_name_that_encodes_a_property(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["added_to_cart_shoes"] = {"description": "shoes only"}

    assert _lint(folder, change) == ["name-encodes-property"]


def test_a_planned_name_saying_what_happened_to_its_base_is_another_event(folder: LintFolder) -> None:
    # order_completed_refunded is a refund, not order_completed carrying the value "refunded";
    # order_completed_red would be a colour.
    def change(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["order_completed_refunded"] = {"description": "a refund", "source": "server"}
        ws["tracking_plan"]["events"]["order_completed_paid"] = {"description": "settled", "source": "server"}

    assert _lint(folder, change) == []

    def colour(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["order_completed_red"] = {"description": "red orders"}

    assert _lint(folder, colour) == ["name-encodes-property"]


def test_a_page_about_orders_is_no_purchase_event() -> None:
    from simulator.lint.gate import purchase_events

    events = {"order_history_viewed": {}, "payment_page_opened": {}, "order_completed": {}, "purchase_refunded": {}}
    assert purchase_events(events) == ["order_completed", "purchase_refunded"]


def test_unique_by_naming_an_unplanned_property(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["order_completed"]["unique_by"] = "order_number"

    assert _lint(folder, change) == ["unique-by-unknown-property"]


def test_a_workspace_without_a_plan(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        del ws["tracking_plan"]

    assert _lint(folder, change) == ["no-tracking-plan"]


def _branch_on_the_trigger(test: dict[str, Any]) -> Any:
    def change(ws: dict[str, Any]) -> None:
        ws["journeys"]["cart_recovery"]["steps"] = [
            {"wait": "3h"},
            {"branch": {"if": {"trigger": test}, "then": [{"send": "big_spender"}], "else": [{"send": "reminder"}]}},
        ]

    return change


def test_a_trigger_test_comparing_a_number_with_a_string(folder: LintFolder) -> None:
    folder.write_workspace(workspace(change=_branch_on_the_trigger({"value": {"gte": "100"}})))
    found = folder.lint().findings
    assert [(f.rule, f.path) for f in found] == [
        ("rule-type-mismatch", "journeys.cart_recovery.steps[1].branch.if.trigger.value.gte")
    ]
    assert "checkout_started.value" in found[0].message and "'100'" in found[0].message


def test_a_well_typed_trigger_test_is_fine(folder: LintFolder) -> None:
    folder.write_workspace(workspace(change=_branch_on_the_trigger({"value": {"gte": 100}, "currency": "USD"})))
    assert folder.lint().findings == []


def test_a_trigger_test_on_an_unplanned_property(folder: LintFolder) -> None:
    folder.write_workspace(workspace(change=_branch_on_the_trigger({"total": {"gte": 100}})))
    assert [(f.rule, f.path) for f in folder.lint().findings] == [
        ("rule-unknown-property", "journeys.cart_recovery.steps[1].branch.if.trigger.total")
    ]


def test_type_messages_read_as_english_and_json(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["added_to_cart"]["properties"]["quantity"] = {"type": "integer"}
        ws["segments"]["bulk"] = {"rule": {"performed": "added_to_cart", "where": {"quantity": {"eq": True}}}}

    folder.write_workspace(workspace(change=change))
    (found,) = folder.lint().findings
    assert found.rule == "rule-type-mismatch"
    assert "planned as an integer" in found.message and "the boolean true" in found.message
    assert "as an integer" in found.message and "True" not in found.message


def test_a_rule_on_an_unplanned_event_far_from_the_plan_names_the_nearest(folder: LintFolder) -> None:
    def change(ws: dict[str, Any]) -> None:
        ws["segments"]["wishers"] = {"rule": {"performed": "wishlist_added"}}

    folder.write_workspace(workspace(change=change))
    (found,) = folder.lint().findings
    assert found.rule == "rule-unknown-event"
    assert "add it to tracking_plan.events (nearest planned name: 'added_to_cart')" in found.message


def _coerce(where: dict[str, Any]) -> Any:
    def change(ws: dict[str, Any]) -> None:
        ws["rules"] = {"types": "coerce"}
        ws["segments"]["picked"] = {"rule": {"performed": "checkout_started", "where": where}}

    return change


def test_under_coerce_a_numeric_string_against_a_number_is_fine(folder: LintFolder) -> None:
    """rules.types: coerce compares "50" as 50 (SPEC section 6): the rule matches as meant."""
    folder.write_workspace(workspace(change=_coerce({"value": {"gt": "50", "in": ["1", 2]}})))
    assert folder.lint().findings == []


def test_under_coerce_a_number_against_a_string_property_is_a_warning(folder: LintFolder) -> None:
    folder.write_workspace(workspace(change=_coerce({"checkout_id": {"eq": 5}})))
    (found,) = folder.lint().findings
    assert (found.rule, found.severity, found.path) == (
        "rule-type-mismatch",
        "warning",
        "segments.picked.rule.where.checkout_id.eq",
    )
    assert "under rules.types: coerce it matches only the values that are numeric strings" in found.message
    assert "strict" not in found.message


def test_under_coerce_a_value_no_coercion_reads_never_matches(folder: LintFolder) -> None:
    folder.write_workspace(workspace(change=_coerce({"value": {"gt": "fifty"}, "currency": True})))
    found = folder.lint().findings
    assert [(f.rule, f.severity) for f in found] == [("rule-type-mismatch", "error")] * 2
    assert all("never matches, even under rules.types: coerce" in f.message for f in found)
    assert not any("strict" in f.message for f in found)


def test_a_snake_case_suggestion_keeps_accented_letters_plain_and_never_suggests_nothing() -> None:
    assert suggested_name("café_visited") == "'cafe_visited'"
    assert suggested_name("Über Cart") == "'uber_cart'"
    assert suggested_name("straße_viewed") == "'strasse_viewed'"
    assert suggested_name("日本") == "in lowercase ASCII letters, digits and underscores"


@given(st.text(max_size=20))
def test_a_name_is_told_to_become_a_snake_case_name_other_than_itself(name: str) -> None:
    """`2fa_enabled` is snake case (digits may lead); a name that is not gets a
    suggestion that is, never its own spelling back."""
    if is_snake_case(name):
        return
    suggested = suggested_name(name)
    if suggested.startswith("'"):
        assert suggested != repr(name)
        assert is_snake_case(suggested[1:-1]), suggested


def test_a_leading_digit_is_snake_case() -> None:
    assert is_snake_case("2fa_enabled") and is_snake_case("checkout_started_v2")
    assert not is_snake_case("_checkout") and not is_snake_case("checkout__started")
    assert suggested_name("2FA_Enabled") == "'2fa_enabled'"
    assert suggested_name("orderV2Completed") == "'order_v2_completed'"
    assert suggested_name("checkoutStarted") == "'checkout_started'"
