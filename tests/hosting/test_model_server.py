"""One model served by the hosting contract in a process of its own (pipelines.hosting.start_model_server)."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipelines.config import Config
from pipelines.hosting import ModelLoadFailed, start_model_server
from pipelines.hosting.model_server import free_port
from pipelines.objects.local import LocalObjectStore

from tests.hosting.models import (
    BROKEN_INFERENCE,
    CUSTOM_INFERENCE,
    SKLEARN_IMAGE,
    XGBOOST_IMAGE,
    XGBOOST_INFERENCE,
    model_request,
    sklearn_model_data,
    xgboost_model_data,
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path)


def put(config: Config, uri: str, data: bytes) -> str:
    LocalObjectStore(config.object_root).put(uri, data)
    return uri


def test_sklearn_model_with_default_handlers_answers_json_csv_and_refuses_unknown_types(
    config: Config,
) -> None:
    url = put(config, "s3://models/sk/model.tar.gz", sklearn_model_data())
    with start_model_server(config, model_request("sk", SKLEARN_IMAGE, url)) as server:
        ping = server.invoke  # the same keep-alive pool the front end uses
        response = ping(b"[[1, 2], [3, 4]]", content_type="application/json", accept="application/json")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.data) == pytest.approx([8.0, 14.0])
        csv = server.invoke(b"1,2\n3,4\n", content_type="text/csv", accept="text/csv")
        assert [float(v) for v in csv.data.decode().split()] == pytest.approx([8.0, 14.0])
        # no Content-Type: JSON; no Accept: SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (JSON)
        default = server.invoke(b"[[0, 0]]")
        assert json.loads(default.data) == pytest.approx([3.0])
        refused = server.invoke(b"\x89PNG", content_type="image/png")
        assert refused.status == 415
        assert "image/png" in json.loads(refused.data)["error-message"]
        not_acceptable = server.invoke(b"[[0, 0]]", accept="application/x-unknown")
        assert not_acceptable.status == 406


def test_user_inference_functions_replace_each_default(config: Config) -> None:
    url = put(config, "s3://models/custom/model.tar.gz", sklearn_model_data(CUSTOM_INFERENCE))
    with start_model_server(config, model_request("custom", SKLEARN_IMAGE, url)) as server:
        response = server.invoke(
            json.dumps({"rows": [[1, 1]]}).encode(),
            content_type="application/json",
            accept="application/json",
        )
        assert json.loads(response.data) == {
            "predictions": pytest.approx([6.0]),
            "accept": "application/json",
        }
        failing = server.invoke(b"1,1", content_type="text/csv")  # the user's input_fn asserts JSON
        assert failing.status == 500
        assert json.loads(failing.data)["error"] == "AssertionError"


def test_xgboost_algorithm_mode_loads_the_booster_and_reads_csv(config: Config) -> None:
    url = put(config, "s3://models/xgb/model.tar.gz", xgboost_model_data())
    with start_model_server(config, model_request("xgb", XGBOOST_IMAGE, url)) as server:
        assert server.framework == "xgboost"
        # two training rows: y = x0 + 2 x1 + 3
        response = server.invoke(b"2,4\n5,0", accept="text/csv")  # no Content-Type: CSV
        assert response.status == 200
        values = [float(v) for v in response.data.decode().split()]
        assert values == pytest.approx([13.0, 8.0], abs=0.5)
        libsvm = server.invoke(b"0:2 1:4", content_type="text/libsvm", accept="application/json")
        assert json.loads(libsvm.data) == pytest.approx([13.0], abs=0.5)


def test_xgboost_script_mode_uses_the_user_model_fn_and_the_default_dmatrix_input(config: Config) -> None:
    url = put(config, "s3://models/xgbs/model.tar.gz", xgboost_model_data(XGBOOST_INFERENCE))
    with start_model_server(config, model_request("xgbs", XGBOOST_IMAGE, url)) as server:
        response = server.invoke(b"2,4", content_type="text/csv", accept="application/json")
        assert json.loads(response.data) == pytest.approx([13.0], abs=0.5)
        refused = server.invoke(b"[[2, 4]]", content_type="application/json")
        assert refused.status == 415  # the XGBoost container reads CSV and LIBSVM only
        assert "text/csv" in json.loads(refused.data)["error-message"]


def test_a_model_that_cannot_load_fails_with_its_reason(config: Config) -> None:
    url = put(config, "s3://models/broken/model.tar.gz", sklearn_model_data(BROKEN_INFERENCE))
    with pytest.raises(ModelLoadFailed) as failed:
        start_model_server(config, model_request("broken", SKLEARN_IMAGE, url), name="endpoint broken")
    reason = str(failed.value)
    assert "endpoint broken" in reason
    assert "RuntimeError: weights are corrupt" in reason


def test_missing_model_data_and_missing_script_fail_before_any_process(config: Config) -> None:
    with pytest.raises(ModelLoadFailed, match="s3://models/none/model.tar.gz"):
        start_model_server(config, model_request("none", SKLEARN_IMAGE, "s3://models/none/model.tar.gz"))
    from tests.hosting.models import tar_gz

    url = put(config, "s3://models/bare/model.tar.gz", tar_gz({"model.pkl": b"x"}))
    with pytest.raises(ModelLoadFailed, match="no inference script"):
        start_model_server(config, model_request("bare", SKLEARN_IMAGE, url))


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def test_a_port_collision_retries_on_another_port(config: Config, taken_port: int) -> None:
    url = put(config, "s3://models/sk/model.tar.gz", sklearn_model_data())
    lines: list[str] = []
    spare = free_port()
    with start_model_server(
        config, model_request("sk", SKLEARN_IMAGE, url), ports=iter([taken_port, spare]), log=lines.append
    ) as server:
        assert server.port == spare
        assert any(f"port {taken_port} is in use" in line for line in lines)
        assert server.invoke(b"[[0, 0]]").status == 200
    assert not server.alive


def test_the_images_map_chooses_the_serving_interpreter(tmp_path: Path) -> None:
    marker = tmp_path / "used"
    interpreter = tmp_path / "sklearn-env" / "bin" / "python3"
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexec {sys.executable} "$@"\n')
    interpreter.chmod(0o755)
    config = Config(
        state_dir=tmp_path / "state",
        object_root=tmp_path / "objects",
        images={"*sagemaker-scikit-learn*": str(interpreter)},
        base_dir=tmp_path,
    )
    url = put(config, "s3://models/sk/model.tar.gz", sklearn_model_data())
    lines: list[str] = []
    with start_model_server(config, model_request("sk", SKLEARN_IMAGE, url), log=lines.append) as server:
        assert server.invoke(b"[[0, 0]]").status == 200
    assert any(f"-> {interpreter} (config [images])" in line for line in lines)
    assert marker.is_file()  # the mapped interpreter ran (the server, or the warm interpreter it forks from)
