# Loket's image: the wheel (built in a first stage) installed into a slim Python, a non-root
# user, every piece of data under the one /data volume, and a HEALTHCHECK on /healthz.
# `docker compose up` uses it (compose.yaml); docs/deploy.md has the build and run commands.
#   docker build -t loket .
#   docker run -d -p 8000:8000 -v loketdata:/data --name loket loket
#   docker logs loket | grep "created the admin user"

FROM python:3.11-slim AS build
WORKDIR /src
COPY . /src
# the wheel only (no dependencies); the runtime stage installs them from PyPI
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PTB_TIMEDELTA=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOKET_DATABASE_URL=sqlite:////data/loket.db \
    LOKET_REPORTS_DIR=/data/reports LOKET_MEDIA_DIR=/data/media

# The wheel carries the phrases, profiles, templates and migrations; no source tree is copied.
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/loket-*.whl)[postgres]" && rm -rf /wheels

RUN useradd --create-home --uid 10001 loket && mkdir /data && chown loket /data
USER loket
# a relative path in a setting (or a `loket report` file) lands in the volume too
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["loket", "serve", "--host", "0.0.0.0", "--port", "8000"]
