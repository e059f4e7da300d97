"""Typed errors of the service: each carries its HTTP status and stable problem code."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_JSON = "application/problem+json"
PROBLEMS_PATH = "/problems/"


def problem_type(code: str) -> str:
    """A problem's `type`: a URI reference, resolved against the API's own URL, to the page
    documenting its code (the local invoker serves those pages)."""
    return PROBLEMS_PATH + code


def problem_body(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> dict[str, Any]:
    """An application/problem+json body (RFC 9457) with our stable `code`: the one builder."""
    return {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        **extra,
    }


class ProblemError(Exception):
    """Base of every error the API reports as application/problem+json (RFC 9457).

    Raised as itself it is a bug (`internal_error`), logged by type and never with its trace.
    Each subclass's docstring says when it happens: the /problems pages show it.
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.title, self.detail, **self.extra)


class InternalError(ProblemError):
    """A bug of ours, caught at an adapter so no SDK exception or trace goes further."""


class BadRequest(ProblemError):
    """The request is malformed in a way no field names: a `cursor` that is not one this API
    handed out; or, at the local invoker's HTTP edge, not valid HTTP/1.1 or framed in a way a proxy
    could read differently (a Content-Length that is not one plain number, Content-Length with
    Transfer-Encoding, folded headers, a body shorter than its Content-Length).
    """

    status, code, title = 400, "bad_request", "Bad request"


class EmptyFile(ProblemError):
    """The upload had no bytes: an empty body, or an empty `file` part."""

    status, code, title = 400, "empty_file", "The uploaded file is empty"


class MalformedMultipart(ProblemError):
    """A multipart/form-data body that cannot be parsed, or has no `file` field."""

    status, code, title = 400, "malformed_multipart", "Malformed multipart body"


class Unauthorized(ProblemError):
    """No bearer token, or one that is expired, tampered with, or for another issuer or
    audience. Locally, `.venv/bin/profilepics token USER_ID` makes one.
    """

    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    """The token is valid but its user may not do this: change another user's profile or
    picture, or read another user's whole profile without being an admin.
    """

    status, code, title = 403, "forbidden", "Not allowed to act on this resource"


class UserNotFound(ProblemError):
    """No profile has this user id (for GET /me: the token's user has not created one yet)."""

    status, code, title = 404, "user_not_found", "User not found"


class PictureNotFound(ProblemError):
    """The user has no picture."""

    status, code, title = 404, "picture_not_found", "The user has no picture"


class RouteNotFound(ProblemError):
    """No route has this method and path."""

    status, code, title = 404, "not_found", "No such route"


class UserExists(ProblemError):
    """A profile with this user id already exists: read it with GET /users/{user_id}, or change
    it with PATCH.
    """

    status, code, title = 409, "user_exists", "A user with this id already exists"


class Conflict(ProblemError):
    """The profile kept changing while this write tried to land; sending it again is safe."""

    status, code, title = 409, "conflict", "The resource changed concurrently"


class FileTooLarge(ProblemError):
    """The declared or actual size is over the limit (`PROFILEPICS_MAX_BYTES`, 5 MiB by
    default); the response's `max_bytes` says it. At the local invoker's HTTP edge: a body over
    API Gateway's 10 MiB, refused as it streams in.
    """

    status, code, title = 413, "file_too_large", "The file is larger than allowed"


class UnsupportedMediaType(ProblemError):
    """The bytes are not JPEG, PNG, GIF or WebP (the accepted formats are configurable), or are
    an arithmetic-coded JPEG. The format is decided by the content, never by the name or the
    Content-Type.
    """

    status, code, title = 415, "unsupported_media_type", "Unsupported image format"


class UnsupportedContentType(ProblemError):
    """A JSON route was sent another Content-Type, such as curl's default
    application/x-www-form-urlencoded: send `-H 'Content-Type: application/json'`.
    """

    status, code, title = 415, "unsupported_content_type", "Unsupported request content type"


class ValidationFailed(ProblemError):
    """A field, parameter or query value is invalid; `errors` lists where (`loc`) and why
    (`msg`), never echoing the value.
    """

    status, code, title = 422, "validation_error", "The request is invalid"


class ImageTooLarge(ProblemError):
    """The image decodes to more pixels or frames than allowed (decompression bombs are refused
    from the header).
    """

    status, code, title = 422, "image_too_large", "The image has too many pixels or frames"


class ImageCorrupt(ProblemError):
    """The image is corrupt: it does not decode."""

    status, code, title = 422, "image_corrupt", "The image could not be decoded"


class ImageTruncated(ProblemError):
    """Fewer bytes than the declared pixels can be stored in: the file was cut short, or crafted
    to declare far more work than it carries. Checked before any pixel is decoded.
    """

    status, code, title = 422, "image_truncated", "The file is too short for the image it declares"


class ImageTooComplex(ProblemError):
    """Within the pixel and frame caps, but decoding and re-encoding it ran past the CPU budget
    (`PROFILEPICS_IMAGE_CPU_SECONDS`, 2 s by default), a JPEG declares more scans than
    libjpeg may pass over the picture (each costs a pass, however few its bytes), or the file
    has more chunks, marker segments or GIF blocks than any encoder writes.
    """

    status, code, title = 422, "image_too_complex", "The image takes too much work to process"


class ImageTooSmall(ProblemError):
    """The image is narrower or shorter than `PROFILEPICS_MIN_DIMENSION`."""

    status, code, title = 422, "image_too_small", "The image is smaller than allowed"


class InvalidCrop(ProblemError):
    """The crop is not a square of the picture: not four whole numbers of pixels (`x,y,w,h` in
    the query), empty, more than a pixel from square, or reaching outside the upright picture.
    """

    status, code, title = 422, "invalid_crop", "The crop is not a square inside the picture"


class StorageUnavailable(ProblemError):
    """The object store did not answer in time or refused the call; nothing was changed. Retry
    later.
    """

    status, code, title = 503, "storage_unavailable", "The object store is unavailable"


class TableUnavailable(ProblemError):
    """The profile table did not answer in time; nothing was changed. Retry later."""

    status, code, title = 503, "table_unavailable", "The profile table is unavailable"


class UploadExpired(ProblemError):
    """A direct upload's file never reached the store before its policy expired (10 minutes
    and a minute's grace): the profile's `upload.error_code` says so. Start another.
    """

    status, code, title = (
        410,
        "upload_expired",
        "The direct upload never arrived before its policy expired",
    )
