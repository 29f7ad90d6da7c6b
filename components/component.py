"""What every component of the index is: one concept, its resources parented to it.

A component names its type token, declares its resources in `declare` (each under a name
derived from the component's, with `child_options`), and returns what it registers as
its outputs. The constructor does the rest, the same way for every component.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import pulumi

Args = TypeVar("Args")


class Component(pulumi.ComponentResource, ABC, Generic[Args]):
    # Part of the URN of the component and of every resource under it: a new token makes
    # `pulumi up` replace them all, so a renamed class keeps its token.
    TYPE: ClassVar[str]

    def __init__(self, name: str, args: Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.register_outputs(dict(self.declare(name, args)))

    @abstractmethod
    def declare(self, name: str, args: Args) -> Mapping[str, Any]:
        """Declare the resources from `args`; return the component's outputs."""

    @property
    def child_options(self) -> pulumi.ResourceOptions:
        """Options for a resource of this component: parented to it."""
        return pulumi.ResourceOptions(parent=self)
