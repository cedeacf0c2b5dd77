"""The README stays a newcomer's page, its test command is the one CI runs, and docs/lessons.md lists the lessons
the app has."""

import re
from pathlib import Path

from optviz.scenarios import LESSONS

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_is_short_enough_to_read_to_the_end():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150


def test_the_readme_s_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the tests", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[ci.index("# The README's test command:") + 1] == command


def test_the_lessons_page_lists_every_lesson_by_its_link_and_title():
    page = (ROOT / "docs" / "lessons.md").read_text(encoding="utf-8")
    for lesson in LESSONS.values():
        assert f"| `?lesson={lesson.key}` | {lesson.title} |" in page, lesson.key
    assert len(re.findall(r"^\| `\?lesson=", page, re.M)) == len(LESSONS)
