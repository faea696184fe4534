"""Reading the dataset a check job analyses, as the analyzer containers read it.

Model Monitor's analyzer reads every file below ``dataset_source`` in the format that the
``dataset_format`` variable describes (the SDK's ``DatasetFormat``): ``{"csv": {"header": bool}}``,
``{"json": {"lines": bool}}``. CSV cells are kept as text, because Model Monitor infers each
column's type from how its values are written (``3.0`` is Fractional, ``3`` is Integral); a
headerless CSV's columns are named ``_c0, _c1, ...`` as Spark names them. JSON values keep their
JSON types and nested objects are flattened with dotted names.

Clarify reads ``text/csv`` (without a header row, columns named by ``headers``; a first row that
repeats ``headers`` is skipped), ``application/jsonlines`` and ``application/json`` (records),
and ``application/x-parquet``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.runners.checks.errors import AnalysisError


class DatasetError(AnalysisError):
    """The dataset cannot be read as its format says; the message names the file and the problem."""


def dataset_files(source: Path) -> list[Path]:
    """Every file below ``source`` (a folder or one file), in a stable order."""
    if source.is_file():
        return [source]
    files = sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DatasetError(f"the dataset {source} holds no files")
    return files


def parse_dataset_format(text: str | None) -> tuple[str, dict[str, Any]]:
    """(``csv``|``json``|``sagemakerCaptureJson``|``parquet``, its options) from ``dataset_format``."""
    if not text:
        raise DatasetError("the dataset_format variable is not set")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise DatasetError(f"dataset_format is not JSON: {exc}") from exc
    if not isinstance(value, dict) or len(value) != 1:
        raise DatasetError(f"dataset_format must name one format, got {text}")
    ((kind, options),) = value.items()
    return str(kind), options if isinstance(options, dict) else {}


def read_monitor_dataset(source: Path, dataset_format: str | None) -> pd.DataFrame:
    """The Model Monitor analyzer's view of the dataset: object columns, CSV cells as text."""
    kind, options = parse_dataset_format(dataset_format)
    files = dataset_files(source)
    if kind == "csv":
        header = options.get("header", False) is True
        frames = [_read_csv_text(path, header=header) for path in files]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if not header:
            frame.columns = [f"_c{i}" for i in range(frame.shape[1])]
        return frame
    if kind == "json":
        lines = options.get("lines", True) is not False
        return _read_json_records(files, lines=lines)
    if kind == "parquet":
        return _objects(pd.concat([pd.read_parquet(path) for path in files], ignore_index=True))
    if kind == "sagemakerCaptureJson":
        raise DatasetError(
            "dataset_format sagemakerCaptureJson (endpoint data-capture files) is not supported by the "
            "local analyzer; baseline on a csv or json dataset"
        )
    raise DatasetError(f"dataset_format {kind!r} is not one of csv, json, parquet")


def _read_csv_text(path: Path, *, header: bool) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            header=0 if header else None,
            dtype=object,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=False,
        ).astype(object)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path.name}: not a readable CSV file: {exc}") from exc


def _read_json_records(files: Sequence[Path], *, lines: bool) -> pd.DataFrame:
    records: list[Any] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            if lines:
                records.extend(json.loads(line) for line in text.splitlines() if line.strip())
            else:
                value = json.loads(text)
                records.extend(value if isinstance(value, list) else [value])
        except ValueError as exc:
            raise DatasetError(f"{path.name}: not valid JSON{' lines' if lines else ''}: {exc}") from exc
    if not all(isinstance(r, dict) for r in records):
        raise DatasetError("every JSON record must be an object")
    return _objects(pd.json_normalize(records))


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns (pandas 3 would give text the ``str`` dtype, which smclarify cannot read)."""
    return frame.astype({c: object for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])})


def _numbers_where_possible(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that were read as text because of a header row become numbers when all are."""
    out = frame.copy()
    for column in out.columns:
        try:
            out[column] = pd.to_numeric(out[column])
        except (ValueError, TypeError):
            continue
    return out


def read_clarify_dataset(source: Path, config: dict[str, Any]) -> pd.DataFrame:
    """The Clarify container's view of ``dataset`` for the analysis config ``config``."""
    dataset_type = str(config.get("dataset_type", "text/csv"))
    headers = config.get("headers")
    files = dataset_files(source)
    if dataset_type == "text/csv":
        frames = []
        for path in files:
            try:
                frame = pd.read_csv(path, header=None, skipinitialspace=True)
            except (ValueError, pd.errors.ParserError) as exc:
                raise DatasetError(f"{path.name}: not a readable CSV file: {exc}") from exc
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if headers:
            if len(headers) != frame.shape[1]:
                raise DatasetError(
                    f"the analysis config names {len(headers)} headers but the CSV has {frame.shape[1]} columns"
                )
            if [str(v) for v in frame.iloc[0].tolist()] == [str(h) for h in headers]:
                frame = _numbers_where_possible(frame.iloc[1:].reset_index(drop=True))
            frame.columns = list(headers)
        else:
            frame.columns = [str(v) for v in frame.iloc[0].tolist()]
            frame = _numbers_where_possible(frame.iloc[1:].reset_index(drop=True))
        return _objects(frame)
    if dataset_type in ("application/jsonlines", "application/json"):
        if config.get("features") is not None:
            raise DatasetError(
                "the analysis config's 'features' JMESPath for JSON datasets is not supported locally; "
                "use flat JSON records (one column per key)"
            )
        frame = _read_json_records(files, lines=dataset_type == "application/jsonlines")
        if headers and len(headers) == frame.shape[1]:
            frame.columns = list(headers)
        return frame
    if dataset_type == "application/x-parquet":
        return _objects(pd.concat([pd.read_parquet(path) for path in files], ignore_index=True))
    raise DatasetError(
        f"dataset_type {dataset_type!r} is not supported locally (text/csv, application/jsonlines, "
        "application/json, application/x-parquet); image datasets are not"
    )
