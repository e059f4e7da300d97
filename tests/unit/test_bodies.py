"""Reading the image out of a PUT request: raw or multipart, base64 or text, size-checked first."""

from __future__ import annotations

import base64

import pytest
from profilepics.bodies import MULTIPART_OVERHEAD, read_image
from profilepics.errors import EmptyFile, FileTooLarge, MalformedMultipart, UnsupportedMediaType
from urllib3.filepost import encode_multipart_formdata

MAX = 1024
IMAGE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2  # every byte value, as binary bodies have


def raw(data: bytes, content_type: str | None = "image/jpeg", declared: int | None = None) -> bytes:
    headers = {"content-type": content_type} if content_type else {}
    if declared is not None:
        headers["content-length"] = str(declared)
    return read_image(headers, base64.b64encode(data).decode(), True, MAX)


def multipart(
    fields: dict[str, tuple[str, bytes, str] | str],
    boundary: str = "b0undary",
    declared: bool = True,
) -> bytes:
    body, content_type = encode_multipart_formdata(fields, boundary=boundary)
    headers = {"content-type": content_type}
    if declared:
        headers["content-length"] = str(len(body))
    return read_image(headers, base64.b64encode(body).decode(), True, MAX)


# --- raw bodies --------------------------------------------------------------------------


def test_raw_base64_body_is_returned_byte_for_byte() -> None:
    assert raw(IMAGE, declared=len(IMAGE)) == IMAGE


def test_raw_body_without_content_type_is_taken_as_octet_stream() -> None:
    assert raw(IMAGE, content_type=None) == IMAGE
    assert raw(IMAGE, content_type="application/octet-stream") == IMAGE


def test_content_type_is_matched_case_insensitively() -> None:
    assert raw(IMAGE, content_type="Image/PNG") == IMAGE


def test_text_body_is_read_as_latin_1_bytes() -> None:
    text = "\xff\xd8\xff\xe0 latin-1 text body"
    assert read_image({"content-type": "image/jpeg"}, text, False, MAX) == text.encode("latin-1")


def test_text_body_that_cannot_be_bytes_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType):
        read_image({"content-type": "image/jpeg"}, "snowman \u2603", False, MAX)


@pytest.mark.parametrize(
    "body",
    [
        "not base64 at all!",
        "QUJD\n",
        "QUJ",
        "QU=D",
        "QUJD===",
        "Q\x00JD",
        "\u00e9\u00e9\u00e9\u00e9",
    ],
)
def test_invalid_base64_is_unsupported(body: str) -> None:
    """Strictly base64, as API Gateway sends it: no whitespace, padding only at the end, and a
    body that is not even ASCII is a 415 too, not a 500."""
    with pytest.raises(UnsupportedMediaType):
        read_image({"content-type": "image/jpeg"}, body, True, MAX)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "application/pdf", "image"]
)
def test_non_image_content_type_is_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw(IMAGE, content_type=content_type)


@pytest.mark.parametrize(("body", "is_base64"), [(None, True), ("", True), ("", False)])
def test_empty_body_is_empty_file(body: str | None, is_base64: bool) -> None:
    with pytest.raises(EmptyFile):
        read_image({"content-type": "image/jpeg"}, body, is_base64, MAX)


# --- size, before anything is decoded ----------------------------------------------------


def test_exactly_the_limit_is_accepted() -> None:
    assert len(raw(bytes(MAX), declared=MAX)) == MAX


def test_oversized_declared_length_is_file_too_large_before_reading_the_body() -> None:
    # The body is not even base64: only the declared length can have refused it.
    with pytest.raises(FileTooLarge):
        read_image({"content-type": "image/jpeg", "content-length": str(MAX + 1)}, "!", True, MAX)


@pytest.mark.parametrize("declared", [None, 10])
def test_oversized_actual_body_is_file_too_large_whatever_was_declared(
    declared: int | None,
) -> None:
    with pytest.raises(FileTooLarge):
        raw(bytes(MAX + 1), declared=declared)


def test_oversized_text_body_is_file_too_large() -> None:
    with pytest.raises(FileTooLarge):
        read_image({"content-type": "image/jpeg"}, "x" * (MAX + 1), False, MAX)


def test_file_too_large_reports_the_limit() -> None:
    with pytest.raises(FileTooLarge) as caught:
        raw(bytes(MAX + 1))
    assert caught.value.extra == {"max_bytes": MAX}


