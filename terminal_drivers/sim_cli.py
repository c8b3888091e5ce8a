"""``prepaid sim DEVICE``: run a device simulator until interrupted.

It prints where to point the driver (a pty path, or ``--link`` for a stable
name) and the control channel's address; see README "Terminal devices and
simulators" for the control commands.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from terminal_drivers.simulation.control import ControlServer
from terminal_drivers.simulation.registry import SIMULATORS, create_simulator
from terminal_drivers.simulation.serial_device import SerialSimulator
from terminal_drivers.simulation.tcp_front import TcpFront


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid sim", description=__doc__.splitlines()[0])
    parser.add_argument("device", choices=sorted(SIMULATORS))
    parser.add_argument("--baud", type=int, default=9600, help="line speed for --pace")
    parser.add_argument("--pace", action="store_true", help="send bytes at the baud rate")
    parser.add_argument("--control-port", type=int, default=0, help="TCP port (0 = any free)")
    parser.add_argument("--link", help="also make this path a symlink to the pty")
    parser.add_argument(
        "--tcp", type=int, metavar="PORT", help="also serve the device on TCP (0 = any free port)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every frame")
    return parser


def main(argv: Sequence[str]) -> int:
    if list(argv[:1]) == ["meters"]:  # a fleet of meters on the network, not a device on a pty
        from terminal_drivers.meter.fleet import main as meters_main

        return meters_main(argv[1:])
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Handlers first: whoever reads our output may stop us right after it.
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    simulator = create_simulator(args.device, baud=args.baud, pace=args.pace)
    endpoint = simulator.start()
    control = ControlServer(simulator, port=args.control_port)
    address = control.start()
    front = None
    if args.tcp is not None and isinstance(simulator, SerialSimulator):
        front = TcpFront(simulator, port=args.tcp)
        front.start()
    if args.link:
        if os.path.islink(args.link):
            os.unlink(args.link)
        os.symlink(endpoint, args.link)
    print(f"device:  {args.link or endpoint}", flush=True)
    print(f"control: {address}", flush=True)
    if front is not None:
        print(f"network: {front.url}", flush=True)
    print(f'example: echo \'{{"cmd": "state"}}\' | socat - {address.replace("tcp://", "TCP:")}')

    try:
        stop.wait()
    finally:
        if front is not None:
            front.stop()
        control.stop()
        simulator.stop()
        if args.link and os.path.islink(args.link):
            os.unlink(args.link)
    return 0
