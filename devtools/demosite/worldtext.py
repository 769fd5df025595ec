"""Text templates of the demo world (:mod:`devtools.demosite.world`).

Written for this project; places are real 潼南 towns, every event is invented. Slots are
``str.format`` fields filled by the world: ``{town}``, ``{place}``, ``{name}``, ``{k}``
(a small number), ``{n}`` (a larger one), ``{hm}`` (the time of day, "14时20分"),
``{md}`` (the date, "12月2日"), ``{district}`` (another district of 重庆).

An incident is a first report (which reposts copy with a lead or a tail added, so the
service clusters them into one growing event), a forum thread with replies, and follow-ups
(new text: new events of the same story).
"""

from __future__ import annotations

from dataclasses import dataclass

# Words of the sample library's event groups: ordinary news must not contain them.
TOPIC_WORDS = (
    "疫情", "确诊", "核酸", "新冠", "火灾", "起火", "失火", "爆炸", "坍塌", "垮塌", "塌方",
    "溺水", "中毒", "遇难", "车祸", "泄漏", "触电", "坠落", "上访", "信访", "维权", "横幅",
)  # fmt: skip

# Where incidents happen: the district's towns and streets.
TOWNS = (
    "双江镇", "宝龙镇", "梓潼街道", "桂林街道", "柏梓镇", "米心镇", "太安镇", "别口镇",
    "田家镇", "上和镇", "龙形镇", "古溪镇", "塘坝镇", "卧佛镇", "五桂镇", "小渡镇",
    "玉溪镇", "花岩镇", "崇龛镇", "大佛街道",
)  # fmt: skip

CITIZENS = (
    "涪江边的风", "老街坊阿勇", "双江小鱼", "潼南吃货", "江边钓客", "梓潼居民",
    "路过打酱油", "柠檬树下", "奶爸老周", "大佛寺脚下", "小马哥", "桂林街道老王",
)  # fmt: skip
MODERATOR = "版主-涪江"


@dataclass(frozen=True)
class Text:
    """A title and its paragraphs (templates)."""

    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Repost:
    """The first report again, on another channel after ``after`` minutes."""

    channel: str
    after: int
    title: str  # {title} is the original title
    source: str
    lead: str = ""
    tail: str = ""


@dataclass(frozen=True)
class FollowUp:
    """A later report with text of its own."""

    channel: str
    after: int
    text: Text


@dataclass(frozen=True)
class Incident:
    """One kind of incident and how it develops."""

    kind: str
    places: tuple[str, ...]
    report: Text
    reposts: tuple[Repost, ...]
    thread: tuple[str, tuple[str, ...]]  # title, posts (the first is the opening post)
    reply_minutes: tuple[int, ...]  # when the replies after the first post come
    followups: tuple[FollowUp, ...]


REPOST_SHEHUI = Repost(
    "shehui", 4, "转载｜{title}", "潼南网", tail="（来源：潼南区融媒体中心，记者 {name}）"
)
REPOST_KUAIXUN = Repost("kuaixun", 7, "【快讯】{title}", "潼南发布", lead="潼南发布消息：")
REPOST_GOV = Repost(
    "zwgk",
    15,
    "【转发】{title}",
    "区应急管理局",
    lead="编者按：现将有关情况转发如下，请各镇街、各部门引以为戒，切实做好安全防范工作。",
)