# --- multipart ---------------------------------------------------------------------------


def test_multipart_file_field_is_extracted_byte_for_byte() -> None:
    assert multipart({"file": ("me.jpg", IMAGE, "image/jpeg")}) == IMAGE


def test_multipart_file_field_after_other_fields_and_whatever_its_name_or_type() -> None:
    fields: dict[str, tuple[str, bytes, str] | str] = {
        "caption": "hello",
        "file": ("notes.txt", IMAGE, "text/plain"),
        "other": ("x.bin", b"zzz", "application/octet-stream"),
    }
    assert multipart(fields) == IMAGE


def test_multipart_with_a_long_boundary_works() -> None:
    assert multipart({"file": ("me.jpg", IMAGE, "image/jpeg")}, boundary="-" * 60 + "x") == IMAGE


def test_multipart_without_boundary_is_malformed() -> None:
    body = base64.b64encode(b"--x\r\n").decode()
    with pytest.raises(MalformedMultipart):
        read_image({"content-type": "multipart/form-data"}, body, True, MAX)


def test_multipart_without_a_file_field_is_malformed() -> None:
    with pytest.raises(MalformedMultipart):
        multipart({"picture": ("me.jpg", IMAGE, "image/jpeg"), "caption": "hi"})


@pytest.mark.parametrize(
    "body",
    [
        b"garbage that is not multipart at all",
        b'--b0undary\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + IMAGE,
        b"--b0undary\r\nno colon in this header\r\n\r\nx\r\n--b0undary--\r\n",
    ],
    ids=["garbage", "unterminated", "bad-part-header"],
)
def test_broken_multipart_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMultipart):
        read_image(
            {"content-type": "multipart/form-data; boundary=b0undary"},
            base64.b64encode(body).decode(),
            True,
            MAX,
        )


def test_multipart_with_an_empty_file_is_empty_file() -> None:
    with pytest.raises(EmptyFile):
        multipart({"file": ("me.jpg", b"", "image/jpeg")})


def test_multipart_file_over_the_limit_is_file_too_large_though_the_request_fits() -> None:
    fields: dict[str, tuple[str, bytes, str] | str] = {"file": ("me.jpg", bytes(MAX + 1), "x/y")}
    body, _ = encode_multipart_formdata(fields, boundary="b0undary")
    assert len(body) <= MAX + MULTIPART_OVERHEAD  # the declared length alone would pass
    with pytest.raises(FileTooLarge):
        multipart(fields)


def test_multipart_declared_over_limit_plus_overhead_is_file_too_large() -> None:
    with pytest.raises(FileTooLarge):
        read_image(
            {
                "content-type": "multipart/form-data; boundary=b0undary",
                "content-length": str(MAX + MULTIPART_OVERHEAD + 1),
            },
            "!",
            True,
            MAX,
        )


def test_a_multipart_file_is_size_checked_while_it_is_read_not_after_the_rest() -> None:
    """Given a file part past the limit and, after it, bytes the parser would refuse, the
    answer is FileTooLarge: reading stopped at the limit and never reached the rest."""
    head, _ = encode_multipart_formdata(
        {"file": ("me.jpg", bytes(MAX + 1), "image/jpeg")}, boundary="b0undary"
    )
    body = head[: -len(b"--b0undary--\r\n")] + b"--b0undary\r\nbroken header line\r\n\r\n"
    with pytest.raises(MalformedMultipart):
        read_image(
            {"content-type": "multipart/form-data; boundary=b0undary"},
            base64.b64encode(body.replace(bytes(MAX + 1), b"small")).decode(),
            True,
            MAX,
        )  # the tail alone is refused, so only an early stop can answer FileTooLarge
    with pytest.raises(FileTooLarge):
        read_image(
            {"content-type": "multipart/form-data; boundary=b0undary"},
            base64.b64encode(body).decode(),
            True,
            MAX,
        )


# --- what each refusal says, and the edges of each limit ------------------------------------

MULTIPART = "multipart/form-data; boundary=b0undary"
NOT_AN_IMAGE = "The body is not an image"
TOO_LARGE = "The file is larger than 1024 bytes"
NO_PARTS = base64.b64encode(b"--b0undary--\r\n").decode()
FILE_PART = b'--b0undary\r\nContent-Disposition: form-data; name="file"\r\n\r\n'


