# ruff: noqa: E501  (data tables: CJK names count double width)
"""Regenerates the rewards service's demo catalogue (services/rewards/catalogue/: merchants.csv,
offers.csv, lounges.csv) at the programme's scale: about 1,200 alliance merchants (a brand's
outlet in one city) in 18 industries, the brands' offers (redeemable in the cities of their
outlets; online brands everywhere), and airport lounges in every city the programme names.
The output is committed and seeds the rewards database on its first start; run
`python -m tools.catalogue` only to change it (`--counts` prints the counts by industry,
city and tier). Seeded, so the same script always writes the same files."""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from datetime import date
from pathlib import Path

from contracts.tiers import TIERS, Tier
from services.rewards.settings import CATALOGUE_DIR

#: Offer template: (title, points price or None, discount percent or None, limit per
#: period, period, lowest tier). Premium privileges start at OTO Fortune, as in the
#: programme; Standard members get the everyday few.
Template = tuple[str, int | None, int | None, int, str, Tier]
S, G, O, P = TIERS  # noqa: E741  (standard, gold, oto_fortune, private_banking)

#: industry -> (brands, templates, online: redeemable everywhere rather than at outlets).
INDUSTRIES: dict[str, tuple[list[str], list[Template], bool]] = {
    "coffee": (["星巴克", "瑞幸咖啡", "Manner Coffee", "Tims天好咖啡", "Costa咖啡", "Seesaw Coffee", "M Stand", "挪瓦咖啡"],
               [("中杯饮品兑换券", 800, None, 2, "month", S), ("大杯饮品兑换券", 1000, None, 2, "month", G),
                ("饮品8折券", None, 20, 4, "month", S)], False),
    "tea": (["喜茶", "奈雪的茶", "蜜雪冰城", "茶百道", "古茗", "霸王茶姬", "沪上阿姨", "CoCo都可"],
            [("任意饮品一杯", 700, None, 2, "month", S), ("第二杯半价券", None, 25, 4, "month", G)], False),
    "dining": (["海底捞火锅", "西贝莜面村", "外婆家", "绿茶餐厅", "太二酸菜鱼", "眉州东坡", "全聚德", "鼎泰丰",
                "呷哺呷哺", "小龙坎火锅", "点都德", "广州酒家", "南京大牌档", "九毛九", "陶陶居", "大董烤鸭"],
               [("100元代金券", 8000, None, 2, "month", G), ("200元代金券", 15000, None, 1, "month", G),
                ("用餐88折", None, 12, 4, "month", O)], False),
    "fast_food": (["肯德基", "麦当劳", "必胜客", "汉堡王", "德克士", "真功夫", "老乡鸡", "塔斯汀"],
                  [("超值套餐兑换券", 2500, None, 4, "month", S), ("20元代金券", 1800, None, 4, "month", G),
                   ("早餐兑换券", 1200, None, 4, "month", G)], False),
    "travel": (["中国国际航空", "中国东方航空", "中国南方航空", "海南航空", "携程旅行", "同程旅行", "飞猪旅行", "12306铁路畅行"],
               [("机票立减100元", 9000, None, 2, "year", G), ("酒店+机票套餐9折", None, 10, 2, "year", O),
                ("贵宾值机服务", 6000, None, 2, "year", O)], True),
    "hotels": (["华住会", "锦江酒店", "首旅如家", "亚朵酒店", "万豪旅享家", "洲际酒店集团", "希尔顿荣誉客会",
                "香格里拉酒店", "开元酒店", "全季酒店"],
               [("高级客房一晚", 45000, None, 2, "year", O), ("会员房价9折", None, 10, 6, "year", G),
                ("行政酒廊下午茶", 12000, None, 2, "year", O), ("延迟退房至16点", 5000, None, 4, "year", O)], False),
    "retail": (["苏宁易购", "国美电器", "名创优品", "屈臣氏", "丝芙兰", "优衣库", "无印良品", "周大福", "老凤祥", "李宁", "安踏"],
               [("50元购物券", 4500, None, 2, "month", G), ("满500减50", None, 10, 2, "month", O),
                ("会员日9折", None, 10, 1, "month", O)], False),
    "supermarket": (["盒马鲜生", "永辉超市", "华润万家", "大润发", "沃尔玛", "山姆会员商店", "物美", "联华超市"],
                    [("30元购物卡", 2800, None, 2, "month", S), ("生鲜95折", None, 5, 4, "month", G),
                     ("100元购物卡", 9000, None, 1, "month", O)], False),
    "ecommerce": (["京东", "天猫", "拼多多", "唯品会", "当当"],
                  [("20元无门槛券", 1900, None, 2, "month", G), ("PLUS会员月卡", 3000, None, 1, "year", O)], True),
    "cinema": (["万达影城", "CGV影城", "博纳国际影城", "金逸影城", "大地影院", "横店电影城", "猫眼电影", "淘票票"],
               [("2D电影票一张", 3500, None, 2, "month", G), ("IMAX电影票一张", 6000, None, 1, "month", O),
                ("爆米花套餐", 1500, None, 2, "month", S)], False),
    "fitness": (["超级猩猩", "乐刻运动", "威尔士健身", "一兆韦德", "Keep", "金仕堡健身"],
                [("单次团课体验", 4000, None, 2, "month", G), ("月卡8折", None, 20, 1, "year", O)], False),
    "car_services": (["中国石化", "中国石油", "途虎养车", "滴滴出行", "曹操出行", "e代驾"],
                     [("加油立减30元", 2800, None, 2, "month", G), ("洗车一次", 2000, None, 2, "month", O),
                      ("出行券20元", 1800, None, 4, "month", S)], False),
    "entertainment": (["上海迪士尼乐园", "北京环球度假区", "长隆旅游度假区", "方特欢乐世界", "欢乐谷", "故宫博物院文创"],
                      [("单日门票9折", None, 10, 2, "year", G), ("快速通道一次", 20000, None, 1, "year", O)], False),
    "beauty": (["美丽田园", "思妍丽", "克丽缇娜", "奈瑞儿", "自然美", "丝域养发", "章光101", "伊美尔"],
               [("面部护理体验一次", 12000, None, 1, "year", O), ("护理项目8折", None, 20, 2, "year", O),
                ("头皮养护一次", 6000, None, 2, "year", G)], False),
    "medical": (["美年大健康", "爱康国宾", "瑞慈体检", "爱尔眼科", "通策口腔", "瑞尔齿科", "和睦家医疗", "卓正医疗"],
                [("深度体检套餐", 60000, None, 1, "year", O), ("洁牙一次", 8000, None, 1, "year", O),
                 ("专家门诊绿色通道", 15000, None, 2, "year", P), ("视力检查一次", 3000, None, 1, "year", G)], False),
    "financial": (["中国人寿", "中国平安", "中国太保", "华泰证券", "中信证券", "易方达基金", "中国黄金", "众安保险"],
                  [("家庭保障规划咨询", 5000, None, 1, "year", O), ("投资顾问一对一", 10000, None, 1, "year", P),
                   ("金条回购手续费8折", None, 20, 2, "year", O)], False),
    "golf": (["观澜湖高尔夫", "佘山国际高尔夫", "华彬高尔夫", "沙河高尔夫", "旭宝高尔夫", "九龙湖高尔夫"],
             [("18洞果岭一场", 80000, None, 2, "year", P), ("练习场一小时", 8000, None, 4, "year", O)], False),
    "education": (["新东方", "英孚教育", "华尔街英语", "瑞思英语", "乐高教育中心", "得到"],
                  [("体验课一节", 3000, None, 2, "year", G), ("课程9折", None, 10, 1, "year", O)], False),
}

