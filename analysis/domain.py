"""The public-opinion domain's own sentiment vocabulary, on top of HowNet's word lists:
what a district office reads as bad news, the ordinary words HowNet calls negative that
news uses neutrally, and official boilerplate that is neutral however it sounds. Written
for this project (grown from the labelled set in ``bench/data/``)."""

from __future__ import annotations


def _weights(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in spec.split("\n"):
        line = line.strip()
        if not line:
            continue
        weight, _, words = line.partition(":")
        for word in words.split():
            out[word] = float(weight)
    return out


# weight: words. > 0 pushes towards negative, < 0 towards positive, 0 cancels HowNet's.
WEIGHTS = _weights(
    """
    2.5: 伤亡 死亡 遇难 身亡 罹难 丧生 命案 凶杀 跳楼 自杀 猥亵 性侵 医治无效 食物中毒 致死 死者
    2.2: 溃口 溃堤 撞人 撞倒 砸伤 打伤 体罚
    2.2: 重伤 爆炸 坍塌 垮塌 打砸 砍伤 强拆 暴雷 爆雷 虐待 霸凌 踩踏 殉职
    2.0: 被困 失联 失踪 欠薪 拖欠工资 围堵 斗殴 殴打 火灾 中毒 溺水 车祸 塌方 塌陷 滑坡 泥石流
    2.0: 罢工 跑路 烂尾 被骗 非法集资 乱收费 受贿 贪污 不作为 态度恶劣 大火 没人管 无人管 讨不到
    1.8: 受伤 冲突 讨薪 堵路 拉横幅 持刀 起火 着火 失火 泄漏 侧翻 恶臭 诈骗 传销 冲毁 受灾 洪涝
    1.8: 逃逸 被宰 被淹 咬伤 哄抬 失灵 很差 太差 真差 差劲 越来越差 态度差 不达标 看病难
    1.8: 愤怒 怒斥 腐败 被查 落马 双开 推诿 刁难 噪音扰民 恐慌 封路 围攻 哄抢 纵火 偷盗 盗窃
    1.6: 内涝 淹没 黑臭 拒赔 倒闭 不满 扰民 抢救 遭遇 被打 砸车 欺诈 维权难 投诉无门 断供
    1.5: 吵翻 偷电 危房 漏雨 脏污 酒驾 醉驾 意见很大 信号差 刮倒 办事难 不管不问
    1.5: 事故 污染 维权 上访 追尾 违纪 刑拘 紧急疏散 浓烟 送医 裁员 暴涨 质疑 被拘 拘留
    1.3: 停水 停电 断水 曝光 纠纷 涉嫌 损失 拖延 停产 逮捕 确诊 积水 破损 漏水 脏乱差 异味
    1.2: 投诉 索赔 感染 爆发 轻伤 聚集 封控 担心 隐瞒 敷衍 质量问题 安全隐患突出
    1.2: 报警 被堵 被指 被曝 网传
    1.0: 举报 疫情 疏散 涨价 谣言 油烟 犯罪 反对 堵塞 拥堵 排队
    0.8: 隐患 困难 救援 隔离 批评 紧张 违法
    0.6: 信访 灾害 非法 违建
    0.6: 风险 压力 难题
    0.5: 问题 警示
    0.3: 警惕 挑战 辟谣 防控 整改
    0: 打击 严厉 检查 排查 整治 防范 预防 提醒 注意 严肃 处理 攻坚 安全 严格 严禁 禁止 查处
    0: 清理 取缔 管控 应急 预警 消防 处置 依法 审查 调查 惩治 约谈 通报 批评教育
    -0.5: 稳定 和谐 救出 获救 上调 化解
    -0.6: 保障 解决 及时
    -0.8: 平安 恢复 提升 先进 亮点 改善 脱险 康复 出院
    -1.0: 修好 破获 追回 入选 方便 便利 便捷 开心 高兴 再也不用 成功找到 办实事
    -1.0: 顺利 成功 开通 通车 竣工 投用 落成 便民 惠民 优秀 热闹 美丽 幸福 温暖 脱贫 点赞
    -1.2: 满意 感谢 圆满 欢乐 喜迎 致富 获评 增收 称赞 赞扬 好评
    -1.5: 赞不绝口 好评如潮 转危为安 握手言和
    -1.5: 表彰 锦旗 荣获 丰收 喜获 暖心 见义勇为 拾金不昧
    """
)
NEGATORS = frozenset(
    """不 没 没有 无 未 并未 并没有 尚未 均未 暂无 暂未 未发现 未造成 不存在 并非 非
    杜绝 避免 无一""".split()
)
DEGREES = {
    **dict.fromkeys("极其 极为 极度 特大 最 万分".split(), "most"),
    **dict.fromkeys("非常 十分 特别 严重 重大 格外 相当 太".split(), "very"),
    **dict.fromkeys("较大 更 更加 越来越 多名 大量 多次 反复".split(), "more"),
    **dict.fromkeys("有些 有点 略 稍 轻微 一般 一些".split(), "ish"),
}
# An official notice's frame: a sentence that reports the authorities doing something
# (召开, 开展, 部署 ...) about a danger is not the danger happening, unless it also says
# something happened (发生, 造成 ...).
OFFICIAL = tuple(
    """召开 部署 开展 举办 组织 印发 推进会 工作会 工作会议 专项行动 宣传 提示 预警 培训 讲座
    巡查 座谈会 动员 视察 调研 通报会 新闻发布会 研究部署 专题会议""".split()
)
HAPPENED = tuple("发生 造成 导致 致使 突发 事发 已致 遇难 死亡 受伤 被困".split())
OFFICIAL_DAMPING = 0.35
# Official boilerplate: neutral however many negative words it holds (masked before
# scoring). A notice about a real case still scores on the words around it.
BOILERPLATE = tuple(
    """严厉打击违法犯罪 严厉打击各类违法犯罪 依法严厉打击 严厉打击 打击违法犯罪
    打击犯罪 扫黑除恶 专项斗争 常态化扫黑除恶 应急演练 消防演练 防汛演练
    应急疏散演练 演练 演习 隐患排查 排查安全隐患 安全隐患排查 排查整治
    安全生产检查 安全检查 安全生产 防范电信网络诈骗 防范电信诈骗 反诈宣传
    防诈骗宣传 反诈 禁毒宣传 消防安全宣传 消防宣传 安全教育 防溺水安全教育
    防溺水教育 防溺水 风险防控 防范化解重大风险 维护社会稳定 平安建设 打击整治
    专项整治 警示教育 以案促改 矛盾纠纷排查化解 化解矛盾纠纷 矛盾纠纷化解
    信访工作 接访下访 疫情防控工作 常态化疫情防控 防汛抗旱 森林防火 安全生产月
    应急预案 反腐倡廉 党风廉政 廉政建设 违法违规行为 防灾减灾 防范意识
    根治欠薪 根治拖欠农民工工资 防诈骗 谨防 预防 防控工作 安全意识
    守住安全底线 遏制重特大事故 严防 严防死守 坚决遏制 坚决防范 杜绝安全事故
    治安防控 平安创建 法治宣传 普法宣传 以案说法 安全知识 自救互救 事故隐患""".split()
)
