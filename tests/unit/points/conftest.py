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
