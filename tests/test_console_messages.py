"""Refusals in the operators' language: every English refusal the domain raises (and every
reason a delivery failed for) has its Chinese in api/console/messages.py (found in the
source, so a new one without Chinese fails here), and the console shows them in Chinese on
Chinese pages, as raised on English ones."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import PASSWORD, Browser, make_app, signed_in
from apiflask import APIFlask
from lxml import html as lxml_html
from pagesite import serve_pages

from api.console.messages import CHINESE, PLACES, chinese, place, template_key
from store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "keywords", "monitor", "crawler", "store", "rules", "analysis", "yuqing")
# The errors whose messages reach an operator, and which argument is the message.
REFUSALS = {
    "Invalid": 0,
    "ConflictError": 0,
    "NotFound": 0,
    "QueryError": 0,
    "ParseError": 0,
    "AccountError": 0,
    "TicketError": 0,
    "PolicyError": 0,
    "RoutingError": 0,
    "ChannelError": 0,
    "LinkError": 0,
    "UrlRefused": 1,  # (field, problem)
    "SourceError": 2,  # (source id, field, problem)
    "PeriodError": 1,  # (field, problem)
    "ApiError": 1,  # (status, detail): the console calls the API's functions too
    "OSError": 0,  # the source preview shows why a page could not be fetched
    # The yuqing command's own (yuqing/cli/errors.py says them in the operator's language).
    "UserError": 0,
    "Interrupted": 0,
    "Outage": 0,
}
# Files of keywords/ an import's problems come from: (class, index of the message).
IMPORTS = {"Problem": 2, "_fail": 0, "ValueError": 0, "problem": 1}
# Files of monitor/alerts/ whose checks of a channel's settings, the routing table or an
# alert policy raise ValueError (the refusal names the field, then the message).
SETTING_CHECKS = ("routing.py", "policy.py", "base.py", "sms.py", "email.py")
# Why a delivery failed and how a channel test went (monitor/alerts/: the recorded error
# of an outbox message, the timeline's note, a test's result): the failures' messages, a
# test's outcome, what the sender records as a delivery's error (index of the text).
DELIVERY = {
    "DeliveryError": 0,
    "PermanentFailure": 0,
    "TransientFailure": 0,
    "RateLimited": 0,
    "Trial": 1,
    "_finish": 2,
}
# The tables of what a platform's codes mean (channels/: ERRORS, REFUSALS, ALIYUN_ERRORS).
REASONS = re.compile(r"^[A-Z_]*(?:ERRORS|REFUSALS)$")
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
PLACEHOLDER = re.compile(r"\{\w*\}")
FIELD = re.compile(r"^(?:\{\}|[\w.])+: ")  # "name: ..." or "{}.to: ...": an input's name


def _text(node: ast.expr) -> str | None:
    """A literal message as a template (each f-string value written ``{}``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _texts(node: ast.expr) -> Iterator[str]:
    """The literal messages ``node`` may be: itself, either side of ``a or b`` and of
    ``a if c else b``, or the text a channel's ``redact(...)`` is given."""
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _texts(value)
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body)
        yield from _texts(node.orelse)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "redact"
        and node.args
    ):
        yield from _texts(node.args[0])
    elif (text := _text(node)) is not None:
        yield text


