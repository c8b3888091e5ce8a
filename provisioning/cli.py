"""``prepaid provision``: enrol this terminal, rotate its key, configure it, check it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from provisioning.errors import ProvisioningError

if TYPE_CHECKING:
    from provisioning.identity import TerminalFiles


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prepaid provision",
        description="Technician tools, run on the terminal. The terminal's identity lives in "
        "--dir (default PREPAID_TERMINAL_DIR, else var/terminal).",
    )
    p.add_argument("--dir", help="the terminal's identity directory")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    enroll = sub.add_parser("enroll", help="enrol this terminal with a one-time code")
    enroll.add_argument("--server", default="", help="the central server's URL")
    enroll.add_argument("--code", required=True, help="the enrolment code (or the QR's text)")
    enroll.add_argument(
        "--type",
        dest="terminal_type",
        choices=("kiosk", "gate", "turnstile", "meter-gateway"),
        help="what this terminal is; a code for another type is refused",
    )
    enroll.add_argument("--force", action="store_true", help="enrol again (keeps a backup)")

    sub.add_parser("status", help="this terminal's identity and what the server says of it")
    sub.add_parser("rotate-key", help="make a new key and retire the old one, with no gap")

    cfg = sub.add_parser("config", help="show, pull or set the terminal's configuration")
    cfg_sub = cfg.add_subparsers(dest="config_action", required=True, metavar="WHAT")
    show = cfg_sub.add_parser("show", help="pull the newest version, apply it, print it")
    show.add_argument("--local", action="store_true", help="print what is applied; no network")
    cfg_sub.add_parser("pull", help="pull, apply and acknowledge the newest version")
    setter = cfg_sub.add_parser("set", help="set KEY=VALUE (dotted keys, JSON values)")
    setter.add_argument("assignments", nargs="+", metavar="KEY=VALUE")

    doc = sub.add_parser("doctor", help="run every configured device's self-test")
    doc.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="check this device (instead of the configured ones); repeatable",
    )
    doc.add_argument("--json", action="store_true", help="machine-readable output")

    hb = sub.add_parser("heartbeat", help="send heartbeats to the server")
    hb.add_argument("--every", type=float, help="keep sending every N seconds")
    hb.add_argument("--count", type=int, help="stop after this many tries (with --every)")
    hb.add_argument("--self-test", action="store_true", help="self-test the devices for it")
    hb.add_argument("--backlog", type=int, help="journal entries not yet synced")
    hb.add_argument("--journal-head", type=int, help="the journal's last sequence number")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from provisioning.identity import TerminalFiles

    files = TerminalFiles(args.dir)
    try:
        handler = {
            "enroll": _enroll,
            "status": _status,
            "rotate-key": _rotate,
            "config": _config,
            "doctor": _doctor,
            "heartbeat": _heartbeat,
        }[args.action]
        return handler(files, args)
    except ProvisioningError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _enroll(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning.enrolment import enrol

    identity = enrol(
        files,
        server=args.server,
        code=args.code,
        terminal_type=args.terminal_type,
        force=args.force,
    )
    print(f"enrolled as {identity.terminal_id} ({identity.terminal_type}, {identity.location})")
    print(f"server: {identity.server}")
    print(f"key: {identity.key_id} (private key in {files.key_path}, mode 0600)")
    print(f"configuration version {identity.config_version} written to {files.identity_path}")
    print("next: 'prepaid provision config set devices.NAME=URL', then 'prepaid provision doctor'")
    return 0


def _status(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning.enrolment import open_client

    identity, client = open_client(files)
    with client.session:
        server = client.call("GET", f"/v1/terminals/{identity.terminal_id}")
    print(json.dumps({"local": asdict(identity), "server": server}, indent=2, sort_keys=True))
    return 0


def _rotate(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning.enrolment import open_client
    from provisioning.rotation import rotate

    identity, client = open_client(files)
    with client.session:
        key_id = rotate(files, client)
    print(f"{identity.terminal_id}: new key {key_id}; the old key {identity.key_id} is retired")
    return 0


def _config(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning import config
    from provisioning.enrolment import open_client

    if args.config_action == "show" and args.local:
        identity = files.load()
    else:
        identity, client = open_client(files)
        with client.session:
            if args.config_action == "set":
                identity = config.set_values(files, client, args.assignments)
            else:
                identity, changed = config.pull(files, client)
                if args.config_action == "pull":
                    state = "applied" if changed else "already running"
                    print(f"configuration version {identity.config_version} {state}")
                    return 0
    print(f"# {identity.terminal_id}, configuration version {identity.config_version}")
    print(json.dumps(identity.config, indent=2, sort_keys=True))
    return 0


def _doctor(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning import doctor

    if args.device:
        devices = dict(d.partition("=")[::2] for d in args.device)
    else:
        devices = files.load().config.get("devices", {})
    checks = doctor.run(devices)
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        print(doctor.report(checks))
    return 0 if all(c.ok for c in checks) else 1


def _heartbeat(files: TerminalFiles, args: argparse.Namespace) -> int:
    from provisioning import heartbeat
    from provisioning.enrolment import open_client
    from provisioning.errors import ServerRefused

    _identity, client = open_client(files)
    sent = tried = 0
    with client.session:
        while True:
            tried += 1
            beat = heartbeat.build(
                files,
                self_test=args.self_test,
                backlog=args.backlog,
                journal_head=args.journal_head,
            )
            try:
                answer = heartbeat.send(files, client, beat)
            except ProvisioningError as err:
                # Sent every N seconds, a heartbeat outlives a network outage; a refusal
                # of the terminal itself (revoked, decommissioned) ends it.
                dead = isinstance(err, ServerRefused) and err.status in (401, 403)
                if not args.every or dead:
                    raise
                print(f"heartbeat not sent: {err}", file=sys.stderr, flush=True)
            else:
                sent += 1
                status = answer.get("status")
                print(
                    f"heartbeat {sent} sent: server config version "
                    f"{answer.get('config_version')}, status {status}"
                    + (" (pulled and applied)" if answer.get("config_pulled") else ""),
                    flush=True,
                )
                if status == "decommissioning":
                    print("this terminal is being decommissioned: sync its journal", flush=True)
            if not args.every or (args.count and tried >= args.count):
                return 0 if sent else 1
            time.sleep(args.every)