#: The programme's airports: (IATA code, city, terminals). Every city here has lounges.
AIRPORTS = [
    ("PEK", "北京", ["T2", "T3"]), ("PKX", "北京", ["大兴"]), ("PVG", "上海", ["T1", "T2"]),
    ("SHA", "上海", ["T2"]), ("CAN", "广州", ["T1", "T2"]), ("SZX", "深圳", ["T3"]),
    ("CTU", "成都", ["T1", "T2"]), ("TFU", "成都", ["T1", "T2"]), ("CKG", "重庆", ["T3"]),
    ("KMG", "昆明", ["长水"]), ("XIY", "西安", ["T3", "T5"]), ("HGH", "杭州", ["T3", "T4"]),
    ("NKG", "南京", ["T1", "T2"]), ("WUH", "武汉", ["T3"]), ("CSX", "长沙", ["T2"]),
    ("XMN", "厦门", ["T3"]), ("TAO", "青岛", ["胶东"]), ("DLC", "大连", ["周水子"]),
    ("SHE", "沈阳", ["T3"]), ("HRB", "哈尔滨", ["T2"]), ("TSN", "天津", ["T2"]),
    ("CGO", "郑州", ["T2"]), ("URC", "乌鲁木齐", ["T3"]), ("SYX", "三亚", ["凤凰"]),
    ("HAK", "海口", ["美兰"]), ("FOC", "福州", ["长乐"]), ("NNG", "南宁", ["吴圩"]),
    ("KWE", "贵阳", ["龙洞堡"]), ("TNA", "济南", ["遥墙"]), ("LHW", "兰州", ["中川"]),
    # The programme's cities the first demo catalogue lacked, then more.
    ("ZUH", "珠海", ["金湾"]), ("WUX", "无锡", ["硕放"]), ("KHN", "南昌", ["昌北"]),
    ("YIH", "宜昌", ["三峡"]), ("CZX", "常州", ["奔牛"]), ("HFE", "合肥", ["新桥"]),
    ("NGB", "宁波", ["栎社"]), ("WNZ", "温州", ["龙湾"]), ("TYN", "太原", ["武宿"]),
    ("SJW", "石家庄", ["正定"]), ("CGQ", "长春", ["龙嘉"]), ("HET", "呼和浩特", ["白塔"]),
    ("JJN", "泉州", ["晋江"]), ("YNT", "烟台", ["蓬莱"]), ("KWL", "桂林", ["两江"]),
    ("LJG", "丽江", ["三义"]), ("XNN", "西宁", ["曹家堡"]), ("INC", "银川", ["河东"]),
]
#: Where alliance merchants are: the airport cities, and Suzhou (served by Wuxi's airport).
CITIES = list(dict.fromkeys([city for _, city, _ in AIRPORTS] + ["苏州"]))
OPERATORS = [("ptn_dragonpass", "龙腾出行"), ("ptn_airport_vip", "机场贵宾服务公司"),
             ("ptn_ctrip_lounge", "携程贵宾厅")]
