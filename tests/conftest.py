import os

import pytest

from tests.infra import real_infrastructure


@pytest.fixture(scope="session")
def infra():
    """The real broker and database, exported to the environment for Settings()."""
    with real_infrastructure() as env:
        os.environ.update(env)
        yield env
