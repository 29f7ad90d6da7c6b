"""A project's long description as PyPI renders it: PyPA's readme_renderer, by its
Description-Content-Type, sanitized (nh3) so that nothing in it can run.

As on PyPI (warehouse's readme rendering): no content type, or text/x-rst, is
reStructuredText; text/markdown is GitHub-flavoured unless its variant says CommonMark;
text/plain, and any other type, is plain text; a description that fails to render as
what it says it is falls back to plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from ..details import ReleaseDetails

_HEADING = re.compile(r"<(/?)h([1-6])\b")


def render_description(details: ReleaseDetails, top_heading: int) -> str:
    """The description as sanitized HTML, its headings moved so that the highest is
    `top_heading`: a README's own <h1> must not outrank the page's."""
    if not details.description.strip():
        return ""
    rendered = _renderer(details.description_content_type)(details.description)
    if rendered is None:
        from readme_renderer import txt

        rendered = txt.render(details.description) or ""
    return _shift_headings(rendered, top_heading)


def prepare(details: ReleaseDetails) -> None:
    """Import what rendering this description takes (docutils for reStructuredText, about
    150 ms), for a writer to do while its first requests are in flight."""
    if details.description.strip():
        _renderer(details.description_content_type)


def _renderer(content_type_header: str) -> Callable[[str], str | None]:
    """readme_renderer's renderer for the description's type, imported only now: docutils
    and Pygments are for the descriptions that need them, never for `--help` or a page
    for pip."""
    content_type, parameters = _content_type(content_type_header)
    if content_type in ("", "text/x-rst"):
        from readme_renderer import rst

        return rst.render
    if content_type == "text/markdown":
        from readme_renderer import markdown

        variant = "CommonMark" if parameters.get("variant") == "CommonMark" else "GFM"
        return partial(markdown.render, variant=variant)
    return lambda _: None  # any other type: plain text


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    """The media type, lowercased, and its parameters: `text/markdown; variant=GFM`."""
    media_type, *parameters = header.split(";")
    pairs = (parameter.partition("=") for parameter in parameters)
    return media_type.strip().lower(), {
        key.strip().lower(): value.strip().strip('"') for key, _, value in pairs
    }


def _shift_headings(html: str, top: int) -> str:
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    if not levels:
        return html
    shift = top - min(levels)

    def moved(match: re.Match[str]) -> str:
        return f"<{match[1]}h{min(6, int(match[2]) + shift)}"

    return _HEADING.sub(moved, html)
