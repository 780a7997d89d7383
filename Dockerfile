# The monitor service in a container: `docker build -t media-monitor .`
#
#   docker run -v monitor-data:/data -p 127.0.0.1:8787:8787 \
#     -e MONITOR_SLACK_BOT_TOKEN -e MONITOR_SLACK_CHANNEL media-monitor
#
# State (the SQLite database monitor.db, unless MONITOR_DATABASE_URL names
# PostgreSQL) lives in the /data volume. The config baked in at
# /etc/monitor can be replaced by mounting another folder there.
# /healthz and /metrics answer on port 8787.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system monitor \
 && useradd --system --gid monitor --home-dir /data --no-create-home --shell /usr/sbin/nologin monitor

# The package, installed from the copied source (not editable): the
# migrations ship inside it as monitor.migrations.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor/ monitor/
COPY alembic/ alembic/
RUN pip install --no-cache-dir . \
 && rm -rf /src

COPY feeds.toml /etc/monitor/feeds.toml
COPY rules/ /etc/monitor/rules/
ENV MONITOR_CONFIG=/etc/monitor/feeds.toml \
    MONITOR_RULES=/etc/monitor/rules \
    MONITOR_HTTP_ADDRESS=0.0.0.0:8787

RUN mkdir -p /data && chown monitor:monitor /data
WORKDIR /data
VOLUME ["/data"]
USER monitor

EXPOSE 8787
# python:3.11-slim has no curl: ask /healthz with the standard library (a 503 raises, so exits 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status == 200 else 1)"]

# `monitor run` finishes in-flight work on SIGTERM and exits 0.
STOPSIGNAL SIGTERM
CMD ["monitor", "run"]