def _called(call: ast.Call) -> str:
    """The name of the function or method ``call`` calls."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _names_a_reason_table(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and REASONS.match(n.id) for n in ast.walk(node))


def _delivery_failures(path: Path, node: ast.AST) -> Iterator[tuple[str, str, str]]:
    """Why a delivery failed, as monitor/alerts/ records it: the message of each
    :class:`DeliveryError` raised, a channel test's result, what the sender records as a
    delivery's error (``_finish``), and each entry of a platform's table of codes
    (``ERRORS = {code: reason}``), with the default of a look-up in it."""
    if "alerts" not in path.relative_to(ROOT).parts:
        return
    at = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and REASONS.match(node.targets[0].id)
        and isinstance(node.value, ast.Dict)
    ):
        for value in node.value.values:
            for text in _texts(value):
                yield at, f"reason in {node.targets[0].id}", text
    if isinstance(node, ast.FunctionDef):
        # A message made first (text = f"DingTalk {code}: ..."), then raised as one.
        given = {
            arg.id
            for call in ast.walk(node)
            if isinstance(call, ast.Call) and (index := DELIVERY.get(_called(call), -1)) >= 0
            for arg in call.args[index : index + 1]
            if isinstance(arg, ast.Name)
        }
        for statement in ast.walk(node):
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in given for t in statement.targets
            ):
                for text in _texts(statement.value):
                    yield f"{path.relative_to(ROOT)}:{statement.lineno}", "delivery failure", text
    if not isinstance(node, ast.Call):
        return
    func = node.func
    name = _called(node)
    index = DELIVERY.get(name)
    if index is not None and len(node.args) > index:
        for text in _texts(node.args[index]):
            yield at, f"delivery {name}", text
    # The default of a look-up in a table: ERRORS.get(code, default), next((...), default).
    looked_up = (
        name == "get" and isinstance(func, ast.Attribute) and _names_a_reason_table(func.value)
    ) or (name == "next" and len(node.args) == 2 and _names_a_reason_table(node.args[0]))
    if looked_up and len(node.args) == 2:
        for text in _texts(node.args[1]):
            yield at, "reason by default", text


def _preview_problems(path: Path, node: ast.AST) -> Iterator[tuple[str, str, str]]:
    """The "test this source" preview's problems (crawler/preview.py: ``problems=[...]``
    and ``.problems.append(...)``), the extraction notes it shows (crawler/extract.py:
    those starting ``no ``) and the render errors' messages (crawler/render.py: a class's
    ``prefix``, shown as ``prefix: what the browser said (url)``)."""
    at = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
    if path.name == "preview.py" and isinstance(node, ast.Call):
        values = [k.value for k in node.keywords if k.arg == "problems"]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "append":
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "problems":
                values += node.args[:1]
        for value in values:
            for item in value.elts if isinstance(value, ast.List) else [value]:
                text = _text(item)
                if text is not None:
                    yield at, "preview problem", text
    if (
        path.name == "extract.py"
        and isinstance(node, ast.Call)
        and node.args
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "append"
        and (text := _text(node.args[0])) is not None
        and text.startswith("no ")
    ):
        yield at, "extraction note", text
    if path.name == "render.py" and isinstance(node, ast.ClassDef):
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and [getattr(t, "id", None) for t in statement.targets] == ["prefix"]
                and (text := _text(statement.value)) is not None
            ):
                yield at, "render error", f"{text}: {{}} ({{}})"


def raised() -> Iterator[tuple[str, str, str]]:
    """(place in the source, error class, message template) of each literal refusal, of
    each problem keywords/validate.py names, of each import problem (keywords/io.py,
    keywords/places.py), of each problem the source preview shows and of each reason a
    delivery failed."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                yield from _preview_problems(path, node)
                yield from _delivery_failures(path, node)
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                at = f"{path.relative_to(ROOT)}:{node.lineno}"
                index = REFUSALS.get(node.func.id)
                if index is not None and len(node.args) > index:
                    text = _text(node.args[index])
                    if text is not None:
                        yield at, node.func.id, text
                if node.func.id == "ValueError" and path.name in SETTING_CHECKS and node.args:
                    text = _text(node.args[0])
                    if text is not None:
                        yield at, "setting ValueError", text
                imported = IMPORTS.get(node.func.id, 99)
                if path.name in ("io.py", "places.py") and len(node.args) > imported:
                    text = _text(node.args[imported])
                    if text is not None:
                        yield at, f"import {node.func.id}", text
                if node.func.id == "Problem" and path.name == "validate.py":
                    where, message = (_text(a) for a in node.args[:2])
                    if where is not None:
                        yield at, "Problem.where", where
                    if message is not None:
                        yield at, "Problem", message


