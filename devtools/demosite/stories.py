"""Hand-written stories the monitor must get right: incidents, reposts, decoys, forum threads.

Times are fixed (not drawn from the seed) so tests can name them; place names are real
潼南 towns, the events are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import SHANGHAI, Draft, Post, Thread


def _t(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Repost:
    """The same story republished elsewhere with small edits."""

    section: str
    title: str
    source: str
    author: str | None
    after: timedelta
    lead: str = ""
    tail: str = ""
    replace: tuple[tuple[str, str], ...] = ()
    encoding: str = "utf-8"
    declared_charset: str | None = "utf-8"

    def body_from(self, original: str) -> str:
        """The original body with this repost's edits applied."""
        body = original
        for old, new in self.replace:
            body = body.replace(old, new)
        return "\n".join(p for p in (self.lead, body, self.tail) if p)


@dataclass(frozen=True)
class Story:
    """A seeded article at a fixed time, with the reposts that follow it."""

    draft: Draft
    published: datetime
    reposts: tuple[Repost, ...] = ()


FIRE = Story(
    Draft(
        title="潼南区双江镇一临街门面发生火灾 消防救援人员及时处置未造成人员伤亡",
        body="\n".join(
            (
                "2月3日22时许，潼南区双江镇老街一临街门面发生火灾。接到报警后，区消防救援支队迅速调派"
                "3辆消防车、18名指战员赶赴现场处置。",
                "据现场目击群众介绍，起火门面为一家经营日用百货的商铺，火势从一楼库房蔓延至二楼，现场浓烟较大。",
                "消防救援人员到场后立即设置警戒、疏散周边群众，并出动两支水枪堵截火势。经过约40分钟扑救，"
                "明火于22时50分被扑灭，火灾未造成人员伤亡。",
                "目前，火灾原因正在进一步调查中。区应急管理局提醒广大商户，要定期检查电气线路，"
                "不在库房内私拉乱接电线，发现火情及时拨打119报警。",
            )
        ),
        author="记者 唐婷婷",
        encoding="gbk",
        declared_charset=None,
        kind="relevant",
        topics=("火灾",),
    ),
    _t(2, 4, 8, 20),
    (
        Repost(
            section="shehui",
            title="转载｜双江镇老街一门面深夜起火 所幸无人受伤",
            source="潼南网",
            author="编辑 谢磊",
            after=timedelta(hours=3),
            tail="（本文转自潼南区融媒体中心，原标题《潼南区双江镇一临街门面发生火灾"
            " 消防救援人员及时处置未造成人员伤亡》）",
            replace=(("约40分钟", "40分钟左右"),),
        ),
        Repost(
            section="zwgk",
            title="【转载】双江镇一临街门面发生火灾 消防救援人员及时处置",
            source="区应急管理局",
            author=None,
            after=timedelta(days=1, hours=1),
            lead="编者按：近期天气干燥，火灾风险上升，现将有关情况转发如下，请各单位引以为戒。",
            encoding="gbk",
            declared_charset="gbk",
        ),
    ),
)

EPIDEMIC = Story(
    Draft(
        title="潼南区疫情防控指挥部：桂林街道排查密切接触者1人 已落实集中隔离",
        body="\n".join(
            (
                "2月2日，记者从潼南区新冠肺炎疫情防控指挥部获悉，经大数据比对和流调排查，"
                "在桂林街道排查出外地通报的无症状感染者密切接触者1人。",
                "该人员已于当日被转运至集中隔离点进行医学观察，首次核酸检测结果为阴性。"
                "其居住的小区已开展环境采样和消杀工作，相关样本检测结果均为阴性。",
                "指挥部表示，目前我区尚无本地确诊病例，疫情形势总体平稳，请广大市民不信谣、不传谣，"
                "以官方发布信息为准。",
                "春节临近，请近期有外地旅居史的返潼人员主动向所在社区报备，坚持戴口罩、勤洗手、少聚集。",
            )
        ),
        author="记者 陈静",
        kind="relevant",
        topics=("疫情",),
    ),
    _t(2, 2, 19, 45),
    (
        Repost(
            section="shehui",
            title="转载：桂林街道排查出1名密切接触者 已集中隔离 检测结果阴性",
            source="潼南日报",
            author="编辑 林佳",
            after=timedelta(hours=2),
            tail="相关链接：全区发热门诊名单可在区卫生健康委网站查询。",
            replace=(("记者从", "从"),),
        ),
    ),
)

