"""mkdocs hooks: the reference tables generated from the code, and links to the repository.

A page asks for a generated table with an HTML comment on a line of its own:

- `<!-- generated: environment-variables -->`: every option's environment variable, read from
  the click app (`private_pypi.cli:app`), the same objects `private-pypi --help` prints;
- `<!-- generated: stack-settings -->`: every stack setting, from Pulumi.yaml's `config`,
  whose types, defaults and descriptions `pulumi config` itself reads.

A link from a page to a file of the repository outside docs/ (`../../components/cdn.py`
from docs/how-to/) works on GitHub as written; on the site it becomes a link to that file
in the repository (`repo_url`). A link to a file that does not exist is left as it is, so
the strict build fails on it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

import click
import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s#:]+)(#[^)\s]*)?\)")


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def environment_variables() -> str:
    from private_pypi.cli import app

    assert isinstance(app, click.Group)
    rows: dict[str, tuple[list[str], str, str]] = {}
    for name, command in sorted(app.commands.items()):
        for parameter in command.params:
            if isinstance(parameter, click.Option) and isinstance(parameter.envvar, str):
                flags = ", ".join(f"`{flag}`" for flag in parameter.opts)
                commands, _, _ = rows.setdefault(
                    parameter.envvar, ([], flags, cell(parameter.help or ""))
                )
                commands.append(f"`{name}`")
    lines = ["| Variable | Flag | Commands | Meaning |", "| --- | --- | --- | --- |"]
    for variable, (commands, flags, meaning) in sorted(rows.items()):
        on = "every command" if len(commands) == len(app.commands) else ", ".join(commands)
        lines.append(f"| `{variable}` | {flags} | {on} | {meaning} |")
    return "\n".join(lines)


def stack_settings() -> str:
    config: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    lines = ["| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for key, spec in config.items():
        if "value" in spec:  # a provider's key, which a project may only give a value
            meaning = "Where the bucket and the deployer live."
            kind, default = "string", spec["value"]
        else:
            kind, default, meaning = spec["type"], spec.get("default"), spec["description"]
        shown = "required" if default is None else "empty" if default == "" else f"`{default}`"
        if isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        lines.append(f"| `{key}` | {kind} | {shown} | {cell(meaning)} |")
    return "\n".join(lines)


GENERATED = {
    "environment-variables": environment_variables,
    "stack-settings": stack_settings,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    markdown = MARKER.sub(lambda match: GENERATED[match[1]](), markdown)
    source = Path(page.file.abs_src_path).parent
    docs = Path(config["docs_dir"]).resolve()
    repository = str(config["repo_url"]).rstrip("/")

    def to_repository(match: re.Match[str]) -> str:
        target = (source / match[1]).resolve()
        if target.is_relative_to(docs) or not target.exists():
            return match[0]
        kind = "tree" if target.is_dir() else "blob"
        path = posixpath.join(*target.relative_to(ROOT).parts)
        return f"]({repository}/{kind}/main/{path}{match[2] or ''})"

    return LINK.sub(to_repository, markdown)
