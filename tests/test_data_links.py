"""A data surface's data in a link: a bundled table by its short key (and its columns when they are not its
first), an uploaded file never (the link says `data=upload` and no more); the server's cache key names the upload
by its SHA-256. Plain Python, no Streamlit."""

from optviz.datasets import read_table
from optviz.ui.settings import UPLOAD, Settings, from_query, validate_surface

GRADES = read_table(b"hours,score,passed\n1,41,0\n2,49,0\n3,52,0\n4,63,1\n5,58,0\n6,72,1\n", "grades.csv")


def test_a_bundled_table_round_trips_by_its_key_and_its_columns_only_when_they_are_not_its_first():
    settings, warnings = from_query({"surface": "linear_regression", "data": "anscombe"})
    assert warnings == [] and settings.columns == ("x1", "y1") and settings.surface_params["batch_size"] == 11
    assert settings.to_query()["data"] == "anscombe" and "cols" not in settings.to_query()
    assert settings.start == validate_surface(settings).start  # the table's own start
    settings.columns = ("x4", "y4")
    again, warnings = from_query(settings.to_query())
    assert warnings == [] and again == settings and again.to_query()["cols"] == "x4,y4"


def test_a_bundled_tables_batch_size_ranges_over_its_own_rows():
    settings, warnings = from_query({"surface": "logistic_regression", "data": "study", "sp": "batch_size:200",
                                     "opt": "sgd;sp.batch_size=180"})
    assert warnings == [] and settings.surface_params["batch_size"] == 200
    assert settings.entries[0].surface_params == {"batch_size": 180}  # beyond Iris's 100 flowers, within its 200
    _, warnings = from_query({"surface": "linear_regression", "data": "anscombe", "sp": "batch_size:50"})
    assert warnings == ["surface Linear regression (Anscombe's quartet): batch_size must be an integer in [1, 11], "
                        "got 50; using 11."]


def test_unknown_data_or_columns_fall_back_with_a_warning():
    settings, warnings = from_query({"surface": "logistic_regression", "data": "anscombe"})
    assert settings.data == "" and warnings == [
        "Unknown data 'anscombe' for Logistic regression (Iris) (it offers 'study'): using its own data."]
    _, warnings = from_query({"surface": "rosenbrock", "data": "study"})
    assert warnings == ["Ignored data 'study': Rosenbrock is not defined by data."]
    settings, warnings = from_query({"surface": "linear_regression", "data": "study", "cols": "hours,nope"})
    assert settings.columns == ("hours", "score") and warnings == [
        "Columns 'hours,nope' of Study hours (synthetic): The file has no column 'nope'; its columns: hours, score, "
        "passed. Using its first columns."]


def test_an_upload_is_in_the_link_as_a_word_and_in_the_cache_key_by_its_digest_and_columns():
    settings = Settings.default("logistic_regression")
    settings.data, settings.columns, settings.upload = UPLOAD, ("hours", "passed"), GRADES.digest
    settings.surface_params["batch_size"] = 6
    query = settings.to_query()
    assert query["data"] == "upload" and "upload" not in query and "cols" not in query
    assert GRADES.digest not in str(query) and "hours" not in str(query)
    key = settings.cache_key()
    assert key["upload"] == GRADES.digest and key["cols"] == "hours,passed"
    again, warnings = from_query(key, GRADES)  # the server, with the session's table
    assert warnings == [] and again == settings


def test_a_link_never_brings_an_upload_even_naming_its_digest():
    query = {"surface": "logistic_regression", "data": "upload", "cols": "hours,passed", "upload": GRADES.digest}
    settings, warnings = from_query(query)  # a link: no table of this session
    assert settings.data == "" and settings.upload == ""
    assert warnings == [
        "This link's race was on a file uploaded to the server. Uploaded files are never put in a link: showing "
        "Logistic regression (Iris) instead. Upload the file again to see it.",
        "Ignored unknown link parameter 'upload'."]
    other = read_table(b"hours,passed\n1,0\n2,1\n", "other.csv")
    settings, warnings = from_query(query, other)  # another file's session
    assert settings.data == "" and len(warnings) == 1
