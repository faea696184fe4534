"""Runs inside a local Transform job, under the model image's interpreter.

It does what a SageMaker framework serving container does for batch transform: imports the
model's inference script, calls ``model_fn`` once, then for each request calls
``input_fn -> predict_fn -> output_fn`` (or ``transform_fn``), with the defaults of the
sagemaker-inference-toolkit / scikit-learn container for JSON, CSV and NPY. The runner decides
nothing about records: this script splits the input files (SplitType), batches the records
(BatchStrategy, MaxPayloadInMB) and assembles the outputs (AssembleWith), as the service's
batch agent does in front of the container. Standalone: the interpreter may be another
environment without the ``pipelines`` package.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import struct
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FAILURE = Path("/opt/ml/output/failure")
RECORDIO_MAGIC = 0xCED7230A


class TransformError(Exception):
    """A request the container refuses (unsupported content type, missing handler, ...)."""


# -- records -----------------------------------------------------------------------------------


def split_lines(data: bytes) -> Iterator[bytes]:
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line:
            yield line


def split_recordio(data: bytes) -> Iterator[bytes]:
    """MXNet RecordIO: magic, (cflag << 29 | length), payload padded to 4 bytes. A record split
    over several parts (cflag 1..3) is kept whole; records are passed on with their framing."""
    position, start = 0, 0
    while position < len(data):
        if position + 8 > len(data):
            raise TransformError(f"truncated RecordIO header at byte {position}")
        magic, lrec = struct.unpack_from("<II", data, position)
        if magic != RECORDIO_MAGIC:
            raise TransformError(f"not a RecordIO record at byte {position} (bad magic number)")
        cflag, length = lrec >> 29, lrec & ((1 << 29) - 1)
        position += 8 + length + (-length % 4)
        if position > len(data):
            raise TransformError("truncated RecordIO record")
        if cflag in (0, 3):  # a whole record, or the last part of one
            yield data[start:position]
            start = position


def split_tfrecord(data: bytes) -> Iterator[bytes]:
    """TFRecord: uint64 length, uint32 crc, payload, uint32 crc; passed on with their framing."""
    position = 0
    while position < len(data):
        if position + 12 > len(data):
            raise TransformError(f"truncated TFRecord header at byte {position}")
        (length,) = struct.unpack_from("<Q", data, position)
        end = position + 12 + length + 4
        if end > len(data):
            raise TransformError("truncated TFRecord record")
        yield data[position:end]
        position = end


SPLITTERS: dict[str, Callable[[bytes], Iterator[bytes]]] = {
    "Line": split_lines,
    "RecordIO": split_recordio,
    "TFRecord": split_tfrecord,
}


def records(data: bytes, split_type: str) -> list[bytes]:
    if split_type == "None":
        return [data]
    return list(SPLITTERS[split_type](data))


def batches(items: list[bytes], split_type: str, strategy: str, max_payload: int) -> Iterator[bytes]:
    """Requests for the container: one record each, or as many as fit in MaxPayloadInMB."""
    joiner = b"\n" if split_type == "Line" else b""
    if strategy == "SingleRecord" or split_type == "None":
        for item in items:
            check_size(item, max_payload)
            yield item
        return
    batch: list[bytes] = []
    size = 0
    for item in items:
        check_size(item, max_payload)
        extra = len(item) + (len(joiner) if batch else 0)
        if batch and max_payload and size + extra > max_payload:
            yield joiner.join(batch)
            batch, size = [], 0
            extra = len(item)
        batch.append(item)
        size += extra
    if batch:
        yield joiner.join(batch)


def check_size(item: bytes, max_payload: int) -> None:
    if max_payload and len(item) > max_payload:
        raise TransformError(
            f"a record of {len(item)} bytes exceeds MaxPayloadInMB ({max_payload // (1024 * 1024)} MB)"
        )


def assemble(outputs: list[bytes], assemble_with: str) -> bytes:
    if assemble_with == "Line":
        return b"".join(o if o.endswith(b"\n") else o + b"\n" for o in outputs)
    return b"".join(outputs)


# -- default handlers (sagemaker-inference-toolkit / scikit-learn container) -------------------


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def default_model_fn(model_dir: str) -> Any:
    raise TransformError(
        "the inference script defines no model_fn: the framework containers need one to load the model "
        f"from {model_dir}"
    )


def default_input_fn(input_data: bytes, content_type: str) -> Any:
    np = _numpy()
    base = content_type.split(";")[0].strip().lower()
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) else str(input_data)
    if base == "application/json":
        value = json.loads(text)
        return np.array(value) if np is not None else value
    if base == "text/csv":
        if np is None:
            return [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        array = np.genfromtxt(io.StringIO(text), delimiter=",")
        return array.reshape(1, -1) if array.ndim == 1 else array
    if base == "application/x-npy" and np is not None:
        return np.load(io.BytesIO(input_data), allow_pickle=False)
    raise TransformError(f"content type {content_type!r} is not supported by the default input_fn")


def default_predict_fn(data: Any, model: Any) -> Any:
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise TransformError("the default predict_fn needs a model with predict() (define predict_fn)")


def _rows(prediction: Any) -> list[Any]:
    return prediction.tolist() if hasattr(prediction, "tolist") else list(prediction)


def default_output_fn(prediction: Any, accept: str) -> bytes:
    base = accept.split(";")[0].strip().lower()
    if base == "application/json":
        value = prediction.tolist() if hasattr(prediction, "tolist") else prediction
        return json.dumps(value).encode("utf-8")
    if base == "text/csv":
        lines = []
        for row in _rows(prediction):
            lines.append(",".join(map(str, row)) if isinstance(row, list | tuple) else str(row))
        return ("\n".join(lines) + "\n").encode("utf-8")
    np = _numpy()
    if base == "application/x-npy" and np is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction))
        return buffer.getvalue()
    raise TransformError(f"accept type {accept!r} is not supported by the default output_fn")


# -- the handler chain ----------------------------------------------------------------------------


def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Handlers may take an extra ``context`` argument (toolkit >= 1.5); pass None then."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function(*args)
    if len(parameters) > len(args):
        return function(*args, None)
    return function(*args)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, tuple):  # (body, content type), as some containers allow
        value = value[0]
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value.tolist() if hasattr(value, "tolist") else value).encode("utf-8")


class Handler:
    def __init__(self, module: Any, model_dir: str) -> None:
        self.transform_fn = getattr(module, "transform_fn", None)
        self.input_fn = getattr(module, "input_fn", default_input_fn)
        self.predict_fn = getattr(module, "predict_fn", default_predict_fn)
        self.output_fn = getattr(module, "output_fn", default_output_fn)
        self.model = _call(getattr(module, "model_fn", default_model_fn), model_dir)

    def __call__(self, payload: bytes, content_type: str, accept: str) -> bytes:
        if self.transform_fn is not None:
            return _as_bytes(_call(self.transform_fn, self.model, payload, content_type, accept))
        data = _call(self.input_fn, payload, content_type)
        prediction = _call(self.predict_fn, data, self.model)
        return _as_bytes(_call(self.output_fn, prediction, accept))


def load_module(code_dir: str, program: str) -> Any:
    sys.path.insert(0, code_dir)
    name = program[:-3] if program.endswith(".py") else program
    return importlib.import_module(name)


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    current = "loading the model"
    try:
        module = load_module(spec["code_dir"], spec["program"])
        handler = Handler(module, spec["model_dir"])
        for item in spec["inputs"]:
            current = f"transforming {item['name']}"
            data = Path(item["path"]).read_bytes()
            outputs = [
                handler(payload, spec["content_type"], spec["accept"])
                for payload in batches(
                    records(data, spec["split_type"]),
                    spec["split_type"],
                    spec["batch_strategy"],
                    spec["max_payload"],
                )
            ]
            target = Path(item["output"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(assemble(outputs, spec["assemble_with"]))
            print(f"transformed {item['name']}: {len(outputs)} request(s)", flush=True)
    except Exception as exc:
        traceback.print_exc()
        FAILURE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE.write_text(f"ClientError: {current}: {type(exc).__name__}: {exc}")
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("SAGEMAKER_BATCH", "true")
    main(sys.argv[1])
