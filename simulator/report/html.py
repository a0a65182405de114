"""The suite as one self-contained HTML page (`segsim report`).

Inline CSS, a few lines of inline JavaScript and inline SVG; nothing is
fetched. The page shows:

- the scenario results (expectations failed, violations);
- per shopper of each scenario a swimlane timeline: sends and their
  arrivals (the latency drawn as a line), dropped calls, the profiles that
  held them and their merges, segment membership intervals, journey runs
  with their steps and messages, and violations marked with their cause;
- journey coverage across the suite: which steps, branches and exit reasons
  were reached, and which never were;
- the what-if heatmap of a `segsim whatif` output folder, when given.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from simulator.checks.expectations import ScenarioResult
from simulator.model.config import Branch, JourneyDef, SendStep, Step, Update, Wait, WaitUntil
from simulator.model.time import format_duration, format_instant, format_offset

__all__ = ["Coverage", "WhatifView", "load_whatif", "render_report"]

_LABEL_W, _PLOT_W, _ROW_H, _AXIS_H = 190, 880, 20, 22
_EXITS = ("goal", "stopped_matching", "completed", "merged", "open")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:18px 24px 60px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;margin:6px 0}
td,th{border:1px solid #d8dce3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}.pass{color:#17733a;font-weight:600}.fail{color:#b3261e;font-weight:600}
.never{background:#fdecea}.reached{background:#e9f6ee}
section.scenario{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:4px 14px 12px;margin:14px 0}
section.scenario>h3{cursor:pointer}section.scenario.collapsed .body{display:none}
.lane{margin:8px 0 14px}.lane h4{margin:4px 0;font-size:13px}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .rowlabel{fill:#555}
.send{fill:#3565c9}.arrival{fill:#19a0a0}.latency{stroke:#19a0a0;stroke-width:1.5}
.dropped{stroke:#b3261e;stroke-width:2}.ignored{fill:#999}
.profile{fill:#c9d6f2}.profile.anonymous{fill:#e6e6e6}.merge{fill:#7a4bc2}
.membership{fill:#f2b441}.run{fill:#cfe8d4}.run.goal{fill:#9fd6aa}.message{fill:#1f7a3a}
.step{stroke:#555;stroke-width:1}.break{stroke:#888;stroke-dasharray:4 3}.violation{fill:#d0302a}.axis{stroke:#bbb}
.failure{color:#b3261e}code{background:#f0f2f5;padding:0 3px}
.heat td.v{text-align:right;min-width:60px}.toolbar{margin:8px 0}
"""

_JS = """
document.querySelectorAll('section.scenario>h3').forEach(function(h){
  h.addEventListener('click',function(){h.parentElement.classList.toggle('collapsed');});});
var only=document.getElementById('only-violations');
if(only){only.addEventListener('change',function(){
  document.querySelectorAll('.lane').forEach(function(l){
    l.style.display=(only.checked&&l.dataset.violations==='0')?'none':'';});});}
"""


@dataclass
class WhatifView:
    parameters: dict[str, Any]
    rows: list[dict[str, Any]]
    png: bytes | None = None


def load_whatif(folder: Path) -> WhatifView:
    """Read a `segsim whatif` output folder; ValueError says what is missing."""
    import json

    path = folder / "whatif.json"
    if not path.is_file():
        raise ValueError(f"{path}: not found (run segsim whatif ... --out {folder} first)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: not a whatif.json written by segsim whatif ({type(exc).__name__})") from None
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("rows"), list)
        or not isinstance(document.get("parameters", {}), dict)
    ):
        raise ValueError(f"{path}: expected an object with 'parameters' and 'rows' (written by segsim whatif)")
    for i, row in enumerate(document["rows"]):
        if not isinstance(row, dict) or not isinstance(row.get("window"), str):
            raise ValueError(f"{path}: rows[{i}] has no 'window' (not a row written by segsim whatif)")
        for figure in ("recall", "false_hold"):
            value = row.get(figure)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
            ):
                raise ValueError(f"{path}: rows[{i}].{figure} is {value!r}, expected a share from 0 to 1, or null")
    png = folder / "whatif.png"
    return WhatifView(
        dict(document.get("parameters") or {}), document["rows"], png.read_bytes() if png.is_file() else None
    )


# ------------------------------------------------------------------ coverage


