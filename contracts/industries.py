"""The alliance catalogue's industries and which card purchases count towards each: the one
definition the points service (spending profiles), rewards (recommendations) and
notifications (English names) share. A merchant category code (MCC, ISO 18245) may count
towards more than one industry (5814 is fast food and coffee shops alike); codes not listed
count towards none (cash, taxes, utilities)."""

from typing import Literal, get_args

Industry = Literal["coffee", "tea", "dining", "fast_food", "travel", "hotels", "retail",
                   "supermarket", "ecommerce", "cinema", "fitness", "car_services",
                   "entertainment", "beauty", "medical", "financial", "golf", "education"]
INDUSTRIES: tuple[Industry, ...] = get_args(Industry)

#: How each industry reads in English (a Chinese-only offer title falls back to it).
ENGLISH: dict[Industry, str] = {
    "coffee": "Coffee", "tea": "Tea", "dining": "Dining", "fast_food": "Fast food",
    "travel": "Travel", "hotels": "Hotels", "retail": "Shopping",
    "supermarket": "Supermarket", "ecommerce": "Online shopping", "cinema": "Cinema",
    "fitness": "Fitness", "car_services": "Car services", "entertainment": "Theme parks",
    "beauty": "Beauty", "medical": "Health", "financial": "Financial services",
    "golf": "Golf", "education": "Education",
}

_SINGLE: dict[str, tuple[Industry, ...]] = {
    "5411": ("supermarket",), "5422": ("supermarket",), "5499": ("supermarket",),
    "5812": ("dining",), "5813": ("dining",),
    "5814": ("fast_food", "coffee", "tea"),
    "5541": ("car_services",), "5542": ("car_services",), "4121": ("car_services",),
    "7538": ("car_services",), "7542": ("car_services",), "7523": ("car_services",),
    "5311": ("retail",), "5651": ("retail",), "5691": ("retail",), "5732": ("retail",),
    "5944": ("retail",), "5977": ("retail",), "5999": ("retail",), "5310": ("retail",),
    "5399": ("ecommerce",), "5964": ("ecommerce",),
    "4511": ("travel",), "4722": ("travel",), "4112": ("travel",), "4411": ("travel",),
    "7011": ("hotels",),
    "7832": ("cinema",),
    "7997": ("fitness",), "7941": ("fitness",),
    "7996": ("entertainment",), "7998": ("entertainment",), "7991": ("entertainment",),
    "7230": ("beauty",), "7298": ("beauty",),
    "8062": ("medical",), "8011": ("medical",), "8021": ("medical",), "8042": ("medical",),
    "8099": ("medical",), "5912": ("medical",),
    "6012": ("financial",), "6300": ("financial",), "6211": ("financial",),
    "7992": ("golf",),
    "8220": ("education",), "8299": ("education",), "8211": ("education",),
}


def industries_of(mcc: str) -> tuple[Industry, ...]:
    """The industries a purchase with this MCC counts towards (none: an empty tuple).
    3000-3299 are airlines by name, 3501-3999 hotel chains by name."""
    if mcc.isdigit() and 3000 <= int(mcc) <= 3299:
        return ("travel",)
    if mcc.isdigit() and 3501 <= int(mcc) <= 3999:
        return ("hotels",)
    return _SINGLE.get(mcc, ())
