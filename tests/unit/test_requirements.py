"""The core layer's requirements.txt is generated from pyproject.toml and must not drift."""

from __future__ import annotations

from pathlib import Path

from infra import requirements

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
