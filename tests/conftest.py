"""Shared test helpers: the CLI runner and the --update-golden flag."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = ROOT / "architectures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/* from the current output (review the diff)"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def run(*args: str) -> Result:
    """Run the cnncalc CLI in-process; stderr is kept apart from stdout."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text tables fit the terminal: every test sees a 100-column one (as with no terminal), whatever
    the machine running the suite has; a test wanting another width sets COLUMNS itself."""
    monkeypatch.setenv("COLUMNS", "100")


@contextlib.contextmanager
def alarm(seconds: float, expired: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``expired()`` in the block after ``seconds`` (SIGALRM: the main thread of a POSIX
    process), so that a slow case fails, showing itself, instead of stalling the suite."""

    def ring(signum: int, frame: object) -> None:
        raise expired()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
