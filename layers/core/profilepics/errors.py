"""Typed errors of the service: each carries its HTTP status and stable problem code."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_JSON = "application/problem+json"


def problem_body(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> dict[str, Any]:
    """An application/problem+json body (RFC 9457) with our stable `code`: the one builder."""
    return {
        "type": f"https://profilepics.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        **extra,
    }


class ProblemError(Exception):
    """Base of every error the API reports as application/problem+json (RFC 9457)."""

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
    status, code, title = 400, "bad_request", "Bad request"


class EmptyFile(ProblemError):
    status, code, title = 400, "empty_file", "The uploaded file is empty"


class MalformedMultipart(ProblemError):
    status, code, title = 400, "malformed_multipart", "Malformed multipart body"


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    status, code, title = 403, "forbidden", "Not allowed to act on this resource"


class UserNotFound(ProblemError):
    status, code, title = 404, "user_not_found", "User not found"


class PictureNotFound(ProblemError):
    status, code, title = 404, "picture_not_found", "The user has no picture"


class RouteNotFound(ProblemError):
    status, code, title = 404, "not_found", "No such route"


class UserExists(ProblemError):
    status, code, title = 409, "user_exists", "A user with this id already exists"


class Conflict(ProblemError):
    """A conditional write lost a race; the caller may retry."""

    status, code, title = 409, "conflict", "The resource changed concurrently"


class FileTooLarge(ProblemError):
    status, code, title = 413, "file_too_large", "The file is larger than allowed"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported_media_type", "Unsupported image format"


class UnsupportedContentType(ProblemError):
    status, code, title = 415, "unsupported_content_type", "Unsupported request content type"


class ValidationFailed(ProblemError):
    status, code, title = 422, "validation_error", "The request is invalid"


class ImageTooLarge(ProblemError):
    status, code, title = 422, "image_too_large", "The image has too many pixels or frames"


class ImageCorrupt(ProblemError):
    status, code, title = 422, "image_corrupt", "The image could not be decoded"


class ImageTruncated(ProblemError):
    """Fewer bytes than the declared pixels can be stored in: cut short, or crafted."""

    status, code, title = 422, "image_truncated", "The file is too short for the image it declares"


class ImageTooComplex(ProblemError):
    """Within the pixel caps, but the decode and re-encode ran past the CPU budget."""

    status, code, title = 422, "image_too_complex", "The image takes too much work to process"


class ImageTooSmall(ProblemError):
    status, code, title = 422, "image_too_small", "The image is smaller than allowed"


class StorageUnavailable(ProblemError):
    status, code, title = 503, "storage_unavailable", "The object store is unavailable"


class TableUnavailable(ProblemError):
    status, code, title = 503, "table_unavailable", "The profile table is unavailable"


class UploadExpired(ProblemError):
    status, code, title = (
        410,
        "upload_expired",
        "The direct upload never arrived before its policy expired",
    )
