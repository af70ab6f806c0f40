"""Peak memory of a large chunked dataset upload through the ASGI stack (the upload guard, then Django's handler).

Each measurement runs in a fresh interpreter, which feeds a 400 MB body without a Content-Length, 64 KB at a time,
through the guard and the real ASGI application, and reports its peak RSS growth (VmHWM after - VmRSS before).
The baseline in the same run is the guard as it was (reading the whole body before handing it on).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPLOAD_MB = 400

DRIVER = r'''
import asyncio, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
from studio.asgi import django_asgi_app
from studio.upload_guard import UploadSizeGuard

class BufferingGuard(UploadSizeGuard):
    """The guard before it streamed: the whole body read into a list, then replayed."""
    async def __call__(self, scope, receive, send):
        chunks = []
        while True:
            message = await receive()
            chunks.append(message)
            if not message.get("more_body"):
                break
        replay = iter(chunks)
        async def replayed():
            return next(replay, {"type": "http.disconnect"})
        return await self.app(scope, replayed, send)

def vm(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

async def main(kind, megabytes):
    size = 65536
    count = megabytes * 1024 * 1024 // size
    sent = {"n": 0}
    async def receive():
        sent["n"] += 1
        if sent["n"] > count:  # the body is over; the client waits for the answer (Django listens for a disconnect)
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"x" * size, "more_body": sent["n"] < count}  # a new chunk each time
    statuses = []
    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
    scope = {"type": "http", "method": "POST", "path": "/v1/datasets/2b1f0c3e-0000-4000-8000-000000000000/imports",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"multipart/form-data; boundary=x")],
             "query_string": b"", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "scheme": "http",
             "http_version": "1.1", "root_path": "", "raw_path": b"", "asgi": {"version": "3.0"}}
    guard = (BufferingGuard if kind == "buffering" else UploadSizeGuard)(django_asgi_app)
    before = vm("VmRSS")
    await guard(scope, receive, send)
    print(json.dumps({"growth": vm("VmHWM") - before, "statuses": statuses}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
'''


def _measure(kind: str) -> dict:
    result = subprocess.run([sys.executable, "-c", DRIVER, kind, str(UPLOAD_MB)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env={"DATASET_UPLOAD_MAX_BYTES": str(512 * 1024 * 1024), **_env()})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}


def test_a_large_chunked_upload_keeps_memory_flat():
    baseline = _measure("buffering")
    streamed = _measure("streaming")
    mb = 1024 * 1024
    print(f"\n{UPLOAD_MB} MB chunked upload, peak RSS growth: streaming guard {streamed['growth'] / mb:.1f} MB, "
          f"buffering guard (baseline) {baseline['growth'] / mb:.1f} MB; ratio {streamed['growth'] / max(baseline['growth'], 1):.3f}; "
          f"responses {streamed['statuses']} / {baseline['statuses']}")
