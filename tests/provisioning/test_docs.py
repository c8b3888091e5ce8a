"""Every technician command is in the README (sqlite-utils' habit)."""

from __future__ import annotations

import argparse
from pathlib import Path

from central.cli import _parser as central_parser
from provisioning.cli import _parser as provision_parser

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def sub_commands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def test_every_provision_command_is_documented() -> None:
    missing = [
        c for c in sub_commands(provision_parser()) if f"prepaid provision {c}" not in README
    ]
    assert not missing, f"document {missing} in README 'Terminals: enrolment, ...'"


def test_every_fleet_command_is_documented() -> None:
    central = central_parser()
    terminals = next(
        a.choices["terminals"]
        for a in central._actions
        if isinstance(a, argparse._SubParsersAction)
    )
    missing = [
        c
        for c in sub_commands(terminals)
        if c != "list" and f"prepaid central terminals {c}" not in README
    ]
    assert not missing
    assert "prepaid central terminals`" in README
