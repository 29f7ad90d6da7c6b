"""Advice that names a command: the library says which, the face that shows it says how.

The same error reaches a user of the installed `private-pypi` command and one running
`uv run invoke` in this project's checkout, and each must be told a command they can
type. So messages hold a Command where they advise one, and the face renders them with
its own Program; nothing in the library knows which face is running.
"""

from __future__ import annotations

from dataclasses import dataclass

DISTRIBUTION = "private-pypi-aws"
"""The distribution's name: `private-pypi` on PyPI is an unrelated project."""

INTERRUPTED = "interrupted: running the same command again finishes what it started"
"""What Ctrl-C prints, whenever it comes: every command is safe to run again."""


@dataclass(frozen=True)
class Command:
    """A command a message advises, without the program that runs it: `reindex`."""

    words: str
    # A task of this project's checkout (`env`, `rotate-keys`: they need Pulumi), which
    # the installed command does not have.
    checkout_only: bool = False


@dataclass(frozen=True)
class Extra:
    """An optional part of the distribution that this environment lacks: `verify`."""

    name: str


@dataclass(frozen=True)
class Program:
    """How the running face spells a command: its own name and how it gets an extra."""

    name: str
    checkout: bool

    def spell(self, part: Command | Extra) -> str:
        if isinstance(part, Extra):
            if self.checkout:
                return f"`uv run --group {part.name} invoke …` (its dependency group)"
            return f"`pip install '{DISTRIBUTION}[{part.name}]'` (the {part.name} extra)"
        if part.checkout_only and not self.checkout:
            return f"`{CHECKOUT.name} {part.words}` in the private-pypi checkout"
        return f"`{self.name} {part.words}`"


INSTALLED = Program("private-pypi", checkout=False)
CHECKOUT = Program("uv run invoke", checkout=True)

Part = str | Command | Extra


class Text(str):
    """Words for a user in which commands are parts, spelled when the text is rendered.

    As a str it reads as the installed command would say it, so it sorts, compares and
    searches as any message does; `render` spells it for the face that shows it.
    """

    parts: tuple[Part, ...]

    def __new__(cls, *parts: Part) -> Text:
        text = super().__new__(cls, _spelled(parts, INSTALLED))
        text.parts = parts
        return text

    def render(self, program: Program) -> str:
        return _spelled(self.parts, program)


def _spelled(parts: tuple[Part, ...], program: Program) -> str:
    return "".join(part if isinstance(part, str) else program.spell(part) for part in parts)


def render(text: str | Text, program: Program) -> str:
    """A plain string as it is; a Text with the program's spelling of its commands."""
    return text.render(program) if isinstance(text, Text) else text