def needs_chinese(template: str) -> bool:
    """English words of its own (not only values, punctuation and the name of the input
    it is about) and no Chinese yet."""
    words = LATIN_WORD.search(PLACEHOLDER.sub(" ", FIELD.sub("", template)))
    return not CJK.search(template) and bool(words)


def covered(template: str, catalog: set[str]) -> bool:
    """Has Chinese itself, or is ``field: refusal`` with a refusal that has, or reads in
    Chinese with a value left out (``GB18030{}; in Excel``: the value is an optional
    detail, whose forms have their own entries), or with a number for each value (``line
    {}: ...``)."""
    return (
        template_key(template) in catalog
        or (bool(FIELD.match(template)) and template_key(FIELD.sub("", template)) in catalog)
        or bool(CJK.search(chinese(template.replace("{}", ""))))
        or bool(CJK.search(chinese(template.replace("{}", "7"))))  # line {}: ...
    )


def test_every_english_refusal_has_chinese() -> None:
    found = list(raised())
    assert len(found) > 150, "the collection found the refusals"
    messages = {template_key(t) for t in CHINESE}
    places = {template_key(t) for t in PLACES}
    missing = [
        f"{at} {kind}: {text}"
        for at, kind, text in found
        if needs_chinese(text)
        and not covered(text, places if kind == "Problem.where" else messages)
    ]
    assert not missing, "add their Chinese to api/console/messages.py:\n" + "\n".join(missing)


def test_the_domain_refuses_in_english() -> None:
    """One language below the console, which shows the Chinese on Chinese pages: a
    refusal written in Chinese would show in Chinese on the English pages too."""
    chinese_in_source = [f"{at} {kind}: {text}" for at, kind, text in raised() if CJK.search(text)]
    assert not chinese_in_source, "write them in English, their Chinese in " + (
        "api/console/messages.py:\n" + "\n".join(chinese_in_source)
    )


def test_each_refusal_as_raised_reads_in_chinese() -> None:
    """A concrete message (values filled in) is matched by its template. Templates with a
    nested refusal or place are left to the composite cases below."""
    nested = {template_key(t) for t in CHINESE if re.search(r"\{(message|where)\}", t)}
    untranslated = []
    for at, kind, text in raised():
        if not needs_chinese(text) or template_key(text) in nested:
            continue
        translate = place if kind == "Problem.where" else chinese
        for value in ("7", "x7", "'x7'", ""):  # a number, a name, a word, nothing
            concrete = text.replace("{}", value)
            shown = translate(concrete)
            if shown != concrete and CJK.search(shown):
                break
        else:
            untranslated.append(f"{at}: {concrete} -> {shown}")
    assert not untranslated, "\n".join(untranslated)


def test_catalog_entries_are_chinese_with_the_same_placeholders() -> None:
    for table in (CHINESE, PLACES):
        for english, zh in table.items():
            assert CJK.search(zh) or not LATIN_WORD.search(PLACEHOLDER.sub(" ", english)), english
            names = re.findall(r"\{(\w+)\}", english)
            assert sorted(names) == sorted(re.findall(r"\{(\w+)\}", zh)), english
            assert len(set(names)) == len(names), english