@dataclass
class Coverage:
    """Journey coverage across the suite: counts of what the runs reached."""

    journeys: dict[str, JourneyDef] = field(default_factory=dict)
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, res: ScenarioResult) -> None:
        for j in res.plan.workspace.journeys:
            self.journeys.setdefault(j.name, j)
            self.counts.setdefault(j.name, Counter())
        for r in res.outcome.platform.trace.records:
            name = r.get("journey")
            if name not in self.counts:
                continue
            c = self.counts[name]
            kind = r["kind"]
            if kind == "journey_entered":
                c["entered"] += 1
            elif kind == "message_sent":
                c[f"send {r['message']}"] += 1
            elif kind == "step":
                c[str(r["step"])] += 1
            elif kind == "journey_exited":
                c[f"exit {r['reason']}"] += 1
            elif kind == "journey_open":
                c["exit open"] += 1

    def items(self, name: str) -> list[tuple[str, int]]:
        """(what, times reached) for the journey's steps, branches and exit reasons, in journey order."""
        j, c = self.journeys[name], self.counts[name]
        out = [("entered", c["entered"])]
        out += _step_items(j.steps, c, 0)
        out += [(f"exit: {reason}", c[f"exit {reason}"]) for reason in _EXITS]
        return out


def _step_items(steps: tuple[Step, ...], c: Counter[str], depth: int) -> list[tuple[str, int]]:
    pad = "\u2003" * depth
    out: list[tuple[str, int]] = []
    for step in steps:
        if isinstance(step, Wait):
            out.append((f"{pad}wait {format_duration(step.seconds)}", c[f"wait {format_duration(step.seconds)}"]))
        elif isinstance(step, SendStep):
            out.append((f"{pad}send {step.message}", c[f"send {step.message}"]))
        elif isinstance(step, WaitUntil):
            out.append((f"{pad}wait_until met", c["wait_until met"] + c["wait_until already met"]))
            out += _step_items(step.then, c, depth + 1)
            out.append((f"{pad}wait_until max {format_duration(step.max)} reached", c["wait_until max reached"]))
        elif isinstance(step, Branch):
            out.append((f"{pad}branch then", c["branch then"]))
            out += _step_items(step.then, c, depth + 1)
            out.append((f"{pad}branch else", c["branch else"]))
            out += _step_items(step.else_, c, depth + 1)
        elif isinstance(step, Update):
            keys = ", ".join(k for k, _v in step.values)
            out.append((f"{pad}update {keys}", c["entered"]))
    return out


# ------------------------------------------------------------------ swimlanes


