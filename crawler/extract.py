"""Extract title, body, times, author and source from a crawled Chinese web page."""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from lxml import html as lxml_html

from crawler.dates import SHANGHAI, find_gov_dates, parse_date
from crawler.encoding import decode_body
from crawler.extraction.published import PageDates, Published, choose_published

# Real article pages, inline scripts included, stay well under 1 MB of HTML. Anything bigger is
# an endless list or a data dump; parsing it whole costs seconds and hundreds of MB per page
# (lxml plus the extractors' tree passes), which would stall the crawl for one useless page.
MAX_HTML_CHARS = 2_000_000

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"

_BLOCK_TAGS = frozenset(
    "html body div p td th tr table tbody thead tfoot li ul ol dl dd dt h1 h2 h3 h4 h5 h6 "
    "section article main header footer nav aside blockquote pre form center address figure "
    "figcaption caption fieldset legend details summary hr".split()
)
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed",
    "select", "option", "button", "input", "textarea", "map", "audio", "video", "head",
)  # fmt: skip
_BOILER_TAGS = frozenset({"nav", "footer", "aside"})
# Class/id words that real CMS templates use for chrome around the article.
_BOILER_WORDS = frozenset(
    "nav navbar navigation menu mainnav subnav topbar footer foot sidebar breadcrumb crumb "
    "crumbs copyright comment comments login toolbar pagination pager".split()
)
# Words that name chrome on some sites but wrap the article on others ("js_img_share_area",
# "related-content"): such a block is chrome only when it is not mostly prose.
_SOFT_BOILER_WORDS = frozenset("share related recommend ad ads advert banner search".split())
# A soft-flagged block holding this much prose, at least half its text, is the article.
_SOFT_PROSE_CHARS, _SOFT_PROSE_SHARE = 200, 0.5
# A certain-chrome block ("nav", "footer") holding this share of the page's text is a
# wrapper of the whole page that a template misnamed.
_WRAPPER_SHARE = 0.7
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
_CHINESE_PUNCT = re.compile(r"[，。！？；：、,.!?;:]")
_SENTENCE_PUNCT = re.compile(r"[，。！？；、,!?;]")  # inside sentences: not a label's colon
_SPACES = re.compile(r"\s+")
_WRAPPED = re.compile(rf"(?<=[{CJK}，。！？；：、”）])\s*\n\s*(?=[{CJK}“（])")
# Page furniture that carries no links: copyright, licence numbers, browser advice.
_BOILER_TEXT = re.compile(
    r"版权所有|ICP备|公网安备|网站标识码|(?:技术支持|主办单位|主办|承办|许可证号?)[:：]|Copyright|©"
    r"|All Rights Reserved|建议使用.{0,12}浏览器|违法和不良信息|新闻信息服务许可",
    re.I,
)
# Paragraphs that open as the site's statements, whatever their length: disclaimers,
# copyright and reprint notices, share and QR-code prompts, related-reading lists.
_NOTICE_START = re.compile(
    r"^[\s【\[（(]*(?:免责声明|版权声明|特别声明|郑重声明|声明[:：]|版权所有|转载声明|"
    r"(?:本网|本站|本文)(?:所载|转载|刊载|声明|仅代表)|扫一扫|扫描二维码|分享到|相关阅读|相关新闻"
    r"|延伸阅读|推荐阅读|上一篇|下一篇)"
)
# Headings that open the furniture after an article.
_CLOSING_HEADING = re.compile(
    r"^[\s【\[]*(?:相关|推荐|热门|热点|猜你|为你|更多|延伸|精彩)\S{0,4}(?:推荐|阅读|新闻|文章|喜欢|资讯|专题|内容|视频)?[\s】\]]*$"
)
_CLOSING_AFTER_SHARE = 0.6
# Short lines that describe the article rather than belong to it.
_META_LINE = re.compile(
    r"^[\s【\[（(]*(?:来源|作者|编辑|责任编辑|责编|发布时间|发布日期|时间|日期|浏览|阅读|点击|字号"
    r"|上一篇|下一篇|附件|标签|查看|回复)\s*[:：]"
    r"|^[\s【\[（(]*(?:记者|通讯员)\s|^\s*(?:当前|您的|所在)?位置\s*[:：]"
    r"|^(?:[\s【\[\]】|｜]*(?:分享到?|打印本页|打印|关闭窗口|关闭|收藏|返回顶部|返回))+[\s】\]]*$"
    r"|来源[:：]|发布时间|发布日期|发布于|浏览次数|点击[:：]|字号[:：]|发表于|责任编辑"
)
_META_LINE_MAX = 80
# A body shorter than this gets a second opinion (see _second_opinion).
_FALLBACK_BELOW = 20
# Lines shorter than this need a punctuation mark to count as prose. (Blogs that write in
# short lines with spaces for commas still add up: their lines are longer than this.)
_SHORT_LINE = 20
_LETTER = re.compile(r"[^\W\d_]")
# A unit this long needs a punctuation mark per this many characters to count as prose.
_UNPUNCTUATED_MIN, _PUNCT_EVERY = 80, 80

_TITLE_SEP = re.compile(
    rf"\s*(?:_{{1,2}}|\|{{1,2}}|｜|—{{1,2}}|–|--|\s-\s|(?<=[{CJK}）》”])-(?=[{CJK}《“]))\s*"
)
_SITE_WORDS = re.compile(
    r"网$|网站|政府|新闻|日报|晚报|论坛|社区|Powered|Discuz|门户|中心|频道|官网|平台|在线|首页"
    r"|电视台|融媒|报社|客户端"
)
_TITLE_CLASS = re.compile(r"title|subject|headline|biaoti|bt", re.I)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NOT_WORD = re.compile(r"[\s\W_]+")
# What a longer copy of the headline adds when it is not the headline: a site or column
# name, a byline ("来源于：..."), a date.
_SEPARATED = re.compile(r"\s*(?:_|\||｜|—|–|-|::|·|>)")
_NOT_EXTENSION = re.compile(
    _SITE_WORDS.pattern + r"|[:：]|\d{1,4}[-/.年月]\d{1,2}|来源|作者|编辑|发布|浏览|点击"
)
# Title texts, in characters; a shorter text held in a longer one agrees with it only when
# it is this share of it (a headline cut at punctuation, not a single word of it).
_TITLE_MIN, _TITLE_MAX, _AGREE_SHARE = 4, 80, 0.4
# Lines above the body searched for its heading.
_HEADING_LOOKBACK = 10

