"""The tier programme as shipped, read once: the unit tests check the rules the service
runs with. Everything else in these tests is pure computation."""

import copy
import tomllib

import pytest

from services.accounts.domain.programme import TierProgramme, parse_programme
from services.accounts.settings import DEFAULT_TIERS_FILE

with DEFAULT_TIERS_FILE.open("rb") as _file:
    _SHIPPED = tomllib.load(_file)


@pytest.fixture
def programme_data() -> dict:
    """The shipped file, parsed but not validated: a fresh copy to vary."""
    return copy.deepcopy(_SHIPPED)


@pytest.fixture(scope="session")
def programme() -> TierProgramme:
    return parse_programme(copy.deepcopy(_SHIPPED))
