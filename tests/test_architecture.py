"""The house rules that the file list and the imports can show: folders, sizes, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "attune_voice"
MAX_MODULE_LINES = 700
MAX_TOP_LEVEL_MODULES = 12
OUTSIDE_LIBRARIES = ("sounddevice", "onnxruntime", "vosk", "pyttsx3", "hibari", "pywebrtc_audio")
"""Each imported by exactly one module of the package: its adapter."""
ENGINE_PARTS = (
    "engine",
    "ports",
    "phases",
    "commands",
    "floor",
    "wording",
    "attribution",
    "upcoming",
    "way_out",
    "prep_loop",
    "readiness",
    "partner_question",
    "barge_in",
)
"""The engine and the modules it is made of."""
HARDWARE_AND_MODELS = (*OUTSIDE_LIBRARIES, "attune_voice.audio.", "attune_voice.listening.")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at any depth of the file (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from attune_voice.cli import review` imports the module cli.review.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _project_imports(name: str) -> set[str]:
    return {imported for imported in _imports(name, MODULES[name]) if imported in MODULES}


def test_every_module_starts_with_a_docstring() -> None:
    missing = [
        name
        for name, path in MODULES.items()
        if ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_the_top_level_holds_only_the_few_core_modules() -> None:
    top = [path.name for path in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(top)


def test_there_is_no_import_circle() -> None:
    graph = {name: _project_imports(name) - {name} for name in MODULES}
    # A package's __init__ is imported on the way to any of its modules; the graph
    # leaves that implicit edge out, as Python resolves it before the module runs.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("library", OUTSIDE_LIBRARIES)
def test_each_outside_library_has_exactly_one_adapter(library: str) -> None:
    importers = [
        name
        for name, path in MODULES.items()
        if any(i == library or i.startswith(f"{library}.") for i in _imports(name, path))
    ]
    assert len(importers) == 1, importers


def test_the_engine_imports_no_hardware_or_model_library() -> None:
    engine_modules = [f"attune_voice.session.{name}" for name in ENGINE_PARTS]
    for name in engine_modules:
        reached = {i for i in _imports(name, MODULES[name]) if i.startswith(HARDWARE_AND_MODELS)}
        assert reached == set(), name


def test_command_families_import_only_the_app_of_the_command_line() -> None:
    for name in MODULES:
        if not name.startswith("attune_voice.cli.") or name.endswith((".app", ".main")):
            continue
        cli_imports = {i for i in _project_imports(name) if i.startswith("attune_voice.cli")}
        assert cli_imports <= {"attune_voice.cli", "attune_voice.cli.app"}, name


def test_nothing_outside_the_command_line_imports_it() -> None:
    for name in MODULES:
        if name.startswith("attune_voice.cli") or name == "attune_voice.__main__":
            continue
        assert not any(i.startswith("attune_voice.cli") for i in _project_imports(name)), name


def test_the_architecture_page_names_every_module() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    unnamed = [
        str(path.relative_to(PACKAGE))
        for path in MODULES.values()
        if path.name != "__init__.py" and f"`{path.relative_to(PACKAGE)}`" not in page
    ]
    assert unnamed == []
