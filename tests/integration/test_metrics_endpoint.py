"""GET /metrics on the local invoker: what the functions record as EMF, as Prometheus text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.api_client import jpeg, new_user, put_picture
from tests.stackrun import RunningStack, bearer, start_stack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: the session's keeps processing other tests' events meanwhile, and
    the counters are process-wide."""
    with start_stack(tmp_path_factory.mktemp("metrics")) as running:
        yield running


Samples = Counter[tuple[str, tuple[tuple[str, str], ...]]]


def scrape(api: str) -> Samples:
    response = requests.get(f"{api}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found: Samples = Counter()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if "le" not in sample.labels:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = int(sample.value)
    return found


def grew(before: Samples, after: Samples) -> Samples:
    return Counter({k: after[k] - before[k] for k in after if after[k] != before[k]})


def total(samples: Samples, name: str, **labels: str) -> int:
    """The sum over every series of name whose labels include these (Powertools adds service)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def uploads(samples: Samples, outcome: str, path: str = "api") -> int:
    return total(samples, "profilepics_uploads_total", outcome=outcome, path=path)


def ready(api: str, user_id: str, picture_id: str) -> bool:
    picture = requests.get(f"{api}/users/{user_id}", timeout=10).json()["picture"]
    return bool(picture["id"] == picture_id and picture["status"] == "ready")


def test_uploads_and_their_processing_are_counted_by_outcome(stack: RunningStack) -> None:
    api = stack.api
    user = new_user(api, "metrics")
    before = scrape(api)

    # Given a first upload, made ready, then a replacement, a corrupt and an oversized one
    first = put_picture(api, user, jpeg(64, 48))
    assert first.status_code == 201
    wait_for(lambda: ready(api, user, first.json()["id"]), "the first picture's variants")
    second = put_picture(api, user, jpeg(64, 48, "navy"))
    assert second.status_code == 200
    wait_for(lambda: ready(api, user, second.json()["id"]), "the second picture's variants")
    assert put_picture(api, user, jpeg()[:300]).status_code == 422
    too_big = b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)
    assert put_picture(api, user, too_big).status_code == 413

    # Then /metrics counts each outcome, and what validating and processing them took
    def all_counted() -> Samples | None:
        delta = grew(before, scrape(api))
        return delta if total(delta, "profilepics_upload_to_ready_seconds_count") >= 2 else None

    delta = wait_for(all_counted, "the thumbnails' metrics")
    assert uploads(delta, "created") == 1
    assert uploads(delta, "replaced") == 1
    assert uploads(delta, "image_corrupt") == 1
    assert uploads(delta, "file_too_large") == 1
    # The 413 was refused before the body was read, so it never reached validation.
    assert total(delta, "profilepics_upload_bytes_count", path="api", service="upload") == 3
    assert total(delta, "profilepics_validation_time_seconds_count", path="api") == 3
    assert total(delta, "profilepics_processing_time_seconds_count", service="thumbnails") == 2


def test_a_direct_upload_is_counted_on_the_direct_path(stack: RunningStack) -> None:
    api = stack.api
    user = new_user(api, "metricsd")
    before = scrape(api)
    policy = requests.post(
        f"{api}/users/{user}/picture/uploads", headers=bearer(user), timeout=10
    ).json()

    form = {**policy["fields"], "Content-Type": "image/jpeg"}
    posted = requests.post(
        policy["url"], data=form, files={"file": ("p.jpg", jpeg(64, 48))}, timeout=30
    )
    assert posted.status_code in (201, 204), posted.text

    def counted() -> Samples | None:
        delta = grew(before, scrape(api))
        return delta if uploads(delta, "created", "direct") else None

    delta = wait_for(counted, "the ingested upload's metric")
    assert uploads(delta, "created", "direct") == 1
    assert total(delta, "profilepics_upload_bytes_count", path="direct", service="ingest") == 1
