"""Every state change writes one audit entry, whichever door it came through.

The routes are discovered from the app's URL map: every route that takes an unsafe method
(POST, PUT, PATCH, DELETE), API and console alike, must either be exercised here as a
change (one entry per record it changes, with the right actor and target) or be listed as
one that changes nothing, and is then exercised to show it writes no entry. The same holds
for the ``yuqing`` commands, found by walking the command tree. So a new route or command
that forgets its audit fails here, and so does one nobody has classified.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
from alerting_support import RULE, SH, Clock, add, alerting, story
from api_support import Browser, job_done, make_app, signed_in
from apiflask import APIFlask
from click.testing import CliRunner
from waiting import wait_for
from werkzeug.test import TestResponse

from api import totp
from api.accounts import Accounts
from api.context import parts
from crawler.operations import create_source
from keywords.library import KeywordLibrary
from keywords.model import Group, Library, Rule
from keywords.operations import create_group, create_rule, save_library
from monitor.alerts.delivery import save_channel
from store import Store, open_store
from store.acting import Acting
from store.model import AuditEntry, OutboxMessage, Source
from yuqing.cli import main
from yuqing.cli.context import login_actor

# Crawl processes that give up at once (the source's host refuses connections).
CRAWL_SETTINGS = [
    "-s", "YUQING_MATCHER=null", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "LOG_LEVEL=WARNING", "-s", "HTTPPROXY_ENABLED=false", "-s", "RETRY_ENABLED=false",
    "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
]  # fmt: skip
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RECIPIENT = "duty@example.cn"
LIBRARY = Library.model_validate(
    {
        "groups": [
            {"name": "地名", "category": "region", "words": ["潼南", "双江镇"]},
            {"name": "火灾词", "category": "event", "words": ["火灾", "起火"]},
        ],
        "rules": [
            {"name": RULE, "expression": "@地名 @火灾词", "severity": "critical"},
            {"name": "潼南疫情", "expression": "潼南 疫情"},
        ],
    }
)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: crawls of it fail at once, nothing leaves
    the machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the world the cases act in ----------------------------------------------------------


@dataclass
class World:
    """An app over ``store`` with an admin and an operator signed in, the sample rules, and
    ways to make fresh things to act on (each case makes its own, so none depends on what
    another did)."""

    app: APIFlask
    store: Store
    admin: Browser
    operator: Browser
    base: str  # start URL of sources: a closed port on 127.0.0.1
    stories: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- things to act on (made as "setup", before the entries are counted)

    def setup(self) -> Acting:
        with self.app.app_context():
            return Acting("setup", self.store, parts().clock)

    def name(self, stem: str) -> str:
        return f"{stem}{next(self.names)}"

    def version(self) -> int:
        return KeywordLibrary(self.store).current()[0]

    def group(self) -> str:
        name = self.name("词组")
        group = Group.model_validate({"name": name, "words": ["潼南"]})
        create_group(self.setup(), group, parent=self.version())
        return name

    def rule(self) -> str:
        name = self.name("方案")
        create_rule(self.setup(), Rule(name=name, expression="@地名 起火"), parent=self.version())
        return name

    def alert(self) -> str:
        n = next(self.stories)
        clock = Clock(datetime.now(SH))
        [alert_id] = add(self.store, alerting(self.store, clock), [story(n, at=clock.now)])
        return alert_id

    def source(self) -> str:
        source_id = self.name("src-")
        create_source(self.setup(), self.source_data(source_id), allow_private=True)
        return source_id

    def source_data(self, source_id: str) -> Source:
        return Source(source_id, "测试源", "feed", [f"{self.base}/{source_id}.xml"], 600)

    def token(self, user: str) -> str:
        with self.app.app_context():
            return parts().accounts.issue_token(user, "脚本", actor="setup")[0].id

    def user(self) -> str:
        name = self.name("user")
        with self.app.app_context():
            parts().accounts.create(name, "viewer", "a long enough password", actor="setup")
        return name

    def channel(self) -> str:
        """A webhook channel whose receiver is a closed port on 127.0.0.1."""
        ident = self.name("hook-")
        save_channel(
            self.setup(), ident, "webhook", "测试钩子", {"url": f"{self.base}/hook"},
            {"secret": "s" * 32},
        )  # fmt: skip
        return ident

    def dead_letter(self) -> str:
        """A delivery that failed for good (a dead letter), to send again."""
        now = datetime.now(SH)
        key = f"test/{self.name('dead')}"
        message = OutboxMessage(
            key, RECIPIENT, "测试", "text", "", now, now, status="failed", error="refused"
        )
        self.store.outbox.add(message)
        return message.id

    def ack_path(self, alert_id: str) -> str:
        with self.app.app_context():
            p = parts()
            url = p.alerting.links.url(p.alerts.public_url, alert_id, RECIPIENT)
        split = urlsplit(url)
        return f"{split.path}?{split.query}"

    def wait_for_runs(self) -> None:
        """Until the crawl processes "run now" started have finished (they must not
        outlive the store)."""
        with self.app.app_context():
            runner, now = parts().run_now, parts().now
            sources = [s.id for s in self.store.sources.list()]
            wait_for(
                "the runs started now to finish",
                lambda: not any(runner.busy(s, now()) for s in sources),
                timeout=120,
            )

    # -- what is checked

    def entries(self) -> list[AuditEntry]:
        return self.store.audit.list(limit=10_000)

    def audited(
        self, request: Callable[[], TestResponse], *targets: str, actor: str, status: int
    ) -> None:
        """``request`` answers ``status`` and writes one entry per target (a target ending
        in ``*`` is a prefix: its id is made by the change), by ``actor``."""
        known = {e.id for e in self.entries()}
        response = request()
        assert response.status_code == status, said(response)
        written = [e for e in self.entries() if e.id not in known]
        assert len(written) == len(targets), [(e.action, e.target) for e in written]
        for entry in written:
            assert entry.actor == actor, (entry.action, entry.actor)
        assert sorted(_shapes(written, targets)) == sorted(targets), [e.target for e in written]

    def unaudited(self, request: Callable[[], TestResponse]) -> None:
        known = len(self.entries())
        response = request()
        assert response.status_code < 500, said(response)
        assert len(self.entries()) == known, [(e.action, e.target) for e in self.entries()[:3]]


def said(response: TestResponse) -> str:
    """What a refused request said: its problem's detail, or the page's error line."""
    text = response.get_data(as_text=True)
    if response.is_json:
        return str(response.get_json())
    error = re.search(r'class="error"[^>]*>(.*?)<', text, re.S)
    return f"{response.status_code}: " + (error[1].strip() if error else text[:300])


def _shapes(entries: list[AuditEntry], targets: tuple[str, ...]) -> list[str]:
    """Each entry's target, as the expected targets write it (prefixes kept as such)."""
    prefixes = [t[:-1] for t in targets if t.endswith("*")]
    return [next((p + "*" for p in prefixes if e.target.startswith(p)), e.target) for e in entries]


def form(browser: Browser, url: str, **fields: Any) -> Callable[[], TestResponse]:
    """A console form sent by ``browser`` (with its CSRF token)."""
    return lambda: browser.client.post(url, data={"csrf_token": browser.csrf, **fields})


