"""The inference handler chain of the SageMaker framework serving containers, shared by the local
batch transform worker (``_transform_worker.py``) and the local model server (``_model_server.py``).

It imports the model's inference script, calls ``model_fn`` once, then answers each request with
``input_fn -> predict_fn -> output_fn`` (or ``transform_fn``), falling back to the defaults of the
framework the image belongs to:

- ``sklearn`` (sagemaker-scikit-learn-container): ``model_fn`` must be defined; JSON, CSV and
  NPY are decoded to numpy arrays and predictions encoded to the Accept type; a request without
  Content-Type is JSON.
- ``xgboost`` (sagemaker-xgboost-container): in script mode ``model_fn`` must be defined, the
  default ``input_fn`` builds an ``xgb.DMatrix`` from CSV or LIBSVM and ``predict_fn`` calls
  ``model.predict(dmatrix, validate_features=False)``; in algorithm mode (no script) the model
  files in the model folder are loaded as a pickle or with ``Booster.load_model``; a request
  without Content-Type is CSV.
- ``generic``: the sklearn defaults.

Standalone: these run under the model image's interpreter, which may be an environment without
the ``pipelines`` package, so only the standard library is imported at module level.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

FRAMEWORKS = ("sklearn", "xgboost", "generic")


class InferenceError(Exception):
    """A request or model the container refuses; ``status`` is the HTTP status it answers."""

    status = 500


class UnsupportedContentType(InferenceError):
    status = 415


class UnsupportedAccept(InferenceError):
    status = 406


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def base_type(content_type: str) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv`` (the containers drop the parameters)."""
    return content_type.split(";")[0].strip().lower()


# -- scikit-learn / generic defaults -----------------------------------------------------------


def default_model_fn(model_dir: str) -> Any:
    raise InferenceError(
        "the inference script defines no model_fn: the framework containers need one to load the model "
        f"from {model_dir}"
    )


def default_input_fn(input_data: bytes, content_type: str) -> Any:
    np = _numpy()
    base = base_type(content_type)
    if base not in ("application/json", "text/csv", "application/x-npy"):
        raise UnsupportedContentType(
            f"content type {content_type!r} is not supported by the default input_fn"
        )
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) and base != "application/x-npy" else ""
    if base == "application/json":
        value = json.loads(text)
        return np.array(value) if np is not None else value
    if base == "text/csv":
        if np is None:
            return [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        array = np.genfromtxt(io.StringIO(text), delimiter=",")
        return array.reshape(1, -1) if array.ndim == 1 else array
    if base == "application/x-npy" and np is not None:
        data = input_data if isinstance(input_data, bytes) else input_data.encode()
        return np.load(io.BytesIO(data), allow_pickle=False)
    raise UnsupportedContentType(f"content type {content_type!r} is not supported by the default input_fn")


def default_predict_fn(data: Any, model: Any) -> Any:
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise InferenceError("the default predict_fn needs a model with predict() (define predict_fn)")


def _rows(prediction: Any) -> list[Any]:
    return prediction.tolist() if hasattr(prediction, "tolist") else list(prediction)


def default_output_fn(prediction: Any, accept: str) -> bytes:
    base = base_type(accept)
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
    raise UnsupportedAccept(f"accept type {accept!r} is not supported by the default output_fn")


# -- XGBoost defaults --------------------------------------------------------------------------


def xgboost_input_fn(input_data: bytes, content_type: str) -> Any:
    """CSV (no header, delimiter ``,``; empty fields are missing values) or LIBSVM -> DMatrix."""
    import xgboost as xgb

    base = base_type(content_type)
    if base not in ("text/csv", "text/libsvm", "text/x-libsvm"):
        raise UnsupportedContentType(
            f"content type {content_type!r} is not supported by the XGBoost container "
            "(text/csv, text/libsvm, text/x-libsvm)"
        )
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) else str(input_data)
    if base == "text/csv":
        np = _numpy()
        rows = [line for line in text.splitlines() if line.strip()]
        array = np.array(
            [[float(v) if v.strip() else np.nan for v in line.split(",")] for line in rows], dtype=float
        )
        return xgb.DMatrix(array)
    if base in ("text/libsvm", "text/x-libsvm"):
        return _libsvm_matrix(text)
    raise UnsupportedContentType(
        f"content type {content_type!r} is not supported by the XGBoost container "
        "(text/csv, text/libsvm, text/x-libsvm)"
    )


