"""Console: the keyword library — groups and words, rules with a checked expression editor,
live test, test sentences, history with diffs and rollback, backtest, import and export.

Every form calls the same operations as ``/api/keywords`` (see :mod:`api.resources.keywords`);
an operation's error is shown on the page it came from.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.accounts import has_role
from api.auth import actor, current_user, require
from api.console.i18n import gettext as _
from api.console.i18n import language
from api.context import parts
from api.errors import ApiError, validated
from api.jobs import Job, jobs_of
from api.resources import keywords as ops
from keywords.io import FORMATS
from keywords.model import CATEGORIES, CATEGORY_LABELS, Library
from rules.syntax import group_names, parse
from store.model import LibraryVersion

bp = Blueprint("console_keywords", __name__)
# The library's stored change notes and diff lines are the API's (English words, kept for
# scripts); the console reads them out in the page's language.
_CHANGE = re.compile(r"^(\d+) (groups|words|rules) (added|removed|changed)$")
_CHANGE_WORDS = {
    ("groups", "added"): "新增词组 %(n)s 个",
    ("groups", "removed"): "删除词组 %(n)s 个",
    ("words", "added"): "新增关键词 %(n)s 个",
    ("words", "removed"): "删除关键词 %(n)s 个",
    ("rules", "added"): "新增规则 %(n)s 条",
    ("rules", "removed"): "删除规则 %(n)s 条",
    ("rules", "changed"): "修改规则 %(n)s 条",
}
_ROLLBACK = re.compile(r"^rollback to version (\d+)$")
_DIFF = re.compile(r"^([+~-]) (group|rule) ")


def change_note(message: str) -> str:
    """A version's note: the generated ones ("2 groups added, 1 rules added") read out
    in the page's language, an author's own as written."""
    if language() == "en":
        return message
    if message == "no changes":
        return _("没有变化")
    if found := _ROLLBACK.match(message):
        return _("回滚到第 %(n)s 版", n=found.group(1))
    parts = [_CHANGE.match(p) for p in message.split(", ")]
    if not all(parts):
        return message
    return "，".join(_(_CHANGE_WORDS[(m.group(2), m.group(3))], n=m.group(1)) for m in parts if m)


def diff_line(line: str) -> str:
    """``+ group 疫情词`` as ``+ 词组 疫情词`` (the name and words as they are)."""
    found = _DIFF.match(line)
    if not found or language() == "en":
        return line
    kind = "词组" if found.group(2) == "group" else "规则"
    return f"{found.group(1)} {kind} {line[found.end() :]}"


BOOLEAN_OPTIONS = ("enclosed", "lookalikes", "repeats", "pinyin", "homophones", "split")
# One line each, shown beside the option in the group editor.
OPTION_NOTES = {
    "enclosed": "带圈、带括号或带点的字母数字按原字符匹配，如 Ⓓⓡⓤⓖ、⑴、㈠",
    "noise": "跳过夹杂的符号",
    "lookalikes": "英文词中形近的数字和外文字母按字母匹配，如 c0vid、раypal",
    "repeats": "连续重复的字符按一个匹配，如 spaaam、疫疫情",
    "pinyin": "中文词的全拼、首字母及汉字拼音混写，如 yiqing、YQ、疫qing",
    "homophones": "同音字（至少保留一个原字），如 易情；误报较多，默认关闭",
    "split": "拆字写法，如 弓长 代替 张；默认关闭",
}
NOISE_LEVELS = {
    "off": "关闭",
    "cjk": "汉字之间（疫@情）",
    "latin": "另含英文单词内（sp[]am、c.o.v.i.d）",
    "brackets": "另含括号（疫]情、新【冠）",
}
# What a hit's ``variant`` is called (text-side ones may combine: "noise+repeats").
VARIANT_LABELS = {
    "enclosed": "带圈或括号字符",
    "noise": "夹杂符号",
    "lookalikes": "形近字母数字",
    "repeats": "重复字符",
    "pinyin": "拼音",
    "initials": "拼音首字母",
    "homophone": "同音字",
    "split": "拆字",
}
WORDS_SHOWN = 1000  # a group page lists this many words; the rest are found by filtering

ENGLISH: dict[str, str] = {
    "新增词组 %(n)s 个": "%(n)s groups added",
    "删除词组 %(n)s 个": "%(n)s groups removed",
    "新增关键词 %(n)s 个": "%(n)s words added",
    "删除关键词 %(n)s 个": "%(n)s words removed",
    "新增规则 %(n)s 条": "%(n)s rules added",
    "删除规则 %(n)s 条": "%(n)s rules removed",
    "修改规则 %(n)s 条": "%(n)s rules changed",
    "回滚到第 %(n)s 版": "rollback to version %(n)s",
    "词组": "Groups",
    "词组与方案": "Groups and rules",
    "词组名": "Group name",
    "分类": "Category",
    "词数": "Words",
    "说明": "Description",
    "启用": "Enabled",
    "停用": "Disabled",
    "新建词组": "New group",
    "创建": "Create",
    "关键词（每行一个）": "Keywords (one per line)",
    "监测方案": "Rules",
    "新建方案": "New rule",
    "方案名": "Rule name",
    "表达式": "Expression",
    "范围": "Scope",
    "标题和正文": "Title and body",
    "仅标题": "Title only",
    "仅正文": "Body only",
    "级别": "Severity",
    "提示": "Info",
    "警告": "Warning",
    "严重": "Critical",
    "负责人": "Owner",
    "应命中的句子（每行一个）": "Sentences that must match (one per line)",
    "不应命中的句子（每行一个）": "Sentences that must not match (one per line)",
    "测试句": "Test sentences",
    "应命中": "should match",
    "不应命中": "should not match",
    "通过": "pass",
    "未通过": "fail",
    "保存": "Save",
    "删除": "Delete",
    "确定删除？": "Delete it?",
    "在线测试": "Live test",
    "输入一句话，查看命中的方案和位置": "Type a sentence to see which rules match, and where",
    "命中方案": "Matching rules",
    "没有方案命中": "No rule matches",
    "用这条方案测试（未保存的修改也生效）": "Test this rule (unsaved changes included)",
    "表达式正确": "The expression is valid",
    "用到的词组": "Groups used",
    "第 %(n)s 个字符": "character %(n)s",
    "回测": "Backtest",
    "回测天数": "Days to backtest",
    "开始回测": "Run backtest",
    "保存前看看这项修改在最近的数据上会多报、漏报哪些": "Before saving, see what this change "
    "would add and remove over recent items",
    "当前": "now",
    "修改后": "after",
    "新增": "added",
    "减少": "removed",
    "（至少）": "(at least)",
    "版本历史": "Version history",
    "版本": "Version",
    "时间": "Time",
    "作者": "Author",
    "变更": "Changes",
    "查看": "View",
    "与上一版本的差异": "Changes from the previous version",
    "没有变化": "No changes",
    "回滚到此版本": "Roll back to this version",
    "确定回滚到此版本？将保存为新版本。": "Roll back to this version? "
    "It is saved as a new version.",
    "导入": "Import",
    "导出": "Export",
    "导入导出": "Import and export",
    "文件": "File",
    "方式": "Mode",
    "添加词（保留已有）": "Add words (keep existing)",
    "整组替换": "Replace whole groups",
    "目标词组（仅 .txt）": "Target group (.txt only)",
    "预览差异": "Preview changes",
    "确认导入": "Import now",
    "预览：以下修改尚未保存": "Preview: these changes are not saved yet",
    "已保存为版本 %(v)s": "Saved as version %(v)s",
    "格式": "Format",
    "全部词组": "All groups",
    "下载": "Download",
    "文件有问题，未导入任何内容": "The file has problems; nothing was imported",
    "行": "Line",
    "列": "Column",
    "问题": "Problem",
    "词库已被他人修改，请刷新页面后重试": "Someone else changed the library; reload the page "
    "and try again",
    "当前版本": "Current version",
    "添加词": "Add words",
    "删除所选": "Remove selected",
    "设置": "Settings",
    "删除词组": "Delete group",
    "筛选": "Filter",
    "仅显示前 %(n)s 个，请用筛选查找其他词": "Only the first %(n)s are shown; "
    "filter to find others",
    "别名": "Aliases",
    "权重": "Weight",
    "返回关键词库": "Back to keywords",
    "编辑方案": "Edit rule",
    "已保存": "Saved",
    "没有词组": "No groups yet",
    "没有方案": "No rules yet",
    "请选择文件": "Choose a file",
    "变体选项": "Variant options",
    "关键词": "Keyword",
    "位置": "Where",
    "保存选项": "Save options",
    "测试词组": "Test the group",
    "输入一句话，查看本词组的词及其变体在哪里命中（使用上面尚未保存的选项）": "Type a "
    "sentence to see where this group's words and their variants occur (with the options "
    "above, even unsaved)",
    "原词": "as written",
    "没有命中": "No hits",
    "命中方式": "Matched as",
    "带圈或括号字符": "enclosed characters",
    "夹杂符号": "symbols in between",
    "形近字母数字": "look-alike letters or digits",
    "重复字符": "repeated characters",
    "拼音": "pinyin",
    "拼音首字母": "pinyin initials",
    "同音字": "homophone",
    "拆字": "split character",
    "带圈、带括号或带点的字母数字按原字符匹配，如 Ⓓⓡⓤⓖ、⑴、㈠": "Circled, parenthesised "
    "and full-stop letters and digits match as themselves: Ⓓⓡⓤⓖ, ⑴, ㈠",
    "跳过夹杂的符号": "Skip symbols in between",
    "关闭": "off",
    "汉字之间（疫@情）": "between Chinese characters (疫@情)",
    "另含英文单词内（sp[]am、c.o.v.i.d）": "also inside Latin words (sp[]am, c.o.v.i.d)",
    "另含括号（疫]情、新【冠）": "also brackets (疫]情, 新【冠)",
    "英文词中形近的数字和外文字母按字母匹配，如 c0vid、раypal": "Look-alike digits and "
    "Cyrillic/Greek letters in Latin words match as letters: c0vid, раypal",
    "连续重复的字符按一个匹配，如 spaaam、疫疫情": "A run of one repeated character matches as "
    "one: spaaam, 疫疫情",
    "中文词的全拼、首字母及汉字拼音混写，如 yiqing、YQ、疫qing": "Chinese words also match "
    "their pinyin, initials and mixtures: yiqing, YQ, 疫qing",
    "同音字（至少保留一个原字），如 易情；误报较多，默认关闭": "Homophones (one character at "
    "least as written): 易情; many false positives, off by default",
    "拆字写法，如 弓长 代替 张；默认关闭": "Characters split into parts: 弓长 for 张; off by "
    "default",
    "地域词": "Region",
    "主体词": "Subject",
    "事件词": "Event",
    "排除词": "Exclusion",
}


# --- library overview, groups ------------------------------------------------------------------


@bp.get("/keywords")
@require("viewer")
def index() -> str:
    version, library = parts().library.current()
    return render_template(
        "keywords/index.html",
        **_page(version),
        **_health(),
        library=library,
        error=None,
        form={},
    )


def _health() -> dict[str, Any]:
    """Rule health as of the latest discovery run (computing it reads 30 days of items:
    the hourly run does that, not each page view)."""
    saved = parts().store.discovery.latest_report()
    if saved is None or "health" not in saved.data:
        return {"health": None, "health_when": ""}
    zone = parts().zone
    return {
        "health": saved.data["health"],
        "health_when": f"{saved.time.astimezone(zone):%Y-%m-%d %H:%M} {zone}",
    }


@bp.post("/keywords/groups")
@require("operator")
def create_group() -> Response | tuple[str, int]:
    form = request.form
    try:
        data = validated(
            ops.GroupCreate,
            {
                "parent": form.get("parent", ""),
                "name": form.get("name", "").strip(),
                "category": form.get("category", "subject"),
                "description": form.get("description", "").strip(),
            },
        )
        if form.get("words", "").strip():
            data.words = ops.pasted_words(form["words"], data.name)
        _saved, added = ops.add_group(data)
    except ApiError as e:
        version, library = parts().library.current()
        page = render_template(
            "keywords/index.html", **_page(_kept(version)), library=library, error=e, form=form
        )
        return page, e.status
    return redirect(url_for(".group", group_id=added["id"]))


@bp.get("/keywords/groups/<group_id>")
@require("viewer")
def group(group_id: str) -> str:
    return _group_page(group_id, None)


@bp.post("/keywords/groups/<group_id>")
@require("operator")
def change_group(group_id: str) -> Response | tuple[str, int]:
    form = request.form
    action = form.get("action", "")
    try:
        parent = validated(ops.Parent, {"parent": form.get("parent", "")}).parent
        if action == "delete":
            ops.remove_group(group_id, parent)
            return redirect(url_for(".index"))
        fields: dict[str, Any] = {"parent": parent}
        if action == "add":
            fields["paste"] = form.get("words", "")
        elif action == "remove":
            fields["remove"] = form.getlist("word")
        elif action == "options":
            fields["options"] = _options_form(form)
        elif action == "settings":
            fields |= {
                "category": form.get("category", ""),
                "description": form.get("description", "").strip(),
                "enabled": form.get("enabled") == "on",
            }
        else:
            raise ApiError(400, f"unknown action {action!r}", field="action")
        _saved, changed = ops.change_group(group_id, validated(ops.GroupUpdate, fields))
    except ApiError as e:
        return _group_page(group_id, e), e.status
    return redirect(url_for(".group", group_id=changed["id"]))


def _options_form(form: Any) -> dict[str, Any]:
    """The variant options of the group editor's form (unchecked boxes are absent)."""
    return {
        "noise": form.get("noise", "cjk"),
        **{key: form.get(key) == "on" for key in BOOLEAN_OPTIONS},
    }


