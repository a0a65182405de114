"""`segsim report`: the page's structure, parsed back from the HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

WORKSPACE = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, cls: str | None = None, **data: str) -> list[dict[str, str]]:
        out = []
        for name, attrs in self.tags:
            if name != tag or (cls is not None and cls not in attrs.get("class", "").split()):
                continue
            if all(attrs.get(f"data-{k}") == v for k, v in data.items()):
                out.append(attrs)
        return out


def _report(tmp_path: Path, *args: str) -> tuple[int, str, _Page]:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", *args, "--out", str(out)])
    page = _Page()
    if out.exists():
        page.feed(out.read_text())
    return result.exit_code, result.output, page


@pytest.fixture(scope="module")
def page(suite: Path, tmp_path_factory: pytest.TempPathFactory) -> _Page:
    code, output, parsed = _report(tmp_path_factory.mktemp("page"), str(suite))
    assert code == 0, output
    assert "2 scenarios: 2 passed" in output
    return parsed


def test_one_section_per_scenario_and_one_swimlane_per_shopper(page: _Page) -> None:
    assert len(page.having("section", "scenario")) == 2
    lanes = [a["data-shopper"] for a in page.having("svg", "swimlane")]
    assert sorted(lanes) == ["ana", "ben", "cat"]
    assert len(page.having("h2")) >= 3


def test_sends_arrivals_profiles_memberships_runs_and_messages_are_drawn(page: _Page) -> None:
    assert len(page.having("circle", "send")) == 8
    assert len(page.having("rect", "arrival")) == 8
    assert len(page.having("line", "latency")) == 8
    assert page.having("rect", "profile")
    assert page.having("rect", "membership", segment="cart_abandoners")
    assert page.having("rect", "run", journey="cart_recovery")
    assert page.having("circle", "message", message="recovery_email_1")


def test_violations_are_marked_with_their_cause_on_the_right_lane(page: _Page) -> None:
    marks = page.having("path", "violation")
    assert [(m["data-kind"], m["data-cause"]) for m in marks] == [("ghost_abandon", "late_arrival")]
    lanes = {a["data-shopper"]: a["data-violations"] for a in page.having("div", "lane")}
    assert lanes == {"ana": "1", "ben": "0", "cat": "0"}


def test_journey_coverage_lists_what_was_reached_and_what_never_was(page: _Page) -> None:
    tables = [a["data-journey"] for a in page.having("table", "coverage")]
    assert "cart_recovery" in tables and "reactivation" in tables
    assert page.having("tr", "never") and page.having("tr", "reached")
    text = "".join(page.text)
    assert "send recovery_email_1" in text and "exit: goal" in text


def test_the_page_is_self_contained(page: _Page) -> None:
    for _tag, attrs in page.tags:
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith(("#", "data:")), attrs
    assert not page.having("link") and not [a for a in page.having("script") if "src" in a]


def test_the_whatif_heatmap_is_embedded_when_given(suite: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    rows = [
        {"segment": "s", "window": w, "latency_backend": b, "recall": r, "false_hold": f}
        for w, b, r, f in [("15m", "0s", 1.0, 0.0), ("15m", "batch:30m", 0.5, 0.1), ("1h", "0s", 1.0, 0.0)]
    ]
    (folder / "whatif.json").write_text(json.dumps({"parameters": {"segment": "s"}, "rows": rows}))
    code, output, page = _report(tmp_path, str(suite / "clean.yaml"), "--whatif", str(folder))
    assert code == 0, output
    heat = page.having("table", "heat")
    assert [t["data-figure"] for t in heat] == ["recall", "false_hold"]
    assert "n/a" in "".join(page.text)  # the (1h, batch:30m) cell was not swept


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, t: ["nowhere.yaml"], "no such file or folder"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "no-sweep")], "whatif.json: not found"),
        (lambda p, t: [str(p / "clean.yaml"), str(t / "broken.yaml")], "broken.yaml:4"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "no-window")], "rows[0] has no 'window'"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "text-recall")], "rows[0].recall is 'abc'"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "nan-recall")], "rows[0].recall is nan"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "huge-recall")], "rows[0].recall is 1e+308"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "negative-hold")], "false_hold is -5, expected a"),
        (lambda p, t: [str(p / "clean.yaml"), "--whatif", str(t / "bad-parameters")], "expected an object"),
    ],
)
def test_bad_inputs_exit_2_and_write_nothing(suite: Path, tmp_path: Path, make, message) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "broken.yaml").write_text(
        "scenario: broken\nshoppers: {ana: {}}\ntimeline:\n  - {at: soon, who: ana}\n"
    )
    documents = {
        "no-window": {"parameters": {}, "rows": [{"recall": 1.0}]},
        "text-recall": {"parameters": {}, "rows": [{"window": "1h", "recall": "abc"}]},
        "nan-recall": {"parameters": {}, "rows": [{"window": "1h", "recall": float("nan")}]},
        "huge-recall": {"parameters": {}, "rows": [{"window": "1h", "recall": 1e308}]},  # an OverflowError once
        "negative-hold": {"parameters": {}, "rows": [{"window": "1h", "recall": 1, "false_hold": -5}]},
        "bad-parameters": {"parameters": 5, "rows": []},
    }
    for name, document in documents.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "whatif.json").write_text(json.dumps(document))
    code, output, _page = _report(tmp_path, *make(suite, tmp_path))
    assert code == 2
    assert message in output
    assert not (tmp_path / "report.html").exists()
    assert "Traceback" not in output


def test_an_out_path_that_cannot_be_a_file_exits_2_before_running(suite: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(
        main, ["report", str(suite / "clean.yaml"), "--out", str(tmp_path / "afile" / "r.html")]
    )
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.output
    assert "Traceback" not in result.output


def test_the_page_goes_into_a_new_folder(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "r.html"
    result = CliRunner().invoke(main, ["report", str(suite / "clean.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!doctype html>") or out.read_text().lower().startswith("<!doctype html>")


def test_an_out_path_that_is_an_input_is_refused_and_left_alone(suite: Path, tmp_path: Path) -> None:
    """`--out` naming the scenario or the workspace it uses would replace it with HTML."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(Path(WORKSPACE).read_text())
    scenario = tmp_path / "clean.yaml"
    scenario.write_text((suite / "clean.yaml").read_text().replace(str(WORKSPACE), "ws.yaml"))
    for out in (scenario, workspace, tmp_path / "sub" / ".." / "ws.yaml"):
        before = scenario.read_text(), workspace.read_text()
        result = CliRunner().invoke(main, ["report", str(scenario), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "is also an input" in result.output and "no report written" in result.output
        assert (scenario.read_text(), workspace.read_text()) == before


def test_out_dash_is_refused_not_written_as_a_file_named_dash(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", str(suite / "clean.yaml"), "--out", "-"])
    assert result.exit_code == 2, result.output
    assert "not to standard output" in result.output
    assert not (tmp_path / "-").exists()


def test_out_over_the_sweep_it_shows_is_refused(suite: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "wo"
    sweep.mkdir()
    document = {"parameters": {"segment": "s"}, "rows": [{"window": "1h", "recall": 1, "false_hold": 0}]}
    (sweep / "whatif.json").write_text(json.dumps(document))
    before = (sweep / "whatif.json").read_text()
    args = ["report", str(suite / "clean.yaml"), "--whatif", str(sweep), "--out", str(sweep / "whatif.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "is also an input" in result.output, result.output
    assert (sweep / "whatif.json").read_text() == before
