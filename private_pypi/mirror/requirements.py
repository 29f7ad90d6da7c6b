"""Requirements files with hashes, as `uv pip compile --generate-hashes`, pip-compile and
`uv export` write them: a file is pinned by `name==version` and its `--hash`es.

Lines are read as pip reads them: a trailing backslash continues a line, `#` after
whitespace starts a comment, `${NAME}` is taken from the environment. `-r FILE` is read in
turn, `--index-url` and `--extra-index-url` say where the files are looked for, other
options are pip's business. An editable or a direct reference is skipped; a requirement
that is not pinned with == and a hash fails the file, as pip's --require-hashes would.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .locks import PYPI, Lock, LockError, PinnedFile, SkippedPackage, index_url, parse_hash

KIND = "requirements"
_COMMENT = re.compile(r"(^|\s+)#.*$")
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")
# The options of a requirements file that take a value as the next word (pip's optparse).
_VALUE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-e": "editable",
    "--editable": "editable",
    "-i": "index-url",
    "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "find-links",
    "--find-links": "find-links",
    "--trusted-host": "trusted-host",
    "--only-binary": "only-binary",
    "--no-binary": "no-binary",
    "--use-feature": "use-feature",
    "-C": "config-settings",
    "--config-settings": "config-settings",
    "--global-option": "global-option",
    "--hash": "hash",
}
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
NOT_HASHED = (
    "generate the file with `uv pip compile --generate-hashes` or "
    "`pip-compile --generate-hashes`, as pip's --require-hashes wants it"
)


def read(path: Path, text: str, env: Mapping[str, str]) -> Lock:
    reader = _Reader(env)
    reader.read(path, text)
    if not reader.pins and not reader.skipped:
        raise LockError(path, f"pins no file: an empty requirements file? {NOT_HASHED}")
    indexes = (index_url(reader.index or PYPI), *map(index_url, reader.extra_indexes))
    pins = tuple(_with_indexes(pin, indexes) for pin in reader.pins)
    return Lock(path, KIND, pins, tuple(reader.skipped))


def _with_indexes(pin: PinnedFile, indexes: tuple[str, ...]) -> PinnedFile:
    return PinnedFile(pin.lock, pin.project, pin.version, None, pin.hashes, None, indexes)


@dataclass
class _Reader:
    env: Mapping[str, str]
    pins: list[PinnedFile] = field(default_factory=list[PinnedFile])
    skipped: list[SkippedPackage] = field(default_factory=list[SkippedPackage])
    index: str | None = None
    extra_indexes: list[str] = field(default_factory=list[str])
    seen: set[Path] = field(default_factory=set[Path])

    def read(self, path: Path, text: str) -> None:
        self.seen.add(path.resolve())
        for number, line in _logical_lines(text):
            line = _VARIABLE.sub(lambda match: self.env.get(match[1], match[0]), line).strip()
            if not line:
                continue
            words, options = _split(line)
            where = f"line {number}"
            parsed = _options(path, where, options)
            if words:
                self._requirement(path, where, words, parsed)
            else:
                self._file_options(path, where, parsed)

    def _file_options(self, path: Path, where: str, options: list[tuple[str, str]]) -> None:
        for name, value in options:
            if name == "requirement":
                self._nested(path, where, value)
            elif name == "constraint":
                reason = "a constraints file is not read: give it its own --from if it pins files"
                self.skipped.append(SkippedPackage(path, f"-c {value}", reason))
            elif name == "editable":
                reason = "an editable install, built from its source tree, not from an index"
                self.skipped.append(SkippedPackage(path, f"-e {value}", reason))
            elif name == "index-url":
                self.index = value
            elif name == "extra-index-url":
                self.extra_indexes.append(value)

    def _nested(self, path: Path, where: str, value: str) -> None:
        if "://" in value:
            raise LockError(path, f"{where}: -r {value}: nested files are read from disk only")
        nested = path.parent / value
        if nested.resolve() in self.seen:
            return
        try:
            text = nested.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise LockError(path, f"{where}: -r {value}: cannot be read ({error})") from None
        self.read(nested, text)

    def _requirement(
        self, path: Path, where: str, words: str, options: list[tuple[str, str]]
    ) -> None:
        if _is_direct(words):
            reason = "a direct reference: installers fetch it from its URL or path, not an index"
            self.skipped.append(SkippedPackage(path, words, reason))
            return
        try:
            requirement = Requirement(words)
        except InvalidRequirement:
            raise LockError(
                path,
                f"{where}: {words[:80]!r} is not a requirement; give a uv.lock, a "
                "pylock.toml or a requirements file with --hash pins",
            ) from None
        if requirement.url:
            reason = "a direct reference: installers fetch it from its URL, not an index"
            self.skipped.append(SkippedPackage(path, requirement.name, reason))
            return
        version = _pinned_version(path, where, requirement)
        hashes = [value for name, value in options if name == "hash"]
        if not hashes:
            raise LockError(path, f"{where}: {requirement} has no --hash: {NOT_HASHED}")
        for value in hashes:
            algorithm, _, digest = value.partition(":")
            pair = parse_hash(path, where, algorithm, digest)
            if pair[0] != "sha256":
                raise LockError(
                    path,
                    f"{where}: {requirement} --hash={value[:24]}…: a requirements file's "
                    "files are found on the upstream by sha256, the hash indexes give; "
                    "generate it with sha256 hashes",
                )
            project = canonicalize_name(requirement.name)
            self.pins.append(PinnedFile(path, project, version, None, (pair,)))


def _pinned_version(path: Path, where: str, requirement: Requirement) -> Version:
    specifiers = list(requirement.specifier)
    pinned = (
        len(specifiers) == 1
        and specifiers[0].operator in {"==", "==="}
        and not specifiers[0].version.endswith(".*")
    )
    if pinned:
        try:
            return Version(specifiers[0].version)
        except InvalidVersion:
            pass
    raise LockError(
        path, f"{where}: {requirement} is not pinned to one version with ==: {NOT_HASHED}"
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's joined lines, comments stripped: a line ending in a backslash continues on the
    next, unless it is a comment, which ends it."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        is_comment = bool(_COMMENT.match(line))
        if line.endswith("\\") and not is_comment:
            if not pending:
                first = number
            pending.append(line[:-1])
            continue
        if pending:
            pending.append(" " + line if is_comment else line)
            lines.append((first, "".join(pending)))
            pending = []
        else:
            lines.append((number, line))
    if pending:
        lines.append((first, "".join(pending)))
    return [(number, _COMMENT.sub("", line)) for number, line in lines]


def _split(line: str) -> tuple[str, str]:
    """The requirement, and the options after it: from the first word starting with '-'."""
    words = line.split(" ")
    for position, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:position]).strip(), " ".join(words[position:])
    return line, ""


def _options(path: Path, where: str, text: str) -> list[tuple[str, str]]:
    """The options as (name, value) pairs, by their long names; flags have "" as value."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise LockError(path, f"{where}: cannot read its options: {error}") from None
    options: list[tuple[str, str]] = []
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        name, equals, value = word.partition("=")
        if equals and name in _VALUE_OPTIONS:
            options.append((_VALUE_OPTIONS[name], value))
        elif word in _VALUE_OPTIONS:
            if position == len(words):
                raise LockError(path, f"{where}: {word} needs a value")
            options.append((_VALUE_OPTIONS[word], words[position]))
            position += 1
        elif word[:2] in _VALUE_OPTIONS and not word.startswith("--"):
            options.append((_VALUE_OPTIONS[word[:2]], word[2:]))  # -rfile, as optparse reads it
        else:
            options.append((word.lstrip("-"), ""))
    return options


def _is_direct(words: str) -> bool:
    """Whether a requirement is a URL, a path or an archive: pip installs those directly."""
    name = words.split(";", 1)[0].split("@", 1)[0].strip()
    return (
        "://" in name
        or name.startswith(("file:", ".", "/", "~"))
        or "/" in name
        or name.endswith(_ARCHIVES)
    )