@bp.post("/keywords/groups/<group_id>/test")
@require("viewer")
def group_test(group_id: str) -> str:
    form = request.form
    text = form.get("text", "")
    if not text.strip():
        return render_template("keywords/_group_test.html", result=None, error=None)
    try:
        data = validated(ops.GroupTestIn, {"text": text, "options": _options_form(form)})
        result = ops.run_group_test(group_id, data)
    except ApiError as e:
        return render_template("keywords/_group_test.html", result=None, error=e)
    return render_template(
        "keywords/_group_test.html", result=result, error=None, variant_labels=VARIANT_LABELS
    )


def _group_page(key: str, error: ApiError | None) -> str:
    version, library = parts().library.current()
    found = ops.find_group(library, key)
    needle = request.args.get("q", "").strip()
    words = [w for w in found.words if needle in w.text or any(needle in a for a in w.aliases)]
    return render_template(
        "keywords/group.html",
        **_page(_kept(version) if error else version),
        group=found,
        words=words[:WORDS_SHOWN],
        matching=len(words),
        shown=WORDS_SHOWN,
        q=needle,
        rules=[r for r in library.rules if found.name in group_names(parse(r.expression))],
        error=error,
        form=request.form,
        option_notes=OPTION_NOTES,
        noise_levels=NOISE_LEVELS,
    )


