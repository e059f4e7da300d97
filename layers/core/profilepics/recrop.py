"""Re-crop: the current picture's variants made of another square, with no new upload.

A regeneration with a change (regenerate.py): the new square and the variants made of it land
in one conditional write, and the old set is retired for the sweep, as a settings change's is.
"""

from __future__ import annotations

from profilepics.crop import check_shape, check_within
from profilepics.errors import Conflict, PictureNotFound
from profilepics.models import Crop, PicturePublic, PictureStatus
from profilepics.ports import ProfileTable
from profilepics.presenter import Presenter
from profilepics.profile_use_cases import require_profile
from profilepics.regenerate import Regenerator
from profilepics.regenerate_report import Outcome


class Recrops:
    def __init__(self, table: ProfileTable, regenerator: Regenerator, presenter: Presenter) -> None:
        self._table = table
        self._regenerator = regenerator
        self._presenter = presenter

    def recrop(self, user_id: str, crop: Crop) -> PicturePublic:
        """The picture as it is once its variants show crop: the writer's own answer, exact."""
        check_shape(crop)  # before any read
        picture = require_profile(self._table, user_id).picture
        if picture is None:
            raise PictureNotFound("The user has no picture to crop.")
        check_within(crop, picture.width, picture.height)
        outcome, current = self._regenerator.recrop(user_id, picture, crop)
        if current is None:
            raise Conflict("The picture was replaced or deleted meanwhile; crop the new one.")
        if outcome is Outcome.SKIPPED:
            why = "failed" if current.status is PictureStatus.FAILED else "are still being made"
            raise Conflict(f"The picture's variants {why}; only a ready picture is re-cropped.")
        return self._presenter.picture(current)
