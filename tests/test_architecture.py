"""Imports point downwards (docs/architecture.md), function-level imports included, and the core never imports
the built-in plugins by name."""

from __future__ import annotations

import ast

from helpers import ROOT

#: Layers from the top down; a module may import from its own layer or any layer below, never above.
LAYERS = [
    {"preserve", "preserve.__main__", "preserve.cli"},
    {"preserve.train", "preserve.stylize", "preserve.optimize", "preserve.export", "preserve.explain",
     "preserve.evaluate", "preserve.tune", "preserve.serve"},
    {"preserve.recipe"},
    {"preserve.plugin"},
    {"preserve.encoders", "preserve.models", "preserve.faces", "preserve.data", "preserve.visual",
     "preserve.tiling", "preserve.facesets", "preserve.distributed", "preserve.styles", "preserve.rundir", "preserve.datasets",
     "preserve.plots", "preserve.video", "preserve.flicker", "preserve.guard", "preserve.facezoom"},
    {"preserve.registry", "preserve.weights", "preserve.imageio", "preserve.functional", "preserve.annotations",
     "preserve.color", "preserve.convert", "preserve.atomic", "preserve.frozen", "preserve.skin",
     "preserve.motion", "preserve.machine", "preserve.digest"},
]


def _layer(module: str) -> int:
    for i, members in enumerate(LAYERS):
        if module in members or any(module.startswith(m + ".") for m in members if m != "preserve"):
            return i
    raise AssertionError(f"{module} is in no layer of docs/architecture.md")


def import_graph() -> dict[str, set[str]]:
    """Every preserve module and the preserve modules it imports (at any depth of its code)."""
    graph: dict[str, set[str]] = {}
    for f in sorted((ROOT / "preserve").rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if f.name == "__init__.py" else module.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps |= {target} if node.module else {f"{target}.{a.name}" for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("preserve",
                                                                                            "preserve_plugins"):
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] in ("preserve", "preserve_plugins")}
        graph[module] = {d for d in deps if d != module and d != "preserve.__version__"}
    return graph


def test_imports_point_downwards():
    wrong = [(m, d) for m, deps in import_graph().items() for d in deps
             if not d.startswith("preserve_plugins") and _layer(d) < _layer(m)]
    assert not wrong, f"upward imports: {wrong}"


def test_no_import_cycles_even_through_function_level_imports():
    graph = import_graph()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError(f"import cycle: {' -> '.join(path[path.index(node):] + [node])}")
        for dep in graph.get(node, ()):
            if dep in graph:
                visit(dep, path + [node])

    for module in graph:
        if module != "preserve":  # the package facade re-exports from below; it is nobody's dependency
            visit(module, [])


def test_the_core_never_imports_the_built_in_plugins():
    assert not [m for m, deps in import_graph().items() if any(d.startswith("preserve_plugins") for d in deps)]


def test_docs_list_every_layer_module():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for members in LAYERS[1:]:
        for m in members:
            name = m.split(".")[-1]
            assert name in text, f"{m} is not in docs/architecture.md"