_NAME = rf"([{CJK}·]{{2,12}}|[A-Za-z][A-Za-z .'\-]{{1,30}})"
_NAME_STOP = re.compile(r"(?:通讯员|实习生|摄影|来源|编辑|责任|时间|发布时间|日期|报道|点击|浏览)")
_AUTHOR_LABELS = (
    ("作者", re.compile(rf"作\s*者\s*[:：]\s*{_NAME}")),
    ("记者", re.compile(rf"记者\s*[:：]?\s*{_NAME}")),
    ("文/", re.compile(rf"(?:^|\s)文\s*[/|｜]\s*{_NAME}")),
)
_EDITOR_LABEL = re.compile(rf"(?:责任编辑|编辑|责编)\s*[:：]\s*{_NAME}")
_SOURCE_LABEL = re.compile(
    r"(?<!图片)(?:信息|稿件|文章)?来源\s*[:：]\s*([^\s|｜,，。;；<>()（）]{2,40})"
)
_SOURCE_STOP = re.compile(r"作者|记者|编辑|责任|发布时间|发布日期|时间|日期|点击|浏览|字号|阅读")

_META_TITLE_KEYS = ("articletitle", "og:title", "twitter:title")
_META_TIME_KEYS = (
    "pubdate", "publishdate", "article:published_time", "og:article:published_time",
    "datepublished", "og:release_date", "publish_time", "publishtime", "firstpublishedtime",
    "release_date", "dc.date.issued", "dc.date", "sailthru.date",
)  # fmt: skip
_META_SOURCE_KEYS = ("contentsource", "source")

_FLOOR_WORDS = re.compile(
    r"^(?:楼主|沙发|板凳|地板|地下室|\d+\s*[#楼]|#\d+|回复|引用|举报|只看该作者)$"
)
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
_DATE_HINT = re.compile(r"\d{1,4}[-/.年月]\d{1,2}|[前昨今]天|\d+\s*(?:分钟|小时)前")
# Units around the title that may carry its byline, and how far to look for an unlabelled time.
_BEFORE_TITLE, _AFTER_TITLE, _UNLABELLED_AFTER = 8, 12, 6
# A post series needs at least this many look-alike siblings carrying text and a time.
_MIN_POSTS = 2
_MAX_CLIMB = 12
# Teaser lists: at least this many look-alike items, this share opening with a headline link
# of at least this many characters.
_MIN_TEASERS, _TEASER_SHARE, _MIN_TITLE_CHARS = 3, 0.75, 6
# A teaser is a headline and a blurb; an item longer than this is an article's section.
_MAX_TEASER_CHARS = 300
_TEASER_PARENTS = ("div", "ul", "ol", "section", "td", "dl")
_INLINE_TEASER_TAGS = frozenset({"a", "span", "br", "img", "b", "strong", "em", "i", "font"})
# A sibling of the best block continues the article when it scores this much (and at least
# this share of the best block's score) with at most this share of link text.
_SIBLING_MIN_SCORE, _SIBLING_SHARE, _SIBLING_MAX_LINKS = 20.0, 0.2, 0.3
# Lines between paragraphs shorter than this are labels and buttons, not subheadings.
_INTERIOR_MIN = 4
# Signing lines (落款) after the prose: at most this many, each at most this long.
_SIGNATURE_LINES, _SIGNATURE_MAX = 3, 30
# Comment threads worth cutting have at least this many entries after this much article prose.
_MIN_COMMENTS, _MIN_ARTICLE_BEFORE_COMMENTS = 3, 60


@dataclass
class Article:
    """What could be extracted from one page; ``notes`` says how, and what was missing."""

    url: str
    title: str | None = None
    body: str = ""
    publish_time: datetime | None = None
    # How precisely publish_time is known (year/month/day/minute/second; a coarser one
    # holds the start of its period) and where it came from (see crawler.extraction.published).
    published_precision: str | None = None
    published_source: str | None = None
    written_time: datetime | None = None
    author: str | None = None
    site_source: str | None = None
    method: str = "none"
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Unit:
    """A run of inline text inside one block (a paragraph, a table cell, a <br> line)."""

    block: etree._Element
    text: str
    link_chars: int
    # Chrome-looking blocks around it, with 2 for certain and 1 for maybe (_boiler_level).
    flags: tuple[tuple[etree._Element, int], ...] = ()
    boiler: bool = False
    value: float = 0.0
    # ``block`` and its ancestors up to the root, innermost first: every score and tally
    # over containers walks it, and building it once per block spares a tree walk per unit.
    chain: tuple[etree._Element, ...] = ()


class _Chains:
    """Each element's ancestor chain (itself first), built once per element and shared."""

    def __init__(self) -> None:
        self.known: dict[etree._Element, tuple[etree._Element, ...]] = {}

    def __call__(self, el: etree._Element) -> tuple[etree._Element, ...]:
        known = self.known
        chain = known.get(el)
        if chain is None:
            parent = el.getparent()
            if parent is None:
                chain = (el,)
            else:
                above = known.get(parent)  # mostly known: no call deeper
                chain = (el, *(above if above is not None else self(parent)))
            known[el] = chain
        return chain


def _tokens(el: etree._Element) -> set[str]:
    cls, ident = el.get("class"), el.get("id")
    if cls is None and ident is None:
        return set()
    words = f"{cls or ''} {ident or ''}".lower()
    return {t for t in _TOKEN_SPLIT.split(words) if t}


