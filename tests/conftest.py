import os

import pytest

from tests.infra import real_infrastructure


@pytest.fixture(scope="session")
def infra():
    """The real broker and database, exported to the environment for Settings()."""
    with real_infrastructure() as env:
        os.environ.update(env)
        yield env


def pytest_sessionfinish(session, exitstatus):
    """A skipped test is not a passing one: any skip fails the run (unless a developer
    explicitly allows it locally with LOYALTY_ALLOW_SKIPS=1)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0 and os.environ.get("LOYALTY_ALLOW_SKIPS") != "1":
        reporter.write_line(f"{len(skipped)} test(s) skipped: failing the run", red=True)
        session.exitstatus = 1
