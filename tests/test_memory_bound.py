"""A student cannot grow the server's memory: 50 distinct values typed into every text input and given to every
link parameter leave one Streamlit server within a stated bound (every cache is bounded by entries; see the
deploy doc). Driven at the protocol level, as benchmarks/load_test.py drives a class: the query string of a
script run is the link, a widget state is what a student typed."""

import asyncio
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.load_test import Page, connect, free_port, server_cpu_and_rss, start_server
from optviz.scenarios import LESSONS
from optviz.surfaces import SPECS as SURFACES

VALUES = 50
MEMORY_BOUND_MB = 1200  # the server's resident memory after all of it (the deploy doc states this bound)
GROWTH_BOUND_MB = 400  # above what it held after its first pages


def built_in_link(i: int) -> str:
    """The i-th link: a distinct value of every parameter at once (some valid, some not), on a built-in surface."""
    surfaces = [*SURFACES, f"no-such-surface-{i}"]
    lessons = [*LESSONS, f"no-such-lesson-{i}"]
    entry = (f"adam;lr={0.001 + i * 1e-4:.4f};label={quote(f'student {i} <b>')};s=step;s.step_size={10 + i};"
             f"s.gamma=0.{i + 1}")
    return "&".join([
        f"surface={surfaces[i % len(surfaces)]}", f"sp=a:{i},b:{i}", f"start={i * 0.01:.2f},{-i * 0.01:.2f}",
        f"steps={20 + i}", f"opt={quote(entry)}", f"opt=sgd;lr={1e-4 * (i + 1):.5f}", f"tab=Race+{i}",
        f"lesson={lessons[i % len(lessons)]}", f"unknown{i}={i}"])


def custom_link(i: int) -> str:
    return f"surface=custom&f={quote(f'(x - {i})**2 + {i + 1}*y**2')}&steps={20 + i}"


def typed(elements: list, label: str, text: str) -> list[WidgetState]:
    ids = [proto.id for kind, proto in elements if kind == "text_input" and proto.label == label]
    assert ids, f"no text box {label!r} on the page"
    return [WidgetState(id=ids[0], string_value=text)]


async def fifty_of_everything(port: int) -> int:
    """Every link opened by a new student, every text typed in an open page; returns how many exceptions the
    pages showed."""
    shown = []

    async def opened(page: Page, widgets=()) -> list:
        elements = await page.run(widgets)
        shown.extend(kind for kind, _ in elements)
        return elements

    async def student(query: str, box: str | None = None, texts=()) -> None:
        async with connect(port) as ws:
            page = Page(ws, query)
            elements = await opened(page)
            for text in texts:
                await opened(page, typed(elements, box, text))

    for i in range(VALUES):
        await student(built_in_link(i))
        await student(custom_link(i))
    await student(custom_link(0), "f(x, y) =", [f"sin({i + 1}*x) + y**2/{i + 2}" for i in range(VALUES)])
    await student("tab=MNIST", "Hidden layers", [f"{32 + i}, {i + 1}" for i in range(VALUES)])
    return shown.count("exception")


@pytest.fixture
def server():
    port = free_port()
    process = start_server(port)
    yield port, process
    process.kill()
    process.wait()


def test_fifty_distinct_values_of_every_input_leave_the_server_within_its_memory_bound(server):
    port, process = server

    async def first_pages():
        async with connect(port) as ws:
            page = Page(ws, "")
            for query in ("", built_in_link(0), custom_link(0), "tab=MNIST"):
                page.query = query
                await page.run()

    asyncio.run(first_pages())
    _, before = server_cpu_and_rss(process.pid)
    exceptions = asyncio.run(fifty_of_everything(port))
    _, after = server_cpu_and_rss(process.pid)
    print(f"server memory: {before:.0f} MB after its first pages, {after:.0f} MB after {VALUES} distinct values "
          f"of every input")
    assert exceptions == 0 and process.poll() is None
    assert after <= MEMORY_BOUND_MB and after - before <= GROWTH_BOUND_MB


def test_every_cache_in_the_package_is_bounded_and_says_by_how_much():
    """A cache without a bound, or without a word on what its bound costs, is how a student once grew a server
    by a gigabyte: each cache decorator has max_entries/maxsize and a comment on the same line or just above."""
    root = Path(__file__).resolve().parents[1] / "optviz"
    unbounded, unexplained = [], []
    for path in root.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if not re.match(r"\s*@(st\.cache_resource|st\.cache_data|(functools\.)?lru_cache|(functools\.)?cache)\b",
                            line):
                continue
            where = f"{path.relative_to(root.parent)}:{number + 1}"
            if not re.search(r"max_entries=|maxsize=\d", line):
                unbounded.append(where)
            said = "#" in line or any(lines[j].lstrip().startswith("#") for j in range(max(0, number - 4), number))
            if not said and "maxsize=1)" not in line and "max_entries=1," not in line:
                unexplained.append(where)
    assert not unbounded, f"caches without a bound: {unbounded}"
    assert not unexplained, f"caches whose bound is not explained: {unexplained}"
