"""Shared fixtures: one plate reader per session, since loading the models takes a second."""

from __future__ import annotations

import pytest

from lpr.reader import PlateReader, ReaderSettings


@pytest.fixture(scope="session")
def reader() -> PlateReader:
    return PlateReader(ReaderSettings(region="any"))
