"""Section 3: validating an upload, presigning URLs, and the read handlers' in-process latency."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import timedelta

from minio import Minio
from profilepics.adapters.minio_store import MinioStore
from profilepics.config import Settings
from profilepics.images import ImageLimits, clean_image
from profilepics.urls import UrlSigner

from bench import inputs
from bench.measure import Row, Sample, Target, per_call, timed

SECTION = "3 Validation & retrieval"
KEY = "originals/bench-000/0123456789abcdef0123456789abcdef.jpg"
SIGNING_CALLS = 2000


def _settings() -> Settings:
    # Presigning is pure computation once the region is known: no server is contacted.
    return Settings(
        s3_endpoint="http://127.0.0.1:9",
        s3_access_key="bench-access-key",
        s3_secret_key="bench-secret-key-0123456789",
        region="us-east-1",
    )


def offline() -> tuple[list[Row], list[Target]]:
    """What needs no stack: clean_image and the signers."""
    rows: list[Row] = []
    photo = inputs.jpeg(4000, 3000)
    case = f"12 MP JPEG ({len(photo) / 1e6:.1f} MB)"
    cleaned = timed(lambda: clean_image(photo, ImageLimits()), repeat=5)
    rows.append(Row(SECTION, case, "clean_image (decode + re-encode)", cleaned))

    settings = _settings()
    client = Minio(
        "127.0.0.1:9",
        access_key="bench-access-key",
        secret_key="bench-secret-key-0123456789",
        secure=False,
        region="us-east-1",
    )
    expiry = timedelta(hours=1)
    minio = per_call(
        lambda: client.presigned_get_object(settings.bucket, KEY, expires=expiry), SIGNING_CALLS
    )
    rows.append(Row(SECTION, "presign one URL", "minio presigned_get_object, region set", minio))

    fresh = UrlSigner(MinioStore(settings), 3600, 600, cache_size=SIGNING_CALLS * 10)
    keys = (f"originals/u/{n:032x}.jpg" for n in itertools.count())
    miss = per_call(lambda: fresh.sign(next(keys)), SIGNING_CALLS)
    rows.append(Row(SECTION, "presign one URL", "UrlSigner, new key (cache miss)", miss))
    signer = UrlSigner(MinioStore(settings), 3600, 600)
    hit = per_call(lambda: signer.sign(KEY), SIGNING_CALLS)
    same = signer.sign(KEY)[0] == signer.sign(KEY)[0]
    note = "same URL for the window" if same else "URL changed within the window!"
    rows.append(Row(SECTION, "presign one URL", "UrlSigner, same key (cache hit)", hit, note))
    targets = [
        Target(SECTION, "presign ≤ 60 µs per URL", f"{minio.median:.1f} µs", minio.median <= 60),
        Target(
            SECTION,
            "repeated calls in one window served from cache",
            f"{hit.median:.2f} µs, {note}",
            same and hit.median < minio.median / 5,
        ),
    ]
    return rows, targets


HANDLERS = (
    ("GetUrlFunction", "/users/{user_id}/picture", "get-url handler"),
    ("ProfilesFunction", "/users/{user_id}", "profiles GET handler"),
)


def in_process(config: dict[str, object], user: str) -> list[Row]:
    """Each read handler called in a fresh process, against the stack's store and table."""
    rows = []
    for function, route, label in HANDLERS:
        request = {**config, "function": function, "route": route, "user": user}
        done = subprocess.run(
            [sys.executable, "-m", "bench.inprocess"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        got = json.loads(done.stdout.strip().splitlines()[-1])
        warm = Sample.of(got["warm_ms"], "ms")
        note = f"first call {got['first_ms']:.0f} ms (lazy imports, clients, connections)"
        case = f"GET {route}, in-process vs local stack"
        rows.append(Row(SECTION, case, f"{label}, warm", warm, note))
    return rows
