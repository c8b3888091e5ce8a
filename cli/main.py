"""Entry point of the ``prepaid`` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class SubCommand:
    """Where a sub-command lives: ``module:function`` taking the remaining argv."""

    target: str
    help: str
    extra: str  # the pyproject extra that installs what it needs


SUBCOMMANDS: dict[str, SubCommand] = {
    "central": SubCommand(
        "central.cli:main", "the central server: init, serve, check, ...", "server"
    ),
    "kiosk": SubCommand("kiosk.cli:main", "the lobby kiosk app", "kiosk"),
    "gate": SubCommand("gate.cli:gate_main", "the barrier-gate app", "gate"),
    "turnstile": SubCommand("gate.cli:turnstile_main", "the turnstile app", "turnstile"),
    "provision": SubCommand(
        "provisioning.cli:main", "technician tools: enrol, config, doctor", "provision"
    ),
    "queue": SubCommand("offline_queue.cli:main", "the terminal's journal and sync", "terminal"),
    "sim": SubCommand("terminal_drivers.sim_cli:main", "run a device simulator", "kiosk"),
    "lpr": SubCommand("lpr.cli:main", "licence-plate recognition: read, eval", "gate"),
    "demo": SubCommand("cli.demo:main", "start the whole system on its embedded defaults", "demo"),
}


def _version() -> str:
    try:
        return metadata.version("prepaid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _resolve(name: str) -> Callable[[Sequence[str]], int]:
    sub = SUBCOMMANDS[name]
    module_name, func_name = sub.target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise SystemExit(f"prepaid {name}: not available in this version") from err
        raise SystemExit(
            f"prepaid {name}: the package '{err.name}' is missing; "
            f"install this role with: pip install 'prepaid[{sub.extra}]'"
        ) from err
    func: Callable[[Sequence[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="prepaid",
        description="Prepaid estates: one command for the server, the terminals and the tools.",
    )
    parser.add_argument("--version", action="version", version=f"prepaid {_version()}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, sub in SUBCOMMANDS.items():
        subs.add_parser(name, help=sub.help, add_help=False)
    if not args or args[0].startswith("-"):
        parser.parse_args(args)
        parser.print_help()
        return 2
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        parser.parse_args(args)  # prints argparse's "invalid choice" and exits 2
        return 2
    return _resolve(name)(rest)


if __name__ == "__main__":
    raise SystemExit(main())
