"""The explorer page in a real browser: Debian's headless Chromium, driven by Playwright, against
Django's live server on real PostGIS, with the engine's own exports uploaded through the API.

What the page shows is checked against the files, read here with the csv module: the colour of
each site's pixel in a screenshot against the legend's colour ramp, the value under the pointer,
and the plotted curves and spectra of a clicked site.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.explore.png import Image

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (scripts/bootstrap.sh --tests installs it)"),
]

BACKGROUND = (0xE9, 0xEE, 0xF2)
MAPS = "calc2_output-10-hmaps-csv.zip"
CURVES = "calc2_output-9-hcurves-csv.zip"
SPECTRA = "calc2_output-14-uhs-csv.zip"
COLUMN = "PGA-0.002105"


def rows_of(zip_name: str, member: str) -> list[dict]:
    with zipfile.ZipFile(FIXTURES / zip_name) as archive:
        lines = list(csv.reader(io.StringIO(archive.read(member).decode())))
    if lines[0][0].startswith("#"):
        lines = lines[1:]
    return [{k: float(v) for k, v in zip(lines[0], line)} for line in lines[1:]]


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # plain synchronous code between its calls, which Django would otherwise refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                # As root Chromium needs --no-sandbox; the machine has no internet, so nothing in
                # the background may try to reach it. WebGL comes from SwiftShader.
                args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# How long a wait for the page may take before the test fails: SwiftShader draws on the CPU, and on
# a machine busy with other work (a CI runner, parallel jobs) a draw took over Playwright's default
# 30 s. Only a broken page waits that long; a working one goes on as soon as it is ready.
WAIT_MS = 120_000


class Page:
    """A browser tab on the live server, with every console error and failed request kept."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1200, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def sign_in(self, client, user):
        client.force_login(user)
        self.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": self.base_url}])

    def open(self, path: str, *, status: str = "drawn"):
        self.page.goto(self.base_url + path)
        self.wait_for(status)

    def wait_for(self, status: str):
        self.page.wait_for_function(
            "s => [s, 'error'].includes(document.body.dataset.status)", arg=status, timeout=WAIT_MS
        )
        assert self.page.evaluate("document.body.dataset.status") == status, self.page.inner_text("#message")

    def evaluate(self, script, arg=None):
        return self.page.evaluate(script, arg)

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        """Where a site is on the screen (MapLibre's projection, plus the map's offset in the page)."""
        x, y = self.evaluate("([lon, lat]) => { const p = explorer.map.project([lon, lat]); return [p.x, p.y]; }", [lon, lat])
        box = self.page.locator("#map").bounding_box()
        return box["x"] + x, box["y"] + y

    def pixel(self, x: float, y: float) -> tuple[int, int, int]:
        shot = self.page.screenshot(clip={"x": round(x) - 1, "y": round(y) - 1, "width": 3, "height": 3})
        return Image(shot).pixel(1, 1)

    def site(self):
        self.page.wait_for_function("['ready', 'error'].includes(document.getElementById('site').dataset.status)", timeout=WAIT_MS)
        assert self.evaluate("document.getElementById('site').dataset.status") == "ready", self.page.inner_text("#site")
        series = self.evaluate(
            """id => [...document.querySelectorAll(`#${id} path.series`)]
                     .map(p => ({name: p.dataset.name, x: JSON.parse(p.dataset.x), y: JSON.parse(p.dataset.y)}))""",
            "curves-plot",
        )
        spectra = self.evaluate(
            """() => [...document.querySelectorAll('#uhs-plot path.series')]
                     .map(p => ({name: p.dataset.name, x: JSON.parse(p.dataset.x), y: JSON.parse(p.dataset.y)}))"""
        )
        return json.loads(self.evaluate("document.getElementById('site').dataset.site")), series, spectra


@pytest.fixture
def tab(chromium, live_server, settings):
    # The live server speaks plain HTTP: cookies that require HTTPS would never come back.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    page = Page(chromium, live_server.url)
    yield page
    page.context.close()


