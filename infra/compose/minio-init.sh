#!/bin/sh
# One-shot MinIO setup for docker-compose, and the only job that holds MinIO's root keys:
# the private pictures bucket (no other job creates it), its event notifications to the
# app's webhook target, and the app's own MinIO user, allowed only the calls the app makes.
# Safe to run again on every `up`: each step is an ensure.
set -eu

: "${MINIO_URL:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
: "${PROFILEPICS_BUCKET:?}" "${WEBHOOK_ARN:?}"
: "${APP_ACCESS_KEY:?}" "${APP_SECRET_KEY:?}"

if [ "$APP_ACCESS_KEY" = "$MINIO_ROOT_USER" ]; then
  echo "PROFILEPICS_S3_ACCESS_KEY must differ from MINIO_ROOT_USER: the app gets a user of its own" >&2
  exit 1
fi

bucket="$PROFILEPICS_BUCKET"
target="store/$bucket"
policy="profilepics-app"

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

# The app's user (least privilege): HEAD and list on the bucket (a missing key is then a 404,
# not a 403), and get/put/delete only under the prefixes the app uses (profilepics.keys:
# the pictures' three, and sweep/ where the sweep keeps its position). The presigned
# GETs and POST policies it hands out are signed with these keys, so they carry the same limits.
policy_file="$(mktemp)"
trap 'rm -f "$policy_file"' EXIT
cat >"$policy_file" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
      "Resource": ["arn:aws:s3:::$bucket"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      "Resource": [
        "arn:aws:s3:::$bucket/originals/*",
        "arn:aws:s3:::$bucket/thumbnails/*",
        "arn:aws:s3:::$bucket/uploads/*",
        "arn:aws:s3:::$bucket/sweep/*"
      ]
    }
  ]
}
EOF
mc admin policy create store "$policy" "$policy_file"
# Adding a user that exists sets its secret; attaching skips a policy already attached.
mc admin user add store "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
mc admin policy attach store "$policy" --user "$APP_ACCESS_KEY"
echo "app user ready with policy $policy"
