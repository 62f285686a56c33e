"""The worker's mitigation activities, derived from the catalogue instead of listed by hand.

The catalogue names each action's apply and undo as methods of activity classes; the
worker builds one instance of each class (holding its clients) and registers every
catalogue method bound to that instance. A catalogue line without an instance fails the
worker at start-up, not an incident at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workflows.catalogue import CATALOGUE


class MissingActivityInstance(LookupError):
    """A catalogue method whose class the worker built no instance of."""


def catalogue_methods() -> list[Callable[..., Any]]:
    """Every apply and undo method of the catalogue, once each, in catalogue order."""
    methods: list[Callable[..., Any]] = []
    for action in CATALOGUE.values():
        methods.extend(m for m in action.methods() if m not in methods)
    return methods


def bind(method: Callable[..., Any], instances: Iterable[object]) -> Callable[..., Any]:
    """``method`` bound to the one instance whose class defines (or inherits) it."""
    name = method.__name__
    owners = [i for i in instances if getattr(type(i), name, None) is method]
    if len(owners) != 1:
        raise MissingActivityInstance(
            f"{len(owners) or 'no'} activity instance(s) for {method.__qualname__}; "
            "the worker must build exactly one")
    bound: Callable[..., Any] = getattr(owners[0], name)
    return bound


def mitigation_activities(instances: Iterable[object]) -> list[Callable[..., Any]]:
    """Every catalogue apply/undo method, bound to its instance among ``instances``."""
    pool = list(instances)
    return [bind(method, pool) for method in catalogue_methods()]
