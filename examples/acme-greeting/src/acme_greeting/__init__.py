"""Example library for the private-pypi demo."""

__version__ = "1.0.0"


def greet(name: str) -> str:
    return f"Hello, {name}, from the private index!"
