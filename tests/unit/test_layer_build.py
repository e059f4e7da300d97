"""The layer build's pieces: pruning, precompiling, and agreeing with the template's architecture.

The whole build (`sam build`, wheels for Lambda's platform): tests/integration/test_as_built.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import build_layer
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_botocore_keeps_only_the_models_the_code_uses(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "botocore/data/endpoints.json": "{}",
            "botocore/data/dynamodb/2012-08-10/service-2.json.gz": "",
            "botocore/data/secretsmanager/2017-10-17/service-2.json.gz": "",
            "botocore/data/sts/2011-06-15/service-2.json.gz": "",
            "botocore/data/ec2/2016-11-15/service-2.json.gz": "",
            "botocore/data/s3/2006-03-01/service-2.json.gz": "",
        },
    )

    removed = build_layer.prune_botocore(tmp_path)

    assert removed == ["ec2", "s3"]
    kept = sorted(p.name for p in (tmp_path / "botocore" / "data").iterdir())
    assert kept == ["dynamodb", "endpoints.json", "secretsmanager", "sts"]


def test_botocore_pruning_fails_when_a_needed_model_is_missing(tmp_path: Path) -> None:
    _tree(tmp_path, {"botocore/data/sts/x/service-2.json.gz": ""})

    with pytest.raises(SystemExit, match="dynamodb, secretsmanager"):
        build_layer.prune_botocore(tmp_path)


def test_console_scripts_and_stale_bytecode_are_dropped(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "bin/jp.py": "#!/build/machine/python\n",
            "pkg/__init__.py": "",
            "pkg/__pycache__/__init__.cpython-311.pyc": "stale",
        },
    )

    build_layer.drop_unused(tmp_path)

    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "pkg",
        "pkg/__init__.py",
    ]


def test_the_package_is_copied_without_local_bytecode(tmp_path: Path) -> None:
    source = tmp_path / "src" / "profilepics"
    _tree(source, {"__init__.py": "", "config.py": "X = 1\n", "__pycache__/config.pyc": "x"})
    site = tmp_path / "site"

    build_layer.copy_package(source, site)

    assert sorted(p.name for p in (site / "profilepics").iterdir()) == ["__init__.py", "config.py"]


def test_precompiled_modules_are_trusted_without_reading_their_source(tmp_path: Path) -> None:
    # Given a module compiled by the layer build, in a folder nobody may write (as /opt is)
    _tree(tmp_path, {"layered/__init__.py": "", "layered/answer.py": "VALUE = 'compiled'\n"})
    build_layer.precompile(tmp_path)
    source = tmp_path / "layered" / "answer.py"
    pyc = next((tmp_path / "layered" / "__pycache__").glob("answer.*.pyc"))
    # When the source changes (a zip round trip rewrites mtimes; here, the text itself)
    source.write_text("VALUE = 'source'\n", encoding="utf-8")
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import layered.answer as a"
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", f"{probe}; print(a.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then the .pyc is used as it is: unchecked-hash (PEP 552 flags 0b01), never recompiled
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    assert done.stdout.strip() == "compiled"


def test_the_layer_is_built_for_the_templates_architecture() -> None:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506
    makefile = (REPO / "layers" / "core" / "Makefile").read_text()
    layer = template["Resources"]["CoreLayer"]

    arch = re.search(r"^LAYER_ARCH \?= (\S+)$", makefile, re.MULTILINE)
    assert arch is not None
    assert template["Globals"]["Function"]["Architectures"] == [arch.group(1)]
    assert layer["Properties"]["CompatibleArchitectures"] == [arch.group(1)]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": arch.group(1)}
    assert arch.group(1) in build_layer.MACHINES
    assert "build-CoreLayer:" in makefile


def test_wheels_are_chosen_for_every_glibc_lambdas_runtime_has() -> None:
    tags = build_layer.platform_tags("arm64")

    # Amazon Linux 2023 (python3.12) has glibc 2.34: newest first, down to manylinux2014.
    assert tags[0] == "manylinux_2_34_aarch64"
    assert "manylinux_2_28_aarch64" in tags
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert all("x86_64" in t for t in build_layer.platform_tags("x86_64"))


def test_the_build_refuses_a_python_other_than_the_runtimes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_layer, "RUNTIME", (3, 5))

    with pytest.raises(SystemExit, match="with Python 3.5"):
        build_layer.build(tmp_path, "arm64")
    assert not (tmp_path / "python").exists()


class _Loader(yaml.SafeLoader):
    """template.yaml with CloudFormation's short-form tags read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
