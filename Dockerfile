# Loket's image: the source tree installed editable (the phrases and profiles are read from
# it), a non-root user, data under one volume. `docker compose up` uses it (compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PTB_TIMEDELTA=1 \
    LOKET_DATABASE_URL=sqlite:////data/loket.db \
    LOKET_REPORTS_DIR=/data/reports LOKET_MEDIA_DIR=/data/media

RUN useradd --create-home --uid 10001 loket && mkdir /data && chown loket /data
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e '.[postgres]'

USER loket
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["loket", "serve", "--host", "0.0.0.0", "--port", "8000"]
