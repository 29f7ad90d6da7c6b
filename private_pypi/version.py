"""The version, written once: pyproject.toml reads it from here (hatch), and `private-pypi
--version` prints it without the cost of importlib.metadata."""

__version__ = "0.1.0"
