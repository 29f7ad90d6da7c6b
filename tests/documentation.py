"""The documentation as the tests read it: the pages under docs/, their sections, and the
blocks they mark as recipes.

A recipe is a fenced block right after a `<!-- recipe: NAME -->` line (an HTML comment,
which mkdocs-material renders as nothing). Every recipe of every page is run by a test, as
written; a recipe no test knows fails `test_every_recipe_is_run`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
RECIPE = re.compile(r"<!-- recipe: ([\w-]+) -->\n\s*```(?:bash|sh)\n(.*?)```", re.DOTALL)


@cache
def page(name: str) -> str:
    """A page's Markdown, by its path under docs/ (`how-to/mirror.md`)."""
    return (DOCS / name).read_text(encoding="utf-8")


def pages() -> dict[str, str]:
    return {
        str(path.relative_to(DOCS)): page(str(path.relative_to(DOCS)))
        for path in sorted(DOCS.rglob("*.md"))
    }


def section(name: str, heading: str) -> str:
    """The text under a heading (`## The command`) of a page, up to the next heading of the
    same or a higher level, outside code blocks."""
    text = page(name)
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    fence = False
    offset = start
    for line in text[start:].splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and re.match(rf"#{{1,{level}}} ", line):
            return text[start:offset]
        offset += len(line)
    return text[start:]


def recipes() -> dict[str, str]:
    """Every recipe of every page, by name; a name used twice fails here."""
    found: dict[str, str] = {}
    for name, text in pages().items():
        for recipe, block in RECIPE.findall(text):
            assert recipe not in found, f"recipe {recipe} twice (again in {name})"
            found[recipe] = block
    return found