#: Outlets per brand, (fewest, most), by industry; brands not listed: (5, 14).
OUTLETS = {"coffee": (10, 16), "tea": (8, 14), "fast_food": (12, 18), "supermarket": (7, 13),
           "golf": (1, 3), "medical": (6, 11), "beauty": (5, 11), "financial": (7, 13)}
#: The first cities (the largest) are three times as likely to have a brand's outlet.
LARGE_CITIES = 12
START, END = date(2026, 1, 1), date(2028, 12, 31)
#: Scheduled offers (valid from next year) are never these: tests redeem them today.
ALWAYS_VALID = {"off_coffee_00_0", "off_coffee_02_2", "off_dining_01_1"}


def partner_id(industry: str, brand: int) -> str:
    return f"ptn_{industry}_{brand:02d}"


def merchants(rng: random.Random) -> list[dict]:
    """Outlets: one merchant per brand and city (online brands: one, city empty)."""
    rows = []
    for industry, (brands, _, online) in INDUSTRIES.items():
        for b, brand in enumerate(brands):
            if online:
                cities = [""]
            else:
                low, high = OUTLETS.get(industry, (5, 14))
                cities = _weighted_sample(rng, rng.randint(low, high))
            for city in sorted(cities, key=CITIES.index if cities != [""] else str):
                code = next((c for c, name, _ in AIRPORTS if name == city), "SZV")
                rows.append({"merchant_id": f"mch_{industry}_{b:02d}" + (f"_{code}" if city else ""),
                             "partner_id": partner_id(industry, b), "name": f"{brand}({city})" if city else brand,
                             "industry": industry, "city": city})
    return rows


