"""Pydantic models by boundary: what the API accepts, what the table holds, what the API returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from profilepics.formats import UPLOAD_FORMATS, Variant

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _valid_email(value: str) -> str:
    # pydantic's own EmailStr check, imported on first use: pydantic.networks imports
    # importlib.metadata at the top (~20 ms of every HTTP function's cold start, bench section 4).
    from pydantic.networks import validate_email

    return validate_email(value)[1]


if TYPE_CHECKING:
    Email = str
else:

    class Email(str):
        """pydantic's EmailStr (the same check, schema and JSON schema), loaded when used."""

        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
            return core_schema.no_info_after_validator_function(
                _valid_email, core_schema.str_schema()
            )

        @classmethod
        def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
            found = handler(schema)
            found.update(type="string", format="email")
            return found


class _Model(BaseModel):
    # Every model is built on first use, not at import: a function's cold start builds only
    # the few it serves (each build is ~1-3 ms of CPU).
    model_config = ConfigDict(defer_build=True)


class _Input(BaseModel):
    # Built on first use: Email loads email-validator (~20 ms), which read-only handlers
    # never need at a cold start.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ProfileCreate(_Input):
    user_id: str = Field(
        pattern=USER_ID_PATTERN, description="URL-safe id, 1-64 characters", examples=["ada"]
    )
    display_name: str = Field(min_length=1, max_length=100, examples=["Ada Lovelace"])
    email: Email = Field(
        max_length=254,
        description="Private: only its owner (GET /me) and admins read it",
        examples=["ada@example.com"],
    )


class ProfileUpdate(_Input):
    display_name: str | None = Field(None, min_length=1, max_length=100, examples=["Countess"])
    email: Email | None = Field(None, max_length=254, examples=["ada@example.org"])

    @model_validator(mode="after")
    def _not_empty(self) -> ProfileUpdate:
        if self.display_name is None and self.email is None:
            raise ValueError("give at least one of display_name, email")
        return self


class PictureStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Crop(_Model):
    """A rectangle of the upright picture, in pixels: the square its variants show."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    x: int = Field(examples=[120], description="Left edge")
    y: int = Field(examples=[40], description="Top edge")
    w: int = Field(examples=[480], description="Width")
    h: int = Field(examples=[480], description="Height; within a pixel of the width")


class Picture(_Model):
    """A stored picture as the table records it: keys, never URLs."""

    id: str
    key: str
    format: str
    content_type: str
    width: int
    height: int
    bytes: int
    frames: int = 1
    status: PictureStatus = PictureStatus.PROCESSING
    # Variant id ("256.avif", formats.Variant.id) -> key: the configured ones and those made on
    # request, whose ids on_demand lists.
    variants: dict[str, str] = Field(default_factory=dict)
    # The square the variants show; None (pictures from before crops): the centred square.
    crop: Crop | None = None
    # "" as uploaded; after a re-crop its tag (keys.next_crop_tag), in the variants' keys.
    crop_tag: str = ""
    # ThumbHash of the variants (base64, unpadded): painted until the image loads.
    placeholder: str | None = None
    on_demand: list[str] = Field(default_factory=list)
    # Keys a regeneration replaced: URLs handed out before may still point at them, so the
    # sweep deletes them only once those have expired (retired_at + Settings.url_reach).
    retired: list[str] = Field(default_factory=list)
    retired_at: datetime | None = None
    # Bumped by every change of the variants, so writers that read the same picture can't
    # both add to it (ProfileTable.swap_picture).
    revision: int = 0
    error: str | None = None
    uploaded_at: datetime

    @field_validator("variants", mode="before")
    @classmethod
    def _with_formats(cls, value: object) -> object:
        # Written before variants had formats, when every one was WebP: "256" is "256.webp".
        if isinstance(value, dict):
            return {(k if "." in k else f"{k}.webp"): v for k, v in value.items()}
        return value

    def stills(self) -> dict[Variant, str]:
        """The stored still variants and their keys (configured and made on request)."""
        found = {}
        for variant_id, key in self.variants.items():
            variant = Variant.parse(variant_id)
            if variant is not None and not variant.animated:
                found[variant] = key
        return found


class UploadState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class DirectUpload(_Model):
    """The last direct (presigned POST) upload of a profile and how it ended.

    `processing` is a claim: one delivery of its bucket event holds it from claimed_at on.
    """

    id: str
    key: str
    state: UploadState = UploadState.PENDING
    error_code: str | None = None
    crop: Crop | None = None
    created_at: datetime
    claimed_at: datetime | None = None


class Profile(_Model):
    user_id: str
    display_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
    picture: Picture | None = None
    upload: DirectUpload | None = None


_SIGNED = "http://127.0.0.1:8333/profilepics/originals/ada/3f2a….jpg?X-Amz-Signature=…"
_VARIANTS = {"64": _SIGNED, "128": _SIGNED, "256": _SIGNED, "512": _SIGNED}


class PicturePublic(_Model):
    id: str = Field(examples=["3f2a9c1e5b7d4f60a1b2c3d4e5f60718"])
    format: str = Field(examples=["jpeg"])
    width: int = Field(examples=[640])
    height: int = Field(examples=[480])
    bytes: int = Field(examples=[48213])
    status: PictureStatus
    error: str | None = Field(None, examples=[None])
    url: str = Field(description="Presigned GET of the cleaned original", examples=[_SIGNED])
    variants: dict[str, str] = Field(
        description="Presigned GETs by size in the default format; the original until they are "
        "ready",
        examples=[_VARIANTS],
    )
    crop: Crop | None = Field(
        None, description="The square of the original the variants show (null: the centre)"
    )
    placeholder: str | None = Field(
        None,
        description="ThumbHash of the picture (base64, unpadded), to paint until it loads; "
        "null until the variants are ready",
        examples=["1QcSHQRnh493V4dIh4eXh1h4kJUI"],
    )
    sources: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Every stored variant by format, then size: what a <picture>'s sources "
        "and their srcset are made of (empty until the variants are ready)",
        examples=[{"avif": _VARIANTS, "webp": _VARIANTS}],
    )


class ProfilePublic(_Model):
    """A profile as anyone may read it: no e-mail address."""

    user_id: str = Field(examples=["ada"])
    display_name: str = Field(examples=["Ada Lovelace"])
    created_at: datetime
    updated_at: datetime
    profile_picture_url: str = Field(
        description="Presigned GET of the picture, or the generated default's URL",
        examples=[_SIGNED],
    )
    profile_picture_variants: dict[str, str] = Field(examples=[_VARIANTS])
    picture: PicturePublic | None = None
    upload: DirectUpload | None = None


class ProfilePrivate(ProfilePublic):
    """The whole profile, for its owner (GET /me) and admins: the public one plus e-mail."""

    email: str = Field(examples=["ada@example.com"])


class ProfilePage(_Model):
    items: list[ProfilePublic]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last"
    )


class PictureURL(_Model):
    url: str = Field(examples=[_SIGNED])
    expires_at: datetime | None = Field(description="null for the default picture, which lasts")
    is_default: bool = Field(examples=[False])
    size: str = Field(
        description="The size served: the one asked for, or the nearest stored one once the "
        "picture has all the on-demand sizes it may have",
        examples=["256"],
    )
    format: str | None = Field(None, description="The served image's format", examples=["avif"])
    status: PictureStatus | None = None


CONTENT_TYPES = [f.content_type for f in UPLOAD_FORMATS]


def _image_type(value: str) -> str:
    if value not in CONTENT_TYPES:
        raise ValueError(f"must be one of {', '.join(CONTENT_TYPES)}")
    return value


# One of formats.py's types; the schema lists them, so Swagger offers them.
ImageType = Annotated[
    str,
    AfterValidator(_image_type),
    WithJsonSchema({"type": "string", "enum": CONTENT_TYPES, "examples": ["image/jpeg"]}),
]


class UploadRequest(_Input):
    """What a direct upload will send, so the policy can name it; both optional."""

    content_type: ImageType | None = Field(
        None, description="The file's type; the policy then requires it and puts it in `fields`"
    )
    size: int | None = Field(
        None, gt=0, description="The file's exact size in bytes", examples=[48213]
    )
    crop: Crop | None = Field(
        None,
        description="The square of the upright picture its variants show, in pixels; checked "
        "against the picture when it arrives (`upload.error_code` `invalid_crop`)",
    )


class PictureUpdate(_Input):
    """A change to the current picture that needs no new upload."""

    crop: Crop = Field(description="The square of the upright picture the variants show")


class UploadPolicy(_Model):
    url: str = Field(
        description="POST a multipart form here: every entry of `fields`, then `file` last",
        examples=["http://127.0.0.1:8333/profilepics"],
    )
    fields: dict[str, str] = Field(
        description="Form fields to send as they are (key, policy, signature, Content-Type …)",
        examples=[
            {
                "key": "uploads/ada/9b1c….",
                "Content-Type": "image/jpeg",
                "policy": "eyJleHBpcmF0aW9uIjog…",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-credential": "…/us-east-1/s3/aws4_request",
                "x-amz-date": "20250101T000000Z",
                "x-amz-signature": "…",
            }
        ],
    )
    expires_at: datetime
    max_bytes: int = Field(description="The largest file the policy accepts", examples=[5242880])
    key: str = Field(examples=["uploads/ada/9b1c0d2e3f405162738495a6b7c8d9e0"])


class FieldError(_Model):
    loc: list[str]
    msg: str
    type: str


class Problem(_Model):
    """An error, as application/problem+json (RFC 9457) with a stable code."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
