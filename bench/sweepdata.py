"""Many objects and profiles, made cheaply, for the sweep's benchmark: one-byte objects written
straight to the store by many threads, profiles written 25 at a time (BatchWriteItem).

Each user has a picture of five objects (an original, four thumbnails). Of every 20 users, 16
have a profile pointing at theirs; 2 also have an older picture's five objects, orphans; one
has no profile at all (five orphans); one has a profile without a picture and a direct upload
still pending, whose object is kept. So about 16% of the objects are orphans.

`python -m bench.sweepdata --objects N` fills the running `profilepics up` of this checkout
(PROFILEPICS_* as for `profilepics sweep --local`).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from minio import Minio
from profilepics import keys
from profilepics.config import Settings
from profilepics.formats import ImageFormat, Variant
from profilepics.models import DirectUpload, Picture, PictureStatus, Profile

WEBP = Settings().encodings[ImageFormat.WEBP]  # the default key layout

THREADS = 32
SIZES = (64, 128, 256, 512)
PER_USER = 1 + len(SIZES)
_serializer = TypeSerializer()


@dataclass
class Made:
    objects: int = 0
    profiles: int = 0
    orphans: int = 0
    seconds: float = 0.0
    keys: list[str] = field(default_factory=list, repr=False)


def _picture(user_id: str, picture_id: str, when: datetime) -> Picture:
    return Picture(
        id=picture_id,
        key=keys.original(user_id, picture_id, "jpg"),
        format="jpeg",
        content_type="image/jpeg",
        width=640,
        height=480,
        bytes=1,
        status=PictureStatus.READY,
        variants={str(s): keys.thumbnail(user_id, picture_id, Variant(s), WEBP) for s in SIZES},
        uploaded_at=when,
    )


def _objects_of(picture: Picture) -> list[str]:
    return [picture.key, *picture.variants.values()]


def plan(objects: int, run: str) -> Iterator[tuple[Profile | None, list[str], int]]:
    """(profile or None, its objects, how many of them are orphans) until objects are made."""
    when = datetime.now(UTC) - timedelta(hours=1)
    made, index = 0, 0
    while made < objects:
        user_id = f"{run}-{index:07d}"
        kind = index % 20
        index += 1
        current = _picture(user_id, f"{index:032x}", when)
        profile = Profile(
            user_id=user_id,
            display_name="Sweep Bench",
            email=f"{user_id}@example.com",
            created_at=when,
            updated_at=when,
            version=1,
            picture=current,
        )
        stored, orphans = _objects_of(current), 0
        if kind in (16, 17):
            stored += _objects_of(_picture(user_id, f"{index:031x}f", when))
            orphans = PER_USER
        elif kind == 18:
            yield None, stored, PER_USER
            made += len(stored)
            continue
        elif kind == 19:
            upload_id = f"{index:030x}aa"
            # Just asked for: the healer leaves it to its event; the sweep keeps its object.
            upload = DirectUpload(
                id=upload_id, key=keys.upload(user_id, upload_id), created_at=datetime.now(UTC)
            )
            profile = profile.model_copy(update={"picture": None, "upload": upload, "version": 0})
            stored = [upload.key]
        yield profile, stored, orphans
        made += len(stored)


def _item(profile: Profile) -> dict[str, Any]:
    # The table adapter's own mapping: the model as JSON, without the None fields.
    values = profile.model_dump(mode="json", exclude_none=True)
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def generate(minio: Minio, bucket: str, dynamodb: Any, table: str, objects: int) -> Made:
    """Fill the store and the table; returns what was made."""
    began = time.monotonic()
    made = Made()
    run = f"s{int(time.time()) % 100000:05d}"
    profiles: list[Profile] = []
    for profile, stored, orphans in plan(objects, run):
        made.keys += stored
        made.orphans += orphans
        if profile is not None:
            profiles.append(profile)

    def put(key: str) -> None:
        minio.put_object(bucket, key, io.BytesIO(b"x"), 1, content_type="image/jpeg")

    def write(batch: Sequence[Profile]) -> None:
        request = {table: [{"PutRequest": {"Item": _item(p)}} for p in batch]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(put, made.keys))
        list(pool.map(write, list(_chunks(profiles, 25))))
    made.objects, made.profiles = len(made.keys), len(profiles)
    made.seconds = time.monotonic() - began
    return made


def clients(settings: Settings) -> tuple[Minio, Any]:
    """A store client with a connection for each thread, and the table's client."""
    from urllib.parse import urlsplit

    import urllib3
    from profilepics.adapters.dynamodb_table import dynamodb_client

    endpoint = urlsplit(settings.s3_endpoint)
    minio = Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key.get_secret_value(),
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=endpoint.scheme == "https",
        region=settings.region,
        http_client=urllib3.PoolManager(
            maxsize=THREADS,
            ca_certs=str(settings.s3_ca_bundle) if settings.s3_ca_bundle else None,
        ),
    )
    return minio, dynamodb_client(settings, attempts=5)


def main(argv: list[str] | None = None) -> int:
    from infra import local
    from infra.local import LocalSettings

    parser = argparse.ArgumentParser(prog="python -m bench.sweepdata", description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args(argv)
    settings = local.stack_settings(Settings(), LocalSettings())
    minio, dynamodb = clients(settings)
    made = generate(minio, settings.bucket, dynamodb, settings.table, args.objects)
    print(
        f"made {made.objects:,} objects ({made.orphans:,} orphans) and {made.profiles:,} "
        f"profiles in {made.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
