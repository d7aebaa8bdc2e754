"""The demo district's base data and sensors, so every console page has something real to show.

After the district, gazetteer, enterprises and simulated cases exist, ``civicloop demo`` adds:

* a small synthetic registry (rooms, people, legal entities) generated over the gazetteer's
  roads and imported through the real importer — profiles, entity links and risk have objects;
* a few hundred devices (waste containers, flood monitors, water meters, streetlights) placed
  in random grids, and readings for them sent through the real NGSI-LD parser and ingestion
  pipeline: some bins stay full and some roads flood, so the rules raise alerts and file
  sensor cases the big screen shows;
* water and electricity meters (attribute ``room_id``) in the registry's over-occupied rooms,
  with a week of counter readings matching who lives there (one room's use looks like its
  registered limit), so ``civicloop registry group-renting`` shows the utility signal;
* the risk and KPI consumers run once over the simulated history, and the ledger's first
  signed checkpoint is taken.

Everything goes through the contexts' services, nothing writes tables directly; the same seed
gives the same data.
"""

from __future__ import annotations

import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from civicloop.runtime import Platform

DEVICE_KINDS = ("WasteContainer", "FloodMonitoring", "WaterMeter", "Streetlight")


def seed_registry(
    p: Platform, *, seed: int, people: int = 2000, entities: int = 400, rooms: int = 1000
) -> dict[str, int]:
    """Generate and import a small registry (rooms first: people and entities match by
    address). Returns the imported row counts."""
    from civicloop.registry.generate import write_dataset
    from civicloop.registry.importer import import_file

    with tempfile.TemporaryDirectory(prefix="civicloop-demo-") as tmp:
        out = Path(tmp)
        write_dataset(p, out, people=people, entities=entities, rooms=rooms, seed=seed)
        counts: dict[str, int] = {}
        for kind in ("rooms", "people", "entities"):
            report = import_file(p, kind, out / f"{kind}.csv", request_id="demo")
            counts[kind] = int(getattr(report, "rows", 0) or 0)
    return counts


def _reading(kind: str, rng: random.Random, hot: bool) -> dict[str, Any]:
    if kind == "WasteContainer":
        return {"fillingLevel": round(rng.uniform(0.92, 1.0) if hot else rng.uniform(0.1, 0.7), 2)}
    if kind == "FloodMonitoring":
        return {"currentLevel": round(rng.uniform(0.2, 0.4) if hot else rng.uniform(0, 0.03), 2)}
    if kind == "WaterMeter":
        return {"flow": round(rng.uniform(0.5, 20.0), 1)}
    return {"powerState": "on"}