class _Axis:
    """Time to x. When the story's tail (long journey waits) dwarfs its calls, the calls get
    the first 80% of the width and the tail is compressed into the rest, behind a dashed break."""

    def __init__(self, t0: int, focus: int, t1: int) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 60)
        focus = max(min(focus, self.t1), t0 + 60)
        self.split = focus if self.t1 - t0 > 1.5 * (focus - t0) else None

    def x(self, t: int) -> float:
        t = min(max(t, self.t0), self.t1)
        if self.split is None:
            share = (t - self.t0) / (self.t1 - self.t0)
        elif t <= self.split:
            share = 0.8 * (t - self.t0) / (self.split - self.t0)
        else:
            share = 0.8 + 0.2 * (t - self.split) / (self.t1 - self.split)
        return round(_LABEL_W + share * _PLOT_W, 1)

    def ticks(self) -> list[int]:
        if self.split is None:
            return [self.t0 + (self.t1 - self.t0) * k // 5 for k in range(6)]
        return [self.t0 + (self.split - self.t0) * k // 4 for k in range(5)] + [self.t1]


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _swimlane(res: ScenarioResult, who: str, axis: _Axis, start: int) -> tuple[str, int]:
    """One shopper's lane as inline SVG, and how many violations it marks."""
    from simulator.whatif.metrics import memberships

    platform, plan, outcome = res.outcome.platform, res.plan, res.outcome
    t = lambda at: format_offset(at - start)  # noqa: E731
    rows: list[tuple[str, list[str]]] = []
    calls: list[str] = []
    dropped = {s.seq for s in outcome.dropped}
    for s in plan.sends:
        if s.shopper != who:
            continue
        what = s.name or s.call
        calls.append(
            f'<circle class="send" data-seq="{s.seq}" cx="{axis.x(s.at)}" cy="{{y}}" r="4">'
            + _title(f"{what} sent at {t(s.at)} from {s.source}" + (f" ({s.device})" if s.device else ""))
            + "</circle>"
        )
        if s.seq in dropped:
            x = axis.x(s.at)
            calls.append(
                f'<path class="dropped" d="M{x - 4},{{y0}} L{x + 4},{{y1}} M{x + 4},{{y0}} L{x - 4},{{y1}}">'
                + _title(f"{what} sent at {t(s.at)} was dropped: it never arrived")
                + "</path>"
            )
    for d in outcome.deliveries:
        if d.send.shopper != who:
            continue
        what = d.send.name or d.send.call
        x0, x1 = axis.x(d.send.at), axis.x(d.arrival)
        label = f"{what} arrived at {t(d.arrival)}, {format_duration(d.arrival - d.send.at)} after it was sent"
        if d.copy > 1:
            label += f" (copy {d.copy})"
        calls.append(f'<line class="latency" x1="{x0}" y1="{{y}}" x2="{x1}" y2="{{y}}">{_title(label)}</line>')
        calls.append(
            f'<rect class="arrival" data-seq="{d.send.seq}" x="{x1 - 3}" y="{{y3}}" width="6" height="6">'
            + _title(label)
            + "</rect>"
        )
    rows.append(("calls (sent \u2192 arrived)", calls))
    mine = [p for p in platform.profiles.values() if platform.owner(p) == who]
    for p in sorted(mine, key=lambda p: p.num):
        end = p.deleted_at if p.deleted_at is not None else outcome.end
        keys = ", ".join(k for k in (p.id, p.email, *p.anonymous_ids) if k)
        kind = "profile" if p.identified else "profile anonymous"
        shapes = [
            f'<rect class="{kind}" x="{axis.x(p.created)}" y="{{y2}}" height="12" '
            f'width="{max(2.0, axis.x(end) - axis.x(p.created))}">'
            + _title(f"{p.cio_id} ({keys}) from {t(p.created)}")
            + "</rect>"
        ]
        if p.merged_into is not None and p.deleted_at is not None:
            x = axis.x(p.deleted_at)
            shapes.append(
                f'<path class="merge" d="M{x},{{y0}} L{x + 5},{{y}} L{x},{{y1}} L{x - 5},{{y}} Z">'
                + _title(f"{p.cio_id} merged into cio_{p.merged_into} at {t(p.deleted_at)}")
                + "</path>"
            )
        rows.append((f"profile {p.cio_id}" + ("" if p.identified else " (anon)"), shapes))
    for seg in plan.workspace.segments:
        spans = memberships(platform, seg.name, outcome.end).get(who)
        if not spans:
            continue
        bars = [
            f'<rect class="membership" data-segment="{escape(seg.name)}" x="{axis.x(a)}" y="{{y2}}" height="12" '
            f'width="{max(2.0, axis.x(b) - axis.x(a))}">' + _title(f"in {seg.name} from {t(a)} to {t(b)}") + "</rect>"
            for a, b in spans
        ]
        rows.append((f"segment {seg.name}", bars))
    steps = [r for r in platform.trace.records if r["kind"] == "step" and r.get("who") == who]
    for r in (r for r in platform.runs if r.shopper == who):
        end = r.ended_at if r.ended_at is not None else outcome.end
        shapes = [
            f'<rect class="run {escape(r.reason)}" data-journey="{escape(r.journey.name)}" x="{axis.x(r.entered_at)}" '
            f'y="{{y2}}" height="12" width="{max(2.0, axis.x(end) - axis.x(r.entered_at))}">'
            + _title(f"{r.journey.name} run {r.num}: entered {t(r.entered_at)}, ended {r.reason} at {t(end)}")
            + "</rect>"
        ]
        for rec in (rec for rec in steps if rec.get("run") == r.num):
            x = axis.x(rec["at"])
            shapes.append(
                f'<line class="step" x1="{x}" y1="{{y0}}" x2="{x}" y2="{{y1}}">'
                + _title(f"{rec['step']} at {t(rec['at'])}")
                + "</line>"
            )
        for m in r.messages:
            shapes.append(
                f'<circle class="message" data-message="{escape(m.message)}" cx="{axis.x(m.at)}" cy="{{y}}" r="5">'
                + _title(f"sent {m.message} at {t(m.at)} to cio_{m.profile}")
                + "</circle>"
            )
        rows.append((f"{r.journey.name} #{r.num}", shapes))
    marks = [v for v in res.violations if v.who == who]
    if marks:
        shapes = []
        for v in marks:
            x = axis.x(v.at)
            shapes.append(
                f'<path class="violation" data-kind="{v.kind}" data-cause="{escape(v.cause)}" '
                f'd="M{x},{{y0}} L{x + 6},{{y1}} L{x - 6},{{y1}} Z">'
                + _title(f"{v.kind} ({v.cause}): {v.explanation}")
                + "</path>"
            )
            near_end = x > _LABEL_W + _PLOT_W - 90
            shapes.append(
                f'<text x="{x - 8 if near_end else x + 8}" y="{{yt}}" text-anchor="{"end" if near_end else "start"}" '
                f'class="violation-label">{escape(v.cause)}</text>'
            )
        rows.append(("violations", shapes))
    return _svg(rows, axis, start, who), len(marks)


def _svg(rows: list[tuple[str, list[str]]], axis: _Axis, start: int, who: str) -> str:
    height = _AXIS_H + _ROW_H * len(rows) + 4
    width = _LABEL_W + _PLOT_W + 20
    parts = [
        f'<svg class="swimlane" data-shopper="{escape(who)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
    ]
    ticks = axis.ticks()
    for k, at in enumerate(ticks):
        x = axis.x(at)
        parts.append(f'<line class="axis" x1="{x}" y1="{_AXIS_H - 4}" x2="{x}" y2="{height}"/>')
        anchor = "start" if k == 0 else "end" if k == len(ticks) - 1 else "middle"
        parts.append(f'<text x="{x}" y="12" text-anchor="{anchor}">{escape(format_offset(at - start))}</text>')
    if axis.split is not None:
        x = axis.x(axis.split)
        parts.append(
            f'<line class="break" x1="{x}" y1="0" x2="{x}" y2="{height}"><title>time compressed after '
            f"{escape(format_offset(axis.split - start))}</title></line>"
        )
    for i, (label, shapes) in enumerate(rows):
        y = _AXIS_H + _ROW_H * i + _ROW_H // 2
        parts.append(f'<text class="rowlabel" x="4" y="{y + 4}">{escape(label[:30])}</text>')
        fill = {"y": y, "y0": y - 6, "y1": y + 6, "y2": y - 6, "y3": y - 3, "yt": y + 4}
        parts.extend(shape.format(**fill) for shape in shapes)
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ the page


def _scenario(res: ScenarioResult, n: int) -> str:
    plan, outcome = res.plan, res.outcome
    status = "pass" if res.passed else "fail"
    t0 = min([plan.start] + [s.at for s in plan.sends])
    busy = [s.at for s in plan.sends] + [d.arrival for d in outcome.deliveries]
    busy += [v.at for v in res.violations if v.at < outcome.end]
    focus = max(busy, default=plan.start)
    axis = _Axis(t0, focus + max(300, (focus - t0) // 10), outcome.end)
    parts = [
        f'<section class="scenario" id="scenario-{n}" data-status="{status}">',
        f'<h3><span class="{status}">{status.upper()}</span> {escape(plan.name)} '
        f"<small><code>{escape(plan.file)}</code></small></h3>",
        '<div class="body">',
    ]
    if plan.description:
        parts.append(f"<p>{escape(plan.description)}</p>")
    parts.append(
        f"<p>start {format_instant(plan.start)}, end {format_offset(outcome.end - plan.start)}; "
        f"{len(res.results)} expectations, {len(res.failures)} failed; {len(res.violations)} violations</p>"
    )
    if res.failures:
        parts.append('<ul class="failures">')
        for f in res.failures:
            parts.append(
                f'<li class="failure"><code>{escape(f.expect.source_text)}</code> (line {f.expect.line}): '
                f"expected {escape(f.expected)}; actual {escape(f.actual)}</li>"
            )
        parts.append("</ul>")
    if res.violations:
        parts.append(
            "<table><tr><th>violation</th><th>who</th><th>journey</th><th>cause</th><th>at</th>"
            "<th>explanation</th></tr>"
        )
        for v in res.violations:
            where = (v.journey or "") + (f"/{v.message}" if v.message else "")
            parts.append(
                f"<tr><td>{v.kind}</td><td>{escape(v.who)}</td><td>{escape(where)}</td><td>{escape(v.cause)}</td>"
                f"<td>{format_offset(v.at - plan.start)}</td><td>{escape(v.explanation)}</td></tr>"
            )
        parts.append("</table>")
    for who in plan.shoppers:
        svg, marked = _swimlane(res, who, axis, plan.start)
        parts.append(
            f'<div class="lane" data-shopper="{escape(who)}" data-violations="{marked}"><h4>{escape(who)}</h4>'
            f"{svg}</div>"
        )
    parts.append("</div></section>")
    return "\n".join(parts)


def _coverage(cov: Coverage) -> str:
    if not cov.journeys:
        return "<p>No journeys in these workspaces.</p>"
    parts = []
    for name in cov.journeys:
        items = cov.items(name)
        never = sum(1 for _what, n in items if n == 0)
        parts.append(f"<h3>{escape(name)} <small>({never} of {len(items)} never reached)</small></h3>")
        parts.append(
            f'<table class="coverage" data-journey="{escape(name)}"><tr><th>step, branch or exit</th>'
            "<th>times reached</th></tr>"
        )
        for what, n in items:
            cls = "never" if n == 0 else "reached"
            parts.append(f'<tr class="{cls}"><td>{escape(what)}</td><td>{n}</td></tr>')
        parts.append("</table>")
    return "\n".join(parts)


def _heat_colour(value: float | None, good_high: bool) -> str:
    if value is None:
        return "#eeeeee"
    v = value if good_high else 1.0 - value
    red, green = int(230 - 120 * v), int(120 + 100 * v)
    return f"rgb({red},{green},120)"


def _whatif(view: WhatifView) -> str:
    from simulator.whatif.heatmap import heat_table

    p = view.parameters
    parts = [
        f"<p>segment <code>{escape(str(p.get('segment', '?')))}</code>, {escape(str(p.get('population', '?')))} "
        f"shoppers over {escape(str(p.get('horizon', '?')))}, seed {escape(str(p.get('seed', '?')))}</p>"
    ]
    for figure, good_high in (("recall", True), ("false_hold", False)):
        windows, columns, values = heat_table(view.rows, figure)
        parts.append(f'<h3>{figure.replace("_", " ")}</h3><table class="heat" data-figure="{figure}">')
        parts.append("<tr><th>window</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>")
        for w, line in zip(windows, values, strict=True):
            cells = "".join(
                f'<td class="v" style="background:{_heat_colour(v, good_high)}">{"n/a" if v is None else f"{v:.3f}"}'
                "</td>"
                for v in line
            )
            parts.append(f"<tr><th>{escape(str(w))}</th>{cells}</tr>")
        parts.append("</table>")
    if view.png is not None:
        data = base64.b64encode(view.png).decode("ascii")
        parts.append(f'<img alt="what-if heatmap" style="max-width:100%" src="data:image/png;base64,{data}">')
    return "\n".join(parts)


def render_report(results: list[ScenarioResult], whatif: WhatifView | None = None, title: str = "segsim report") -> str:
    coverage = Coverage()
    for res in results:
        coverage.add(res)
    passed = sum(1 for r in results if r.passed)
    violations = sum(len(r.violations) for r in results)
    rows = "".join(
        f'<tr><td><a href="#scenario-{n}">{escape(r.plan.name)}</a></td>'
        f'<td class="{"pass" if r.passed else "fail"}">{"PASS" if r.passed else "FAIL"}</td>'
        f"<td>{len(r.results) - len(r.failures)}/{len(r.results)}</td><td>{len(r.violations)}</td>"
        f"<td>{', '.join(sorted({f'{v.kind} ({v.cause})' for v in r.violations})) or '-'}</td></tr>"
        for n, r in enumerate(results)
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p id="summary">{len(results)} scenarios: {passed} passed, {len(results) - passed} failed; '
        f"{violations} violations</p>",
        '<h2 id="results">Scenario results</h2>',
        "<table><tr><th>scenario</th><th>result</th><th>expectations met</th><th>violations</th><th>kinds</th></tr>"
        f"{rows}</table>",
        '<h2 id="timelines">Shopper timelines</h2>',
        '<p class="toolbar"><label><input type="checkbox" id="only-violations"> only shoppers with violations'
        "</label> (hover any mark for details; click a scenario title to fold it)</p>",
    ]
    body += [_scenario(res, n) for n, res in enumerate(results)]
    body += ['<h2 id="coverage">Journey coverage</h2>', _coverage(coverage)]
    if whatif is not None:
        body += ['<h2 id="whatif">What-if sweep</h2>', _whatif(whatif)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(body)
        + f"\n</main><script>{_JS}</script></body></html>\n"
    )
