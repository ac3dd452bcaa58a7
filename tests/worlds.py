"""Worlds built once per module, handed to each test as fresh objects of its own session.

A module builds its world in a module-scoped fixture through `built_once` (tests/conftest.py) and keeps only
references (`keep`); each test's fixture turns them back into objects loaded in the test's session (`reload`):

    @pytest.fixture(scope="module")
    def funded_once(built_once):
        with built_once():
            return keep(funded_initiative())

    @pytest.fixture
    def funded(app, funded_once) -> Funded:
        return reload(funded_once)

`keep` walks dataclasses, plain objects, lists, tuples and dicts; a mapped object becomes its class and primary
key, anything else is kept as it is. `reload` builds new containers each time, so a test that changes its world
object changes nothing for the next test (and its database changes are rolled back)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.exc import NoInspectionAvailable

from programme.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Ref:
    """A mapped object, by class and primary key."""

    cls: type
    identity: tuple[Any, ...]


@dataclass(frozen=True)
class Kept:
    """A world as references."""

    value: Any


def _is_mapped(value: Any) -> bool:
    try:
        inspect(value).mapper  # noqa: B018 - raises for anything that is not a mapped object
    except (NoInspectionAvailable, AttributeError):
        return False
    return True


def _walk(value: Any, leaf: Any) -> Any:
    if isinstance(value, list):
        return [_walk(v, leaf) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_walk(v, leaf) for v in value)
    if isinstance(value, dict):
        return {k: _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, Ref) or (not isinstance(value, type) and _is_mapped(value)):
        return leaf(value)
    if hasattr(value, "__dict__") and not isinstance(value, type) and type(value).__module__.startswith("tests."):
        clone = copy.copy(value)
        object.__setattr__(clone, "__dict__", {k: _walk(v, leaf) for k, v in vars(value).items()})
        return clone
    return value


def keep(world: T) -> Kept:
    """The world as references (call it after the objects were flushed, so that they have their ids)."""
    db.session.flush()

    def ref(obj: Any) -> Ref:
        identity = inspect(obj).identity
        assert identity is not None, f"{obj!r} has no primary key yet"
        return Ref(type(obj), identity)

    return Kept(_walk(world, ref))


def reload(kept: Kept) -> Any:
    """The world again, its objects loaded in the current session."""
    return _walk(kept.value, lambda ref: db.session.get(ref.cls, ref.identity))
