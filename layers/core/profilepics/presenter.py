"""Turns stored profiles into API responses with freshly signed picture URLs."""

from __future__ import annotations

from datetime import timedelta

from profilepics import request_url
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.formats import ANIMATED, ORIGINAL, VARIANT_FORMATS, ImageFormat
from profilepics.models import (
    Picture,
    PicturePublic,
    PictureStatus,
    PictureURL,
    Profile,
    ProfilePrivate,
    ProfilePublic,
)
from profilepics.urls import UrlSigner, default_picture_url


class Presenter:
    def __init__(self, settings: Settings, signer: UrlSigner, clock: Clock) -> None:
        self._settings = settings
        self._signer = signer
        self._clock = clock
        self._deadline = timedelta(seconds=settings.processing_deadline_seconds)
        # The `variants` map's format for each size: the default one, else the most widely
        # shown one stored (a picture made under other settings may lack the default).
        default = settings.default_format
        self._preferred = (default, *(f for f in reversed(VARIANT_FORMATS) if f != default))

    def variant_names(self, picture: Picture | None) -> list[str]:
        """The sizes a `variants` map lists: the animated one only for an animated picture."""
        names = [str(size) for size in self._settings.thumbnail_sizes]
        animated = picture is not None and picture.frames > 1
        return [*names, ANIMATED] if animated and self._settings.animated_thumbnail_size else names

    def effective(self, picture: Picture) -> Picture:
        """The picture as clients see it: a run that never finished counts as failed."""
        if picture.status is PictureStatus.PROCESSING and (
            self._clock() - picture.uploaded_at > self._deadline
        ):
            return picture.model_copy(
                update={"status": PictureStatus.FAILED, "error": "processing_timeout"}
            )
        return picture

    def default_url(self, profile: Profile, size: str) -> PictureURL:
        url = default_picture_url(self._api_base_url(), profile.user_id, profile.display_name, size)
        return PictureURL(url=url, expires_at=None, is_default=True, size=size, format="png")

    def signed(self, picture: Picture, key: str, size: str, fmt: str) -> PictureURL:
        url, expires_at = self._signer.sign(key)
        return PictureURL(
            url=url,
            expires_at=expires_at,
            is_default=False,
            size=size,
            format=fmt,
            status=picture.status,
        )

    def _api_base_url(self) -> str:
        """The configured base URL, else the one the request came in on (see request_url)."""
        return self._settings.api_base_url or request_url.current() or ""

    def key(self, picture: Picture, size: str) -> tuple[str, str]:
        """(key, format) serving size in the `variants` map: a variant once the picture is
        ready, in the preferred format stored; until then, and for sizes never made, the
        original."""
        if size != ORIGINAL and picture.status is PictureStatus.READY:
            formats = (ImageFormat.WEBP,) if size == ANIMATED else self._preferred
            for fmt in formats:
                key = picture.variants.get(f"{size}.{fmt.value}")
                if key is not None:
                    return key, fmt.value
        return picture.key, picture.format

    def profile(self, profile: Profile) -> ProfilePublic:
        """The public view: what anyone may read, so never the e-mail address."""
        public = self.picture(profile.picture) if profile.picture else None
        if public is not None:
            url, variants = public.url, public.variants
        else:
            url = self.default_url(profile, ORIGINAL).url
            variants = {s: self.default_url(profile, s).url for s in self.variant_names(None)}
        # The public models name the stored fields they show; the rest (version, keys) stays in.
        added = {"profile_picture_url": url, "profile_picture_variants": variants}
        return ProfilePublic.model_validate({**dict(profile), **added, "picture": public})

    def private(self, profile: Profile) -> ProfilePrivate:
        """The whole profile, for its owner or an admin."""
        return ProfilePrivate.model_validate(
            {**dict(self.profile(profile)), "email": profile.email}
        )

    def picture(self, stored: Picture) -> PicturePublic:
        picture = self.effective(stored)
        variants = {
            s: self._signer.sign(self.key(picture, s)[0])[0] for s in self.variant_names(picture)
        }
        url = self._signer.sign(picture.key)[0]
        shown = {"url": url, "variants": variants, "sources": self._sources(picture)}
        return PicturePublic.model_validate({**dict(picture), **shown})

    def _sources(self, picture: Picture) -> dict[str, dict[str, str]]:
        """Every stored still variant's URL by format, then size (smallest first): a srcset."""
        if picture.status is not PictureStatus.READY:
            return {}
        sources: dict[str, dict[str, str]] = {}
        for variant, key in sorted(picture.stills().items()):
            by_size = sources.setdefault(variant.format.value, {})
            by_size[variant.name] = self._signer.sign(key)[0]
        return {fmt.value: sources[fmt.value] for fmt in VARIANT_FORMATS if fmt.value in sources}