INCIDENTS: tuple[Incident, ...] = (
    Incident(
        "火灾",
        ("临街门面", "居民楼", "废品收购站", "农家乐", "木材加工厂"),
        Text(
            "潼南区{town}一{place}起火 消防救援人员正在处置",
            (
                "{md}{hm}许，潼南区{town}一{place}起火，现场冒出大量浓烟。"
                "区消防救援支队接到报警后，迅速调派{k}辆消防车赶赴现场处置。",
                "据现场群众介绍，火势从{place}一楼蔓延至二楼，周边群众已被疏散到安全地带。"
                "消防救援人员到场后设置警戒区域，出动多支水枪堵截火势，防止火势向相邻房屋蔓延。",
                "目前，火灾原因正在进一步调查中，伤亡情况正在核实。",
            ),
        ),
        (REPOST_SHEHUI, REPOST_KUAIXUN, REPOST_GOV),
        (
            "{town}那边是不是起火了？烟好大",
            (
                "刚看到{town}方向冒黑烟，还听到消防车一直在响，有没有住那边的说下情况？",
                "是{place}那边，火很大，消防来了好几台车。",
                "希望没人受伤，那一片都是老房子，电线乱得很。",
                "火已经灭了，听说人都跑出来了。",
                "官方已通报，请大家以官方发布的信息为准，不信谣不传谣。",
            ),
        ),
        (3, 7, 14, 25),
        (
            FollowUp(
                "news",
                12,
                Text(
                    "潼南区{town}{place}火灾明火已被扑灭 未造成人员伤亡",
                    (
                        "记者从潼南区消防救援支队获悉，{town}{place}火灾明火已于{hm}被扑灭，"
                        "现场{k}名被困人员全部安全转移，未造成人员伤亡。",
                        "消防救援人员正在清理余火，并对周边建筑进行排查，防止复燃。"
                        "区应急管理局、{town}已成立工作组开展善后工作，起火原因正在调查中。",
                    ),
                ),
            ),
            FollowUp(
                "zwgk",
                40,
                Text(
                    "区应急管理局关于{town}一{place}火灾情况的通报",
                    (
                        "{md}，潼南区{town}一{place}发生火灾，过火面积约{n}平方米，未造成人员伤亡。",
                        "经初步调查，起火原因系电气线路老化短路引发。"
                        "区应急管理局已责成{town}对辖区同类场所开展为期一个月的消防安全隐患排查整治。",
                        "请各镇街、各部门举一反三，加强对老旧场镇、人员密集场所的安全检查。",
                    ),
                ),
            ),
        ),
    ),
    Incident(
        "疫情",
        ("农贸市场", "小区", "学校", "物流园"),
        Text(
            "潼南区{town}发现{k}例新冠病毒核酸检测阳性人员",
            (
                "{md}，潼南区疫情防控指挥部通报，在{town}例行核酸检测中发现{k}例新冠病毒核酸检测阳性人员，"
                "均已转运至定点医院隔离观察。",
                "疫情发生后，区疫情防控指挥部立即启动应急响应，对阳性人员活动轨迹涉及的{place}"
                "开展流调排查和环境消杀，已排查密切接触者{n}人，均已落实管控措施。",
                "请近期到过{town}{place}的群众主动向社区报备，配合做好核酸检测。",
            ),
        ),
        (REPOST_SHEHUI, REPOST_KUAIXUN),
        (
            "{town}是不是有人核酸阳性了？",
            (
                "群里都在传{town}{place}有人核酸阳性，是真的吗？",
                "社区刚通知我们明天全员做核酸。",
                "别慌，等官方通报，戴好口罩少聚集。",
                "指挥部已经发通报了，大家按社区安排来。",
            ),
        ),
        (4, 10, 22),
        (
            FollowUp(
                "news",
                18,
                Text(
                    "潼南区{town}疫情新增{k}例确诊病例 均为此前密切接触者",
                    (
                        "记者从潼南区疫情防控指挥部获悉，{town}本轮疫情新增确诊病例{k}例，"
                        "均为此前已落实集中隔离的密切接触者，在隔离期间检出，社会面风险较低。",
                        "目前，{town}{place}周边区域已实行临时管控，区里已组织{n}名医务人员开展区域核酸检测。",
                    ),
                ),
            ),
            FollowUp(
                "zwgk",
                45,
                Text(
                    "潼南区疫情防控指挥部关于{town}部分区域实行临时管控的通告",
                    (
                        "为尽快阻断疫情传播，经区疫情防控指挥部研究，决定自即日起对{town}{place}周边区域实行临时管控。",
                        "管控期间，区域内人员非必要不外出，生活物资由社区统一保障，就医等需求请联系社区。",
                        "请广大群众理解支持，共同做好疫情防控工作。",
                    ),
                ),
            ),
        ),
    ),
    Incident(
        "坍塌",
        ("在建厂房", "老旧民房", "挡土墙", "农村自建房"),
        Text(
            "潼南区{town}一{place}发生局部坍塌 {k}人被困",
            (
                "{md}{hm}许，潼南区{town}一{place}发生局部坍塌，初步了解有{k}人被困。",
                "接报后，区应急管理局、区消防救援支队、{town}等迅速组织力量赶赴现场开展救援，"
                "区人民医院派出救护车在现场待命。",
                "事故原因正在调查中，救援工作正在紧张进行。",
            ),
        ),
        (REPOST_SHEHUI, REPOST_KUAIXUN),
        (
            "{town}那边房子垮了？有人被埋没有",
            (
                "听说{town}有{place}垮塌了，有人被困在里面，求证。",
                "救护车和消防车都过去了，路都封了。",
                "祈祷人没事。",
            ),
        ),
        (5, 16),
        (
            FollowUp(
                "news",
                20,
                Text(
                    "潼南区{town}{place}坍塌事故被困人员全部救出",
                    (
                        "经过{k}个多小时的连续救援，潼南区{town}{place}坍塌事故被困人员已全部救出，"
                        "已送往区人民医院救治，生命体征平稳。",
                        "区里已成立事故调查组，对坍塌原因开展调查，并在全区开展房屋安全隐患排查。",
                    ),
                ),
            ),
        ),
    ),
    Incident(
        "信访",
        ("村道拓宽工程", "安置小区建设", "土地流转项目", "养殖场"),
        Text(
            "潼南区{town}数十名村民到区信访办上访 反映{place}补偿问题",
            (
                "{md}上午，潼南区{town}数十名村民来到区信访办集体上访，"
                "反映{place}补偿款迟迟未兑付的问题，部分村民在门口拉横幅。",
                "区信访办工作人员将群众引导至接待室，听取村民代表意见，"
                "并联系{town}及区级相关部门负责人到场协调。",
                "村民代表{name}表示，希望相关部门尽快给出明确答复。",
            ),
        ),
        (REPOST_SHEHUI,),
        (
            "{town}{place}的补偿到底什么时候发？",
            (
                "{place}都快一年了，补偿款还没发下来，今天好多人去信访办了。",
                "我们组也是，问了几次都说在走程序。",
                "希望这次能有个说法。",
            ),
        ),
        (6, 18),
        (
            FollowUp(
                "zwgk",
                30,
                Text(
                    "潼南区信访办关于{town}群众反映{place}补偿问题的答复",
                    (
                        "针对{town}群众到区信访办反映的{place}补偿问题，区信访办会同相关部门进行了核实。",
                        "经查，相关补偿资金已拨付至{town}，因部分农户面积存在争议尚未兑付。"
                        "{town}已承诺在{k}个工作日内完成复核并分批发放，信访事项将跟踪督办。",
                    ),
                ),
            ),
        ),
    ),
    Incident(
        "食品安全",
        ("小学食堂", "中学食堂", "幼儿园食堂", "乡村宴席"),
        Text(
            "潼南区{town}一{place}疑似食物中毒 {k}人送医观察",
            (
                "{md}，潼南区{town}一{place}就餐人员中陆续有{k}人出现呕吐、腹痛等症状，"
                "疑似食物中毒，已被送往{town}卫生院和区人民医院观察治疗，目前病情稳定。",
                "区市场监管局、区卫生健康委已介入调查，对{place}留样食品进行封存抽检，"
                "并暂停该处供餐。",
                "事件原因正在进一步调查中。",
            ),
        ),
        (REPOST_SHEHUI, REPOST_KUAIXUN),
        (
            "{town}{place}吃出问题了？娃娃吐了",
            (
                "今天中午在{place}吃饭，回来好几个人都吐了，有没有一样情况的？",
                "我家娃也是，已经送卫生院了。",
                "市场监管局的人已经去了，等结果吧。",
            ),
        ),
        (4, 12),
        (
            FollowUp(
                "news",
                25,
                Text(
                    "潼南区通报{town}{place}疑似食物中毒事件调查进展",
                    (
                        "记者从潼南区市场监管局获悉，{town}{place}疑似食物中毒事件送医的{k}人均已出院。",
                        "经抽检，部分留样食品检出致病菌，涉事经营者已被立案调查。"
                        "区里将在全区开展集体用餐单位食品安全专项检查。",
                    ),
                ),
            ),
        ),
    ),
)

