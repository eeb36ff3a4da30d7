"""Replacing moto's attributes, checked: the one way the emulator patches moto.

Every behaviour replaces methods (or properties) of moto's classes and modules. A
newer moto may rename or drop one, and a plain assignment would then add an
attribute nobody calls: the behaviour silently gone. ``replace`` refuses that: the
attribute must exist and be callable (a property is replaced by a property), and
the error names ``owner.name``. ``check_moto_version`` compares the installed moto
with ``MOTO_VERSION``, the one version the patches were written for (pinned in
``requirements.txt``); the launcher checks it once before it installs anything.

This module imports nothing of the emulator nor moto at import.
"""

from __future__ import annotations

import types

# The moto whose methods the patches replace (pinned in requirements.txt).
MOTO_VERSION = "5.2.5"

_MISSING = object()


def owner_name(owner) -> str:
    """``moto.rds.models.DBInstance`` for a class, ``moto.server`` for a module."""
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return f"{getattr(owner, '__module__', '?')}.{getattr(owner, '__qualname__', type(owner).__name__)}"


def replace(owner, name: str, replacement):
    """Sets ``owner.name`` to ``replacement`` and returns what was there.

    Raises RuntimeError naming ``owner.name`` when it does not exist, is neither
    callable nor a property, or is a property and ``replacement`` is not.
    """
    label = f"{owner_name(owner)}.{name}"
    original = getattr(owner, name, _MISSING)
    if original is _MISSING:
        raise RuntimeError(
            f"cannot patch {label}: it does not exist; the emulator's patches were written for moto {MOTO_VERSION}"
        )
    if isinstance(original, property):
        if not isinstance(replacement, property):
            raise RuntimeError(f"cannot patch {label}: it is a property and its replacement is not")
    elif not callable(original):
        raise RuntimeError(
            f"cannot patch {label}: it holds a {type(original).__name__} value, not a method; "
            f"the emulator's patches were written for moto {MOTO_VERSION}"
        )
    setattr(owner, name, replacement)
    return original


def add(owner, name: str, value) -> None:
    """Gives ``owner`` an attribute moto itself does not define (a hook moto asks for
    only where it exists, such as a response class's ``_determine_resource``).
    Raises RuntimeError naming ``owner.name`` when moto already defines it: a newer
    moto grew its own, which the emulator's must then be checked against."""
    if getattr(owner, name, _MISSING) is not _MISSING:
        raise RuntimeError(
            f"cannot add {owner_name(owner)}.{name}: moto defines it already; "
            f"the emulator's patches were written for moto {MOTO_VERSION}"
        )
    setattr(owner, name, value)


def check_moto_version(replaced: str = "methods (patching.replace)", check: str = "each of them") -> None:
    """Raises RuntimeError unless the installed moto is ``MOTO_VERSION``."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator replaces moto {MOTO_VERSION}'s {replaced}; "
            f"moto {moto.__version__} is installed: check {check}, then update MOTO_VERSION"
        )
