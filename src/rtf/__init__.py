"""rtf — the Runtime Testing Factory."""

from rtf._version import __version__

__all__ = ["__version__"]