def test_matching_keeps_values_and_leaves_the_unknown() -> None:
    # The most specific template wins over the general one.
    assert chinese("expected ')' but found the end of the expression") == (
        "此处应为 ')'，但表达式已结束"
    )
    assert chinese("expected 'x' but found '}'") == "此处应为 'x'，实际是 '}'"
    # Values are data: kept as they are, braces and English included.
    assert chinese("there is already a group {名} fire") == "已有名为 {名} fire 的关键词组"
    # Composites: a field, a position, the conflict hint, a place in the library.
    assert chinese("name: there is already a rule 火灾; reload and try again") == (
        "name：已有名为 火灾 的规则；请刷新页面后重试"
    )
    assert chinese("the expression is empty (at character 1)") == "表达式为空（第 1 个字符）"
    assert chinese("group 地名, word 2 'x': normalises to nothing") == (
        "关键词组 地名 的第 2 个词 'x'：规范化后为空"
    )
    assert chinese("source 'tn': interval: whole seconds, at least 60") == (
        "信息源 'tn'：interval：须是整数秒，至少 60"
    )
    # A library's problems, one a line; the inbox's refusals of a bulk acknowledge.
    assert chinese("rule r, expression: the expression is empty\ngroup g: has no words") == (
        "规则 r 的表达式：表达式为空\n关键词组 g：没有任何词"
    )
    assert chinese("a1：no alert a1") == "a1：没有预警 a1"
    # The alert pages' words for a ticket's step and an alert's status.
    assert chinese("cannot close alert a1: it is new") == "预警 a1 当前为新预警，不能关闭"
    # A channel kind as raised (``dingtalk``) reads as the console names the channel.
    from monitor.alerts.channels import AliyunSms, DingTalkRobot

    with pytest.raises(ValueError) as refused:
        DingTalkRobot.check_to("13800000000")
    assert chinese(str(refused.value)) == "钉钉群机器人 发往整个群组，不接受收件人（13800000000）"
    assert chinese(f"{AliyunSms.kind} needs a recipient") == "阿里云短信 需要收件人"
    # Someone's input nested deeper than the code builds refusals is shown as it is.
    deep = "a: " * 700 + "the expression is empty"
    assert chinese(deep) == deep
    assert chinese("a: b: the expression is empty (at character 1)") == (
        "a：b：表达式为空（第 1 个字符）"
    )
    # A nested refusal without Chinese leaves the whole message as it was.
    for unknown in ("name: something new went wrong", "something new", "已有名为 x 的用户", ""):
        assert chinese(unknown) == unknown


# The console, over SQLite (the refusals do not depend on the backend).


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    yield s
    s.close()


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    return make_app(store, tmp_path)


def post(browser: Browser, url: str, **fields: object) -> tuple[int, str]:
    response = browser.client.post(url, data={"csrf_token": browser.csrf, **fields})
    return response.status_code, response.get_data(as_text=True)


def text_of(page: str, selector: str) -> str:
    [found] = lxml_html.fromstring(page).cssselect(selector)
    return " ".join(found.text_content().split())


def group(browser: Browser, parent: int, name: str, lang: str = "zh") -> tuple[int, str]:
    return post(
        browser, f"/keywords/groups?lang={lang}", parent=parent, name=name, words="火灾\n起火"
    )


def test_live_test_box_shows_a_bad_expression_in_chinese(app: APIFlask) -> None:
    operator = signed_in(app, "operator")
    draft = {"text": "北京起火", "expression": "北京 (火灾", "scope": "both", "draft": "1"}
    status, page = post(operator, "/keywords/test?lang=zh", **draft)
    assert status == 200
    assert text_of(page, "#live-test-error") == "此处应为 ')'，但表达式已结束 (第 7 个字符)"
    status, page = post(operator, "/keywords/test?lang=zh", **draft | {"expression": "a NEAR/x b"})
    assert text_of(page, "#live-test-error") == (
        "NEAR 的距离应为 0-10000、S（同一句）或 P（同一段），不能是 'x' (第 3 个字符)"
    )
    status, page = post(operator, "/keywords/test?lang=en", **draft)
    assert text_of(page, "#live-test-error") == (
        "expected ')' but found the end of the expression (character 7)"
    )


def test_expression_check_lists_problems_in_chinese(app: APIFlask) -> None:
    operator = signed_in(app, "operator")
    status, page = post(operator, "/keywords/validate-expression?lang=zh", expression="@没有 AND")
    assert status == 200
    assert "此处应为词语、带引号的词、@关键词组或“(”，但表达式已结束" in page
    status, page = post(operator, "/keywords/validate-expression?lang=en", expression="@没有 AND")
    assert "expected a word, a quoted word, @group or &#39;(&#39; but found the end" in page