PETITION = Story(
    Draft(
        title="上和镇二十余名村民到区信访办反映征地补偿问题 区里现场协调",
        body="\n".join(
            (
                "1月28日上午，上和镇某村二十余名村民到潼南区信访办集体上访，"
                "反映村道拓宽工程征地补偿款迟迟未发放的问题。",
                "区信访办工作人员将群众引导至接待室，听取村民代表意见，"
                "并第一时间联系区交通局、上和镇政府相关负责人到场。",
                "经现场核实，该工程补偿资金已拨付至镇财政，因部分农户土地面积存在争议尚未兑付。"
                "镇政府当场承诺在十个工作日内完成复核，分批发放补偿款。",
                "村民代表李永福表示，对处理结果基本满意，将配合做好后续测量工作。",
            )
        ),
        author="记者 郭建国",
        encoding="gbk",
        declared_charset="gbk",
        kind="relevant",
        topics=("信访",),
    ),
    _t(1, 28, 16, 0),
)

PETITION_REPORT = Story(
    Draft(
        title="潼南区信访办关于2021年1月全区信访事项办理情况的通报",
        body="\n".join(
            (
                "1月份，全区共受理群众信访事项136件，其中来信31件、来访42批次、网上信访63件，"
                "按期受理率、按期办结率均为100%。",
                "从反映问题看，主要集中在征地拆迁补偿、农民工工资支付、物业管理等方面。"
                "其中，上和镇、双江镇信访量位居前列，重复信访有所上升。",
                "各镇街、各部门要压紧压实信访工作责任，对群众反映的合理诉求要及时就地解决，"
                "对越级上访、重复上访问题要逐件分析原因，落实包案化解措施。",
            )
        ),
        source="区信访办",
        author=None,
        section="zwgk",
        encoding="gbk",
        declared_charset="gbk",
        kind="relevant",
        topics=("信访",),
    ),
    _t(2, 3, 9, 0),
)

FOOD = Story(
    Draft(
        title="大佛街道一餐馆因食品安全问题被责令停业整改",
        body="\n".join(
            (
                "近日，潼南区市场监管局执法人员在大佛街道开展食品安全专项检查时发现，"
                "辖区一家餐馆后厨存在使用过期调味料、生熟食品混放等问题。",
                "执法人员当场查扣过期食品原料12公斤，并依据《中华人民共和国食品安全法》相关规定，"
                "责令该餐馆停业整改，案件正在进一步调查处理中。",
                "此前，有市民通过12315热线反映，在该餐馆就餐后出现腹泻症状。区市场监管局接到投诉后立即组织核查。",
                "区市场监管局提醒，消费者发现食品安全问题可拨打12315投诉举报，"
                "餐饮经营者要严格落实进货查验和食品留样制度。",
            )
        ),
        author="记者 马俊",
        # UTF-8 bytes under a gb2312 declaration, as on sites whose CMS was migrated carelessly.
        declared_charset="gb2312",
        kind="relevant",
        topics=("食品安全",),
    ),
    _t(2, 1, 11, 20),
)

FIRE_DRILL = Story(
    Draft(
        title="潼南区消防救援支队走进梓潼街道开展高层建筑消防演练",
        body="\n".join(
            (
                "1月26日下午，潼南区消防救援支队联合梓潼街道在辖区一高层住宅小区开展消防演练。",
                "演练模拟小区12楼一住户家中发生火灾，物业微型消防站率先处置，随后消防救援人员利用"
                "云梯车开展高空救援，并组织居民有序疏散。",
                "演练结束后，消防员为居民讲解了灭火器使用方法和火场逃生技巧，"
                "并提醒大家不要在楼道堆放杂物、不要在室内为电动自行车充电。",
            )
        ),
        author="记者 徐宇",
        kind="decoy",
    ),
    _t(1, 26, 15, 30),
)

