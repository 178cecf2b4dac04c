"""Sample front-office content for the demo region: a service catalogue with owners by
location, Open311 attributes of every datatype, and step-by-step journeys.

This is SAMPLE content, written for the demo and marked ``sample`` so every page labels it:
the descriptions are plausible, but phone numbers are from the 555-01xx range reserved for
fiction, and no real agency's process is claimed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.frontoffice import service as fo_service
from govshare.frontoffice.schemas import ServiceIn

YES_NO = [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]


def _svc(code: str, name: str, description: str, *, owners: list[tuple[str, int]],
         group: str, events: list[str] | None = None, groups: list[str] | None = None,
         requests: bool = False, attributes: list[dict[str, Any]] | None = None,
         eligibility: str | None = None, phone: str | None = None,
         walk_in: list[dict[str, str]] | None = None, keywords: list[str] | None = None,
         mail: str | None = None, target_days: int | None = None) -> dict[str, Any]:
    return {"data": ServiceIn(
        code=code, name=name, description=description, eligibility=eligibility, group=group,
        keywords=keywords or [], life_events=events or [], target_groups=groups or ["everyone"],
        channels={"online_url": f"/requests/new?service={code}" if requests else None,
                  "phone": phone, "mail_address": mail, "walk_in": walk_in or []},
        accepts_requests=requests, attributes=attributes or [], sample=True,
        target_days=target_days),
        "owners": owners}


CUSTOMER_CENTER = {"name": "Customer service center (sample)", "address": "600 4th Ave, Seattle",
                   "hours": "Mon–Fri 8:00–17:00"}
COUNTY_OFFICE = {"name": "County service office (sample)", "address": "500 4th Ave, Seattle",
                 "hours": "Mon–Fri 8:30–16:30"}

CATALOGUE = [
    _svc("pothole", "Report a pothole",
         "Tell us about a pothole or a broken street surface. Inside Seattle the city fixes it; "
         "elsewhere in the county, the county road crews do.",
         owners=[("city", 1), ("county", 2)], group="Streets", events=["home_and_street"],
         requests=True, target_days=5,
         keywords=["road", "street", "hole", "pavement"], phone="206-555-0100",
         attributes=[
             {"code": "size", "datatype": "singlevaluelist", "required": True, "order": 1,
              "description": "How big is it?", "values": [
                  {"key": "small", "name": "Smaller than a dinner plate"},
                  {"key": "medium", "name": "Up to a car tyre"},
                  {"key": "large", "name": "Larger than a car tyre"}]},
             {"code": "in_bike_lane", "datatype": "singlevaluelist", "required": False,
              "order": 2, "description": "Is it in a bike lane?", "values": YES_NO}]),
    _svc("graffiti", "Report graffiti",
         "Graffiti on public property is removed within ten working days; offensive graffiti "
         "within one.", owners=[("city", 1), ("county", 2)], group="Streets",
         events=["home_and_street"], requests=True, target_days=10,
         keywords=["tag", "paint", "vandalism"],
         attributes=[
             {"code": "surface", "datatype": "singlevaluelist", "required": True, "order": 1,
              "description": "What is it on?", "values": [
                  {"key": "wall", "name": "Wall or building"}, {"key": "sign", "name": "Sign"},
                  {"key": "bridge", "name": "Bridge or overpass"},
                  {"key": "other", "name": "Something else"}]},
             {"code": "offensive", "datatype": "singlevaluelist", "required": True, "order": 2,
              "description": "Is it offensive or hateful?", "values": YES_NO}]),
    _svc("streetlight", "Report a street light that is out",
         "A street light that is out, flickering or on during the day.",
         owners=[("city", 1), ("county", 2)], group="Streets", events=["home_and_street"],
         requests=True, target_days=7,
         keywords=["lamp", "light", "dark"],
         attributes=[{"code": "pole_number", "datatype": "string", "required": False,
                      "order": 1, "description": "Number on the pole, if you can see one"}]),
    _svc("illegal_dumping", "Report illegal dumping",
         "Furniture, tyres, appliances or rubbish left on public land or the roadside.",
         owners=[("city", 1), ("county", 2)], group="Environment",
         events=["home_and_street"], requests=True, target_days=5,
         keywords=["rubbish", "trash", "junk"],
         attributes=[{"code": "items", "datatype": "multivaluelist", "required": True,
                      "order": 1, "description": "What was dumped? Choose all that apply",
                      "values": [{"key": "furniture", "name": "Furniture"},
                                 {"key": "appliances", "name": "Appliances"},
                                 {"key": "tyres", "name": "Tyres"},
                                 {"key": "hazardous", "name": "Paint, oil or chemicals"},
                                 {"key": "other", "name": "Other rubbish"}]},
                     {"code": "first_seen", "datatype": "datetime", "required": False,
                      "order": 2, "description": "When did you first see it?"}]),
    _svc("abandoned_vehicle", "Report an abandoned vehicle",
         "A vehicle left on a public street for more than 72 hours.",
         owners=[("city", 1), ("county", 2)], group="Streets", events=["home_and_street"],
         requests=True, target_days=5,
         keywords=["car", "parked", "vehicle"],
         attributes=[{"code": "plate", "datatype": "text", "required": False, "order": 1,
                      "description": "Licence plate and state, if visible"},
                     {"code": "days_parked", "datatype": "number", "required": True,
                      "order": 2, "description": "About how many days has it been there?"}]),
    _svc("school_facility", "Report a problem at a school building",
         "Broken fences, lights, heating or anything unsafe at a public school site.",
         owners=[("schools", 1)], group="Schools", events=["going_to_school"],
         groups=["youth"], requests=True, target_days=10,
         keywords=["school", "playground", "fence"],
         attributes=[{"code": "school_name", "datatype": "string", "required": True,
                      "order": 1, "description": "Which school?"}]),
    _svc("port_noise", "Report aircraft or harbour noise",
         "Noise from aircraft, ships or port trucks. The port's noise office logs every report "
         "and answers within five working days.", owners=[("port", 1)], group="Environment",
         events=["home_and_street"], requests=True, target_days=5,
         keywords=["noise", "airport", "plane"],
         attributes=[{"code": "noise_time", "datatype": "datetime", "required": True,
                      "order": 1, "description": "When did it happen? (date and time)"},
                     {"code": "source", "datatype": "singlevaluelist", "required": True,
                      "order": 2, "description": "What made the noise?", "values": [
                          {"key": "aircraft", "name": "Aircraft"},
                          {"key": "ship", "name": "Ship"},
                          {"key": "truck", "name": "Truck"}]},
                     {"code": "note", "datatype": "string", "variable": False, "order": 3,
                      "description": "Reports are anonymous to the airlines."}]),
    _svc("birth_certificate", "Order a birth certificate",
         "Certified copies of birth records, for a passport, school or benefits.",
         owners=[("state", 1)], group="Records", events=["having_a_baby"],
         groups=["youth", "newcomers"], phone="360-555-0101",
         eligibility="The person named, a parent, a legal guardian or a legal representative.",
         mail="Vital records (sample), PO Box 0000, Olympia WA"),
    _svc("newborn_visits", "Nurse home visits for new families",
         "Free visits from a public-health nurse in the first weeks after a birth.",
         owners=[("county", 1)], group="Health", events=["having_a_baby"], groups=["youth"],
         phone="206-555-0102", walk_in=[COUNTY_OFFICE],
         eligibility="Families living in the county with a baby under 8 weeks."),
    _svc("school_enrollment", "Enroll a child in school",
         "Register a child for kindergarten or move a student to a new school.",
         owners=[("schools", 1)], group="Schools", events=["going_to_school", "moving"],
         groups=["youth", "newcomers"], phone="206-555-0103",
         walk_in=[{"name": "Enrollment center (sample)", "address": "2445 3rd Ave S, Seattle",
                   "hours": "Mon–Fri 8:00–16:30"}]),
    _svc("voter_registration", "Register to vote or update your address",
         "Register, or change the address on your voter registration after a move.",
         owners=[("county", 1)], group="Elections", events=["moving"],
         groups=["newcomers", "youth"], phone="206-555-0104",
         eligibility="U.S. citizens, 18 on election day (16–17 may pre-register)."),
    _svc("business_license_city", "City business license",
         "A business license tax certificate for any business operating in the city.",
         owners=[("city", 1)], group="Business", events=["starting_a_business"],
         groups=["businesses"], phone="206-555-0105", walk_in=[CUSTOMER_CENTER]),
    _svc("business_license_state", "State business license",
         "The state business license, which most businesses need before the city one.",
         owners=[("state", 1)], group="Business", events=["starting_a_business"],
         groups=["businesses"], phone="360-555-0106"),
    _svc("unemployment", "Apply for unemployment benefits",
         "Weekly payments while you look for work after losing a job through no fault of "
         "your own.", owners=[("state", 1)], group="Work", events=["losing_a_job"],
         phone="800-555-0107", eligibility="Workers who lost a job through no fault of their "
         "own and worked enough hours in the base year."),
    _svc("job_training", "Job search and training help",
         "Workshops, career coaching and training grants at local job centers.",
         owners=[("county", 1)], group="Work", events=["losing_a_job"],
         groups=["youth", "veterans", "disabilities"], walk_in=[COUNTY_OFFICE]),
    _svc("senior_tax_exemption", "Property tax exemption for seniors",
         "Lower property taxes for seniors and people with disabilities with limited income.",
         owners=[("county", 1)], group="Taxes", events=["retiring"],
         groups=["seniors", "disabilities"], phone="206-555-0108"),
    _svc("utility_transfer", "Start, stop or transfer water and garbage service",
         "Open or close a utility account when you move in, move out or after a death.",
         owners=[("city", 1)], group="Utilities", events=["moving", "death"],
         phone="206-555-0109", walk_in=[CUSTOMER_CENTER]),
    _svc("death_certificate", "Order a death certificate",
         "Certified copies of a death record, needed to settle an estate.",
         owners=[("state", 1)], group="Records", events=["death"], phone="360-555-0110"),
    _svc("veterans_services", "Help for veterans and their families",
         "Emergency financial help, housing and employment support for veterans.",
         owners=[("county", 1)], group="Veterans", groups=["veterans"], phone="206-555-0111"),
    _svc("disabled_parking", "Disabled parking permit",
         "Parking placards and plates for people with a qualifying disability.",
         owners=[("state", 1)], group="Transport", groups=["disabilities", "seniors"],
         phone="360-555-0112"),
    _svc("library_card", "Get a library card",
         "Free library cards for anyone who lives, works or goes to school in the city.",
         owners=[("city", 1)], group="Libraries", events=["moving"],
         groups=["newcomers", "youth", "seniors"], walk_in=[
             {"name": "Central Library (sample)", "address": "1000 4th Ave, Seattle",
              "hours": "Daily 10:00–20:00"}]),
]

JOURNEYS = [
    ("having_a_baby", "Having a baby: step by step",
     "What to do in the first weeks, across the state, county, city and school district.",
     [("Register the birth and order a birth certificate", "birth_certificate",
       "The hospital registers the birth; order certified copies for a passport and benefits."),
      ("Book nurse home visits", "newborn_visits", "Free in the first 8 weeks."),
      ("Get the baby a library card", "library_card", "Board books from day one."),
      ("Later: enroll in school", "school_enrollment", "Kindergarten registration opens in "
       "January.")]),
    ("moving", "Moving home: step by step",
     "Tell each government that needs to know, and set up services at the new address.",
     [("Transfer water and garbage service", "utility_transfer", "Stop at the old address and "
       "start at the new one on the same day."),
      ("Update your voter registration", "voter_registration", "So your ballot reaches you."),
      ("Move your children's school", "school_enrollment", "Schools are assigned by address."),
      ("Get a library card", "library_card", "")]),
    ("starting_a_business", "Starting a business: step by step",
     "State first, then city.",
     [("Get the state business license", "business_license_state", ""),
      ("Get the city business license", "business_license_city", "Needs the state license "
       "number.")]),
    ("death", "After a death: step by step",
     "Practical steps after someone dies.",
     [("Order death certificates", "death_certificate", "Most families need 5 to 10 copies."),
      ("Close or transfer utility accounts", "utility_transfer", "")]),
    ("losing_a_job", "Losing a job: step by step", "Income support and help back to work.",
     [("Apply for unemployment benefits", "unemployment", "Apply in the first week."),
      ("Get job search and training help", "job_training", "")]),
]


def build(session: Session, actor: Principal, region_id: int, ids: dict[str, int]) -> int:
    for item in CATALOGUE:
        fo_service.save_service(session=session, actor=actor, region_id=region_id,
                                data=item["data"],
                                owners=[(ids[k], p) for k, p in item["owners"]])
    for event, title, summary, steps in JOURNEYS:
        fo_service.save_journey(
            session=session, actor=actor, region_id=region_id, life_event=event, title=title,
            summary=summary, sample=True,
            steps=[{"title": t, "service_code": c, "detail": d} for t, c, d in steps])
    return len(CATALOGUE)


# ------------------------------------------------------------------------------ requests
#
# SYNTHETIC service requests, so that the queues, the channel figures and Open311's
# requests.json start with something realistic: every description starts with
# "(synthetic demo request)". Places are real addresses of the Seattle benchmarking file (in
# the city) and random points in King County outside it; services, channels, times over the
# last 45 days, progress and assignees are drawn with a fixed seed.

SYNTHETIC = "(synthetic demo request)"
REQUEST_SEED = 311
ANSWERS: dict[str, list[dict[str, list[str]]]] = {
    "pothole": [{"size": ["small"]}, {"size": ["medium"], "in_bike_lane": ["no"]},
                {"size": ["large"], "in_bike_lane": ["yes"]}],
    "graffiti": [{"surface": ["wall"], "offensive": ["no"]},
                 {"surface": ["sign"], "offensive": ["yes"]}],
    "streetlight": [{}, {"pole_number": ["SL-20417"]}],
    "illegal_dumping": [{"items": ["furniture"]}, {"items": ["tyres", "other"]}],
    "abandoned_vehicle": [{"days_parked": ["5"]}, {"days_parked": ["12"], "plate": ["WA ABC1234"]}],
    "school_facility": [{"school_name": ["Jane Addams"]}, {"school_name": ["Rainier View"]}],
    "port_noise": [{"noise_time": ["2026-11-20T23:10:00-08:00"], "source": ["aircraft"]},
                   {"noise_time": ["2026-11-28T05:40:00-08:00"], "source": ["truck"]}],
}
TEXTS = {"pothole": "Pothole in the right lane", "graffiti": "Tags on the wall",
         "streetlight": "Light out all night", "illegal_dumping": "Pile left on the curb",
         "abandoned_vehicle": "Car not moved for days", "school_facility": "Broken fence gate",
         "port_noise": "Loud at night"}
CITY_SERVICES = ["pothole", "pothole", "graffiti", "streetlight", "illegal_dumping",
                 "abandoned_vehicle", "school_facility", "port_noise"]
COUNTY_SERVICES = ["pothole", "graffiti", "illegal_dumping", "abandoned_vehicle", "port_noise"]
CHANNELS = ["web", "web", "web", "open311", "open311", "phone", "phone", "email", "mail",
            "walk_in"]


def build_requests(session: Session, actor: Principal, region_id: int, *, count: int = 80,
                   now: Any = None) -> int:
    """Record ``count`` synthetic requests (see above); returns how many were made."""
    import csv
    import random
    from datetime import UTC, datetime, timedelta
    from importlib import resources

    from govshare.frontoffice.schemas import RequestAction, RequestIn
    from govshare.regions import queries as regions_queries

    rng = random.Random(REQUEST_SEED)
    now = now or datetime.now(UTC)
    with resources.files("govshare.geo").joinpath(
            "data/address_points_seattle_benchmarking_2016.csv").open(encoding="utf-8") as fh:
        places = [(float(r["LON"]), float(r["LAT"]), f"{r['NUMBER']} {r['STREET']}",
                   r["POSTCODE"]) for r in csv.DictReader(fh)]
    staff = {u.jurisdiction_id: u.id for u in regions_queries.region_users(
        session=session, region_id=region_id) if u.role == "jurisdiction_staff"}
    made = 0
    for i in range(count):
        in_city = i % 4 != 3
        if in_city:
            lon, lat, address, zipcode = rng.choice(places)
            code = rng.choice(CITY_SERVICES)
        else:  # east King County, outside Seattle
            lon, lat = rng.uniform(-122.22, -121.95), rng.uniform(47.35, 47.72)
            address, zipcode = None, None
            code = rng.choice(COUNTY_SERVICES)
        channel = rng.choice(CHANNELS)
        at = now - timedelta(days=rng.uniform(0.2, 45), minutes=rng.randint(0, 600))
        req = fo_service.submit_request(
            session=session, actor=actor, region_id=region_id, now=at,
            data=RequestIn(service_code=code, lat=lat, lon=lon, address=address,
                           zipcode=zipcode or None, channel=channel,
                           attributes=rng.choice(ANSWERS[code]),
                           description=f"{SYNTHETIC} {TEXTS[code]}"))
        made += 1
        age_days = (now - at).total_seconds() / 86400
        roll = rng.random()
        steps: list[tuple[str, float]] = []
        if roll < 0.45 and age_days > 1:
            steps = [("acknowledged", 0.1), ("in_progress", 0.3),
                     ("resolved", rng.uniform(0.5, min(age_days, 12)))]
        elif roll < 0.65:
            steps = [("acknowledged", 0.1), ("in_progress", min(age_days * 0.5, 2))]
        elif roll < 0.8:
            steps = [("acknowledged", min(age_days * 0.3, 1))]
        assignee = staff.get(req.jurisdiction_id)
        if assignee and steps and rng.random() < 0.7:
            fo_service.act_on_request(session=session, actor=actor, request_id=req.id,
                                      action=RequestAction(assign_to=assignee),
                                      now=at + timedelta(hours=1))
        for status, after_days in steps:
            when = min(at + timedelta(days=after_days), now)
            note = "Crew sent (synthetic)" if status == "in_progress" else None
            fo_service.act_on_request(session=session, actor=actor, request_id=req.id,
                                      action=RequestAction(to_status=status, note=note),
                                      now=when)
    return made
