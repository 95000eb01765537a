"""The `inferlab` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit code. Modules are
discovered, so adding a subcommand touches no shared file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from inferlab import __version__

__all__ = ["UsageError", "add_command", "build_parser", "main"]


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def add_command(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """`subparsers.add_parser(name, **kwargs)`, always with one-line usage mistakes.

    Subparsers build parsers with the class of their parent; this asks for ours explicitly.
    """
    previous = subparsers._parser_class
    subparsers._parser_class = _Parser
    try:
        parser: argparse.ArgumentParser = subparsers.add_parser(name, **kwargs)
    finally:
        subparsers._parser_class = previous
    return parser


def _command_modules() -> dict[str, str]:
    """Subcommand name -> module name (`import_` serves `import`)."""
    return {
        info.name.rstrip("_"): info.name
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
        if not info.name.startswith("_")
    }


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only` one subcommand's module imported.

    Importing one module keeps a long-running `inferlab probe` light: the other
    commands pull in pandas, numpy and plotly when they load.
    """
    parser = _Parser(
        prog="inferlab",
        description="Measure, compare and teach the trade-offs of LLM inference. "
        "Run `make run` (or `python -m inferlab.dashboard`) for the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"inferlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, module_name in _command_modules().items():
        if only is None or name == only:
            importlib.import_module(f"{__name__}.{module_name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    first = args_in[0] if args_in else ""
    parser = build_parser(only=first if first in _command_modules() else None)
    args = parser.parse_args(args_in)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args))
    except UsageError as exc:
        print(f"inferlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inferlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
