"""Constrained field types shared by the event contracts.

Money travels as a decimal string ("1288.00"): floats cannot hold cents exactly. The JSON
Schema states the wire form; the pydantic constraints reject what a string pattern cannot
(more digits than a ledger holds, NaN, infinity).
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, PlainSerializer, StringConstraints, WithJsonSchema

#: Core-banking customer number: "C" followed by 10 digits, e.g. "C0012345678".
#: The loyalty member id is the same value.
CUSTOMER_ID_PATTERN = r"^C[0-9]{10}$"
CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
MemberId = CustomerId

#: Identifiers minted by a producer (transactions, refunds, debits): opaque, bounded.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]

#: ISO 18245 merchant category code.
Mcc = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]

#: Timestamps must carry their offset; a naive time is ambiguous across Asia/Shanghai and UTC.
Timestamp = AwareDatetime

# Plain regexes without look-around, so that any JSON Schema validator can run them.
_AMOUNT = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"
_POSITIVE_CNY = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?)$"
_POSITIVE_FOREIGN = r"^(0\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9])|[1-9][0-9]{0,11}(\.[0-9]{1,3})?)$"
# Fixed-point text even for Decimals produced by arithmetic ("1E+2" would break the pattern).
PLAIN_DECIMAL = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")

#: A CNY amount >= 0 with at most 2 decimal places.
CnyAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PLAIN_DECIMAL,
    WithJsonSchema({"type": "string", "pattern": _AMOUNT}),
]

#: A CNY amount > 0 with at most 2 decimal places.
PositiveCnyAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=2),
    PLAIN_DECIMAL,
    WithJsonSchema({"type": "string", "pattern": _POSITIVE_CNY}),
]

#: An amount in any currency, > 0. Three decimal places because some currencies have
#: three minor digits (KWD, BHD, OMR, JOD, TND).
PositiveForeignAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=15, decimal_places=3),
    PLAIN_DECIMAL,
    WithJsonSchema({"type": "string", "pattern": _POSITIVE_FOREIGN}),
]

#: ISO 4217 alphabetic currency code.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
