"""The terminal's configuration: pull the newest version, apply it, acknowledge it.

Applying means writing it into ``terminal.json``, where the terminal apps read it
when they start (they restart on a new version). ``set`` changes one or more keys
on the server (``devices.bill_acceptor=serial:///dev/ttyUSB0?baud=9600``), guarded
by the version it was based on, then pulls, applies and acknowledges.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from provisioning.client import SignedClient
from provisioning.errors import ProvisioningError
from provisioning.identity import Identity, TerminalFiles


def pull(files: TerminalFiles, client: SignedClient) -> tuple[Identity, bool]:
    """Fetch the newest version; apply and acknowledge it if it is new. ``(identity, changed)``."""
    identity = files.load()
    answer = client.call("GET", f"/v1/terminals/{identity.terminal_id}/config")
    version = int(answer["version"])
    changed = version != identity.config_version or answer["config"] != identity.config
    if changed:
        identity = files.load()
        identity.config_version, identity.config = version, answer["config"]
        files.save(identity)
    if changed or answer.get("acknowledged_version") != version:
        client.call(
            "POST", f"/v1/terminals/{identity.terminal_id}/config/ack", {"version": version}
        )
    return identity, changed


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], value); the value is JSON if it parses, else text."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise ProvisioningError(f"{text!r}: write KEY=VALUE, e.g. devices.printer=sim://printer")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return [p for p in path.strip().split(".") if p], value


def apply_assignments(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    for text in assignments:
        keys, value = parse_assignment(text)
        node = out
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ProvisioningError(f"{'.'.join(keys)}: {key} is not a section")
            node = child
        if value is None or value == "":
            node.pop(keys[-1], None)  # "devices.printer=" removes the printer
        else:
            node[keys[-1]] = value
    return out


def set_values(files: TerminalFiles, client: SignedClient, assignments: list[str]) -> Identity:
    identity = files.load()
    current = client.call("GET", f"/v1/terminals/{identity.terminal_id}/config")
    config = apply_assignments(current["config"], assignments)
    client.call(
        "PUT",
        f"/v1/terminals/{identity.terminal_id}/config",
        {"config": config, "base_version": current["version"]},
    )
    identity, _ = pull(files, client)
    return identity
