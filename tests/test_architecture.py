"""The package's import structure (docs/architecture.md): no import cycle, and nothing imports a layer above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "codesign"

# Lowest first: a module may import its own layer and the ones before it (docs/architecture.md, "Layers").
LAYERS = (
    ("errors", "fixed", "layout", "records", "parts", "pareto", "registry", "versions", "quiet", "progress", "layers", "precompiled"),
    ("config", "data", "quantizers", "outputs", "model", "fuzz_models", "refusals", "thresholds", "kernel_scales", "dense_pointwise"),
    ("convert", "hls4ml_graph", "emulate", "emulation_worker", "vectorized", "compiled", "validate", "typesearch", "train", "bench",
     "estimate", "rtl", "project_import", "proof", "counterexample", "exact", "repairs", "fit", "head"),
    ("report", "notebook", "results"),
    ("steps", "pipeline", "commands", "sweep", "fuzz", "fit_target", "project_repair"),
    ("api", "testing", "pytest_plugin", "cli", "__init__"),
)


def module_name(path: Path) -> str:
    return ".".join(("codesign", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


def imports() -> dict[str, set[str]]:
    """Every codesign module and the codesign modules it imports anywhere in its body (lazy imports included)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "codesign":
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
                graph[name] |= {target if target in modules else node.module for target in targets}
            elif isinstance(node, ast.Import):
                graph[name] |= {alias.name for alias in node.names if alias.name.split(".")[0] == "codesign"}
    return graph


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(index for index, names in enumerate(LAYERS) if top in names)


def test_every_module_has_a_layer():
    assert all(isinstance(layer_of(module), int) for module in imports())


def test_no_import_goes_up_a_layer():
    upward = sorted(f"{module} -> {target}" for module, targets in imports().items() for target in targets
                    if layer_of(target) > layer_of(module))
    assert upward == []


def test_no_import_cycle():
    graph = imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target == module:
                continue
            if state.get(target) == 1:
                return path[path.index(target):] + [target] if target in path else [module, target]
            if target not in state and (cycle := visit(target, path + [target])):
                return cycle
        state[module] = 2
        return None

    cycles = [cycle for module in sorted(graph) if module not in state and (cycle := visit(module, [module]))]
    assert cycles == []