def upload(browser: Browser, url: str, name: str, data: bytes, **fields: Any) -> TestResponse:
    files = {"file": (io.BytesIO(data), name), **{k: str(v) for k, v in fields.items()}}
    return browser.client.post(
        url,
        data=files | {"csrf_token": browser.csrf},
        headers={"X-CSRF-Token": browser.csrf},
        content_type="multipart/form-data",
    )


# -- the routes ------------------------------------------------------------------------------

Case = Callable[[World], None]
CHANGES: dict[tuple[str, str], list[Case]] = {}
READS: dict[tuple[str, str], list[Case]] = {}
# Unsafe routes that change no stored state, and why.
NO_CHANGE = {
    ("POST", "/api/keywords/validate-expression"): "checks an expression",
    ("POST", "/api/keywords/test"): "matches a text",
    ("POST", "/api/keywords/backtest"): "a background job that reads stored items",
    ("POST", "/api/sources/preview"): "fetches and extracts, stores nothing",
    ("POST", "/keywords/validate-expression"): "checks an expression",
    ("POST", "/keywords/test"): "matches a text",
    ("POST", "/keywords/backtest"): "a background job that reads stored items",
    ("POST", "/sources/preview"): "fetches and extracts, stores nothing",
    # The report is derived data, as the hourly run makes it; no record people edit.
    ("POST", "/api/discovery/run"): "a background job computing the discovery report",
    ("POST", "/discovery/run"): "a background job computing the discovery report",
    ("POST", "/login"): "starts a session (bookkeeping, like a token's last use)",
    ("POST", "/logout"): "ends one's own session (bookkeeping, like a token's last use)",
    ("POST", "/login/code"): "finishes a sign-in (a used-up recovery code is audited)",
    ("POST", "/api/keywords/groups/<group_id>/test"): "matches a text with a group's options",
    ("POST", "/keywords/groups/<group_id>/test"): "matches a text with a group's options",
    ("POST", "/api/routing/preview"): "says where an alert would go",
    ("POST", "/routing/preview"): "says where an alert would go",
}


# Cases that start a crawl process: in the slow tier (make test-fast starts no process).
PROCESSES: set[Case] = set()


def changes(method: str, rule: str, *, process: bool = False) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        CHANGES.setdefault((method, rule), []).append(case)
        if process:
            PROCESSES.add(case)
        return case

    return register


