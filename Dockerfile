FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY infra ./infra
RUN pip install --no-cache-dir .
ENV VERDICT_HOST=0.0.0.0
ENTRYPOINT ["verdict"]
