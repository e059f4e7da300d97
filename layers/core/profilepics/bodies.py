"""Reading an uploaded image out of an HTTP request: raw body or multipart, size-checked first."""

from __future__ import annotations

from collections.abc import Mapping

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from profilepics.errors import EmptyFile, FileTooLarge, MalformedMultipart, UnsupportedMediaType

MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries and part headers around the file
RAW_TYPES = ("image/", "application/octet-stream")


def _too_large(max_bytes: int) -> FileTooLarge:
    return FileTooLarge(f"The file is larger than {max_bytes} bytes", max_bytes=max_bytes)


def read_image(
    headers: Mapping[str, str], body: str | None, is_base64: bool, max_bytes: int
) -> bytes:
    """The image bytes of a PUT picture request, or the precise 4xx why not."""
    content_type = headers.get("content-type", "application/octet-stream")
    is_multipart = content_type.lower().startswith("multipart/form-data")
    limit = max_bytes + (MULTIPART_OVERHEAD if is_multipart else 0)
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(max_bytes)
    if not body:
        raise EmptyFile()
    if is_base64 and len(body) // 4 * 3 > limit + 3 or not is_base64 and len(body) > limit:
        raise _too_large(max_bytes)
    # pybase64 (SIMD): the stdlib's decoder took 16 ms of CPU for a 4 MB upload, 0.3 here.
    # Imported here, not at the function's cold start: only a body with bytes needs it.
    import pybase64

    try:
        data = pybase64.b64decode(body, validate=True) if is_base64 else body.encode("latin-1")
    except ValueError:  # binascii.Error, UnicodeEncodeError, or a str that is not ASCII
        raise UnsupportedMediaType("The body is not an image") from None
    if is_multipart:
        data = _file_field(data, content_type, max_bytes)
    elif not content_type.lower().startswith(RAW_TYPES):
        raise UnsupportedMediaType("Send an image body, or multipart/form-data with a file field")
    if not data:
        raise EmptyFile()
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _file_field(body: bytes, content_type: str, max_bytes: int) -> bytes:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedMultipart("The multipart body has no boundary")
    state: dict[str, object] = {"field": b"", "header": b"", "found": False, "ended": False}
    chunks = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] = data[start:end].lower()

    def on_header_value(data: bytes, start: int, end: int) -> None:
        if state["header"] == b"content-disposition":
            _, disposition = parse_options_header(data[start:end])
            state["field"] = disposition.get(b"name", b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["field"] == b"file" and not state["found"]:
            chunks.extend(data[start:end])
            if len(chunks) > max_bytes:
                raise _too_large(max_bytes)

    def on_part_end() -> None:
        if state["field"] == b"file":
            state["found"] = True

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        raise MalformedMultipart("The multipart body could not be parsed") from None
    if not state["found"] or not state["ended"]:
        raise MalformedMultipart("The multipart body has no complete 'file' field")
    return bytes(chunks)
