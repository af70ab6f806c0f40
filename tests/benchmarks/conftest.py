"""Benchmarks run only when asked for: STUDIO_BENCHMARKS=1 (what `make bench` sets). They print figures, never time-assert."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("STUDIO_BENCHMARKS") == "1":
        return
    skip = pytest.mark.skip(reason="benchmark: run with STUDIO_BENCHMARKS=1 (make bench)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@contextlib.contextmanager
def provider_process(latency: float):
    """The OpenAI-compatible test server in its own process, as a real provider is (answering with the
    offline engine's text): its CPU work does not share the benchmark's interpreter. Yields .url."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.generation_services", "llm-server", "--latency", str(latency)],
        cwd=HERE.parents[1], stdout=subprocess.PIPE, text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http"), "the test server did not start"
        yield SimpleNamespace(url=url)
    finally:
        process.terminate()
        process.wait(10)