def _boiler_level(el: etree._Element) -> int:
    """2 for certain chrome (nav, footer, comments), 1 for maybe-chrome, 0 otherwise."""
    if el.tag in _BOILER_TAGS:
        return 2
    if not el.attrib:  # most blocks: nothing to read
        return 0
    tokens = _tokens(el)
    if tokens & _BOILER_WORDS:
        return 2
    return 1 if tokens & _SOFT_BOILER_WORDS or _is_hidden(el) else 0


def _teasers(root: etree._Element) -> set[etree._Element]:
    """Items of teaser lists: three or more look-alike siblings that each open with a
    headline link (a title, then maybe a blurb) — "图片新闻", "相关阅读", recommendation
    boxes. Their blurbs read like prose, so only their shape gives them away."""
    found: set[etree._Element] = set()
    for parent in root.iter(*_TEASER_PARENTS):
        if len(parent) < _MIN_TEASERS:
            continue
        groups: dict[tuple[str, tuple[str, ...]], list[etree._Element]] = {}
        for child in parent:
            tag = child.tag  # each read makes a new string: once per child
            if isinstance(tag, str) and tag not in _INLINE_TEASER_TAGS:
                cls = child.get("class")  # _signature, inlined
                key = (tag, tuple(sorted(cls.split())) if cls else ())
                members = groups.get(key)  # not setdefault: no list made per child
                if members is None:
                    groups[key] = [child]
                else:
                    members.append(child)
        for members in groups.values():
            # Only blocks are looked up as teasers (see _units); other items need no verdict.
            if len(members) >= _MIN_TEASERS and members[0].tag in _BLOCK_TAGS:
                teasers = [m for m in members if _opens_with_headline(m)]
                if len(teasers) >= _TEASER_SHARE * len(members):
                    found.update(teasers)
    return found


_HEADLINE_TAGS = frozenset({"a", "h2", "h3", "h4", "h5", "h6"})


def _opens_with_headline(el: etree._Element) -> bool:
    """A short item whose text starts with a link or a heading of title length."""
    lead = el.text
    if lead and not lead.isspace():
        return False
    # Most teasers are a chain of only children down to a bare link (<li><a>, <dl><dd><a>)
    # with no other text than white space: the link's words are then the whole item's.
    if el.tag not in _HEADLINE_TAGS:
        node = el
        while len(node) == 1:
            node = node[0]
            tail = node.tail
            if tail and not tail.isspace():
                break
            if node.tag in _HEADLINE_TAGS:
                if len(node):
                    break
                headline = _clean(node.text)
                return _MIN_TITLE_CHARS <= len(headline) <= _MAX_TEASER_CHARS
            inner = node.text
            if inner and not inner.isspace():
                break
    # The first link or heading, the item itself included (a loop: lxml's several-tag
    # filter costs more to set up than these few elements take to look at).
    for head in el.iter():
        if head.tag in _HEADLINE_TAGS:
            break
    else:
        return False
    if head is el:
        text = headline = _clean(_text(el))
    else:
        # A link with nothing inside but its words (most headlines): its text is those.
        headline = _clean(_text(head) if len(head) else head.text)
        if len(headline) < _MIN_TITLE_CHARS:
            return False
        text = _clean(_text(el))
    if len(headline) < _MIN_TITLE_CHARS:
        return False
    return len(text) <= _MAX_TEASER_CHARS and text.startswith(headline)


def _units(root: etree._Element) -> list[_Unit]:
    """Split the tree into text units in document order (iteratively: pages nest deeply).

    One pass over the tree, the hottest loop of extraction: a unit's text is gathered in
    ``parts`` until a block or ``<br>`` starts or ends, then cleaned once."""
    teasers = _teasers(root)
    chains = _Chains()
    known = chains.known
    units: list[_Unit] = []
    parts: list[str] = []
    link = 0  # link characters in ``parts``
    blocks: list[etree._Element] = [root]
    flagged: list[tuple[etree._Element, int]] = []  # chrome-looking blocks open now
    flags: tuple[tuple[etree._Element, int], ...] = ()  # the same, as units keep it
    link_depth = 0
    # For _settle_chrome: characters of all units, and of the units under chrome-looking
    # blocks (of which prose) so far; a block's share is the difference between its end
    # and its start.
    page_chars = flagged_chars = flagged_prose = 0
    marks: list[tuple[int, int]] = []  # the two counts when each block of ``flagged`` opened
    closed: list[tuple[etree._Element, int, int, int]] = []  # block, level, chars, prose

    def flush(block: etree._Element) -> None:
        nonlocal parts, link, page_chars, flagged_chars, flagged_prose
        raw = parts[0] if len(parts) == 1 else "".join(parts)
        links, parts, link = link, [], 0
        if raw.isspace():
            return
        if "\n" in raw:  # a line break between two Han characters is no space
            raw = _WRAPPED.sub("", raw)
        text = " ".join(raw.split())  # _clean's result, inlined
        if text:
            chain = known.get(block)
            if chain is None:
                # Most blocks hold one unit and sit in a parent already walked: one step.
                parent = block.getparent()
                if parent is None:
                    chain = known[block] = (block,)
                else:
                    above = known.get(parent) or chains(parent)
                    chain = known[block] = (block, *above)
            units.append(_Unit(block, text, links, flags, chain=chain))
            n = len(text)
            page_chars += n
            if flags:
                flagged_chars += n
                if not links and _CHINESE_PUNCT.search(text):
                    flagged_prose += n

    for action, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if action == "start":
            if tag in _BLOCK_TAGS:
                if parts:
                    flush(blocks[-1])
                blocks.append(el)
                if el in teasers or tag in _BOILER_TAGS:
                    level = 2
                else:
                    level = _boiler_level(el) if el.attrib else 0
                if level:
                    flagged.append((el, level))
                    marks.append((flagged_chars, flagged_prose))
                    flags = tuple(flagged)
            elif tag == "br":
                if parts:
                    flush(blocks[-1])
            elif tag == "a":
                link_depth += 1
            text = el.text
        else:
            if tag in _BLOCK_TAGS:
                if parts:
                    flush(el)
                blocks.pop()
                if flagged and flagged[-1][0] is el:
                    level = flagged.pop()[1]
                    chars, prose = marks.pop()
                    closed.append((el, level, flagged_chars - chars, flagged_prose - prose))
                    flags = tuple(flagged)
            elif tag == "a":
                link_depth -= 1
            text = el.tail
        if text:
            parts.append(text)
            if link_depth:
                link += len("".join(text.split()))
    if parts:
        flags = ()
        flush(root)
    _settle_chrome(units, closed, page_chars)
    return units


