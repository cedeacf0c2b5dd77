"""The batch-size lesson in a real browser: choosing it in the sidebar brings the data panel into the viewer."""

from test_e2e_browser import VIEWER, browser, console, open_page, server, wait_for  # noqa: F401 (fixtures)


def panel(page):
    return page.evaluate(f"""() => {{
        const v = {VIEWER};
        return v && v.panel && v.box.panel ? {{box: v.box.panel, runs: v.panel.segs.length, title: v.p.title,
                                              rows: v.box.rows.length}} : null;
    }}""")


def test_choosing_the_batch_lesson_draws_the_data_panel_beside_the_map(browser, server, console):  # noqa: F811
    page = open_page(browser, server, console)
    wait_for(lambda: page.evaluate(f"() => !!{VIEWER}"))
    assert panel(page) is None  # the default race is on Rosenbrock: no data
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_text("GD vs SGD vs mini-batch", exact=False).first.click()
    shown = wait_for(lambda: panel(page))
    assert shown["runs"] == 3 and shown["title"].startswith("Linear regression (Iris)")
    assert shown["box"]["w"] > 200 and shown["box"]["h"] > 150
    page.evaluate(f"() => {VIEWER}.seek(150)")  # full batch, mini-batches of 16 and single examples of 150
    assert page.locator(".rv-step").first.text_content().endswith("· epochs 1–150")
    page.close()
    assert console == []
