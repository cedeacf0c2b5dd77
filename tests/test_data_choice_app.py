"""The Data choice of the data surfaces, through AppTest: a bundled table by its short key in the link, an
uploaded CSV file that stays out of the link, bad files and bad columns reported in words (row and column) while
the race stays on its data, and two students' files that never mix."""

import json

from streamlit.testing.v1 import AppTest
from test_race_tab_app import results, start, widget

from optviz.ui.settings import from_query
from optviz.ui.sweeps import SECTION_KEY

GRADES = b"name,hours,score,passed\nann,1,41,0\nbob,2,49,0\ncy,3,52,0\ndee,4,63,1\ned,5,58,0\nfay,6,72,1\n" \
         b"gus,7,69,1\nhal,8,81,1\n"
UPLOADER = "upload.widget"


def on(surface: str, **query) -> AppTest:
    at = start({"surface": surface, **query})
    assert not at.exception and not at.error
    return at


def upload(at, name: str, data: bytes) -> AppTest:
    if widget(at, "selectbox", "x.data_pick").value != "upload":
        widget(at, "selectbox", "x.data_pick").select("upload").run()
    at.file_uploader(key=UPLOADER).set_value((name, data, "text/csv")).run()
    assert not at.exception
    return at


def link(at) -> dict:
    """The address bar's parameters (a parameter given once as its value, not a list of one)."""
    return {key: value[0] if isinstance(value, list) and len(value) == 1 else value
            for key, value in dict(at.query_params).items()}


def losses(at) -> dict:
    return {label: row["final loss"] for label, row in results(at).items()}


def errors(at) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def test_the_data_choice_offers_the_surfaces_own_data_the_bundled_tables_and_an_upload():
    assert widget(on("linear_regression"), "selectbox", "x.data_pick").options == [
        "Iris petals (150 flowers)", "Anscombe's quartet", "Study hours (synthetic)", "Upload a CSV…"]
    assert widget(on("logistic_regression"), "selectbox", "x.data_pick").options == [
        "Iris: versicolor vs virginica (100 flowers)", "Study hours (synthetic)", "Upload a CSV…"]
    assert not [w for w in on("rosenbrock").selectbox if w.key == "x.data_pick"]


def test_a_bundled_table_and_its_columns_are_in_the_link_by_short_names_and_the_link_reopens_the_race():
    at = on("linear_regression")
    widget(at, "selectbox", "x.data_pick").select("anscombe").run()
    assert link(at)["data"] == "anscombe" and "cols" not in link(at)  # its first columns need no words
    assert link(at)["sp"] == "standardize:1,batch_size:11,seed:0"  # a full batch of its 11 points
    widget(at, "selectbox", "x.col_x").select("x4").run()
    widget(at, "selectbox", "x.col_y").select("y4").run()
    assert not at.exception and not at.error
    assert link(at)["cols"] == "x4,y4"
    rows = results(at)
    again = start(link(at))
    assert not again.warning and results(again)["Adam"]["final loss"] == rows["Adam"]["final loss"]
    assert widget(again, "selectbox", "x.col_x").value == "x4"


def test_an_uploaded_file_runs_the_race_and_stays_out_of_the_link():
    at = upload(on("logistic_regression"), "grades.csv", GRADES)
    assert not at.error
    assert (widget(at, "selectbox", "x.col_x").value, widget(at, "selectbox", "x.col_y").value) == ("hours", "passed")
    assert set(results(at)) == {"Adam", "SGD"}
    url = json.dumps(link(at))
    assert link(at)["data"] == "upload"
    for secret in ("grades", "hours", "passed", "ann", "41"):  # no file name, column or value in the link
        assert secret not in url
    assert "cols" not in link(at) and "upload" not in link(at)
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "your uploaded data is not in the link" in captions
    assert "On your file grades.csv: 8 rows, 4 columns" in captions
    widget(at, "selectbox", "x.col_y").select("score").run()  # scores are not labels
    assert errors(at) == ["grades.csv: Row 2, column C ('score'): 41 is not a label; labels must be 0 or 1. The race "
                          "stays on your file grades.csv."]
    assert widget(at, "selectbox", "x.col_y").value == "passed"  # back to the columns in use