def reads(method: str, rule: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        READS.setdefault((method, rule), []).append(case)
        return case

    return register


# keywords (API)


@changes("POST", "/api/keywords/groups")
def _(w: World) -> None:
    body = {"name": "新词组", "words": ["潼南"], "parent": w.version()}
    w.audited(
        lambda: w.operator.post("/api/keywords/groups", json=body),
        "group:新词组",
        actor="operator1",
        status=201,
    )


@changes("PATCH", "/api/keywords/groups/<group_id>")
def _(w: World) -> None:
    name, body = w.group(), {"parent": w.version(), "add": ["梓潼"], "description": "说明"}
    w.audited(
        lambda: w.operator.send("PATCH", f"/api/keywords/groups/{name}", json=body),
        f"group:{name}",
        actor="operator1",
        status=200,
    )


@changes("DELETE", "/api/keywords/groups/<group_id>")
def _(w: World) -> None:
    name = w.group()
    url = f"/api/keywords/groups/{name}?parent={w.version()}"
    w.audited(
        lambda: w.operator.send("DELETE", url), f"group:{name}", actor="operator1", status=200
    )


@changes("POST", "/api/keywords/rules")
def _(w: World) -> None:
    body = {"name": "新方案", "expression": "@地名 @火灾词", "parent": w.version()}
    w.audited(
        lambda: w.operator.post("/api/keywords/rules", json=body),
        "rule:新方案",
        actor="operator1",
        status=201,
    )


@changes("PATCH", "/api/keywords/rules/<rule_id>")
def _(w: World) -> None:
    name, parent = w.rule(), w.version()
    w.audited(
        lambda: w.operator.send(
            "PATCH", f"/api/keywords/rules/{name}", json={"parent": parent, "severity": "info"}
        ),
        f"rule:{name}",
        actor="operator1",
        status=200,
    )


@changes("DELETE", "/api/keywords/rules/<rule_id>")
def _(w: World) -> None:
    name = w.rule()
    url = f"/api/keywords/rules/{name}?parent={w.version()}"
    w.audited(lambda: w.operator.send("DELETE", url), f"rule:{name}", actor="operator1", status=200)


@changes("POST", "/api/keywords/versions/<int(max=2147483647):version>/rollback")
def _(w: World) -> None:
    w.group()
    parent = w.version()
    w.audited(
        lambda: w.operator.post("/api/keywords/versions/1/rollback", json={"parent": parent}),
        f"library:{parent + 1}",
        actor="operator1",
        status=201,
    )


@changes("POST", "/api/keywords/import")
def _(w: World) -> None:
    parent, csv = w.version(), "词组,分类,关键词\n导入组,subject,某词\n".encode()
    w.audited(
        lambda: upload(w.operator, "/api/keywords/import", "new.csv", csv, parent=parent),
        f"library:{parent + 1}",
        actor="operator1",
        status=201,
    )
    # A dry run (a preview of the same change) writes nothing.
    w.unaudited(
        lambda: upload(
            w.operator, "/api/keywords/import", "new.csv", csv, parent=parent + 1, dry_run="true"
        )
    )


@changes("POST", "/api/keywords/places/import")
def _(w: World) -> None:
    parent, csv = w.version(), "名称,上级代码\n潼南中学,500152\n".encode()
    w.audited(
        lambda: upload(w.operator, "/api/keywords/places/import", "p.csv", csv, parent=parent),
        f"library:{parent + 1}",
        actor="operator1",
        status=201,
    )
    # A file with a bad line changes nothing.
    bad = "名称,上级代码\n潼南中学,999999\n".encode()
    refused = upload(w.operator, "/api/keywords/places/import", "p.csv", bad, parent=parent + 1)
    assert refused.status_code == 400 and refused.get_json()["problems"][0]["line"] == 2


@changes("POST", "/api/keywords/places/import-codes")
def _(w: World) -> None:
    parent, codes = w.version(), "统计用区划代码,名称\n500152104000,宝龙街道\n".encode()
    w.audited(
        lambda: upload(
            w.operator,
            "/api/keywords/places/import-codes",
            "codes.csv",
            codes,
            parent=parent,
            remove="false",
        ),
        f"library:{parent + 1}",
        actor="operator1",
        status=201,
    )
    # A file with a bad line changes nothing; the line is named (the API's problems are in
    # English, the console says them in Chinese).
    bad = "500152104000,宝龙街道\n50015,潼南\n".encode()
    refused = upload(
        w.operator, "/api/keywords/places/import-codes", "c.csv", bad, parent=parent + 1
    )
    assert refused.status_code == 400
    assert refused.get_json()["problems"][0]["message"].startswith("line 2: code '50015'")


@reads("POST", "/api/keywords/validate-expression")
def _(w: World) -> None:
    body = {"expression": "@地名 AND 起火"}
    w.unaudited(lambda: w.operator.post("/api/keywords/validate-expression", json=body))


@reads("POST", "/api/keywords/test")
def _(w: World) -> None:
    w.unaudited(lambda: w.operator.post("/api/keywords/test", json={"text": "潼南起火"}))


@reads("POST", "/api/keywords/backtest")
def _(w: World) -> None:
    rule = {"name": RULE, "expression": "@地名 @火灾词 NOT 演习"}

    def run_to_the_end() -> TestResponse:
        response = w.operator.post("/api/keywords/backtest", json={"rule": rule, "days": 1})
        assert response.status_code == 202
        assert job_done(w.operator, response.headers["Location"])["state"] == "done"
        return response

    w.unaudited(run_to_the_end)


# alerts (API)


def _alert_action(action: str, body: dict[str, str] | None) -> Case:
    def case(w: World) -> None:
        alert_id = w.alert()
        url = f"/api/alerts/{alert_id}/{action}"
        send = (lambda: w.operator.post(url, json=body)) if body is not None else None
        w.audited(
            send or (lambda: w.operator.post(url)),
            f"alert:{alert_id}",
            actor="operator1",
            status=200,
        )

    return case


for _action, _body in [
    ("acknowledge", None),
    ("assign", {"assignee": "李四"}),
    ("note", {"note": "已电话联系"}),
    ("handle", {}),
    ("respond", {"guidance": "https://gov.example.cn/notice/1"}),
    ("close", {"reason": "false_positive"}),
]:
    changes("POST", f"/api/alerts/<alert_id>/{_action}")(_alert_action(_action, _body))


@changes("POST", "/api/alerts/acknowledge")
def _(w: World) -> None:
    first, second = w.alert(), w.alert()
    # Each alert acknowledged is a record changed: one entry each, none for the refused.
    w.audited(
        lambda: w.operator.post("/api/alerts/acknowledge", json={"ids": [first, second, "nope"]}),
        f"alert:{first}",
        f"alert:{second}",
        actor="operator1",
        status=200,
    )
    third = w.alert()
    w.audited(
        lambda: w.operator.post("/api/alerts/acknowledge", json={"ids": [third]}),
        f"alert:{third}",
        actor="operator1",
        status=200,
    )


@changes("PUT", "/api/policies/<rule>")
def _(w: World) -> None:
    body = {"mode": "threshold", "threshold": 3}
    w.audited(
        lambda: w.operator.send("PUT", f"/api/policies/{RULE}", json=body),
        f"policy:{RULE}",
        actor="operator1",
        status=200,
    )


@changes("PUT", "/api/emergency")
def _(w: World) -> None:
    for on in (True, False):
        w.audited(
            lambda on=on: w.operator.send(  # type: ignore[misc]
                "PUT", "/api/emergency", json={"scope": RULE, "on": on}
            ),
            f"emergency:{RULE}",
            actor="operator1",
            status=200,
        )


# sources (API)


@changes("POST", "/api/sources")
def _(w: World) -> None:
    body = {
        "id": "api-new",
        "name": "新源",
        "type": "feed",
        "start_urls": [f"{w.base}/new.xml"],
        "interval": 600,
        "allow_private": True,
    }
    w.audited(
        lambda: w.admin.post("/api/sources", json=body),
        "source:api-new",
        actor="admin1",
        status=201,
    )


@changes("PUT", "/api/sources/<source_id>")
def _(w: World) -> None:
    source_id = w.source()
    body = {
        "id": source_id,
        "name": "改名",
        "type": "feed",
        "start_urls": [f"{w.base}/{source_id}.xml"],
        "interval": 1200,
    }
    w.audited(
        lambda: w.admin.send("PUT", f"/api/sources/{source_id}", json=body),
        f"source:{source_id}",
        actor="admin1",
        status=200,
    )


@changes("DELETE", "/api/sources/<source_id>")
def _(w: World) -> None:
    source_id = w.source()
    w.audited(
        lambda: w.admin.send("DELETE", f"/api/sources/{source_id}"),
        f"source:{source_id}",
        actor="admin1",
        status=204,
    )


@changes("POST", "/api/sources/<source_id>/run", process=True)
def _(w: World) -> None:
    source_id = w.source()
    w.audited(
        lambda: w.operator.post(f"/api/sources/{source_id}/run"),
        f"source:{source_id}",
        actor="operator1",
        status=202,
    )
    w.wait_for_runs()


@reads("POST", "/api/sources/preview")
def _(w: World) -> None:
    body = {"name": "预览", "type": "feed", "start_urls": [f"{w.base}/p.xml"], "interval": 600}
    w.unaudited(lambda: w.admin.post("/api/sources/preview", json=body | {"allow_private": True}))


# users and tokens (API)


@changes("POST", "/api/users")
def _(w: World) -> None:
    body = {"name": "zhao", "role": "viewer", "password": "a long enough password"}
    w.audited(
        lambda: w.admin.post("/api/users", json=body), "user:zhao", actor="admin1", status=201
    )


@changes("PATCH", "/api/users/<name>")
def _(w: World) -> None:
    for change in ({"role": "operator"}, {"password": "another long password"}):
        name = w.user()
        w.audited(
            lambda name=name, change=change: w.admin.send(  # type: ignore[misc]
                "PATCH", f"/api/users/{name}", json=change
            ),
            f"user:{name}",
            actor="admin1",
            status=200,
        )
    # Disabling revokes the user's live tokens: each token revoked is a record changed.
    name = w.user()
    token = w.token(name)
    w.audited(
        lambda: w.admin.send("PATCH", f"/api/users/{name}", json={"disabled": True}),
        f"user:{name}",
        f"token:{token}",
        actor="admin1",
        status=200,
    )


@changes("POST", "/api/tokens")
def _(w: World) -> None:
    w.audited(
        lambda: w.operator.post("/api/tokens", json={"label": "日报"}),
        "token:*",
        actor="operator1",
        status=201,
    )


@changes("DELETE", "/api/tokens/<token_id>")
def _(w: World) -> None:
    token = w.token("operator1")
    w.audited(
        lambda: w.operator.send("DELETE", f"/api/tokens/{token}"),
        f"token:{token}",
        actor="operator1",
        status=200,
    )


# the console's forms


@changes("POST", "/keywords/groups")
def _(w: World) -> None:
    w.audited(
        form(w.operator, "/keywords/groups", parent=w.version(), name="表单词组", words="潼南"),
        "group:表单词组",
        actor="operator1",
        status=302,
    )


@changes("POST", "/keywords/groups/<group_id>")
def _(w: World) -> None:
    for action, fields in [
        ("add", {"words": "梓潼\n花岩镇"}),
        ("remove", {"word": "潼南"}),
        ("settings", {"category": "region", "description": "改了", "enabled": "on"}),
        ("delete", {}),
    ]:
        name = w.group()
        if action == "remove":  # a group keeps at least one word
            w.audited(
                form(
                    w.operator,
                    f"/keywords/groups/{name}",
                    parent=w.version(),
                    action="add",
                    words="梓潼",
                ),
                f"group:{name}",
                actor="operator1",
                status=302,
            )
        w.audited(
            form(
                w.operator, f"/keywords/groups/{name}", parent=w.version(), action=action, **fields
            ),
            f"group:{name}",
            actor="operator1",
            status=302,
        )


def _rule_form(name: str, parent: int, **more: str) -> dict[str, Any]:
    fields = {"name": name, "expression": "@地名 @火灾词", "scope": "both", "enabled": "on"}
    return fields | {"severity": "warning", "parent": parent} | more


@changes("POST", "/keywords/rules")
def _(w: World) -> None:
    w.audited(
        form(w.operator, "/keywords/rules", **_rule_form("表单方案", w.version())),
        "rule:表单方案",
        actor="operator1",
        status=302,
    )


@changes("POST", "/keywords/rules/<rule_id>")
def _(w: World) -> None:
    name = w.rule()
    w.audited(
        form(w.operator, f"/keywords/rules/{name}", **_rule_form(name, w.version(), owner="王五")),
        f"rule:{name}",
        actor="operator1",
        status=302,
    )
    w.audited(
        form(
            w.operator, f"/keywords/rules/{name}", **_rule_form(name, w.version(), action="delete")
        ),
        f"rule:{name}",
        actor="operator1",
        status=302,
    )


@changes("POST", "/keywords/versions/<int:number>/rollback")
def _(w: World) -> None:
    w.group()
    parent = w.version()
    w.audited(
        form(w.operator, "/keywords/versions/1/rollback", parent=parent),
        f"library:{parent + 1}",
        actor="operator1",
        status=302,
    )


@changes("POST", "/keywords/import")
def _(w: World) -> None:
    parent, csv = w.version(), "词组,分类,关键词\n表单导入组,subject,某词\n".encode()
    w.unaudited(lambda: upload(w.operator, "/keywords/import", "new.csv", csv, parent=parent))
    w.audited(
        lambda: upload(
            w.operator, "/keywords/import", "new.csv", csv, parent=parent, action="apply"
        ),
        f"library:{parent + 1}",
        actor="operator1",
        status=200,
    )


@reads("POST", "/keywords/validate-expression")
def _(w: World) -> None:
    w.unaudited(form(w.operator, "/keywords/validate-expression", expression="@地名 起火"))


@reads("POST", "/keywords/test")
def _(w: World) -> None:
    w.unaudited(form(w.operator, "/keywords/test", text="潼南起火"))


@reads("POST", "/keywords/backtest")
def _(w: World) -> None:
    w.unaudited(form(w.operator, "/keywords/backtest", **_rule_form(RULE, 0, days="1")))


@changes("POST", "/alerts/<alert_id>/<action>")
def _(w: World) -> None:
    for action, fields in [
        ("acknowledge", {}),
        ("assign", {"assignee": "李四"}),
        ("note", {"note": "已电话联系"}),
        ("handle", {"assignee": ""}),
        ("respond", {"guidance": "https://gov.example.cn/notice/2"}),
        ("close", {"reason": "handled", "note": ""}),
    ]:
        alert_id = w.alert()
        w.audited(
            form(w.operator, f"/alerts/{alert_id}/{action}", **fields),
            f"alert:{alert_id}",
            actor="operator1",
            status=302,
        )


@changes("POST", "/alerts/acknowledge")
def _(w: World) -> None:
    alert_id = w.alert()
    w.audited(
        form(w.operator, "/alerts/acknowledge", ids=[alert_id]),
        f"alert:{alert_id}",
        actor="operator1",
        status=302,
    )


@changes("POST", "/alerts/<alert_id>/ack")
def _(w: World) -> None:
    """The emailed link: whoever opens it, the recipient it was made for acts."""
    alert_id = w.alert()
    path = w.ack_path(alert_id)
    anonymous = Browser(w.app)
    page = anonymous.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    w.audited(
        lambda: anonymous.client.post(path, data={"csrf_token": token[1]}),
        f"alert:{alert_id}",
        actor=RECIPIENT,
        status=200,
    )


@changes("POST", "/emergency")
def _(w: World) -> None:
    for on in ("1", "0"):
        w.audited(
            form(w.operator, "/emergency", scope="*", on=on, reason="汛期"),
            "emergency:*",
            actor="operator1",
            status=302,
        )


@changes("POST", "/sources/new")
def _(w: World) -> None:
    fields = {"id": "form-new", "name": "表单源", "type": "feed", "interval": "600"}
    fields |= {"max_pages": "1"}
    fields |= {"start_urls": f"{w.base}/f.xml", "allow_private": "on", "robots": "on"}
    w.audited(
        form(w.admin, "/sources/new", **fields), "source:form-new", actor="admin1", status=302
    )


@changes("POST", "/sources/<source_id>/edit")
def _(w: World) -> None:
    source_id = w.source()
    fields = {"name": "改名", "type": "feed", "interval": "900", "enabled": "on"}
    fields |= {"max_pages": "1"}
    fields |= {"start_urls": f"{w.base}/{source_id}.xml"}
    w.audited(
        form(w.admin, f"/sources/{source_id}/edit", **fields),
        f"source:{source_id}",
        actor="admin1",
        status=302,
    )


@changes("POST", "/sources/<source_id>/run", process=True)
def _(w: World) -> None:
    source_id = w.source()
    w.audited(
        form(w.operator, f"/sources/{source_id}/run"),
        f"source:{source_id}",
        actor="operator1",
        status=302,
    )
    w.wait_for_runs()


@changes("POST", "/sources/<source_id>/delete")
def _(w: World) -> None:
    source_id = w.source()
    w.audited(
        form(w.admin, f"/sources/{source_id}/delete"),
        f"source:{source_id}",
        actor="admin1",
        status=302,
    )


@reads("POST", "/sources/preview")
def _(w: World) -> None:
    fields = {"name": "预览", "type": "feed", "interval": "600", "allow_private": "on"}
    fields |= {"max_pages": "1"}
    w.unaudited(form(w.admin, "/sources/preview", start_urls=f"{w.base}/p.xml", **fields))


@changes("POST", "/admin/users")
def _(w: World) -> None:
    fields = {"name": "qian", "role": "viewer", "password": "a long enough password"}
    w.audited(form(w.admin, "/admin/users", **fields), "user:qian", actor="admin1", status=302)


@changes("DELETE", "/api/users/<name>/sessions")
def _(w: World) -> None:
    name = w.user()
    w.audited(
        lambda: w.admin.send("DELETE", f"/api/users/{name}/sessions"),
        f"user:{name}",
        actor="admin1",
        status=200,
    )


@changes("POST", "/admin/users/<name>/signout")
def _(w: World) -> None:
    name = w.user()
    w.audited(
        form(w.admin, f"/admin/users/{name}/signout"), f"user:{name}", actor="admin1", status=200
    )


@changes("POST", "/admin/users/<name>")
def _(w: World) -> None:
    for fields in ({"role": "operator"}, {"password": "another long password"}):
        name = w.user()
        w.audited(
            form(w.admin, f"/admin/users/{name}", **fields),
            f"user:{name}",
            actor="admin1",
            status=302,
        )
    name = w.user()
    w.audited(
        form(w.admin, f"/admin/users/{name}", disabled="1"),
        f"user:{name}",
        actor="admin1",
        status=302,
    )


@changes("POST", "/account/tokens")
def _(w: World) -> None:
    w.audited(
        form(w.operator, "/account/tokens", label="周报"), "token:*", actor="operator1", status=200
    )


@changes("POST", "/account/tokens/<token_id>/revoke")
def _(w: World) -> None:
    token = w.token("operator1")
    w.audited(
        form(w.operator, f"/account/tokens/{token}/revoke"),
        f"token:{token}",
        actor="operator1",
        status=302,
    )


ADMIN_PASSWORD = "a long enough password"


def _admin(w: World, *, second_factor: bool) -> tuple[str, str]:
    """A fresh admin, with a second factor if asked; the name and the TOTP secret."""
    name, secret = w.name("mfa-admin"), totp.new_secret()
    with w.app.app_context():
        accounts = parts().accounts
        accounts.create(name, "admin", ADMIN_PASSWORD, actor="setup")
        if second_factor:
            # Confirmed with the previous step's code: the current one still signs in.
            # The enrolment reads the same instant, so no step boundary falls in between.
            now = accounts.wall()
            accounts.wall = lambda: now
            code = totp.code_at(secret, now - totp.STEP)
            accounts.enable_totp(name, secret, code, ADMIN_PASSWORD, actor="setup")
    return name, secret


@changes("POST", "/account/totp")
def _(w: World) -> None:
    name, secret = _admin(w, second_factor=False)
    browser = Browser(w.app)
    browser.login(name, ADMIN_PASSWORD)
    code = totp.code_at(secret, datetime.now().timestamp())
    fields = {"secret": secret, "code": code, "password": ADMIN_PASSWORD}
    w.audited(form(browser, "/account/totp", **fields), f"user:{name}", actor=name, status=200)


@changes("POST", "/admin/users/<name>/totp/reset")
def _(w: World) -> None:
    name, _secret = _admin(w, second_factor=True)
    reset = form(w.admin, f"/admin/users/{name}/totp/reset")
    w.audited(reset, f"user:{name}", actor="admin1", status=302)


@changes("DELETE", "/api/users/<name>/totp")
def _(w: World) -> None:
    name, _secret = _admin(w, second_factor=True)
    w.audited(
        lambda: w.admin.send("DELETE", f"/api/users/{name}/totp"),
        f"user:{name}",
        actor="admin1",
        status=200,
    )


@reads("POST", "/login/code")
def _(w: World) -> None:
    name, secret = _admin(w, second_factor=True)
    browser = Browser(w.app)
    browser.login(name, ADMIN_PASSWORD)
    code = totp.code_at(secret, datetime.now().timestamp())
    w.unaudited(form(browser, "/login/code", code=code))


@reads("POST", "/login")
def _(w: World) -> None:
    w.unaudited(lambda: Browser(w.app).login("operator1"))


@reads("POST", "/logout")
def _(w: World) -> None:
    browser = signed_in(w.app, "viewer")
    w.unaudited(form(browser, "/logout"))


# -- the route tests -------------------------------------------------------------------------


# channels and routing (API)

ROUTE_ALL = {"routes": [{"name": "全部", "to": [{"channel": "email", "to": [RECIPIENT]}]}]}


@changes("POST", "/api/channels")
def _(w: World) -> None:
    ident = w.name("hook-")
    body = {"id": ident, "kind": "webhook", "name": "钩子", "settings": {"url": f"{w.base}/h"},
            "secrets": {"secret": "s" * 32}}  # fmt: skip
    w.audited(
        lambda: w.admin.post("/api/channels", json=body),
        f"channel:{ident}",
        actor="admin1",
        status=201,
    )


@changes("PUT", "/api/channels/<ident>")
def _(w: World) -> None:
    ident = w.channel()
    body = {"kind": "webhook", "name": "改名", "settings": {"url": f"{w.base}/h"}}
    w.audited(
        lambda: w.admin.send("PUT", f"/api/channels/{ident}", json=body),
        f"channel:{ident}",
        actor="admin1",
        status=200,
    )


@changes("DELETE", "/api/channels/<ident>")
def _(w: World) -> None:
    ident = w.channel()
    w.audited(
        lambda: w.admin.send("DELETE", f"/api/channels/{ident}"),
        f"channel:{ident}",
        actor="admin1",
        status=204,
    )


@changes("POST", "/api/channels/<ident>/test")
def _(w: World) -> None:
    # A test message reaches real people: audited whether the platform took it or not.
    w.audited(
        lambda: w.admin.post("/api/channels/email/test", json={"to": RECIPIENT}),
        "channel:email",
        actor="admin1",
        status=200,
    )


@changes("PUT", "/api/routing")
def _(w: World) -> None:
    w.audited(
        lambda: w.admin.send("PUT", "/api/routing", json={"settings": ROUTE_ALL}),
        "routing",
        actor="admin1",
        status=200,
    )


@changes("POST", "/api/deliveries/<delivery_id>/resend")
def _(w: World) -> None:
    ident = w.dead_letter()
    w.audited(
        lambda: w.operator.post(f"/api/deliveries/{ident}/resend"),
        f"delivery:{ident}",
        actor="operator1",
        status=200,
    )


@reads("POST", "/api/routing/preview")
def _(w: World) -> None:
    w.unaudited(lambda: w.operator.post("/api/routing/preview", json={"severity": "critical"}))


@reads("POST", "/api/keywords/groups/<group_id>/test")
def _(w: World) -> None:
    w.unaudited(lambda: w.operator.post("/api/keywords/groups/地名/test", json={"text": "潼南"}))


# channels and routing (console)


@changes("POST", "/channels")
def _(w: World) -> None:
    ident = w.name("hook-")
    fields = {"kind": "webhook", "id": ident, "name": "钩子", "enabled": "on",
              "s_url": f"{w.base}/h", "x_secret": "s" * 32}  # fmt: skip
    w.audited(form(w.admin, "/channels", **fields), f"channel:{ident}", actor="admin1", status=302)


@changes("POST", "/channels/<ident>")
def _(w: World) -> None:
    ident = w.channel()
    fields = {"kind": "webhook", "name": "改名", "enabled": "on", "s_url": f"{w.base}/h"}
    w.audited(
        form(w.admin, f"/channels/{ident}", **fields),
        f"channel:{ident}",
        actor="admin1",
        status=302,
    )


@changes("POST", "/channels/<ident>/delete")
def _(w: World) -> None:
    ident = w.channel()
    w.audited(
        form(w.admin, f"/channels/{ident}/delete"), f"channel:{ident}", actor="admin1", status=302
    )


@changes("POST", "/channels/<ident>/test")
def _(w: World) -> None:
    w.audited(
        form(w.admin, "/channels/email/test", to=RECIPIENT),
        "channel:email",
        actor="admin1",
        status=200,
    )


@changes("POST", "/routing")
def _(w: World) -> None:
    w.audited(
        form(w.admin, "/routing", routing=json.dumps(ROUTE_ALL)),
        "routing",
        actor="admin1",
        status=302,
    )


@changes("POST", "/deliveries/<delivery_id>/resend")
def _(w: World) -> None:
    ident = w.dead_letter()
    w.audited(
        form(w.operator, f"/deliveries/{ident}/resend"),
        f"delivery:{ident}",
        actor="operator1",
        status=302,
    )


@reads("POST", "/routing/preview")
def _(w: World) -> None:
    w.unaudited(form(w.operator, "/routing/preview", severity="critical"))


@reads("POST", "/keywords/groups/<group_id>/test")
def _(w: World) -> None:
    w.unaudited(form(w.operator, "/keywords/groups/地名/test", text="潼南"))


# discovery (API and console): accepting is the keyword operation; dismissals are audited


def _dismissed(w: World, term: str) -> str:
    from monitor.discovery import operations as discovery_ops

    discovery_ops.dismiss(w.setup(), term, window_df=3)
    return term


@changes("POST", "/api/discovery/terms/<term>/accept")
def _(w: World) -> None:
    body = {"group": "火灾词", "parent": w.version()}
    w.audited(
        lambda: w.operator.post("/api/discovery/terms/蓝湖坝/accept", json=body),
        "group:火灾词",
        actor="operator1",
        status=200,
    )


@changes("POST", "/api/discovery/terms/<term>/dismiss")
def _(w: World) -> None:
    w.audited(
        lambda: w.operator.post("/api/discovery/terms/翠澜沟/dismiss", json={"window_df": 4}),
        "term:翠澜沟",
        actor="operator1",
        status=200,
    )


@changes("DELETE", "/api/discovery/terms/<term>/dismiss")
def _(w: World) -> None:
    term = _dismissed(w, "琉珀岭")
    w.audited(
        lambda: w.operator.send("DELETE", f"/api/discovery/terms/{term}/dismiss"),
        f"term:{term}",
        actor="operator1",
        status=200,
    )


@changes("POST", "/discovery/terms/<term>/accept")
def _(w: World) -> None:
    w.audited(
        form(w.operator, "/discovery/terms/漾璟坪/accept", group="火灾词", parent=w.version()),
        "group:火灾词",
        actor="operator1",
        status=302,
    )


@changes("POST", "/discovery/terms/<term>/dismiss")
def _(w: World) -> None:
    w.audited(
        form(w.operator, "/discovery/terms/翎霁巷/dismiss", window_df="5"),
        "term:翎霁巷",
        actor="operator1",
        status=302,
    )


@changes("POST", "/discovery/terms/<term>/undismiss")
def _(w: World) -> None:
    term = _dismissed(w, "岚汐桥")
    w.audited(
        form(w.operator, f"/discovery/terms/{term}/undismiss"),
        f"term:{term}",
        actor="operator1",
        status=302,
    )


@reads("POST", "/api/discovery/run")
def _(w: World) -> None:
    def run() -> TestResponse:
        response = w.operator.post("/api/discovery/run")
        job_done(w.operator, response.headers["Location"])
        return response

    w.unaudited(run)


@reads("POST", "/discovery/run")
def _(w: World) -> None:
    def run() -> TestResponse:
        response = form(w.operator, "/discovery/run")()
        with w.app.app_context():
            wait_for(
                "the discovery run",
                lambda: w.store.discovery.latest_report() is not None,
                timeout=60,
            )
        return response

    w.unaudited(run)


def unsafe_routes(app: APIFlask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & UNSAFE
    }


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    app = make_app(
        store,
        tmp_path,
        crawl_args=["--config", str(config), *CRAWL_SETTINGS],
        alerts={"public_url": "https://yq.example.cn"},
        smtp={"port": closed_port(), "timeout": 2},  # test messages fail at once, locally
    )
    admin, operator = signed_in(app, "admin"), signed_in(app, "operator")
    with app.app_context():
        save_library(Acting("setup", store, parts().clock), LIBRARY)
    world = World(app, store, admin, operator, f"http://127.0.0.1:{closed_port()}")
    yield world
    world.wait_for_runs()


def test_every_unsafe_route_is_classified(tmp_path: Path) -> None:
    app = make_app(open_store(str(tmp_path / "y.db")), tmp_path)
    routes = unsafe_routes(app)
    unclassified = routes - CHANGES.keys() - NO_CHANGE.keys()
    assert not unclassified, (
        f"routes neither audited here nor listed as changing nothing: {unclassified}"
    )
    gone = (CHANGES.keys() | NO_CHANGE.keys()) - routes
    assert not gone, f"cases for routes that no longer exist: {gone}"
    assert not CHANGES.keys() & NO_CHANGE.keys()
    assert READS.keys() == NO_CHANGE.keys(), "every route that changes nothing is tried"


def walk(world: World, routes: dict[tuple[str, str], list[Case]], *, processes: bool) -> None:
    """Run every case (those starting a process, or the others) and report every route
    that failed, not only the first."""
    failures = []
    for (method, rule), cases in sorted(routes.items()):
        for case in cases:
            if (case in PROCESSES) != processes:
                continue
            try:
                case(world)
            except AssertionError as e:
                failures.append(f"{method} {rule}: {e}")
    assert not failures, "\n".join(failures)


def test_each_change_writes_one_entry_per_record_with_its_actor(world: World) -> None:
    walk(world, CHANGES, processes=False)


@pytest.mark.slow
def test_each_run_asked_for_now_is_audited(world: World) -> None:
    walk(world, CHANGES, processes=True)


def test_what_changes_nothing_writes_nothing(world: World) -> None:
    walk(world, READS, processes=False)


# -- the commands ---------------------------------------------------------------------------


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name))


