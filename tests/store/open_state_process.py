"""Run as a process by test_state_migrations: open a state file once told to, and print (as JSON)
every migration this process applied, as ``[component, version]`` pairs.

Usage: ``python -m tests.store.open_state_process DATABASE READY_FILE GO_FILE``. The process
touches READY_FILE once imported, then waits (up to 60 s) for GO_FILE, so that all processes
open the database at the same moment.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pipelines.sqlite_schema import STORE_COMPONENT, connection, migrate, numbered
from pipelines.store.migrations import migrations

from tests.legacy_state import STATE_COMPONENTS


def main(database: str, ready: str, go: str) -> None:
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.001)
    applied: list[tuple[str, int]] = []
    with connection(database) as conn:
        applied += [(STORE_COMPONENT, m.number) for m in migrate(conn, STORE_COMPONENT, migrations())]
        for component in STATE_COMPONENTS:
            scripts = numbered(component.component, component.migrations)
            applied += [(component.component, m.number) for m in migrate(conn, component.component, scripts)]
    print(json.dumps(applied))


if __name__ == "__main__":
    main(*sys.argv[1:4])
