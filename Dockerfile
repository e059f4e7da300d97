# The app image for docker-compose: the profilepics package (core + local invoker) with its
# runtime dependencies, plus template.yaml and functions/, which the invoker loads from /app.
# Swagger UI's files for /docs, from the same pinned npm lockfile `make setup` uses.
FROM node:20-slim AS web
WORKDIR /web
COPY infra/web/package.json infra/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so editing a handler doesn't reinstall them. The functions' runtime
# dependencies and the invoker's: the dev, local-stack and bench extras stay out of the image.
COPY pyproject.toml README.md ./
COPY layers/core/ layers/core/
COPY infra/ infra/
RUN pip install '.[invoker]' \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin profilepics

COPY template.yaml openapi.json ./
COPY functions/ functions/
COPY --from=web /web/node_modules/ infra/web/node_modules/

USER profilepics
EXPOSE 3000
CMD ["profilepics", "serve", "--host", "0.0.0.0", "--port", "3000"]
