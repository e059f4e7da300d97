"""The core layer's requirements.txt is generated from pyproject.toml and must not drift."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from infra import requirements

REPO = Path(__file__).resolve().parents[2]

PYPROJECT_WITH_EXTRAS = """\
[project]
name = "demo"
version = "0"
dependencies = ["pillow>=11,<14", "boto3>=1.35"]

[project.optional-dependencies]
dev = ["pytest>=8"]
"""


def test_layer_requirements_match_pyproject() -> None:
    current = requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8")
    assert current == requirements.render(requirements.PYPROJECT), (
        "layers/core/requirements.txt has drifted from pyproject.toml: "
        "run `python -m infra.requirements`"
    )


def test_render_keeps_runtime_dependencies_only_under_the_header(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT_WITH_EXTRAS, encoding="utf-8")

    lines = requirements.render(pyproject).splitlines()

    assert lines == [requirements.HEADER, "pillow>=11,<14", "boto3>=1.35"]


def test_check_fails_on_drift_and_generation_repairs_it(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT_WITH_EXTRAS, encoding="utf-8")
    output = tmp_path / "requirements.txt"
    output.write_text("pillow\n", encoding="utf-8")
    paths = ["--pyproject", str(pyproject), "--output", str(output)]

    assert requirements.main(["--check", *paths]) == 1
    assert requirements.main(paths) == 0
    assert requirements.main(["--check", *paths]) == 0
    assert output.read_text(encoding="utf-8") == requirements.render(pyproject)


# Needed at run time though no module imports it by name.
INDIRECT = {"email-validator": "pydantic's EmailStr validates with it"}
LAMBDA_CODE = [REPO / "layers" / "core" / "profilepics", *(REPO / "functions").glob("*")]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(node: ast.AST) -> set[str]:
    """Top-level modules a tree imports when it runs (type-checking-only imports aside)."""
    if isinstance(node, ast.If) and isinstance(node.test, ast.Name):
        if node.test.id == "TYPE_CHECKING":
            return set().union(*(_imports(child) for child in node.orelse))
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {node.module.split(".")[0]}
    return set().union(*(_imports(child) for child in ast.iter_child_nodes(node)))


def _imported_distributions() -> set[str]:
    """The distributions whose modules the layer and the functions import."""
    modules: set[str] = set()
    for folder in LAMBDA_CODE:
        for path in folder.rglob("*.py"):
            modules |= _imports(ast.parse(path.read_text(encoding="utf-8")))
    third_party = modules - set(sys.stdlib_module_names) - {"profilepics", "__future__"}
    found = metadata.packages_distributions()
    return {_canonical(dist) for module in third_party for dist in found[module]}


def _with_dependencies(names: set[str]) -> set[str]:
    """names and everything they install, recursively."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_canonical(requirement.name))
    return seen


def test_the_layer_lists_exactly_what_the_functions_import() -> None:
    listed = {
        _canonical(Requirement(line).name)
        for line in requirements.render(requirements.PYPROJECT).splitlines()[1:]
    }
    imported = _imported_distributions()

    assert imported <= _with_dependencies(listed), "imported but not in the layer"
    assert listed - imported == set(INDIRECT), "in the layer but imported by no function"
