# MinIO server and client (mc) for docker-compose, built from source at pinned releases.
#
# Why from source: MinIO's community edition is distributed as source only since its
# October 2025 security release (RELEASE.2025-10-15T17-29-55Z fixes CVE-2025-62506, a
# privilege escalation); `go install` is MinIO's own instruction for it. The minio/minio and
# minio/mc images were removed from Docker Hub in September 2026, and every archived image
# elsewhere predates that fix. Go's checksum database (sum.golang.org) verifies the module
# each release tag resolves to. The upstream repository is archived: watch for advisories.
#
# One image serves three roles: the server, its healthcheck (`mc ready`) and the init job.

# Go: a supported release pinned to the patch; MinIO's go.mod asks for 1.24 or later.
# GOTOOLCHAIN=local: build with this toolchain, never one downloaded on the side.
FROM golang:1.26.7-trixie AS build
ARG MINIO_RELEASE=RELEASE.2025-10-15T17-29-55Z
ARG MC_RELEASE=RELEASE.2025-08-13T08-35-41Z
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath GOBIN=/out
RUN go install -ldflags="-s -w" "github.com/minio/minio@${MINIO_RELEASE}" \
    && go install -ldflags="-s -w" "github.com/minio/mc@${MC_RELEASE}"

FROM debian:trixie-slim
ARG MINIO_RELEASE=RELEASE.2025-10-15T17-29-55Z
LABEL org.opencontainers.image.title="profilepics-minio" \
      org.opencontainers.image.version="${MINIO_RELEASE}" \
      org.opencontainers.image.source="https://github.com/minio/minio" \
      org.opencontainers.image.licenses="AGPL-3.0-only"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10002 --user-group --create-home --home-dir /home/minio \
       --shell /usr/sbin/nologin minio \
    && mkdir -p /data /data1 /data2 /events \
    && chown minio:minio /data /data1 /data2 /events
COPY --from=build /out/minio /out/mc /usr/local/bin/
# New named volumes take these folders' owner, so the server never needs root.
USER minio
WORKDIR /home/minio
EXPOSE 9000 9001
ENTRYPOINT ["minio"]
CMD ["server", "/data", "--console-address", ":9001"]
