"""`profilepics demo`: the bucket checked, a demo user, one upload through the core, and a real
signed URL."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from profilepics import keys
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import ProblemError, UserExists
from profilepics.formats import ImageFormat
from profilepics.models import ProfileCreate
from pydantic import ValidationError

from infra import local
from infra.bootstrap import ensure_table
from infra.invoker.template import load

Say = Callable[[str], None]
SAMPLE_NAME = "sample.jpg"


def sample_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A generated picture: colour gradients with a white disc, so nothing ships as a file."""
    from PIL import Image, ImageDraw

    img = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").rotate(90).resize((width, height)),
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
        ),
    )
    r = min(width, height) // 4
    ImageDraw.Draw(img).ellipse(
        (width // 2 - r, height // 2 - r, width // 2 + r, height // 2 + r), fill="white"
    )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def run_demo(settings: Settings, user_id: str, file: Path | None, say: Say) -> int:
    """Seed the stack the way the original script meant to, with a URL that really opens."""
    try:
        name, data = (file.name, file.read_bytes()) if file else (SAMPLE_NAME, sample_jpeg())
        user = ProfileCreate(user_id=user_id, display_name="Demo User", email="demo@example.com")
    except OSError as exc:
        say(f"demo failed: cannot read {file}: {exc.strerror}")
        return 1
    except ValidationError:
        say(f"demo failed: {user_id!r} is not a valid user id")
        return 1
    try:
        _demo(settings, user, name, data, say)
    except ProblemError as exc:
        say(f"demo failed ({exc.code}): {exc.detail}")
        return 1
    except (BotoCoreError, ClientError) as exc:
        say(f"demo failed: the table did not answer ({type(exc).__name__})")
        return 1
    return 0


def _demo(settings: Settings, user: ProfileCreate, name: str, data: bytes, say: Say) -> None:
    user_id = user.user_id
    parts = build(settings)
    # `profilepics up` made the bucket with the store's admin identity; the demo signs with
    # the app's, which may use the bucket but not create one.
    parts.store.ping()
    say(f"Bucket '{settings.bucket}' already exists")
    if ensure_table(settings, load(local.template_path())):
        say(f"Table '{settings.table}' created")

    try:
        parts.profiles.create(user)
        say(f"User '{user_id}' created")
    except UserExists:
        say(f"User '{user_id}' already exists")

    # The API's own use case: the same checks, clean-up, key layout and write order.
    uploaded, _ = parts.pictures.upload(user_id, data)
    key = keys.original(user_id, uploaded.id, ImageFormat(uploaded.format).extension)
    say(f"File '{name}' successfully uploaded as {key}")
    say(f"  {uploaded.format.upper()} {uploaded.width}x{uploaded.height}, {uploaded.bytes} bytes")
    url = parts.pictures.url(user_id, "original")
    say(f"Generated presigned URL: {url.url}")
    if url.expires_at is not None:
        say(f"  valid until {url.expires_at:%Y-%m-%d %H:%M:%S} UTC")
