"""Calibrating the acting rules on rendered plates: the figures it derives."""

from __future__ import annotations

from lpr.calibrate import Read, look_alike_miss, lowest_threshold, precision_at, suggested_margin
from lpr.types import Box, Reading

BOX = Box(0, 0, 100, 30)


def read(truth: str, text: str, confidence: float, margin: float = float("inf")) -> Read:
    reading = Reading(text, BOX, (confidence,) * len(text), confidence, "fmt", margin=margin)
    return Read("br", truth, reading)


def test_look_alike_misses() -> None:
    assert look_alike_miss("PFP9095", "PFP9O95")
    assert not look_alike_miss("PFP9095", "PFP9095")
    assert not look_alike_miss("PFP9K95", "PFP9O95")  # K is no look-alike of O
    assert not look_alike_miss("FP9095", "PFP9O95")


def test_the_margin_needed_lies_above_every_look_alike_miss() -> None:
    reads = [
        read("PFP9O95", "PFP9095", 0.99, margin=9.29),
        read("KVY2O53", "KVY2053", 0.99, margin=3.25),
        read("ABC1234", "ABC1234", 0.99, margin=12.0),
        read("ABC1234", "XBC1234", 0.99, margin=1.0),  # wrong, but not by a look-alike
    ]
    margin, misses = suggested_margin(reads)
    assert margin == 10.0
    assert {r.truth for r in misses} == {"PFP9O95", "KVY2O53"}


def test_threshold_reaching_the_target() -> None:
    reads = [read("ABC1234", "ABC1234", 0.99)] * 199 + [read("ABC1234", "ABC1284", 0.92)]
    precision, share = precision_at(reads, 0.90)
    assert precision == 199 / 200
    assert share == 1.0
    assert lowest_threshold(reads, 0.995) == 0.80
    assert lowest_threshold(reads, 1.0) == 0.93
    assert precision_at([], 0.9) == (None, 0.0)