@dataclass
class Terminal:
    """``yuqing`` commands on a SQLite store, with rules, an alert and a source to act on."""

    store: Store
    tmp: Path
    runner: CliRunner
    base: str
    stories: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def run(self, *args: str, stdin: str | None = None) -> click.testing.Result:
        return self.runner.invoke(main, list(args), input=stdin, catch_exceptions=False)

    def alert(self) -> str:
        clock = Clock(datetime.now(SH))
        n = next(self.stories)
        [alert_id] = add(self.store, alerting(self.store, clock), [story(n, at=clock.now)])
        return alert_id

    def audited(self, args: list[str], *targets: str, actor: str, stdin: str | None = None) -> None:
        known = {e.id for e in self.store.audit.list(limit=10_000)}
        result = self.run(*args, stdin=stdin)
        assert result.exit_code == 0, result.output
        written = [e for e in self.store.audit.list(limit=10_000) if e.id not in known]
        assert sorted(_shapes(written, targets)) == sorted(targets), result.output
        assert {e.actor for e in written} == {actor}

    def unaudited(self, args: list[str]) -> None:
        known = len(self.store.audit.list(limit=10_000))
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        assert len(self.store.audit.list(limit=10_000)) == known


COMMAND_CHANGES: dict[str, Callable[[Terminal], None]] = {}
COMMAND_READS: dict[str, Callable[[Terminal], None]] = {}
# Commands that change no record people edit, and why: the service's own work (what it
# does is in run records, alert timelines and the outbox) and the storage layout.
UNAUDITED = {
    "run": "the service",
    "scheduler": "the crawl scheduler",
    "send-outbox": "sends what alerting queued",
    "alerts tick": "the alert engine's minute: updates, escalations, digests",
    "store migrate": "moves items between Elasticsearch indices, changing none",
    "store replicas": "the Elasticsearch indices' replica count",
    "store maintain": "the items' lifecycle, which the service also applies by itself",
}


