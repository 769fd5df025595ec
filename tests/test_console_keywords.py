"""The keyword pages of the console, through the test client: pages render for a viewer,
forms work for an operator, crawled and typed text stays escaped."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from api_support import Browser, job_done, signed_in
from apiflask import APIFlask

from api.context import parts
from rules.tokens import index_text
from store import Item


def form(browser: Browser, url: str, **fields: object) -> tuple[int, str]:
    data = {"csrf_token": browser.csrf, **fields}
    response = browser.client.post(url, data=data)
    return response.status_code, response.get_data(as_text=True)


def head(app: APIFlask) -> int:
    with app.app_context():
        return parts().library.current()[0]


def seed(operator: Browser) -> None:
    status, _ = form(
        operator,
        "/keywords/groups",
        parent=0,
        name="地名",
        category="region",
        words="潼南\n双江镇\n",
    )
    assert status == 302
    form(
        operator, "/keywords/groups", parent=1, name="火灾词", category="event", words="火灾\n起火"
    )
    status, page = form(
        operator,
        "/keywords/rules",
        parent=2,
        name="潼南火灾",
        expression="@地名 NEAR/10 @火灾词",
        scope="both",
        severity="critical",
        enabled="on",
        must_match="双江镇一民房起火\n",
        must_not_match="北京起火",
    )
    assert status == 302, page


def test_pages_render_for_a_viewer_without_forms(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    viewer = signed_in(app, "viewer")
    pages = {
        "/keywords": ['id="live-test-input"', 'id="live-test-result"', "潼南火灾", "地名"],
        "/keywords/groups/地名": ['id="word-list"', "双江镇"],
        "/keywords/rules/潼南火灾": ['id="rule-expression"', 'id="rule-tests"', "双江镇一民房起火"],
        "/keywords/rules/new": ['id="new-rule"'],
        "/keywords/versions": ['id="version-list"', "operator1"],
        "/keywords/versions/3": ['id="version-diff"', "+ 规则 潼南火灾"],
        "/keywords/import": ['id="export"'],
    }
    for url, needles in pages.items():
        response = viewer.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        for needle in needles:
            assert needle in page, (url, needle)
        for editing in ('id="new-group"', 'id="add-words"', 'id="rollback"', 'id="import"'):
            assert editing not in page, (url, editing)
    assert 'id="new-group"' in operator.get("/keywords").get_data(as_text=True)
    assert viewer.get("/keywords/groups/没有").status_code == 404
    assert form(viewer, "/keywords/groups", parent=3, name="新", words="x")[0] == 403
    assert form(viewer, "/keywords/versions/1/rollback", parent=3)[0] == 403
    assert head(app) == 3


def test_group_forms(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    assert (
        form(operator, "/keywords/groups/地名", action="add", parent=3, words="梓潼\n宝龙镇")[0]
        == 302
    )
    assert (
        form(operator, "/keywords/groups/地名", action="remove", parent=4, word="宝龙镇")[0] == 302
    )
    settings = {"action": "settings", "parent": 5, "category": "region", "description": "区县"}
    assert form(operator, "/keywords/groups/地名", **settings, enabled="on")[0] == 302
    page = operator.get("/keywords/groups/地名").get_data(as_text=True)
    assert "梓潼" in page and "宝龙镇" not in page and "区县" in page
    # A stale form is refused with the reason on the page, and nothing changes.
    status, page = form(operator, "/keywords/groups/地名", action="add", parent=3, words="花岩镇")
    assert status == 409 and 'id="form-error"' in page
    assert 'name="parent" value="3"' in page  # resubmitting is refused until a reload
    status, page = form(operator, "/keywords/groups/地名", action="add", parent=6, words="a\n" * 2)
    assert status == 400 and "重复的词 &#39;a&#39;" in page
    assert head(app) == 6
    status, page = form(operator, "/keywords/groups", parent=6, name="bad name", words="x")
    assert status == 400 and 'data-field="name"' in page
    # In use by a rule: refused.
    assert form(operator, "/keywords/groups/地名", action="delete", parent=6)[0] == 400


def test_rule_editor(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    fields = {
        "parent": 3,
        "name": "潼南火灾",
        "expression": "@地名 NEAR/10 (@火灾词",
        "scope": "both",
        "severity": "warning",
        "enabled": "on",
        "must_match": "双江镇一民房起火",
    }
    status, page = form(operator, "/keywords/rules/潼南火灾", **fields)
    assert status == 400
    assert 'data-field="expression"' in page and 'id="expression-error"' in page
    assert "@地名 NEAR/10 (@火灾词" in page  # what was typed is kept
    status, page = form(
        operator, "/keywords/rules/潼南火灾", **fields | {"expression": "@地名 @火灾词"}
    )
    assert status == 302
    page = operator.get("/keywords/rules/潼南火灾?saved=4").get_data(as_text=True)
    assert 'id="saved-notice"' in page and "@地名 @火灾词" in page
    failing = {"parent": 4, "expression": "@地名 @火灾词", "must_match": "北京"}
    status, page = form(operator, "/keywords/rules/潼南火灾", **fields | failing)
    assert status == 400 and 'data-field="must_match"' in page
    assert form(operator, "/keywords/rules/潼南火灾", parent=4, action="delete")[0] == 302
    assert head(app) == 5


def test_expression_check_and_live_test_fragments(operator: Browser) -> None:
    seed(operator)
    status, page = form(operator, "/keywords/validate-expression", expression="@地名 NEAR/x 火灾")
    assert status == 200 and 'id="expression-error"' in page
    assert '<mark class="kw-error-at">N</mark>' in page
    status, page = form(operator, "/keywords/validate-expression", expression="@地名 <b>")
    assert 'id="expression-ok"' in page and "@地名" in page
    status, page = form(operator, "/keywords/test", text="<script>alert(1)</script>双江镇起火")
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>双江镇起火</mark>" in page
    assert "<script>" not in page
    assert 'data-rule="潼南火灾"' in page
    draft = {"text": "北京起火", "expression": "北京 @火灾词", "scope": "both", "draft": "1"}
    assert "<mark>北京起火</mark>" in form(operator, "/keywords/test", **draft)[1]
    status, page = form(operator, "/keywords/test", **draft | {"expression": "北京 ("})
    assert 'id="live-test-error"' in page


def test_import_preview_apply_and_export(app: APIFlask, operator: Browser) -> None:
    seed(operator)

    def upload(action: str, parent: int, data: bytes, name: str = "new.csv") -> str:
        fields = {
            "csrf_token": operator.csrf,
            "file": (io.BytesIO(data), name),
            "parent": str(parent),
            "mode": "add",
            "action": action,
            "category": "subject",
        }
        return operator.client.post("/keywords/import", data=fields).get_data(as_text=True)

    csv = "group,word\n地名,梓潼\n疫情词,确诊\n".encode()
    page = upload("preview", 3, csv)
    assert 'data-dry-run="true"' in page and "+ 词组 疫情词" in page
    assert head(app) == 3
    page = upload("apply", 3, csv)
    assert 'data-dry-run="false"' in page and 'id="import-parent" value="4"' in page
    assert head(app) == 4
    page = upload("apply", 4, "group,word\n地名,\n".encode())
    assert "<td>2</td>" in page and head(app) == 4
    export = operator.get("/api/keywords/export?format=csv&group=")
    assert export.status_code == 200 and "梓潼" in export.data.decode("utf-8-sig")


def test_backtest_from_the_rule_editor(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    with app.app_context():
        now = parts().now()
        title = "<img src=x onerror=alert(1)>宝龙镇起火"
        item = Item(
            url="javascript:alert(1)",
            title=title,
            body="",
            first_seen=now - timedelta(hours=1),
            norm_title=index_text(title),
            norm_body="",
        )
        parts().store.items.upsert_many([item])
    fields = {
        "parent": 3,
        "original": "潼南火灾",
        "name": "潼南火灾",
        "expression": "(@地名 OR 宝龙镇) @火灾词",
        "scope": "both",
        "severity": "critical",
        "enabled": "on",
        "days": 7,
    }
    status, page = form(operator, "/keywords/backtest", **fields)
    assert status == 200
    found = re.search(r'data-result="([^"]+)"', page)
    assert found and "data-job=" in page
    job_id = found.group(1).rsplit("/", 1)[1]
    job_done(operator, f"/api/jobs/{job_id}")
    page = operator.get(found.group(1)).get_data(as_text=True)
    assert 'id="backtest-table"' in page and "+1" in page
    assert "&lt;img src=x onerror=alert(1)&gt;宝龙镇起火" in page
    assert 'href="javascript' not in page
    assert head(app) == 3


def test_group_options_are_saved_and_the_group_test_names_the_variant(
    app: APIFlask, operator: Browser
) -> None:
    form(
        operator, "/keywords/groups", parent=0, name="疫情词", category="event", words="疫情\n确诊"
    )
    page = operator.client.get("/keywords/groups/疫情词").get_data(as_text=True)
    assert 'id="group-options"' in page and "中文词的全拼" in page
    status, page = form(
        operator, "/keywords/groups/疫情词", action="options", parent=1, noise="brackets",
        pinyin="on", enclosed="on",
    )  # fmt: skip
    assert status == 302, page
    with app.app_context():
        saved = parts().library.current()[1].group("疫情词")
    assert saved is not None and saved.options.pinyin and saved.options.noise == "brackets"
    assert not saved.options.repeats
    # The group test uses the options in the form, saved or not.
    status, result = form(operator, "/keywords/groups/疫情词/test", text="潼南YQ严重", noise="cjk")
    assert status == 200 and 'id="group-test-none"' in result
    status, result = form(
        operator, "/keywords/groups/疫情词/test", text="潼南YQ严重，疫]情", pinyin="on",
        noise="brackets",
    )  # fmt: skip
    assert "拼音首字母" in result and "<mark>YQ</mark>" in result
    assert "夹杂符号" in result and "<mark>疫]情</mark>" in result
    english = operator.client.get("/keywords/groups/疫情词?lang=en").get_data(as_text=True)
    assert "Variant options" in english and "中文词的全拼" not in english
