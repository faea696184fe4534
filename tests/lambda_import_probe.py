"""Import a Lambda handler from its deployed asset directories alone, and report what it reaches.

Run by :func:`tests.deploy_artifacts.probe_handler` as ``python3.12 -I -S -B lambda_import_probe.py``
(isolated, no site-packages, no bytecode written: the assets stay as staged, and like Lambda's read-only /opt every import compiles), with a JSON request on stdin:
``{"code_dir", "layer_dirs" (the layers' import roots), "handler", "result"}`` and optionally
``"then_import"`` (modules a first invocation may import lazily, e.g. mlflow). ``sys.path`` becomes the function code, then
each layer's import root, then the standard library -- what Lambda gives the handler, minus the
runtime's own boto3 (the layer ships the one the code is tested with).

It then (1) imports the handler module, timing it (the cold start's import share); (2) walks the
source of every first-party module reachable from the handler (the handler and ``pipelines``),
statically, so imports inside functions count too, skipping ``if TYPE_CHECKING:`` blocks and
noting imports guarded by ``except ImportError`` as optional; (3) imports each third-party module
named there; (4) times importing each ``then_import`` module, and lists the entry points of the
``mlflow.*`` groups the assets register (how mlflow finds the sagemaker-mlflow plugin). The result
(JSON, written to ``result``) lists each module with where it resolved from, the modules the
handler's import alone loaded, and every failure. Standard library only: it must run before anything else is importable.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

FIRST_PARTY = ("pipelines",)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _guards_import_error(handler: ast.ExceptHandler) -> bool:
    names = []
    if handler.type is None:
        return True
    for node in handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]:
        if isinstance(node, ast.Name):
            names.append(node.id)
    return bool({"ImportError", "ModuleNotFoundError", "Exception"} & set(names))


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, list[str], bool]]:
    """(module, names imported from it, optional) for each import statement in ``source``."""
    found: list[tuple[str, list[str], bool]] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt], optional: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse, optional)  # TYPE_CHECKING blocks never run
            elif isinstance(node, ast.Import):
                found.extend((alias.name, [], optional) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                found.append((base, [a.name for a in node.names], optional))
            elif isinstance(node, ast.Try | ast.TryStar):
                visit(node.body, optional or any(_guards_import_error(h) for h in node.handlers))
                for handler in node.handlers:
                    visit(handler.body, optional)
                visit(node.orelse, optional)
                visit(node.finalbody, optional)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    visit(case.body, optional)
            else:  # functions, classes, with, for, while, if: their nested statements
                for name in ("body", "orelse", "finalbody"):
                    nested = getattr(node, name, None)
                    if isinstance(nested, list):
                        visit(nested, optional)

    visit(ast.parse(source).body, False)
    return found


def origin_of(name: str, roots: list[tuple[str, str]]) -> str:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module is not None else None
    if path is None:
        return "builtin"
    resolved = str(Path(path).resolve())
    for label, root in roots:
        if resolved.startswith(root + "/") or resolved == root:
            return label
    return "elsewhere:" + path


def main() -> None:
    request = json.loads(sys.stdin.read())
    code_dir = str(Path(request["code_dir"]).resolve())
    layers = [str(Path(p).resolve()) for p in request["layer_dirs"]]
    stdlib = [p for p in sys.path if p]
    sys.path[:] = [code_dir, *layers, *stdlib]
    roots = [("function", code_dir), *(("layer", layer) for layer in layers)]
    roots += [("stdlib", str(Path(p).resolve())) for p in stdlib]
    handler_module, _, handler_name = request["handler"].rpartition(".")
    result: dict[str, object] = {"errors": [], "third_party": {}, "first_party": []}
    errors: list[str] = result["errors"]  # type: ignore[assignment]

    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        module = importlib.import_module(handler_module)
        if not callable(getattr(module, handler_name, None)):
            errors.append(f"{request['handler']}: no callable {handler_name}")
    except BaseException:  # any failure to import is the finding
        errors.append(f"importing {handler_module}: {traceback.format_exc(limit=3)}")
    result["import_seconds"] = time.perf_counter() - started
    result["import_cpu_seconds"] = time.process_time() - cpu_started
    result["loaded_at_import"] = sorted(sys.modules)

    lazy: dict[str, object] = {}
    for name in request.get("then_import", []):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            importlib.import_module(name)
        except BaseException:
            errors.append(f"importing {name} later: {traceback.format_exc(limit=3)}")
            continue
        lazy[name] = {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started,
            "origin": origin_of(name, roots),
        }
    result["then_import"] = lazy
    from importlib.metadata import entry_points

    result["entry_points"] = {
        group: sorted(f"{ep.name}={ep.value}" for ep in entry_points(group=group))
        for group in sorted({ep.group for ep in entry_points() if ep.group.startswith("mlflow.")})
    }

    third_party: dict[str, dict[str, object]] = {}
    seen: set[str] = set()
    queue = [handler_module]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            errors.append(f"{name}: {exc}")
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        is_package = bool(spec.submodule_search_locations)
        for imported, names, optional in imports_of(Path(spec.origin).read_text(), name, is_package):
            top = imported.partition(".")[0]
            if top in sys.stdlib_module_names or not imported:
                continue
            if top in FIRST_PARTY or imported == handler_module:
                queue.append(imported)
                for member in names:
                    candidate = f"{imported}.{member}"
                    try:
                        if importlib.util.find_spec(candidate) is not None:
                            queue.append(candidate)
                    except (ImportError, ValueError):
                        pass
                continue
            entry = third_party.setdefault(imported, {"importers": [], "optional": True})
            entry["importers"].append(name)  # type: ignore[attr-defined]
            entry["optional"] = bool(entry["optional"]) and optional
    for name, entry in sorted(third_party.items()):
        try:
            importlib.import_module(name)
            entry["origin"] = origin_of(name, roots)
        except BaseException as exc:
            entry["origin"] = "missing"
            if not entry["optional"]:
                errors.append(f"{name} (imported by {sorted(set(entry['importers']))}): {exc!r}")  # type: ignore[call-overload]
    result["third_party"] = third_party
    result["first_party"] = sorted(seen)
    probe = {"__main__", "__mp_main__"}  # this script itself
    result["loaded"] = {name: origin_of(name, roots) for name in sorted(sys.modules) if name not in probe}
    Path(request["result"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
