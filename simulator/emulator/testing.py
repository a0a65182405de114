"""`running_emulator()`: the emulator on a free loopback port, for tests.

    from simulator.emulator.testing import running_emulator

    with running_emulator("fixtures/workspaces/dtc_store.yaml") as emu:
        emu.track_client().identify("cus_1", email="ana@example.com")
        emu.analytics_client().track("cus_1", "checkout_started", {"value": 120})
        assert emu.inspect.get("/segments/cart_abandoners").json()["members"]

uvicorn serves in a background thread of the same process, so a test that
freezes time with freezegun freezes the emulator's clock too. The server's
event loop keeps the real monotonic clock, so it still answers while time
is frozen.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from simulator.model.time import LATEST_IN_FILES, parse_instant

from .app import Credentials, create_app, listening_socket
from .clock import ClockKind, VirtualClock
from .session import EmulatorSession

__all__ = ["EmulatorHandle", "InspectionError", "running_emulator"]


class InspectionError(LookupError):
    """An inspection call the emulator refused (an unknown segment, profile, ...), with its own words."""


def _real_clock() -> tuple[Callable[[], float], Callable[[float], None]]:
    """The real monotonic clock and sleep, even when imported while freezegun is active."""
    frozen = sys.modules.get("freezegun.api")
    monotonic = getattr(frozen, "real_monotonic", None) or time.monotonic
    return monotonic, time.sleep


# Kept inside a tuple: freezegun swaps every module-level reference to a real
# time function for its fake, and the server loop's timers must keep running.
_REAL = _real_clock()


@dataclass
class EmulatorHandle:
    """What a test needs to talk to a running emulator."""

    base_url: str
    site_id: str
    api_key: str
    write_key: str
    session: EmulatorSession
    clock: VirtualClock
    log_path: Path | None
    inspect: httpx.Client
    _clients: list[Any] = field(default_factory=list)
    workspace: str = ""  # the file served, named in errors (an empty one when the project has none)

    @property
    def track_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def pipelines_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def track_client(self, verify: str | bool | None = None) -> Any:
        """A `customerio.track.CustomerIO` pointed at this emulator (no retries)."""
        from customerio.track import CustomerIO

        client = CustomerIO(self.site_id, self.api_key, host="127.0.0.1", port=self.port, retries=0)
        if self.base_url.startswith("http://"):
            client.base_url = self.track_url  # the client builds https URLs; the emulator speaks plain http
        if verify is not None:
            client.http.verify = verify
            client.http.trust_env = False  # else REQUESTS_CA_BUNDLE would override `verify`
        self._clients.append(client)
        return client

    def analytics_client(self, **options: Any) -> Any:
        """A `customerio.analytics.Client` posting to this emulator, synchronously, without retries."""
        from customerio.analytics import Client

        settings: dict[str, Any] = {"host": self.base_url, "sync_mode": True, "max_retries": 0}
        settings.update(options)
        return Client(self.write_key, **settings)

    # Shortcuts over the inspection API.
    def _answer(self, response: httpx.Response) -> Any:
        """The JSON of an inspection answer; InspectionError with the emulator's own words when refused."""
        if response.is_client_error:
            try:
                said = str(response.json().get("message") or response.text)
            except ValueError:
                said = response.text
            what = f"{response.request.method} {response.request.url.path}"
            raise InspectionError(f"{what}: {response.status_code} {said} (serving {self.workspace})")
        response.raise_for_status()
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        """GET an inspection route: `get("/segments/s", at=...)` or `get("/segments/s?at=...")`."""
        route, _, query = path.partition("?")
        return self._answer(self.inspect.get(route, params={**dict(parse_qsl(query)), **params}))

    def advance(self, by: str) -> str:
        return str(self._answer(self.inspect.post("/advance", params={"by": by}))["now"])

    def reset(self) -> None:
        self._answer(self.inspect.post("/reset"))

    def members(self, segment: str) -> list[dict[str, Any]]:
        return list(self.get(f"/segments/{segment}")["members"])


def _check_log_clock(log: Path, clock: str) -> None:
    """As `segsim serve --log` refuses it: a log resumed on the other clock."""
    from .calllog import LogError, written_on_another_clock

    written_with = written_on_another_clock(log, clock)
    if written_with is not None:
        raise LogError(
            f"{log} was written with clock={written_with!r}; resume it with clock={written_with!r} "
            "(or pass another log)"
        )


@contextmanager
def running_emulator(
    workspace_path: Path | str,
    *,
    site_id: str = "segsim-site",
    api_key: str = "segsim-key",
    write_key: str = "segsim-write-key",
    log: Path | str | None = None,
    fsync: bool = False,
    clock: ClockKind = "wall",
    start: str | int | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> Iterator[EmulatorHandle]:
    """Serve the workspace on 127.0.0.1 at a free port until the block ends."""
    import uvicorn

    # No later than a scenario file's start may be: `replay --to-scenario` writes one.
    first = parse_instant(start, LATEST_IN_FILES) if isinstance(start, str) else start
    if log is not None:
        _check_log_clock(Path(log), clock)
    the_clock = VirtualClock(clock, first)
    session = EmulatorSession.open(workspace_path, the_clock, log, fsync=fsync)
    app = create_app(session, the_clock, Credentials(site_id, api_key, write_key))
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        loop.time = _REAL[0]  # type: ignore[method-assign]
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test thread below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name=f"segsim-emulator-{port}", daemon=True)
    thread.start()
    deadline = _REAL[0]() + 10.0
    while not server.started and thread.is_alive() and _REAL[0]() < deadline:
        _REAL[1](0.005)
    if not server.started:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        raise RuntimeError(f"the emulator did not start: {failure[0] if failure else 'timed out'}")
    scheme = "https" if certfile else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    inspector = httpx.Client(base_url=f"{base_url}/_segsim", timeout=10.0, verify=False if certfile else True)
    handle = EmulatorHandle(base_url, site_id, api_key, write_key, session, the_clock, None, inspector)
    handle.log_path = Path(log) if log is not None else None
    handle.workspace = str(workspace_path)
    try:
        yield handle
    finally:
        inspector.close()
        for client in handle._clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if session.log is not None:
            session.log.close()