def seed_sensors(p: Platform, *, seed: int, devices: int = 240) -> dict[str, int]:
    """Register demo devices in random grids and send an hour of readings through the
    NGSI-LD pipeline; a few bins stay full and a few roads flood, so rules file cases."""
    from civicloop.discovery.ingest import ingest
    from civicloop.discovery.model import Device
    from civicloop.discovery.ngsi import parse_notification
    from civicloop.discovery.service import register_devices

    rng = random.Random(seed)
    grids = p.grids
    codes = list(grids.codes)
    placed: list[Device] = []
    for i in range(devices):
        kind = DEVICE_KINDS[i % len(DEVICE_KINDS)]
        code = rng.choice(codes)
        pt = grids.geometry(code).representative_point()
        lon, lat = float(pt.x), float(pt.y)
        placed.append(
            Device(
                device_id=f"urn:ngsi-ld:{kind}:demo-{i:04d}",  # the NGSI-LD entity id
                entity_type=kind,
                lon=lon,
                lat=lat,
                report_interval_s=900,
            )
        )
    register_devices(p, placed, request_id="demo")
    hot = {d.device_id for d in rng.sample(placed, k=max(2, devices // 30))}
    now = p.clock.now()
    stored = 0
    for minutes in range(60, -1, -10):  # an hour of readings, ten minutes apart
        at = (now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        entities = [
            {
                "id": d.device_id,
                "type": d.entity_type,
                "observedAt": at,
                **_reading(d.entity_type, rng, d.device_id in hot),
            }
            for d in placed
        ]
        body = orjson.dumps({"id": f"urn:demo:notification:{minutes}", "data": entities})
        result = ingest(p, parse_notification(body, now=now), request_id="demo")
        stored += int(getattr(result, "stored", 0) or 0)
    rooms = seed_room_meters(p, seed=seed)
    return {"devices": len(placed), "readings": stored, "hot": len(hot), **rooms}


def seed_room_meters(p: Platform, *, seed: int, days: int = 7) -> dict[str, int]:
    """Meters in the over-occupied rooms and ``days`` of cumulative readings every 6 hours
    (a few hundred readings: negligible next to the rest of the demo). Use follows the
    room's residents at ``GroupRentingRules``' norms (5–20 % over); the first room's stays
    under its limit, as if the residents registered there had left, so not every room is
    supported."""
    from civicloop.discovery.ingest import ingest
    from civicloop.discovery.model import Device
    from civicloop.discovery.ngsi import parse_entities
    from civicloop.discovery.service import register_devices
    from civicloop.registry.group_renting import over_occupied
    from civicloop.registry.model import GroupRentingRules

    rules = GroupRentingRules()
    rng = random.Random(seed + 1)
    rooms = over_occupied(p, rules)
    meters: list[tuple[Device, float]] = []
    for n, room in enumerate(rooms):
        people = room["limit"] if n == 0 else room["residents"]
        # a little under the norm for the first room, a little over for the others
        factor = 0.9 if n == 0 else rng.uniform(1.05, 1.2)
        for kind, norm in (
            ("WaterMeter", rules.water_m3_per_person_day),
            ("ElectricityMeter", rules.electricity_kwh_per_person_day),
        ):
            if kind == "ElectricityMeter" and n % 2 == 0:
                continue  # every other room has an electricity meter too
            device = Device(
                f"urn:ngsi-ld:{kind}:room-{room['id']}",
                kind,
                lat=room["lat"],
                lon=room["lon"],
                report_interval_s=6 * 3600,
                attrs={"room_id": str(room["id"])},
            )
            meters.append((device, people * norm * factor))
    if not meters:
        return {"room_meters": 0, "room_readings": 0}
    register_devices(p, [d for d, _ in meters], request_id="demo")
    now = p.clock.now()
    entities = []
    for device, per_day in meters:
        counter = "volume" if device.entity_type == "WaterMeter" else "energy"
        value = round(rng.uniform(10, 900), 3)
        for k in range(days * 4 + 1):
            value += per_day / 4 * rng.uniform(0.8, 1.2) if k else 0.0
            at = now - timedelta(hours=6 * (days * 4 - k))
            entities.append(
                {
                    "id": device.device_id,
                    "type": device.entity_type,
                    "observedAt": at.isoformat(),
                    counter: round(value, 3),
                }
            )
    parsed = parse_entities(entities, notification_id=None, default_time=now, now=now)
    result = ingest(p, parsed, request_id="demo")
    return {"room_meters": len(meters), "room_readings": int(result.stored)}


def settle(p: Platform) -> dict[str, Any]:
    """Run the group-renting detector and the ledger consumers and take the first checkpoint
    (what the served platform's jobs do periodically), so the first screen shows group-renting
    alerts, KPIs, risk and a signed ledger."""
    from civicloop.evaluation.service import consume as kpi_consume
    from civicloop.ledger.checkpoints import create_checkpoint
    from civicloop.registry.group_renting import detect_group_renting
    from civicloop.risk.service import consume as risk_consume

    renting = detect_group_renting(p)
    risk = risk_consume(p)
    kpi = kpi_consume(p)
    cp = create_checkpoint(p)
    return {
        "group_renting_alerts": sum(1 for r in renting if r.get("case_id")),
        "risk": risk,
        "kpi": kpi,
        "checkpoint": cp.tree_size if cp else 0,
    }


def summary(counts: dict[str, Any]) -> str:
    """One line for the console."""
    return orjson.dumps(counts, default=str).decode()