def upload(client, name: str) -> dict:
    """name -> artifact, for every CSV of an engine zip, uploaded through the API."""
    f = io.BytesIO((FIXTURES / name).read_bytes())
    f.name = name
    response = client.post("/artifacts", {"file": f}, format="multipart")
    assert response.status_code == 201, response.content
    return {a["file_name"]: a for a in response.json()["artifacts"]}


@pytest.fixture
def maps(owner_client):
    """Calc 2's six hazard maps, uploaded as the engine exported them."""
    return upload(owner_client, MAPS)


@pytest.fixture
def calc2(owner_client, maps):
    """Calc 2's maps, curves and spectra."""
    return {**maps, **upload(owner_client, CURVES), **upload(owner_client, SPECTRA)}


# --- colours ---------------------------------------------------------------------------------


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def ramp_colour(stops, value: float, *, log: bool) -> tuple[float, float, float]:
    """The legend's ramp at `value`: linear interpolation between stops (in log space for a log scale)."""
    f = math.log if log else (lambda v: v)
    positions = [f(v) for v, _ in stops]
    t = min(max(f(value), positions[0]), positions[-1])
    for (p0, c0), (p1, c1) in zip(zip(positions, stops), zip(positions[1:], stops[1:])):
        if p0 <= t <= p1:
            w = (t - p0) / (p1 - p0)
            return tuple(a + (b - a) * w for a, b in zip(rgb(c0[1]), rgb(c1[1])))
    raise AssertionError("value outside the ramp")


def assert_colour(actual, expected, tolerance=12):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected)), f"pixel {actual}, expected about {tuple(round(e) for e in expected)}"


# --- the page --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page_and_back_with_the_view(tab, owner, maps):
    mean = maps["hazard_map-mean_2.csv"]["id"]
    view = f"/explore/?artifact={mean}&column={COLUMN}"
    tab.page.goto(tab.base_url + view)
    assert tab.page.url.startswith(tab.base_url + "/api-auth/login/?next=")
    tab.page.fill("#id_username", "owner")
    tab.page.fill("#id_password", "owner-password-1")
    tab.page.click("[type=submit]")
    tab.wait_for("drawn")
    assert tab.page.url.startswith(tab.base_url + view)
    assert tab.page.inner_text(".who") == "Signed in as owner"


def test_the_map_draws_every_site_in_the_colour_of_its_value(tab, owner_client, owner, maps):
    mean = maps["hazard_map-mean_2.csv"]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={mean['id']}&column={COLUMN}")
    assert tab.errors == []
    legend = tab.evaluate("(() => { const d = document.getElementById('legend').dataset; return {scale: d.scale, stops: JSON.parse(d.stops), value: d.value}; })()")
    assert legend["scale"] == "log" and legend["value"] == COLUMN
    sites = rows_of(MAPS, "hazard_map-mean_2.csv")
    values = [s[COLUMN] for s in sites]
    # The ramp spans the values of the sites on the map: the lowest and highest are its ends.
    assert legend["stops"][0][0] == pytest.approx(min(values)) and legend["stops"][-1][0] == pytest.approx(max(values))
    for site in sites:
        assert_colour(tab.pixel(*tab.point(site["lon"], site["lat"])), ramp_colour(legend["stops"], site[COLUMN], log=True))
    # Away from the sites, the background: the colours above are the layer's.
    west = min(s["lon"] for s in sites) - 0.005
    assert_colour(tab.pixel(*tab.point(west, sites[0]["lat"])), BACKGROUND, tolerance=2)
    assert tab.evaluate("document.getElementById('kind').selectedOptions[0].textContent") == "mean"


