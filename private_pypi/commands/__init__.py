"""The commands, one module each: plain functions over the library that take their
settings, report their events to the Reporter a face passes in, and return a result.

Both faces run them: the installed `private-pypi` (click, private_pypi/cli.py) and the
checkout's `invoke` tasks (private_pypi/tasks.py). Nothing here prints, exits or knows
which face called; importing this package imports none of the commands, so a face pays
for the one it runs.
"""
