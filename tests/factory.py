"""Make small, valid wheels and sdists quickly, without a build backend."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name


def core_metadata(
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return "\n".join(lines) + "\n\n"


def wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    payload: bytes = b"",
) -> Path:
    """A pure-Python wheel with one module, `<name>/__init__.py`."""
    module = canonicalize_name(name).replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    path = directory / f"{module}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    metadata = core_metadata(
        name, version, requires_dist=requires_dist, requires_python=requires_python
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}/__init__.py", f"VERSION = {version!r}\n# {payload.hex()}\n")
        archive.writestr(f"{dist_info}/METADATA", metadata)
        archive.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    return path


def sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
) -> Path:
    module = canonicalize_name(name).replace("-", "_")
    base = f"{module}-{version}"
    path = directory / f"{base}.tar.gz"
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for member, text in (
            ("PKG-INFO", core_metadata(name, version, requires_python=requires_python)),
            ("pyproject.toml", f'[project]\nname = "{name}"\nversion = "{version}"\n'),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
