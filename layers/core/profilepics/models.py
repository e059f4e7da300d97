"""Pydantic models by boundary: what the API accepts, what the table holds, what the API returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from profilepics.formats import Variant

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Input(BaseModel):
    # Built on first use: EmailStr loads email-validator (~20 ms), which read-only handlers
    # never need at a cold start.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ProfileCreate(_Input):
    user_id: str = Field(pattern=USER_ID_PATTERN, description="URL-safe id, 1-64 characters")
    display_name: str = Field(min_length=1, max_length=100)
    email: EmailStr = Field(max_length=254)


class ProfileUpdate(_Input):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    email: EmailStr | None = Field(None, max_length=254)

    @model_validator(mode="after")
    def _not_empty(self) -> ProfileUpdate:
        if self.display_name is None and self.email is None:
            raise ValueError("give at least one of display_name, email")
        return self


class PictureStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Picture(BaseModel):
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
    on_demand: list[str] = Field(default_factory=list)
    # Keys a regeneration replaced: URLs handed out before may still point at them, so the
    # sweep deletes them only once those have expired (retired_at + the URLs' life).
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
    DONE = "done"
    FAILED = "failed"


class DirectUpload(BaseModel):
    """The last direct (presigned POST) upload of a profile and how it ended."""

    id: str
    key: str
    state: UploadState = UploadState.PENDING
    error_code: str | None = None
    created_at: datetime


class Profile(BaseModel):
    user_id: str
    display_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
    picture: Picture | None = None
    upload: DirectUpload | None = None


class PicturePublic(BaseModel):
    id: str
    format: str
    width: int
    height: int
    bytes: int
    status: PictureStatus
    error: str | None = None
    url: str
    variants: dict[str, str]
    sources: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Every stored variant by format, then size: what a <picture>'s sources "
        "and their srcset are made of (empty until the variants are ready)",
    )


class ProfilePublic(BaseModel):
    user_id: str
    display_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    profile_picture_url: str
    profile_picture_variants: dict[str, str]
    picture: PicturePublic | None = None
    upload: DirectUpload | None = None


class ProfilePage(BaseModel):
    items: list[ProfilePublic]
    next_cursor: str | None = None


class PictureURL(BaseModel):
    url: str
    expires_at: datetime | None
    is_default: bool
    size: str = Field(
        description="The size served: the one asked for, or the nearest stored one once the "
        "picture has all the on-demand sizes it may have"
    )
    format: str | None = Field(None, description="The served image's format")
    status: PictureStatus | None = None


class UploadPolicy(BaseModel):
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int
    key: str


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457) with a stable code."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