def test_a_duplicate_group_is_refused_in_chinese_and_escaped(app: APIFlask) -> None:
    operator = signed_in(app, "operator")
    name = "<b>火灾</b>词"
    assert group(operator, 0, name)[0] == 302
    status, page = group(operator, 1, name)
    assert status == 409
    shown = text_of(page, "#form-error")
    assert shown.endswith("已有名为 <b>火灾</b>词 的关键词组"), shown
    assert "&lt;b&gt;火灾&lt;/b&gt;词" in page and "<b>火灾</b>" not in page
    status, page = group(operator, 1, name, lang="en")
    assert text_of(page, "#form-error").endswith("there is already a group <b>火灾</b>词")


def test_a_bad_search_reads_in_chinese(app: APIFlask) -> None:
    viewer = signed_in(app, "viewer")
    page = viewer.get("/search?lang=zh&q=@没有这组 火灾").get_data(as_text=True)
    assert "q：@没有这组 不是已启用的关键词组" in text_of(page, "#query-error")
    page = viewer.get("/search?lang=en&q=@没有这组 火灾").get_data(as_text=True)
    assert "q: @没有这组 is not an enabled keyword group" in text_of(page, "#query-error")


def test_account_refusals_read_in_chinese(app: APIFlask) -> None:
    admin = signed_in(app, "admin")
    user = {"name": "zhou", "role": "operator", "password": PASSWORD}
    assert post(admin, "/admin/users?lang=zh", **user)[0] == 302
    status, page = post(admin, "/admin/users", **user)
    assert status == 400 and text_of(page, "#users-error") == "已有名为 zhou 的用户"
    status, page = post(admin, "/admin/users", **user | {"name": "li", "password": "short"})
    assert text_of(page, "#users-error").startswith("密码至少要有 ")
    status, page = post(admin, "/admin/users?lang=en", **user)
    assert text_of(page, "#users-error") == "a user named zhou exists already"


def test_error_pages_read_in_chinese(app: APIFlask) -> None:
    viewer = signed_in(app, "viewer")
    page = viewer.get("/alerts/nosuch?lang=zh").get_data(as_text=True)
    assert text_of(page, "main h1") == "404 未找到"
    assert text_of(page, "main p:not(:last-child)") == "没有预警 nosuch"
    page = viewer.get("/no/such/page").get_data(as_text=True)
    assert text_of(page, "main p:not(:last-child)").startswith("找不到这个网址")
    page = viewer.get("/alerts/nosuch?lang=en").get_data(as_text=True)
    assert text_of(page, "main h1") == "404 Not Found"
    assert text_of(page, "main p:not(:last-child)") == "no alert nosuch"


def test_an_import_problem_reads_in_chinese(app: APIFlask) -> None:
    operator = signed_in(app, "operator")
    status, page = group(operator, 0, "地名")
    status, page = post(
        operator, "/keywords/groups/地名?lang=zh", action="add", parent=1, words="a\na"
    )
    assert status == 400
    assert text_of(page, "#form-error p").startswith(
        "导入失败，共 1 个问题： 第 2 行：重复的词 'a'"
    )
    status, page = post(
        operator, "/keywords/groups/地名?lang=en", action="add", parent=1, words="a\na"
    )
    assert text_of(page, "#form-error p").startswith("import failed, 1 problem: line 2: duplicate")


def _preview(browser: Browser, start_url: str, lang: str, **more: str) -> tuple[int, str]:
    fields = {
        "id": "tn",
        "name": "要闻",
        "type": "list",
        "start_urls": start_url,
        "interval": "600",
        "max_pages": "1",
        "allow_private": "1",
    }
    return post(browser, f"/sources/preview?lang={lang}", **fields | more)


def _problems(page: str) -> list[str]:
    found = lxml_html.fromstring(page).cssselect("#source-preview-result .problem")
    return [" ".join(p.text_content().split()) for p in found]


