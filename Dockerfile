FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY starters starters
COPY remediator remediator
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
