"""Publish Python distributions to a PEP 503/691 simple index on S3 or a local directory."""

# The one place the version is written: pyproject.toml reads it from here (hatch), and
# `private-pypi --version` prints it without importlib.metadata's cost.
__version__ = "0.1.0"
