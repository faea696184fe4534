"""Runs inside a local Transform job, under the model image's interpreter.

It does what a SageMaker framework serving container does for batch transform: the handler
chain of ``_inference.py`` (``model_fn`` once, then ``input_fn -> predict_fn -> output_fn`` or
``transform_fn`` per request, with the framework's defaults), shared with local endpoints. The runner decides
nothing about records: this script splits the input files (SplitType), batches the records
(BatchStrategy, MaxPayloadInMB) and assembles the outputs (AssembleWith), as the service's
batch agent does in front of the container. Standalone: the interpreter may be another
environment without the ``pipelines`` package.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

if __package__:  # imported by the tests as part of the package
    from pipelines.runners.jobs import _inference as inference
else:  # run as a script: its folder is first on sys.path
    import _inference as inference  # type: ignore[no-redef]

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


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    current = "loading the model"
    try:
        handler = inference.load_handler(spec)
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
