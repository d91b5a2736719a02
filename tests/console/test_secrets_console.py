"""The console never shows a password from its URL: not in the header, on the screens,
in toasts, in the "cannot open" message, nor in the traceback of a crash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Static

from console.app import EventdeckApp
from console.screenshots import SIZE, open_console, wait_until
from stores import normalise_url
from tests.console.helpers import messages, screen_text, static_text

SECRET = "s3cr3tpw"
UNREACHABLE = f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/test"


def shown(app: EventdeckApp) -> str:
    """Everything the operator can see: screen, title, subtitle and toasts."""
    return "\n".join([screen_text(app), app.title, app.sub_title, *messages(app)])


async def test_an_unreachable_server_is_said_without_the_password() -> None:
    app = EventdeckApp(UNREACHABLE, cursor_blink=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        opening = app.query_one("#opening", Static)
        await wait_until(pilot, lambda: "Cannot open" in static_text(opening), "the failure")
        text = shown(app)
        assert "postgres:***@127.0.0.1:1/test" in text
        assert SECRET not in text and SECRET not in static_text(opening)


async def test_a_crash_traceback_is_printed_without_locals_or_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = EventdeckApp(UNREACHABLE, cursor_blink=False)

    def crash() -> None:
        url = UNREACHABLE  # a local, as Textual would print it
        raise RuntimeError(f"lost the connection to {url}")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(crash)
            await pilot.pause(0.2)
    printed = " ".join(capsys.readouterr().err.split())  # what Textual printed, unwrapped
    assert "RuntimeError: lost the connection to postgresql+asyncpg://postgres:***@" in printed
    assert SECRET not in printed and "url =" not in printed  # no locals


@pytest.fixture
def secret_url(empty_pg: str) -> Iterator[str]:
    url = normalise_url(empty_pg)
    if url.password:
        pytest.skip("the test server's URL has its own password")
    yield url.set(password=SECRET).render_as_string(hide_password=False)


@pytest.mark.postgres
async def test_the_console_on_a_server_shows_no_password(secret_url: str) -> None:
    app = EventdeckApp(secret_url, read_only=False, cursor_blink=False, poll_seconds=0.1)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await pilot.pause(0.3)
        for key in ("l", "a", "p", "x", "g", "c", "d"):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert SECRET not in shown(app), key
        assert "postgres:***@" in app.sub_title
        app.notify(f"driver error on {secret_url}", title=f"from {secret_url}")
        await pilot.pause(0.1)
        assert "postgres:***@" in messages(app)[-1]
        assert SECRET not in shown(app)
