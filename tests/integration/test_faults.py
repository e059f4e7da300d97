"""Faults on the real stack: a hung or crashed store or table, and failures between writes."""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.adapters.minio_store import MinioStore
from profilepics.deps import build
from profilepics.errors import StorageUnavailable, TableUnavailable
from profilepics.models import Picture
from profilepics.pictures import Pictures

from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import (
    assert_invariants,
    dangling_references,
    settle,
    signal_server,
    stored_keys,
    sweep,
    unreferenced_objects,
)
from tests.stackrun import OwnStack, RunningStack, bearer, start_stack

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)
# Settings' defaults: 2 s per attempt and one retry, so a hung server costs about 4 s and a
# crashed one milliseconds; never the SDKs' minutes. The tests check this by outcome, not by
# time: an adapter still waiting when the function's own Timeout (15 s in template.yaml) ends
# its run would be answered by the invoker's timeout problem, never by our 503 with its code.

Call = Callable[[], requests.Response]
Timed = dict[str, tuple[requests.Response, float]]


def timed(calls: dict[str, Call]) -> Timed:
    """Run the calls at once and time each."""

    def run(call: Call) -> tuple[requests.Response, float]:
        began = time.monotonic()
        response = call()
        return response, time.monotonic() - began

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(run, call) for name, call in calls.items()}
        results = {name: future.result() for name, future in futures.items()}
    log.info("timings: %s", {name: round(took, 2) for name, (_, took) in results.items()})
    return results


def warm_up(api: str, user_id: str) -> None:
    """Start both instances of each function first, so timings hold no cold start."""
    calls = [
        lambda: requests.get(f"{api}/users/{user_id}", timeout=30),
        lambda: requests.get(f"{api}/users/{user_id}/picture", timeout=30),
        lambda: requests.put(  # refused as empty before any I/O
            f"{api}/users/{user_id}/picture", data=b"", headers=bearer(user_id), timeout=30
        ),
    ]
    with ThreadPoolExecutor(2 * len(calls)) as pool:
        for response in pool.map(lambda call: call(), calls * 2):
            assert response.status_code < 500, response.text


def hung_then_crashed(
    stack: RunningStack, server: str, calls: dict[str, Call], user_id: str
) -> tuple[Timed, Timed]:
    """The calls' answers and times while server hangs (SIGSTOP), then once it has crashed."""
    warm_up(stack.api, user_id)
    signal_server(stack, server, signal.SIGSTOP)
    hung = timed(calls)
    signal_server(stack, server, signal.SIGKILL)
    return hung, timed(calls)


