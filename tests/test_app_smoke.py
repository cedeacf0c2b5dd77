"""The app starts and shows a race table (the full explorer has its own tests)."""

from streamlit.testing.v1 import AppTest


def test_app_starts_without_exceptions_and_shows_results():
    at = AppTest.from_file("../app.py").run(timeout=60)
    assert not at.exception
    assert len(at.table) == 1