def _multipart_body(body: bytes, max_bytes: int = MAX) -> bytes:
    return read_image({"content-type": MULTIPART}, base64.b64encode(body).decode(), True, max_bytes)


@pytest.mark.parametrize(
    ("headers", "body", "is_base64", "error", "detail"),
    [
        ({"content-type": "image/jpeg"}, "QUJD!", True, UnsupportedMediaType, NOT_AN_IMAGE),
        # Base64 whose whole quads fit the limit, with a stray tail: malformed, not too large.
        ({"content-type": "image/jpeg"}, "QUJD" * 342 + "QUJ", True, UnsupportedMediaType,
         NOT_AN_IMAGE),
        ({"content-type": "text/plain"}, "QUJD", True, UnsupportedMediaType,
         "Send an image body, or multipart/form-data with a file field"),
        ({"content-type": "multipart/form-data"}, "QUJD", True, MalformedMultipart,
         "The multipart body has no boundary"),
        ({"content-type": MULTIPART}, NO_PARTS, True, MalformedMultipart,
         "The multipart body has no complete 'file' field"),
        ({"content-type": "image/jpeg"}, "x" * (MAX + 1), False, FileTooLarge, TOO_LARGE),
        ({"content-length": str(MAX + 1)}, "x", False, FileTooLarge, TOO_LARGE),
    ],
    ids=[
        "not-base64", "not-base64-at-the-limit", "not-an-image", "no-boundary", "no-file",
        "too-large", "declared",
    ],
)  # fmt: skip
def test_each_refusal_says_why(
    headers: dict[str, str], body: str, is_base64: bool, error: type[Exception], detail: str
) -> None:
    with pytest.raises(error) as refused:
        read_image(headers, body, is_base64, MAX)
    assert str(refused.value) == detail


def test_unparseable_multipart_says_so() -> None:
    with pytest.raises(MalformedMultipart, match="^The multipart body could not be parsed$"):
        _multipart_body(b"--b0undary\r\nno colon in this header\r\n\r\nx\r\n--b0undary--\r\n")


def test_a_multipart_file_over_the_limit_reports_the_limit() -> None:
    with pytest.raises(FileTooLarge, match="^The file is larger than 1024 bytes$") as refused:
        _multipart_body(FILE_PART + bytes(MAX + 1) + b"\r\n--b0undary--\r\n")
    assert refused.value.extra == {"max_bytes": MAX}


def test_a_multipart_file_of_exactly_the_limit_is_accepted_though_the_body_is_larger() -> None:
    assert multipart({"file": ("me.jpg", bytes(MAX), "image/jpeg")}) == bytes(MAX)


def test_a_text_body_of_exactly_the_limit_is_accepted() -> None:
    assert read_image({"content-type": "image/jpeg"}, "x" * MAX, False, MAX) == b"x" * MAX


def test_base64_with_a_character_outside_the_alphabet_is_refused_not_skipped() -> None:
    with pytest.raises(UnsupportedMediaType):
        read_image({"content-type": "image/jpeg"}, "QUJD!AAA", True, MAX)


def test_a_multipart_body_cut_before_its_closing_boundary_is_malformed() -> None:
    with pytest.raises(MalformedMultipart, match="no complete 'file' field"):
        _multipart_body(FILE_PART + IMAGE + b"\r\n--b0undary\r\n")


def test_a_part_without_a_content_disposition_is_no_file_field() -> None:
    body = b"--b0undary\r\nContent-Type: image/jpeg\r\n\r\n" + IMAGE + b"\r\n--b0undary--\r\n"
    with pytest.raises(MalformedMultipart, match="no complete 'file' field"):
        _multipart_body(body)


@pytest.mark.parametrize("max_bytes", [1023, 1024, 1025])
def test_a_base64_body_is_refused_by_size_before_decoding_iff_it_could_hold_too_many_bytes(
    max_bytes: int,
) -> None:
    """Base64 holds 3 bytes per 4 characters; the check allows 3 bytes of padding slack. A body
    that is not base64 at all tells which check refused it: size first, or the decoder."""
    fits = (max_bytes + 3) // 3 * 4  # the longest body that may decode to max_bytes + 3
    headers = {"content-type": "image/jpeg"}
    with pytest.raises(UnsupportedMediaType):
        read_image(headers, "!" * fits, True, max_bytes)
    with pytest.raises(FileTooLarge):
        read_image(headers, "!" * (fits + 4), True, max_bytes)
