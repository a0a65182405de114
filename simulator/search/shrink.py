"""Shrink one failure's story on its own, for its own (violation, journey, cause).

Hypothesis shrinks the failures of a search round together, under one budget
of successful shrinks for the whole run (500), smallest failure first: in a
round that finds a dozen distinct failures, the last ones come back as first
found, with other shoppers' steps, faults and a scenario seed that play no
part in them. So the driver shrinks every finding again here, greedily and
on its own: drop shoppers, drop steps, drop a step's faults, move steps to
the phone, zero the seed, start at `0s` and shorten the gaps, name the
shoppers ana, ben, ... in the order they appear; each change is kept only while the story still shows a
violation with the finding's key. The same story and key always give the
same witness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from simulator.checks.violations import Violation
from simulator.model.time import format_duration, is_duration, parse_duration
from simulator.search.stories import DEVICES, GAPS, SHOPPER_NAMES

__all__ = ["Judge", "shrink_story"]

# A story's violations, or None when the engine will not run it.
Judge = Callable[[dict[str, Any]], list[Violation] | None]
Key = tuple[str, str, str]

# Stories tried per finding: a witness of a dozen steps settles in far fewer.
_BUDGET = 400
# Round gaps, the plainest first (as the stories draw them: `5m` before `1m`).
_ROUND_GAPS = tuple(parse_duration(g) for g in GAPS)
# What a step may carry besides its call (delivery overrides, the faults among
# them, and a logout); each is tried away.
_EXTRAS = ("copies", "latency", "timestamp", "reset", "drop")


def shrink_story(
    story: dict[str, Any], key: Key, judge: Judge, budget: int = _BUDGET
) -> tuple[dict[str, Any], Violation | None]:
    """The smallest story this greedy search reaches from `story` that still
    shows a violation with `key`, and that violation (None, with `story`
    unchanged, when `story` itself does not show one)."""
    return _Shrinker(key, judge, budget).run(story)


class _Shrinker:
    def __init__(self, key: Key, judge: Judge, budget: int) -> None:
        self.key = key
        self.judge = judge
        self.budget = budget
        self.best: dict[str, Any] = {}
        self.violation: Violation | None = None

    def run(self, story: dict[str, Any]) -> tuple[dict[str, Any], Violation | None]:
        self.best = story
        if not self.attempt(story):
            return story, None
        passes = (
            self.drop_shoppers,
            self.drop_steps,
            self.plainer_steps,
            self.one_device,
            self.zero_seed,
            self.times,
            self.names,
        )
        changed = True
        while changed and self.budget > 0:
            changed = False
            for one in passes:
                changed = one() or changed
        return self.best, self.violation

    def attempt(self, story: dict[str, Any]) -> bool:
        """Keep `story` when it still shows the key's violation."""
        if self.budget <= 0:
            return False
        self.budget -= 1
        for v in self.judge(story) or ():
            if (v.kind, v.journey or "", v.cause) == self.key:
                self.best, self.violation = story, v
                return True
        return False

    def with_timeline(
        self, timeline: list[dict[str, Any]], shoppers: dict[str, dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """The best story with another timeline, listing only the shoppers it names."""
        named = {step["who"] for step in timeline}
        known = self.best["shoppers"] if shoppers is None else shoppers
        kept = {name: ids for name, ids in known.items() if name in named}
        return {**self.best, "shoppers": kept, "timeline": timeline}

    # -- the passes: each returns whether it kept a change ----------------------

    def drop_shoppers(self) -> bool:
        changed = False
        for name in list(self.best["shoppers"]):
            rest = [step for step in self.best["timeline"] if step["who"] != name]
            if rest and self.attempt(self.with_timeline(rest)):
                changed = True
        return changed

    def drop_steps(self) -> bool:
        """Chunks of steps, halving: a whole unrelated half goes in one try."""
        changed = False
        size = max(1, len(self.best["timeline"]) // 2)
        while size >= 1:
            i = 0
            while i < len(self.best["timeline"]) and len(self.best["timeline"]) > 1:
                steps = self.best["timeline"]
                rest = steps[:i] + steps[i + size :]
                if rest and self.attempt(self.with_timeline(rest)):
                    changed = True  # the next chunk now starts at i
                else:
                    i += size
            size //= 2
        return changed

    def plainer_steps(self) -> bool:
        changed = False
        for i in range(len(self.best["timeline"])):
            for plainer in _plainer(self.best["timeline"][i]):
                steps = list(self.best["timeline"])
                steps[i] = plainer
                if self.attempt(self.with_timeline(steps)):
                    changed = True
        return changed

    def one_device(self) -> bool:
        """Every device step on the phone (a step at a time may not do: a login
        and the order that follows it must move together)."""
        steps = self.best["timeline"]
        if all(step.get("device", DEVICES[0]) == DEVICES[0] for step in steps):
            return False
        moved = [{**step, "device": DEVICES[0]} if "device" in step else step for step in steps]
        return self.attempt(self.with_timeline(moved))

    def zero_seed(self) -> bool:
        return self.best.get("seed", 0) != 0 and self.attempt({**self.best, "seed": 0})

    def times(self) -> bool:
        """The story starts at `0s`; each gap becomes the plainest round gap
        that still shows the failure, never a longer one."""
        changed = False
        first = _seconds(self.best["timeline"][0]["at"])
        if first > 0 and self.attempt(self.with_timeline(_shifted(self.best["timeline"], 0, -first))):
            changed = True
        for k in range(1, len(self.best["timeline"])):
            steps = self.best["timeline"]
            gap = _seconds(steps[k]["at"]) - _seconds(steps[k - 1]["at"])
            for shorter in _plainer_gaps(gap):
                if self.attempt(self.with_timeline(_shifted(steps, k, shorter - gap))):
                    changed = True
                    break
        return changed

    def names(self) -> bool:
        """ana, ben, ... in the order the shoppers first appear, with the
        identifiers the stories give them (`cus_1`, `ana@example.com`)."""
        order = list(dict.fromkeys(step["who"] for step in self.best["timeline"]))
        new = {old: SHOPPER_NAMES[i] for i, old in enumerate(order) if i < len(SHOPPER_NAMES)}
        shoppers: dict[str, dict[str, str]] = {}
        for i, old in enumerate(order):
            ids = self.best["shoppers"][old]
            name = new.get(old, old)
            shoppers[name] = {}
            if "id" in ids:
                shoppers[name]["id"] = f"cus_{i + 1}"
            if "email" in ids:
                shoppers[name]["email"] = f"{name}@example.com"
        timeline = [{**step, "who": new.get(step["who"], step["who"])} for step in self.best["timeline"]]
        if shoppers == {n: self.best["shoppers"][n] for n in order}:
            return False
        return self.attempt(self.with_timeline(timeline, shoppers=shoppers))


def _plainer(step: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`step` with one fault or oddity fewer, plainest first."""
    for extra in _EXTRAS:
        if extra in step:
            yield {k: v for k, v in step.items() if k != extra}
    if isinstance(step.get("copies"), int) and step["copies"] > 2:
        yield {**step, "copies": 2}
    if isinstance(step.get("identify"), dict):
        yield {**step, "identify": True}
    if "device" in step and step["device"] != DEVICES[0]:
        yield {**step, "device": DEVICES[0]}


def _plainer_gaps(gap: int) -> list[int]:
    """Round gaps shorter than `gap` and, when `gap` is round, before it in the plain order."""
    rank = _ROUND_GAPS.index(gap) if gap in _ROUND_GAPS else len(_ROUND_GAPS)
    return [g for g in _ROUND_GAPS[:rank] if g < gap]


def _seconds(text: str) -> int:
    return parse_duration(text)


def _shifted(steps: list[dict[str, Any]], start: int, by: int) -> list[dict[str, Any]]:
    """Steps `start` and later moved by `by` seconds, each with its own
    timestamp (a clock skew stays the same skew)."""
    out = steps[:start]
    for step in steps[start:]:
        moved = {**step, "at": format_duration(_seconds(step["at"]) + by)}
        stamp = step.get("timestamp")
        if isinstance(stamp, str) and is_duration(stamp):
            moved["timestamp"] = format_duration(max(0, _seconds(stamp) + by))
        out.append(moved)
    return out
