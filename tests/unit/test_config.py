"""The settings class: parsed from the environment once, unsafe values refused."""

from __future__ import annotations

import pytest
from profilepics.config import Settings
from pydantic import ValidationError

from infra.invoker.template import load
from infra.local import REPO_ROOT, as_environment


def test_lists_come_from_comma_separated_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILEPICS_THUMBNAIL_SIZES", "64, 256")
    monkeypatch.setenv("PROFILEPICS_ALLOWED_FORMATS", "jpeg,png")
    settings = Settings()
    assert settings.thumbnail_sizes == [64, 256]
    assert settings.allowed_formats == ["jpeg", "png"]


def test_production_refuses_a_plain_http_store() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(environment="production", s3_endpoint="http://minio:9000")
    assert Settings(environment="production", s3_endpoint="https://minio:9000").s3_endpoint


def test_url_expiry_is_bounded_and_longer_than_the_window() -> None:
    with pytest.raises(ValidationError):
        Settings(url_expiry_seconds=8 * 24 * 3600)
    with pytest.raises(ValidationError, match="window"):
        Settings(url_expiry_seconds=600, url_window_seconds=600)


def test_urls_are_signed_for_the_public_endpoint_when_given() -> None:
    assert Settings(s3_endpoint="http://minio:9000").signing_endpoint == "http://minio:9000"
    public = Settings(s3_endpoint="http://minio:9000", public_s3_endpoint="https://img.example")
    assert public.signing_endpoint == "https://img.example"


def test_secrets_are_hidden_in_repr_but_handed_to_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROFILEPICS_S3_SECRET_KEY", "very-secret")
    monkeypatch.setenv("PROFILEPICS_MAX_BYTES", "1000")
    settings = Settings()
    assert "very-secret" not in repr(settings)
    environment = as_environment(settings)
    assert environment["PROFILEPICS_S3_SECRET_KEY"] == "very-secret"
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings  # what a function's process reads back is the same


def test_an_upload_claim_and_the_healing_deadline_outlive_the_ingest_functions_timeout() -> None:
    """A claim whose holder still runs must never be taken over or released: the function is
    killed at its Timeout, and only after that may its claim lapse."""
    timeout = load(REPO_ROOT / "template.yaml").functions["IngestFunction"].timeout
    settings = Settings()

    assert settings.upload_claim_seconds > timeout
    assert settings.processing_deadline_seconds > timeout


@pytest.mark.parametrize("sizes", ["8", "64,1025", "0", "-64"])
def test_a_thumbnail_size_outside_the_variant_bounds_16_to_1024_is_refused(
    monkeypatch: pytest.MonkeyPatch, sizes: str
) -> None:
    monkeypatch.setenv("PROFILEPICS_THUMBNAIL_SIZES", sizes)
    with pytest.raises(ValidationError, match="thumbnail_sizes"):
        Settings()


def test_thumbnail_sizes_at_the_bounds_are_taken() -> None:
    assert Settings(thumbnail_sizes=[16, 1024]).thumbnail_sizes == [16, 1024]


def test_variables_are_read_by_name_or_alias_in_any_case_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("profilepics_bucket", "lower")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("PROFILEPICS_READ_CACHE_SECONDS", "2.5")
    monkeypatch.setenv("PROFILEPICS_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert (settings.bucket, settings.region, settings.read_cache_seconds) == (
        "lower",
        "eu-west-1",
        2.5,
    )
    monkeypatch.setenv("PROFILEPICS_REGION", "eu-central-1")  # the first alias wins
    assert Settings().region == "eu-central-1"
    assert Settings(bucket="given").bucket == "given"
    monkeypatch.setenv("PROFILEPICS_MAX_BYTES", "0")
    with pytest.raises(ValidationError):
        Settings()
