"""A generated news stream for measuring discovery: a quiet baseline of everyday local news
in a watched district (and some from elsewhere), and optionally a new incident named by a
new term that appears on a known day. Seeded: the same seed gives the same stream.

Used by ``bench/discovery.py`` (recall over trials, noise in a quiet week, run time on
100k baseline items) and by the tests of :mod:`monitor.discovery`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keywords.matcher import Matcher
from keywords.model import Library
from rules.tokens import index_text
from store.model import Item

TOWNS = """桂林街道 梓潼街道 双江镇 上和镇 花岩镇 崇龛镇 古溪镇 宝龙镇 玉溪镇 米心镇 群力镇
    别口镇""".split()
ELSEWHERE = "合川区 铜梁区 大足区 遂宁市 安岳县".split()
SUBJECTS = "居民 村民 学校 医院 企业 商户 社区 合作社 志愿者 环卫工人 老人 学生 家长 司机".split()
ACTS = """召开会议 开展培训 举办活动 完成验收 启动建设 组织演练 发放补贴 开展检查 推进改造
    举行仪式 开展义诊 组织宣讲 完成招标 开通线路 举办比赛 开展走访""".split()
OBJECTS = """道路 桥梁 农田 柑橘 水厂 菜市场 公交站 幼儿园 养老院 文化广场 污水管网 电网 产业园
    稻田 鱼塘 茶园 花椒 柠檬 公园 停车场""".split()
CLAUSES = [
    "{town}{subject}{act}，{object}相关工作有序推进。",
    "近日，{town}围绕{object}{act}，{subject}积极参与。",
    "{town}的{object}项目{act}，预计年内完工。",
    "{subject}反映{town}{object}问题，相关单位{act}。",
    "据了解，{town}今年以来共{act}十余次，覆盖{subject}上千人次。",
    "{town}{object}{act}后，{subject}表示满意。",
]
TITLES = [
    "{town}{act}",
    "{town}{object}{act}",
    "{town}：{subject}{act}",
    "{object}建设：{town}{act}",
]
BOILERPLATE = "（来源：潼南发布 责任编辑：刘洋）"
# Characters new terms are made of: real-looking, and never written together in the
# everyday vocabulary above.
_NEW = "蓝翠琉珀澜漾璟翎霁岚汐珑瑶琪芮溪渝澈曦"
_SUFFIX = ["湾", "坝", "沟", "岭", "坪", "哥", "姐", "桥", "巷"]
# A new kind of trouble: some reports name the known word (拆迁), most only the new term,
# so the rule watching 拆迁 sees part of it and adding the term would catch the rest.
INCIDENT = [
    "{term}多名{subject}聚集讨说法，{town}派出工作组。",
    "网传{term}现场视频，{town}回应称正在处置。",
    "{term}拆迁纠纷后续：{subject}情绪稳定。",
    "关于{term}事件的情况通报",
    "{term}的{subject}连夜聚集，诉求仍未解决。",
]


def library() -> Library:
    """The library the stream is watched with: the district as a region group, an
    incident group and a rule, so the new term has a group to fit."""
    return Library.model_validate(
        {
            "groups": [
                {"name": "潼南", "category": "region", "words": ["潼南", *TOWNS]},
                {"name": "灾害", "category": "event", "words": ["塌方", "滑坡", "洪水", "火灾"]},
                {"name": "民生", "category": "subject", "words": ["欠薪", "拆迁"]},
            ],
            "rules": [
                {"name": "潼南灾害", "expression": "@潼南 AND @灾害 AND NOT 演练"},
                {"name": "潼南民生", "expression": "@潼南 AND @民生"},
            ],
        }
    )


@dataclass
class World:
    seed: int
    start: datetime  # the first day's start
    days: int
    per_day: int
    incident_day: int | None = None  # day index the new term appears on
    incident_items: int = 10
    term: str = ""
    items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        if self.incident_day is not None:
            self.term = "".join(rng.sample(_NEW, 2)) + rng.choice(_SUFFIX)

    def stream(self) -> Iterator[Item]:
        rng = random.Random(self.seed * 7919 + 1)
        n = 0
        for day in range(self.days):
            # Some days a topic is in the news more (a campaign, a season): the quiet
            # baseline is not flat, as real news is not.
            hot = rng.choice(OBJECTS)
            for _ in range(self.per_day):
                n += 1
                yield self._everyday(rng, day, n, hot)
            if day == self.incident_day:
                event = f"incident-{self.seed}"
                for k in range(self.incident_items):
                    n += 1
                    yield self._incident(rng, day, n, k, event)

    def _when(self, rng: random.Random, day: int) -> datetime:
        return self.start + timedelta(days=day, seconds=rng.randrange(86_400))

    def _fill(self, rng: random.Random, template: str, hot: str = "", **extra: str) -> str:
        obj = hot if hot and rng.random() < 0.1 else rng.choice(OBJECTS)
        town = rng.choice(TOWNS) if rng.random() < 0.85 else rng.choice(ELSEWHERE)
        return template.format(
            town=town,
            subject=rng.choice(SUBJECTS),
            act=rng.choice(ACTS),
            object=obj,
            **extra,
        )

    def _everyday(self, rng: random.Random, day: int, n: int, hot: str) -> Item:
        title = self._fill(rng, rng.choice(TITLES), hot)
        body = "".join(self._fill(rng, rng.choice(CLAUSES), hot) for _ in range(4)) + BOILERPLATE
        # A few stories are reposted: near-duplicate clusters of the quiet days.
        event = f"e{self.seed}-{n // 3}" if rng.random() < 0.2 else None
        return self._item(n, title, body, self._when(rng, day), rng, event)

    def _incident(self, rng: random.Random, day: int, n: int, k: int, event: str) -> Item:
        town = rng.choice(TOWNS)
        title = self._fill(rng, INCIDENT[k % len(INCIDENT)], term=self.term)
        lead = f"{town}，"
        body = (
            lead
            + "".join(self._fill(rng, t, term=self.term) for t in rng.sample(INCIDENT, 2))
            + self._fill(rng, rng.choice(CLAUSES))
            + BOILERPLATE
        )
        return self._item(n, title, body, self._when(rng, day), rng, event)

    def _item(
        self, n: int, title: str, body: str, when: datetime, rng: random.Random, event: str | None
    ) -> Item:
        return Item(
            url=f"http://news.example.cn/w{self.seed}/{n}.html",
            title=title,
            body=body,
            first_seen=when,
            source_id=rng.choice(["tongnan-news", "tongnan-gov", "forum"]),
            norm_title=index_text(title),
            norm_body=index_text(body),
            event_id=event,
        )

    def end_of(self, day: int) -> datetime:
        return self.start + timedelta(days=day + 1)


def matched(items: list[Item], library: Library) -> list[Item]:
    """``items`` with the rules of ``library`` that match them, as the monitor stores them."""
    matcher = Matcher(library)
    for item in items:
        item.rules = matcher.match(item.title, item.body).rules
    return items
