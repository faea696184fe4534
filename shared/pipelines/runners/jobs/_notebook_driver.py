"""Runs inside a local NotebookJob, under the image's interpreter: executes the input notebook
headless with papermill (parameters injected as papermill does) or, without papermill, with
nbclient (parameters injected as a cell after the one tagged ``parameters``). Standalone: the
interpreter may be another environment without the ``pipelines`` package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FAILURE = Path("/opt/ml/output/failure")
OUTPUT = Path("/opt/ml/output/data")


def fail(message: str) -> None:
    FAILURE.parent.mkdir(parents=True, exist_ok=True)
    FAILURE.write_text(message)
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def parameters() -> dict[str, Any]:
    path = Path("/opt/ml/input/config/hyperparameters.json")
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def kernel_name(notebook: dict[str, Any]) -> str:
    """SM_KERNEL_NAME if this interpreter has that kernel, else the interpreter's own python3."""
    wanted = os.environ.get("SM_KERNEL_NAME") or notebook.get("metadata", {}).get("kernelspec", {}).get(
        "name"
    )
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        available = set(KernelSpecManager().find_kernel_specs())
    except ImportError:
        available = set()
    if wanted in available:
        return str(wanted)
    print(f"INFO: kernel {wanted!r} is not installed here; using python3", flush=True)
    return "python3"


def run_init_script(input_dir: Path) -> None:
    script = os.environ.get("SM_INIT_SCRIPT")
    if script:
        print(f"INFO: running the initialization script {script}", flush=True)
        subprocess.run(["/bin/bash", str(input_dir / script)], check=True, cwd=input_dir)


def with_nbclient(source: Path, target: Path, params: dict[str, Any], kernel: str) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(str(source), as_version=4)
    assignments = "\n".join(f"{name} = {value!r}" for name, value in params.items())
    injected = nbformat.v4.new_code_cell(
        "# Parameters\n" + assignments, metadata={"tags": ["injected-parameters"]}
    )
    tagged = [
        i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    notebook.cells.insert(tagged[0] + 1 if tagged else 0, injected)
    client = NotebookClient(
        notebook, kernel_name=kernel, resources={"metadata": {"path": str(source.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(notebook, str(target))
        fail(f"the notebook {source.name} failed: {str(exc).strip().splitlines()[-1]}")
    nbformat.write(notebook, str(target))


def with_papermill(source: Path, target: Path, params: dict[str, Any], kernel: str) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(source), str(target), parameters=params, kernel_name=kernel, cwd=str(source.parent)
        )
    except PapermillExecutionError as exc:
        fail(f"the notebook {source.name} failed: {exc.ename}: {exc.evalue}")


def main() -> None:
    input_dir = Path(os.environ.get("SM_EXECUTION_INPUT_PATH", "."))
    source = input_dir / os.environ["SM_INPUT_NOTEBOOK_NAME"]
    if not source.is_file():
        fail(f"the input notebook {source} does not exist in the input channel")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    target = OUTPUT / os.environ.get("SM_OUTPUT_NOTEBOOK_NAME", source.name)
    run_init_script(input_dir)
    kernel = kernel_name(json.loads(source.read_text()))
    try:
        import papermill  # noqa: F401
    except ImportError:
        try:
            import nbclient  # noqa: F401
        except ImportError:
            fail(
                f"cannot run the notebook: the interpreter {sys.executable} has neither 'papermill' nor "
                f"'nbclient' (pip install papermill ipykernel)"
            )
        with_nbclient(source, target, parameters(), kernel)
        return
    with_papermill(source, target, parameters(), kernel)


if __name__ == "__main__":
    main()
