"""Who may import what: the Pulumi program and the library share only private_pypi.contract.

The program (components/, __main__.py) runs where the library's dependencies need not be,
and the library runs in CI's publish job, where no Pulumi SDK is installed. The rules are
read from each file's import statements (ast), wherever in the file they stand.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "private_pypi.contract"
PROGRAM_FILES = sorted([ROOT / "__main__.py", *(ROOT / "components").rglob("*.py")])
LIBRARY_FILES = sorted((ROOT / "private_pypi").rglob("*.py"))


def imported_modules(source: str, package: str) -> set[str]:
    """Every module the source imports; `package` is the file's, for relative imports.

    `from a import b` counts as importing a.b as well as a: b may be a module."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def program_breaks_the_rule(module: str) -> bool:
    """Of the library, the program may import the contract and no other module."""
    return (
        is_within(module, "private_pypi")
        and module != "private_pypi"
        and not is_within(module, CONTRACT)
    )


def library_breaks_the_rule(module: str) -> bool:
    """The library imports no Pulumi SDK: pulumi, pulumi_aws, pulumi_github, ..."""
    top = module.split(".")[0]
    return top == "pulumi" or top.startswith("pulumi_")


def package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def offending(path: Path, breaks_the_rule) -> list[str]:
    modules = imported_modules(path.read_text(encoding="utf-8"), package_of(path))
    return sorted(module for module in modules if breaks_the_rule(module))


@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_program_imports_nothing_of_the_library_but_the_contract(path):
    assert offending(path, program_breaks_the_rule) == []


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_library_imports_no_pulumi_sdk(path):
    assert offending(path, library_breaks_the_rule) == []


@pytest.mark.parametrize(
    ("source", "package", "breaks"),
    [
        ("from private_pypi.contract import INDEX_PREFIX", "components", False),
        ("import private_pypi.contract", "components", False),
        ("from private_pypi import contract", "components", False),
        ("from private_pypi import layout", "components", True),
        ("import private_pypi.layout as layout", "components", True),
        ("def later():\n    from private_pypi.storage import s3", "components", True),
        ("from .settings import Settings", "components", False),
    ],
)
def test_the_program_rule_catches_every_form_of_import(source, package, breaks):
    modules = imported_modules(source, package)
    assert any(map(program_breaks_the_rule, modules)) is breaks


@pytest.mark.parametrize(
    ("source", "breaks"),
    [
        ("import pulumi", True),
        ("import pulumi_aws as aws", True),
        ("from pulumi.dynamic import Resource", True),
        ("from . import pulumi_notes", False),
        ("import boto3", False),
    ],
)
def test_the_library_rule_catches_every_form_of_import(source, breaks):
    modules = imported_modules(source, "private_pypi")
    assert any(map(library_breaks_the_rule, modules)) is breaks


def test_the_contract_imports_nothing_so_the_program_loads_none_of_the_library():
    contract = ROOT / "private_pypi" / "contract.py"
    assert imported_modules(contract.read_text(encoding="utf-8"), "private_pypi") <= {
        "__future__",
        "__future__.annotations",
    }
    package = ast.parse((ROOT / "private_pypi" / "__init__.py").read_text(encoding="utf-8"))
    (docstring,) = package.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, private_pypi.contract; "
            "print(sorted(m for m in sys.modules if m.startswith('private_pypi')))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == str(["private_pypi", CONTRACT])
