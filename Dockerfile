# The same install steps as `make install`, without the dev extras.
FROM python:3.11-slim
RUN useradd --create-home --uid 1000 yuqing
WORKDIR /app
COPY pyproject.toml README.md ./
COPY yuqing yuqing
COPY store store
COPY crawler crawler
COPY monitor monitor
COPY keywords keywords
COPY api api
RUN pip install --no-cache-dir . && mkdir -p var && chown yuqing var
USER yuqing
EXPOSE 8600
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8600/api/health')"
CMD ["yuqing", "run"]