def test_a_camera_in_the_url_is_kept_and_the_colours_fit_the_sites_in_view_on_request(tab, owner_client, owner, maps):
    mean = maps["hazard_map-mean_2.csv"]
    sites = rows_of(MAPS, "hazard_map-mean_2.csv")
    tab.sign_in(owner_client, owner)
    # A shared view that looks at the Atlantic: no site in view, no colours to fit.
    tab.open(f"/explore/?artifact={mean['id']}&column={COLUMN}#map=6/30/-40")
    assert tab.evaluate("[explorer.map.getZoom(), explorer.map.getCenter().lat, explorer.map.getCenter().lng]") == [6, 30, -40]
    assert tab.page.inner_text("#legend") == "No site of this map in view."
    tab.evaluate("([lon, lat]) => explorer.map.jumpTo({center: [lon, lat], zoom: 13})", [sites[0]["lon"], sites[0]["lat"]])
    tab.page.wait_for_function("explorer.map.loaded() && explorer.map.areTilesLoaded()")
    tab.page.click("#rescale")
    tab.page.wait_for_function("document.getElementById('legend').dataset.stops !== undefined")
    stops = json.loads(tab.evaluate("document.getElementById('legend').dataset.stops"))
    values = [s[COLUMN] for s in sites]
    assert stops[0][0] == pytest.approx(min(values)) and stops[-1][0] == pytest.approx(max(values))
    assert tab.errors == []


def test_hover_shows_the_value_of_the_site_under_the_pointer(tab, owner_client, owner, maps):
    artifact = maps["quantile_map-0.85_2.csv"]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={artifact['id']}&column=SA(1.0)-0.002105")
    for site in rows_of(MAPS, "quantile_map-0.85_2.csv"):
        tab.page.mouse.move(*tab.point(site["lon"], site["lat"]))
        tab.page.wait_for_function("!document.getElementById('hover').hidden")
        assert json.loads(tab.evaluate("document.getElementById('hover').dataset.value")) == site["SA(1.0)-0.002105"]
        tab.page.mouse.move(5, 5)
        tab.page.wait_for_function("document.getElementById('hover').hidden")
    assert tab.errors == []


def test_a_click_on_a_site_plots_its_curves_and_spectrum_from_the_files(tab, owner_client, owner, calc2):
    mean = calc2["hazard_map-mean_2.csv"]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={mean['id']}&column={COLUMN}")
    target = rows_of(MAPS, "hazard_map-mean_2.csv")[1]
    x, y = tab.point(target["lon"], target["lat"])
    tab.page.mouse.click(x + 2, y + 2)
    site, curves, spectra = tab.site()
    assert (site["id"], site["lon"], site["lat"]) == (1, target["lon"], target["lat"])

    # Every IMT of the map's statistic (mean), each curve that site's row of its own file.
    assert sorted(c["name"] for c in curves) == ["mean PGA", "mean SA(0.2)", "mean SA(1.0)"]
    for curve in curves:
        row = rows_of(CURVES, f"hazard_curve-{curve['name'].replace(' ', '-')}_2.csv")[1]
        levels = [k for k in row if k.startswith("poe-")]
        assert curve["x"] == [float(k[4:]) for k in levels]
        assert curve["y"] == [row[k] for k in levels]
    [spectrum] = spectra
    row = rows_of(SPECTRA, "hazard_uhs-mean_2.csv")[1]
    assert spectrum["name"] == "mean poE 0.002105"
    assert spectrum["x"] == [0.0, 0.2, 1.0]
    assert spectrum["y"] == [row["0.002105~PGA"], row["0.002105~SA(0.2)"], row["0.002105~SA(1.0)"]]
    # The return period of the map's poE (0.002105 in 1 year: 475 years), drawn at that poE.
    line = tab.evaluate("(() => { const l = document.querySelector('#curves-plot line.rp'); return [l.dataset.label, +l.dataset.y]; })()")
    assert line[0] == "475-year return period" and line[1] == pytest.approx(1 - math.exp(-1 / 475))
    assert tab.errors == []

    # The URL keeps the view: a reload shows the same site and curves.
    assert "site=" in tab.page.url and "#map=" in tab.page.url
    picture = os.environ.get("ICEBOX_EXPLORER_SCREENSHOT")
    tab.page.reload()
    tab.wait_for("drawn")
    assert tab.site() == (site, curves, spectra)
    if picture:
        # README's picture: ICEBOX_EXPLORER_SCREENSHOT=docs/explorer.png, from this very view,
        # tall enough for both plots.
        tab.page.set_viewport_size({"width": 1280, "height": 1060})
        tab.page.reload()
        tab.wait_for("drawn")
        tab.site()
        tab.page.mouse.move(*tab.point(target["lon"], target["lat"]))
        tab.page.wait_for_function("!document.getElementById('hover').hidden")
        Path(picture).write_bytes(tab.page.screenshot())


