"""The local Customer.io emulator: an HTTP front door to the platform.

It accepts the Track API (`/api/v1`, `/api/v2`) and Data Pipelines API
(`/v1`) calls the official clients send, turns each into the platform's
calls on a virtual clock, appends them to a JSON-lines call log, and lets
tests read profiles, segments, runs and messages back under `/_segsim/`.

    protocol      limits, errors, identifier and timestamp parsing
    clock         the virtual clock (wall, frozen by freezegun, manual)
    calllog       the append-only call log, written before each answer
    session       one Platform plus what the engine does not model
    track_api     Track API v1/v2 requests -> log operations
    pipelines_api Data Pipelines requests -> log operations
    inspect_api   the `/_segsim/` inspection routes
    app           the ASGI application (Starlette)
    replay        a call log -> the same trace, or a scenario skeleton
    testing       `running_emulator()`: a server on a free port for tests
    command       `segsim serve` and `segsim replay`

Starlette and uvicorn (the `serve` extra) are imported only by `app`,
`testing` and `command`.
"""

from __future__ import annotations

__all__: list[str] = []
