# The app image for docker-compose: the profilepics package (core + local invoker) with its
# runtime dependencies, plus template.yaml and functions/, which the invoker loads from /app.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so editing a handler doesn't reinstall them. Runtime dependencies
# only: the dev and bench extras stay out of the image.
COPY pyproject.toml README.md ./
COPY layers/core/ layers/core/
COPY infra/ infra/
RUN pip install . \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin profilepics

COPY template.yaml ./
COPY functions/ functions/

USER profilepics
EXPOSE 3000
CMD ["profilepics", "serve", "--host", "0.0.0.0", "--port", "3000"]
