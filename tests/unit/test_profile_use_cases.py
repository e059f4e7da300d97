"""The profile use cases on in-memory fakes: what each view of a profile shows."""

from __future__ import annotations

import pytest
from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import UserNotFound
from profilepics.models import ProfileCreate, ProfileUpdate
from profilepics.profile_use_cases import Profiles

from tests.fakes import FakeStore, FakeTable

ADA = ProfileCreate(user_id="ada", display_name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def profiles() -> Profiles:
    settings = Settings(api_base_url="https://api.test")
    return build(settings, store=FakeStore(), table=FakeTable()).profiles


def test_public_reads_never_carry_the_email(profiles: Profiles) -> None:
    profiles.create(ADA)

    assert "email" not in profiles.get("ada").model_dump()
    page = profiles.list(10, None)
    assert [item.user_id for item in page.items] == ["ada"]
    assert all("email" not in item.model_dump() for item in page.items)


def test_the_owners_views_carry_it_and_the_rest_of_the_public_one(profiles: Profiles) -> None:
    created = profiles.create(ADA)
    updated = profiles.update("ada", ProfileUpdate(email="countess@example.org"))

    assert created.email == "ada@example.com"
    assert updated.email == "countess@example.org"
    private = profiles.get_private("ada")
    assert private.email == "countess@example.org"
    assert private.model_dump(exclude={"email"}) == profiles.get("ada").model_dump()


def test_a_private_read_of_nobody_is_user_not_found(profiles: Profiles) -> None:
    with pytest.raises(UserNotFound):
        profiles.get_private("nobody")
