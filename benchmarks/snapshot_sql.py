"""`cart_abandoners` at one instant, written by hand in SQL and run on DuckDB.

The baseline a data team would write against an events table: the
fixture's rule

    all:
      - {performed: checkout_started, within: 2h}
      - {not_performed: order_completed, after: checkout_started}

read at instant T over the events `(cio, name, ts, proc)` (SPEC section 6:
an event counts when its timestamp is at or before T; "later" compares
(timestamp, processing order); `after` restricts to events later than the
latest `checkout_started`). "Performed within 2h" holds exactly when the
latest `checkout_started` at or before T is stamped in (T - 2h, T].

DuckDB is the benchmark's optional extra (`pip install 'segsim[bench]'`);
the `simulator` package never imports it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

__all__ = ["CART_ABANDONERS_SQL", "EventRow", "SqlSnapshot", "cart_abandoners_sql"]

# (cio number, event name, timestamp, processing order)
EventRow = tuple[int, str, int, int]

CART_ABANDONERS_SQL = """
WITH visible AS (
    SELECT cio, name, ts, proc FROM events WHERE ts <= $now
),
last_checkout AS (
    SELECT cio, ts, proc FROM visible
    WHERE name = 'checkout_started'
    QUALIFY row_number() OVER (PARTITION BY cio ORDER BY ts DESC, proc DESC) = 1
)
SELECT c.cio
FROM last_checkout AS c
WHERE c.ts > $now - $window
  AND NOT EXISTS (
      SELECT 1 FROM visible AS o
      WHERE o.cio = c.cio
        AND o.name = 'order_completed'
        AND (o.ts > c.ts OR (o.ts = c.ts AND o.proc > c.proc))
  )
ORDER BY c.cio
"""


class SqlSnapshot:
    """The members found by the query, and what loading and querying cost."""

    __slots__ = ("load_s", "members", "query_s", "rows")

    def __init__(self, members: list[int], rows: int, load_s: float, query_s: float) -> None:
        self.members = members
        self.rows = rows
        self.load_s = load_s
        self.query_s = query_s


def cart_abandoners_sql(rows: Sequence[EventRow], now: int, window: int = 7200, repeat: int = 3) -> SqlSnapshot:
    """Load `rows` into an in-memory DuckDB table and run the query at `now`.

    The query time is the best of `repeat` runs (the first run also plans
    the query); loading is timed once.
    """
    import duckdb

    con: Any = duckdb.connect(":memory:")
    try:
        began = time.perf_counter()
        con.execute("CREATE TABLE events (cio INTEGER, name VARCHAR, ts BIGINT, proc BIGINT)")
        if rows:
            cios, names, stamps, procs = (list(column) for column in zip(*rows, strict=True))
            con.execute(
                "INSERT INTO events SELECT unnest($cio), unnest($name), unnest($ts), unnest($proc)",
                {"cio": cios, "name": names, "ts": stamps, "proc": procs},
            )
        load_s = time.perf_counter() - began
        best = float("inf")
        members: list[int] = []
        for _ in range(max(1, repeat)):
            began = time.perf_counter()
            found = con.execute(CART_ABANDONERS_SQL, {"now": now, "window": window}).fetchall()
            members = [int(row[0]) for row in found]
            best = min(best, time.perf_counter() - began)
        return SqlSnapshot(members, len(rows), load_s, best)
    finally:
        con.close()
