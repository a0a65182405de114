"""A synthetic population of shoppers, generated as ground-truth sends.

The behaviour model (`population.yaml`, shipped beside this module) describes
a D2C store's shoppers: sessions on a phone or a laptop, product views,
carts, checkouts, email capture at checkout, logins, device switches,
purchases a few minutes or hours later (or never), and repeat visits.

Shoppers are independent, so the population is generated in fixed-size
partitions: shopper `i` draws from its own generator seeded by (seed, i),
people's names come from Faker seeded per partition, and each partition is a
`Plan` replayed on its own. The same seed gives the same sends whatever the
number of workers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from simulator.model.calls import Send
from simulator.model.config import SourceConfig, WorkspaceConfig, builtin_source
from simulator.model.plan import Plan, ShopperIds
from simulator.model.time import parse_duration

__all__ = ["BehaviourModel", "Channels", "PARTITION_SIZE", "channels_of", "load_model", "partition_plan"]

# Shoppers per partition: fixed, because the per-source latency draws of a
# replay are seeded per partition (figures must not depend on `--workers`).
PARTITION_SIZE = 500


Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class BehaviourModel:
    events: dict[str, str]
    account_share: float
    guest_share: float
    login_at_session_start: float
    email_capture_delay: tuple[int, int]
    phone_share: float
    switch_device: float
    first_within: float
    gap_mean: int
    gap_min: int
    gap_after_purchase_mean: int
    return_rate: float
    max_sessions: int
    views: tuple[int, int]
    view_gap: tuple[int, int]
    cart_rate: float
    checkout_rate: float
    within_minutes: float
    minutes: tuple[int, int]
    within_hours: float
    hours: tuple[int, int]
    other_device: float
    categories: tuple[str, ...]
    price: Range
    currency: str


def _span(value: list[str]) -> tuple[int, int]:
    return (parse_duration(value[0]), parse_duration(value[1]))


def model_from(data: dict[str, Any]) -> BehaviourModel:
    ident, dev, ses, pur, cat = (data[k] for k in ("identity", "devices", "sessions", "purchase", "catalogue"))
    return BehaviourModel(
        events=dict(data["events"]),
        account_share=float(ident["account_share"]),
        guest_share=float(ident["guest_share"]),
        login_at_session_start=float(ident["login_at_session_start"]),
        email_capture_delay=_span(ident["email_capture_delay"]),
        phone_share=float(dev["phone_share"]),
        switch_device=float(dev["switch_device"]),
        first_within=float(ses["first_within"]),
        gap_mean=parse_duration(ses["gap_mean"]),
        gap_min=parse_duration(ses["gap_min"]),
        gap_after_purchase_mean=parse_duration(ses["gap_after_purchase_mean"]),
        return_rate=float(ses["return_rate"]),
        max_sessions=int(ses["max"]),
        views=(int(ses["views"][0]), int(ses["views"][1])),
        view_gap=_span(ses["view_gap"]),
        cart_rate=float(ses["cart_rate"]),
        checkout_rate=float(ses["checkout_rate"]),
        within_minutes=float(pur["within_minutes"]),
        minutes=_span(pur["minutes"]),
        within_hours=float(pur["within_hours"]),
        hours=_span(pur["hours"]),
        other_device=float(pur["other_device"]),
        categories=tuple(cat["categories"]),
        price=(float(cat["price"][0]), float(cat["price"][1])),
        currency=str(cat["currency"]),
    )


@lru_cache(maxsize=1)
def load_model() -> BehaviourModel:
    """The shipped behaviour model."""
    text = resources.files("simulator.whatif").joinpath("population.yaml").read_text(encoding="utf-8")
    return model_from(yaml.safe_load(text))


@dataclass(frozen=True, slots=True)
class Channels:
    """Which of the workspace's sources each kind of call goes through."""

    phone: SourceConfig
    laptop: SourceConfig
    server: SourceConfig


def channels_of(ws: WorkspaceConfig) -> Channels:
    clients = [s for s in ws.sources.values() if s.kind == "client"]
    servers = [s for s in ws.sources.values() if s.kind == "server"]

    # The declared sources of a kind (the team's ingestion reality); the
    # built-ins (`app`, `web`; `backend`) only for a kind it declares none of,
    # as the fuzz search does. A declared `app` (`web`) is the phone's (laptop's).
    def client(preferred: str, taken: SourceConfig | None) -> SourceConfig:
        named = ws.sources.get(preferred)
        if named is not None and named.kind == "client":
            return named
        if clients:
            others = [c for c in clients if c is not taken and c.name not in ("app", "web")]
            return others[0] if others else taken or clients[0]
        return builtin_source(preferred) or SourceConfig(preferred)

    server = ws.sources.get("backend")
    if server is None or server.kind != "server":
        server = servers[0] if servers else builtin_source("backend")
    assert server is not None
    phone = client("app", None)
    return Channels(phone, client("web", phone), server)


