"""The browse pages for people, beside the simple index: a root page that lists every
project (with a filter box), and a page per project, with its description, status,
install lines, releases and files.

`render` renders them from the records, `readme` renders a description as PyPI does, and
`assets` holds their one stylesheet and one script, stored under static/.
"""
