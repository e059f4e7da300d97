#!/bin/sh
# One-shot MinIO setup for docker-compose: the private pictures bucket and its event
# notifications to the app's webhook target. Safe to run again on every `up`.
set -eu

: "${MINIO_URL:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
: "${PROFILEPICS_BUCKET:?}" "${WEBHOOK_ARN:?}"
target="store/${PROFILEPICS_BUCKET}"

mc alias set store "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "$target"
mc anonymous set none "$target"

# Replace rather than add: adding a rule that already exists is an error.
mc event rm --force "$target" >/dev/null 2>&1 || true
# originals/ drive the thumbnails; uploads/ are direct (presigned POST) uploads to ingest.
# Variants land under thumbnails/, which triggers nothing.
mc event add "$target" "$WEBHOOK_ARN" --event put --prefix originals/
mc event add "$target" "$WEBHOOK_ARN" --event put --prefix uploads/
mc event ls "$target"