def _is_prose(unit: _Unit) -> bool:
    return not unit.link_chars and bool(_CHINESE_PUNCT.search(unit.text))


def _settle_chrome(
    units: Sequence[_Unit], blocks: Iterable[tuple[etree._Element, int, int, int]], page: int
) -> None:
    """Decide which chrome-looking blocks are chrome, by what they hold.

    Class words mislead both ways: "share" wraps the article on some sites, and a template
    may put "nav" on a wrapper of the whole page. A maybe-chrome block is chrome unless it
    is mostly prose; a certain one unless it holds prose and most of the page's text.
    ``blocks`` are the chrome-looking blocks with their level, the characters of their
    units and of those the prose's (units without links, with punctuation); ``page`` is
    the characters of all units.
    """
    verdict: dict[etree._Element, bool] = {}
    for el, level, size, prose in blocks:
        if level == 2:
            verdict[el] = prose < _SOFT_PROSE_CHARS or size < _WRAPPER_SHARE * page
        else:
            verdict[el] = prose < _SOFT_PROSE_CHARS or prose < _SOFT_PROSE_SHARE * size
    shared: dict[int, bool] = {}  # by flags tuple: units of one block share theirs
    get = shared.get
    for unit in units:
        flags = unit.flags
        if flags:
            boiler = get(id(flags))
            if boiler is None:
                # any() over a generator, unrolled: most units have one or two flags.
                boiler = False
                for el, _ in flags:
                    if verdict[el]:
                        boiler = True
                        break
                shared[id(flags)] = boiler
            unit.boiler = boiler


def _unit_value(unit: _Unit) -> float:
    """Positive for article prose, negative for navigation, links and page furniture."""
    text = unit.text
    n = len(text) - text.count(" ")  # its white space is single spaces (see _units)
    if unit.boiler or unit.link_chars > n / 2:
        return -float(n)
    if (len(unit.text) < 120 and _BOILER_TEXT.search(unit.text)) or _NOTICE_START.match(unit.text):
        return -float(n)
    if n < _SHORT_LINE and not _CHINESE_PUNCT.search(unit.text):
        return -0.5 * n
    label = unit.text.endswith((":", "：")) and not _CHINESE_PUNCT.search(unit.text[:-1])
    if label or not _LETTER.search(unit.text):
        # A field label ("索引号：") or a value without a letter of any script (an ID, a date).
        return -0.5 * n
    if n >= _UNPUNCTUATED_MIN and len(_CHINESE_PUNCT.findall(unit.text)) * _PUNCT_EVERY < n:
        # Prose has a mark every sentence; a long run without any is a tag cloud or a list.
        return -0.5 * n
    return n - 2.0 * unit.link_chars


def _container_scores(units: Sequence[_Unit]) -> dict[etree._Element, float]:
    scores: dict[etree._Element, float] = {}
    for unit in units:
        value = unit.value
        for node in unit.chain:
            scores[node] = scores.get(node, 0.0) + value
    return scores


def _signature(el: etree._Element) -> tuple[str, tuple[str, ...]]:
    cls = el.get("class")
    return el.tag, tuple(sorted(cls.split())) if cls else ()


def _post_series(
    best: etree._Element, scores: dict[etree._Element, float]
) -> list[etree._Element] | None:
    """Sibling records (forum posts, replies) around ``best`` that each carry text and a time.

    On a thread every post matters, but the best-scoring block is often a single post because
    the author panels between posts are link-heavy.
    """
    node = best
    for _ in range(_MAX_CLIMB):
        parent = node.getparent()
        if parent is None:
            return None
        signature = _signature(node)
        peers = [c for c in parent if isinstance(c.tag, str) and _signature(c) == signature]
        rich = [c for c in peers if scores.get(c, 0.0) > 0 and _DATE_HINT.search(_text(c))]
        if len(rich) >= _MIN_POSTS and node in rich:
            return rich
        node = parent
    return None


def _record_groups(
    container: etree._Element, scores: dict[etree._Element, float]
) -> Iterable[list[etree._Element]]:
    """Runs of look-alike children that each carry text, a time and a link (an author)."""
    for parent in container.iter():
        groups: dict[tuple[str, tuple[str, ...]], list[etree._Element]] = {}
        for child in parent:
            if isinstance(child.tag, str):
                groups.setdefault(_signature(child), []).append(child)
        for members in groups.values():
            records = [
                m
                for m in members
                if scores.get(m, 0.0) > 0
                and _DATE_HINT.search(_text(m))
                and m.find(".//a") is not None
            ]
            if len(records) >= _MIN_COMMENTS:
                yield records


def _split_comments(
    best: etree._Element,
    scores: dict[etree._Element, float],
    content: list[_Unit],
) -> tuple[list[_Unit], list[etree._Element] | None]:
    """Remove a comment thread that follows the article inside the chosen container.

    Records with their own author and time are the content when they start it (a forum
    thread, returned second) but comments when substantial prose comes before them.
    """
    thread = None
    for records in _record_groups(best, scores):
        members = {el for record in records for el in record.iter()}
        first = next((i for i, u in enumerate(content) if u.block in members), len(content))
        prose = sum(len(u.text) for u in content[:first] if u.link_chars == 0)
        if prose >= _MIN_ARTICLE_BEFORE_COMMENTS:
            return [u for u in content if u.block not in members], None
        thread = thread or records
    return content, thread


