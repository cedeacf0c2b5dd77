"""Reading a CSV file into a Table: what is read, and every bad file's message, naming the row (as a spreadsheet
numbers it, the header being row 1) and the column. Also the bundled tables and where they come from."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optviz.datasets import (
    BUNDLED,
    DATA_DIR,
    MAX_BYTES,
    MAX_ROWS,
    bundled_table,
    linear_model_from,
    logistic_model_from,
    read_table,
    suggest_columns,
)

ROOT = Path(__file__).resolve().parents[1]


def message(function, *args) -> str:
    with pytest.raises(ValueError) as error:
        function(*args)
    return str(error.value)


# ---------------------------------------------------------------------------------------------------------------
# What is read

def test_a_table_has_its_columns_as_numbers_the_spreadsheet_row_numbers_and_the_files_digest():
    data = b"hours,score,passed\n1.5,50,0\n2,55,0\n\n3,61,1\n"
    table = read_table(data, "grades.csv")
    assert table.name == "grades.csv" and table.names == ("hours", "score", "passed")
    np.testing.assert_array_equal(table.numbers("hours"), [1.5, 2, 3])
    assert table.rows.tolist() == [2, 3, 5]  # the blank row 4 is skipped and keeps its number
    assert table.digest == hashlib.sha256(data).hexdigest()
    assert table.numeric_columns() == ["hours", "score", "passed"]


@pytest.mark.parametrize("data", [
    b"x;y\n1.5;2\n3;4\n",              # semicolons
    b"x\ty\n1.5\t2\n3\t4\n",           # tabs
    b"\xef\xbb\xbfx,y\r\n1.5,2\r\n3,4\r\n",  # a byte-order mark and Windows line ends
    b"x,y\r1.5,2\r3,4\r",              # old Mac line ends
    "x,y\n1.5,2\n3,4\n".encode("utf-16"),   # Excel's "Unicode text"
    b'"x", y,\n 1.5 ,"2",\n3, 4,\n',  # quotes, spaces, and a spreadsheet's trailing commas
])
def test_the_usual_dialects_of_a_spreadsheets_csv_read_the_same(data):
    table = read_table(data)
    assert table.names == ("x", "y")
    np.testing.assert_array_equal(table.values, [[1.5, 2], [3, 4]])


def test_a_first_row_of_numbers_is_data_and_the_columns_are_named_by_their_letters():
    table = read_table(b"1,2\n3,4\n5,7\n")
    assert table.names == ("A", "B") and table.rows.tolist() == [1, 2, 3]
    assert "Row 2, column B: 'oops'" in message(linear_model_from, read_table(b"1,2\n3,oops\n5,7\n"), "A", "B")


def test_a_column_name_in_latin_1_is_read():
    assert read_table("température,y\n1,2\n3,4\n".encode("cp1252")).names == ("température", "y")


def test_a_blank_column_name_is_the_columns_letter():
    assert read_table(b"x,,y\n1,2,3\n4,5,6\n").names == ("x", "B", "y")


# ---------------------------------------------------------------------------------------------------------------
# Bad files: one message each, in words, naming the row and the column

def test_a_file_over_5_mb_is_refused_with_the_limits():
    assert MAX_BYTES == 5 * 2**20
    text = message(read_table, b"a,b\n" + b"1,2\n" * (MAX_BYTES // 4 + 1))
    assert text == "The file is 5.1 MB: too large (the limits are 5 MB and 100,000 rows)."


def test_a_file_of_more_than_100000_rows_is_refused_naming_the_first_row_beyond():
    assert MAX_ROWS == 100_000
    text = message(read_table, b"a,b\n" + b"1,2\n" * (MAX_ROWS + 1))
    assert text == ("The file has more than 100,000 rows of data (row 100,002 is beyond them): too large (the limits "
                    "are 5 MB and 100,000 rows).")
    assert read_table(b"a,b\n" + b"1,2\n" * MAX_ROWS).n == MAX_ROWS  # the limit itself is fine


@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    assert message(read_table, data) == "The file is empty: a CSV needs a row of column names and rows of numbers."


@pytest.mark.parametrize("data", [b"PK\x03\x04\x14\x00\x06\x00", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_a_workbook_or_a_picture_is_not_a_csv(data):
    assert message(read_table, data) == (
        "This is not a CSV file: it holds binary data (a spreadsheet workbook or a picture?). Save it from your "
        "spreadsheet as CSV (comma-separated values).")


def test_a_single_column_is_not_a_table_of_a_model():
    assert message(read_table, b"\nheight\n1\n2\n") == (
        "Row 2 has a single column ('height'): a CSV needs at least two columns, separated by commas.")


def test_an_unclosed_quote_is_not_valid_csv_at_its_row():
    assert message(read_table, b'a,b\n1,2\n3,"4\n5,6\n') == (
        "Row 3 is not valid CSV (unexpected end of data): save the file from a spreadsheet as CSV.")


def test_a_cell_beyond_the_named_columns_names_its_row_and_column():
    assert message(read_table, b"a,b\n1,2\n3,4,9\n") == (
        "Row 3, column C: '9' is beyond the 2 columns of row 1, the first.")


def test_two_columns_of_one_name_are_refused():
    assert message(read_table, b"x,y,x\n1,2,3\n4,5,6\n") == (
        "Row 1: columns A and C are both named 'x': every column needs its own name.")


def test_a_header_alone_or_a_single_row_of_data_is_too_little():
    assert message(read_table, b"a,b\n") == "The file has no rows of data below its header (row 1)."
    assert message(read_table, b"a,b\n1,2\n") == (
        "The file has a single row of data (row 2): a model needs at least two.")


GRADES = b"hours,score,passed,group\n1,50,0,a\n2,abc,0,b\n3,61,1,c\n4,,1,d\n5,NA,2,e\n6,70,1\n"


def test_a_cell_that_is_not_a_number_is_reported_when_its_column_is_used():
    table = read_table(GRADES)  # reading is fine: the bad cells are in columns a model may not use
    assert table.numeric_columns() == ["hours", "passed"]
    assert message(linear_model_from, table, "hours", "score") == "Row 3, column B ('score'): 'abc' is not a number."
    assert message(linear_model_from, table, "group", "hours") == "Row 2, column D ('group'): 'a' is not a number."


def test_a_decimal_comma_says_how_to_write_it():
    table = read_table(b"x;y\n1;3,5\n2;4\n")
    assert message(linear_model_from, table, "x", "y") == (
        "Row 2, column B ('y'): '3,5' is not a number. Write decimals with a point (3.5, not 3,5).")


@pytest.mark.parametrize("data, expected", [
    (b"x,y\n1,2\n3,\n5,6\n", "Row 3, column B ('y') is empty: every row needs a number in the columns of the model."),
    (b"x,y\n1,2\n3\n5,6\n", "Row 3, column B ('y') is empty: every row needs a number in the columns of the model."),
    (b"x,y\n1,2\n3,NA\n5,6\n", "Row 3, column B ('y') is empty ('NA'): every row needs a number in the columns of "
                               "the model."),
    (b"x,y\n1,2\n3,nan\n5,6\n", "Row 3, column B ('y') is empty ('nan'): every row needs a number in the columns of "
                                "the model."),
    (b"x,y\n1,2\n3,inf\n5,6\n", "Row 3, column B ('y'): 'inf' is not a number."),
])
def test_a_missing_cell_names_its_row_and_column(data, expected):
    assert message(linear_model_from, read_table(data), "x", "y") == expected


def test_a_constant_column_is_refused_with_its_value_and_rows():
    table = read_table(b"x,y,c\n1,2,7\n2,2,7\n3,5,7\n")
    assert message(linear_model_from, table, "c", "x") == (
        "Column C ('c') is constant (7 in every row, rows 2 to 4): a model learns nothing from x that does not vary.")
    assert message(linear_model_from, read_table(b"x,y\n1,2\n2,2\n"), "x", "y") == (
        "Column B ('y') is constant (2 in every row, rows 2 to 3): there is nothing to fit.")


def test_a_label_that_is_not_0_or_1_names_its_row_and_column():
    assert message(logistic_model_from, read_table(GRADES), "hours", "passed") == (
        "Row 6, column C ('passed'): 2 is not a label; labels must be 0 or 1.")


def test_labels_of_one_class_only_are_refused():
    table = read_table(b"x,passed\n1,1\n2,1\n3,1\n")
    assert message(logistic_model_from, table, "x", "passed") == (
        "Column B ('passed') has only the label 1 (rows 2 to 4): logistic regression needs examples of both 0 and 1.")


def test_the_same_column_twice_or_an_unknown_column_is_refused():
    table = read_table(b"x,y\n1,2\n3,5\n")
    assert message(linear_model_from, table, "x", "x") == (
        "x and y must be two different columns, not column A ('x') twice.")
    assert message(logistic_model_from, table, "y", "y") == (
        "x and the label must be two different columns, not column B ('y') twice.")
    assert message(linear_model_from, table, "x", "z") == "The file has no column 'z'; its columns: x, y."


def test_the_first_columns_that_fit_are_suggested_or_why_none_do():
    table = read_table(b"name,hours,score,passed\nann,1,50,0\nbob,2,58,0\ncy,3,64,1\n")
    assert suggest_columns(table, "linear") == ("hours", "score")
    assert suggest_columns(table, "logistic") == ("hours", "passed")
    assert message(suggest_columns, read_table(b"x,y\n1,2\n3,4\n"), "logistic") == (
        "No column holds labels 0 and 1 only. Row 2, column B ('y'): 2 is not a label; labels must be 0 or 1.")
    assert message(suggest_columns, read_table(b"x,y\n1,a\n3,4\n"), "linear") == (
        "Row 2, column B ('y'): 'a' is not a number.")


# ---------------------------------------------------------------------------------------------------------------
# The bundled tables

def test_every_bundled_table_reads_and_fits_the_models_it_is_offered_for():
    for key, bundled in BUNDLED.items():
        table = bundled_table(key)
        assert table.name == bundled.title
        if bundled.linear:
            linear_model_from(table, *bundled.linear)
        if bundled.logistic:
            logistic_model_from(table, *bundled.logistic)
    readme = (DATA_DIR / "README.md").read_text()
    assert all(f"`{bundled.file}`" in readme for bundled in BUNDLED.values()) and readme.count("CC0") >= 2


def test_anscombes_quartet_has_the_papers_statistics():
    """Anscombe (1973): every pair has mean x 9, variance of x 11, mean y 7.50, correlation 0.816 and the
    least-squares line y = 3.00 + 0.500x (to the paper's precision)."""
    table = bundled_table("anscombe")
    for i in "1234":
        x, y = table.numbers(f"x{i}"), table.numbers(f"y{i}")
        assert x.mean() == 9 and x.var(ddof=1) == 11 and round(y.mean(), 2) == 7.50
        assert round(np.corrcoef(x, y)[0, 1], 3) in (0.816, 0.817)
        slope, intercept = np.polyfit(x, y, 1)
        assert round(slope, 3) == 0.500 and round(intercept, 2) == 3.00


def test_the_study_hours_table_is_what_its_script_writes():
    written = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'tools'); "
                              "import make_study_hours as m; sys.stdout.write(m.text())"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert (DATA_DIR / "study_hours.csv").read_text() == written
    table = bundled_table("study")
    slope, intercept = np.polyfit(table.numbers("hours"), table.numbers("score"), 1)
    assert abs(slope - 6) < 0.5 and abs(intercept - 30) < 3 and table.n == 200  # the documented formula
