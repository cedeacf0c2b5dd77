"""Every relative link and image in README.md and docs/*.md points to a file that exists, and every #anchor to a
heading of that file, as GitHub names it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are code, not links."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not - or _), each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors on its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")  # GitHub numbers repeated headings
    return out


def links(page: Path) -> list[str]:
    targets = LINK.findall(prose(page.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]  # no http:, mailto: …


def test_github_s_anchor_names():
    assert slug("Sweeps & basins") == "sweeps--basins"
    assert slug("The engines: compiled, once") == "the-engines-compiled-once"
    assert slug("Real data: full batch, mini-batch, single example") == "real-data-full-batch-mini-batch-single-example"
    assert slug("`optviz[notebook]` and eps_placement") == "optviznotebook-and-eps_placement"


def test_the_link_finder_sees_links_and_images_but_not_code():
    page = "[a](x.md) ![pic](docs/p.png \"title\") `[no](code.md)`\n```\n[no](block.md)\n```\n[web](https://e.org)"
    assert LINK.findall(prose(page)) == ["x.md", "docs/p.png", "https://e.org"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_points_to_an_existing_file(page):
    missing = []
    for target in links(page):
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    assert not missing, f"{page.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_names_a_heading_of_the_page_it_points_to(page):
    broken = []
    for target in links(page):
        path, hash_, anchor = target.partition("#")
        if not hash_:
            continue
        linked = (page.parent / path) if path else page
        if linked.suffix != ".md" or not linked.is_file() or anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to anchors that no heading makes: {broken}"