def _with_signature(
    units: Sequence[_Unit], members: set[etree._Element], content: list[_Unit]
) -> list[_Unit]:
    """Add the short link-free lines right after the prose: an official document's signing
    body and date (落款), which score low because they have no punctuation."""
    if not content:
        return content
    last = next(i for i, u in enumerate(units) if u is content[-1])
    extra = []
    for unit in units[last + 1 : last + 1 + _SIGNATURE_LINES]:
        if (
            unit.block not in members
            or unit.link_chars
            or unit.boiler
            or len(unit.text) > _SIGNATURE_MAX
            or _BOILER_TEXT.search(unit.text)
        ):
            break
        extra.append(unit)
    return content + extra


def _with_siblings(
    best: etree._Element,
    scores: dict[etree._Element, float],
    units: Sequence[_Unit],
) -> list[etree._Element]:
    """``best`` and the siblings that continue its article.

    An article is often split over sibling containers (paragraph groups, script-paged parts,
    text broken by a figure or table); a sibling joins when it carries prose of its own, as
    a share of the best block's score, and is not a link list.
    """
    parent = best.getparent()
    if parent is None:
        return [best]
    threshold = max(_SIBLING_MIN_SCORE, _SIBLING_SHARE * scores[best])
    link, size = _link_stats(units, parent)
    parts = []
    for sibling in parent:
        if sibling is best:
            parts.append(best)
            continue
        score = scores.get(sibling, 0.0)
        chars = size.get(sibling, 0)
        if score >= threshold and chars and link.get(sibling, 0) < _SIBLING_MAX_LINKS * chars:
            parts.append(sibling)
    return parts


def _link_stats(
    units: Sequence[_Unit], parent: etree._Element
) -> tuple[dict[etree._Element, int], dict[etree._Element, int]]:
    """Link characters and all characters under each child of ``parent``."""
    children = set(parent)
    # A child's chain is one longer than its parent's: the child of ``parent`` above a
    # unit sits at that distance from the root end of the unit's chain.
    length = sum(1 for _ in parent.iterancestors()) + 2
    link: dict[etree._Element, int] = {}
    size: dict[etree._Element, int] = {}
    for unit in units:
        chain = unit.chain
        if len(chain) >= length:
            node = chain[len(chain) - length]
            if node in children:
                size[node] = size.get(node, 0) + len(unit.text)
                link[node] = link.get(node, 0) + unit.link_chars
    return link, size


def _interior(candidates: list[_Unit]) -> list[_Unit]:
    """The prose units, and the short lines between them that are the article's own
    (subheadings, verse, code, captions): furniture only scores them negative."""
    prose = [i for i, u in enumerate(candidates) if u.value > 0]
    if not prose:
        return []
    first, last = prose[0], prose[-1]
    return [
        u
        for i, u in enumerate(candidates)
        if u.value > 0
        or (
            first < i < last
            and len(u.text) >= _INTERIOR_MIN
            and _LETTER.search(u.text) is not None
            and not u.boiler
            and u.link_chars * 2 < len(u.text)
            and not _BOILER_TEXT.search(u.text)
        )
    ]


def _is_closing(unit: _Unit) -> bool:
    return bool(_CLOSING_HEADING.match(unit.text) or _NOTICE_START.match(unit.text))


def _until_closing(content: list[_Unit]) -> list[_Unit]:
    """Cut what follows the article inside its block: a "相关推荐" heading or the site's
    statement starts the page's furniture, once most of the prose is behind it."""
    total = sum(len(u.text) for u in content if u.value > 0)
    seen = 0
    for i, unit in enumerate(content):
        closing = _is_closing(unit)
        # A "延伸阅读" box in the middle of an article has the article's prose after it.
        if closing and seen >= _CLOSING_AFTER_SHARE * total:
            tail = content[i + 1 : i + 4]
            again = bool(tail) and _is_closing(tail[0])  # 免责声明 then 相关推荐: the end
            if again or not any(u.value > 0 and u.link_chars * 2 < len(u.text) for u in tail):
                return content[:i]
        seen += len(unit.text) if unit.value > 0 else 0
    return content


def _select_content(
    units: Sequence[_Unit],
) -> tuple[list[etree._Element] | None, list[_Unit]]:
    """The post records when the page is a thread, and the body units."""
    scores = _container_scores(units)
    best = max(scores, key=lambda el: scores[el], default=None)
    if best is None or scores[best] <= 0:
        return None, []
    posts = _post_series(best, scores)
    if posts:
        members = {el for post in posts for el in post.iter()}
    else:
        members = {el for part in _with_siblings(best, scores, units) for el in part.iter()}
    content = [u for u in units if u.block in members]
    if posts:
        content = [u for u in content if u.value > 0]
    else:
        content = _until_closing(_interior(content))
        content, posts = _split_comments(best, scores, content)
        content = _with_signature(units, members, content)
    return posts, content


def _clean(text: str | None) -> str:
    # The same as collapsing each run of white space (\s+) to one space and stripping the
    # ends: str.split() and re's \s know one set of white space (str.isspace), and this
    # takes a fraction of the regular expression's time.
    return " ".join(text.split()) if text else ""


def _metas(root: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("itemprop")
        content = _clean(meta.get("content"))
        if key and content:
            found.setdefault(key.strip().lower(), content)
    return found


def clean_title(raw: str) -> str:
    """Strip site and column names (``_潼南区人民政府``, `` - 新华网``) from a ``<title>``."""
    parts = [p for p in _TITLE_SEP.split(_clean(raw)) if p]
    if not parts:
        return _clean(raw)
    specific = [p for p in parts if not _SITE_WORDS.search(p)]
    if _SITE_WORDS.search(parts[0]) and specific and len(max(specific, key=len)) > len(parts[0]):
        return max(specific, key=len)
    return parts[0]


def _title_is_generic(raw: str) -> bool:
    parts = [p for p in _TITLE_SEP.split(_clean(raw)) if p]
    return all(_SITE_WORDS.search(p) for p in parts)


def _heading_candidates(root: etree._Element) -> list[etree._Element]:
    out = []
    for el in root.iter("h1", "h2", "h3", "div", "p", "span", "td", "strong", "b"):
        named = el.get("class") is not None or el.get("id") is not None
        if el.tag in ("h1", "h2", "h3") or (
            named and _TITLE_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}")
        ):
            text = _clean(_text(el))
            if 4 <= len(text) <= 120:
                out.append(el)
    return out


