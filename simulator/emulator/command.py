"""`segsim serve` (the local Customer.io emulator) and `segsim replay` (its call log)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from simulator.cli_paths import GivenPath, not_utf8_problem, shell_path

__all__ = ["replay", "serve"]

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Digits, dots and colons that `ipaddress` refused (999.1.1.1, 127.0.0.1.5): a mistyped address, not a name.
_ADDRESS_LIKE = re.compile(r"[0-9.:]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")
# A DNS host name (RFC 1123 labels): anything else is no address at all.
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


def _host_problem(host: str, allow_remote: bool) -> str | None:
    """What is wrong with `--host`: not an address at all, or (without
    --allow-remote) not a loopback one (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if not host.strip():
        return "--host is empty (an unset variable?): give a loopback address such as 127.0.0.1"
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    # A name is never looked up (that could leave this machine) and never counts as loopback but `localhost`.
    if address is None and (_ADDRESS_LIKE.fullmatch(host) or not _HOST_NAME.fullmatch(host)):
        return f"--host {host!r} is not a valid address: give an IP address such as 127.0.0.1 or ::1"
    if allow_remote or host in _LOOPBACK_HOSTS or (address is not None and address.is_loopback):
        return None
    if address is None:
        return (
            f"--host {host} is a host name, and only 127.0.0.1, ::1 or localhost are sure to keep the "
            "emulator on this machine: use one of them, or add --allow-remote if you mean it"
        )
    return (
        f"--host {host} is not a loopback address: it would expose the emulator beyond this machine; "
        "use 127.0.0.1, ::1 or localhost, or add --allow-remote if you mean it"
    )


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _log_problem(log: Path, clock: str) -> str | None:
    """What forbids serving with `--log`, found before anything is opened or
    written: a folder, a log another `serve` is writing, a log written on the
    other clock (resuming it would be wrong, not just different), a folder
    that cannot hold it."""
    from simulator.emulator.calllog import writer_pid, written_on_another_clock
    from simulator.fileout import special_file_kind

    if str(log) == "-":
        return "--log -: the call log is a file, not standard output: name one (--log calls.jsonl)"
    if log.is_dir():
        return f"--log {log}: a folder; name the call log file in it (such as {log / 'calls.jsonl'})"
    if log.exists() and not log.is_file():
        return f"--log {log}: not a regular file ({special_file_kind(log)}); name a file (--log calls.jsonl)"
    pid = writer_pid(log)
    if pid is not None:
        return _busy(log, pid)
    written_with = written_on_another_clock(log, clock)
    if written_with is not None:
        return (
            f"--log {log} was written with --clock {written_with}; "
            f"resume it with --clock {written_with} (or pass another --log)"
        )
    from simulator.fileout import OutputError, check_writable_folder

    try:  # the folders as every output's: made later if missing, a file in their way refused
        check_writable_folder(log.parent, (log.name,))
    except OutputError as exc:
        return f"--log {log}: {exc}; pass a --log you can write"
    if log.exists() and not os.access(log, os.W_OK):  # a log is appended to, not replaced
        return f"--log {log}: the file is not writable; pass a --log you can write"
    return None


def _busy(log: Path | str, pid: int | None) -> str:
    who = f" (pid {pid})" if pid is not None else ""
    return f"--log {log}: another segsim serve is writing this log{who}; stop it or pass another --log"


def _make_folders(log: Path) -> list[Path]:
    """Make the log's missing folders (as `report` and `fuzz` make theirs); the
    ones made, innermost first, so a start that fails can take them away."""
    folder = log.parent
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        _remove_folders(missing)
        raise
    return missing


def _remove_folders(made: list[Path]) -> None:
    for folder in made:  # innermost first; one something else filled stays
        try:
            folder.rmdir()
        except OSError:
            pass


def _problems(exc: Any) -> NoReturn:
    for problem in exc.problems:
        click.echo(problem.render(), err=True)
    sys.exit(2)


@click.command()
@click.option(
    "--workspace",
    "-w",
    "workspace",
    required=True,
    type=GivenPath(),
    help="The workspace file (segments, journeys).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback, or --allow-remote).")
@click.option("--port", "-p", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--site-id", default="segsim-site", show_default=True, help="Track API Basic auth user.")
@click.option("--api-key", default="segsim-key", show_default=True, help="Track API Basic auth password.")
@click.option("--write-key", default="segsim-write-key", show_default=True, help="Data Pipelines API key.")
@click.option(
    "--log",
    "log_path",
    default=None,
    type=GivenPath(),
    help="Append each accepted call to this JSON-lines file (resumes a log).",
)
@click.option("--fsync", is_flag=True, help="fsync the call log after every line (flushing is always done).")
@click.option("--clock", type=click.Choice(["wall", "manual"]), default="wall", show_default=True)
@click.option("--start", default=None, help="With --clock manual: the first instant (ISO-8601), default now.")
@click.option("--certfile", default=None, help="Serve HTTPS with this certificate (PEM).")
@click.option("--keyfile", default=None, help="The certificate's private key (PEM).")
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address (inspection stays loopback).")
def serve(
    workspace: str,
    host: str,
    port: int,
    site_id: str,
    api_key: str,
    write_key: str,
    log_path: str | None,
    fsync: bool,
    clock: str,
    start: str | None,
    certfile: str | None,
    keyfile: str | None,
    allow_remote: bool,
) -> None:
    """Serve a local Customer.io (Track API and Data Pipelines) backed by the workspace."""
    try:
        import uvicorn

        from simulator.emulator.app import Credentials, create_app, listening_socket
    except ImportError:
        _fail("segsim serve needs Starlette and uvicorn: pip install 'segsim[serve]'")
    from simulator.emulator.calllog import LogBusyError, LogError
    from simulator.emulator.clock import VirtualClock
    from simulator.emulator.session import EmulatorSession
    from simulator.model.time import LATEST_IN_FILES, format_instant, parse_instant
    from simulator.scenario.errors import InputError
    from simulator.scenario.files import workspace_file_problem

    for flag, value in (("--site-id", site_id), ("--api-key", api_key), ("--write-key", write_key)):
        if not value.strip():
            _fail(f"{flag} is empty: every client would then be let in; give a value (or leave the flag out)")
    problem = workspace_file_problem(Path(workspace))
    if problem is not None:
        _fail(f"--workspace {workspace}: {problem}")
    if log_path is not None and (not_text := not_utf8_problem(workspace)):  # the call log's header names it
        _fail(f"--workspace {not_text}")
    host_problem = _host_problem(host, allow_remote)
    if host_problem is not None:
        _fail(host_problem)
    if (certfile is None) != (keyfile is None):
        _fail("--certfile and --keyfile go together")
    for name, file in (("--certfile", certfile), ("--keyfile", keyfile)):
        if file is not None and not Path(file).is_file():
            _fail(f"{name} {file}: no such file")
    if certfile is not None and keyfile is not None:
        import ssl

        try:  # before anything is opened or written: a bad pair is refused, not a traceback
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
        except (ssl.SSLError, OSError) as exc:
            _fail(f"--certfile/--keyfile: expected a PEM certificate and its matching private key ({exc})")
    if start is not None and clock != "manual":
        _fail("--start sets the manual clock's first instant: add --clock manual")
    first: int | None = None
    if start is not None:
        try:
            # No later than a scenario file's start may be: `replay --to-scenario` writes one.
            first = parse_instant(start, LATEST_IN_FILES)
        except ValueError as exc:
            _fail(f"--start: {exc}")
    if log_path is not None:
        log_problem = _log_problem(Path(log_path), clock)
        if log_problem is not None:
            _fail(log_problem)
    the_clock = VirtualClock("manual" if clock == "manual" else "wall", first)
    try:  # before the call log is opened: a busy port leaves no session header behind
        sock = listening_socket(host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    try:
        made = _make_folders(Path(log_path)) if log_path is not None else []
    except OSError as exc:
        sock.close()
        where = Path(str(log_path)).parent
        _fail(f"--log {log_path}: cannot make its folder {where} ({exc.strerror or exc}); pass a --log you can write")
    try:
        session = EmulatorSession.open(workspace, the_clock, log_path, fsync=fsync)
    except (InputError, LogError, OSError) as exc:
        sock.close()
        _remove_folders(made)
        if isinstance(exc, InputError):
            _problems(exc)
        if isinstance(exc, LogBusyError):  # another serve took the lock since the check above
            _fail(_busy(log_path or exc.path, exc.pid))
        if isinstance(exc, LogError):
            _fail(f"{exc}; the call log was left untouched (give a new file to start a new session)")
        if log_path is not None and exc.filename is not None and Path(exc.filename) == Path(log_path):
            _fail(f"--log {log_path}: cannot open it ({exc.strerror or exc}); pass a --log you can write")
        _fail(str(exc))
    app = create_app(session, the_clock, Credentials(site_id, api_key, write_key))
    scheme = "https" if certfile else "http"
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL is bracketed
    base = f"{scheme}://{shown}:{sock.getsockname()[1]}"
    click.echo(f"segsim emulator for {workspace}, clock {clock}")
    click.echo(f"  Track API       {base}/api/v1   (Basic {site_id}:{api_key})")
    click.echo(f"  Data Pipelines  {base}/v1       (write key {write_key})")
    click.echo(f"  inspection      {base}/_segsim/profiles")
    if log_path:
        click.echo(f"  call log        {log_path}")
    resumed = session.resumed_from
    if resumed is not None:
        click.echo(
            f"  resumed         {len(resumed.records)} records replayed from {log_path}, "
            f"now {format_instant(session.platform.now)}"
        )
        if resumed.workspace is not None and resumed.workspace != str(Path(workspace).resolve()):
            click.echo(f"  warning         the log was written for {resumed.workspace}", err=True)
        if resumed.torn_line is not None:
            click.echo(
                f"  torn line       {log_path}:{resumed.torn_line} was cut short by a crash (never answered): skipped",
                err=True,
            )
    config = uvicorn.Config(
        app, log_level="warning", ssl_certfile=certfile, ssl_keyfile=keyfile, lifespan="off", access_log=False
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if session.log is not None:
            session.log.close()


@click.command()
@click.argument("log", type=GivenPath())
@click.option(
    "--workspace",
    "-w",
    "workspace",
    default=None,
    type=GivenPath(),
    help="The workspace (default: the one the log names).",
)
@click.option("--to-scenario", "scenario", default=None, help="Write a scenario skeleton to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the replayed trace as JSON.")
def replay(log: str, workspace: str | None, scenario: str | None, as_json: bool) -> None:
    """Replay a call log written by `segsim serve --log`: the same trace, or a scenario skeleton."""
    from simulator.emulator.calllog import LogError, read_log
    from simulator.emulator.replay import replay_log, scenario_skeleton, workspace_reference, write_skeleton
    from simulator.fileout import OutputError, check_not_an_input
    from simulator.model.time import format_offset
    from simulator.scenario.errors import InputError
    from simulator.scenario.files import workspace_file_problem
    from simulator.scenario.loader import load_workspace

    if scenario == "-":
        _fail("--to-scenario -: the skeleton is written to a file, not to standard output: name one (skel.yaml)")
    if scenario is not None:
        try:  # before anything runs: the skeleton must not replace the log or the workspace it is made of
            check_not_an_input(Path(scenario), [Path(log), *([Path(workspace)] if workspace else [])])
        except OutputError as exc:
            _fail(f"--to-scenario {exc}")
    try:
        session_log = read_log(log)
    except LogError as exc:
        _fail(str(exc))
    ws_path = workspace or session_log.workspace
    if ws_path is None:
        _fail(f"{log} names no workspace: pass --workspace FILE")
    unusable = workspace_file_problem(Path(ws_path))
    if unusable is not None:
        named = "--workspace" if workspace is not None else f"{log} names the workspace"
        _fail(f"{named} {ws_path}: {unusable} (pass --workspace FILE)")
    try:
        config, _ = load_workspace(ws_path)
    except InputError as exc:
        _problems(exc)
    try:
        session = replay_log(session_log, config)
    except LogError as exc:
        _fail(str(exc))
    if session_log.torn_line is not None:  # on stderr: with --json, stdout stays one JSON document
        click.echo(
            f"note: {log}:{session_log.torn_line} was cut short by a crash while it was written: that call was "
            "never answered, so it is left out",
            err=True,
        )
    if scenario is not None:
        if not_text := not_utf8_problem(ws_path):  # the skeleton's `workspace:` names it
            _fail(f"--to-scenario: the workspace {not_text}")
        target = Path(scenario)
        skeleton = scenario_skeleton(session, session_log, workspace_reference(Path(ws_path), target))
        document = skeleton.document
        try:
            check_not_an_input(target, [Path(ws_path)])  # the workspace the log names
            write_skeleton(skeleton, target)
        except OutputError as exc:
            _fail(str(exc))
        # With --json, stdout stays one JSON document and the note goes to stderr.
        click.echo(
            f"wrote {target}: {_count(len(document['shoppers']), 'shopper')}, "
            f"{_count(len(document['timeline']), 'step')} "
            f"(check it with: segsim check {shell_path(target)})",
            err=as_json,
        )
        if skeleton.left_out:
            left = _count(len(skeleton.left_out), "call")
            click.echo(f"note: left out {left} that no scenario step can say; the file's header lists them", err=True)
        if not as_json:
            return
    records = session.platform.trace.as_json_records()
    if as_json:
        click.echo(json.dumps(records, indent=1, default=str))
        return
    from simulator.report.story import printable

    pf = session.platform
    click.echo(
        f"{log}: {len(session_log.records)} records replayed; {len(pf.live_profiles())} profiles, "
        f"{len(pf.runs)} runs, {len(pf.messages)} messages, {len(records)} trace records"
    )
    for raw, record in zip(pf.trace.records, records, strict=True):
        details = " ".join(f"{k}={v}" for k, v in record.items() if k not in ("at", "offset", "kind"))
        click.echo(printable(f"{format_offset(raw['at'] - pf.start):>10}  {record['kind']:<22} {details}"))