class _Device:
    __slots__ = ("anonymous_id", "identified_with", "name", "source")

    def __init__(self, shopper: str, name: str, source: SourceConfig) -> None:
        self.name = name
        self.source = source
        self.anonymous_id = f"anon-{shopper}-{name}"
        self.identified_with: tuple[str, str] | None = None


class _Story:
    """One shopper's sends, in the order they are written."""

    def __init__(self, m: BehaviourModel, ch: Channels, who: ShopperIds, rng: random.Random, end: int) -> None:
        self.m, self.ch, self.who, self.rng, self.end = m, ch, who, rng, end
        self.sends: list[Send] = []
        self.devices = {"phone": _Device(who.name, "phone", ch.phone), "laptop": _Device(who.name, "laptop", ch.laptop)}
        self.events = 0
        self.orders = 0
        self.checkouts = 0

    def _send(self, at: int, call: str, source: SourceConfig, device: _Device | None) -> Send | None:
        if at >= self.end:
            return None
        send = Send(seq=0, at=at, call=call, source=source.name, shopper=self.who.name)
        send.device = device.name if device is not None else None
        send.timestamp = at if source.timestamps == "sent" else None
        self.sends.append(send)
        return send

    def track(self, at: int, device: _Device, event: str, properties: dict[str, Any]) -> None:
        send = self._send(at, "track", device.source, device)
        if send is None:
            return
        send.name, send.properties = self.m.events[event], properties
        if device.identified_with is None:
            send.anonymous_id = device.anonymous_id
        elif device.identified_with[0] == "id":
            send.user_id = device.identified_with[1]
        else:
            send.email = device.identified_with[1]
        if device.source.event_ids:
            self.events += 1
            send.event_id = f"evt-{self.who.name}-{self.events}"

    def identify(self, at: int, device: _Device) -> None:
        if device.identified_with is not None or (self.who.id is None and self.who.email is None):
            return
        send = self._send(at, "identify", device.source, device)
        if send is None:
            return
        send.user_id, send.email, send.anonymous_id = self.who.id, self.who.email, device.anonymous_id
        device.identified_with = ("id", self.who.id) if self.who.id is not None else ("email", self.who.email or "")

    def order(self, at: int, checkout_id: str, value: float, category: str) -> None:
        server = self.ch.server
        send = self._send(at, "track", server, None)
        if send is None:
            return
        self.orders += 1
        order_id = f"o-{self.who.name}-{self.orders}"
        send.name = self.m.events["purchase"]
        send.properties = {
            "order_id": order_id,
            "checkout_id": checkout_id,
            "value": value,
            "items": [{"category": category}],
        }
        first, other = (self.who.id, self.who.email) if server.identify_by == "id" else (self.who.email, self.who.id)
        key = first if first is not None else other
        if key == self.who.id:
            send.user_id = key
        else:
            send.email = key
        if server.event_ids:
            send.event_id = order_id

    def uniform(self, span: tuple[int, int]) -> int:
        return self.rng.randint(span[0], span[1])

    def session(self, t: int, device: _Device) -> tuple[int, int | None]:
        """One visit from `t`; returns when it ended and when the shopper paid (if they did)."""
        m, rng = self.m, self.rng
        if self.who.id is not None and rng.random() < m.login_at_session_start:
            self.identify(t, device)
            t += rng.randint(5, 40)
        category = rng.choice(m.categories)
        price = round(rng.uniform(*m.price), 2)
        for n in range(rng.randint(*m.views)):
            product = f"p-{category[:3]}-{rng.randint(1, 60)}"
            self.track(t, device, "view", {"product_id": product, "category": category, "price": price})
            if n == 0 or rng.random() < 0.5:
                price = round(rng.uniform(*m.price), 2)
            t += self.uniform(m.view_gap)
        if rng.random() >= m.cart_rate:
            return t, None
        self.track(t, device, "cart", {"product_id": f"p-{category[:3]}-1", "category": category, "value": price})
        t += self.uniform(m.view_gap)
        if rng.random() >= m.checkout_rate:
            return t, None
        self.checkouts += 1
        checkout_id = f"ck-{self.who.name}-{self.checkouts}"
        self.track(t, device, "checkout", {"checkout_id": checkout_id, "value": price, "currency": m.currency})
        checkout_at = t
        if device.identified_with is None and (self.who.id is not None or self.who.email is not None):
            t += self.uniform(m.email_capture_delay)
            self.identify(t, device)
        if device.identified_with is None:
            return t, None  # no identifier given: the checkout is abandoned
        draw = rng.random()
        if draw < m.within_minutes:
            paid = max(checkout_at + self.uniform(m.minutes), t + 30)
            self.order(paid, checkout_id, price, category)
            return paid, paid
        if draw < m.within_minutes + m.within_hours:
            paid = checkout_at + self.uniform(m.hours)
            there = device
            if rng.random() < m.other_device:
                there = self.devices["laptop" if device.name == "phone" else "phone"]
            self.identify(paid - rng.randint(60, 240), there)
            self.track(
                paid - 50, there, "checkout", {"checkout_id": checkout_id, "value": price, "currency": m.currency}
            )
            self.order(paid, checkout_id, price, category)
            return t, paid
        return t, None

    def live(self, start: int, horizon: int) -> None:
        m, rng = self.m, self.rng
        t = start + int(rng.random() * m.first_within * horizon)
        device = self.devices["phone" if rng.random() < m.phone_share else "laptop"]
        for _ in range(m.max_sessions):
            if t >= self.end:
                return
            ended, paid = self.session(t, device)
            mean = m.gap_after_purchase_mean if paid is not None else m.gap_mean
            gap = max(m.gap_min, int(rng.expovariate(1.0 / mean)))
            t = max(ended, paid or 0) + gap
            if rng.random() >= m.return_rate:
                return
            if rng.random() < m.switch_device:
                device = self.devices["laptop" if device.name == "phone" else "phone"]