def test_every_imt_or_the_chosen_one(tab, owner_client, owner, calc2, monkeypatch):
    from icebox.pagination import PageNumberPagination

    # The page reads every page of /artifacts: 30 artifacts in pages of 7.
    monkeypatch.setattr(PageNumberPagination, "page_size", 7)
    mean = calc2["hazard_map-mean_2.csv"]
    target = rows_of(MAPS, "hazard_map-mean_2.csv")[0]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={mean['id']}&column=SA(0.2)-0.002105&imts=chosen&site={target['lon']},{target['lat']}")
    site, curves, _ = tab.site()
    assert [c["name"] for c in curves] == ["mean SA(0.2)"]
    assert curves[0]["y"] == [v for k, v in rows_of(CURVES, "hazard_curve-mean-SA(0.2)_2.csv")[0].items() if k.startswith("poe-")]
    assert tab.evaluate("document.getElementById('kind').options.length") == 6
    tab.page.check("#all-imts")
    tab.page.wait_for_function("document.querySelectorAll('#curves-plot path.series').length === 3")
    assert "imts=" not in tab.page.url
    # Another return period: its poE in the curves' investigation time (1 year), kept in the URL.
    tab.page.fill("#rp", "2475")
    tab.page.dispatch_event("#rp", "change")
    line = tab.evaluate("(() => { const l = document.querySelector('#curves-plot line.rp'); return [l.dataset.label, +l.dataset.y]; })()")
    assert line[0] == "2475-year return period" and line[1] == pytest.approx(1 - math.exp(-1 / 2475))
    assert "rp=2475" in tab.page.url
    # Another column of the same map leaves the camera where the user put it.
    tab.evaluate("explorer.map.jumpTo({zoom: 11})")
    tab.page.wait_for_function("location.hash.startsWith('#map=11/')")
    tab.page.select_option("#column", "SA(1.0)-0.002105")
    tab.wait_for("drawn")
    assert "column=SA%281.0%29-0.002105" in tab.page.url
    assert tab.evaluate("[explorer.map.getZoom(), location.hash.startsWith('#map=11/')]") == [11, True]


def test_compare_mode_draws_the_difference_of_two_maps(tab, owner_client, owner, maps):
    a, b = maps["hazard_map-mean_2.csv"], maps["hazard_map-rlz-001_2.csv"]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={a['id']}&column={COLUMN}")
    tab.page.check("#compare-on")
    tab.page.select_option("#compare", str(b["id"]))
    tab.wait_for("drawn")
    assert f"compare={b['id']}" in tab.page.url
    summary = json.loads(tab.evaluate("document.getElementById('compare-summary').dataset.summary"))
    assert (summary["a"], summary["b"], summary["matched"]) == (a["id"], b["id"], 3)
    legend = tab.evaluate("(() => { const d = document.getElementById('legend').dataset; return {scale: d.scale, stops: JSON.parse(d.stops), value: d.value}; })()")
    assert legend["scale"] == "linear" and legend["value"] == f"{COLUMN}:difference"
    rows_a, rows_b = rows_of(MAPS, "hazard_map-mean_2.csv"), rows_of(MAPS, "hazard_map-rlz-001_2.csv")
    differences = [rb[COLUMN] - ra[COLUMN] for ra, rb in zip(rows_a, rows_b)]
    # A diverging ramp centred on 0, as wide as the largest difference either way.
    assert legend["stops"][-1][0] == pytest.approx(max(abs(d) for d in differences))
    assert legend["stops"][2][0] == pytest.approx(0, abs=1e-15)
    for site, difference in zip(rows_a, differences):
        assert_colour(tab.pixel(*tab.point(site["lon"], site["lat"])), ramp_colour(legend["stops"], difference, log=False))
    tab.page.mouse.move(*tab.point(rows_a[2]["lon"], rows_a[2]["lat"]))
    tab.page.wait_for_function("!document.getElementById('hover').hidden")
    assert json.loads(tab.evaluate("document.getElementById('hover').dataset.value")) == pytest.approx(differences[2], abs=1e-12)
    assert tab.errors == []