# Items that look like incidents but must not alert: the sample library's exclusions
# (演练, 演习, 消防宣传) catch them.
EXCLUDED: tuple[Text, ...] = (
    Text(
        "潼南区{town}开展高层建筑火灾应急演练",
        (
            "{md}下午，潼南区消防救援支队联合{town}在辖区一高层住宅小区开展火灾应急演练。",
            "演练模拟小区{k}楼一住户家中起火，物业微型消防站率先处置，随后消防救援人员利用"
            "云梯车开展高空救援，并组织居民有序疏散。",
            "演练结束后，消防员为居民讲解了灭火器使用方法和火场逃生技巧。",
        ),
    ),
    Text(
        "潼南区{town}开展疫情防控应急处置演练",
        (
            "为检验突发疫情应急处置能力，{md}，潼南区{town}组织开展疫情防控应急处置演练。",
            "演练模拟{town}卫生院预检分诊发现一名核酸检测阳性人员，工作人员按流程开展信息报告、"
            "人员转运、环境消杀等工作。",
            "{town}相关负责人表示，将针对演练中发现的问题进一步完善预案。",
        ),
    ),
    Text(
        "潼南区开展危化品泄漏事故应急演习",
        (
            "{md}，潼南区应急管理局在{town}一化工企业开展危化品泄漏事故应急演习。",
            "演习模拟储罐阀门发生泄漏，企业应急队伍、区消防救援支队等多方力量协同处置，"
            "完成了警戒疏散、堵漏、洗消等科目。",
        ),
    ),
    Text(
        "潼南区{town}开展消防宣传进社区活动",
        (
            "{md}，潼南区消防救援支队走进{town}开展消防宣传进社区活动，向居民普及火灾逃生知识。",
            "宣传人员提醒居民不要在楼道堆放杂物，不要在室内为电动自行车充电，"
            "发现起火要第一时间拨打119报警。",
        ),
    ),
)