def test_a_bad_file_is_reported_by_row_and_column_and_the_race_stays_on_its_data():
    at = on("linear_regression")
    before = losses(at)
    upload(at, "bad.csv", b"hours,score\n1,50\n2,abc\n3,61\n")
    assert errors(at) == ["bad.csv: Row 3, column B ('score'): 'abc' is not a number. The race stays on Iris petals "
                          "(150 flowers)."]
    assert losses(at) == before and "data" not in link(at)
    upload(at, "grades.csv", GRADES)  # a good file after a bad one
    assert not at.error and link(at)["data"] == "upload"
    on_grades = losses(at)
    upload(at, "big.csv", b"a,b\n" + b"1,2\n" * 100_001)
    assert errors(at) == ["big.csv: The file has more than 100,000 rows of data (row 100,002 is beyond them): too "
                          "large (the limits are 5 MB and 100,000 rows). The race stays on your file grades.csv."]
    upload(at, "sheet.csv", b"PK\x03\x04\x14\x00\x06\x00")
    assert errors(at)[0].startswith("sheet.csv: This is not a CSV file: it holds binary data")
    assert losses(at) == on_grades


def test_an_uploaded_file_goes_with_the_session_to_the_other_surface_and_back():
    at = upload(on("linear_regression"), "grades.csv", GRADES)
    assert (widget(at, "selectbox", "x.col_x").value, widget(at, "selectbox", "x.col_y").value) == ("hours", "score")
    widget(at, "selectbox", "x.surface").select("logistic_regression").run()
    assert "data" not in link(at)  # a new surface starts on its own data
    widget(at, "selectbox", "x.data_pick").select("upload").run()  # the session's file, at once
    assert not at.exception and not at.error and link(at)["data"] == "upload"
    assert widget(at, "selectbox", "x.col_y").value == "passed"


def test_a_link_that_was_on_uploaded_data_opens_on_the_surfaces_own_data_and_says_why():
    at = start({"surface": "linear_regression", "data": "upload", "upload": "0" * 64, "cols": "hours,score"})
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    assert "Uploaded files are never put in a link" in text.replace("\\", "")
    settings, _ = from_query(link(at))
    assert settings.data == "" and settings.surface == "linear_regression"


def test_two_students_files_of_one_name_never_mix():
    one = upload(on("linear_regression"), "data.csv", b"x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    other = upload(on("linear_regression"), "data.csv", b"x,y\n1,9\n2,7\n3,4\n4,1\n")
    for at in (one, other):  # the same start, and the same learning rates
        widget(at, "number_input", "x.start_x").set_value(-1.0).run()
        widget(at, "number_input", "x.start_y").set_value(2.0).run()
    for entry in (0, 1):
        widget(other, "select_slider", f"x.{entry}.h.lr").set_value(widget(one, "select_slider", f"x.{entry}.h.lr")
                                                                     .value).run()
    assert link(one) == link(other)  # the same settings, to the letter: the cache keys differ by the files alone
    mine, theirs = losses(one), losses(other)
    assert mine["Adam"] != theirs["Adam"]
    one.run()
    assert losses(one) == mine


def test_sweeps_and_basins_run_on_the_uploaded_data():
    at = upload(on("linear_regression"), "grades.csv", GRADES)
    at.session_state["tab"] = "Sweeps & basins"
    at.session_state[SECTION_KEY] = "Basins of attraction"
    at.run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "Linear regression (grades.csv)" in captions
    at.session_state[SECTION_KEY] = "Sweep two hyperparameters"
    at.run()
    assert not at.exception and not at.error


def big_file(rows: int) -> bytes:
    """hours and passed of `rows` students, the classes overlapping."""
    lines = (f"{(i * 7919 % rows) / rows * 10:.4f},{int((i * 7919 % rows) / rows * 10 + (i % 7 - 3) * 0.4 > 5)}\n"
             for i in range(rows))
    return ("hours,passed\n" + "".join(lines)).encode()


def test_a_large_logistic_file_races_and_an_overlong_race_on_it_is_refused_in_words():
    at = upload(on("logistic_regression"), "big.csv", big_file(30_000))
    assert not at.error and link(at)["sp"] == "standardize:1,l2:0,batch_size:30000,seed:0"
    assert set(losses(at)) == {"Adam", "SGD"}  # 2 runs × 500 steps × 30,000 examples: within a race's budget
    widget(at, "multiselect", "x.chosen").select("momentum").run()
    widget(at, "number_input", "x.steps").set_value(4000).run()
    assert errors(at) == ["These settings cannot run: 3 runs × 4,000 steps on batches of up to 30,000 examples make "
                          "360,000,000 example-gradients, more than the 300,000,000 a race may take on this server. "
                          "Use mini-batches, fewer steps or fewer optimizers."]
    widget(at, "segmented_control", "x.sp.batch_size.named").set_value("mini").run()
    assert not at.error and not at.exception and set(losses(at)) == {"Adam", "SGD", "SGD with momentum"}
