"""What the ``yuqing`` command prints for a person, in the operator's language: Chinese by
default, English with ``YUQING_LANG=en`` (the rule its refusals follow, see
:func:`yuqing.cli.errors.language`).

The code writes each line as an English template with ``{placeholders}`` and calls
:func:`say` (or :func:`text` for a piece of a line); :data:`CHINESE` has the Chinese of
each template, filled with the same values. The templates are the CLI's own lines, looked
up by key: unlike the console's catalog of refusals (:mod:`api.console.messages`), which
matches messages the layers below compose, nothing here needs matching, and a command
printing a table need not load Flask. Values are data (ids, names, titles, URLs, counts)
and stay as they are; machine output (JSON) never comes here.
tests/test_cli_words.py fails for a template without its Chinese.
"""

from __future__ import annotations

from unicodedata import east_asian_width

import click

from yuqing.cli.errors import language

CHINESE: dict[str, str] = {
    # yuqing sources / scheduler (yuqing/cli/crawl.py); the header's Chinese is aligned by
    # columns (a Chinese character takes two) over the same widths as the English.
    "added {n} source(s) from {path}": "已从 {path} 添加 {n} 个信息源",
    "added {n} default source(s)": "已添加 {n} 个默认信息源",
    "source          type      every  last run    outcome  "
    "last ok      fails  new empty   FFFD  problems": (
        "信息源          类型       间隔  上次运行    结果     "
        "上次成功      失败 新增  空跑   FFFD  问题"
    ),
    "off": "停用",
    "ok": "正常",
    "scheduling {n} source(s) on {store}; Ctrl-C stops": (
        "正在调度 {n} 个信息源（存储：{store}），按 Ctrl-C 停止"
    ),
    # yuqing status (yuqing/cli/status.py); an alert status, an outbox state, an outcome
    # and a backend stay as the options and the store name them.
    "store": "存储",
    "ok  {backend} {url}  {items} items": "正常  {backend} {url}  {items} 条信息",
    "  cluster {status}, {nodes} node(s)": "  集群 {status}，{nodes} 个节点",
    "DOWN  {error}": "不可用  {error}",
    "warning": "警告",
    "up  {url}": "正常  {url}",
    "not answering  {url}  ({error})": "无应答  {url}（{error}）",
    "{scope} since {since} by {actor}": "{scope}：{actor} 于 {since} 开启",
    " until {until}": "，至 {until}",
    "alerts": "告警",
    "outbox": "发送队列",
    "emergency": "应急模式",
    "source": "信息源",
    "every": "间隔",
    "last run": "上次运行",
    "outcome": "结果",
    "next run": "下次运行",
    "health": "健康状况",
    # yuqing users (yuqing/cli/users.py); a role's name stays as the option names it.
    "created {name} ({role})": "已创建用户 {name}（{role}）",
    "password of {name} changed": "已修改 {name} 的密码",
    "password: {password}": "密码：{password}",
    "Note it now: it is not stored and cannot be shown again.": (
        "请立即记下：密码不会保存，之后无法再次显示。"
    ),
    "disabled": "已停用",
    "enabled": "已启用",
    "never": "从未",
    "    token {id}  {label}  (last used {used})  expires {ends}": (
        "    令牌 {id}  {label}（上次使用：{used}）  {ends} 到期"
    ),
    "disabled {name}; its tokens are revoked": "已停用 {name}，其 API 令牌均已撤销",
    "enabled {name}": "已启用 {name}",
    "token {id} for {name}: {secret}": "{name} 的令牌 {id}：{secret}",
    "Note it now: only its hash is stored, it cannot be shown again.": (
        "请立即记下：只保存其哈希，之后无法再次显示。"
    ),
    "It expires {time}.": "到期时间：{time}。",
    "signed {name} out of {n} open session(s)": "已注销 {name} 的 {n} 个登录会话",
    "two-step verification of {name} reset": "已重置 {name} 的两步验证",
    "revoked token {id}": "已撤销令牌 {id}",
    "Password": "密码",
    # yuqing alerts, emergency, send-outbox (yuqing/cli/alerts.py).
    "{id}  {created:%m-%d %H:%M}  {status:<12} {severity:<8} {rule}  {title}  ({n} items)": (
        "{id}  {created:%m-%d %H:%M}  {status:<12} {severity:<8} {rule}  {title}（{n} 条）"
    ),
    "emergency on for {scope}": "已为 {scope} 开启应急模式",
    "emergency off for {scope}": "已为 {scope} 关闭应急模式",
    "sent {n}": "已发送 {n} 条",
    # yuqing discover (yuqing/cli/discover.py).
    "{now} {zone}  window {window} items, baseline {baseline}, regions: {regions}  "
    "({seconds:.1f} s)": (
        "{now} {zone}  窗口 {window} 条，基线 {baseline} 条，地区：{regions}（{seconds:.1f} 秒）"
    ),
    "terms:": "突增词：",
    "clusters:": "聚类：",
    "suggestions:": "建议：",
    "{term} added to {group}: library version {version}": (
        "已将 {term} 加入 {group}：词库版本 {version}"
    ),
    "{term} dismissed": "已忽略 {term}",
    # yuqing match, keywords (yuqing/cli/keywords.py). A diff's line keeps its sign (+ added,
    # - removed, ~ changed) first, as the console's diff view shows it.
    "no rule matched": "未命中任何规则",
    "word": "词",
    "  {rule}: {word} ({group}) {field} {start}-{end}{variant}": (
        "  {rule}：{word}（{group}）{field} {start}-{end}{variant}"
    ),
    "{path}: {groups} groups, {rules} rules, all good": (
        "{path}：{groups} 个词组，{rules} 条规则，检查通过"
    ),
    "saved version {version}: {message}": "已保存版本 {version}：{message}",
    "saved version {version}: {n} place(s)": "已保存版本 {version}：{n} 个地名",
    "wrote {path}": "已写入 {path}",
    "no changes": "没有变化",
    "+ group {name}": "+ 词组 {name}",
    "- group {name}": "- 词组 {name}",
    "~ group {name}: + {word}": "~ 词组 {name}：+ {word}",
    "~ group {name}: - {word}": "~ 词组 {name}：- {word}",
    "~ group {name}: {key} {old!r} -> {new!r}": "~ 词组 {name}：{key} {old!r} -> {new!r}",
    "+ rule {name}": "+ 规则 {name}",
    "- rule {name}": "- 规则 {name}",
    "~ rule {name}: {key} {old!r} -> {new!r}": "~ 规则 {name}：{key} {old!r} -> {new!r}",
    "against version {version}, items first seen in the last {days} days": (
        "对比版本 {version}，最近 {days} 天首次采集到的信息"
    ),
    "{rule}: {live} -> {proposed} (at least), +{added} -{removed}": (
        "{rule}：{live} -> {proposed}（至少），+{added} -{removed}"
    ),
    "{rule}: {live} -> {proposed}, +{added} -{removed}": (
        "{rule}：{live} -> {proposed}，+{added} -{removed}"
    ),
    # yuqing store (yuqing/cli/store.py).
    "moved {moved}, {left} left": "已迁移 {moved} 条，剩余 {left} 条",
    "nothing to migrate: the items are in time-based indices already": (
        "无需迁移：信息已在按时间分代的索引中"
    ),
    "migrated: {moved} item(s) moved into {archives}": "迁移完成：{moved} 条移入 {archives}",
    "{left} item(s) left (written during the migration): run yuqing store migrate again": (
        "尚余 {left} 条（迁移期间有新写入）：请再次运行 yuqing store migrate"
    ),
    "replicas are 0-8 or auto, not {count!r}": "副本数应为 0-8 或 auto，而不是 {count!r}",
    "replicas of {n} index(es) set to {wanted}": "{n} 个索引的副本数已设为 {wanted}",
    "note: the cluster has {nodes} data node(s), {wanted} replica(s) cannot all be "
    "allocated": "注意：集群只有 {nodes} 个数据节点，{wanted} 个副本无法全部分配",
    "new generation: {rolled}; deleted: {deleted}": "新一代索引：{rolled}；删除：{deleted}",
    "none": "无",
    # yuqing places import-codes (yuqing/cli/places.py).
    "{lines} line(s) read…": "已读取 {lines} 行…",
    "{n} division(s) read ({villages} village code(s) skipped), comparing…": (
        "已读取 {n} 个区划（跳过村级代码 {villages} 个），正在比对…"
    ),
    "saved library version {version}: {added} added, {renamed} renamed, {removed} removed, "
    "{restored} restored, {unchanged} unchanged": (
        "已保存词库版本 {version}：新增 {added}，更名 {renamed}，撤销 {removed}，"
        "恢复 {restored}，未变 {unchanged}"
    ),
    "added": "新增",
    "renamed (the old name kept as a former name)": "更名（旧名保留为曾用名）",
    "removed": "撤销",
    "restored": "恢复",
    "  {label}: {entry}": "  {label}：{entry}",
    "  {label}: … {n} in all": "  {label}：……等 {n} 个",
    # yuqing channels, routing (yuqing/cli/channels.py).
    "{id:<20} email        email (the [smtp] settings)": "{id:<20} email        电子邮件（[smtp]）",
    " (disabled)": "（停用）",
    "removed {id}": "已删除 {id}",
    "failed: {message}": "失败：{message}",
    "queued {key}": "已重新排队 {key}",
    "routing saved: {n} routes": "已保存路由表：{n} 条路由",
    "routes: {routes}": "路由：{routes}",
    ", ": "、",
    "  (quiet hours {held})": "（免打扰时段 {held}）",
    "  (no such channel)": "（没有这个渠道）",
}


def text(template: str, /, **values: object) -> str:
    """``template`` (English, a key of :data:`CHINESE`) filled with ``values``, in the
    operator's language (the English if the Chinese is missing: a test catches that)."""
    if language() != "en":
        template = CHINESE.get(template, template)
    return template.format(**values)


def say(template: str, /, *, err: bool = False, **values: object) -> None:
    """Print ``template`` filled with ``values`` (see :func:`text`) as one line; on
    standard error with ``err`` (progress, so that standard output stays the result)."""
    click.echo(text(template, **values), err=err)


def columns(value: str) -> int:
    """How many terminal columns ``value`` takes: a Chinese character two."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in value)


def pad(value: str, width: int, *, right: bool = False) -> str:
    """``value`` padded with spaces to ``width`` columns (on the left with ``right``), so
    that a table's columns line up in either language."""
    room = " " * max(0, width - columns(value))
    return room + value if right else value + room
