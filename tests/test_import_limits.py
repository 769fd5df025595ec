"""Imports are bounded: a zip bomb, too many rows, giant cells or deep nesting are refused
with a message naming the limit, and while bombs arrive the health check and the login
page keep answering."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from api_support import add_user, make_app, token_for
from browser_support import serving

from keywords.io import ImportFailed, ImportLimits, read_library
from store import open_store

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet '
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)


def xlsx_bomb(unpacked_mb: int) -> bytes:
    """A tiny .xlsx whose sheet part inflates to ``unpacked_mb`` MB (the kind of file the
    issue found: 191 KB that unpacks to 78 MB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        padding = " " * (unpacked_mb * 1024 * 1024)
        z.writestr("xl/worksheets/sheet1.xml", SHEET_HEAD + padding + "</sheetData></worksheet>")
    return out.getvalue()


def csv_rows(n: int) -> bytes:
    return ("group,word\n" + "".join(f"g,词{i}\n" for i in range(n))).encode()


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = xlsx_bomb(80)
    assert len(bomb) < 200_000
    with pytest.raises(ImportFailed) as refused:
        read_library(bomb, "xlsx")
    assert refused.value.too_large
    assert "imports.max_unpacked_bytes" in str(refused.value) and "80.0 MB" in str(refused.value)


def test_rows_cells_and_size_have_limits_named_in_the_message() -> None:
    small = ImportLimits(max_bytes=10_000, max_rows=50, max_cell_chars=20)
    with pytest.raises(ImportFailed, match=r"imports\.max_rows"):
        read_library(csv_rows(60), "csv", limits=small)
    with pytest.raises(ImportFailed, match=r"imports\.max_rows"):
        read_library(
            "\n".join(f"词{i}" for i in range(60)).encode(), "txt", group="g", limits=small
        )
    with pytest.raises(ImportFailed, match=r"imports\.max_bytes") as big:
        read_library(csv_rows(2000), "csv", limits=small)
    assert big.value.too_large
    giant = f"group,word\ng,{'长' * 30}\ng,好词\n".encode()
    with pytest.raises(ImportFailed) as cells:
        read_library(giant, "csv", limits=small)
    [problem] = cells.value.problems
    assert problem.line == 2 and "max_cell_chars" in problem.message
    words = {"groups": [{"name": "g", "words": [f"w{i}" for i in range(60)]}]}
    with pytest.raises(ImportFailed, match=r"imports\.max_rows"):
        read_library(json.dumps(words).encode(), "json", limits=small)
    assert len(read_library(csv_rows(50), "csv", limits=small).groups[0].words) == 50


def test_json_nested_too_deep_is_one_clear_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ImportFailed, match="nested too deeply"):
        read_library(deep.encode(), "json", limits=ImportLimits(max_bytes=1_000_000))


def _timed_get(url: str) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()
    return time.monotonic() - start


def test_health_and_login_answer_while_bombs_are_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    app = make_app(store, tmp_path)
    add_user(app, "op", "operator")
    token = token_for(app, "op")
    bomb = xlsx_bomb(80)
    answers: list[int] = []
    with serving(app) as base:

        def upload() -> None:
            boundary = "yuqingboundary"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="parent"\r\n\r\n0\r\n'
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="bomb.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + bomb
                + f"\r\n--{boundary}--\r\n".encode()
            )
            request = urllib.request.Request(
                f"{base}/api/keywords/import",
                data=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
            try:
                urllib.request.urlopen(request, timeout=60)
                answers.append(200)
            except urllib.error.HTTPError as e:
                problem = json.load(e)
                assert "max_unpacked_bytes" in problem["detail"]
                answers.append(e.code)

        threads = [threading.Thread(target=upload) for _ in range(9)]
        for t in threads:
            t.start()
        slowest = max(
            max(_timed_get(f"{base}/api/health"), _timed_get(f"{base}/login")) for _ in range(5)
        )
        for t in threads:
            t.join(60)
    store.close()
    assert answers == [413] * 9
    assert slowest < 1.0, f"health or login took {slowest:.2f} s while bombs arrived"
