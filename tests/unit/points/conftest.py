"""The programme as shipped, read once: the unit tests check the rules the service runs
with. Everything else in these tests is pure computation."""

import copy
import tomllib

import pytest

from services.points.domain.rules import EarningRules, parse_rules
from services.points.settings import PROGRAMME_FILE

with PROGRAMME_FILE.open("rb") as _file:
    _SHIPPED = tomllib.load(_file)


@pytest.fixture
def programme() -> dict:
    """The shipped programme file, parsed but not validated: a fresh copy to vary."""
    return copy.deepcopy(_SHIPPED)


@pytest.fixture(scope="session")
def rules() -> EarningRules:
    return parse_rules(copy.deepcopy(_SHIPPED))


@pytest.fixture(scope="session")
def counted_rules() -> EarningRules:
    """The shipped programme, but with the tier's uplift counted against the monthly bonus
    cap (`monthly_bonus_counts_tier = true`): the figures of the tests written for it."""
    programme = copy.deepcopy(_SHIPPED)
    programme["caps"]["monthly_bonus_counts_tier"] = True
    return parse_rules(programme)
