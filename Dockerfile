# The app image for docker-compose: the profilepics package (core + local invoker) with its
# runtime dependencies, plus template.yaml and functions/, which the invoker loads from /app.
# Swagger UI's files for /docs, from the same pinned npm lockfile `make setup` uses.
# Node 24: a supported LTS line (maintenance until April 2028).
FROM node:24-trixie-slim AS web
WORKDIR /web
COPY infra/web/package.json infra/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# Python pinned to the minor the functions run on in Lambda (python3.12).
FROM python:3.12-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The functions' runtime dependencies and the invoker's, read from pyproject.toml (their one
# source), in a layer that only a change to pyproject.toml invalidates: editing the code reuses
# it. The dev, local-stack and bench extras stay out of the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['invoker']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin profilepics \
    && install -d -o profilepics -g profilepics -m 0700 /data

# The package itself, built with pyproject.toml's build requirements; its dependencies are in.
COPY README.md ./
COPY layers/core/ layers/core/
COPY infra/ infra/
RUN pip install --no-deps . && rm -rf build ./*.egg-info layers/core/*.egg-info

COPY template.yaml openapi.json ./
COPY functions/ functions/
COPY --from=web /web/node_modules/ infra/web/node_modules/

USER profilepics
EXPOSE 3000
CMD ["profilepics", "serve", "--host", "0.0.0.0", "--port", "3000"]
