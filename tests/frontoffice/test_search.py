"""Search finds things (issue 9 §3): stemming and ranking on both backends (PostgreSQL's
english full-text search, SQLite FTS5 with the porter tokenizer); the list says which
government provides each service; every life event's page answers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.frontoffice import queries


def names(session: Session, q: str) -> list[str]:
    return [s.name for s in queries.search_services(session=session, region_id=1, q=q)]


def test_plural_and_inflected_words_are_found(session: Session) -> None:
    assert names(session, "potholes")[0] == "Report a pothole"
    assert "Report a street light that is out" in names(session, "lights")
    assert "Report illegal dumping" in names(session, "dumped")  # dumping / dumped
    assert names(session, "unicorns") == []
    assert names(session, "  ") == names(session, "")  # no words: everything, by name


def test_ranking_puts_the_best_match_first(session: Session) -> None:
    found = names(session, "birth certificate")
    assert found[0] == "Order a birth certificate"


def test_hostile_search_text_is_only_text(session: Session) -> None:
    for q in ('"', "pothole OR 1=1", "NEAR(a b)", "pothole*", "'; DROP TABLE services; --"):
        names(session, q)  # no error from either engine's query syntax
    assert names(session, "pothole OR") == names(session, "pothole or")


def test_services_list_says_who_provides_each(client: TestClient) -> None:
    page = client.get("/services", params={"q": "potholes"})
    assert page.status_code == 200
    assert "Provided by" in page.text and "City of Seattle or King County" in page.text
    assert "best match first" in page.text


def test_every_life_event_page_answers(client: TestClient) -> None:
    for event in ("retiring", "going_to_school", "home_and_street", "having_a_baby"):
        r = client.get(f"/life-events/{event}")
        assert r.status_code == 200, event
    assert "Report a pothole" in client.get("/life-events/home_and_street").text