# --- rules ------------------------------------------------------------------------------------


@bp.get("/keywords/rules/new")
@require("viewer")
def new_rule() -> str:
    version, library = parts().library.current()
    return _rule_page(version, library, None, {}, None)


@bp.get("/keywords/rules/<rule_id>")
@require("viewer")
def rule(rule_id: str) -> str:
    version, library = parts().library.current()
    found = ops.find_rule(library, rule_id)
    return _rule_page(version, library, found.id, found.model_dump(), None)


@bp.post("/keywords/rules")
@bp.post("/keywords/rules/<rule_id>")
@require("operator")
def save_rule(rule_id: str | None = None) -> Response | tuple[str, int]:
    form = request.form
    fields = _rule_fields(form)
    try:
        parent = validated(ops.Parent, {"parent": form.get("parent", "")}).parent
        if rule_id is None:
            saved, rule = ops.add_rule(validated(ops.RuleCreate, fields | {"parent": parent}))
        elif form.get("action") == "delete":
            ops.remove_rule(rule_id, parent)
            return redirect(url_for(".index"))
        else:
            saved, rule = ops.change_rule(
                rule_id, validated(ops.RuleUpdate, fields | {"parent": parent})
            )
    except ApiError as e:
        version, library = parts().library.current()
        return _rule_page(_kept(version), library, rule_id, fields, e), e.status
    return redirect(url_for(".rule", rule_id=rule["id"], saved=saved.version))