# Incidents elsewhere: no place of the district, so no rule of the sample library matches.
ELSEWHERE: tuple[Text, ...] = (
    Text(
        "{district}一{place}发生火灾 消防救援人员正在处置",
        (
            "{md}{hm}许，{district}一{place}发生火灾，当地消防救援部门已调派力量赶赴现场。",
            "目前明火已被控制，具体伤亡情况正在核实中。",
        ),
    ),
    Text(
        "{district}新增{k}例本土确诊病例",
        (
            "{md}，{district}卫生健康委通报，当日新增本土确诊病例{k}例，均在集中隔离点检出。",
            "相关区域已开展流调排查和环境消杀。",
        ),
    ),
)
ELSEWHERE_PLACES = ("仓库", "餐馆", "居民楼", "厂房")

# Ordinary forum threads: what a local board is mostly about.
CHATTER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("{town}哪家柠檬鱼最地道？求推荐",
     ("周末朋友来耍，想吃柠檬鱼，有推荐的没？", "滨江路那边几家都可以。")),
    ("周末带娃去{town}耍，有什么好玩的",
     ("第一次去{town}，求攻略。", "古镇可以逛一下，早点去好停车。")),
    ("{town}到城区的公交几点收班？",
     ("晚上下班想坐公交回{town}，最晚一班几点？", "好像是晚上7点，最好问下车站。")),
    ("{town}今年的柠檬价格怎么样",
     ("今年柠檬收购价比去年好点没？", "听说每斤涨了几毛，行情还可以。")),
    ("求推荐{town}附近的驾校",
     ("想考个驾照，{town}附近哪个驾校靠谱？", "我在城区学的，教练还耐心。")),
)  # fmt: skip
