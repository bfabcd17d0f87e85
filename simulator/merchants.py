# ruff: noqa: E501  (one catalogue row per line reads better than wrapped tuples)
"""Catalogue of card spend: categories with their MCCs, brands, weights and ticket sizes.

Weights are shares of transaction count (they sum to about 100); `median_cny` and `sigma`
parameterise a lognormal ticket size; `round_to` makes ATM and top-up amounts round.
Excluded categories (cash, quasi-cash, transfers, gambling, government, charity, rent) come
at low but realistic rates so that every rule of the programme gets exercised; utilities,
universities and hospitals, listed with the earning ones, are excluded by the programme too
(services/points/programme.toml).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    weight: float
    median_cny: float
    sigma: float
    brands: tuple[tuple[str, str], ...]  # (mcc, brand)
    round_to: int = 0  # 0: cents; else whole multiples of this many CNY
    refundable: bool = True
    online: str | None = None  # the city online merchants are registered in
    naming: str = "{brand}({city}店)"  # how the acquirer names one outlet


def _same(mcc: str, *brands: str) -> tuple[tuple[str, str], ...]:
    return tuple((mcc, brand) for brand in brands)


CATEGORIES: tuple[Category, ...] = (
    Category("supermarket", 18, 120, 0.8, _same("5411", "永辉超市", "沃尔玛", "华润万家", "盒马鲜生", "大润发", "家乐福", "物美超市")),
    Category("restaurant", 10, 180, 0.7, _same("5812", "海底捞火锅", "西贝莜面村", "外婆家", "全聚德", "太二酸菜鱼", "眉州东坡", "小龙坎火锅")),
    Category("bar", 2, 260, 0.6, _same("5813", "海伦司小酒馆", "胡桃里音乐酒馆", "贰麻酒馆")),
    Category("fast food and coffee", 11, 38, 0.5, _same("5814", "麦当劳", "肯德基", "瑞幸咖啡", "星巴克", "喜茶", "蜜雪冰城", "老乡鸡")),
    Category("fuel", 6, 300, 0.35, _same("5541", "中国石化加油站", "中国石油加油站", "壳牌加油站", "中海油加油站")),
    Category("department store", 4, 480, 0.9, _same("5311", "王府井百货", "银泰百货", "新世界百货", "百盛购物中心", "久光百货")),
    Category("online marketplace", 12, 150, 1.0, _same("5399", "京东商城", "天猫", "拼多多", "苏宁易购", "唯品会"), online="北京", naming="{brand}"),
    Category("miscellaneous retail", 4, 90, 0.8, _same("5999", "名创优品", "泡泡玛特", "晨光文具", "无印良品")),
    Category("clothing", 4, 350, 0.7, _same("5651", "优衣库", "ZARA", "海澜之家", "安踏")),
    Category("electronics", 1.5, 2200, 0.9, _same("5732", "Apple Store", "小米之家", "华为体验店")),
    Category("ride hailing", 5, 32, 0.6, _same("4121", "滴滴出行", "曹操出行", "T3出行"), naming="{brand}"),
    Category("travel agency", 1, 1800, 0.8, _same("4722", "携程旅行", "同程旅行", "飞猪旅行"), online="上海", naming="{brand}"),
    Category("domestic airline", 1.5, 1300, 0.6, _same("4511", "中国国际航空", "中国东方航空", "中国南方航空", "海南航空", "春秋航空", "厦门航空"), naming="{brand}"),
    Category("international airline", 0.5, 4200, 0.6, (("3000", "United Airlines"), ("3005", "British Airways"), ("3007", "Air France"), ("3008", "Lufthansa"), ("3026", "Emirates"), ("3075", "Singapore Airlines"), ("3099", "Cathay Pacific")), naming="{brand}"),
    Category("hotel chain", 0.8, 900, 0.6, (("3501", "假日酒店"), ("3503", "喜来登酒店"), ("3504", "希尔顿酒店"), ("3509", "万豪酒店"), ("3640", "凯悦酒店")), naming="{city}{brand}"),
    Category("hotel", 1.7, 420, 0.5, _same("7011", "锦江之星", "如家酒店", "汉庭酒店", "全季酒店", "亚朵酒店")),
    Category("utilities", 3, 180, 0.6, _same("4900", "国家电网", "自来水公司", "燃气集团"), naming="{city}{brand}"),
    Category("telecom", 3, 100, 0.4, _same("4814", "中国移动", "中国联通", "中国电信"), naming="{brand}{city}分公司"),
    Category("university", 0.4, 5000, 0.8, _same("8220", "复旦大学", "浙江大学", "中山大学", "四川大学", "武汉大学"), naming="{brand}"),
    Category("hospital", 1.2, 350, 1.1, _same("8062", "第一人民医院", "中心医院", "妇幼保健院", "中医院"), naming="{city}市{brand}"),
    Category("pharmacy", 2.5, 85, 0.7, _same("5912", "老百姓大药房", "大参林", "益丰大药房", "一心堂", "海王星辰")),
    # Excluded from earning.
    Category("atm cash", 0.8, 1000, 0.6, _same("6011", "工商银行ATM", "建设银行ATM", "招商银行ATM", "农业银行ATM"), round_to=100, refundable=False, naming="{brand}({city})"),
    Category("counter cash", 0.1, 3000, 0.6, _same("6010", "银行柜台取现"), round_to=100, refundable=False, naming="{brand}({city})"),
    Category("securities", 0.3, 5000, 1.0, _same("6012", "华泰证券", "中信证券", "东方财富证券"), refundable=False, naming="{brand}{city}营业部"),
    Category("quasi-cash top-up", 0.4, 500, 0.9, _same("6051", "支付宝余额充值", "微信零钱充值"), round_to=10, refundable=False, online="上海", naming="{brand}"),
    Category("money transfer", 0.2, 3000, 1.0, _same("4829", "西联汇款", "速汇金"), refundable=False, naming="{brand}({city})"),
    Category("lottery", 0.2, 50, 0.8, _same("7995", "中国福利彩票", "中国体育彩票"), round_to=2, refundable=False, naming="{brand}({city}投注站)"),
    Category("tax", 0.15, 1500, 1.0, _same("9311", "税务局"), refundable=False, naming="国家税务总局{city}市{brand}"),
    Category("government services", 0.15, 200, 0.7, _same("9399", "出入境管理局", "车辆管理所"), round_to=10, naming="{city}市{brand}"),
    Category("fines", 0.1, 200, 0.4, _same("9222", "交通违法罚款"), round_to=50, refundable=False, naming="{city}市{brand}"),
    Category("charity", 0.1, 200, 1.0, _same("8398", "中国红十字基金会", "壹基金", "中华慈善总会"), round_to=10, refundable=False, naming="{brand}"),
    Category("rent", 0.3, 4500, 0.5, _same("6513", "链家", "我爱我家", "自如"), round_to=100, naming="{brand}({city})"),
)  # fmt: skip

#: Cities where customers shop when they are not at home.
TRAVEL_CITIES = ("三亚", "厦门", "昆明", "丽江", "青岛", "苏州", "长沙", "天津", "大连", "桂林")


@dataclass(frozen=True, slots=True)
class Destination:
    city: str
    country: str
    currency: str
    cny_per_unit: float
    minor_digits: int
    merchants: tuple[tuple[str, str], ...]  # (mcc, name)


#: Spend abroad: settled in CNY, charged in the local currency.
DESTINATIONS: tuple[Destination, ...] = (
    Destination("Hong Kong", "HK", "HKD", 0.92, 2, (("5812", "Tim Ho Wan"), ("5311", "SOGO Causeway Bay"), ("5999", "DFS Galleria"), ("7011", "The Peninsula Hong Kong"), ("3099", "Cathay Pacific"))),
    Destination("Tokyo", "JP", "JPY", 0.048, 0, (("5812", "Ichiran Ramen"), ("5311", "Isetan Shinjuku"), ("5912", "Matsumoto Kiyoshi"), ("5999", "Don Quijote"), ("3504", "Hilton Tokyo"))),
    Destination("Singapore", "SG", "SGD", 5.35, 2, (("5812", "Din Tai Fung"), ("7011", "Marina Bay Sands"), ("3075", "Singapore Airlines"))),
    Destination("Bangkok", "TH", "THB", 0.2, 2, (("5812", "Jay Fai"), ("5311", "Siam Paragon"), ("3509", "Marriott Bangkok"))),
    Destination("Seoul", "KR", "KRW", 0.0052, 0, (("5311", "Lotte Department Store"), ("5999", "Olive Young"))),
    Destination("Paris", "FR", "EUR", 7.8, 2, (("5311", "Galeries Lafayette"), ("5812", "Le Jules Verne"), ("3007", "Air France"))),
    Destination("London", "GB", "GBP", 9.1, 2, (("5311", "Harrods"), ("3005", "British Airways"))),
    Destination("New York", "US", "USD", 7.18, 2, (("5732", "Apple Fifth Avenue"), ("3000", "United Airlines"), ("3640", "Park Hyatt New York"))),
    Destination("Kuwait City", "KW", "KWD", 23.4, 3, (("5311", "The Avenues"),)),
)  # fmt: skip
DESTINATION_WEIGHTS = (30, 20, 12, 10, 8, 6, 5, 8, 1)
