"""Benchmarks run only when asked for: STUDIO_BENCHMARKS=1 (what `make bench` sets). They print figures, never time-assert."""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("STUDIO_BENCHMARKS") == "1":
        return
    skip = pytest.mark.skip(reason="benchmark: run with STUDIO_BENCHMARKS=1 (make bench)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
