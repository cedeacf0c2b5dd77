"""Reading the app's tables (Markdown tables of text formatted for display, optviz.ui.controls.table) back: as
text, or with numbers as numbers."""

import re

import pandas as pd

_UNESCAPE = re.compile(r"\\(.)")
_CELL_BORDER = re.compile(r"(?<!\\)\|")


def tables(at) -> list[pd.DataFrame]:
    """Every table of the page, its cells as the text shown."""
    frames = []
    for element in at.markdown:
        lines = element.value.split("\n\n")[0].splitlines()  # (a note may follow the table)
        if len(lines) >= 2 and lines[0].startswith("| ") and set(lines[1]) <= set("|-: "):
            header, *body = [_cells(line) for line in lines[:1] + lines[2:]]
            frames.append(pd.DataFrame(body, columns=header))
    return frames


def _cells(line: str) -> list[str]:
    return [_UNESCAPE.sub(r"\1", cell.strip()) for cell in _CELL_BORDER.split(line.strip())[1:-1]]


def cell_value(text):
    """A displayed cell as a number where it reads as one ("1,234" → 1234, "97.12%" → 97.12); "—" (no value) →
    None; any other text as it is."""
    if text == "—":
        return None
    try:
        return float(text.replace(",", "").removesuffix("%"))
    except (AttributeError, ValueError):
        return text


def numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(cell_value)


def table_with(at, column: str) -> pd.DataFrame:
    """The first table of the page that has `column`, its cells read back as numbers."""
    return numbers(next(frame for frame in tables(at) if column in frame.columns))