@dataclass
class _TitleCandidate:
    text: str
    source: str  # meta, <title>, h1, heading, near body
    element: etree._Element | None = None


@functools.lru_cache(maxsize=4096)
def _squash(text: str) -> str:
    # Cached: every title candidate is compared with every other one.
    return _NOT_WORD.sub("", text)


def _agrees(a: str, b: str) -> bool:
    """Two title texts name the same headline: equal, or one holds the other (a cut or a
    site-suffixed copy) and the shorter is not a mere word of it."""
    x, y = _squash(a), _squash(b)
    if not x or not y:
        return False
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    return short == long or (short in long and len(short) >= _AGREE_SHARE * len(long))


def _near_body_heading(units: Sequence[_Unit], content: Sequence[_Unit]) -> etree._Element | None:
    """The heading just above the article: the closest short, link-free line before the
    body set as a heading (h1-h6, bold, or a title-named block)."""
    if not content:
        return None
    first = next(i for i, u in enumerate(units) if u is content[0])
    for i in range(first, max(first - _HEADING_LOOKBACK, 0) - 1, -1):
        unit, text = units[i], units[i].text
        if unit.link_chars or not _TITLE_MIN <= len(text) <= _TITLE_MAX or unit.boiler:
            continue
        if _DATE_HINT.search(text) or _META_LINE.search(text) or text.endswith(("。", "：", ":")):
            continue
        block = unit.block
        named = block.tag in _HEADING_TAGS or _TITLE_CLASS.search(
            f"{block.get('class', '')} {block.get('id', '')}"
        )
        # The body's own first line counts only when marked as a heading: a bold lead
        # ("（原标题：...）") is not the headline.
        bold = i < first and (block.find(".//b") is not None or block.find(".//strong") is not None)
        if named or (bold and len(text) < _TITLE_MAX // 2):
            return block
    return None


def _title_candidates(
    root: etree._Element,
    metas: dict[str, str],
    raw: str,
    near: etree._Element | None,
) -> list[_TitleCandidate]:
    found: list[_TitleCandidate] = []
    site_name = metas.get("og:site_name") or metas.get("sitename")
    for key in _META_TITLE_KEYS:
        value = metas.get(key)
        if value and value != site_name:
            text = value if key == "articletitle" else clean_title(value)
            found.append(_TitleCandidate(text, "meta"))
    if raw and not _title_is_generic(raw):
        found.append(_TitleCandidate(clean_title(raw), "<title>"))
        # A headline holding a separator ("转载｜...") is cut by clean_title: the raw
        # <title> lets a heading that it starts with agree in full.
        found.append(_TitleCandidate(raw, "raw <title>"))
    for el in _heading_candidates(root):
        text = _clean(_text(el))
        source = "h1" if el.tag == "h1" else "heading"
        if not (source == "h1" and _SITE_WORDS.search(text) and _squash(text) in _squash(raw)):
            found.append(_TitleCandidate(text, source, el))
    if near is not None:
        found.append(_TitleCandidate(_clean(_text(near)), "near body", near))
    return [c for c in found if _TITLE_MIN <= len(c.text) <= _TITLE_MAX * 2]


_ALONE_PRIORITY = {"<title>": 5, "meta": 4, "h1": 3, "near body": 2, "heading": 1, "raw <title>": 0}
_SOURCE_PRIORITY = {
    "near body": 5,
    "h1": 4,
    "meta": 3,
    "heading": 2,
    "<title>": 1,
    "raw <title>": 0,
}


def _find_title(
    root: etree._Element,
    metas: dict[str, str],
    raw: str,
    near: etree._Element | None,
    notes: list[str],
) -> tuple[str | None, etree._Element | None]:
    """Title text and the page element showing it (if found), chosen by agreement.

    Each of <title>, og:title, the <h1>s, title-named headings and the heading just above
    the body votes for the candidates it agrees with (see _agrees); the best supported
    wins. Of agreeing texts the fullest is kept (metas and <title> are often cut at
    punctuation) unless what it adds is a site or column name.
    """
    candidates = _title_candidates(root, metas, raw, near)
    if not candidates:
        if raw:
            notes.append("title from generic <title>")
            return clean_title(raw), None
        return None, None

    def support(c: _TitleCandidate) -> tuple[int, int]:
        # Other sources only: a heading is not evidence for itself under another name.
        sources = {
            o.source.removeprefix("raw ")
            for o in candidates
            if o.source.removeprefix("raw ") != c.source.removeprefix("raw ")
            and (o.element is None or o.element is not c.element)
            and _agrees(c.text, o.text)
        }
        if not sources:  # nothing agrees: trust the page's own <title> first
            return 0, _ALONE_PRIORITY[c.source]
        return len(sources), _SOURCE_PRIORITY[c.source]

    best = max((c for c in candidates if c.source != "raw <title>"), key=support, default=None)
    if best is None:
        return None, None
    chosen = best
    for other in candidates:
        at = other.text.find(chosen.text)
        extra = other.text[at + len(chosen.text) :] if at >= 0 else other.text
        if (
            len(_squash(other.text)) > len(_squash(chosen.text))
            and _agrees(other.text, best.text)
            and not _NOT_EXTENSION.search(extra)
            and not _SEPARATED.match(extra)
        ):
            chosen = other
    notes.append(f"title from {chosen.source} ({support(best)[0]} sources agree)")
    element = chosen.element if chosen.element is not None else best.element
    if element is None:
        element = next(
            (
                c.element
                for c in candidates
                if c.element is not None and _agrees(c.text, chosen.text)
            ),
            None,
        )
    return chosen.text, element


def _anchor(units: Sequence[_Unit], title: str | None, element: etree._Element | None) -> int:
    """Index of the unit showing the title, or -1."""
    for i, unit in enumerate(units):
        if element is not None and element in unit.chain:
            return i
        if element is None and title and unit.text == title:
            return i
    return -1


def _window(units: Sequence[_Unit], start: int, stop: int) -> str:
    return "\n".join(u.text for u in units[max(start, 0) : max(stop, 0)])


def _page_dates(
    metas: dict[str, str],
    jsonld: Sequence[str],
    times: Sequence[str],
    scripts: Sequence[str],
    units: Sequence[_Unit],
    anchor: int,
    url: str,
) -> PageDates:
    byline: list[str] = []
    after: list[str] = []
    if anchor >= 0:
        # The title line itself is left out: "...今天成立了" in a headline is not its date.
        byline = [u.text for u in units[max(anchor - _BEFORE_TITLE, 0) : anchor]]
        byline += [u.text for u in units[anchor + 1 : anchor + _AFTER_TITLE]]
        after = [u.text for u in units[anchor + 1 : anchor + _UNLABELLED_AFTER]]
    return PageDates(
        byline=byline,
        after_title=after,
        meta=[metas[key] for key in _META_TIME_KEYS if metas.get(key)],
        jsonld=_jsonld_dates(jsonld),
        time_elements=times,
        page_text="\n".join(u.text for u in units),
        url=url,
        scripts=scripts,
    )


def _publish_time(dates: PageDates, html: str, now: datetime, notes: list[str]) -> Published | None:
    chosen = choose_published(dates, now=now)
    relative = chosen is not None and chosen.unconfirmed
    if chosen is None or relative:
        # Nothing on the page, or only a relative date ("昨天") that was relative to when
        # the page was rendered: htmldate reads dates from markup and scripts.
        found = _htmldate(html, now, extensive=relative)
        if found is not None:
            chosen = Published(found, "day", "htmldate")
    if chosen is not None:
        notes.append(f"time from {chosen.source} ({chosen.precision})")
    return chosen


def _htmldate(html: str, now: datetime, *, extensive: bool) -> datetime | None:
    from htmldate import find_date

    try:
        found = find_date(
            html,
            outputformat="%Y-%m-%d",
            original_date=True,
            extensive_search=extensive,  # without a hint, its text search is a guess
            min_date="1995-01-01",
            max_date=now.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
        )
    except Exception:  # htmldate has no documented error contract; a fallback must not raise
        return None
    return parse_date(found, now=now)


def _name(match: re.Match[str]) -> str | None:
    name = _NAME_STOP.split(match.group(1))[0].strip(" ·")
    return name if len(name) >= 2 else None


def _author(
    texts: Iterable[str], metas: dict[str, str], site_source: str | None
) -> tuple[str | None, str]:
    lines = list(texts)
    for label, pattern in _AUTHOR_LABELS:
        for line in lines:
            m = pattern.search(line)
            name = _name(m) if m else None
            if name:
                return name, label
    meta_author = metas.get("author")
    if meta_author and meta_author != site_source and "://" not in meta_author:
        return meta_author, "meta author"
    for line in lines:
        m = _EDITOR_LABEL.search(line)
        name = _name(m) if m else None
        if name:
            return name, "编辑"
    return None, ""


def _source(texts: Iterable[str], metas: dict[str, str]) -> str | None:
    for key in _META_SOURCE_KEYS:
        if metas.get(key):
            return metas[key]
    for line in texts:
        m = _SOURCE_LABEL.search(line)
        if m:
            value = _SOURCE_STOP.split(m.group(1))[0].strip("：:")
            if len(value) >= 2:
                return value
    return None


def _forum_author(posts: Sequence[etree._Element], units: Sequence[_Unit]) -> str | None:
    first = posts[0]
    for unit in units:
        if first in unit.chain:
            text = unit.text
            if unit.link_chars and 2 <= len(text) <= 20 and not _FLOOR_WORDS.match(text):
                return text
    return None


def _is_meta_line(unit: _Unit, title: str | None) -> bool:
    text = unit.text
    if text == title:
        return True
    if len(text) > _META_LINE_MAX:
        return False
    if _META_LINE.search(text):
        return True
    # "用户名 3月3日 08:40": a byline of a post or comment, not its text. A bare date line with
    # neither link nor clock time is kept: it is the signing date of an official document.
    date = _DATE_HINT.search(text)
    rest = len(text) - (len(date.group(0)) if date else 0)
    return bool(date) and rest < 24 and bool(unit.link_chars or _CLOCK.search(text))


# A plain lxml tree, not lxml.html's: its elements are made in C, where lxml.html calls back
# into Python for every element the extractor touches (a fifth of the extraction's time).
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)