def assert_own_problem(results: Timed, names: list[str], code: str) -> None:
    """Each call answered by the adapter's own 503 (so before any function or gateway timeout)."""
    for name in names:
        response, _ = results[name]
        assert response.status_code == 503, (name, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code, name


def test_store_down_uploads_answer_503_storage_unavailable_and_nothing_is_lost(
    own_stack: OwnStack,
) -> None:
    stack = own_stack.current
    api = stack.api
    ada, bob = new_user(api), new_user(api)
    assert put_picture(api, ada, jpeg()).status_code == 201
    settle(stack, [ada])  # ready, so that a re-crop goes to the store
    before = requests.get(f"{api}/users/{ada}", timeout=10).json()["picture"]
    calls: dict[str, Call] = {
        "replace": lambda: put_picture(api, ada, jpeg(colour="red")),
        "recrop": lambda: requests.patch(
            f"{api}/users/{ada}/picture",
            json={"crop": {"x": 0, "y": 0, "w": 32, "h": 32}},
            headers=bearer(ada),
            timeout=30,
        ),
        "first upload": lambda: put_picture(api, bob, jpeg(colour="blue")),
        "url of a picture": lambda: requests.get(f"{api}/users/{ada}/picture", timeout=30),
        "url of a default": lambda: requests.get(f"{api}/users/{bob}/picture", timeout=30),
    }

    hung, crashed = hung_then_crashed(stack, "seaweedfs", calls, ada)

    for results in (hung, crashed):
        assert_own_problem(results, ["replace", "first upload", "recrop"], "storage_unavailable")
        # Presigning is local computation: the URL is handed out; the store serves it later.
        url, _ = results["url of a picture"]
        assert url.status_code == 200
        assert url.json()["url"].split("?")[0] == before["url"].split("?")[0]
        default, _ = results["url of a default"]
        assert default.status_code == 200 and default.json()["is_default"] is True
    request_id = crashed["replace"][0].headers["Apigw-Requestid"]
    assert any(
        line.startswith("{")
        and json.loads(line).get("correlation_id") == request_id
        and json.loads(line)["message"] == "object store unreachable during put: MaxRetryError"
        for line in stack.log().splitlines()
    )
    stack = own_stack.restart()
    after = requests.get(f"{stack.api}/users/{ada}", timeout=10).json()
    assert after["picture"]["id"] == before["id"]
    assert after["picture"]["crop"] == before["crop"]
    assert requests.get(f"{stack.api}/users/{bob}", timeout=10).json()["picture"] is None
    assert_invariants(stack)


def test_table_down_answers_503_table_unavailable_and_writes_no_object(
    own_stack: OwnStack,
) -> None:
    stack = own_stack.current
    api = stack.api
    ada = new_user(api)
    assert put_picture(api, ada, jpeg()).status_code == 201
    settle(stack, [ada])
    store = MinioStore(stack.settings())
    keys_before = stored_keys(store)
    calls: dict[str, Call] = {
        "read profile": lambda: requests.get(f"{api}/users/{ada}", timeout=30),
        "write profile": lambda: requests.patch(
            f"{api}/users/{ada}", json={"display_name": "X"}, headers=bearer(ada), timeout=30
        ),
        "upload": lambda: put_picture(api, ada, jpeg(colour="red")),
        "picture url": lambda: requests.get(f"{api}/users/{ada}/picture", timeout=30),
    }

    hung, crashed = hung_then_crashed(stack, "dynalite", calls, ada)

    for results in (hung, crashed):
        assert_own_problem(results, list(calls), "table_unavailable")
    assert stored_keys(store) == keys_before
    stack = own_stack.restart()
    profile = requests.get(f"{stack.api}/users/{ada}", timeout=10).json()
    assert profile["display_name"] == "Fault Tester"
    assert_invariants(stack)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """For in-process faults: a stack of the module's own, as its sweeps run with no grace."""
    with start_stack(tmp_path_factory.mktemp("faults")) as running:
        yield running


class TableDownAtPictureWrite(DynamoDBTable):
    """The real table, except that pointing a profile at a picture fails."""

    def set_picture(self, *args: Any, **kwargs: Any) -> None:
        raise TableUnavailable()


class DeleteFailsOnce(MinioStore):
    """The real store, except that the first delete fails."""

    failures = 1

    def delete(self, keys: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable()
        super().delete(keys)


def pictures_on(stack: RunningStack, store: MinioStore, table: DynamoDBTable) -> Pictures:
    return build(stack.settings(), store=store, table=table).pictures


def current_picture(stack: RunningStack, user_id: str) -> Picture | None:
    profile = DynamoDBTable(stack.settings()).get(user_id)
    assert profile is not None
    return profile.picture


def test_failure_between_object_write_and_profile_write_removes_the_new_object(
    shared_stack: RunningStack,
) -> None:
    stack, settings = shared_stack, shared_stack.settings()
    first, replacing = new_user(stack.api), new_user(stack.api)
    assert put_picture(stack.api, replacing, jpeg()).status_code == 201
    settle(stack, [replacing])
    table = DynamoDBTable(settings)
    before = {user: table.get(user) for user in (first, replacing)}
    keys_before = stored_keys(MinioStore(settings))
    failing = pictures_on(stack, MinioStore(settings), TableDownAtPictureWrite(settings))

    for user in (first, replacing):
        with pytest.raises(TableUnavailable):
            failing.upload(user, jpeg(colour="red"))

    assert stored_keys(MinioStore(settings)) == keys_before
    assert {user: table.get(user) for user in before} == before
    settle(stack, [replacing])
    assert_invariants(stack)


def test_failure_after_profile_write_leaves_an_orphan_that_the_sweep_removes(
    shared_stack: RunningStack,
) -> None:
    stack, settings = shared_stack, shared_stack.settings()
    user = new_user(stack.api)
    assert put_picture(stack.api, user, jpeg()).status_code == 201
    settle(stack, [user])
    old = current_picture(stack, user)
    assert old is not None and len(old.variants) == stack.stills()
    old_keys = {old.key, *old.variants.values()}
    flaky = DeleteFailsOnce(settings)

    new, first = pictures_on(stack, flaky, DynamoDBTable(settings)).upload(
        user, jpeg(colour="navy")
    )

    assert first is False and flaky.failures == 0
    current = current_picture(stack, user)
    assert current is not None and current.id == new.id
    assert dangling_references(stack) == []
    assert old_keys <= set(unreferenced_objects(stack))
    settle(stack, [user])

    dry = sweep(stack, "--grace-seconds", "0", "--dry-run")
    assert all(f"would delete {key}" in dry for key in old_keys)
    assert old_keys <= stored_keys(flaky)
    assert "orphans deleted: 0 " in sweep(stack)  # the default grace keeps young objects
    report = assert_invariants(stack)

    thumbnails = stack.stills()
    assert (
        f"orphans deleted: {1 + thumbnails} (originals 1, thumbnails {thumbnails}, uploads 0)"
        in (report)
    )
    remaining = stored_keys(flaky)
    assert not old_keys & remaining
    current = current_picture(stack, user)
    assert current is not None and {current.key, *current.variants.values()} <= remaining