def _rule_fields(form: Any) -> dict[str, Any]:
    def lines(key: str) -> list[str]:
        return [s.strip() for s in form.get(key, "").splitlines() if s.strip()]

    return {
        "name": form.get("name", "").strip(),
        "expression": form.get("expression", ""),
        "scope": form.get("scope", "both"),
        "severity": form.get("severity", "warning"),
        "enabled": form.get("enabled") == "on",
        "owner": form.get("owner", "").strip(),
        "description": form.get("description", "").strip(),
        "must_match": lines("must_match"),
        "must_not_match": lines("must_not_match"),
    }


def _rule_page(
    version: int,
    library: Library,
    key: str | None,
    fields: dict[str, Any],
    error: ApiError | None,
) -> str:
    """The rule editor: of the rule ``key`` (its id, or its name), or a new one (None)."""
    found = (library.rule_by_id(key) or library.rule(key)) if key else None
    tests = ops.rule_test_results(library, found.name) if found else []
    expression = fields.get("expression", "")
    return render_template(
        "keywords/rule.html",
        **_page(version),
        name=found.name if found else key,
        rule_id=found.id if found else key,
        rule=fields,
        check=ops.check_expression(expression) if expression else None,
        expression=expression,
        tests=tests,
        groups=library.groups,
        error=error,
        saved=request.args.get("saved"),
    )


