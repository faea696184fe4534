"""Responses shaped by botocore's output shapes, so what goes on the wire is what the SDKs parse.

Operations return plain dicts with ``datetime`` values. :func:`shape_output` walks the
operation's output shape: timestamps become epoch seconds (the JSON protocols' default, and
what SageMaker sends), blobs become base64, ``None`` members are left out. In strict mode
(tests, ``pipelines serve --strict``) anything the model does not describe -- an unknown
member, a wrong type, a value outside an enum, a missing required member -- raises
:class:`ShapeMismatch` instead of being dropped, so a response that drifts from the real
service fails loudly.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from botocore.model import Shape
from botocore.utils import parse_to_aware_datetime

from pipelines.api.errors import InternalFailure


class ShapeMismatch(InternalFailure):
    """A response value does not fit the service model (a server bug, never a client error)."""


def epoch_seconds(value: dt.datetime | float | int | str) -> float:
    """A timestamp as epoch seconds with millisecond precision."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return round(float(value), 3)
    moment = parse_to_aware_datetime(value)  # type: ignore[arg-type]  # accepts datetimes too
    return round(moment.timestamp(), 3)


def shape_output(shape: Shape | None, value: Any, *, strict: bool = False) -> Any:
    """``value`` serialised for the JSON wire by ``shape``; see the module docstring."""
    if shape is None:
        if strict and value:
            raise ShapeMismatch("the operation has no output, but the result has members")
        return {}
    return _shape(shape, value, strict, "")


def _mismatch(path: str, problem: str) -> ShapeMismatch:
    return ShapeMismatch(f"response member {path or '<root>'}: {problem}")


def _shape(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    kind = shape.type_name
    handler = _HANDLERS.get(kind)
    if handler is None:  # pragma: no cover - every botocore type is listed
        raise _mismatch(path, f"unsupported shape type {kind}")
    return handler(shape, value, strict, path)


def _structure(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if not isinstance(value, dict):
        raise _mismatch(path, f"expected an object for {shape.name}, got {type(value).__name__}")
    members = shape.members  # type: ignore[attr-defined]
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = members.get(key)
        if member is None:
            if strict:
                raise _mismatch(f"{path}.{key}", f"not a member of {shape.name}")
            continue
        if item is None:
            continue
        out[member.serialization.get("name", key)] = _shape(member, item, strict, f"{path}.{key}")
    if strict:
        missing = [m for m in shape.metadata.get("required", []) if m not in out]
        if missing:
            raise _mismatch(path, f"{shape.name} lacks required member(s) {', '.join(missing)}")
    return out


def _list(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if not isinstance(value, list | tuple):
        raise _mismatch(path, f"expected a list, got {type(value).__name__}")
    member = shape.member  # type: ignore[attr-defined]
    return [_shape(member, item, strict, f"{path}[{i}]") for i, item in enumerate(value)]


def _map(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if not isinstance(value, dict):
        raise _mismatch(path, f"expected a map, got {type(value).__name__}")
    value_shape = shape.value  # type: ignore[attr-defined]
    return {str(k): _shape(value_shape, v, strict, f"{path}[{k}]") for k, v in value.items()}


def _string(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if not isinstance(value, str):
        if strict:
            raise _mismatch(path, f"expected a string, got {type(value).__name__}")
        return str(value)
    enum = shape.metadata.get("enum")
    if strict and enum and value not in enum:
        raise _mismatch(path, f"{value!r} is not one of {list(enum)}")
    return value


def _integer(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _mismatch(path, f"expected an integer, got {type(value).__name__}")
    return value


def _number(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(path, f"expected a number, got {type(value).__name__}")
    return value


def _boolean(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if not isinstance(value, bool):
        raise _mismatch(path, f"expected a boolean, got {type(value).__name__}")
    return value


def _timestamp(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    try:
        return epoch_seconds(value)
    except (TypeError, ValueError) as exc:
        raise _mismatch(path, f"not a timestamp: {value!r}") from exc


def _blob(shape: Shape, value: Any, strict: bool, path: str) -> Any:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes | bytearray):
        raise _mismatch(path, f"expected bytes, got {type(value).__name__}")
    return base64.b64encode(value).decode("ascii")


_HANDLERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "double": _number,
    "float": _number,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "blob": _blob,
}
