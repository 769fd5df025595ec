"""Candidate terms of a text: every 2..6-character substring of its Han runs (the
default), or the words a dictionary segmenter (jieba) finds. ``bench/discovery.py``
compares the two; n-grams need no dictionary, so a new place nickname or slang word is
a candidate from the first day it is written."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Protocol

HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{HAN}]{{2,}}")
MIN_N, MAX_N = 2, 6

# Characters a term does not start or end with: particles and function words that make
# "蓝湖镇的" or "在蓝湖镇" from "蓝湖镇".
_BAD_START = frozenset("的了是和与及等也都就而并或被把之其于以着过吗呢吧啊")
_BAD_END = frozenset("的了是在和与及等对将也都就而并或被把这那其之于以向从着过们吗呢吧啊")
# Words of every news day: never news themselves.
STOP_TERMS = frozenset(
    """记者 报道 表示 目前 今天 今日 昨天 昨日 日电 日讯 消息 工作 进行 相关 有关 部门 情况
    问题 已经 正在 没有 我们 他们 一个 这个 那个 可以 通过 发现 发生 时间 此外 同时 其中 以及
    因为 所以 但是 如果 还是 就是 这些 那些 自己 什么 怎么 本报 来源 编辑 责任编辑 记者从
    网友 市民 群众 视频 图片 新闻 发布 通报 回应 现场 已经 左右 上午 下午 晚上 凌晨 当天""".split()
)


def han_runs(text: str) -> list[str]:
    return _HAN_RUN.findall(text)


def acceptable(term: str) -> bool:
    """Not a stop word, and not starting or ending with a function character."""
    return term[0] not in _BAD_START and term[-1] not in _BAD_END and term not in STOP_TERMS


class Segmenter(Protocol):
    name: str

    def terms(self, text: str) -> set[str]:
        """The distinct candidate terms of ``text``."""
        ...


class NgramSegmenter:
    name = "ngram"

    def __init__(self, min_n: int = MIN_N, max_n: int = MAX_N) -> None:
        self.min_n, self.max_n = min_n, max_n

    def terms(self, text: str) -> set[str]:
        found: set[str] = set()
        for run in han_runs(text):
            size = len(run)
            for n in range(self.min_n, min(self.max_n, size) + 1):
                found.update(run[i : i + n] for i in range(size - n + 1))
        return found


class JiebaSegmenter:
    """jieba's words (its HMM guesses words outside its dictionary) and pairs of adjacent
    words, so a new compound (place + incident) is a candidate too."""

    name = "jieba"

    def __init__(self) -> None:
        import jieba  # optional: only the bench and those who choose it need it

        jieba.setLogLevel(60)
        self._cut = jieba.lcut

    def terms(self, text: str) -> set[str]:
        found: set[str] = set()
        for run in han_runs(text):
            words = self._cut(run, HMM=True)
            found.update(w for w in words if len(w) >= MIN_N)
            found.update(a + b for a, b in itertools.pairwise(words) if len(a + b) <= MAX_N)
        return found


def segmenter(name: str) -> Segmenter:
    if name == "ngram":
        return NgramSegmenter()
    if name == "jieba":
        return JiebaSegmenter()
    raise ValueError(f"unknown segmenter {name!r}: ngram or jieba")


def contains_any(text: str, words: Iterable[str]) -> bool:
    return any(w in text for w in words)