def test_another_users_artifact_in_the_url_is_not_shown(tab, owner_client, owner, other_client, maps):
    theirs = upload(other_client, "hazard_map-mean_2.csv")["hazard_map-mean_2.csv"]["id"]
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={theirs}&column={COLUMN}", status="error")
    assert tab.page.inner_text("#message") == f"Artifact {theirs}: artifact {theirs} not found"
    assert tab.evaluate("explorer.map.getLayer('values') === undefined")
    assert tab.evaluate("document.getElementById('group').value") == ""


def test_an_imported_calculation_answers_a_click_in_one_request(tab, owner_client, owner, settings):
    from engine import runs as engine_runs, services as engine_services
    from engine.models import Calculation
    from engine.servers import parse_engine_servers
    from tests.engine.fake_engine import CALC, FakeEngine

    with FakeEngine() as engine:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(engine.url)
        job = engine_services.import_request(requested_by=owner, engine_url=engine.url, calc_id=CALC, enqueue=False)
        assert engine_runs.import_job_run(job_id=job.pk).status == "done"
    calc = Calculation.objects.get(owner=owner)
    listed = owner_client.get(f"/artifacts?calculation={calc.pk}&artifact_type=hazard_map").json()["results"]
    [quantile] = [a for a in listed if a["file_name"] == "quantile_map-0.15_2.csv"]
    requests = []
    tab.page.on("request", lambda r: requests.append(r.url))
    tab.sign_in(owner_client, owner)
    tab.open(f"/explore/?artifact={quantile['id']}&column={COLUMN}")
    assert tab.evaluate("document.getElementById('group').selectedOptions[0].textContent").startswith(f"Calculation {calc.pk}: ")
    target = rows_of(MAPS, "quantile_map-0.15_2.csv")[2]
    tab.page.mouse.click(*tab.point(target["lon"], target["lat"]))
    site, curves, spectra = tab.site()
    assert (site["id"], site["lon"], site["lat"]) == (2, target["lon"], target["lat"])
    lon, lat = tab.evaluate("explorer.state.site")
    assert [r for r in requests if "/site?" in r] == [f"{tab.base_url}/calculations/{calc.pk}/site?lon={lon}&lat={lat}"]
    assert sorted(c["name"] for c in curves) == ["quantile-0.15 PGA", "quantile-0.15 SA(0.2)", "quantile-0.15 SA(1.0)"]
    for curve in curves:
        imt = curve["name"].split()[1]
        row = rows_of(CURVES, f"quantile_curve-0.15-{imt}_2.csv")[2]
        assert curve["y"] == [v for k, v in row.items() if k.startswith("poe-")]
    [spectrum] = spectra
    row = rows_of(SPECTRA, "quantile_uhs-0.15_2.csv")[2]
    assert spectrum["y"] == [row["0.002105~PGA"], row["0.002105~SA(0.2)"], row["0.002105~SA(1.0)"]]
    assert tab.errors == []