EPIDEMIC_DRILL = Story(
    Draft(
        title="双江镇开展疫情防控应急处置演练",
        body="\n".join(
            (
                "为检验突发情况下的应急处置能力，1月22日，双江镇组织开展疫情防控应急处置演练。",
                "演练模拟镇卫生院预检分诊发现一名发热患者，工作人员按流程开展信息报告、"
                "人员转运、环境消杀等工作。",
                "镇相关负责人表示，将针对演练中发现的问题进一步完善预案，确保春节期间各项工作有序开展。",
            )
        ),
        section="shehui",
        author="通讯员 何春燕",
        kind="decoy",
    ),
    _t(1, 22, 17, 10),
)

XSS_SCRIPT = Story(
    Draft(
        title="<script>alert(1)</script>",
        body="\n".join(
            (
                "本条稿件的标题是一段脚本代码，用于检验采集和展示环节是否把标题当作纯文本处理。",
                "如果你在页面上看到了弹窗，说明某处没有正确转义。",
            )
        ),
        author="编辑 测试",
        kind="xss",
    ),
    _t(1, 15, 9, 0),
)

XSS_IMG = Story(
    Draft(
        title="城区路灯维护说明<img src=x onerror=alert(1)>",
        body="\n".join(
            (
                "近期城区部分路段路灯将分批检修，检修期间夜间照明可能受到影响。",
                "网友留言原文如下：<img src=x onerror=alert(1)> 请问什么时候修好？",
            )
        ),
        section="shehui",
        author="编辑 测试",
        kind="xss",
    ),
    _t(1, 16, 9, 0),
)

# 𠮷 is a four-byte GB18030 sequence and 䶮 has no GBK mapping: a GBK decoder must fail here.
GB18030 = Story(
    Draft(
        title="崇龛镇竹编艺人王䶮：一根篾条编出“𠮷”祥年味",
        body="\n".join(
            (
                "在崇龛镇的一间老屋里，六十多岁的竹编艺人王䶮正低头忙碌，手中的篾条上下翻飞，"
                "不一会儿，一只精巧的竹篮便初具雏形。",
                "王䶮的“䶮”字不常见，村里人干脆叫他“龙师傅”。他从十五岁起跟随父亲学习竹编，至今已有四十多年。",
                "临近春节，他特意编了一批带有“𠮷”字纹样的果篮。“这是老辈人写‘吉’的一种写法，寓意吉祥。”王䶮说。",
                "如今，王䶮的竹编作品通过网络销往全国各地，他还在镇文化服务中心开设了免费培训班，已带出徒弟二十多人。",
            )
        ),
        section="shehui",
        author="记者 罗丽",
        encoding="gb18030",
        declared_charset="gbk",
    ),
    _t(1, 30, 10, 0),
)

STORIES = (
    FIRE, EPIDEMIC, PETITION, PETITION_REPORT, FOOD, FIRE_DRILL, EPIDEMIC_DRILL,
    XSS_SCRIPT, XSS_IMG, GB18030,
)  # fmt: skip

REPORT_TITLE = "关于2020年度法治政府建设情况的报告"
REPORT_TIME = _t(2, 1, 16, 0)


def _posts(*rows: tuple[str, datetime, str]) -> tuple[Post, ...]:
    return tuple(Post(i + 1, author, time, text) for i, (author, time, text) in enumerate(rows))


