"""Shared test infrastructure: storage on SQLite and PostgreSQL, and a real Chromium.

`scripts/test` provides what these fixtures need (a PostgreSQL at `CXM_TEST_POSTGRES_URL`,
Debian's Chromium). When something is missing the fixtures fail with a message saying so: a test
that cannot run its backend or browser is a failure, never a skip.

- `database_url`: a fresh, empty database per test, once on SQLite and once on PostgreSQL.
- `postgres_server_url`: the PostgreSQL server the throwaway databases are created on.
- `browser` / `page`: Playwright (sync API) on Debian's Chromium; a failing test leaves a
  screenshot in `tests/.artifacts/`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from helpers import YearDemo

# The CLI's consoles (rich) read COLUMNS once, when cxm.cli is imported; pytest-xdist workers
# have it set to 80, which would fix their width before a test's CliRunner(env={"COLUMNS": ...})
# could widen them. Without it they follow the environment of each invocation, as in one process.
os.environ.pop("COLUMNS", None)

# Property tests judge correctness, not speed: the first example of a run can take longer than
# Hypothesis's 200 ms default deadline on a busy 2-core machine (imports, cold caches).
settings.register_profile("cxm", deadline=None)
settings.load_profile("cxm")

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARTIFACTS_DIR = Path(__file__).parent / ".artifacts"

# Headless in containers and CI: no sandbox (root has none), no GPU, and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item so that fixtures can tell, at teardown, whether the
    # test failed (the `page` fixture takes a screenshot then).
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


# --- parallel runs ---------------------------------------------------------------------------
#
# `scripts/test` runs pytest-xdist with `--dist loadfile`: a test file runs whole on one worker,
# so its module fixtures (a live server, a browser) start once. The year-long demo takes minutes
# to build, so every file that uses it is one unit of work, on one worker, and it is built once
# per run: such files are named `*year_demo*` (checked below).
YEAR_DEMO_FILES = "year_demo"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole files per worker, with the year-demo files together (see above)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndYearDemo(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return YEAR_DEMO_FILES if YEAR_DEMO_FILES in Path(path).name else path

    return FilesAndYearDemo(config, log)


# Building the year-long demo takes minutes of CPU (longer while another worker runs), and the
# first test to use it pays for it: that test gets more than pytest-timeout's usual 300 s.
YEAR_DEMO_TIMEOUT_S = 1200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if YEAR_DEMO_FILES in item.path.name:
            item.add_marker(pytest.mark.timeout(YEAR_DEMO_TIMEOUT_S))
    misplaced = sorted(
        {
            item.nodeid.split("::", 1)[0]
            for item in items
            if "year_demo" in getattr(item, "fixturenames", ())
            and YEAR_DEMO_FILES not in item.path.name
        }
    )
    if misplaced:
        raise pytest.UsageError(
            f"{', '.join(misplaced)} use(s) the year_demo fixture: put such tests in a file "
            f"whose name contains {YEAR_DEMO_FILES!r}, so that parallel runs build it once"
        )


def _libpq_conninfo(url: URL) -> str:
    """psycopg wants a libpq URL: the SQLAlchemy one without its `+psycopg` driver suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- storage ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL server, checked to answer."""
    url = os.environ.get("CXM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        psycopg.connect(_libpq_conninfo(make_url(url)), connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(
            f"no PostgreSQL answers at CXM_TEST_POSTGRES_URL={url} ({exc}). Run the tests with "
            "scripts/test, which starts one, or point CXM_TEST_POSTGRES_URL at a server where "
            "this user may CREATE DATABASE.",
            pytrace=False,
        )
    return url


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database of its own for this test, on SQLite and on PostgreSQL.

    The PostgreSQL database is dropped afterwards even if the test left connections open, but
    dispose of your engines anyway (`engine.dispose()`): psycopg warns about connections that are
    garbage-collected while open, and warnings are errors here.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cxm.db"
        return

    server = make_url(request.getfixturevalue("postgres_server_url"))
    name = f"cxm_test_{secrets.token_hex(6)}"
    admin = _libpq_conninfo(server)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium (or `CXM_TEST_CHROMIUM`)."""
    path = os.environ.get("CXM_TEST_CHROMIUM", DEFAULT_CHROMIUM)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"no Chromium at {path}. Run the tests with scripts/test, which installs Debian's "
            "chromium package, or set CXM_TEST_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    return path


# Module scope, not session: while Playwright's sync API is running it marks its event loop as
# the thread's running loop, so `asyncio.run()`, anyio tests and async fixtures fail in the main
# thread ("cannot be called from a running event loop"). Closing it after each module confines
# that to the browser tests' own modules, for about 0.6 s per module.
@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """A headless Chromium, driven by Playwright's sync API, shared by a module's tests.

    Don't use asyncio in the main thread of a module that uses the browser (see above).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (own cookies and storage) for each test."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context()
    try:
        page = context.new_page()
        yield page
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS_DIR / (re.sub(r"[^\w.-]+", "_", request.node.nodeid) + ".png")
            # A page that crashed cannot be photographed; the test's own failure says enough.
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=shot, full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="session")
def year_demo(tmp_path_factory: pytest.TempPathFactory) -> YearDemo:
    """Shared by the insights tests in-process and in the browser: building it takes a minute
    or two, so it is built once (SQLite, the embedded default)."""
    import orjson

    from cxm.config import Settings
    from cxm.demo import build_demo
    from cxm.demo.build import do_issue_demo_token
    from cxm.workspace import Workspace
    from helpers import YearDemo as Demo

    path = tmp_path_factory.mktemp("year-demo")
    with Workspace.open(settings=Settings(workspace=path)) as ws:
        ws.initialise()
        build_demo(ws, customers=1000, days=365)
        token = do_issue_demo_token(ws)
    truth = orjson.loads((path / "demo" / "ground_truth.json").read_bytes())
    return Demo(path=path, token=token, truth=truth)