COMMAND_PROCESSES: set[str] = set()  # commands that start a process: the slow tier


def command(
    name: str, *, changes: bool = True, process: bool = False
) -> Callable[[Callable[[Terminal], None]], None]:
    def register(case: Callable[[Terminal], None]) -> None:
        (COMMAND_CHANGES if changes else COMMAND_READS)[name] = case
        if process:
            COMMAND_PROCESSES.add(name)

    return register


@command("alerts act")
def _(t: Terminal) -> None:
    for action, options in [
        ("acknowledge", []),
        ("assign", ["--assignee", "李四"]),
        ("note", ["--note", "已联系"]),
        ("handle", []),
        ("respond", ["--guidance", "https://gov.example.cn/n/1"]),
        ("close", ["--reason", "handled"]),
    ]:
        alert_id = t.alert()
        args = ["alerts", "act", alert_id, action, "--actor", "张三", *options]
        t.audited(args, f"alert:{alert_id}", actor="张三")


@command("alerts policy")
def _(t: Terminal) -> None:
    t.alert()  # the library with the rules
    settings = t.tmp / "policy.json"
    settings.write_text('{"mode": "threshold", "threshold": 5}')
    args = ["alerts", "policy", RULE, str(settings), "--author", "张三"]
    t.audited(args, f"policy:{RULE}", actor="张三")


