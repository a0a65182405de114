"""`segsim fuzz WORKSPACE`: search for stories that break the invariants,
write one replayable scenario per distinct failure, and say what happened."""

from __future__ import annotations

import random
import shlex
import sys
from pathlib import Path
from typing import NoReturn

import click

from simulator.checks.violations import INVARIANTS
from simulator.cli_paths import GivenPath, given_once, shell_path
from simulator.scenario.errors import InputError, did_you_mean

__all__ = ["fuzz"]

_CHOICES = sorted(INVARIANTS) + ["all"]
_INVARIANT_OF = {kind: name for name, kind in INVARIANTS.items()}


def _earlier_witnesses(out: Path, written: set[str]) -> list[str]:
    """Scenario files in `out` this command did not write now: an earlier
    search's witnesses, renamed or not, which `segsim run` of the folder replays too."""
    from simulator.scenario.loader import is_scenario_file

    try:
        names = sorted(p.name for p in out.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return []
    return [n for n in names if n not in written and is_scenario_file(out / n)]


def _refuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command()
@click.argument("workspace", type=GivenPath(dir_okay=False, path_type=Path, text=True))
@click.option(
    "--journey",
    multiple=True,
    callback=given_once,
    help="Only violations of this journey (and split identities, which name none, when --invariant asks for them).",
)
@click.option(
    "--invariant",
    "invariants",
    multiple=True,
    help="Invariant to check (repeatable): " + ", ".join(_CHOICES) + ". Default: all.",
)
@click.option("--max-examples", default=200, show_default=True, type=int, help="Stories to try per search round.")
@click.option("--seed", default=None, type=int, help="Make the search reproducible (no example database).")
@click.option("--faults", is_flag=True, help="Add drops, duplicates, delays, skew, partial identifies, drifted names.")
@click.option(
    "--out", default="fuzz-out", show_default=True, type=GivenPath(file_okay=False, path_type=Path), help="Witnesses."
)
def fuzz(
    workspace: Path,
    journey: str | None,
    invariants: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    faults: bool,
    out: Path,
) -> None:
    """Let Hypothesis generate shoppers and stories against WORKSPACE, check the
    invariants, and write each distinct failure, shrunk, as a scenario file."""
    from simulator.scenario.files import workspace_file_problem
    from simulator.search.catalog import catalog_of
    from simulator.search.driver import FuzzOptions, search
    from simulator.search.witness import replay_pinned, write_outputs

    unusable = workspace_file_problem(workspace)
    if unusable is not None:
        _refuse(f"{workspace}: {unusable}")
    names: list[str] = []
    for name in invariants:
        if name == "all":
            continue
        if name not in INVARIANTS:
            hint = did_you_mean(name, _CHOICES)
            _refuse(f"--invariant {name!r} is not an invariant ({hint or 'expected one of: ' + ', '.join(_CHOICES)})")
        if name not in names:
            names.append(name)
    asked_all = "all" in invariants
    if asked_all:  # `all` with others is still all of them, split identities included under --journey
        names = []
    if max_examples < 1:
        _refuse(f"--max-examples must be at least 1, got {max_examples}")
    from simulator.fileout import OutputError, check_writable_folder

    try:
        if str(out) == "-":
            raise OutputError("-: witnesses are files in a folder, not standard output: name one (--out fuzz-out)")
        check_writable_folder(out)  # before the search, not after it
    except OutputError as exc:
        _refuse(f"--out {exc}")
    try:
        catalog = catalog_of(workspace)
    except InputError as exc:
        for problem in exc.problems:
            click.echo(problem.render(), err=True)
        sys.exit(2)
    journeys = [j.name for j in catalog.workspace.journeys]
    if journey is not None and journey not in journeys:
        _refuse(f"--journey {journey!r}: the workspace has no such journey ({did_you_mean(journey, journeys)})")
    seeded = seed is not None
    if seed is None:
        seed = random.SystemRandom().randrange(10**6)
    options = FuzzOptions(
        workspace,
        tuple(INVARIANTS) if asked_all else tuple(names),
        journey,
        max_examples,
        seed,
        faults,
        None if seeded else Path(".segsim") / "hypothesis",
    )
    what = ", ".join(names) if names else "all invariants"
    if journey:  # split identities name no journey: only an explicit `all` (or their own name) asks for them
        what += " (split identities included)" if asked_all else "" if names else " (split identities left out)"
    scope = f", journey {journey}" if journey else ""
    click.echo(f"segsim fuzz {workspace}: {what}{scope}, faults {'on' if faults else 'off'}")

    pinned_failures = pinned_invalid = 0
    for pinned in replay_pinned(options):
        if pinned.error:
            pinned_invalid += 1
            click.echo(f"  pinned {pinned.file}: invalid, not replayed (the error is on stderr)")
            click.echo(pinned.error, err=True)
            continue
        documented = f", {len(pinned.documented)} documented by its expectations" if pinned.documented else ""
        if not pinned.violations:
            click.echo(f"  pinned {pinned.file}: no undocumented violation{documented}")
            continue
        pinned_failures += len(pinned.violations)
        click.echo(f"  pinned {pinned.file}: {len(pinned.violations)} undocumented violation(s){documented}")
        for v in pinned.violations:
            click.echo(f"    {v.kind} in {v.journey or '-'} ({v.cause}): {v.explanation}")

    report = search(options, catalog)
    try:  # before the summary: what was found is on disk whatever happens to stdout
        witnesses, crash_paths = write_outputs(report, options, out)
    except OutputError as exc:
        _refuse(str(exc))
    count = len(report.findings)
    click.echo(
        f"ran {report.examples} examples in {report.rounds} round{'s' if report.rounds != 1 else ''} "
        f"(seed {seed}): {count} distinct failure{'s' if count != 1 else ''}"
        + (f", and {pinned_failures} undocumented violation(s) in shipped scenarios above" if pinned_failures else "")
        + (f"; {pinned_invalid} shipped scenario(s) invalid, not replayed (exit 2)" if pinned_invalid else "")
    )
    for finding, written in zip(report.findings, witnesses, strict=True):
        v = finding.violation
        click.echo("")
        where = v.journey or "any journey"
        click.echo(f"{_INVARIANT_OF[v.kind]}: {v.kind} in {where}, cause {v.cause} (shopper {v.who})")
        click.echo(f"  {v.explanation}")
        click.echo(f"  witness: {written.path} ({written.steps} step{'s' if written.steps != 1 else ''})")
        click.echo(f"  replay:  segsim run {shell_path(written.path)}")
        if not written.replays:
            click.echo(f"  warning: the witness does not replay as found: {written.problem}")
    for crash, path in zip(report.crashes, crash_paths, strict=True):
        click.echo("")
        click.echo(f"the simulator raised an error on a generated story: {path}")
        click.echo("  " + "\n  ".join(crash.error.strip().splitlines()[-3:]))
    earlier = _earlier_witnesses(
        Path(out), {Path(w.path).name for w in witnesses} | {Path(p).name for p in crash_paths}
    )
    if earlier:
        # Never deleted (they are the user's files now), but `segsim run` of the folder replays them too.
        click.echo("")
        click.echo(
            f"note: {out} also holds {len(earlier)} scenario file(s) this search did not write (an earlier "
            "search's witnesses?), which segsim run of the folder replays too: " + ", ".join(earlier)
        )
    click.echo("")
    click.echo(
        f"reproduce this search: segsim fuzz {shell_path(workspace)} --seed {seed} --max-examples {max_examples}"
        + f" --out {shell_path(out)}"
        + (" --faults" if faults else "")
        + (f" --journey {shlex.quote(journey)}" if journey else "")
        # `all` is the default, but under --journey it also asks for split identities
        + (" --invariant all" if asked_all and journey else "".join(f" --invariant {shlex.quote(n)}" for n in names))
    )
    if report.interrupted:
        click.echo(f"interrupted in round {report.rounds + 1}: the witnesses above are the rounds before's", err=True)
        sys.exit(130)
    # as `segsim run`: 2 when an input (a shipped scenario replayed) is invalid, else 1 on any failure
    sys.exit(2 if pinned_invalid else 1 if pinned_failures or report.findings or report.crashes else 0)
