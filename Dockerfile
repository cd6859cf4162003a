# The Lotse worker image, built by the `worker` service of docker-compose.yml.
# Configuration comes only from LOTSE_* environment variables (settings.Settings).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Dependencies first, in their own layer: a change to the code does not download them again.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
        project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
        print('\n'.join(project['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (.dockerignore keeps tests, caches, data and secrets out).
COPY . ./
RUN pip install . && rm -rf /src

WORKDIR /app
COPY agreements/ ./agreements/

# Run as an unprivileged user; /var/lib/lotse is its LOTSE_DATA_DIR.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin lotse \
    && install -d -o lotse -g lotse /var/lib/lotse
ENV LOTSE_DATA_DIR=/var/lib/lotse \
    LOTSE_AGREEMENT_FILE=/app/agreements/saxony.toml
USER 10001:10001

CMD ["python", "-m", "worker"]
