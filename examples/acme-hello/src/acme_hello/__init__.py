"""Example application for the private-pypi demo."""

from acme_greeting import greet

__version__ = "1.0.0"


def main() -> None:
    print(greet("world"))
