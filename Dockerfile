FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY automatos ./automatos
RUN pip install --no-cache-dir . && useradd --create-home automatos
USER automatos
ENV AUTOMATOS_HOST=0.0.0.0 AUTOMATOS_DATA_DIR=/home/automatos/data
EXPOSE 8000
CMD ["automatos", "serve"]
