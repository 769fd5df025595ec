"""The domain's refusals in Chinese, for the console.

The layers below the console refuse in English (the API's problem documents keep that
English). The console shows a refusal through :func:`shown`: in Chinese pages, the
English message is matched against :data:`CHINESE` (English template -> Chinese template,
the same ``{placeholders}``) and the Chinese is filled with the values found.

Values are data (names, words, ids) and stay as they are, an input's name (``{field}``)
too, as the form names it. Except: ``{message}`` is itself a refusal (translated in turn;
``{detail}`` too when it is one, kept as it is otherwise),
``{where}`` a place in the library (:data:`PLACES`), ``{channel}`` a channel kind (its
Chinese name), and ``{action}``, ``{state}`` and
``{what}`` the console's words (:data:`TERMS`). A message no template matches comes back unchanged.
A new English refusal needs its Chinese here: tests/test_console_messages.py finds the
ones missing in the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from markupsafe import Markup

from api.console.i18n import language

# Refusals and their Chinese, by area. ``{message}`` is a nested refusal, ``{where}`` a
# place in the library, ``{field}`` an input's name (one word), ``{word}`` a quoted word.
CHINESE: dict[str, str] = {
    # Composites the code builds around a refusal.
    "{message}; reload and try again": "{message}；请刷新页面后重试",
    "{message} (at character {n})": "{message}（第 {n} 个字符）",
    "{field}: {message}": "{field}：{message}",
    "{where}: {message}": "{where}：{message}",
    "{id}：{message}": "{id}：{message}",  # the inbox's refusals of a bulk acknowledge
    # The yuqing command's (yuqing/cli): a file or an option named before the refusal, the
    # head of a list of problems (each on its own line below it).
    "{path}: {message}": "{path}：{message}",
    "{option}: {message}": "{option}：{message}",
    "line {line}: {detail}": "第 {line} 行：{detail}",
    "{problems} problem(s):": "发现 {problems} 个问题：",
    "{problems} problem(s), nothing changed:": "发现 {problems} 个问题，未做任何更改：",
    "nothing imported:": "未导入：",
    "nothing imported: {detail}": "未导入：{detail}",
    "nothing imported, {problems} problem(s):": "未导入，发现 {problems} 个问题：",
    "should be a mapping (a YAML or JSON object)": "应是一个映射（YAML 或 JSON 对象）",
    "the environment variable {name} is not set": "环境变量 {name} 未设置",
    "unknown field {name} (id, kind, name, settings, secrets, enabled)": (
        "未知字段 {name}（id、kind、name、settings、secrets、enabled）"
    ),
    "give a rule name, or an alert with --alert": "请给出规则名，或用 --alert 指定预警",
    # A rule's test sentence that fails (keywords/matcher.py: failing_tests).
    "should match": "应当匹配，实际未匹配",
    "should not match": "不应匹配，实际匹配了",
    "not a date and time (such as 2026-12-03T09:00): {value}": (
        "不是日期时间（格式如 2026-12-03T09:00）：{value}"
    ),
    "{detail} (the store from {origin})": "{detail}（存储地址来自 {origin}）",
    "{command} works only with an Elasticsearch store, not {url}": (
        "{command} 只适用于 Elasticsearch 存储，当前是 {url}"
    ),
    "interrupted: run yuqing store migrate again to go on from there": (
        "已中断：再次运行 yuqing store migrate 即从中断处继续"
    ),
    "the migration failed (run it again to go on): {detail}": (
        "迁移失败（再次运行即继续）：{detail}"
    ),
    "cannot change the replicas: {detail}": "无法修改副本数：{detail}",
    # The store's warnings (its health; yuqing status shows them).
    "{n} index(es) have no replica on a cluster of {nodes} data nodes ({shown}): losing a "
    "node loses their data; run `yuqing store replicas 1`": (
        "在 {nodes} 个数据节点的集群上有 {n} 个索引没有副本（{shown}）：失去一个节点就会"
        "失去其数据；请运行 `yuqing store replicas 1`"
    ),
    "items are in one index from an earlier yuqing: run `yuqing store migrate` for "
    "time-based indices and retention": (
        "信息存放在旧版 yuqing 的单一索引中：请运行 `yuqing store migrate`，改用按时间分段的"
        "索引并启用保留期限"
    ),
    "the maintenance failed: {detail}": "维护失败：{detail}",
    "--segmenter {segmenter}: {module} is not installed": (
        "--segmenter {segmenter}：未安装 {module}"
    ),
    "interrupted: the crawl of source {id} has stopped; its run is recorded abandoned": (
        "已中断：信息源 {id} 的抓取已停止，本次运行记为 abandoned（已放弃）"
    ),
    "interrupted: the crawl of source {id} has stopped; its run is recorded {outcome}": (
        "已中断：信息源 {id} 的抓取已停止（{outcome}）"
    ),
    # Rule expressions (rules/syntax.py).
    "'@' must be followed by a group name": "“@”后面要跟关键词组名称",
    "'{name}:' must be followed directly by a word or '('": "“{name}:”后面要紧跟一个词或“(”",
    "NEAR compares words; region:, sentiment: and negative>= are not": (
        "NEAR 只能比较词语的距离；region:、sentiment: 和 negative>= 不能用在 NEAR 两边"
    ),
    "NEAR takes a distance 0-{max}, S (same sentence) or P (same paragraph), not {value}": (
        "NEAR 的距离应为 0-{max}、S（同一句）或 P（同一段），不能是 {value}"
    ),
    "NOT NOT is not allowed: drop both": "不能连写 NOT NOT：请把两个都删掉",
    "a quoted word cannot be empty": "引号中的词不能为空",
    "an OR alternative cannot be only NOT ...: put the exclusion beside the words in an AND": (
        "OR 的一边不能只有 NOT …：请把排除条件和词语放在同一个 AND 里"
    ),
    "control characters (such as NUL) are not allowed": "表达式中不能有控制字符（如 NUL）",
    "each side of NEAR must be a word, @group, or (a OR b ...) of them": (
        "NEAR 两边须是词语、@关键词组，或由它们组成的 (a OR b …)"
    ),
    "expected {expected} but found {found}": "此处应为 {expected}，实际是 {found}",
    "expected {expected} but found the end of the expression": (
        "此处应为 {expected}，但表达式已结束"
    ),
    "expected an operator or the end of the expression but found {found}": (
        "此处应为运算符（AND、OR、NOT、NEAR）或表达式结尾，实际是 {found}"
    ),
    "expected a word, a quoted word, @group or '(' but found {found}": (
        "此处应为词语、带引号的词、@关键词组或“(”，实际是 {found}"
    ),
    "expected a word, a quoted word, @group or '(' but found the end of the expression": (
        "此处应为词语、带引号的词、@关键词组或“(”，但表达式已结束"
    ),
    "put a field scope around the whole NEAR, e.g. title:(a NEAR/5 b)": (
        "字段范围请写在整个 NEAR 外面，如 title:(a NEAR/5 b)"
    ),
    "the expression is empty": "表达式为空",
    "the expression is longer than {max} characters": "表达式超过 {max} 个字符",
    "the expression nests more than {max} levels deep": "表达式的括号嵌套超过 {max} 层",
    "the expression only excludes (NOT ...): add a word it must contain": (
        "表达式只有排除条件（NOT …）：请加上必须包含的词"
    ),
    "unterminated quoted word": "引号没有闭合",
    # The keyword library (keywords/).
    "there is already a group {name}": "已有名为 {name} 的关键词组",
    "there is already a rule {name}": "已有名为 {name} 的规则",
    "no group {name}": "没有关键词组 {name}",
    "no rule {name}": "没有规则 {name}",
    "group {name} has no word {word}": "关键词组 {name} 中没有词 {word}",
    "cannot be changed": "不能修改",
    "{field}: cannot be changed here": "{field}：不能在这里修改",
    "no library version {version}": "没有词库版本 {version}",
    "the library is at version {have}, not {want}: reload and retry": (
        "词库已是版本 {have}，不是 {want}：请刷新页面后重试"
    ),
    "version {version} was saved by someone else first: reload and retry": (
        "版本 {version} 已被他人抢先保存：请刷新页面后重试"
    ),
    "has no words": "没有任何词",
    "normalises to nothing": "规范化后为空",
    "is the same word as {word} after normalisation": "规范化后与 {word} 是同一个词",
    "the name is used by {n} groups": "有 {n} 个关键词组用这个名称",
    "the name is used by {n} rules": "有 {n} 条规则用这个名称",
    "the name is the id of {kind} {name}": "这个名称是{kind} {name} 的编号",
    "the name holds the unprintable character U+{code} at character {n}; names are printable"
    " text": "名称的第 {n} 个字符是不可打印字符 U+{code}；名称只能用可打印的文字",
    "the parent code {code} is no place of the gazetteer": "上级代码 {code} 不是区划库中的地点",
    "{fact}: no place has the code {code}": "{fact}：没有代码为 {code} 的地点",
    "the word {word} normalises to nothing": "词 {word} 规范化后为空",
    "unknown group @{name}": "没有关键词组 @{name}",
    "group @{name} is disabled": "关键词组 @{name} 已停用",
    "only a .txt word list is imported into a named group": (
        "只有 .txt 词表可以导入到指定的关键词组"
    ),
    "send either a rule or a whole library": "请提交一条规则或整个词库",
    "unknown action {action}": "未知的操作 {action}",
    # Importing and exporting words and places (keywords/io.py, keywords/places.py).
    "import failed, {n} problem:": "导入失败，共 {n} 个问题：",
    "import failed, {n} problems:": "导入失败，共 {n} 个问题：",
    "line {n}: {message}": "第 {n} 行：{message}",
    "{message} (the limit is set by imports.{key})": "{message}（上限由配置 imports.{key} 设定）",
    "too many lines: {n}, over the limit of {max}": "行数过多：{n} 行，超过 {max} 行的上限",
    "too many lines: over the limit of {max}": "行数过多：超过 {max} 行的上限",
    "the file is too large: {size}, over the limit of {max}": "文件过大：{size}，超过 {max} 的上限",
    "the file unpacks to {size}, over the limit of {max}": "文件解压后有 {size}，超过 {max} 的上限",
    "line {n} has {count} columns, over the limit of {max}": (
        "第 {n} 行有 {count} 列，超过 {max} 列的上限"
    ),
    "a cell is longer than the limit of {max} characters (imports.max_cell_chars)": (
        "单元格超过 {max} 个字符的上限（imports.max_cell_chars）"
    ),
    "too many keywords: {n}, over the limit of {max}": "关键词过多：{n} 个，超过 {max} 个的上限",
    # The official division codes (keywords/places.py).
    "code {code} should be 12 digits (a statistical division code) or 6 digits (an"
    " administrative division code)": (
        "代码 {code} 应是 12 位（统计用区划代码）或 6 位（民政部行政区划代码）数字"
    ),
    "code {code} has no name": "代码 {code} 缺少名称",
    "the name is longer than 64 characters": "名称超过 64 个字",
    "code {code} repeats line {n} with another name ({before}, {after})": (
        "代码 {code} 与第 {n} 行重复，名称不同（{before}、{after}）"
    ),
    "the file holds no division codes (each line: code, name)": (
        "文件中没有区划代码（每行：代码、名称）"
    ),
    "parent code {code} is neither in the file nor in the gazetteer": (
        "上级代码 {code} 既不在文件中也不在现有区划中"
    ),
    "the file would remove {n} of {total} divisions, unlike a whole code list; to import only"
    " new and renamed ones add --no-remove": (
        "该文件会撤销 {n} 个区划（共 {total} 个），不像完整的代码表；只导入新增和更名请加"
        " --no-remove"
    ),
    "line {n}, column {column}: {message}": "第 {n} 行 {column} 列：{message}",
    "weight {value} is not a number from 0 to {max}": "权重 {value} 须是 0 到 {max} 的数",
    "group {name} is {category} here but {other} on line {n}": (
        "关键词组 {name} 在此处的类别是 {category}，但在第 {n} 行是 {other}"
    ),
    "... and {n} more": "……另有 {n} 个问题",
    "the file is not text in UTF-8, UTF-16 with BOM or GBK/GB18030; in Excel choose Save As"
    " > CSV UTF-8": (
        "文件不是 UTF-8、带 BOM 的 UTF-16 或 GBK/GB18030 文本；请在 Excel 中“另存为 > CSV UTF-8”"
    ),
    "the file is not text in UTF-8, UTF-16 with BOM or GBK/GB18030 (undecodable bytes on"
    " line {n}); in Excel choose Save As > CSV UTF-8": (
        "文件不是 UTF-8、带 BOM 的 UTF-16 或 GBK/GB18030 文本（第 {n} 行有无法解码的字节）；"
        "请在 Excel 中“另存为 > CSV UTF-8”"
    ),
    "the file is not text in UTF-8, UTF-16 with BOM or GBK/GB18030 (it contains NUL bytes);"
    " in Excel choose Save As > CSV UTF-8": (
        "文件不是 UTF-8、带 BOM 的 UTF-16 或 GBK/GB18030 文本（含有 NUL 字节）；"
        "请在 Excel 中“另存为 > CSV UTF-8”"
    ),
    "this is an .xlsx (zip) file, not a text file": "这是 .xlsx（zip）文件，不是文本文件",
    "this is an old Excel .xls file; save it as .xlsx, not a text file": (
        "这是旧版 Excel .xls 文件，不是文本文件：请另存为 .xlsx"
    ),
    "this is an old Excel .xls file; save it as .xlsx": "这是旧版 Excel .xls 文件：请另存为 .xlsx",
    "this is {what}, not a text file": "这是 {what}，不是文本文件",
    "this is {what}": "这是 {what}",
    "not a readable .xlsx file ({problem})": "不是可读取的 .xlsx 文件（{problem}）",
    "expected a {format} mapping with groups and rules, found {found}": (
        "应是含 groups 和 rules 的 {format} 映射，实际是 {found}"
    ),
    "JSON syntax error: {problem} (column {n})": "JSON 语法错误：{problem}（第 {n} 列）",
    "JSON nested too deeply to be a keyword library": "JSON 嵌套过深，不像关键词库",
    "YAML syntax error: {problem}": "YAML 语法错误：{problem}",
    "YAML error: {problem}": "YAML 错误：{problem}",
    "a plain-text import needs a group name": "纯文本导入需要指定关键词组名称",
    "unknown column (expected {columns})": "未知的列（可用：{columns}）",
    "value in a column without a header": "这一列没有表头，却填了值",
    "empty file: no header row": "文件为空：没有表头行",
    "column given twice": "列重复",
    "missing required column (or {alternative})": "缺少必需的列（或 {alternative}）",
    "level {value} is not a whole number from 0 to {max}": "级别 {value} 须是 0 到 {max} 的整数",
    "duplicate word {word} (first on line {n})": "重复的词 {word}（首次出现在第 {n} 行）",
    "duplicate word {word} in group {name} (first on line {n})": (
        "关键词组 {name} 中的词 {word} 重复（首次出现在第 {n} 行）"
    ),
    "{value} is not text: put the word in quotes": "{value} 不是文本：请给这个词加上引号",
    "bad quoting ({problem}): quote the cell and double quotes inside it": (
        "引号有误（{problem}）：请给单元格加引号，单元格内的双引号写两次"
    ),
    "unclosed quote: the rest of the file would be one cell": (
        "引号没有闭合：文件其余部分会变成一个单元格"
    ),
    "empty {what}": "{what}为空",
    "{what} longer than {max} characters ({n})": "{what}超过 {max} 个字符（{n}）",
    "{what} contains a line break, tab or other control character": (
        "{what}含有换行、制表符或其他控制字符"
    ),
    "{what} has surrounding whitespace": "{what}前后有空白",
    "empty group name": "关键词组名称为空",
    "invalid group name {name}: 1-64 characters without spaces, parentheses, quotes, @ or"
    " colon": "关键词组名称 {name} 无效：须为 1 到 64 个字符，不能有空格、括号、引号、@ 或冒号",
    "unknown category {value}: use {names}, {labels} or a custom name of letters, digits, _"
    " and -": "未知的类别 {value}：请用 {names}、{labels}，或由字母、数字、_ 和 - 组成的自定义名称",
    "group {name} word {word}: {message}": "关键词组 {name} 的词 {word}：{message}",
    "group {name}: category {label} would read back as {other}": (
        "关键词组 {name}：类别 {label} 读回时会变成 {other}"
    ),
    "cannot write {format} without changing these words:": "写成 {format} 会改变以下词语：",
    "duplicate": "重复",
    "alias contains the separator {separator}": "别名中含有分隔符 {separator}",
    "word starts with #, which marks a comment line": "词以 # 开头，会被当作注释行",
    "{file}: old Excel .xls files are not supported; save as .xlsx": (
        "{file}：不支持旧版 Excel .xls 文件，请另存为 .xlsx"
    ),
    "{file}: unknown file type {suffix}; expected {known}": (
        "{file}：未知的文件类型 {suffix}；可用：{known}"
    ),
    "unknown format {format}; expected one of {formats}": "未知的格式 {format}；可用：{formats}",
    "group names the target of a txt import; other formats name their own": (
        "只有 txt 导入需要指定目标关键词组；其他格式在文件中写明"
    ),
    "unknown merge mode {mode}; expected add or replace": (
        "未知的合并方式 {mode}；应为 add 或 replace"
    ),
    "no group named {name}": "没有关键词组 {name}",
    "{format} exports the whole library; use csv, xlsx or txt for a group": (
        "{format} 导出整个词库；导出单个关键词组请用 csv、xlsx 或 txt"
    ),
    "a txt export holds one group: name it": "txt 导出只含一个关键词组：请指定是哪一个",
    "the file is empty": "文件为空",
    "places are imported from .csv or .xlsx files": "地点只能从 .csv 或 .xlsx 文件导入",
    "a place name needs at least two characters": "地名至少要有两个字",
    "{code} is not a code of the gazetteer (e.g. 500152)": "{code} 不是区划库中的代码（如 500152）",
    "{name} under {parent} is already on line {n}": "{parent} 下的 {name} 已在第 {n} 行",
    "unknown column {name}": "未知的列 {name}",
    "the header has no {name} column": "表头中没有 {name} 列",
    "String should match pattern {pattern}": "格式不符（{pattern}）",
    # Search and the store (store/).
    "NEAR/S and NEAR/P work in rules, not in search": (
        "NEAR/S 和 NEAR/P 只能用在规则中，不能用于检索"
    ),
    "NOT needs words beside it": "NOT 旁边须有要检索的词",
    "@{name} has no words": "关键词组 @{name} 没有任何词",
    "@{name} is not an enabled keyword group": "@{name} 不是已启用的关键词组",
    "{text} has no letters or digits to search for": "{text} 中没有可检索的文字或数字",
    "a lease needs a name and a holder": "租约需要名称和持有者",
    "bad version {version}": "版本号 {version} 无效",
    "cannot change {field}": "不能修改 {field}",
    "count_limit must be between 1 and {max}": "count_limit 须在 1 到 {max} 之间",
    "created needs a time zone": "created 须带时区",
    "time needs a time zone": "时间须带时区",
    "{name} needs a time zone": "{name} 须带时区",
    "fetch {id}: {message}": "抓取 {id}：{message}",
    "item {id} was refused: {message}": "信息 {id} 被拒绝：{message}",
    "item {id}: times need a time zone": "信息 {id}：时间须带时区",
    "item {id}: {message}": "信息 {id}：{message}",
    "limit must be between 1 and {max}": "limit 须在 1 到 {max} 之间",
    "page must be 1 or more": "页码须大于等于 1",
    "page x size may not exceed {max}: narrow the search instead": (
        "页码 × 每页条数不能超过 {max}：请缩小检索范围"
    ),
    "since must be earlier than until": "开始时间须早于结束时间",
    "size must be between 1 and {max}": "每页条数须在 1 到 {max} 之间",
    "say which term is dismissed": "请写明要忽略的词",
    "until must be later than now": "结束时间须晚于现在",
    "version {version} cannot follow {previous}; expected {expected}": (
        "版本 {version} 不能接在 {previous} 之后；应为 {expected}"
    ),
    "unknown store URL {url}: use sqlite:///path or http(s)://host:port": (
        "无法识别的存储地址 {url}：请用 sqlite:///路径 或 http(s)://主机:端口"
    ),
    "no item {id}": "没有信息 {id}",
    "item {id} changed since version {version}": "信息 {id} 在版本 {version} 之后已被修改",
    "alert {id} changed since version {version}": "预警 {id} 在版本 {version} 之后已被修改",
    "source {id} changed since version {version}": "信息源 {id} 在版本 {version} 之后已被修改",
    "{name} changed since version {version}": "{name} 在版本 {version} 之后已被修改",
    "{name} exists already": "{name} 已存在",
    "outbox message {id} changed since {version}": "待发消息 {id} 在 {version} 之后已被修改",
    "run {run} lost the lease on source {id}": "采集任务 {run} 已失去信息源 {id} 的租约",
    "at most {n} days at a time": "一次最多 {n} 天",
    "no event {id}": "没有事件 {id}",
    # Sources (crawler/).
    "a source {id} exists already": "信息源 {id} 已存在",
    "no source {id}": "没有信息源 {id}",
    "id cannot change; add a new source instead": "编号不能修改；请新增一个信息源",
    "source {id} is being crawled; wait for that run": "信息源 {id} 正在采集，请等本次采集结束",
    "source {id}: {field}: {message}": "信息源 {id}：{field}：{message}",
    "must be a non-empty CSS or XPath expression": "须是非空的 CSS 或 XPath 表达式",
    "not a valid {kind} expression: {problem}": "不是有效的 {kind} 表达式：{problem}",
    "letters, digits, '-', '_' and '.' only": "只能用字母、数字、“-”、“_”和“.”",
    "one of {choices}": "须是以下之一：{choices}",
    "at least one URL is needed": "至少需要一个网址",
    "whole seconds, at least {min}": "须是整数秒，至少 {min}",
    "unknown encoding {encoding}": "未知的编码 {encoding}",
    "a whole number, at least 1": "须是整数，至少为 1",
    "a list of words": "须是词语列表",
    "{file} must hold a list under 'sources:'": "{file} 须在“sources:”下列出信息源",
    "each source is a mapping of fields": "每个信息源须是字段映射",
    "unknown field (expected {fields})": "未知字段（可用：{fields}）",
    "required": "必填",
    "defined twice": "重复定义",
    "{file} is not valid YAML: {problem}": "{file} 不是有效的 YAML：{problem}",
    "no such source in the store": "存储中没有这个信息源",
    "is {kind}: crawl it with that spider": "类型是 {kind}：请用对应的采集器采集",
    # Addresses a source may crawl (crawler/urls.py).
    "{url} is not a URL": "{url} 不是网址",
    "{url}: backslashes, spaces and control characters are not allowed": (
        "{url}：网址中不能有反斜杠、空格或控制字符"
    ),
    "{url} is not a valid URL: {problem}": "{url} 不是有效的网址：{problem}",
    "{url}: only http and https URLs can be crawled": "{url}：只能采集 http 和 https 网址",
    "{url}: user names and passwords in URLs are not allowed": "{url}：网址中不能带用户名和密码",
    "{url} has no host": "{url} 没有主机名",
    "{url}: {host} is not an IPv6 address": "{url}：{host} 不是 IPv6 地址",
    "{url}: {host} is not a host name": "{url}：{host} 不是主机名",
    "cannot resolve {host}: {problem}": "无法解析 {host}：{problem}",
    "cannot resolve {host}: no addresses": "无法解析 {host}：没有地址",
    "{host} is a private, loopback or link-local address ({addresses}); an admin may allow it"
    " for this source with allow_private": (
        "{host} 是内网、本机或链路本地地址（{addresses}）；管理员可为此信息源勾选"
        " allow_private 允许采集"
    ),
    "{host} was not checked before connecting": "{host} 在连接前未经检查",
    "cannot connect to {host}": "无法连接 {host}",
    # Rendering pages in Chromium (crawler/render.py); ``{said}`` is the browser's text.
    "rendering pages needs Chromium, but there is no executable {path}: install Debian's"
    " chromium package (apt-get install chromium) or point YUQING_RENDER_BROWSER to its path": (
        "渲染页面需要 Chromium，但找不到可执行文件 {path}：请安装 Debian 的 chromium 软件包"
        "（apt-get install chromium），或用 YUQING_RENDER_BROWSER 指向其路径"
    ),
    "YUQING_RENDER_WAIT must be one of {choices}, not {value}": (
        "YUQING_RENDER_WAIT 须为 {choices} 之一，而非 {value}"
    ),
    "render failed: {said} ({url})": "渲染失败：{said}（{url}）",
    "render timed out: the page did not settle in time: {said} ({url})": (
        "渲染超时：页面未在限定时间内加载完成：{said}（{url}）"
    ),
    # ``{detail}`` is the preview's refusal of an address; ``{page}`` the URL rendered.
    "render refused: the page went to an address that is not allowed: {detail} ({page})": (
        "渲染被拒绝：页面转到了不允许的地址：{detail}（{page}）"
    ),
    "render refused: the preview's pages are on more hosts than it maps: {said} ({url})": (
        "渲染被拒绝：预览的页面分布的主机过多：{said}（{url}）"
    ),
    "render refused: the preview's pages are on more hosts than it maps: the browser was"
    " started {n} times ({url})": (
        "渲染被拒绝：预览的页面分布的主机过多：浏览器已启动 {n} 次（{url}）"
    ),
    "render refused: the rendered page is larger than the preview reads: {said} ({url})": (
        "渲染被拒绝：渲染后的页面超过预览读取的上限：{said}（{url}）"
    ),
    "render refused: the rendered page is larger than the preview reads: {size} bytes, over"
    " {max} ({url})": (
        "渲染被拒绝：渲染后的页面超过预览读取的上限：{size} 字节，上限 {max} 字节（{url}）"
    ),
    "render refused: another rendered preview is running; try again when it is done:"
    " {said} ({url})": "渲染被拒绝：另一个渲染预览正在进行，请等它结束后重试：{said}（{url}）",
    "render refused: another rendered preview is running; try again when it is done:"
    " waited {seconds} s ({url})": (
        "渲染被拒绝：另一个渲染预览正在进行，请等它结束后重试：已等待 {seconds} 秒（{url}）"
    ),
    "not http(s): {scheme}": "不是 http(s) 网址：{scheme}",
    # The "test this source" preview's problems (crawler/preview.py, crawler/extract.py);
    # ``{detail}`` is a refusal or the system's text (kept as it is if no refusal).
    "cannot fetch {url}: {detail}": "无法获取 {url}：{detail}",
    "not fetched {url}: {detail}": "未获取 {url}：{detail}",  # a rendered page's request
    "HTTP {status}": "服务器返回 HTTP {status}",
    "not text ({method})": "不是文本（{method}）",
    "no article links found on the start page": "起始页上没有找到文章链接",
    "no body found": "没有找到正文",
    "no publish time found": "没有找到发布时间",
    # Two-step verification (api/accounts.py).
    "two-step verification is for admins only": "两步验证只供管理员启用",
    "two-step verification is on already; to change it, have an admin reset it first": (
        "已启用两步验证；要更换，请先由管理员重置"
    ),
    "wrong password": "密码不正确",
    "invalid key; start the enrolment again": "密钥无效，请重新开始启用",
    "wrong code: enter the 6 digits your authenticator app shows now": (
        "验证码不正确：请输入验证器应用当前显示的 6 位数字"
    ),
    "{name} has no two-step verification on": "{name} 未启用两步验证",
    # Alerts, tickets, acknowledge links, policies (monitor/alerts/).
    "no alert {id}": "没有预警 {id}",
    "alert {id} keeps changing; try again": "预警 {id} 正在不断变化，请稍后重试",
    "name who handles the alert": "请填写负责处置该预警的人",
    "cannot {action} alert {id}: it is {state}": "预警 {id} 当前{state}，不能{action}",
    "give the link or a note on the information published": ("请填写已发布信息的链接或说明"),
    "write the note": "请填写备注",
    "must be one of {choices}, not {value}": "须是以下之一：{choices}，不能是 {value}",
    "acknowledge links are not accepted here": "此处不接受签收链接",
    "this acknowledge link has already been used": "该签收链接已使用过",
    "this acknowledge link has expired": "签收链接已过期",
    "this acknowledge link is for another alert": "该签收链接属于另一条预警",
    "this acknowledge link is not valid": "签收链接无效",
    "no rule {name} in the keyword library": "关键词库中没有规则 {name}",
    "must lie in the future": "须是将来的时间",
    "unknown action {action}; one of {choices}": "未知的操作 {action}；可用：{choices}",
    "alert policy for {rule}: digest_times: a digest needs at least one time of day": (
        "规则 {rule} 的预警策略：digest_times：汇总至少需要一个时间点"
    ),
    "alert policy for {rule}: {field}: {message}": "规则 {rule} 的预警策略：{field}：{message}",
    "alert policy for {rule}: {field}: {message} (got {value})": (
        "规则 {rule} 的预警策略：{field}：{message}（收到的是 {value}）"
    ),
    "the routing table changed since version {version}": "路由表在版本 {version} 之后已被修改",
    "say who makes the change": "请写明是谁做的修改",
    "no action {action}": "没有操作 {action}",
    "no channel {id}": "没有渠道 {id}",
    "channel {id} exists already": "渠道 {id} 已存在",
    "no channel kind {kind}": "没有渠道类型 {kind}",
    "no delivery {id}": "没有投递 {id}",
    "lower-case letters, digits, - or _, starting with a letter or digit, at most 40"
    " characters (email is taken)": (
        "用小写字母、数字、- 或 _，以字母或数字开头，至多 40 个字符（email 已被占用）"
    ),
    "give the channel a name, e.g. the district's duty group": "请填写渠道名称，如“区值班群”",
    "channel {id} is {before}, it cannot become {after}": "渠道 {id} 是 {before}，不能改为 {after}",
    "channel {id} is used in the routing table ({route}); change the routes first": (
        "渠道 {id} 仍在路由表中使用（{route}），请先修改路由"
    ),
    "{value} is not a region code (such as 500152)": "{value} 不是区划代码（如 500152）",
    "{value} is not a region code (such as 500152 or 500152000000)": (
        "{value} 不是区划代码（如 500152 或 500152000000）"
    ),
    "no region code {code}": "没有区划代码 {code}",
    "delivery {id} is {status}; only failed deliveries are resent": (
        "投递 {id} 的状态是 {status}，只有失败的投递可以重发"
    ),
    "after_minutes must grow from step to step": "after_minutes 须逐级增加",
    "no channel {name} (there are: {known})": "没有渠道 {name}（已有：{known}）",
    "unknown channel kind {kind} (there are: {kinds})": "不支持的渠道类型 {kind}（可用：{kinds}）",
    "unknown channel kind {kind}": "不支持的渠道类型 {kind}",
    "email is configured in [smtp], not here": "邮件渠道由 [smtp] 配置，不在此设置",
    # A channel's settings (monitor/alerts/channels/).
    "{channel} sends to the whole group and takes no recipient ({to})": (
        "{channel} 发往整个群组，不接受收件人（{to}）"
    ),
    "{channel} needs a recipient": "{channel} 需要收件人",
    "not an http(s) address": "不是 http(s) 地址",
    "the address has no {name} parameter": "地址中缺少 {name} 参数",
    "the path should start with {prefix}": "路径应以 {prefix} 开头",
    "the template is malformed: {problem}": "模板格式错误：{problem}",
    "unknown placeholder {{name}}; there are: {names}": "未知的占位符 {{name}}，可用：{names}",
    "{value} is not a mobile number": "{value} 不是手机号码",
    "{value} is not an email address": "{value} 不是电子邮件地址",
    "a time is listed twice": "有重复的时间",
    "name the rule, or give alert_id": "请写明规则，或给出 alert_id",
    "region is an administrative code, e.g. 500152": "区域须是行政区划代码，如 500152",
    # Why a delivery failed, and a channel test's outcome (monitor/alerts/channels/,
    # outbox.py, delivery.py): ``{answer}`` is the platform's own words (maybe none),
    # ``{detail}`` the reason a platform's code stands for (the platform's words when it has
    # none of ours), ``{host}`` where it was sent.
    "delivered": "已送达",
    "{host} did not answer (timed out): {error}": "{host} 无应答（超时）：{error}",
    "cannot connect to {host}: {error}": "无法连接 {host}：{error}",
    "{host} is rate limiting (HTTP 429)": "{host} 限流（HTTP 429）",
    "{host} server error HTTP {status}: {answer}": "{host} 服务端错误 HTTP {status}：{answer}",
    "the answer of {host} is not JSON (HTTP {status}): {answer}": (
        "{host} 的应答不是 JSON（HTTP {status}）：{answer}"
    ),
    "the answer of {host} is not a JSON object": "{host} 的应答不是 JSON 对象",
    "unknown error": "未知错误",
    "DingTalk {code}: {detail} ({answer})": "钉钉 {code}：{detail}（{answer}）",
    "sending too fast: at most 20 messages a minute per robot, then blocked for 10 minutes": (
        "发送太快：每个机器人每分钟最多 20 条，超过后限流 10 分钟"
    ),
    "blocked for sending too fast": "发送速度太快而被限流",
    "no such access_token: the robot may have been removed": (
        "access_token 不存在：机器人可能已被移除"
    ),
    "no such access_token": "access_token 不存在",
    "the robot is disabled": "机器人已停用",
    "no such robot": "机器人不存在",
    "the group has been dissolved": "群已被解散",
    "unsupported message type": "不支持的消息类型",
    "the message holds an unsafe link": "消息含有不安全的外链",
    "the message holds inappropriate text": "消息含有不合适的文本",
    "the message holds inappropriate content": "消息含有不合适的内容",
    "DingTalk is busy": "钉钉系统繁忙",
    "signature mismatch: check the signing secret, or whether the server's clock is right": (
        "签名不匹配：检查加签密钥，或服务器时间是否准确"
    ),
    "invalid timestamp: the server's clock is more than an hour off DingTalk's": (
        "时间戳无效：服务器时间与钉钉相差超过 1 小时"
    ),
    "the message holds none of the robot's custom keywords": "消息不含机器人设置的自定义关键词",
    "the server's IP address is not on the robot's allow list": (
        "服务器 IP 不在机器人的 IP 白名单内"
    ),
    "the security settings refused it": "安全设置校验未通过",
    "Feishu {code}: {detail} ({answer})": "飞书 {code}：{detail}（{answer}）",
    "signature check failed: check the signing secret, or whether the server's clock is more"
    " than an hour off Feishu's": "签名校验失败：检查签名密钥，或服务器时间与飞书相差超过 1 小时",
    "sending too often: at most 100 messages a minute and 5 a second per robot": (
        "发送过于频繁（每个机器人每分钟最多 100 条、每秒 5 条）"
    ),
    "malformed request": "请求格式错误",
    "invalid parameter": "参数错误",
    "the answer of Feishu has no code: {answer}": "飞书的应答没有 code：{answer}",
    "WeCom {code}: {detail} ({answer})": "企业微信 {code}：{detail}（{answer}）",
    "calling too often: at most 20 messages a minute per robot": (
        "调用频率超过限制（每个机器人每分钟最多 20 条）"
    ),
    "invalid webhook address: the robot may have been removed from the group chat, or the key"
    " is wrong": "webhook 地址无效：机器人可能已被移出群聊，或 key 有误",
    "the robot has been disabled": "机器人已被停用",
    "the robot is not in this group": "机器人不在该群中",
    "the message is empty": "消息内容为空",
    "the message is longer than the limit": "消息内容超过长度限制",
    "WeCom is busy": "企业微信系统繁忙",
    "the SMS gateway refused it (HTTP {status}): {answer}": (
        "短信网关拒绝（HTTP {status}）：{answer}"
    ),
    "the SMS gateway answered {name}={value}: {answer}": "短信网关返回 {name}={value}：{answer}",
    "Aliyun SMS {code}: {detail} ({answer})": "阿里云短信 {code}：{detail}（{answer}）",
    "Aliyun SMS {code}: rate limited ({answer})": "阿里云短信 {code}：触发流控（{answer}）",
    "malformed mobile number": "手机号码格式错误",
    "the SMS template does not exist or is not approved": "短信模板不存在或未审核通过",
    "the SMS signature does not exist or is not approved": "短信签名不存在或未审核通过",
    "a template variable has no value": "模板变量缺少对应参数值",
    "a template variable holds a forbidden keyword": "模板变量里包含非法关键字",
    "a parameter is longer than the limit": "参数超出长度限制",
    "the account balance is too low": "账户余额不足",
    "the text holds a blocklisted keyword": "内容含黑名单关键字",
    "the server's IP address is not in the allowed range": "服务器 IP 不在允许范围内",
    "too many mobile numbers": "手机号码数量超过限制",
    "signature mismatch: check the AccessKey Secret": "签名不匹配：检查 AccessKey Secret",
    "no such AccessKey ID": "AccessKey ID 不存在",
    "the AccessKey is disabled": "AccessKey 已停用",
    "expired timestamp: the server's clock is more than 15 minutes off Aliyun's": (
        "时间戳过期：服务器时间与阿里云相差超过 15 分钟"
    ),
    "the RAM user may not send SMS": "RAM 用户无权发送短信",
    "the receiver timed out (HTTP 408): {answer}": "接收方超时（HTTP 408）：{answer}",
    "the receiver refused it (HTTP {status}): {answer}": "接收方拒绝（HTTP {status}）：{answer}",
    "mail server {host}: the certificate was not accepted: {error} (the certificate must name"
    " smtp.host; smtp.ca_file names the CA trusted)": (
        "邮件服务器 {host}：证书未被接受：{error}（证书须包含 smtp.host 的名称；smtp.ca_file"
        " 指定信任的 CA）"
    ),
    "mail server {host}: logging in as {user} was refused: {error} (check smtp.username and"
    " YUQING_SMTP_PASSWORD)": (
        "邮件服务器 {host}：以 {user} 登录被拒绝：{error}（请检查 smtp.username 和"
        " YUQING_SMTP_PASSWORD）"
    ),
    "mail server {host}: {error}": "邮件服务器 {host}：{error}",
    "channel {id} was deleted": "渠道 {id} 已删除",
    "channel {id} ({name}) is disabled": "渠道 {id}（{name}）已停用",
    "channel {id} has an invalid configuration: {detail}": "渠道 {id} 的配置无效：{detail}",
    "internal error: {error}": "内部错误：{error}",
    "failed after {n} attempts: {detail}": "已重试 {n} 次仍失败：{detail}",
    # Discovery (monitor/discovery/).
    "a run of Chinese characters": "须是连续的汉字",
    "two to twenty Chinese characters": "须是 2 到 20 个汉字",
    "zero or more": "须大于等于 0",
    "{term} was not dismissed": "{term} 未被忽略",
    "{term} is not in the latest report": "{term} 不在最新的报告中",
    "a library version": "须是词库版本号",
    # Python's own words for a number that is none (the emergency switch's hours).
    "could not convert string to float: {value}": "不是数字：{value}",
    # Reports (api/reports.py).
    "{text} is not a date like 2026-11-25": "{text} 不是日期（格式如 2026-11-25）",
    "{text} is not an ISO week like 2026-W48": "{text} 不是 ISO 周（格式如 2026-W48）",
    # Accounts and tokens (api/accounts.py, api/auth.py).
    "a user named {name} exists already": "已有名为 {name} 的用户",
    "days must be 1-{max}": "天数须在 1 到 {max} 之间",
    "label must be 1-{max} characters": "名称须为 1 到 {max} 个字符",
    "name must be 2-32 characters of a-z, 0-9, '_', '.' or '-', starting with a letter or"
    " digit": "用户名须为 2 到 32 个字符，只能用 a-z、0-9、“_”、“.”或“-”，并以字母或数字开头",
    "no token with id {id}": "没有编号为 {id} 的令牌",
    "no token {id} of yours": "您没有编号为 {id} 的令牌",
    "no user named {name}": "没有用户 {name}",
    "password must have at least {n} characters": "密码至少要有 {n} 个字符",
    "password must not be the user name": "密码不能与用户名相同",
    "role must be one of {choices}": "角色须是以下之一：{choices}",
    "user {name} is disabled": "用户 {name} 已停用",
    "{name} is the last enabled admin": "{name} 是最后一个启用的管理员",
    "sign in, or send an API token as 'Authorization: Bearer <token>'": (
        "请登录，或以“Authorization: Bearer <令牌>”发送接口令牌"
    ),
    "this needs the {role} role; you are {mine}": "此操作需要 {role} 角色；您是 {mine}",
    "the form has expired or did not come from this site; reload it": (
        "表单已过期或不是来自本站：请刷新页面"
    ),
    # Jobs, mail (api/).
    "no job {id} of yours (jobs are kept for an hour)": "您没有任务 {id}（任务只保留一小时）",
    "job {id} is {state}": "任务 {id} 的状态是 {state}",
    "job {id} is {state}: {problem}": "任务 {id} 的状态是 {state}：{problem}",
    "no message {name}": "没有邮件 {name}",
    # The error page: its title and the web server's own words (api/errors.py, werkzeug).
    "Bad Request": "请求有误",
    "Unauthorized": "未登录",
    "Forbidden": "无权访问",
    "Not Found": "未找到",
    "Conflict": "操作冲突",
    "Content Too Large": "内容过大",
    "Unsupported Media Type": "不支持的内容类型",
    "Unprocessable Content": "无法处理的内容",
    "Too Many Requests": "请求过于频繁",
    "Service Unavailable": "服务暂时不可用",
    "an internal error was logged": "服务器内部出错，已记录日志",
    "the request body is nested too deeply": "请求内容嵌套过深",
    "The browser (or proxy) sent a request that this server could not understand.": (
        "浏览器（或代理）发来的请求无法识别。"
    ),
    "You don't have the permission to access the requested resource. It is either"
    " read-protected or not readable by the server.": "您没有访问此页面的权限。",
    "The requested URL was not found on the server. If you entered the URL manually please"
    " check your spelling and try again.": "找不到这个网址。如果是手动输入的，请检查拼写后重试。",
    "The method is not allowed for the requested URL.": "此网址不支持这种请求方式。",
    "The data value transmitted exceeds the capacity limit.": "提交的数据超过了容量上限。",
    "The server encountered an internal error and was unable to complete your request."
    " Either the server is overloaded or there is an error in the application.": (
        "服务器内部出错，未能完成请求：服务器过载或程序有误。"
    ),
    # Form checks (pydantic's words, behind ``field: ``).
    "Field required": "必填",
    "String should have at least {n} character": "至少要有 {n} 个字符",
    "String should have at least {n} characters": "至少要有 {n} 个字符",
    "String should have at most {n} character": "最多 {n} 个字符",
    "String should have at most {n} characters": "最多 {n} 个字符",
    "Input should be a valid integer, unable to parse string as an integer": "须是整数",
    "Input should be a valid boolean, unable to interpret input": "须是“是”或“否”",
    "Input should be greater than or equal to {n}": "须大于等于 {n}",
    "Input should be less than or equal to {n}": "须小于等于 {n}",
    "Extra inputs are not permitted": "不接受这一项",
    "Input should be {quoted}": "须是以下之一：{quoted}",
    "Input should be a valid datetime or date, {problem}": "须是日期或日期时间（{problem}）",
    "List should have at least {n} item after validation, not {count}": (
        "至少需要 {n} 项，现有 {count} 项"
    ),
    "List should have at least {n} items after validation, not {count}": (
        "至少需要 {n} 项，现有 {count} 项"
    ),
}

# Words a refusal names that are the console's vocabulary, not data: a ticket's steps
# (``{action}``) and an alert's status (``{state}``), as the alert pages name them, and
# what in an imported row is wrong (``{what}``).
TERMS: dict[str, str] = {
    "acknowledge": "签收",
    "handle": "处置",
    "assign": "指派",
    "respond": "回应",
    "close": "关闭",
    "note": "备注",
    "new": "为新预警",
    "acknowledged": "已签收",
    "handling": "处置中",
    "responded": "已回应",
    "closed": "已关闭",
    "word": "词",
    "alias": "别名",
}

# Places in the library that :mod:`keywords.validate` names in a problem.
PLACES: dict[str, str] = {
    "group {name}": "关键词组 {name}",
    "group {name}, word {n} {word}": "关键词组 {name} 的第 {n} 个词 {word}",
    "rule {name}": "规则 {name}",
    "rule {name}, expression": "规则 {name} 的表达式",
    "rule {name}, test sentence {sentence}": "规则 {name} 的测试句 {sentence}",
    "place {name}": "地点 {name}",
    "expression": "表达式",
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# What a placeholder may match: an input's name is one word (``selectors.title``), a word
# and a list of choices are quoted (as Python shows a text), a page's URL and a host name
# have no spaces; the rest is any text, as short as the template allows.
_SHAPES = {
    "field": r"[A-Za-z_][\w.\[\]-]*",
    "word": r"'.*?'|\".*?\"",
    "quoted": r"'.*'",
    "path": r"\S+",  # a file the yuqing command was given
    "option": r"--[a-z][\w-]*",  # one of its options
    "problems": r"\d+",  # how many
    "line": r"\d+",
    "page": r"\S+",  # a URL a browser gave (encoded: no spaces) after a refusal with "( )"
    "host": r"\S+",  # so that a refusal about a host inside a longer one is found whole
    "answer": r".*?",  # a platform's own words in a delivery's failure: maybe none
}


@dataclass(frozen=True)
class _Template:
    english: str
    chinese: str
    pattern: re.Pattern[str]

    @property
    def weight(self) -> tuple[bool, int, int]:
        """A refusal around another whose bounds are certain first: with a suffix
        (``{message} (at character 3)``) or a place before it (``name: ...``, ``line 2,
        column parent: ...``): it holds only if the refusal inside reads in Chinese too,
        where a plain template's open value (``{code} is not a code ...``) would swallow
        the place; then more literal text first (the most specific template), then fewer
        values."""
        literal = _PLACEHOLDER.sub("", self.english)
        around = self.english.startswith("{message}") or self.english.endswith(": {message}")
        return (not around, -len(literal), len(_PLACEHOLDER.findall(self.english)))


def _compile(english: str, chinese: str) -> _Template:
    parts, last = [], 0
    for found in _PLACEHOLDER.finditer(english):
        name = found.group(1)
        parts.append(re.escape(english[last : found.start()]))
        parts.append(f"(?P<{name}>{_SHAPES.get(name, '.+?')})")
        last = found.end()
    parts.append(re.escape(english[last:]))
    return _Template(english, chinese, re.compile("".join(parts), re.DOTALL))


@cache
def _templates(table: str) -> list[_Template]:
    entries = PLACES if table == "places" else CHINESE
    return sorted((_compile(e, c) for e, c in entries.items()), key=lambda t: t.weight)


def template_key(english: str) -> str:
    """``english`` with every placeholder written ``{}`` (as the source's f-strings are
    collected; adjacent ones as one), for comparing a catalog entry with a raised message."""
    return re.sub(r"(\{\})+", "{}", _PLACEHOLDER.sub("{}", english))


def chinese(message: str) -> str:
    """The English refusal ``message`` in Chinese; unchanged if no template matches (or a
    nested refusal in it has no Chinese). Each line of several (a library's problems) on
    its own."""
    if "\n" in message:
        return "\n".join(chinese(line) for line in message.split("\n"))
    if len(message) > _LONGEST:
        return message
    return _translated(message, "messages") or message


def place(where: str) -> str:
    """A place in the library (``group 潼南地名, word 3 '...'``) in Chinese."""
    if len(where) > _LONGEST:
        return where
    return _translated(where, "places") or where


# Refusals the code builds are a few levels deep at most ("field: refusal (at character
# 3)"); deeper or longer text is someone's input, shown as it is (matching it would take
# time that grows with every level).
_DEEPEST = 4
_LONGEST = 4000


@lru_cache(maxsize=1024)
def _translated(text: str, table: str, depth: int = 0) -> str | None:
    if depth > _DEEPEST:
        return None
    for template in _templates(table):
        found = template.pattern.fullmatch(text)
        if not found:
            continue
        values = found.groupdict()
        if "message" in values:
            inner = _translated(values["message"], "messages", depth + 1)
            if inner is None:
                continue
            values["message"] = inner
        if "where" in values:
            where = _translated(values["where"], "places", depth + 1)
            if where is None:
                continue
            values["where"] = where
        if "detail" in values:
            detail = _translated(values["detail"], "messages", depth + 1)
            values["detail"] = detail if detail is not None else values["detail"]
        for term in ("action", "state", "what"):
            if term in values:
                values[term] = TERMS.get(values[term], values[term])
        if "channel" in values:
            values["channel"] = _channel_labels().get(values["channel"], values["channel"])
        return _filled(template.chinese, values)
    return None


@cache
def _channel_labels() -> dict[str, str]:
    """A channel kind (``dingtalk``) -> its Chinese name (钉钉群机器人)."""
    from monitor.alerts.channels import KINDS, Channel
    from monitor.alerts.channels.email import EmailChannel

    classes: list[type[Channel]] = [*KINDS.values(), EmailChannel]
    return {c.kind: c.label for c in classes}


def _filled(chinese: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], chinese)


def shown(text: object) -> object:
    """The ``refusal`` template filter: a refusal as this page's language shows it (the
    English as raised, or its Chinese). Anything but plain text passes unchanged."""
    if not isinstance(text, str) or isinstance(text, Markup) or language() != "zh":
        return text
    return chinese(text)
