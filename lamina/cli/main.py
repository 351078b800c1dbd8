"""The `lamina` command: `lamina {train,predict,info,export,serve} ... [--debug]`.

Every error the command expects (bad arguments, missing or bad files, data the library
refuses) is printed as one line, `lamina: error: ...`, with exit status 1 (2 for bad
arguments); `--debug` prints the whole traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from lamina.cli import export, info, predict, serve, train

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`--help` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every `lamina` command."""
    from lamina import __version__

    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")  # fmt: skip
    parser = Parser(
        prog="lamina",
        description="Train, inspect, export and serve lamina models from the shell.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"lamina {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for module in (train, predict, info, export, serve):
        module.add_parser(commands, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:  # the reader went away (`lamina predict ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("lamina: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"lamina: error: {message or type(error).__name__}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