@command("emergency")
def _(t: Terminal) -> None:
    for state in ("on", "off"):
        t.audited(["emergency", state, "--actor", "值班长"], "emergency:*", actor="值班长")


@command("keywords import")
def _(t: Terminal) -> None:
    words = t.tmp / "words.txt"
    words.write_text("潼南\n双江镇\n")
    head = KeywordLibrary(t.store).current()[0]
    args = ["keywords", "import", str(words), "--group", "地名2", "--author", "李四"]
    t.audited(args, f"library:{head + 1}", actor="李四")


@command("keywords import-places")
def _(t: Terminal) -> None:
    places = t.tmp / "places.csv"
    places.write_text("名称,上级代码\n潼南中学,500152\n", encoding="utf-8")
    head = KeywordLibrary(t.store).current()[0]
    args = ["keywords", "import-places", str(places), "--author", "李四"]
    t.audited(args, f"library:{head + 1}", actor="李四")


@command("places import-codes")
def _(t: Terminal) -> None:
    codes = t.tmp / "codes.txt"
    codes.write_text("500152104000\t宝龙街道\n", encoding="utf-8")
    head = KeywordLibrary(t.store).current()[0]
    args = ["places", "import-codes", str(codes), "--author", "李四", "--no-remove"]
    t.audited(args, f"library:{head + 1}", actor="李四")