@bp.post("/keywords/validate-expression")
@require("viewer")
def validate_expression() -> str:
    expression = request.form.get("expression", "")
    check = ops.check_expression(expression) if expression.strip() else None
    return render_template("keywords/_check.html", check=check, expression=expression)


@bp.post("/keywords/test")
@require("viewer")
def live_test() -> str:
    form = request.form
    text = form.get("text", "")
    if not text.strip():
        return render_template("keywords/_test_result.html", result=None, error=None)
    draft = form.get("expression") if form.get("draft") else None
    try:
        data = validated(
            ops.LiveTestIn, {"text": text, "expression": draft, "scope": form.get("scope", "both")}
        )
        result = ops.run_live_test(data)
    except ApiError as e:
        return render_template("keywords/_test_result.html", result=None, error=e)
    return render_template(
        "keywords/_test_result.html", result=result, error=None, variant_labels=VARIANT_LABELS
    )


@bp.post("/keywords/backtest")
@require("operator")
def backtest() -> str:
    form = request.form
    try:
        data = validated(
            ops.BacktestIn,
            {
                "days": form.get("days", "7"),
                "examples": 5,
                "rule": _rule_fields(form),
                "replaces": form.get("original") or None,
            },
        )
        job = ops.backtest_job(data)
    except ApiError as e:
        return render_template("keywords/_job.html", job=None, error=e)
    return render_template("keywords/_job.html", job=job, error=None)


