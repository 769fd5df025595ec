"""``yuqing users`` on a SQLite store."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from api.accounts import Accounts
from store import Store, open_store
from yuqing.cli import main

PASSWORD = "correct horse 电池"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    monkeypatch.setenv("YUQING_STORE", url)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no yuqing.toml of the checkout
    return url


def run(*args: str, stdin: str | None = None, lang: str = "en") -> Result:
    """``yuqing users ARGS`` in English (``lang="zh"``: in Chinese, the default)."""
    return CliRunner().invoke(main, ["users", *args], input=stdin, env={"YUQING_LANG": lang})


def opened(url: str) -> tuple[Store, Accounts]:
    store = open_store(url)
    return store, Accounts(store, lambda: datetime.now(ZoneInfo("Asia/Shanghai")))


def test_first_admin_from_prompt(db_url: str) -> None:
    result = run("create", "admin", "--admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created admin (admin)" in result.output and PASSWORD not in result.output
    store, accounts = opened(db_url)
    try:
        user = accounts.authenticate("admin", PASSWORD)
        assert user is not None and user.role == "admin"
        [entry] = store.audit.list(target="user:admin")
        assert entry.actor.startswith("cli:") and entry.action == "user.create"
    finally:
        store.close()


def test_prompted_passwords_must_agree(db_url: str) -> None:
    result = run("create", "admin", "--admin", stdin=f"{PASSWORD}\nsomething else\n\n")
    assert result.exit_code != 0
    store = open_store(db_url)
    try:
        assert store.users.count() == 0
    finally:
        store.close()


def test_password_from_stdin_and_errors_name_the_field(db_url: str) -> None:
    result = run("create", "wang", "--role", "operator", "--password-stdin", stdin="short\n")
    assert result.exit_code == 2 and "password" in result.output and "10" in result.output
    result = run("create", "Wang!", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert result.exit_code == 2 and "name" in result.output
    result = run("create", "wang", "--admin", "--role", "viewer", "--password-stdin")
    assert result.exit_code == 2 and "--admin" in result.output

    result = run("create", "wang", "--role", "operator", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    result = run("create", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert result.exit_code == 2 and "exists already" in result.output

    store, accounts = opened(db_url)
    try:
        user = accounts.authenticate("wang", PASSWORD)
        assert user is not None and user.role == "operator"
    finally:
        store.close()


def test_generated_password_is_printed_once_and_works(db_url: str) -> None:
    result = run("create", "li.na", "--generate", "--display-name", "李娜")
    assert result.exit_code == 0, result.output
    assert "created li.na (viewer)" in result.output and "cannot be shown again" in result.output
    match = re.search(r"password: (\S+)", result.output)
    assert match is not None and len(match.group(1)) >= 20
    store, accounts = opened(db_url)
    try:
        user = accounts.authenticate("li.na", match.group(1))
        assert user is not None and user.display_name == "李娜"
    finally:
        store.close()


def test_tokens_list_disable_and_revoke(db_url: str) -> None:
    assert run("create", "wang", "--role", "operator", "--generate").exit_code == 0
    result = run("token", "wang", "--label", "日报脚本")
    assert result.exit_code == 0, result.output
    match = re.search(r"token ([0-9a-f]{16}) for wang: (yq_\S+)", result.output)
    assert match is not None and "cannot be shown again" in result.output
    token_id, secret = match.groups()

    listing = run("list")
    assert listing.exit_code == 0
    assert re.search(r"wang\s+operator\s+enabled", listing.output)
    assert f"token {token_id}  日报脚本  (last used never)" in listing.output
    assert secret not in listing.output

    store, accounts = opened(db_url)
    try:
        user = accounts.by_token(secret)
        assert user is not None and user.name == "wang"
    finally:
        store.close()

    result = run("revoke", token_id)
    assert result.exit_code == 0 and f"revoked token {token_id}" in result.output
    assert token_id not in run("list").output
    result = run("revoke", "0000000000000000")
    assert result.exit_code == 2 and "token_id" in result.output

    run("token", "wang", "--label", "second")
    result = run("disable", "wang")
    assert result.exit_code == 0, result.output
    listing = run("list").output
    assert re.search(r"wang\s+operator\s+disabled", listing) and "token" not in listing
    result = run("token", "wang", "--label", "third")
    assert result.exit_code == 2 and "disabled" in result.output
    assert run("enable", "wang").exit_code == 0
    assert re.search(r"wang\s+operator\s+enabled", run("list").output)

    store, accounts = opened(db_url)
    try:
        assert accounts.by_token(secret) is None
        assert all(t.revoked is not None for t in store.tokens.list("wang"))
    finally:
        store.close()
    result = run("disable", "nobody")
    assert result.exit_code == 2 and "no user named nobody" in result.output


def test_password_reset_replaces_the_old_one(db_url: str) -> None:
    result = run("create", "zhao2", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    result = run("password", "zhao2", "--generate")
    assert result.exit_code == 0, result.output
    match = re.search(r"password: (\S+)", result.output)
    assert match is not None
    store, accounts = opened(db_url)
    try:
        assert accounts.authenticate("zhao2", PASSWORD) is None
        assert accounts.authenticate("zhao2", match.group(1)) is not None
    finally:
        store.close()
    missing = run("password", "nobody", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_users_says_in_chinese_by_default(db_url: str) -> None:
    """Without YUQING_LANG the lines are Chinese; the data in them (names, roles, ids, the
    secret) stays as it is."""
    result = run("create", "zhou", "--password-stdin", stdin=f"{PASSWORD}\n", lang="")
    assert result.exit_code == 0 and "已创建用户 zhou（viewer）" in result.output
    issued = run("token", "zhou", "--label", "日报脚本", lang="")
    found = re.search(r"zhou 的令牌 ([0-9a-f]{16})：yq_\S+", issued.output)
    assert found is not None and "请立即记下" in issued.output, issued.output
    listing = run("list", lang="").output
    assert re.search(r"zhou\s+viewer\s+已启用", listing), listing
    assert f"令牌 {found.group(1)}  日报脚本（上次使用：从未）" in listing
    assert run("disable", "zhou", lang="").output.startswith("已停用 zhou，")
    assert re.search(r"zhou\s+viewer\s+已停用", run("list", lang="").output)