def _weighted_sample(rng: random.Random, k: int) -> list[str]:
    """k cities without repetition, the large ones likelier (Efraimidis-Spirakis keys)."""
    keys = {c: rng.random() ** (1 / (3 if i < LARGE_CITIES else 1)) for i, c in enumerate(CITIES)}
    return sorted(CITIES, key=keys.__getitem__, reverse=True)[:k]


def offers(rng: random.Random, outlets: list[dict]) -> list[dict]:
    cities: dict[str, list[str]] = {}
    for m in outlets:
        if m["city"]:
            cities.setdefault(m["partner_id"], []).append(m["city"])
    rows = []
    for industry, (brands, templates, _) in INDUSTRIES.items():
        for b, brand in enumerate(brands):
            for t, (title, points, discount, limit, period, lowest) in enumerate(templates):
                offer_id = f"off_{industry}_{b:02d}_{t}"
                scheduled = offer_id not in ALWAYS_VALID and rng.random() < 0.04
                rows.append({
                    "offer_id": offer_id, "partner_id": partner_id(industry, b),
                    "merchant": brand, "industry": industry, "title": f"{brand} {title}",
                    "points_price": points or "", "discount_percent": discount or "",
                    "valid_from": (date(2027, 1, 1) if scheduled else START).isoformat(),
                    "valid_until": END.isoformat(),
                    "eligible_tiers": "|".join(TIERS[TIERS.index(lowest):]),
                    "limit_per_period": limit, "period": period,
                    "cities": "|".join(cities.get(partner_id(industry, b), [])),
                })
    return rows


def lounges(rng: random.Random) -> list[dict]:
    rows = []
    for code, city, terminals in AIRPORTS:
        for terminal in terminals:
            for n in range(1, rng.choice((2, 3)) + 1):
                operator_id, operator = OPERATORS[(n + len(rows)) % len(OPERATORS)]
                rows.append({
                    "lounge_id": f"{code}-{terminal if terminal.isascii() else 'T1'}-{n:02d}",
                    "airport_code": code, "city": city, "terminal": terminal,
                    "name": f"{city}{terminal}航站楼贵宾休息室{n}号",
                    "operator_id": operator_id, "operator": operator,
                })
    return rows


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def catalogue() -> tuple[list[dict], list[dict], list[dict]]:
    """(merchants, offers, lounges), the same every time."""
    outlets = merchants(random.Random(5))
    return outlets, offers(random.Random(6), outlets), lounges(random.Random(7))


def counts(outlets: list[dict], offer_rows: list[dict], lounge_rows: list[dict]) -> str:
    """The catalogue's counts by industry, city and tier, as text."""
    lines = [f"{len(outlets)} merchants, {len(offer_rows)} offers, {len(lounge_rows)} lounges"
             f" in {len({r['city'] for r in lounge_rows})} cities", "", "industry: merchants, offers"]
    merchants_by = Counter(r["industry"] for r in outlets)
    offers_by = Counter(r["industry"] for r in offer_rows)
    lines += [f"  {i}: {merchants_by[i]}, {offers_by[i]}" for i in INDUSTRIES]
    lines += ["", "city: merchants, lounges"]
    lounges_by = Counter(r["city"] for r in lounge_rows)
    merchants_in = Counter(r["city"] or "(online)" for r in outlets)
    lines += [f"  {c}: {merchants_in[c]}, {lounges_by[c]}" for c in [*CITIES, "(online)"]]
    lines += ["", "tier: offers open to it (of which from this tier up only)"]
    for tier in TIERS:
        open_to = [r for r in offer_rows if tier in r["eligible_tiers"].split("|")]
        lowest = sum(r["eligible_tiers"].split("|")[0] == tier for r in offer_rows)
        lines.append(f"  {tier}: {len(open_to)} ({lowest})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", action="store_true", help="print the counts, write nothing")
    args = parser.parse_args()
    outlets, offer_rows, lounge_rows = catalogue()
    if args.counts:
        print(counts(outlets, offer_rows, lounge_rows))
        return
    write(CATALOGUE_DIR / "merchants.csv", outlets)
    write(CATALOGUE_DIR / "offers.csv", offer_rows)
    write(CATALOGUE_DIR / "lounges.csv", lounge_rows)


if __name__ == "__main__":
    main()
