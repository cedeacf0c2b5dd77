"""Reading the app's tables (text formatted for display, optviz.ui.controls.table) back as numbers."""

import pandas as pd


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
    return numbers(next(t.value for t in at.table if column in t.value.columns))