def _libsvm_matrix(text: str) -> Any:
    import xgboost as xgb

    np = _numpy()
    rows: list[dict[int, float]] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        start = 0 if ":" in parts[0] else 1  # the first field is the label when it has no colon
        rows.append({int(k): float(v) for k, v in (p.split(":", 1) for p in parts[start:])})
    width = max((max(r) + 1 for r in rows if r), default=0)
    array = np.full((len(rows), width), np.nan)
    for index, row in enumerate(rows):
        for column, value in row.items():
            array[index, column] = value
    return xgb.DMatrix(array)


def xgboost_predict_fn(data: Any, model: Any) -> Any:
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        return model.predict(data, validate_features=False)
    if isinstance(data, xgb.DMatrix) and hasattr(model, "get_booster"):
        return model.get_booster().predict(data, validate_features=False)
    return model.predict(data)


def xgboost_algorithm_model_fn(model_dir: str) -> Any:
    """Algorithm mode: the first file of the model folder that loads as a pickled model or with
    ``Booster.load_model`` (the xgboost container tries each file)."""
    import xgboost as xgb

    files = sorted(p for p in Path(model_dir).rglob("*") if p.is_file() and "code" not in p.parts)
    problems = []
    for path in files:
        try:
            with path.open("rb") as handle:
                model = pickle.load(handle)
            if hasattr(model, "predict"):
                return model
        except Exception as exc:  # not a pickle: try XGBoost's own formats
            problems.append(f"{path.name}: not a pickle ({type(exc).__name__})")
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
            return booster
        except Exception as exc:
            problems.append(f"{path.name}: not an XGBoost model ({exc})")
    detail = "; ".join(problems) if problems else "the folder is empty"
    raise InferenceError(f"no XGBoost model could be loaded from {model_dir}: {detail}")


# -- the chain -----------------------------------------------------------------------------------


def call(function: Callable[..., Any], *args: Any) -> Any:
    """Handlers may take an extra ``context`` argument (toolkit >= 1.5); pass None then."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function(*args)
    if len(parameters) > len(args):
        return function(*args, None)
    return function(*args)


def as_bytes(value: Any) -> bytes:
    if isinstance(value, tuple):  # (body, content type), as some containers allow
        value = value[0]
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value.tolist() if hasattr(value, "tolist") else value).encode("utf-8")


def default_content_type(framework: str) -> str:
    return "text/csv" if framework == "xgboost" else "application/json"


class Handler:
    """The loaded model and its request chain. ``module`` is the user's inference script (None
    for a model served by its image alone: XGBoost's algorithm mode)."""

    def __init__(self, module: Any, model_dir: str, framework: str = "generic") -> None:
        if framework not in FRAMEWORKS:
            raise InferenceError(f"unknown framework {framework!r}")
        self.framework = framework
        xgboost = framework == "xgboost"
        own: Callable[[str], Any] = lambda name: getattr(module, name, None) if module is not None else None  # noqa: E731
        if module is None and not xgboost:
            raise InferenceError(
                "the model has no inference script (SAGEMAKER_PROGRAM or code/inference.py) and its image "
                "serves no model by itself locally (only XGBoost's algorithm mode does)"
            )
        model_fn = own("model_fn") or (xgboost_algorithm_model_fn if module is None else default_model_fn)
        self.transform_fn = own("transform_fn")
        if self.transform_fn is not None and any(own(n) for n in ("input_fn", "predict_fn", "output_fn")):
            raise InferenceError(
                "the inference script defines transform_fn and input_fn/predict_fn/output_fn"
            )
        self.input_fn = own("input_fn") or (xgboost_input_fn if xgboost else default_input_fn)
        self.predict_fn = own("predict_fn") or (xgboost_predict_fn if xgboost else default_predict_fn)
        self.output_fn = own("output_fn") or default_output_fn
        self.model = call(model_fn, model_dir)

    def __call__(self, payload: bytes, content_type: str, accept: str) -> bytes:
        if self.transform_fn is not None:
            return as_bytes(call(self.transform_fn, self.model, payload, content_type, accept))
        data = call(self.input_fn, payload, content_type)
        prediction = call(self.predict_fn, data, self.model)
        return as_bytes(call(self.output_fn, prediction, accept))


def load_module(code_dir: str, program: str) -> Any:
    """Import the inference script ``program`` (``.py`` optional) from ``code_dir``."""
    sys.path.insert(0, code_dir)
    name = program[:-3] if program.endswith(".py") else program
    return importlib.import_module(name)


def load_handler(spec: dict[str, Any]) -> Handler:
    """The handler a spec names: ``program``/``code_dir`` (optional), ``model_dir``, ``framework``."""
    program = spec.get("program")
    module = load_module(spec["code_dir"], program) if program else None
    return Handler(module, spec["model_dir"], spec.get("framework", "generic"))


def default_accept(framework: str) -> str:
    return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or default_content_type(framework)
