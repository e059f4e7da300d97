"""Turns stored profiles into API responses with freshly signed picture URLs."""

from __future__ import annotations

from datetime import timedelta

from profilepics import request_url
from profilepics.clock import Clock
from profilepics.config import Settings
from profilepics.errors import ValidationFailed
from profilepics.formats import ORIGINAL
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

    @property
    def sizes(self) -> list[str]:
        # The animated variant of a still original is its original.
        return [ORIGINAL, *(variant.name for variant in self._settings.variants)]

    def variant_names(self, picture: Picture | None) -> list[str]:
        """The variants a response lists: the animated one only for an animated picture."""
        animated = picture is not None and picture.frames > 1
        return [v.name for v in self._settings.variants if animated or not v.animated]

    def effective(self, picture: Picture) -> Picture:
        """The picture as clients see it: a run that never finished counts as failed."""
        if picture.status is PictureStatus.PROCESSING and (
            self._clock() - picture.uploaded_at > self._deadline
        ):
            return picture.model_copy(
                update={"status": PictureStatus.FAILED, "error": "processing_timeout"}
            )
        return picture

    def picture_url(self, profile: Profile, size: str) -> PictureURL:
        if size not in self.sizes:
            raise ValidationFailed(f"size must be one of {', '.join(self.sizes)}")
        if profile.picture is None:
            url = default_picture_url(
                self._api_base_url(), profile.user_id, profile.display_name, size
            )
            return PictureURL(url=url, expires_at=None, is_default=True, size=size)
        picture = self.effective(profile.picture)
        url, expires_at = self._signer.sign(self._key(picture, size))
        return PictureURL(
            url=url, expires_at=expires_at, is_default=False, size=size, status=picture.status
        )

    def _api_base_url(self) -> str:
        """The configured base URL, else the one the request came in on (see request_url)."""
        return self._settings.api_base_url or request_url.current() or ""

    @staticmethod
    def _key(picture: Picture, size: str) -> str:
        """A variant once it is ready; until then, and for sizes never made, the original."""
        if size != ORIGINAL and picture.status is PictureStatus.READY:
            return picture.variants.get(size, picture.key)
        return picture.key

    def profile(self, profile: Profile) -> ProfilePublic:
        """The public view: what anyone may read, so never the e-mail address."""
        public = self.picture(profile.picture) if profile.picture else None
        if public is not None:
            url, variants = public.url, public.variants
        else:
            url = self.picture_url(profile, ORIGINAL).url
            variants = {s: self.picture_url(profile, s).url for s in self.variant_names(None)}
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
            s: self._signer.sign(self._key(picture, s))[0] for s in self.variant_names(picture)
        }
        url = self._signer.sign(picture.key)[0]
        return PicturePublic.model_validate({**dict(picture), "url": url, "variants": variants})