@command("keywords rollback")
def _(t: Terminal) -> None:
    head = KeywordLibrary(t.store).current()[0]
    t.audited(
        ["keywords", "rollback", "1", "--author", "李四"], f"library:{head + 1}", actor="李四"
    )


@command("sources")
def _(t: Terminal) -> None:
    seed = t.tmp / "sources.yaml"
    seed.write_text(
        f"sources:\n- id: seeded\n  name: 种子源\n  type: feed\n"
        f"  start_urls: ['{t.base}/s.xml']\n  interval: 600\n"
    )
    # The registry is empty: the file's source is added, the defaults are not needed.
    t.audited(["sources", "--seed", str(seed)], "source:seeded", actor=login_actor())
    t.unaudited(["sources", "--seed", str(seed)])  # has it: nothing to add
    t.unaudited(["sources"])


@command("crawl", process=True)
def _(t: Terminal) -> None:
    if t.store.sources.get("seeded") is None:
        seeded = Source("seeded", "种子源", "feed", [f"{t.base}/s.xml"], 600)
        create_source(Acting("setup", t.store, Clock()), seeded, allow_private=True)
    args = ["crawl", "seeded", *CRAWL_SETTINGS]
    known = {e.id for e in t.store.audit.list(limit=10_000)}
    result = t.runner.invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    written = [e for e in t.store.audit.list(limit=10_000) if e.id not in known]
    assert [(e.actor, e.action, e.target) for e in written] == [
        (login_actor(), "source.run", "source:seeded")
    ]


@command("channels put")
def _(t: Terminal) -> None:
    spec = t.tmp / "channel.yaml"
    spec.write_text(
        f"id: cli-hook\nkind: webhook\nname: 钩子\nsettings: {{url: '{t.base}/h'}}\n"
        f"secrets: {{secret: '{'s' * 32}'}}\n"
    )
    t.audited(["channels", "put", str(spec)], "channel:cli-hook", actor=login_actor())


@command("routing set")
def _(t: Terminal) -> None:
    table = t.tmp / "routing.json"
    table.write_text(json.dumps(ROUTE_ALL, ensure_ascii=False))
    t.audited(["routing", "set", str(table)], "routing", actor=login_actor())


@command("channels test")
def _(t: Terminal) -> None:
    # The webhook's receiver is a closed port: the test fails, and is audited all the same.
    result = t.run("channels", "test", "cli-hook")
    assert result.exit_code in (0, 1), result.output
    assert t.store.audit.list(target="channel:cli-hook")[0].action == "channel.test"


@command("channels resend")
def _(t: Terminal) -> None:
    now = datetime.now(SH)
    message = OutboxMessage(
        "test/cli-dead", RECIPIENT, "测试", "t", "", now, now, status="failed", error="x"
    )
    t.store.outbox.add(message)
    t.audited(["channels", "resend", message.id], f"delivery:{message.id}", actor=login_actor())


@command("channels remove")
def _(t: Terminal) -> None:
    t.run("routing", "set", str(t.tmp / "routing.json"))  # no route names it any more
    t.audited(["channels", "remove", "cli-hook"], "channel:cli-hook", actor=login_actor())


@command("users create")
def _(t: Terminal) -> None:
    args = ["users", "create", "sun", "--role", "operator", "--password-stdin"]
    t.audited(args, "user:sun", actor=login_actor(), stdin="a long enough password\n")


@command("users password")
def _(t: Terminal) -> None:
    t.audited(["users", "password", "sun", "--generate"], "user:sun", actor=login_actor())


@command("users token")
def _(t: Terminal) -> None:
    t.audited(["users", "token", "sun", "--label", "日报"], "token:*", actor=login_actor())


@command("users revoke")
def _(t: Terminal) -> None:
    [token] = [x.id for x in t.store.tokens.list("sun") if x.revoked is None]
    t.audited(["users", "revoke", token], f"token:{token}", actor=login_actor())


@command("users disable")
def _(t: Terminal) -> None:
    t.audited(["users", "disable", "sun"], "user:sun", actor=login_actor())


@command("users enable")
def _(t: Terminal) -> None:
    t.audited(["users", "enable", "sun"], "user:sun", actor=login_actor())


@command("users signout")
def _(t: Terminal) -> None:
    t.audited(["users", "signout", "sun"], "user:sun", actor=login_actor())


@command("users reset-totp")
def _(t: Terminal) -> None:
    accounts = Accounts(t.store, lambda: datetime.now().astimezone())
    accounts.create("moon", "admin", ADMIN_PASSWORD, actor="setup")
    secret = totp.new_secret()
    code = totp.code_at(secret, accounts.wall())
    accounts.enable_totp("moon", secret, code, ADMIN_PASSWORD, actor="setup")
    t.audited(["users", "reset-totp", "moon"], "user:moon", actor=login_actor())


def _reading(*args: str) -> Callable[[Terminal], None]:
    return lambda t: t.unaudited([a.format(tmp=t.tmp) for a in args])


for _name, _args in {
    "keywords export": ["keywords", "export", "{tmp}/out.yaml"],
    "alerts list": ["alerts", "list"],
    "alerts stats": ["alerts", "stats"],
    "config check": ["config", "check"],
    "keywords diff": ["keywords", "diff", "1", "2"],
    "keywords history": ["keywords", "history"],
    "keywords validate": ["keywords", "validate", "{tmp}/out.yaml"],
    "keywords test": ["keywords", "test", "{tmp}/out.yaml", "潼南起火"],
    "keywords backtest": ["keywords", "backtest", "{tmp}/out.yaml", "--days", "1"],
    "match": ["match", "--library", "{tmp}/out.yaml", "{tmp}/words.txt"],
    "outbox": ["outbox"],
    "status": ["status"],
    "users list": ["users", "list"],
    "audit": ["audit", "--limit", "5"],
    "channels list": ["channels", "list"],
    "channels dead": ["channels", "dead"],
    "routing show": ["routing", "show"],
    "routing preview": ["routing", "preview", "--rule", RULE, "--severity", "critical"],
}.items():
    command(_name, changes=False)(_reading(*_args))


