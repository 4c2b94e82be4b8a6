# cmrisk service image: the package, the demo, the pipeline at first start, then uvicorn.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CMRISK_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY data_catalog ./data_catalog
COPY pipelines ./pipelines
COPY layers ./layers
COPY geo_service ./geo_service
RUN pip install --no-cache-dir . && useradd --system --home /app cmrisk \
    && mkdir -p /data && chown cmrisk /data
USER cmrisk
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "cmrisk demo && ( [ -e /data/current ] || cmrisk run darien ) && exec cmrisk serve --host 0.0.0.0 --port 8000 --workers ${CMRISK_WORKERS:-2}"]
