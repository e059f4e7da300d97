"""The composition root: `build` wires every part from settings; handlers get it once per process.

Tests, the demo, the CLI and the benchmarks call `build` with parts of their own (fakes, a
failing adapter, a fixed clock); nothing else constructs the use cases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from profilepics.clock import Clock, utcnow
from profilepics.metrics import EmfMeter, Meter

if TYPE_CHECKING:
    from profilepics.auth import Authorizer
    from profilepics.config import Settings
    from profilepics.healing import Healer
    from profilepics.pictures import Pictures
    from profilepics.ports import ObjectStore, ProfileTable
    from profilepics.presenter import Presenter
    from profilepics.processing import Processing
    from profilepics.profile_use_cases import Profiles
    from profilepics.recrop import Recrops
    from profilepics.regenerate import Regenerator
    from profilepics.sweep import Sweeper


@dataclass(frozen=True)
class Container:
    """Everything a function needs, built once: the adapters and the use cases over them."""

    settings: Settings
    store: ObjectStore
    table: ProfileTable
    clock: Clock
    presenter: Presenter
    profiles: Profiles
    pictures: Pictures
    processing: Processing
    sweeper: Sweeper
    healer: Healer
    regenerator: Regenerator
    recrops: Recrops
    authorizer: Authorizer
    meter: Meter


def build(
    settings: Settings,
    *,
    store: ObjectStore | None = None,
    table: ProfileTable | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    meter: Meter | None = None,
) -> Container:
    """The parts for settings; store, table, clock and meter default to the real ones."""
    # Imported here, not at the top: a function's import would otherwise load every use case
    # and pydantic with them (docs/benchmarks.md, section 4); the first request builds them.
    from profilepics.auth import Authorizer
    from profilepics.healing import Healer
    from profilepics.on_demand import OnDemand
    from profilepics.pictures import UPLOAD_POLICY_LIFETIME, Pictures, image_limits
    from profilepics.presenter import Presenter
    from profilepics.processing import Processing
    from profilepics.profile_use_cases import Profiles
    from profilepics.recent import RecentProfiles
    from profilepics.recrop import Recrops
    from profilepics.regenerate import Regenerator
    from profilepics.sweep import Sweeper
    from profilepics.urls import UrlSigner

    if store is None:
        # boto3 and minio cost ~90 ms each to import: a cold start loads them on first use.
        from profilepics.adapters.minio_store import MinioStore

        store = MinioStore(settings)
    if table is None:
        from profilepics.adapters.dynamodb_table import DynamoDBTable

        table = DynamoDBTable(settings)
    clock = clock or utcnow
    meter = meter or EmfMeter()
    signer = UrlSigner(store, settings.url_expiry_seconds, settings.url_window_seconds, clock)
    presenter = Presenter(settings, signer, clock)
    on_demand = OnDemand(store, table, settings, clock, partial(image_limits, settings), meter)
    recent = RecentProfiles(table, settings.read_cache_seconds)
    pictures = Pictures(store, table, presenter, settings, clock, on_demand, recent, meter)
    regenerator = Regenerator(store, table, settings, clock, partial(image_limits, settings))
    return Container(
        settings=settings,
        store=store,
        table=table,
        clock=clock,
        presenter=presenter,
        profiles=Profiles(table, recent, presenter, clock),
        pictures=pictures,
        processing=Processing(store, table, pictures, settings, clock, sleep=sleep, meter=meter),
        sweeper=Sweeper(store, table, clock, settings.url_reach),
        healer=Healer(store, table, UPLOAD_POLICY_LIFETIME, clock),
        regenerator=regenerator,
        recrops=Recrops(table, regenerator, presenter),
        authorizer=Authorizer(settings),
        meter=meter,
    )


@lru_cache(maxsize=1)
def container() -> Container:
    """This process's parts, from the environment's settings, built on first use."""
    from profilepics.config import get_settings

    return build(get_settings())


def profiles() -> Profiles:
    return container().profiles


def pictures() -> Pictures:
    return container().pictures


def processing() -> Processing:
    return container().processing


def authorizer() -> Authorizer:
    return container().authorizer


def sweeper() -> Sweeper:
    return container().sweeper


def regenerator() -> Regenerator:
    return container().regenerator


def recrops() -> Recrops:
    return container().recrops


def meter() -> Meter:
    return container().meter


def settings() -> Settings:
    return container().settings
