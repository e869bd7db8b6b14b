"""``python -m rtf`` and the ``rtf`` console script.

``rtf --version`` is answered here without importing typer, so it costs little more than
starting Python.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (and exits when run as a script)."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from rtf._version import __version__

        sys.stdout.write(f"rtf {__version__}\n")
        return 0
    from rtf.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
