"""The picture use cases: upload, replace, delete, URLs and direct-upload policies."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from profilepics import keys
from profilepics.accept import negotiate
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.crop import check_shape, check_within
from profilepics.crop import default as default_crop
from profilepics.errors import Conflict, FileTooLarge, ProblemError, ValidationFailed
from profilepics.formats import (
    ANIMATED,
    ANIMATED_FORMAT,
    ORIGINAL,
    VARIANT_FORMATS,
    ImageFormat,
    Variant,
)
from profilepics.metrics import Meter, Metric, NullMeter, stopwatch
from profilepics.models import (
    Crop,
    DirectUpload,
    Picture,
    PicturePublic,
    PictureStatus,
    PictureURL,
    Profile,
    UploadPolicy,
    UploadRequest,
)
from profilepics.on_demand import OnDemand, Superseded
from profilepics.ports import ObjectStore, ProfileTable
from profilepics.presenter import Presenter
from profilepics.profile_use_cases import require_profile, shown_profile
from profilepics.recent import RecentProfiles

if TYPE_CHECKING:
    from profilepics.images import CleanImage, ImageLimits

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 8
UPLOAD_POLICY_LIFETIME = timedelta(minutes=10)


def holds(profile: Profile, claim: DirectUpload) -> bool:
    """Whether the profile's direct upload is still exactly this claim."""
    upload = profile.upload
    return upload is not None and (upload.id, upload.state, upload.claimed_at) == (
        claim.id,
        claim.state,
        claim.claimed_at,
    )


