"""Endpoint configs and endpoints of the embedded runtime, in the state database.

Records are the DescribeEndpointConfig / DescribeEndpoint responses (stored as JSON beside the
columns we query by), so the Endpoint step's properties, ``pipelines endpoints`` and the API
read the same thing. Beside its record an endpoint keeps where it is served: the process that
hosts it (``pipelines serve`` or a ``pipelines run``, by :class:`ProcessIdentity`) and, per
variant, the model server's port and process. Every process (a run, the server, the CLI) opens
its own connections, and changes are conditional on what the writer read.

As with the service, endpoint names are unique case-insensitively, and unknown names answer
ValidationException (the ``EndpointInService`` waiter stops on it; ``EndpointDeleted`` succeeds
on it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.engine.ids import sagemaker_arn
from pipelines.errors import ValidationError
from pipelines.registry.shapes import output_members, project, structure_members, validate_request
from pipelines.runners.processes import ProcessIdentity
from pipelines.sqlite_schema import AccountComponent, connection, transaction

COMPONENT = "hosting"

_MIGRATIONS = (
    """
    CREATE TABLE endpoint_configs (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE endpoints (
        name_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL,
        serving TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    """,
)


class EndpointNotFound(ValidationError):
    """No endpoint (config) of that name; the API answers ValidationException, as SageMaker does."""


class EndpointConflict(ValidationError):
    """The endpoint (config) exists already, or is in a state that refuses the change."""


class EndpointChanged(ValidationError):
    """Someone else changed the endpoint between this writer's read and its write."""


def now() -> datetime:
    return datetime.now(UTC)


_TIME = "$time"  # how a datetime is kept in a record's JSON, at any depth


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _encode_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_TIME: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode_time(value: dict[str, Any]) -> Any:
    return datetime.fromisoformat(value[_TIME]) if set(value) == {_TIME} else value


@dataclass
class VariantProcess:
    """One production variant's model server: its port and the process serving it."""

    variant_name: str
    model_name: str
    port: int
    weight: float = 1.0
    process: ProcessIdentity | None = None
    log_path: str | None = None  # the model server's output (job.log in its folder)


@dataclass
class Serving:
    """Who hosts an endpoint and where its variants listen (nothing while it is not served)."""

    host: ProcessIdentity | None = None
    variants: list[VariantProcess] = field(default_factory=list)
    token: str | None = None  # the EndpointHost (one process may have several, one after another)
    # the endpoint config it serves, as it was: the config may be deleted while in use, as the
    # service allows (the SDK's delete_endpoint() deletes the config first)
    config: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_encode_time)

    @classmethod
    def from_json(cls, text: str) -> Serving:
        data = json.loads(text, object_hook=_decode_time)
        host = ProcessIdentity(**data["host"]) if data.get("host") else None
        variants = [
            VariantProcess(
                **{
                    **v,
                    "process": ProcessIdentity(**v["process"]) if v.get("process") else None,
                }
            )
            for v in data.get("variants", [])
        ]
        return cls(host=host, variants=variants, token=data.get("token"), config=data.get("config"))


@dataclass
class EndpointRow:
    name: str
    status: str
    record: dict[str, Any]
    serving: Serving
    version: int


def dump_record(record: Mapping[str, Any]) -> str:
    return json.dumps(dict(record), default=_encode_time)


def load_record(text: str) -> dict[str, Any]:
    return dict(json.loads(text, object_hook=_decode_time))


class EndpointRecords(AccountComponent):
    """Thread- and process-safe: every call opens its own connection; writes take the write lock."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def arn(self, resource: str, name: str) -> str:
        return sagemaker_arn(self.region, self.account_id, resource, name)

    # -- endpoint configs ---------------------------------------------------------------------

    def create_config(self, request: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """CreateEndpointConfig; returns (DescribeEndpointConfig response, created). A config
        that exists with the same request is returned as it is (created False): the attempt that
        made it was interrupted, or a pipeline step runs again; a different one is refused."""
        validate_request("CreateEndpointConfig", request)
        name = str(request["EndpointConfigName"])
        record = project(request, output_members("DescribeEndpointConfig"))
        record.update(EndpointConfigArn=self.arn("endpoint-config", name), CreationTime=now())
        with connection(self.database_path) as conn, transaction(conn):
            row = conn.execute("SELECT record FROM endpoint_configs WHERE name = ?", (name,)).fetchone()
            if row is not None:
                existing = load_record(row["record"])
                same = {k: v for k, v in existing.items() if k not in ("EndpointConfigArn", "CreationTime")}
                wanted = {k: v for k, v in record.items() if k not in ("EndpointConfigArn", "CreationTime")}
                if json.loads(dump_record(same)) == json.loads(dump_record(wanted)):
                    return existing, False
                raise EndpointConflict(
                    f'Cannot create already existing endpoint configuration "{record["EndpointConfigArn"]}".'
                )
            conn.execute(
                "INSERT INTO endpoint_configs (name, created_at, record) VALUES (?, ?, ?)",
                (name, _iso(record["CreationTime"]), dump_record(record)),
            )
        return record, True

    def describe_config(self, name: str) -> dict[str, Any]:
        with connection(self.database_path) as conn:
            row = conn.execute("SELECT record FROM endpoint_configs WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise EndpointNotFound(
                f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".'
            )
        return load_record(row["record"])

    def list_configs(self) -> list[dict[str, Any]]:
        """EndpointConfigSummary entries, newest first."""
        with connection(self.database_path) as conn:
            rows = conn.execute(
                "SELECT record FROM endpoint_configs ORDER BY created_at DESC, name"
            ).fetchall()
        members = structure_members("EndpointConfigSummary")
        return [project(load_record(row["record"]), members) for row in rows]

    def delete_config(self, name: str) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            deleted = conn.execute("DELETE FROM endpoint_configs WHERE name = ?", (name,)).rowcount
        if not deleted:
            raise EndpointNotFound(
                f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".'
            )

    # -- endpoints ------------------------------------------------------------------------------

    def insert_endpoint(self, record: Mapping[str, Any], serving: Serving) -> EndpointRow:
        name = str(record["EndpointName"])
        with connection(self.database_path) as conn, transaction(conn):
            if self._row(conn, name) is not None:
                raise EndpointConflict(
                    f'Cannot create already existing endpoint "{self.arn("endpoint", name)}".'
                )
            conn.execute(
                "INSERT INTO endpoints (name_key, name, status, created_at, record, serving, version) "
                "VALUES (?, ?, ?, ?, ?, ?, 1)",
                (
                    name.lower(),
                    name,
                    record["EndpointStatus"],
                    _iso(record["CreationTime"]),
                    dump_record(record),
                    serving.to_json(),
                ),
            )
        return EndpointRow(name, str(record["EndpointStatus"]), dict(record), serving, 1)

    def get_endpoint(self, name: str) -> EndpointRow:
        with connection(self.database_path) as conn:
            row = self._row(conn, name)
        if row is None:
            raise EndpointNotFound(f'Could not find endpoint "{self.arn("endpoint", name)}".')
        return row

    def find_endpoint(self, name: str) -> EndpointRow | None:
        with connection(self.database_path) as conn:
            return self._row(conn, name)

    def endpoints(self) -> list[EndpointRow]:
        with connection(self.database_path) as conn:
            rows = conn.execute("SELECT * FROM endpoints ORDER BY created_at DESC, name").fetchall()
        return [self._endpoint(row) for row in rows]

    def update_endpoint(
        self,
        row: EndpointRow,
        *,
        record: Mapping[str, Any] | None = None,
        serving: Serving | None = None,
    ) -> EndpointRow:
        """Write a new record and/or serving, if nobody changed the endpoint since ``row`` was read."""
        new_record = dict(record if record is not None else row.record)
        new_serving = serving if serving is not None else row.serving
        with connection(self.database_path) as conn, transaction(conn):
            changed = conn.execute(
                "UPDATE endpoints SET status = ?, record = ?, serving = ?, version = version + 1 "
                "WHERE name_key = ? AND version = ?",
                (
                    new_record["EndpointStatus"],
                    dump_record(new_record),
                    new_serving.to_json(),
                    row.name.lower(),
                    row.version,
                ),
            ).rowcount
        if not changed:
            raise EndpointChanged(f"endpoint {row.name} changed while it was being updated")
        return EndpointRow(
            row.name, str(new_record["EndpointStatus"]), new_record, new_serving, row.version + 1
        )

    def delete_endpoint(self, name: str) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute("DELETE FROM endpoints WHERE name_key = ?", (name.lower(),))

    def configs_in_use(self) -> set[str]:
        return {str(row.record.get("EndpointConfigName")) for row in self.endpoints()}

    def _row(self, conn: sqlite3.Connection, name: str) -> EndpointRow | None:
        row = conn.execute("SELECT * FROM endpoints WHERE name_key = ?", (name.lower(),)).fetchone()
        return None if row is None else self._endpoint(row)

    @staticmethod
    def _endpoint(row: sqlite3.Row) -> EndpointRow:
        return EndpointRow(
            name=row["name"],
            status=row["status"],
            record=load_record(row["record"]),
            serving=Serving.from_json(row["serving"]),
            version=int(row["version"]),
        )