def test_the_source_preview_shows_its_problems_in_the_pages_language(app: APIFlask) -> None:
    admin = signed_in(app, "admin")
    empty = "<html><body><p>没有链接</p></body></html>"
    with serve_pages({"/empty/": empty}) as site:
        status, page = _preview(admin, f"{site.url}/empty/", "zh")
        assert status == 200 and _problems(page) == ["起始页上没有找到文章链接"]
        assert _problems(_preview(admin, f"{site.url}/gone/", "zh")[1]) == ["服务器返回 HTTP 404"]
        assert _problems(_preview(admin, f"{site.url}/empty/", "en")[1]) == [
            "no article links found on the start page"
        ]
        assert _problems(_preview(admin, f"{site.url}/gone/", "en")[1]) == ["HTTP 404"]
    closed = site.url  # the server is gone: nothing listens on its port
    [shown] = _problems(_preview(admin, f"{closed}/empty/", "zh")[1])
    assert shown.startswith(f"无法获取 {closed}/empty/："), shown  # the system's words kept
    [shown] = _problems(_preview(admin, f"{closed}/empty/", "en")[1])
    assert shown.startswith(f"cannot fetch {closed}/empty/: "), shown


def test_a_missing_browser_is_named_in_the_pages_language_and_escaped(
    store: Store, tmp_path: Path
) -> None:
    missing = tmp_path / "<b>chromium</b>"
    args = ["-s", f"YUQING_RENDER_BROWSER={missing}"]
    admin = signed_in(make_app(store, tmp_path, crawl_args=args), "admin")
    status, page = _preview(admin, "http://127.0.0.1:9/", "zh", render="1")
    assert status == 200
    shown = text_of(page, "#source-preview-result .error")
    assert shown == (
        f"信息源 'tn'：render：渲染页面需要 Chromium，但找不到可执行文件 {missing}：请安装"
        " Debian 的 chromium 软件包（apt-get install chromium），或用 YUQING_RENDER_BROWSER"
        " 指向其路径"
    ), shown
    assert "&lt;b&gt;chromium&lt;/b&gt;" in page and "<b>chromium</b>" not in page
    status, page = _preview(admin, "http://127.0.0.1:9/", "en", render="1")
    assert text_of(page, "#source-preview-result .error").startswith(
        f"source 'tn': render: rendering pages needs Chromium, but there is no executable {missing}"
    )
    assert "<b>chromium</b>" not in page


def test_routing_and_channel_refusals_read_in_the_pages_language_and_escaped(
    app: APIFlask,
) -> None:
    admin = signed_in(app, "admin")
    table = "emergency:\n  - channel: '<b>x</b>'\n"
    status, page = post(admin, "/routing?lang=zh", routing=table)
    assert status == 400
    assert text_of(page, "#routing-error") == (
        "emergency.0.channel：没有渠道 '<b>x</b>'（已有：email）"
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    status, page = post(admin, "/routing?lang=en", routing=table)
    assert text_of(page, "#routing-error") == (
        "emergency.0.channel: no channel '<b>x</b>' (there are: email)"
    )
    assert "<b>x</b>" not in page
    status, page = post(admin, "/routing?lang=en", routing="- a list")
    assert text_of(page, "#routing-error").startswith("The routing table should be a mapping")
    for lang, shown in (("zh", "没有渠道 nope"), ("en", "no channel nope")):
        post(admin, "/channels/nope/delete")  # flashed as raised, shown in the page's language
        page = admin.get(f"/channels?lang={lang}").get_data(as_text=True)
        assert text_of(page, ".flash") == shown


def test_two_step_refusals_read_in_the_pages_language(app: APIFlask) -> None:
    admin = signed_in(app, "admin")
    page = admin.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    wrong = {"secret": secret.group(1), "password": PASSWORD, "code": "000000"}
    status, page = post(admin, "/account/totp?lang=zh", **wrong)
    assert status == 400
    assert text_of(page, "#totp-error") == "验证码不正确：请输入验证器应用当前显示的 6 位数字"
    status, page = post(admin, "/account/totp?lang=en", **wrong)
    assert text_of(page, "#totp-error") == (
        "wrong code: enter the 6 digits your authenticator app shows now"
    )
    status, page = post(admin, "/account/totp?lang=en", **wrong | {"password": "not it"})
    assert text_of(page, "#totp-error") == "wrong password"