@bp.get("/keywords/jobs/<job_id>")
@require("operator")
def job_result(job_id: str) -> str:
    job = jobs_of(current_app).get(job_id, actor())
    if job is None:
        raise ApiError(404, f"no job {job_id} of yours (jobs are kept for an hour)")
    template = (
        "keywords/_backtest.html" if job.kind == "keywords.backtest" else "keywords/_import.html"
    )
    error = ApiError(400, job.error) if job.state == "failed" else None
    return render_template(template, result=job.result, error=error, job=job)


# --- versions ---------------------------------------------------------------------------------


@bp.get("/keywords/versions")
@require("viewer")
def versions() -> str:
    version, _library = parts().library.current()
    history = parts().store.library.history(200)
    return render_template("keywords/versions.html", **_page(version), history=history)


@bp.get("/keywords/versions/<int:number>")
@require("viewer")
def version_page(number: int) -> str:
    return _version_page(number, None)


@bp.post("/keywords/versions/<int:number>/rollback")
@require("operator")
def rollback(number: int) -> Response | tuple[str, int]:
    try:
        parent = validated(ops.Parent, {"parent": request.form.get("parent", "")}).parent
        saved = ops.restore_version(number, parent)
    except ApiError as e:
        return _version_page(number, e), e.status
    return redirect(url_for(".version_page", number=saved.version))


def _version_page(number: int, error: ApiError | None) -> str:
    head, _library = parts().library.current()
    saved: LibraryVersion | None = parts().store.library.get(number)
    if saved is None:
        raise ApiError(404, f"no library version {number}")
    return render_template(
        "keywords/version.html",
        **_page(_kept(head) if error else head),
        saved=saved,
        changes=ops.version_diff(saved.parent or 0, number),
        error=error,
    )


# --- import and export ------------------------------------------------------------------------


@bp.get("/keywords/import")
@require("viewer")
def import_page() -> str:
    version, library = parts().library.current()
    return render_template(
        "keywords/import.html", **_page(version), library=library, formats=FORMATS
    )


@bp.post("/keywords/import")
@require("operator")
def import_file() -> str:
    form = request.form
    upload = request.files.get("file")
    fields = {
        "file": upload,
        "parent": form.get("parent", ""),
        "mode": form.get("mode", "add"),
        "dry_run": form.get("action") != "apply",
        "group": form.get("group", "").strip() or None,
        "category": form.get("category", "subject"),
    }
    try:
        if upload is None or not upload.filename:
            raise ApiError(400, _("请选择文件"), field="file")
        outcome = ops.start_import(validated(ops.ImportForm, fields))
    except ApiError as e:
        return render_template("keywords/_import.html", result=None, error=e, job=None)
    if isinstance(outcome, Job):
        return render_template("keywords/_job.html", job=outcome, error=None)
    return render_template("keywords/_import.html", result=outcome, error=None, job=None)


# --- helpers ----------------------------------------------------------------------------------


def _page(version: int) -> dict[str, Any]:
    """What every keyword page shows: the version it was made from and who may edit."""
    user = current_user()
    can_edit = user is not None and has_role(user, "operator")
    return {
        "version": version,
        "can_edit": can_edit,
        "categories": CATEGORIES,
        "category_labels": CATEGORY_LABELS,
        "conflict": _("词库已被他人修改，请刷新页面后重试"),
    }


def _kept(current: int) -> int:
    """The version a refused form was made from: shown again with it, the form keeps being
    refused after a conflict until the page is reloaded, so nobody overwrites unseen changes."""
    parent = request.form.get("parent", "")
    return int(parent) if parent.isdigit() else current
