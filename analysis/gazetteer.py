"""China's administrative divisions down to townships and streets, with codes, parents
and the short forms people write (潼南 for 潼南区, 双江 for 双江镇), plus operators' own
places (schools, parks, compounds, roads) filed under a code.

Codes are the statistics bureau's: 2 digits a province, 4 a prefecture, 6 a county,
9 a township. An operator place gets ``<parent code>-<n>``, so "is under" stays a prefix
test on codes for every place, official or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "gazetteer.tsv"

LEVELS = {2: "province", 4: "prefecture", 6: "county", 9: "township"}
# Names the code list uses for a grouping, not a place anyone writes.
_PLACEHOLDERS = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划"}
)
# The 55 minority nationalities' names as they appear in autonomous areas' names
# (凉山彝族自治州 -> 凉山), longest first so 土家 is tried before 土.
_NATIONALITIES = sorted(
    (
        "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
        "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 "
        "塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 "
        "基诺 各"
    ).split(),
    key=len,
    reverse=True,
)
_SUFFIXES = (
    "街道办事处",
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "民族乡",
    "民族镇",
    "地区",
    "街道",
    "苏木",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
    "镇",
    "乡",
)


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    parent: str  # "" for a province
    kind: str = ""  # an operator place's kind (school, park ...); "" for a division
    # Names it had before (曾用名): recognition resolves them to this code.
    former: tuple[str, ...] = ()
    removed: bool = False  # no longer on the official code list (still recognised)

    @property
    def level(self) -> str:
        return LEVELS.get(len(self.code), "place")

    def under(self, code: str) -> bool:
        """Whether this place is ``code`` or lies within it."""
        return self.code.startswith(code)


def short_forms(name: str) -> list[str]:
    """The shorter names people write for ``name``: 潼南区 -> 潼南, 双江镇 -> 双江,
    凉山彝族自治州 -> 凉山. A short form keeps at least two characters (区, 县 alone are
    not a place)."""
    forms: list[str] = []
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = _strip_nationalities(name[: -len(suffix)])
            if len(stem) >= 2 and stem != name:
                forms.append(stem)
            break
    return forms


def _strip_nationalities(stem: str) -> str:
    while stem.endswith("族"):
        base = stem[:-1]
        for nationality in _NATIONALITIES:
            if base.endswith(nationality) and len(base) > len(nationality):
                stem = base[: -len(nationality)]
                break
        else:
            break
    return stem


@dataclass
class Gazetteer:
    places: dict[str, Place] = field(default_factory=dict)

    def add(self, place: Place) -> None:
        self.places[place.code] = place

    def get(self, code: str) -> Place | None:
        return self.places.get(code)

    def __len__(self) -> int:
        return len(self.places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self.places.values())

    def ancestors(self, code: str) -> list[str]:
        """``code`` and the codes above it, nearest first (placeholders included, so a
        municipality's county still reaches its province)."""
        out: list[str] = []
        seen: set[str] = set()
        place = self.places.get(code)
        while place is not None and place.code not in seen:
            out.append(place.code)
            seen.add(place.code)
            place = self.places.get(place.parent) if place.parent else None
        return out

    def names(self) -> Iterator[tuple[str, Place, bool]]:
        """Every (name, place, is_short_form) a text may mention."""
        for place in self.places.values():
            if place.name in _PLACEHOLDERS:
                continue
            yield place.name, place, False
            for form in short_forms(place.name):
                yield form, place, True
            for former in place.former:
                yield former, place, False

    def display(self, code: str) -> str:
        """The place with its parents, widest first: 重庆市 潼南区 梓潼街道."""
        chain = [self.places[c].name for c in reversed(self.ancestors(code))]
        return " ".join(n for n in chain if n not in _PLACEHOLDERS)


def parse_tsv(lines: Iterable[str]) -> Iterator[Place]:
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        code, name, parent = line.rstrip("\n").split("\t")[:3]
        yield Place(code, name, parent)


# Well-known renames (a county that became a district, a prefecture renamed, districts
# merged into a neighbour): the name news used before -> the code of the place now. My
# own table from the published changes; imports of the official code list add more.
FORMER_NAMES: dict[str, str] = {
    "潼南县": "500152",  # 2015: 潼南县 -> 潼南区
    "铜梁县": "500151",  # 2014
    "璧山县": "500120",  # 2014
    "荣昌县": "500153",  # 2015
    "梁平县": "500155",  # 2016
    "武隆县": "500156",  # 2016
    "襄樊市": "4206",  # 2010: 襄樊市 -> 襄阳市
    "思茅市": "5308",  # 2007: 思茅市 -> 普洱市
    "大庸市": "4308",  # 1994: 大庸市 -> 张家界市
    "通什市": "469001",  # 2001: 通什市 -> 五指山市
    "崇文区": "110101",  # 2010: merged into 东城区
    "宣武区": "110102",  # 2010: merged into 西城区
    "卢湾区": "310101",  # 2011: merged into 黄浦区
    "闸北区": "310106",  # 2015: merged into 静安区
    "南汇区": "310115",  # 2009: merged into 浦东新区
    "双流县": "510116",  # 2015
    "郫县": "510117",  # 2016: 郫县 -> 郫都区
    "富阳市": "330111",  # 2014
    "临安市": "330112",  # 2017
    "溧水县": "320117",  # 2013
    "高淳县": "320118",  # 2013
    "番禺市": "440113",  # 2000
}


def with_former(place: Place, names: Iterable[str]) -> Place:
    """``place`` also known by ``names`` (kept once each, in order; its name excluded)."""
    merged = tuple(dict.fromkeys(n for n in (*place.former, *names) if n and n != place.name))
    return place if merged == place.former else replace(place, former=merged)


def normalize_code(code: str) -> str:
    """A code as the gazetteer writes it: the official lists' 12-digit (statistics
    bureau) and 6-digit (民政部) codes padded with zeros are cut to their level
    (500152000000 and 500152 -> 500152, 500100 -> 5001, 500000 -> 50); other codes
    are returned as given."""
    code = code.strip()
    if not code.isdigit():
        return code
    if len(code) == 12:
        for keep in (2, 4, 6, 9):
            if code[keep:].strip("0") == "":
                return code[:keep]
    elif len(code) == 6:
        for keep in (2, 4):
            if code[keep:].strip("0") == "":
                return code[:keep]
    return code


@cache
def default() -> Gazetteer:
    """The administrative divisions built by ``make analysis-data`` (loaded once)."""
    if not DATA.exists():
        raise FileNotFoundError(
            f"{DATA} is missing: run `make analysis-data` (part of `make install`)"
        )
    gazetteer = Gazetteer()
    with DATA.open(encoding="utf-8") as f:
        for place in parse_tsv(f):
            gazetteer.add(place)
    for name, code in FORMER_NAMES.items():
        known = gazetteer.places.get(code)
        if known is not None:
            gazetteer.add(with_former(known, [name]))
    return gazetteer


def with_operator_places(base: Gazetteer, extra: Iterable[Place]) -> Gazetteer:
    """``base`` plus operators' places and imported changes of the divisions (a new
    gazetteer; the shared one is not changed). A place given again replaces the known
    one, keeping the former names of both."""
    merged = Gazetteer(dict(base.places))
    for place in extra:
        known = merged.places.get(place.code)
        if known is not None:
            place = with_former(place, [*known.former, known.name])
        merged.add(place)
    return merged