THREADS = (
    Thread(
        1001,
        "双江镇老街那边是不是着火了？烟好大",
        _posts(
            ("老街坊阿勇", _t(2, 3, 22, 18),
             "刚在楼顶看到老街方向冒浓烟，还听到消防车在响，有没有住那边的说下情况？"),
            ("双江小鱼", _t(2, 3, 22, 25),
             "是老街口那家卖百货的门面，二楼都烧起来了，消防来了好几台车。"),
            ("潼南吃货", _t(2, 3, 22, 41), "希望没人受伤，那一排都是老房子，电线乱得很。"),
            ("江边钓客", _t(2, 3, 23, 5), "火已经灭了，听说人都跑出来了，没有伤亡。"),
            ("版主-涪江", _t(2, 4, 8, 30),
             "官方已通报：明火于22时50分扑灭，未造成人员伤亡，起火原因正在调查。请大家以官方信息为准。"),
        ),
        kind="relevant",
        topics=("火灾",),
    ),
    Thread(
        1002,
        "网传梓潼街道有小区被封了，真的假的？",
        _posts(
            ("路过打酱油", _t(2, 2, 12, 40),
             "家族群里都在转，说梓潼街道某小区有人确诊，整个小区都封了，还说要封城，是真的吗？"),
            ("梓潼居民", _t(2, 2, 12, 52), "我就住梓潼，小区门口一切正常，没看到封。别乱传。"),
            ("小马哥", _t(2, 2, 13, 15),
             "听说是密接，不是确诊，这次疫情离我们不远，大家还是注意点。"),
            ("版主-涪江", _t(2, 2, 20, 5),
             "区疫情防控指挥部已发布消息：排查出密切接触者1人，已集中隔离，核酸阴性，目前无本地确诊病例。"
             "网传“封城”消息不实，请勿转发。"),
        ),
        kind="relevant",
        topics=("疫情",),
    ),
    Thread(
        1003,
        "潼南哪家柠檬鱼最地道？求推荐",
        _posts(
            ("爱吃鱼的猫", _t(1, 20, 19, 2),
             "周末朋友来潼南耍，想带他们吃柠檬鱼，大家有推荐的没？"),
            ("潼南吃货", _t(1, 20, 19, 30), "滨江路那边有几家，酸辣味道正宗，去早点不用排队。"),
            ("老街坊阿勇", _t(1, 21, 8, 12), "双江古镇里面也有，吃完还能逛古镇，一举两得。"),
        ),
    ),
    Thread(
        1004,
        "周末带娃去大佛寺，停车方便不",
        _posts(
            ("奶爸老周", _t(1, 24, 21, 45), "第一次带娃去大佛寺，听说节假日人多，停车方便吗？"),
            ("大佛街道小王", _t(1, 24, 22, 3), "景区门口有停车场，周末上午十点前去基本有位置。"),
        ),
    ),
)  # fmt: skip

# Scheduled arrivals mix in these incidents; each is followed by a repost of itself.
SCHEDULED_INCIDENTS = (
    Draft(
        title="潼南区塘坝镇一废品收购站发生火灾 现场浓烟滚滚",
        body="\n".join(
            (
                "今日下午，潼南区塘坝镇场镇外一处废品收购站突发火灾，堆放的纸板和塑料瓶燃烧产生大量浓烟。",
                "区消防救援支队接警后调派力量赶赴现场，目前明火已被扑灭，暂无人员伤亡报告。",
                "起火原因正在调查中。",
            )
        ),
        author="记者 孙磊",
        kind="relevant",
        topics=("火灾",),
    ),
    Draft(
        title="柏梓镇部分学生午餐后出现不适 区市场监管局介入调查食品安全问题",
        body="\n".join(
            (
                "今日，柏梓镇一所小学部分学生午餐后出现呕吐、腹痛等症状，已被送往镇卫生院观察治疗，目前情况稳定。",
                "区市场监管局、区教委已介入调查，对学校食堂留样食品进行抽检，并暂停该食堂供餐。",
                "区里表示，将根据检测结果依法依规处理，并进一步加强校园食品安全监管。",
            )
        ),
        author="记者 赵雪梅",
        encoding="gbk",
        declared_charset="gbk",
        kind="relevant",
        topics=("食品安全",),
    ),
    Draft(
        title="田家镇群众到区信访办反映养殖场污染问题",
        body="\n".join(
            (
                "今日上午，田家镇十余名群众来到潼南区信访办，反映村内一处养猪场污水直排、气味刺鼻的问题。",
                "区信访办已将有关情况转交区生态环境局、田家镇政府调查处理，并要求限期答复群众。",
            )
        ),
        author="记者 郑浩",
        kind="relevant",
        topics=("信访",),
    ),
)

SCHEDULED_REPOST = Repost(
    section="shehui",
    title="转载：{title}",
    source="潼南网",
    author="编辑 谢磊",
    after=timedelta(0),
    tail="（来源：潼南区融媒体中心）",
)
