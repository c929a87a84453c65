FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY infra ./infra
RUN pip install --no-cache-dir .
# No VERDICT_HOST here: a service binds loopback unless its deployment says otherwise
# (docker-compose.yml sets 0.0.0.0, for the compose network, and publishes none).
ENTRYPOINT ["verdict"]
