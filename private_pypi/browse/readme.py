"""A project's long description as PyPI renders it: PyPA's readme_renderer, by its
Description-Content-Type, sanitized (nh3) so that nothing in it can run.

As on PyPI (warehouse's readme rendering): no content type, or text/x-rst, is
reStructuredText; text/markdown is GitHub-flavoured unless its variant says CommonMark;
text/plain, and any other type, is plain text; a description that fails to render as
what it says it is falls back to plain text.
"""

from __future__ import annotations

import re

# readme_renderer imports docutils and Pygments: only a browse page being rendered needs
# them, never `--help` or a page for pip.
from readme_renderer import markdown, rst, txt

from ..details import ReleaseDetails

_HEADING = re.compile(r"<(/?)h([1-6])\b")


def render_description(details: ReleaseDetails, top_heading: int) -> str:
    """The description as sanitized HTML, its headings moved so that the highest is
    `top_heading`: a README's own <h1> must not outrank the page's."""
    if not details.description.strip():
        return ""
    content_type, parameters = _content_type(details.description_content_type)
    if content_type in ("", "text/x-rst"):
        rendered = rst.render(details.description)
    elif content_type == "text/markdown":
        variant = "CommonMark" if parameters.get("variant") == "CommonMark" else "GFM"
        rendered = markdown.render(details.description, variant=variant)
    else:
        rendered = None
    if rendered is None:
        rendered = txt.render(details.description) or ""
    return _shift_headings(rendered, top_heading)


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
