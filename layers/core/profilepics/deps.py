"""The composition root: builds the adapters and use cases from settings, once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from profilepics.auth import Authorizer
from profilepics.config import get_settings
from profilepics.metrics import EmfMeter
from profilepics.pictures import Pictures
from profilepics.presenter import Presenter
from profilepics.processing import Processing
from profilepics.service import Profiles
from profilepics.sweep import Sweeper
from profilepics.urls import UrlSigner

if TYPE_CHECKING:
    # boto3 and minio cost ~90 ms each to import: a cold start loads them on first use.
    from profilepics.profiles import DynamoProfiles
    from profilepics.storage import MinioStore


@lru_cache(maxsize=1)
def store() -> MinioStore:
    from profilepics.storage import MinioStore

    return MinioStore(get_settings())


@lru_cache(maxsize=1)
def table() -> DynamoProfiles:
    from profilepics.profiles import DynamoProfiles

    return DynamoProfiles(get_settings())


@lru_cache(maxsize=1)
def presenter() -> Presenter:
    settings = get_settings()
    signer = UrlSigner(store(), settings.url_expiry_seconds, settings.url_window_seconds)
    return Presenter(settings, signer)


@lru_cache(maxsize=1)
def profiles() -> Profiles:
    return Profiles(table(), presenter())


@lru_cache(maxsize=1)
def meter() -> EmfMeter:
    return EmfMeter()


@lru_cache(maxsize=1)
def pictures() -> Pictures:
    return Pictures(store(), table(), presenter(), get_settings(), meter())


@lru_cache(maxsize=1)
def processing() -> Processing:
    return Processing(store(), table(), pictures(), get_settings(), meter=meter())


@lru_cache(maxsize=1)
def sweeper() -> Sweeper:
    return Sweeper(store(), table())


@lru_cache(maxsize=1)
def authorizer() -> Authorizer:
    return Authorizer(get_settings())


def reset() -> None:
    """Forget every built object (tests that change settings call this)."""
    for getter in (
        store,
        table,
        presenter,
        profiles,
        pictures,
        processing,
        meter,
        sweeper,
        authorizer,
        get_settings,
    ):
        getter.cache_clear()
