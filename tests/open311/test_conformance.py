"""XML and JSON bodies against GeoReport v2: element names and order, content types, the JSON
mapping (root dropped, lists as bare arrays), W3C times, filters, paging and the mySociety
update extension. XML is parsed with the standard library, as a client would.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from civicloop.cases import service as cases
from civicloop.cases import store as case_store
from civicloop.org import service as org
from civicloop.runtime import Platform

V2 = "/open311/v2"
XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
SERVICE = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
RECORD = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def xml(r: Any) -> ET.Element:
    assert r.headers["content-type"] == XML
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(r.content)
    assert not root.tag.startswith("{")  # no namespace
    return root


def tags(node: ET.Element) -> list[str]:
    return [child.tag for child in node]


def post(
    client: TestClient, key: str, where: tuple[float, float], code: str = "C0101", **extra: str
) -> Any:
    lon, lat = where
    form = {"service_code": code, "lat": str(lat), "long": str(lon), "api_key": key, **extra}
    return client.post(f"{V2}/requests.json", data=form)


def test_discovery_in_both_formats(client: TestClient) -> None:
    root = xml(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert tags(root) == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert tags(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in endpoint.iterfind("formats/format")] == ["text/xml", "application/json"]
    assert W3C.match(root.findtext("changeset") or "")
    r = client.get(f"{V2}/discovery.json")
    assert r.headers["content-type"] == JSON
    body = r.json()
    assert isinstance(body, dict) and body["endpoints"][0]["formats"] == [
        "text/xml",
        "application/json",
    ]
    assert "page_size" in body["key_service"]


def test_services_are_the_citizen_facing_elements(client: TestClient, platform: Platform) -> None:
    root = xml(client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    items = root.findall("service")
    wanted = [e.code for e in platform.catalogue.citizen_services()]
    assert [s.findtext("service_code") for s in items] == wanted
    assert all(tags(s) == SERVICE for s in items)
    assert {s.findtext("metadata") for s in items} == {"true"}
    body = client.get(f"{V2}/services.json").json()
    assert isinstance(body, list) and [list(s) for s in body] == [SERVICE] * len(wanted)
    assert body[0]["metadata"] is True


def test_service_definition_and_its_singular_alias(client: TestClient, platform: Platform) -> None:
    e = platform.catalogue.citizen_services()[0]
    r = client.get(f"{V2}/services/{e.code}.xml")
    root = xml(r)
    assert root.tag == "service_definition" and tags(root) == ["service_code", "attributes"]
    attributes = root.findall("attributes/attribute")
    assert all(tags(a) == ATTRIBUTE for a in attributes)
    first = attributes[0]
    assert first.findtext("datatype") == "singlevaluelist"
    assert [v.findtext("key") for v in first.iterfind("values/value")] == [
        c.code for c in e.filing_conditions
    ]
    assert attributes[1].findtext("variable") == "false"
    assert client.get(f"{V2}/service/{e.code}.xml").content == r.content
    body = client.get(f"{V2}/service/{e.code}.json").json()
    assert body["service_code"] == e.code and isinstance(body["attributes"], list)
    assert body["attributes"][0]["values"][0] == {
        "key": e.filing_conditions[0].code,
        "name": e.filing_conditions[0].text,
    }


def test_post_token_and_read_back(
    client: TestClient, api_key: str, where: tuple[float, float]
) -> None:
    lon, lat = where
    r = client.post(
        f"{V2}/requests.xml",
        data={
            "service_code": "C0101",
            "lat": str(lat),
            "long": str(lon),
            "api_key": api_key,
            "jurisdiction_id": "",
            "account_id": "acct-7",
        },
    )
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    assert tags(request) == ["service_request_id", "token", "service_notice", "account_id"]
    number, token = request.findtext("service_request_id"), request.findtext("token")
    assert request.findtext("account_id") == "acct-7"

    t = client.get(f"{V2}/tokens/{token}.json")
    assert t.headers["content-type"] == JSON and t.json() == [
        {"service_request_id": number, "token": token}
    ]
    one = xml(client.get(f"{V2}/requests/{number}.xml"))
    record = one.find("request")
    assert record is not None and tags(record) == RECORD
    assert record.findtext("status") == "open"
    for field in ("requested_datetime", "updated_datetime"):
        assert W3C.match(record.findtext(field) or ""), field
    assert float(record.findtext("lat") or 0) == lat
    listed = client.get(f"{V2}/requests.json").json()
    assert isinstance(listed, list) and [list(x) for x in listed] == [RECORD]
    assert listed[0]["service_request_id"] == number


def test_error_bodies_in_both_formats(client: TestClient) -> None:
    r = client.get(f"{V2}/services/NOPE.xml")
    assert r.status_code == 404
    root = xml(r)
    assert root.tag == "errors" and tags(root) == ["error"]
    assert tags(root[0]) == ["code", "description"] and root[0].findtext("code") == "404"
    j = client.get(f"{V2}/requests/NOPE.json")
    assert j.status_code == 404 and j.headers["content-type"] == JSON
    assert list(j.json()[0]) == ["code", "description"] and j.json()[0]["code"] == 404
    other = client.get(f"{V2}/services.xml", params={"jurisdiction_id": "sfgov.org"})
    assert other.status_code == 404 and b"sfgov.org" in other.content
    assert client.get(f"{V2}/services.xml", params={"jurisdiction_id": ""}).status_code == 200
    fmt = client.get(f"{V2}/services.html")
    assert fmt.status_code == 400 and xml(fmt).tag == "errors"
    assert client.get(f"{V2}/services.XML").status_code == 200
    lost = client.get(f"{V2}/requests/a/b.json")
    assert lost.status_code == 404 and lost.json()[0]["code"] == 404
    assert xml(client.post(f"{V2}/nothing")).tag == "errors"


def _case_id(p: Platform, number: str) -> str:
    with p.db.read() as conn:
        found = conn.execute(
            select(case_store.cases.c.id).where(case_store.cases.c.number == number)
        ).scalar()
    assert found
    return str(found)


def test_the_loop_shows_through_status_agency_and_expected_time(
    client: TestClient, platform: Platform, api_key: str, where: tuple[float, float]
) -> None:
    e = next(
        x
        for x in platform.catalogue.citizen_services()
        if not x.needs_onsite_check and not x.lead_department.startswith("@")
    )
    first = post(client, api_key, where, e.code).json()[0]["service_request_id"]
    other = next(x for x in platform.catalogue.citizen_services() if x.code != e.code)
    second = post(client, api_key, where, other.code).json()[0]["service_request_id"]
    chief = org.actor_for_user(platform, "chief")
    case_id = _case_id(platform, first)
    cases.accept_case(platform, chief, case_id)
    cases.file_case(platform, chief, case_id)
    cases.dispatch_case(platform, chief, case_id)
    cases.void_case(platform, chief, _case_id(platform, second), reason="重复上报")

    record = client.get(f"{V2}/requests/{first}.json").json()[0]
    assert record["status"] == "open" and record["status_notes"] == "已派遣至责任部门"
    assert record["agency_responsible"] == platform.catalogue.departments[e.lead_department].name
    assert W3C.match(record["expected_datetime"] or "")  # the handling due time, once dispatched
    voided = client.get(f"{V2}/requests/{second}.json").json()[0]
    assert voided["status"] == "closed" and voided["expected_datetime"] is None

    def ids(**params: str) -> list[str]:
        r = client.get(f"{V2}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    assert ids(status="closed") == [second]
    assert ids(status="open") == [first]
    assert sorted(ids(status="open,closed")) == sorted([first, second])
    assert ids(service_code=e.code) == [first]
    # a service_request_id list overrides every other filter
    assert sorted(ids(service_request_id=f"{first},{second}", status="closed")) == sorted(
        [first, second]
    )
    assert len(ids(page_size="1")) == 1 and len(ids(page_size="1", page="2")) == 1
    assert ids(page_size="1", page="3") == []
    assert ids(start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00Z") == []
    wide = client.get(
        f"{V2}/requests.json",
        params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-11-30T00:00:00Z"},
    )
    assert wide.status_code == 400 and "90" in wide.json()[0]["description"]

    updates = client.get(f"{V2}/servicerequestupdates.xml")
    root = xml(updates)
    assert root.tag == "service_requests_updates"
    statuses = [
        (u.findtext("service_request_id"), u.findtext("status"))
        for u in root.iterfind("request_update")
    ]
    assert (first, "ACTION_SCHEDULED") in statuses and (second, "NO_FURTHER_ACTION") in statuses
    assert tags(root[0])[:5] == [
        "update_id",
        "service_request_id",
        "status",
        "description",
        "updated_datetime",
    ]


def test_posting_an_update(
    client: TestClient, platform: Platform, api_key: str, where: tuple[float, float]
) -> None:
    number = post(client, api_key, where).json()[0]["service_request_id"]
    form = {
        "service_request_id": number,
        "update_id": "fms-99",
        "status": "OPEN",
        "description": "还没有修好，联系我 13912345678",
        "first_name": "小明",
        "last_name": "黄",
        "email": "hxm@example.cn",
    }
    r = client.post(f"{V2}/servicerequestupdates.xml?api_key={api_key}", data=form)
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "service_request_updates"
    update_id = root.findtext("request_update/update_id")
    assert update_id and update_id.isdigit()
    got = client.get(f"{V2}/servicerequestupdates.json").json()
    mine = next(u for u in got if str(u["update_id"]) == update_id)
    assert mine["service_request_id"] == number and mine["status"] == "OPEN"
    assert "139****5678" in mine["description"] and "hxm" not in str(got)
    bad = client.post(
        f"{V2}/servicerequestupdates.json", data={**form, "status": "DONE", "api_key": api_key}
    )
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    unknown = client.post(
        f"{V2}/servicerequestupdates.json",
        data={**form, "service_request_id": "C0000", "api_key": api_key},
    )
    assert unknown.status_code == 404
    assert client.post(f"{V2}/servicerequestupdates.json", data=form).status_code == 403


def test_a_second_report_of_the_same_problem_joins_the_first(
    client: TestClient, platform: Platform, api_key: str, where: tuple[float, float]
) -> None:
    first = post(client, api_key, where, description="井盖没了，很危险").json()[0]
    again = post(client, api_key, where, description="这里井盖没了，很危险", phone="13900001111")
    second = again.json()[0]
    assert again.status_code == 200
    assert second["service_request_id"] == first["service_request_id"]
    assert second["token"] != first["token"] and "已有人上报" in second["service_notice"]
    listed = client.get(f"{V2}/requests.json").json()
    assert [x["service_request_id"] for x in listed] == [first["service_request_id"]]
    token = client.get(f"{V2}/tokens/{second['token']}.json").json()[0]
    assert token["service_request_id"] == first["service_request_id"]


def test_a_form_body_in_raw_utf8_is_read_as_utf8(
    client: TestClient, api_key: str, where: tuple[float, float]
) -> None:
    """Clients are to percent-escape the form, but some send raw UTF-8 (curl -d): both work."""
    lon, lat = where
    raw = f"api_key={api_key}&service_code=E0101&lat={lat}&long={lon}&description=小区门口垃圾堆积"
    r = client.post(
        f"{V2}/requests.json",
        content=raw.encode("utf-8"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    got = client.get(f"{V2}/requests/{number}.json").json()[0]
    assert got["description"].startswith("小区门口垃圾堆积")
    bad = client.post(
        f"{V2}/requests.json",
        content=b"api_key=x&description=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 400 and "UTF-8" in bad.json()[0]["description"]
