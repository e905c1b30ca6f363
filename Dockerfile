FROM python:3.11-slim
WORKDIR /app
# Dependencies first, at the locked versions (a layer rebuilt only when the lock changes), then the
# project itself without re-resolving anything. The image has every extra: S3, Redis, providers.
COPY requirements/lock.txt requirements/lock.txt
RUN pip install --no-cache-dir -r requirements/lock.txt
COPY pyproject.toml README.md ./
COPY automatos ./automatos
RUN pip install --no-cache-dir --no-deps . && useradd --create-home automatos
USER automatos
ENV AUTOMATOS_HOST=0.0.0.0 AUTOMATOS_DATA_DIR=/home/automatos/data
EXPOSE 8000
# Liveness of the API process: /health answers without touching the database (readiness, which
# does, is /health/ready). Python's urllib, as slim images have no curl. `automatos worker` and
# one-off commands run from this image too: docker-compose.yml turns the check off for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('AUTOMATOS_PORT', '8000'), timeout=4)" || exit 1
CMD ["automatos", "serve"]
