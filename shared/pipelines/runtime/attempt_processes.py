"""Which processes run each step attempt, kept in the state database beside the store.

A driver records a process here the moment a runner starts it and forgets the attempt's
processes once the runner returned. A record still present therefore names a process whose
driver died mid-step; the next driver (``resume``, ``stop``, a restarted ``pipelines serve``)
ends it before the engine decides what the step's next attempt is, so an orphan never runs
beside a new attempt (see :mod:`pipelines.runners.processes` for how processes are identified
and ended). Records are per attempt, so one attempt may hold several processes (a tuning step's
training jobs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipelines.runners.processes import ProcessIdentity
from pipelines.sqlite_schema import SqliteComponent, connection, transaction

COMPONENT = "attempt_processes"

_MIGRATIONS = (
    """
    CREATE TABLE attempt_processes (
        execution_id TEXT NOT NULL,
        step_name TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (execution_id, step_name, attempt, pid)
    );
    """,
)


@dataclass(frozen=True)
class AttemptProcess:
    execution_id: str
    step_name: str
    attempt: int
    identity: ProcessIdentity


class AttemptProcesses(SqliteComponent):
    component = COMPONENT
    migrations = _MIGRATIONS

    def record(self, execution_id: str, step_name: str, attempt: int, identity: ProcessIdentity) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO attempt_processes "
                "(execution_id, step_name, attempt, pid, start_time, boot_id, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    execution_id,
                    step_name,
                    attempt,
                    identity.pid,
                    identity.start_time,
                    identity.boot_id,
                    time.time(),
                ),
            )

    def forget(self, execution_id: str, step_name: str, attempt: int) -> None:
        """The attempt's runner returned: every process it started has ended."""
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "DELETE FROM attempt_processes WHERE execution_id = ? AND step_name = ? AND attempt = ?",
                (execution_id, step_name, attempt),
            )

    def forget_process(self, process: AttemptProcess) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "DELETE FROM attempt_processes WHERE execution_id = ? AND step_name = ? AND attempt = ? "
                "AND pid = ?",
                (process.execution_id, process.step_name, process.attempt, process.identity.pid),
            )

    def of_execution(self, execution_id: str) -> list[AttemptProcess]:
        with connection(self.database_path) as conn:
            rows = conn.execute(
                "SELECT step_name, attempt, pid, start_time, boot_id FROM attempt_processes "
                "WHERE execution_id = ? ORDER BY recorded_at",
                (execution_id,),
            ).fetchall()
        return [
            AttemptProcess(
                execution_id=execution_id,
                step_name=row["step_name"],
                attempt=int(row["attempt"]),
                identity=ProcessIdentity(
                    pid=int(row["pid"]), start_time=int(row["start_time"]), boot_id=row["boot_id"]
                ),
            )
            for row in rows
        ]
