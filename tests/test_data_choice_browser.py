"""A student's own CSV file in a real browser (chromium through Playwright, the real file uploader): a good file
draws its race and its data, a bad one is reported by row and column while the race stays on the good one.
Screenshots at 1280×720 in artifacts/csv/."""

from test_e2e_browser import ARTIFACTS, VIEWER, browser, console, open_page, server, wait_for  # noqa: F401

SHOTS = ARTIFACTS / "csv"
GOOD = b"hours,score,passed\n" + b"".join(
    f"{h / 4:.2f},{30 + 6 * h / 4 + (7 * h % 11) - 5:.0f},{int(30 + 6 * h / 4 + (7 * h % 11) - 5 >= 60)}\n".encode()
    for h in range(2, 42))
BAD = b"hours,score\n1,50\n2,abc\n3,61\n"


def race(page):
    """The viewer's race: its title and its data panel's title (None before a race is drawn)."""
    return page.evaluate(f"""() => {{ const v = {VIEWER};
        return v ? {{title: v.p.title, panel: v.panel ? v.p.data_panel.title : null, runs: v.runs.length,
                     y: v.panel ? v.p.data_panel.y_label : null}} : null;
    }}""")


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the sidebar's select box labelled `label`."""
    label = page.locator("[data-testid=stWidgetLabel]").get_by_text(label, exact=True)
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has=label).first.click()
    page.get_by_role("option", name=option).first.click()


def upload(page, name: str, data: bytes) -> None:
    page.locator("[data-testid=stSidebar] [data-testid=stFileUploader] input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def exceptions(page) -> int:
    return page.locator("[data-testid=stException]").count()


def test_a_good_csv_draws_its_race_and_a_bad_one_is_reported_by_row_and_column(browser, server, console):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, server + "/?surface=linear_regression", console)
    wait_for(lambda: (race(page) or {}).get("panel"))
    choose(page, "Data", "Upload a CSV…")
    wait_for(lambda: page.locator("[data-testid=stFileUploader]").count())
    upload(page, "grades.csv", GOOD)
    drawn = wait_for(lambda: (r := race(page)) and r["title"].startswith("Linear regression (grades.csv)") and r)
    assert drawn["panel"] == "grades.csv: each optimizer's fit ŷ = w·x + b" and drawn["runs"] == 2
    assert "data=upload" in page.evaluate("location.href") and "grades" not in page.evaluate("location.href")
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_text("your uploaded data is not in the link").count() == 1
    assert exceptions(page) == 0
    page.screenshot(path=str(SHOTS / "upload-good-1280x720.png"))

    upload(page, "bad.csv", BAD)
    message = sidebar.locator("[data-testid=stAlertContentError]")
    wait_for(lambda: message.count() and "Row 3" in message.first.text_content())
    assert message.first.text_content() == ("bad.csv: Row 3, column B ('score'): 'abc' is not a number. The race "
                                            "stays on your file grades.csv.")
    assert race(page)["title"].startswith("Linear regression (grades.csv)") and exceptions(page) == 0
    page.screenshot(path=str(SHOTS / "upload-bad-1280x720.png"))

    choose(page, "y", "passed")  # the app keeps working: another column, another race
    wait_for(lambda: race(page)["y"] == "passed" and message.count() == 0)
    assert "(grades.csv)" in race(page)["title"] and exceptions(page) == 0
    page.close()
    assert console == []


def test_a_bundled_logistic_table_draws_each_threshold(browser, server, console):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, server + "/?surface=logistic_regression&data=study", console)
    drawn = wait_for(lambda: (r := race(page)) and r["panel"] and r)
    assert drawn["title"].startswith("Logistic regression (Study hours (synthetic))")
    assert drawn["panel"] == "Study hours (synthetic): thresholds w·x + b = 0"
    assert exceptions(page) == 0
    page.screenshot(path=str(SHOTS / "bundled-logistic-1280x720.png"))
    page.close()
    assert console == []