@command("alerts show", changes=False)
def _(t: Terminal) -> None:
    t.unaudited(["alerts", "show", t.alert()])


@command("discover accept")
def _(t: Terminal) -> None:
    t.audited(["discover", "accept", "蓝湖坝", "--group", "火灾词", "--actor", "张三"],
              "group:火灾词", actor="张三")  # fmt: skip


@command("discover dismiss")
def _(t: Terminal) -> None:
    t.audited(["discover", "dismiss", "翠澜沟", "--actor", "张三"], "term:翠澜沟", actor="张三")


def test_every_command_is_classified() -> None:
    found = set(commands())
    classified = COMMAND_CHANGES.keys() | COMMAND_READS.keys() | UNAUDITED.keys()
    assert found - classified == set(), "commands neither audited here nor classified"
    assert classified - found == set(), "cases for commands that no longer exist"


@pytest.fixture
def terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Terminal]:
    db = tmp_path / "y.db"
    monkeypatch.chdir(tmp_path)  # no yuqing.toml of the checkout
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    env = {"YUQING_STORE": f"sqlite:///{db}", "YUQING_API_SECRET_KEY": "walk-secret"}
    store = open_store(str(db))
    save_library(Acting("setup", store, Clock(datetime.now(SH))), LIBRARY)
    yield Terminal(store, tmp_path, CliRunner(env=env), f"http://127.0.0.1:{closed_port()}")
    store.close()


def test_each_command_that_changes_state_audits_it(terminal: Terminal) -> None:
    # In the order registered: later commands act on what earlier ones made (the user
    # sun and their token); the export comes before the commands reading its file.
    for name, case in COMMAND_CHANGES.items():
        if name not in COMMAND_PROCESSES:
            case(terminal)
    for case in COMMAND_READS.values():
        case(terminal)


@pytest.mark.slow
def test_each_command_that_starts_a_run_audits_it(terminal: Terminal) -> None:
    for name in sorted(COMMAND_PROCESSES):
        COMMAND_CHANGES[name](terminal)


def test_emptying_the_registry_then_listing_seeds_the_defaults_each_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``yuqing sources`` on an empty store adds the embedded defaults: one entry each."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    db = tmp_path / "y.db"
    result = CliRunner(env={"YUQING_STORE": f"sqlite:///{db}"}).invoke(main, ["sources"])
    assert result.exit_code == 0, result.output
    store = open_store(str(db))
    try:
        ids = {s.id for s in store.sources.list()}
        entries = store.audit.list(limit=1000)
        assert ids and {e.target for e in entries} == {f"source:{i}" for i in ids}
        assert len(entries) == len(ids)
        assert {(e.action, e.actor) for e in entries} == {("source.seed", login_actor())}
    finally:
        store.close()


def test_an_emergency_names_the_sources_it_speeds_up(world: World) -> None:
    tagged = world.source()
    with world.app.app_context():
        stored = world.store.sources.get(tagged)
        assert stored is not None
        stored.tags = ["government"]
        world.store.sources.put(stored)
    body = {"mode": "immediate", "source_tags": ["government"], "emergency_interval": 30}
    assert world.operator.send("PUT", f"/api/policies/{RULE}", json=body).status_code == 200
    world.audited(
        lambda: world.operator.send("PUT", "/api/emergency", json={"scope": RULE, "on": True}),
        f"emergency:{RULE}",
        actor="operator1",
        status=200,
    )
    [entry] = world.store.audit.list(target=f"emergency:{RULE}", limit=1)
    assert entry.after["sources"] == [tagged] and entry.after["on"] is True


# -- the adapters write nothing themselves ---------------------------------------------------

ADAPTERS = ("api/resources", "api/console", "yuqing/cli")
# What writes: the store's repositories' writing methods, and the audit itself.
WRITES = frozenset(
    "upsert_many update commit append put put_many delete create add start extend finish".split()
)


def test_adapters_leave_writing_and_auditing_to_the_operations() -> None:
    """API resources, console views and commands call operations; a store write or an
    audit entry of their own would be a second way to change state, unaudited or audited
    twice."""
    import ast

    repos = set(Store.__annotations__) - {"url"}
    root = Path(__file__).resolve().parent.parent
    found = []
    for folder in ADAPTERS:
        for path in sorted((root / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                owner = node.func.value
                on_repo = isinstance(owner, ast.Attribute) and owner.attr in repos
                if (on_repo and node.func.attr in WRITES) or node.func.attr == "audit":
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "\n".join(found)


# -- reading the log -------------------------------------------------------------------------


def test_admins_read_the_log_in_the_configured_zone_and_text_stays_text(world: World) -> None:
    body = {"name": "脚本组", "words": ["潼南"], "description": "<script>alert(1)</script>"}
    created = world.operator.post("/api/keywords/groups", json=body | {"parent": world.version()})
    assert created.status_code == 201

    listed = world.admin.get("/api/audit?target=group:脚本组").get_json()["entries"]
    [entry] = listed
    assert (entry["actor"], entry["action"]) == ("operator1", "keywords.group.create")
    assert entry["time"].endswith("+08:00")  # the configured zone, Asia/Shanghai
    assert entry["after"]["data"]["description"] == "<script>alert(1)</script>"
    assert entry["after"]["version"] == world.version()
    by_actor = world.admin.get("/api/audit?actor=operator1&limit=1").get_json()["entries"]
    assert [e["id"] for e in by_actor] == [entry["id"]]
    assert world.operator.get("/api/audit").status_code == 403
    assert world.admin.get("/api/audit?limit=0").get_json()["field"] == "limit"

    page = world.admin.get("/admin/audit?target=group:脚本组")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "新建词组" in html and "北京时间" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    english = world.admin.get("/admin/audit?target=group:脚本组&lang=en").get_data(as_text=True)
    assert "Create group" in english and "Audit log" in english
    assert world.operator.get("/admin/audit").status_code == 403
    assert world.admin.get("/admin/audit?limit=abc").status_code == 400


def test_the_audit_command_lists_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    runner = CliRunner(env={"YUQING_STORE": f"sqlite:///{tmp_path / 'y.db'}"})
    assert runner.invoke(main, ["emergency", "on", "--actor", "值班长"]).exit_code == 0
    assert runner.invoke(main, ["emergency", "off", "--actor", "值班长"]).exit_code == 0
    lines = runner.invoke(main, ["audit", "--target", "emergency:*"]).output.splitlines()
    assert [line.split()[4:6] for line in lines] == [
        ["emergency.off", "emergency:*"],
        ["emergency.on", "emergency:*"],
    ]
    assert all(" Asia/Shanghai  值班长 " in line for line in lines)
    records = runner.invoke(main, ["audit", "--json", "--limit", "1"]).output.splitlines()
    assert [json.loads(r)["after"]["on"] for r in records] == [False]
