"""Every invalid upload gets its precise problem code, and writes nothing: no new object in the
bucket, the profile's picture unchanged."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.stackrun import RunningStack, bearer
from tests.unit import imagegen as gen

MiB = 1024 * 1024
MAX_BYTES = 5 * MiB  # the stack runs with the default PROFILEPICS_MAX_BYTES
JPEG = gen.encode(gen.photo(64, 48), "JPEG")
GIF = gen.animation("GIF", 2, (8, 8))

Send = Callable[[str, str], requests.Response]


def raw(data: bytes, content_type: str = "image/jpeg") -> Send:
    def send(api: str, user_id: str) -> requests.Response:
        headers = {"Content-Type": content_type, **bearer(user_id)}
        return requests.put(
            f"{api}/users/{user_id}/picture", data=data, headers=headers, timeout=60
        )

    return send


def multipart(field: str, name: str, data: bytes, content_type: str = "image/jpeg") -> Send:
    def send(api: str, user_id: str) -> requests.Response:
        files = {field: (name, data, content_type)}
        return requests.put(
            f"{api}/users/{user_id}/picture", files=files, headers=bearer(user_id), timeout=60
        )

    return send


BROKEN_MULTIPART = b"--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\nnot closed"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)  # no image in it
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + bytes(200)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(500)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# A GIF header (1x1 screen, no palette) with a whole JPEG behind it, where the image should be.
GIF_JPEG_POLYGLOT = b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + JPEG
HTML_GIF_POLYGLOT = b"<html><img src=x onerror=alert(1)>" + GIF

PHOTO = gen.encode(gen.photo(400, 300), "JPEG", quality=90)
ARITHMETIC_JPEG = (Path(__file__).parents[1] / "unit" / "data" / "jpeg_arithmetic.jpg").read_bytes()
HOSTILE: list[tuple[str, Send, int, str]] = [
    (
        "gif-100-1x1-frames-on-1000-canvas",
        raw(gen.gif_sparse(), "image/gif"),
        422,
        "image_too_large",
    ),
    (
        "webp-2-frames-of-7000",
        raw(gen.webp_solid(7000, 7000, 2), "image/webp"),
        422,
        "image_too_large",
    ),
    ("webp-1-frame-of-7000", raw(gen.webp_solid(7000, 7000), "image/webp"), 422, "image_too_large"),
    ("jpeg-cut-with-eoi-appended", raw(gen.jpeg_cut(PHOTO)), 422, "image_corrupt"),
    (
        "png-stream-ending-at-row-10-of-600",
        raw(gen.png_rows_cut(400, 600, 10), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "jpeg-header-of-7000-with-1kb-of-scan",
        raw(gen.jpeg_at_floor(7000, 7000)[:1400] + b"\xff\xd9"),
        422,
        "image_truncated",
    ),
    (
        "jpeg-2000-scans-of-end-of-band-runs",
        raw(gen.jpeg_eob_scans(2000)),
        422,
        "image_too_complex",
    ),
    (
        "png-of-400000-empty-chunks",
        raw(gen.block_spam("PNG", 400_000), "image/png"),
        422,
        "image_too_complex",
    ),
    (
        "gif-of-1000000-empty-comments",
        raw(gen.block_spam("GIF", 1_000_000), "image/gif"),
        422,
        "image_too_complex",
    ),
    (
        "png-below-deflates-floor",
        raw(gen.png_header_only(4000, 3000), "image/png"),
        422,
        "image_truncated",
    ),
]

CASES: list[tuple[str, Send, int, str]] = [
    ("empty-raw", raw(b""), 400, "empty_file"),
    ("empty-multipart-file", multipart("file", "me.jpg", b""), 400, "empty_file"),
    ("too-large-raw", raw(b"\xff\xd8\xff" + bytes(MAX_BYTES - 2)), 413, "file_too_large"),
    (
        "too-large-multipart-file",
        multipart("file", "me.jpg", b"\xff\xd8\xff" + bytes(MAX_BYTES - 2)),
        413,
        "file_too_large",
    ),
    (
        "multipart-unterminated",
        raw(BROKEN_MULTIPART, "multipart/form-data; boundary=xyz"),
        400,
        "malformed_multipart",
    ),
    (
        "multipart-garbage",
        raw(b"garbage", "multipart/form-data; boundary=xyz"),
        400,
        "malformed_multipart",
    ),
    (
        "multipart-no-boundary",
        raw(BROKEN_MULTIPART, "multipart/form-data"),
        400,
        "malformed_multipart",
    ),
    ("multipart-no-file-field", multipart("picture", "me.jpg", JPEG), 400, "malformed_multipart"),
    ("svg", raw(SVG, "image/svg+xml"), 415, "unsupported_media_type"),
    ("svg-as-jpeg", multipart("file", "me.jpg", SVG), 415, "unsupported_media_type"),
    ("pdf", raw(PDF, "application/pdf"), 415, "unsupported_media_type"),
    ("pdf-as-jpeg", raw(PDF), 415, "unsupported_media_type"),
    ("text", raw(b"just some text", "text/plain"), 415, "unsupported_media_type"),
    ("text-as-jpeg", raw(b"just some text"), 415, "unsupported_media_type"),
    ("elf-renamed-jpg", multipart("file", "photo.jpg", ELF), 415, "unsupported_media_type"),
    ("heic-header-only", raw(HEIC, "image/heic"), 422, "image_corrupt"),
    ("mp4-sent-as-heic", raw(MP4, "image/heic"), 415, "unsupported_media_type"),
    ("bmp", raw(gen.encode(gen.marked(), "BMP"), "image/bmp"), 415, "unsupported_media_type"),
    ("gif-jpeg-polyglot", raw(GIF_JPEG_POLYGLOT, "image/gif"), 415, "unsupported_media_type"),
    ("html-gif-polyglot", raw(HTML_GIF_POLYGLOT, "image/gif"), 415, "unsupported_media_type"),
    (
        "30000x30000-png-header",
        raw(gen.png_header_only(30000, 30000), "image/png"),
        422,
        "image_too_large",
    ),
    ("169-mp-png-bomb", raw(gen.png_bomb(13000, 13000), "image/png"), 422, "image_too_large"),
    (
        "gif-over-frame-cap",
        raw(gen.animation("GIF", 101, (4, 4)), "image/gif"),
        422,
        "image_too_large",
    ),
    ("truncated-jpeg", raw(JPEG[: len(JPEG) // 2]), 422, "image_corrupt"),
    # Issue 11: few bytes that declare a lot of work, and truncation behind a valid end.
    *HOSTILE,
    ("gif-lzw-code-size-0", raw(gen.gif_lzw(0), "image/gif"), 422, "image_corrupt"),
    ("gif-lzw-code-size-9", raw(gen.gif_lzw(9), "image/gif"), 422, "image_corrupt"),
    (
        "apng-frame-of-dispose-op-7",
        raw(gen.apng_frames(3, 100, whole=True, ops=(7, 0)), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "apng-of-50-frames-declaring-2",
        raw(gen.apng_frames(50, 64, whole=True, declared=2), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "apng-first-frame-half-the-canvas",
        raw(gen.apng_frames(3, 100, whole=True, first=50), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "png-compression-method-1",
        raw(gen.png_of_rows(gen.photo(64, 48), compression=1), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "png-palette-without-PLTE",
        raw(gen.png_palette_misplaced(after_pixels=False), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "png-palette-PLTE-after-IDAT",
        raw(gen.png_palette_misplaced(after_pixels=True), "image/png"),
        422,
        "image_corrupt",
    ),
    (
        "jpeg-arithmetic-coded-cut-in-half",
        raw(ARITHMETIC_JPEG[: len(ARITHMETIC_JPEG) // 2] + b"\xff\xd9"),
        415,
        "unsupported_media_type",
    ),
    (
        "progressive-jpeg-cut-in-half-EOI-appended",
        raw(gen.jpeg_cut(gen.encode(gen.photo(400, 300), "JPEG", progressive=True))),
        422,
        "image_corrupt",
    ),
    (
        "png-5000x5000-to-be-turned",
        raw(gen.png_zeros(5000, 5000, orientation=6), "image/png"),
        422,
        "image_too_large",
    ),
    (
        "png-behind-jpeg-magic",
        raw(b"\xff\xd8\xff" + gen.encode(gen.marked(), "PNG")),
        422,
        "image_corrupt",
    ),
]


def snapshot(api: str, stack: RunningStack, user_id: str) -> dict[str, Any]:
    profile = requests.get(f"{api}/users/{user_id}", timeout=10).json()
    return {
        "picture": profile["picture"]["id"],
        "updated_at": profile["updated_at"],
        "originals": stack.keys(f"originals/{user_id}/"),
        "thumbnails": stack.keys(f"thumbnails/{user_id}/"),
    }


@pytest.fixture(scope="module")
def owner(api: str, stack: RunningStack) -> Iterator[str]:
    """A user whose picture and thumbnails are in place, so any write would show."""
    user_id = f"v-{time.time_ns():x}"
    body = {"user_id": user_id, "display_name": "Val Idator", "email": "v@example.com"}
    assert requests.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10).ok
    assert raw(JPEG)(api, user_id).status_code == 201
    deadline = time.monotonic() + 15
    while requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"]["status"] != "ready":
        assert time.monotonic() < deadline, "thumbnails never became ready"
        time.sleep(0.2)
    yield user_id


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [pytest.param(send, status, code, id=name) for name, send, status, code in CASES],
)
def test_invalid_upload_gets_its_code_and_writes_nothing(
    api: str, stack: RunningStack, owner: str, send: Send, status: int, code: str
) -> None:
    before = snapshot(api, stack, owner)

    response = send(api, owner)

    assert (response.status_code, response.headers["Content-Type"]) == (
        status,
        "application/problem+json",
    ), response.text
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["detail"] and "Traceback" not in response.text
    assert snapshot(api, stack, owner) == before


def test_upload_for_an_unknown_user_is_404_and_writes_nothing(
    api: str, stack: RunningStack
) -> None:
    ghost = f"ghost-{time.time_ns():x}"

    response = raw(JPEG)(api, ghost)

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert [key for key in stack.keys() if ghost in key] == []
    assert requests.get(f"{api}/users/{ghost}", timeout=10).status_code == 404


def test_upload_for_another_user_is_403_and_writes_nothing(
    api: str, stack: RunningStack, owner: str
) -> None:
    before = snapshot(api, stack, owner)
    headers = {"Content-Type": "image/jpeg", **bearer("someone-else")}
    response = requests.put(f"{api}/users/{owner}/picture", data=JPEG, headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert snapshot(api, stack, owner) == before


def test_six_hostile_uploads_at_once_leave_a_normal_upload_working(
    api: str, stack: RunningStack, owner: str
) -> None:
    """Six crafted uploads that once took 5-12 s of CPU each starved a normal one into a 502."""
    nasty = [raw(gen.gif_sparse(), "image/gif"), raw(gen.webp_solid(7000, 7000, 2), "image/webp")]
    sends = [nasty[i % 2] for i in range(6)]
    with ThreadPoolExecutor(max_workers=7) as pool:
        hostile = [pool.submit(send, api, owner) for send in sends]
        normal = pool.submit(raw(gen.encode(gen.photo(640, 480), "JPEG")), api, owner)
        answers = [future.result() for future in hostile]
        answered = normal.result()

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(422, "image_too_large")] * 6
    assert answered.status_code == 200, answered.text