def _text(el: etree._Element) -> str:
    """All text inside ``el`` (lxml.html's ``text_content``, without its XPath call)."""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _drop_tree(el: etree._Element) -> None:
    """Remove ``el`` and what it holds, keeping its tail text (lxml.html's ``drop_tree``)."""
    parent = el.getparent()
    assert parent is not None
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def _parse(html: str) -> etree._Element | None:
    # lxml refuses str input that still carries an XML encoding declaration.
    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)
    try:
        root = lxml_html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    return root


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _is_hidden(el: etree._Element) -> bool:
    # Hidden blocks hold SEO keyword dumps and closed pop-ups, but also the later pages of an
    # article paged by script: chrome unless they are prose (see _settle_soft_chrome).
    style = el.get("style")
    return (style is not None and bool(_HIDDEN_STYLE.search(style))) or (
        el.get("hidden") is not None or el.get("aria-hidden") == "true"
    )


def _drop_furniture(root: etree._Element) -> None:
    for el in list(root.iter(*_DROP_TAGS)):
        if el.getparent() is not None:
            _drop_tree(el)


def extract(html: str, url: str, *, now: datetime) -> Article:
    """Extract an :class:`Article` from decoded HTML. Never raises; see ``notes`` for why a
    field is missing. ``now`` anchors relative and year-less dates."""
    # Extraction makes tens of thousands of short-lived objects (element proxies, units,
    # tallies) and no reference cycles: Python's cyclic collector, run again and again
    # meanwhile, finds nothing and took a fifth of the time. It runs after the page.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _extract(html, url, now=now)
    finally:
        if paused:
            gc.enable()


