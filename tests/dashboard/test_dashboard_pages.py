"""The programme dashboard through the test client: access for each role, the figures and the links behind them
on the managers' page, the public page without any person's name or e-mail (nor any initiative's or group's),
linking only to public pages, the Excel export read back with openpyxl, and the initiatives list's new filters.
The pages' clock is frozen at the generated data's day (tests/dashboard/world.py)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from programme.accounts.models import Organisation
from programme.dashboard import export
from programme.dashboard.figures import INSTRUMENTS, programme_figures
from programme.extensions import db
from programme.funding.models import InitiativeStatus
from tests.dashboard.world import NOW, TODAY, ZONE, DashboardWorld, dashboard_world
from tests.worlds import Kept, keep

D = Decimal
pytestmark = pytest.mark.usefixtures("on_the_worlds_day")


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    with built_once() as app:
        app.config["PROGRAMME_TIMEZONE"] = ZONE
        made = dashboard_world(app.config["UPLOAD_FOLDER"])
        # Addresses the login form accepts, and names that cannot occur on a page by chance.
        for number, person in enumerate(made.users, start=1):
            person.email = person.email.replace(".test", ".example.org")
            person.name = f"Quillon Vantreese{number:02d}"
        return keep(made)


def main_of(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index("<main"):html.index("</main>")]


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_anonymous_sees_only_the_public_page(client, world: DashboardWorld):
    for url in ("/dashboard", "/dashboard.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/programme-figures").status_code == 200


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_others_are_refused_the_dashboard(client, login, world: DashboardWorld, who: str):
    login(getattr(world, who))
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard.xlsx").status_code == 403
    assert client.get("/programme-figures").status_code == 200


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_administrators_see_the_dashboard(client, login, world: DashboardWorld, who: str):
    login(getattr(world, who))
    response = client.get("/dashboard")
    assert response.status_code == 200
    html = main_of(response)
    links = hrefs(html)
    # Each figure links to the list behind it.
    for expected in ("/initiatives?status=terminated", f"/initiatives?call={world.call.id}",
                     f"/initiatives?call={world.call2.id}", "/initiatives?year=1", "/initiatives?status=start_up",
                     "/funds", "/loans?status=active", f"/initiatives/{world.initiatives[0].id}#external-share",
                     "/dashboard.xlsx", "/programme-figures"):
        assert expected in links, expected
    assert any(link.startswith("/loans?") and "bucket=late" in link for link in links)
    assert "/loans" in links  # the loans committed and paid
    # The figures: charts and tables.
    assert html.count("<svg") >= 4
    assert "€15,000.00" in html or "15,000.00" in html  # start-up grants paid
    assert "33.33 %" in html  # I0's external share this year
    assert "0.381 ×" in html  # co-financing leveraged overall: 40,000 / 105,000
    assert "INI-2027-0001" in html and "Initiative 1" in html
    assert 'class="num terminated"' in html
    (funds,) = programme_figures(today=TODAY, timezone=ZONE).funds
    assert f'<td class="recovery-rate">{(funds.recovery_rate * 100).normalize():f} %</td>' in html


@pytest.mark.parametrize("who", [None, "manager", "applicant"])
def test_the_public_page_has_no_personal_data(client, login, world: DashboardWorld, who: str | None):
    if who:
        login(getattr(world, who))
    response = client.get("/programme-figures")
    assert response.status_code == 200
    html = response.get_data(as_text=True) if who is None else main_of(response)
    db.session.expire_all()
    for person in world.users:
        assert person.name not in html
        assert person.email not in html
    for initiative in world.initiatives:
        assert initiative.reference not in html
        assert initiative.name not in html
        assert initiative.group.name not in html
    for organisation in db.session.query(Organisation).all():
        assert organisation.name not in html
    # Links only to public pages.
    for link in hrefs(main_of(response)):
        assert link.startswith(("/calls", "/programme-figures", "#")), link
    assert f"/calls/{world.call.id}" in hrefs(html)
    # The programme-level figures are there.
    assert "0.381 ×" in html
    assert "Initiatives terminated" in html


def test_the_excel_export_matches_the_figures(client, login, world: DashboardWorld):
    login(world.admin)
    response = client.get("/dashboard.xlsx")
    assert response.status_code == 200
    assert "programme-dashboard-2028-03-01.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    figures = programme_figures(today=TODAY, timezone=ZONE)
    assert book.sheetnames == [export.MONEY_SHEET, export.LEVERAGE_SHEET, export.SHARES_SHEET, export.FUNDS_SHEET,
                               export.GUARANTEES_SHEET, export.STAGES_SHEET, export.OUTCOMES_SHEET]
    calls = {c.id: c.reference for c in figures.calls}

    def rows(sheet: str) -> list[tuple]:
        return [tuple(row) for row in book[sheet].iter_rows(min_row=2, values_only=True)]

    money = rows(export.MONEY_SHEET)
    expected = [(calls[m.call_id], INSTRUMENTS[m.instrument], m.currency, m.committed, m.paid) for m in figures.money]
    expected += [("All calls", INSTRUMENTS[m.instrument], m.currency, m.committed, m.paid)
                 for m in figures.money_totals]
    assert [(r[0], r[2], r[3], D(str(r[4])), D(str(r[5]))) for r in money] == expected
    assert book[export.MONEY_SHEET]["E2"].number_format != "General"

    leverage = rows(export.LEVERAGE_SHEET)
    assert [(r[0], r[1], D(str(r[4])), D(str(r[5])), None if r[6] is None else D(str(r[6]))) for r in leverage] == [
        (calls.get(x.call_id, "All calls"), x.currency, x.programme_paid, x.cofinancing, x.ratio)
        for x in [*figures.leverage, *figures.leverage_totals]]

    shares = rows(export.SHARES_SHEET)
    assert [(r[0], r[4], D(str(r[5])), D(str(r[8])), D(str(r[9])), None if r[10] is None else D(str(r[10])))
            for r in shares] == [(s.reference, s.year, s.cap, s.paid, s.cofinancing, s.share) for s in figures.shares]

    (funds,) = rows(export.FUNDS_SHEET)
    (f,) = figures.funds
    assert funds[0] == f.currency and funds[1] == f.funds and funds[3] == f.loans_active
    assert [D(str(funds[i])) for i in (2, 4, 5, 6, 7, 8, 9, 10, 11, 13)] == [
        f.cash, f.outstanding, f.due, f.repaid, f.recovery_rate, f.arrears, f.principal_repaid, f.written_off,
        f.recovered, f.par30]
    assert funds[12] is None and f.write_off_recovery is None  # nothing written off
    assert funds[14].date() == f.par30_as_of == TODAY

    assert rows(export.GUARANTEES_SHEET) == [] == figures.guarantees  # no loan is guaranteed in this world

    stages = rows(export.STAGES_SHEET)
    assert {(r[0], r[1]): r[2] for r in stages if r[0] != "All years"} == figures.by_year_status
    assert {r[1]: r[2] for r in stages if r[0] == "All years"} == figures.by_status

    outcomes = dict(rows(export.OUTCOMES_SHEET))
    assert outcomes["Initiatives past their schedule (at the floor)"] == figures.self_funding.reached_floor == 2
    assert outcomes["Of them not terminated (self-funding)"] == 1
    assert outcomes["Initiatives terminated"] == 2
    assert outcomes["Milestone reviews that decided to terminate"] == 1


def test_the_initiatives_list_filters(client, login, world: DashboardWorld):
    login(world.manager)
    refs = {i.id: i.reference for i in world.initiatives}

    def listed(query: str) -> set[str]:
        response = client.get(f"/initiatives{query}")
        assert response.status_code == 200
        return {ref for ref in refs.values() if ref in response.get_data(as_text=True)}

    assert listed("") == set(refs.values())
    terminated = {i.reference for i in world.initiatives if i.status == InitiativeStatus.TERMINATED}
    assert listed("?status=terminated") == terminated and len(terminated) == 2
    assert listed(f"?call={world.call2.id}") == {world.initiatives[3].reference, world.initiatives[4].reference}
    assert listed("?year=1") == {world.initiatives[0].reference, world.initiatives[1].reference}
    assert listed("?year=3") == {world.initiatives[4].reference}
    assert listed("?status=terminated&year=1") == {world.initiatives[1].reference}
    # Unknown values are ignored, not an error.
    assert listed("?status=bogus&call=x&year=-2") == set(refs.values())
    assert "Show all" in client.get("/initiatives?status=terminated").get_data(as_text=True)


def test_the_initiatives_list_pages_keeping_its_filters(client, login, world: DashboardWorld, monkeypatch):
    from programme.funding.services import initiatives

    monkeypatch.setattr(initiatives, "PER_PAGE", 2)
    login(world.manager)
    refs = sorted(i.reference for i in world.initiatives)

    def listed(query: str) -> list[str]:
        body = client.get(f"/initiatives{query}").get_data(as_text=True)
        return [ref for ref in refs if ref in body]

    assert [listed(f"?page={n}") for n in (1, 2, 3)] == [refs[0:2], refs[2:4], refs[4:5]]
    assert listed("?page=99") == refs[4:5]  # past the last page: the last
    body = client.get("/initiatives").get_data(as_text=True)
    assert "page 1 of 3 (5 initiatives)" in body and 'href="/initiatives?page=2"' in body
    terminated = sorted(i.reference for i in world.initiatives if i.status == InitiativeStatus.TERMINATED)
    assert listed("?status=terminated") == terminated and len(terminated) == 2
    assert "page" not in main_of(client.get("/initiatives?status=terminated")).split("</table>")[1]


# ------------------------------------------------------------------------------------ figures per data version


def _pay_more(world: DashboardWorld) -> None:
    from programme.funding import services as funding

    grant = world.initiatives[4].startup_grant
    made = funding.request_disbursement(grant, amount="100.00", purpose="Cache", actor=world.admin, now=NOW,
                                        timezone=ZONE)
    funding.approve_disbursement(made, actor=world.admin2, now=NOW, timezone=ZONE)
    funding.record_payment(made, value_date=TODAY, bank_reference="CACHE-PAY-1", actor=world.admin, now=NOW,
                           timezone=ZONE)


def _repay(world: DashboardWorld) -> None:
    from programme.loans import services as loans
    from programme.loans.models import Loan

    loan = db.session.scalars(db.select(Loan).where(Loan.principal == Decimal("12000.00"))).one()
    loans.record_repayment(loan, amount=Decimal("250.00"), value_date=TODAY, bank_reference="CACHE-REP-1",
                           actor=world.admin, now=NOW, timezone=ZONE)


def _terminate(world: DashboardWorld) -> None:
    from programme.monitoring.services.milestones import record_milestone_review

    record_milestone_review(world.initiatives[4], decision="terminate", reason="Nothing produced in a year.",
                            conditions="", next_status=None, decided_on=TODAY, actor=world.manager, now=NOW,
                            timezone=ZONE)


@pytest.mark.parametrize("change", [_pay_more, _repay, _terminate], ids=["payment", "repayment", "termination"])
def test_a_change_shows_at_the_next_request_of_every_figures_page(app, client, login, world: DashboardWorld,
                                                                    change):
    """The figures are kept per data version: a payment, a repayment or a milestone decision moves it, so the next
    dashboard and public page show the change at once (never a stale figure)."""
    anonymous = app.test_client()
    first_public = anonymous.get("/programme-figures")
    etag = first_public.headers["ETag"]
    assert first_public.headers["Cache-Control"] == "public, no-cache"
    assert anonymous.get("/programme-figures", headers={"If-None-Match": etag}).status_code == 304
    login(world.manager)
    before = main_of(client.get("/dashboard"))
    assert main_of(client.get("/dashboard")) == before  # kept: the same figures while nothing changes

    change(world)
    db.session.commit()

    after = main_of(client.get("/dashboard"))
    assert after != before
    assert after == main_of(client.get("/dashboard"))
    again = anonymous.get("/programme-figures", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert main_of(again) == main_of(app.test_client().get("/programme-figures"))  # the new version, kept


def test_a_logged_in_visitor_gets_a_private_copy_of_the_public_page(client, login, world: DashboardWorld):
    login(world.applicant)
    response = client.get("/programme-figures")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-cache"
    assert "ETag" not in response.headers


def test_an_anonymous_visitor_of_the_public_page_gets_no_session(client, world: DashboardWorld):
    response = client.get("/programme-figures")
    assert "Set-Cookie" not in response.headers


def test_each_bar_of_the_money_chart_says_its_own_figure_as_the_table_does(client, login, world: DashboardWorld):
    """Issue 16: the committed bar carried the paid amount's label. Each bar now writes its own figure, and the
    figures are the table's; the charts' text is as large as the page's (14 px, the chart is not scaled down)."""
    login(world.manager)
    html = main_of(client.get("/dashboard"))
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    money_chart = next(chart for chart in charts if "committed and paid per instrument" in chart)
    written = re.findall(r'<text class="bar-figure"[^>]*>([^<]+)</text>', money_chart)
    # The table's totals row of each instrument: what the chart must say.
    totals = re.findall(r'<tr><th scope="row">All calls</th><td>([^<]+)</td><td>[A-Z]{3}</td>'
                        r'<td class="num">([^<]+)</td><td class="num">([^<]+)</td></tr>', html)
    assert totals and len(totals) == len(programme_figures(today=TODAY, timezone=ZONE).money_totals)
    expected = [text for _, committed, paid in totals for text in (f"committed {committed}", f"paid {paid}")]
    assert written == expected
    assert any(committed != paid for _, committed, paid in totals)  # the two labels are not the same figure
    assert all('font-size="14"' in text for text in re.findall(r"<text [^>]*>", money_chart))