class Pictures:
    def __init__(
        self,
        store: ObjectStore,
        table: ProfileTable,
        presenter: Presenter,
        settings: Settings,
        clock: Clock,
        on_demand: OnDemand,
        meter: Meter | None = None,
        recent: RecentProfiles | None = None,
    ) -> None:
        self._store = store
        self._table = table
        self._recent = recent or RecentProfiles(table, settings.read_cache_seconds)
        self._presenter = presenter
        self._settings = settings
        self._clock = clock
        self._on_demand = on_demand
        self._meter = meter or NullMeter()

    def limits(self) -> ImageLimits:
        return image_limits(self._settings)

    def upload(
        self, user_id: str, data: bytes, crop: Crop | None = None
    ) -> tuple[PicturePublic, bool]:
        """Validate, clean and store a picture (its variants showing crop, else the default
        square); True when it is the user's first."""
        profile = require_profile(self._table, user_id)
        if crop is not None:
            check_shape(crop)  # before the work of decoding
        picture, first = self.replace(user_id, self.validated(data, "api"), crop, read=profile)
        return self._presenter.picture(picture), first

    def validated(self, data: bytes, path: str) -> CleanImage:
        """The cleaned image, or the typed error it earns; its size and cost are measured."""
        from profilepics.images import clean_image

        self._meter.record(Metric.UPLOAD_BYTES, len(data), path=path)
        with stopwatch() as elapsed:
            try:
                return clean_image(data, self.limits())
            finally:
                self._meter.record(Metric.VALIDATION_TIME, elapsed(), path=path)

    def replace(
        self,
        user_id: str,
        clean: CleanImage,
        crop: Crop | None = None,
        claim: DirectUpload | None = None,
        read: Profile | None = None,
    ) -> tuple[Picture, bool]:
        """Store clean as the user's picture, its variants showing crop (else the default
        square); True when it is the first. Publishing a claimed direct upload, the profile
        write also marks it done, or raises Conflict once the claim is no longer the profile's
        upload (another delivery took it over). read: the profile as just read, if it was
        (the first write is conditional on its version, so a stale one costs a retry)."""
        if crop is not None:
            check_within(crop, clean.width, clean.height)
        picture_id = uuid.uuid4().hex
        picture = Picture(
            id=picture_id,
            key=keys.original(user_id, picture_id, clean.extension),
            format=clean.format.value,
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
            bytes=len(clean.data),
            frames=clean.frames,
            crop=crop or default_crop(clean.width, clean.height),
            uploaded_at=self._clock(),
        )
        self._store.put(picture.key, clean.data, clean.content_type, keys.IMMUTABLE)
        try:
            previous, answered = self._point_profile_at(user_id, picture, claim, read)
        except BaseException:
            self._remove_unreferenced(picture)
            raise
        log.info(
            "picture stored",
            extra={
                "user_id": user_id,
                "picture_id": picture_id,
                "replaced": previous.id if previous else None,
            },
        )
        if previous is not None and answered:
            self.discard(user_id, previous)
        return picture, previous is None

    def _remove_unreferenced(self, picture: Picture) -> None:
        """Undo a put no profile points at, without hiding why the profile write failed."""
        try:
            self._store.delete([picture.key])
        except ProblemError as exc:
            log.warning("left picture %s for the sweep: %s", picture.id, exc.code)

    def _point_profile_at(
        self,
        user_id: str,
        picture: Picture | None,
        claim: DirectUpload | None = None,
        read: Profile | None = None,
    ) -> tuple[Picture | None, bool]:
        """Swap the profile's picture with a conditional write: the picture it replaced, and
        False when the table's answer to the write that landed was lost. read: the profile
        to try first (one GetItem fewer); every retry reads it again."""
        sent: Picture | None = None
        for _ in range(WRITE_ATTEMPTS):
            profile, read = read or require_profile(self._table, user_id), None
            if picture is not None and profile.picture and profile.picture.id == picture.id:
                # The last attempt landed though its answer was lost: it replaced what that
                # attempt read (its condition held). Never hand back our own picture for
                # deletion; the one replaced is left for the sweep.
                return sent, False
            if claim is not None and not holds(profile, claim):
                raise Conflict("The direct upload is no longer this delivery's to publish")
            sent = profile.picture
            try:
                self._table.set_picture(
                    user_id, picture, profile.version, self._clock(), claim=claim
                )
            except Conflict:
                continue
            return profile.picture, True
        raise Conflict("The profile kept changing; try again")

    def discard(self, user_id: str, picture: Picture) -> None:
        """Remove a picture no profile points at; the sweep catches what fails here."""
        try:
            prefix = keys.thumbnail_prefix(user_id, picture.id)
            self._store.delete([picture.key, *picture.variants.values()])
            self._store.delete(list(self._store.list_keys(prefix)))
        except ProblemError as exc:
            log.warning("left picture %s for the sweep: %s", picture.id, exc.code)

    def delete(self, user_id: str) -> None:
        previous, _ = self._point_profile_at(user_id, None)
        if previous is not None:
            self.discard(user_id, previous)

    def url(
        self,
        user_id: str,
        size: int | str = ORIGINAL,
        fmt: ImageFormat | None = None,
        accept: str | None = None,
        *,
        fresh: bool = False,
    ) -> PictureURL:
        """The URL serving size (an edge in pixels, "original" or "animated") in fmt, or the
        format accept prefers when given, else the default; a size or format not stored yet
        is made now, within the guard. The profile may be a moment old unless fresh."""
        size = self._checked(size, fmt)
        profile = shown_profile(self._recent, user_id, fresh)
        kept = not fresh
        for _ in range(WRITE_ATTEMPTS):
            try:
                # A kept copy may lack a size made a moment ago: never make one from it.
                found = self._url(profile, size, fmt, accept, make=not kept)
            except Superseded:
                found = None  # replaced or deleted meanwhile: serve what is there now
            if found is not None:
                return found
            profile, kept = require_profile(self._table, user_id), False
        raise Conflict("The picture kept changing; try again")

    def _checked(self, size: int | str, fmt: ImageFormat | None) -> int | str:
        s = self._settings
        if isinstance(size, str) and size.isascii() and size.isdigit():
            size = int(size)
        if isinstance(size, int):
            if not s.min_variant_size <= size <= s.max_variant_size:
                raise ValidationFailed(
                    f"size must be {ORIGINAL}, {ANIMATED} or {s.min_variant_size}.."
                    f"{s.max_variant_size}"
                )
            if fmt is not None and fmt not in VARIANT_FORMATS:
                raise ValidationFailed(f"format must be one of {', '.join(VARIANT_FORMATS)}")
        elif size == ORIGINAL and fmt is not None:
            raise ValidationFailed("format applies to sizes; the original is served as stored")
        elif size == ANIMATED and fmt not in (None, ANIMATED_FORMAT):
            raise ValidationFailed(f"the animated thumbnail is {ANIMATED_FORMAT}")
        elif size not in (ORIGINAL, ANIMATED):
            raise ValidationFailed(f"size must be {ORIGINAL}, {ANIMATED} or a number of pixels")
        return size

    def _url(
        self,
        profile: Profile,
        size: int | str,
        fmt: ImageFormat | None,
        accept: str | None,
        *,
        make: bool,
    ) -> PictureURL | None:
        presenter = self._presenter
        if profile.picture is None:
            return presenter.default_url(profile, str(size))
        picture = presenter.effective(profile.picture)
        if not isinstance(size, int) or picture.status is not PictureStatus.READY:
            # The original, or the animated variant, as the `variants` map has them.
            key, served = presenter.key(picture, str(size))
            return presenter.signed(picture, key, str(size), served)
        if fmt is None:
            offered = self._settings.negotiated_formats
            fmt = negotiate(accept, offered) if accept is not None else None
        wanted = Variant(size, fmt or self._settings.default_format)
        if not make and not self._on_demand.stored(picture, wanted):
            return None
        picture, variant = self._on_demand.serve(profile.user_id, picture, wanted)
        key = picture.variants[variant.id]
        return presenter.signed(picture, key, variant.name, variant.format.value)

    def start_direct_upload(
        self, user_id: str, request: UploadRequest | None = None
    ) -> UploadPolicy:
        """A POST policy for one upload; a declared size is the exact size it accepts."""
        request = request or UploadRequest()
        if request.crop is not None:
            check_shape(request.crop)
        max_bytes = self._settings.max_bytes
        if request.size is not None and request.size > max_bytes:
            raise FileTooLarge(f"The file is larger than {max_bytes} bytes", max_bytes=max_bytes)
        low, high = (request.size, request.size) if request.size else (1, max_bytes)
        now = self._clock()
        upload_id = uuid.uuid4().hex
        upload = DirectUpload(
            id=upload_id, key=keys.upload(user_id, upload_id), crop=request.crop, created_at=now
        )
        self._table.start_upload(user_id, upload, now)
        expires_at = now + UPLOAD_POLICY_LIFETIME
        url, fields = self._store.presign_post(
            upload.key, high, expires_at, min_bytes=low, content_type=request.content_type
        )
        return UploadPolicy(
            url=url, fields=fields, expires_at=expires_at, max_bytes=high, key=upload.key
        )

    def cache_control(self, picture: PictureURL) -> str:
        """Never let a cache keep a URL longer than the URL keeps working, nor longer than
        picture_cache_seconds: the picture may be replaced or deleted (its objects at once)."""
        keep = self._settings.picture_cache_seconds
        if picture.expires_at is None:
            return f"public, max-age={keep}"
        remaining = int((picture.expires_at - self._clock()).total_seconds())
        return f"private, max-age={min(max(remaining, 0), keep)}"


def image_limits(s: Settings) -> ImageLimits:
    """What one picture's decode may cost, from the settings (upload and variants alike)."""
    from profilepics.images import ImageLimits

    return ImageLimits(
        max_bytes=s.max_bytes,
        max_pixels=s.max_pixels,
        max_frames=s.max_frames,
        max_total_pixels=s.max_total_pixels,
        max_animation_frame_pixels=s.max_animation_frame_pixels,
        cpu_seconds=s.image_cpu_seconds,
        min_width=s.min_dimension,
        min_height=s.min_dimension,
        allowed_formats=frozenset(s.allowed_formats),
    )
