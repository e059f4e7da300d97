"""Settings from the environment: the one place that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from profilepics.formats import (
    ANIMATED_FORMAT,
    NEGOTIATED,
    UPLOAD_FORMATS,
    VARIANT_FORMATS,
    WEBP_METHOD,
    Encoding,
    ImageFormat,
    Variant,
)

ENV_PREFIX = "PROFILEPICS_"
MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600  # SigV4's own ceiling
# An eventually consistent read may show a profile this much after it changed (DynamoDB:
# usually under a second), and instances' clocks differ by a little: a URL can be signed for
# a key this long after the key was retired.
TABLE_LAG_SECONDS = 5
DEFAULT_SWEEP_GRACE_SECONDS = 15 * 60


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _from_environment(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, str]:
    """Each field's value from its variable: PROFILEPICS_<NAME>, or its aliases in order; names
    matched in any case. (pydantic-settings did this, for ~85 ms of CPU on every cold start.)"""
    by_name = {name.upper(): value for name, value in environ.items()}
    found: dict[str, str] = {}
    for field, info in model.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [ENV_PREFIX + field]
        for name in names:
            if isinstance(name, str) and name.upper() in by_name:
                found[field] = by_name[name.upper()]
                break
    return found


class Settings(BaseModel):
    """How the service runs; validated once per process. Values passed in win over the
    environment's."""

    # Built when first read (get_settings), not when this module is imported (bench section 4).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self), os.environ), **values})

    environment: Literal["development", "production"] = "development"
    # JSON for log pipelines (AWS, Compose); the local stack's default is one line of text.
    log_format: Literal["json", "text"] = "json"

    bucket: str = "profilepics"
    table: str = "profilepics-profiles"
    region: str = Field(
        "us-east-1", validation_alias=AliasChoices("PROFILEPICS_REGION", "AWS_REGION")
    )

    s3_endpoint: str = Field(
        "http://127.0.0.1:8333",
        validation_alias=AliasChoices("PROFILEPICS_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3"),
    )
    public_s3_endpoint: str | None = None
    # Empty: a Secrets Manager secret if one is named, else the SDK's AWS chain (AWS_*
    # variables, then the instance or function role). See credentials.py.
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_credentials_secret: str | None = None
    s3_credentials_max_age_seconds: float = Field(300, gt=0)
    s3_ca_bundle: Path | None = None
    # Per attempt; a hung server answers 503 within (retries + 1) x timeout, ~4 s.
    s3_timeout_seconds: float = 2.0
    s3_retries: int = 1

    dynamodb_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("PROFILEPICS_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"),
    )
    # Unset on AWS, where the function's role signs; dynalite/DynamoDB Local take any keys.
    dynamodb_access_key: SecretStr | None = None
    dynamodb_secret_key: SecretStr | None = None
    dynamodb_timeout_seconds: float = 2.0

    api_base_url: str = "http://127.0.0.1:3000"

    max_bytes: int = Field(5 * 1024 * 1024, gt=0)
    max_pixels: int = Field(50_000_000, gt=0)
    max_frames: int = Field(100, gt=0)
    max_total_pixels: int = Field(50_000_000, gt=0)
    # An animation's canvas: the decoder and encoder each keep a few, a frame at a time.
    max_animation_frame_pixels: int = Field(10_000_000, gt=0)
    # CPU one picture's decode and re-encode may take, checked between frames and steps.
    image_cpu_seconds: float = Field(2.0, gt=0)
    min_dimension: int = Field(0, ge=0)
    allowed_formats: list[ImageFormat] = list(UPLOAD_FORMATS)
    # Made of every original on upload, in every one of thumbnail_formats (the first is what a
    # client naming no format gets); any other size within the bounds is made on first request.
    thumbnail_sizes: list[Annotated[int, Field(ge=1, le=4096)]] = [
        64,
        128,
        256,
        512,
    ]
    thumbnail_formats: list[ImageFormat] = [ImageFormat.WEBP, ImageFormat.AVIF]
    min_variant_size: int = Field(16, ge=1)
    max_variant_size: int = Field(1024, le=4096)
    # On-demand sizes one picture may have; past it the nearest stored size is served.
    max_extra_sizes: int = Field(16, ge=0)
    webp_quality: int = Field(80, ge=1, le=100)
    # AVIF at speed 8 and quality 60: about 2/3 of WebP q80's bytes for 3x its CPU (bench,
    # section 9); speed 6 costs 2.6x more CPU for at most 3% fewer bytes.
    avif_quality: int = Field(60, ge=1, le=100)
    avif_speed: int = Field(8, ge=0, le=10)
    jpeg_quality: int = Field(85, ge=1, le=100)
    animated_thumbnail_size: int | None = 256

    # Who may write: the caller's `sub` claim, or anyone holding the admin scope or group.
    admin_scope: str = "profilepics/admin"
    admin_group: str = "admin"
    public_reads: bool = True

    # Profiles read for display are kept this long per instance (recent.py); 0: never kept.
    read_cache_seconds: float = Field(1.0, ge=0, le=60)
    # How long a browser or cache may keep GET picture's answer (the 302 or the JSON): a
    # picture replaced or deleted meanwhile is shown as it was, or broken, for at most this.
    picture_cache_seconds: int = Field(60, ge=0, le=3600)
    url_expiry_seconds: int = Field(3600, gt=0, le=MAX_URL_EXPIRY_SECONDS)
    url_window_seconds: int = Field(600, gt=0)
    processing_deadline_seconds: int = Field(300, gt=0)
    # How long one delivery's claim on a direct upload keeps other deliveries of its event off
    # it. Longer than the ingest function's Timeout (template.yaml): a claim whose holder was
    # killed expires, one whose holder still runs never does.
    upload_claim_seconds: int = Field(90, gt=0)
    # The scheduled sweep keeps objects younger than this (uploads still on their way).
    sweep_grace_seconds: int = Field(DEFAULT_SWEEP_GRACE_SECONDS, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("allowed_formats", "thumbnail_sizes", "thumbnail_formats"):
                if key in data:
                    data[key] = _csv(data[key])
        return data

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.url_window_seconds >= self.url_expiry_seconds:
            raise ValueError("url_window_seconds must be shorter than url_expiry_seconds")
        if self.s3_credentials_secret and self.s3_access_key.get_secret_value():
            raise ValueError("set either the store's keys or the secret holding them, not both")
        self._check_images()
        if self.environment == "production":
            if not self.s3_endpoint.startswith("https://"):
                raise ValueError("production requires an https:// object-store endpoint")
        return self

    def _check_images(self) -> None:
        if not set(self.allowed_formats) <= set(UPLOAD_FORMATS):
            raise ValueError(f"allowed_formats: each one of {', '.join(UPLOAD_FORMATS)}")
        formats = self.thumbnail_formats
        if (
            not formats
            or len(set(formats)) < len(formats)
            or not set(formats) <= set(VARIANT_FORMATS)
        ):
            raise ValueError(
                f"thumbnail_formats: one or more of {', '.join(VARIANT_FORMATS)}, each once"
            )
        low, high = self.min_variant_size, self.max_variant_size
        if low > high:
            raise ValueError("min_variant_size must not be larger than max_variant_size")
        if not all(low <= size <= high for size in self.thumbnail_sizes):
            raise ValueError(f"thumbnail_sizes must lie within {low}..{high}")

    @property
    def default_format(self) -> ImageFormat:
        """The variants' format for a client that names none and negotiates none."""
        return self.thumbnail_formats[0]

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The thumbnails made of each original: every size in every format, and an animated
        one (made only of an animated original)."""
        made = [Variant(s, f) for s in self.thumbnail_sizes for f in self.thumbnail_formats]
        if self.animated_thumbnail_size:
            made.append(Variant(self.animated_thumbnail_size, ANIMATED_FORMAT, animated=True))
        return tuple(made)

    @property
    def encodings(self) -> dict[ImageFormat, Encoding]:
        """How each variant format is encoded (every one: any may be asked for by name)."""
        made = {
            ImageFormat.WEBP: Encoding(ImageFormat.WEBP, self.webp_quality, method=WEBP_METHOD),
            ImageFormat.AVIF: Encoding(ImageFormat.AVIF, self.avif_quality, speed=self.avif_speed),
            ImageFormat.JPEG: Encoding(ImageFormat.JPEG, self.jpeg_quality),
            ImageFormat.PNG: Encoding(ImageFormat.PNG),
        }
        return {fmt: made[fmt] for fmt in VARIANT_FORMATS}

    @property
    def negotiated_formats(self) -> tuple[ImageFormat, ...]:
        """What `Accept` chooses among, best first: the configured formats, and JPEG always."""
        return tuple(f for f in NEGOTIATED if f in self.thumbnail_formats or f is ImageFormat.JPEG)

    @property
    def url_reach(self) -> timedelta:
        """How long after its retirement a URL for a key may still work: one signed from a
        profile read just before the change, kept by the read cache, and behind the table's lag,
        lives its whole expiry from then."""
        return timedelta(
            seconds=self.url_expiry_seconds + self.read_cache_seconds + TABLE_LAG_SECONDS
        )

    @property
    def signing_endpoint(self) -> str:
        """The endpoint URLs are signed for: the host is part of the signature."""
        return self.public_s3_endpoint or self.s3_endpoint


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