def _extract(html: str, url: str, *, now: datetime) -> Article:
    article = Article(url=url)
    notes = article.notes
    if not html or not html.strip():
        notes.append("empty document")
        return article
    if len(html) > MAX_HTML_CHARS:
        notes.append(f"input truncated to {MAX_HTML_CHARS} characters")
        html = html[:MAX_HTML_CHARS]
    root = _parse(html)
    if root is None:
        notes.append("unparseable document")
        return article

    metas = _metas(root)
    title_el = root.find(".//title")
    raw_title = _clean(_text(title_el)) if title_el is not None else ""
    scripts = [s for s in root.iter("script") if s.get("type") == "application/ld+json"]
    jsonld = [etree.tostring(s, method="text", encoding="unicode") for s in scripts]
    script_texts = [s.text for s in root.iter("script") if s.text and s not in scripts]
    times = [t.get("datetime") or _text(t) for t in root.iter("time")]
    _drop_furniture(root)
    body_root = root.find("body")
    units = _units(body_root if body_root is not None else root)
    for unit in units:
        unit.value = _unit_value(unit)
    posts, content_units = _select_content(units)
    near = None if posts else _near_body_heading(units, content_units)
    title, title_el = _find_title(root, metas, raw_title, near, notes)
    article.title = title
    anchor = _anchor(units, title, title_el)
    if posts:
        article.method = "posts"
    elif content_units:
        article.method = "density"
    body_lines = [u.text for u in content_units if not _is_meta_line(u, title)]
    article.body = "\n".join(body_lines)
    if len(article.body) < _FALLBACK_BELOW and not posts:
        _second_opinion(article, units, html, title)
    if not article.body:
        notes.append("no body found")

    dates = _page_dates(metas, jsonld, times, script_texts, units, anchor, url)
    published = _publish_time(dates, html, now, notes)
    if published is None:
        notes.append("no publish time found")
    else:
        article.publish_time = published.value
        article.published_precision = published.precision
        article.published_source = published.source
    article.written_time = find_gov_dates(dates.page_text, now=now).written

    byline = _bylines(units, anchor, content_units)
    article.site_source = _source(byline, metas)
    author, how = _author(byline, metas, article.site_source)
    if posts and author is None:
        author, how = _forum_author(posts, units), "first post"
    article.author = author
    if how:
        notes.append(f"author from {how}")
    return article


def _body_quality(text: str, title: str | None) -> float:
    """How much a candidate body reads like an article: punctuated lines count, the site's
    statements, labels and the title count against it."""
    score = 0.0
    for line in text.split("\n"):
        n = len(_SPACES.sub("", line))
        if line == title or _NOTICE_START.match(line) or _BOILER_TEXT.search(line):
            score -= n
        elif len(line) <= _META_LINE_MAX and _META_LINE.search(line):
            score -= n  # a byline or a label ("发布时间：..."), not the article
        elif _SENTENCE_PUNCT.search(line) and n >= _SHORT_LINE // 2:
            score += n
    return score


def _class_blind_body(units: Sequence[_Unit], title: str | None) -> str:
    """Density scoring again with class names and chrome tags ignored: for an article that
    a template wrapped in a block named like furniture ("comment-box", "footer-text")."""
    blind = [_Unit(u.block, u.text, u.link_chars, chain=u.chain) for u in units]
    for unit in blind:
        unit.value = _unit_value(unit)
    _, content = _select_content(blind)
    return "\n".join(u.text for u in content if not _is_meta_line(u, title))


def _readability_body(html: str, title: str | None) -> str:
    from readability import Document

    try:
        summary = Document(html).summary(html_partial=True)
    except Exception:  # readability raises bare Unparseable/ValueError on junk input
        return ""
    fragment = _parse(f"<html><body>{summary}</body></html>")
    if fragment is None:
        return ""
    units = _units(fragment.find("body"))
    kept = [u for u in units if not _is_meta_line(u, title) and not _NOTICE_START.match(u.text)]
    return "\n".join(u.text for u in kept)


def _second_opinion(article: Article, units: Sequence[_Unit], html: str, title: str | None) -> None:
    """When density scoring found nothing or next to nothing, two other readings get a say:
    density blind to class names, and readability-lxml (paragraph scoring); the body that
    reads most like an article wins (see _body_quality), ours on a tie. Only on such
    pages: readability costs several times our own pass."""
    best, best_score = article.body, max(_body_quality(article.body, title), 0.0)
    for method, read in (
        ("class-blind density", lambda: _class_blind_body(units, title)),
        ("readability-lxml", lambda: _readability_body(html, title)),
    ):
        other = read()
        score = _body_quality(other, title)
        if score > best_score:
            best, best_score = other, score
            article.method = method
            article.notes.append(f"body from {method} (density found too little)")
        if len(best) >= _FALLBACK_BELOW:
            break
    article.body = best


def _jsonld_dates(blobs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for blob in blobs:
        try:
            data = json.loads(blob)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                out.append(item["datePublished"])
    return out


def _bylines(units: Sequence[_Unit], anchor: int, content: Sequence[_Unit]) -> list[str]:
    """Texts that may carry the byline: around the title, then the article's last lines."""
    lines: list[str] = []
    if anchor >= 0:
        lines.extend(u.text for u in units[max(anchor - _BEFORE_TITLE, 0) : anchor + _AFTER_TITLE])
    if content:
        last = next(i for i, u in enumerate(units) if u is content[-1])
        lines.extend(u.text for u in units[last + 1 : last + 6])
        lines.extend(u.text for u in content if len(u.text) <= _META_LINE_MAX)
    return lines


def extract_bytes(
    body: bytes, url: str, *, now: datetime, content_type: str | None = None
) -> Article:
    """Decode an HTTP body (see :func:`crawler.encoding.decode_body`) and extract it."""
    decoded = decode_body(body, content_type)
    if not decoded.is_text:
        return Article(url=url, notes=[f"not text ({decoded.method})"])
    article = extract(decoded.text, url, now=now)
    article.encoding = decoded.encoding
    article.notes.append(
        f"decoded as {decoded.encoding} ({decoded.method}), "
        f"{decoded.replacement_share:.2%} replacement characters"
    )
    return article