_FAKER: Any = None


def _faker() -> Any:
    global _FAKER
    if _FAKER is None:
        from faker import Faker

        _FAKER = Faker("en_US")
    return _FAKER


def _person(index: int, rng: random.Random, m: BehaviourModel, first: str, last: str) -> ShopperIds:
    name = f"s{index:06d}"
    kind = rng.random()
    email = f"{first}.{last}.{index}@example.com".lower().replace(" ", "").replace("'", "")
    if kind < m.account_share:
        return ShopperIds(name, id=f"cus_{index}", email=email)
    if kind < m.account_share + m.guest_share:
        return ShopperIds(name, email=email)
    return ShopperIds(name)


def partition_plan(
    ws: WorkspaceConfig,
    *,
    seed: int,
    partition: int,
    population: int,
    start: int,
    horizon: int,
    until: int,
    model: BehaviourModel | None = None,
) -> Plan:
    """Shoppers `partition*PARTITION_SIZE` up to `population`, as one `Plan` whose sends are the ground truth."""
    m = model or load_model()
    ch = channels_of(ws)
    fake = _faker()
    fake.seed_instance(f"segsim-whatif:{seed}:{partition}")
    first_index = partition * PARTITION_SIZE
    shoppers: dict[str, ShopperIds] = {}
    written: list[tuple[int, int, int, Send]] = []
    for index in range(first_index, min(population, first_index + PARTITION_SIZE)):
        rng = random.Random(f"segsim-whatif:{seed}:shopper:{index}")
        who = _person(index, rng, m, fake.first_name(), fake.last_name())
        story = _Story(m, ch, who, rng, start + horizon)
        story.live(start, horizon)
        devices = tuple(d for d in ("phone", "laptop") if any(s.device == d for s in story.sends))
        anon = tuple(story.devices[d].anonymous_id for d in devices)
        shoppers[who.name] = ShopperIds(who.name, who.id, who.email, anon, devices)
        written.extend((s.at, index, k, s) for k, s in enumerate(story.sends))
    written.sort(key=lambda w: (w[0], w[1], w[2]))
    sends = []
    for seq, (_at, _index, _k, send) in enumerate(written, start=1):
        send.seq = seq
        send.step = seq - 1
        sends.append(send)
    return Plan(
        name=f"population {partition}",
        file="<population>",
        start=start,
        seed=seed * 100_003 + partition,
        until=until,
        workspace=ws,
        shoppers=shoppers,
        sends=sends,
    )
