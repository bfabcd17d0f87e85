# ruff: noqa: E501  (data tables: CJK names count double width)
"""Regenerates the rewards service's demo catalogue (services/rewards/catalogue/offers.csv,
lounges.csv). The output is committed; run `python -m tools.catalogue` only to change it.
Seeded, so the same script always writes the same files."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from contracts.tiers import TIERS
from services.rewards.settings import CATALOGUE_DIR

# industry -> merchants (realistic alliance partners) and offer templates:
# (title pattern, points price or None, discount percent or None, limit, period)
MERCHANTS: dict[str, list[str]] = {
    "coffee": ["星巴克", "瑞幸咖啡", "Manner Coffee", "Tims天好咖啡", "Costa咖啡", "Seesaw Coffee",
               "M Stand", "挪瓦咖啡"],
    "tea": ["喜茶", "奈雪的茶", "蜜雪冰城", "茶百道", "古茗", "霸王茶姬", "沪上阿姨", "CoCo都可"],
    "dining": ["海底捞火锅", "西贝莜面村", "外婆家", "绿茶餐厅", "太二酸菜鱼", "眉州东坡", "全聚德",
               "鼎泰丰", "呷哺呷哺", "小龙坎火锅", "点都德", "广州酒家", "南京大牌档", "九毛九",
               "陶陶居", "大董烤鸭"],
    "fast_food": ["肯德基", "麦当劳", "必胜客", "汉堡王", "德克士", "真功夫", "老乡鸡", "塔斯汀"],
    "travel": ["中国国际航空", "中国东方航空", "中国南方航空", "海南航空", "携程旅行", "同程旅行",
               "飞猪旅行", "12306铁路畅行"],
    "hotels": ["华住会", "锦江酒店", "首旅如家", "亚朵酒店", "万豪旅享家", "洲际酒店集团", "希尔顿荣誉客会",
               "香格里拉酒店", "开元酒店", "全季酒店"],
    "retail": ["苏宁易购", "国美电器", "名创优品", "屈臣氏", "丝芙兰", "优衣库", "无印良品", "周大福",
               "老凤祥", "李宁", "安踏"],
    "supermarket": ["盒马鲜生", "永辉超市", "华润万家", "大润发", "沃尔玛", "山姆会员商店", "物美",
                    "联华超市"],
    "ecommerce": ["京东", "天猫", "拼多多", "唯品会", "当当"],
    "cinema": ["万达影城", "CGV影城", "博纳国际影城", "金逸影城", "大地影院", "横店电影城", "猫眼电影",
               "淘票票"],
    "fitness": ["超级猩猩", "乐刻运动", "威尔士健身", "一兆韦德", "Keep", "金仕堡健身"],
    "car_services": ["中国石化", "中国石油", "途虎养车", "滴滴出行", "曹操出行", "e代驾"],
    "entertainment": ["上海迪士尼乐园", "北京环球度假区", "长隆旅游度假区", "方特欢乐世界", "欢乐谷",
                      "故宫博物院文创"],
}

TEMPLATES: dict[str, list[tuple[str, int | None, int | None, int, str]]] = {
    "coffee": [("中杯饮品兑换券", 800, None, 2, "month"), ("大杯饮品兑换券", 1000, None, 2, "month"),
               ("饮品8折券", None, 20, 4, "month")],
    "tea": [("任意饮品一杯", 700, None, 2, "month"), ("第二杯半价券", None, 25, 4, "month")],
    "dining": [("100元代金券", 8000, None, 2, "month"), ("200元代金券", 15000, None, 1, "month"),
               ("用餐88折", None, 12, 4, "month")],
    "fast_food": [("超值套餐兑换券", 2500, None, 4, "month"), ("20元代金券", 1800, None, 4, "month"),
                  ("早餐兑换券", 1200, None, 4, "month")],
    "travel": [("机票立减100元", 9000, None, 2, "year"), ("酒店+机票套餐9折", None, 10, 2, "year"),
               ("贵宾值机服务", 6000, None, 2, "year")],
    "hotels": [("高级客房一晚", 45000, None, 2, "year"), ("会员房价9折", None, 10, 6, "year"),
               ("行政酒廊下午茶", 12000, None, 2, "year"),
               ("延迟退房至16点", 5000, None, 4, "year")],
    "retail": [("50元购物券", 4500, None, 2, "month"), ("满500减50", None, 10, 2, "month"),
               ("会员日9折", None, 10, 1, "month")],
    "supermarket": [("30元购物卡", 2800, None, 2, "month"), ("生鲜95折", None, 5, 4, "month"),
                    ("100元购物卡", 9000, None, 1, "month")],
    "ecommerce": [("20元无门槛券", 1900, None, 2, "month"), ("PLUS会员月卡", 3000, None, 1, "year")],
    "cinema": [("2D电影票一张", 3500, None, 2, "month"), ("IMAX电影票一张", 6000, None, 1, "month"),
               ("爆米花套餐", 1500, None, 2, "month")],
    "fitness": [("单次团课体验", 4000, None, 2, "month"), ("月卡8折", None, 20, 1, "year")],
    "car_services": [("加油立减30元", 2800, None, 2, "month"), ("洗车一次", 2000, None, 2, "month"),
                     ("出行券20元", 1800, None, 4, "month")],
    "entertainment": [("单日门票9折", None, 10, 2, "year"), ("快速通道一次", 20000, None, 1, "year")],
}

CITIES = [  # airport code, city, terminals
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
]
OPERATORS = [("ptn_dragonpass", "龙腾出行"), ("ptn_airport_vip", "机场贵宾服务公司"),
             ("ptn_ctrip_lounge", "携程贵宾厅")]


def offers(rng: random.Random) -> list[dict]:
    rows = []
    start = date(2026, 1, 1)
    for industry, merchants in MERCHANTS.items():
        for m_index, merchant in enumerate(merchants):
            for t_index, (title, points, discount, limit, period) in enumerate(TEMPLATES[industry]):
                # Gold and above for the dearer offers; everyone for the small ones.
                tiers = TIERS[1:] if (points or 0) >= 10000 else TIERS
                if rng.random() < 0.1:
                    tiers = TIERS[2:]
                valid_from = start + timedelta(days=rng.choice((0, 0, 0, 31, 59)))
                rows.append({
                    "offer_id": f"off_{industry}_{m_index:02d}_{t_index}",
                    "merchant": merchant,
                    "industry": industry,
                    "title": f"{merchant} {title}",
                    "points_price": points or "",
                    "discount_percent": discount or "",
                    "valid_from": valid_from.isoformat(),
                    "valid_until": date(2027, 12, 31).isoformat(),
                    "eligible_tiers": "|".join(tiers),
                    "limit_per_period": limit,
                    "period": period,
                })
    return rows


def lounges(rng: random.Random) -> list[dict]:
    rows = []
    for code, city, terminals in CITIES:
        for terminal in terminals:
            for n in range(1, rng.choice((2, 3)) + 1):
                operator_id, operator = OPERATORS[(n + len(rows)) % len(OPERATORS)]
                rows.append({
                    "lounge_id": f"{code}-{terminal if terminal.isascii() else 'T1'}-{n:02d}",
                    "airport_code": code,
                    "city": city,
                    "terminal": terminal,
                    "name": f"{city}{terminal}航站楼贵宾休息室{n}号",
                    "operator_id": operator_id,
                    "operator": operator,
                })
    return rows


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(5)
    write(CATALOGUE_DIR / "offers.csv", offers(rng))
    write(CATALOGUE_DIR / "lounges.csv", lounges(rng))


if __name__ == "__main__":
    main()
