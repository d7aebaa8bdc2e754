"""Address extraction and geocoding of Chinese free text against the district's gazetteer.

What a caller gets is a :class:`GeoMatch` — a point, its grid, how precise it is and how sure
we are — or None when the text names no place we know. Precision, from best to worst:

* ``point``: a building of the registry (``张杨路500弄12号``, matched first through
  ``registry.service.locate_in_text``, confidence 0.95), a house number on a road
  (``张杨路1500号``) placed along the road's line, or a landmark (school, hospital, metro …);
* ``compound``: a residential compound (``金桥新村12号楼``);
* ``intersection``: ``张杨路与浦东南路交叉口`` / ``张杨路浦东南路口``, where the two lines cross;
* ``road``: a road without a number (its middle; a person must look);
* ``street``: only a street or town is named (its centre).

How the text is read. The text is normalised first (full-width → ASCII, Chinese house numbers
→ digits, see ``intake.model``). Then it is segmented with **jieba**, with every gazetteer
name and alias added as a high-frequency user word: jieba finds the most probable split of the
whole sentence, so a name is taken only where it is a word of the sentence (``金桥路`` is not
read inside ``金桥路站``, ``世纪公园`` not as ``世纪`` + ``公园``) and the tokens after it are
where the regexes look for ``号``/``弄``/``号楼`` and for ``与 … 交叉口``. A plain substring
scan would need its own longest-match and boundary rules for the same thing. Each gazetteer
gets its own tokenizer (a copy of jieba's base dictionary plus the names), so two platforms in
one process never see each other's names.

The gazetteer is cached in memory per platform: it changes rarely, an import or generation in
this process drops the copy at once, and another process's change is seen within
``CACHE_SECONDS``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import jieba  # Chinese word segmentation (see the module docstring for why)
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points
from sqlalchemy import select

from civicloop.intake import store
from civicloop.intake.model import EntryKind, normalise, place_on_line
from civicloop.org import service as org
from civicloop.org.model import RegionLevel
from civicloop.runtime import Platform

CACHE_SECONDS = 300.0
NAME_FREQ = 2_000_000  # above any word of jieba's base dictionary: a name always stays whole
_DEGREE_M = 111_320.0

jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class GeoMatch:
    lon: float
    lat: float
    grid_code: str
    precision: str  # point | compound | intersection | road | street
    confidence: float  # 0..1
    matched: str  # the text span that matched (normalised text)
    entry_id: int | None


@dataclass(frozen=True)
class _Entry:
    id: int | None
    name: str
    kind: str
    lon: float
    lat: float
    grid_code: str | None
    line: tuple[tuple[float, float], ...] | None
    number_max: int | None


class Gazetteer:
    """The gazetteer in memory: names and aliases → entries, and a tokenizer that knows them."""

    def __init__(self, entries: list[_Entry], streets: list[_Entry]) -> None:
        self.names: dict[str, _Entry] = {}
        for e in streets:
            self.names[e.name] = e
        self.size = len(entries)
        for e in entries:
            self.names[e.name] = e
        self.tokenizer = _tokenizer(list(self.names))

    def add_aliases(self, entry: _Entry, aliases: list[str]) -> None:
        for alias in aliases:
            self.names.setdefault(alias, entry)
            self.tokenizer.add_word(alias, NAME_FREQ)


_BASE: Any = None
_BASE_LOCK = threading.Lock()
_CACHE: dict[int, tuple[weakref.ref[Platform], Gazetteer, float]] = {}
_CACHE_LOCK = threading.Lock()


def _tokenizer(names: list[str]) -> Any:
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            base = jieba.Tokenizer()
            base.initialize()
            _BASE = base
    tk = jieba.Tokenizer()
    tk.FREQ = dict(_BASE.FREQ)
    tk.total = _BASE.total
    tk.initialized = True
    for name in names:
        tk.add_word(name, NAME_FREQ)
    return tk


def gazetteer(p: Platform) -> Gazetteer:
    """The platform's gazetteer, loaded on first use and kept for ``CACHE_SECONDS``."""
    now = time.monotonic()
    hit = _CACHE.get(id(p))
    if hit is not None and hit[0]() is p and now - hit[2] < CACHE_SECONDS:
        return hit[1]
    with _CACHE_LOCK:
        hit = _CACHE.get(id(p))
        if hit is not None and hit[0]() is p and now - hit[2] < CACHE_SECONDS:
            return hit[1]
        g = _load(p)
        _CACHE[id(p)] = (weakref.ref(p), g, now)
        return g


def forget(p: Platform) -> None:
    """Drop the cached gazetteer of ``p`` (call after the gazetteer changed)."""
    with _CACHE_LOCK:
        _CACHE.pop(id(p), None)


def _load(p: Platform) -> Gazetteer:
    t = store.gazetteer_entries
    with p.db.read() as conn:
        rows = list(conn.execute(select(t).order_by(t.c.id)))
        streets = [
            _Entry(None, s.name, "street", s.centroid[0], s.centroid[1], None, None, None)
            for s in org.list_regions(conn, level=RegionLevel.STREET)
            if s.centroid is not None
        ]
    entries = [
        _Entry(
            r.id,
            r.name,
            r.kind,
            r.lon,
            r.lat,
            r.grid_code,
            tuple((float(x), float(y)) for x, y in r.line) if r.line else None,
            r.number_max,
        )
        for r in rows
    ]
    g = Gazetteer(entries, streets)
    for r, e in zip(rows, entries, strict=True):
        if r.aliases:
            g.add_aliases(e, [str(a) for a in r.aliases])
    return g


_SEP = re.compile(r"\s*(?:与|和|跟|同|、|/|&|\+)\s*")
_CROSS_TAIL = re.compile(r"\s*(?:交叉口|交界处|交汇处|路口|口)")
_HOUSE = re.compile(r"\s*(\d{1,5})\s*(?:(弄)(?:\s*(\d{1,4})\s*号)?|号)")
_BUILDING = re.compile(r"\s*(\d{1,4})\s*(?:号楼|栋|幢|号|座)")


def geocode(p: Platform, text: str) -> GeoMatch | None:
    """The best place named in ``text``, or None when it names none the gazetteer knows."""
    if not text or not text.strip():
        return None
    from civicloop.registry.service import locate_in_text  # the building registry comes first

    building = locate_in_text(p, text)
    if building is not None:
        return GeoMatch(
            building["lon"],
            building["lat"],
            building["grid_code"],
            "point",
            0.95,
            building["span"],
            None,
        )
    g = gazetteer(p)
    norm = normalise(text)
    tokens = [(w, s, e) for w, s, e in g.tokenizer.tokenize(norm, HMM=False)]
    best: GeoMatch | None = None
    for i, (word, start, end) in enumerate(tokens):
        entry = g.names.get(word)
        if entry is None:
            continue
        found = _read(p, g, norm, tokens, i, entry, start, end)
        if found is not None and (best is None or found.confidence > best.confidence):
            best = found
    return best


def _read(
    p: Platform,
    g: Gazetteer,
    text: str,
    tokens: list[tuple[str, int, int]],
    i: int,
    entry: _Entry,
    start: int,
    end: int,
) -> GeoMatch | None:
    rest = text[end:]
    if entry.kind == EntryKind.ROAD:
        crossing = _intersection(p, g, text, tokens, i, entry, start, end)
        if crossing is not None:
            return crossing
        m = _HOUSE.match(rest)
        if m and entry.line and entry.number_max:
            number = int(m.group(1))
            lon, lat = place_on_line(list(entry.line), number, entry.number_max)
            sure = 0.9 if number <= entry.number_max else 0.5
            return _match(p, lon, lat, entry, "point", sure, text[start : end + m.end()])
        if entry.line:
            lon, lat = LineString(entry.line).interpolate(0.5, normalized=True).coords[0]
            return _match(p, lon, lat, entry, "road", 0.4, text[start:end])
        return _match(p, entry.lon, entry.lat, entry, "road", 0.4, text[start:end])
    if entry.kind == EntryKind.COMPOUND:
        m = _BUILDING.match(rest)
        span = text[start : end + (m.end() if m else 0)]
        return _match(p, entry.lon, entry.lat, entry, "compound", 0.85 if m else 0.8, span)
    if entry.kind == "street":
        return _match(p, entry.lon, entry.lat, entry, "street", 0.25, text[start:end])
    return _match(p, entry.lon, entry.lat, entry, "point", 0.85, text[start:end])


def _intersection(
    p: Platform,
    g: Gazetteer,
    text: str,
    tokens: list[tuple[str, int, int]],
    i: int,
    entry: _Entry,
    start: int,
    end: int,
) -> GeoMatch | None:
    """``A路与B路交叉口`` or ``A路B路口``: the two roads' crossing."""
    j = i + 1
    gap = _SEP.match(text, end)
    if gap is not None:
        while j < len(tokens) and tokens[j][1] < gap.end():
            j += 1
    if j >= len(tokens):
        return None
    other = g.names.get(tokens[j][0])
    if other is None or other.kind != EntryKind.ROAD or other is entry:
        return None
    tail = _CROSS_TAIL.match(text, tokens[j][2])
    if gap is None and tail is None:
        return None  # two road names side by side without 与 or 口: not a crossing
    span_end = tail.end() if tail else tokens[j][2]
    a = LineString(entry.line) if entry.line else Point(entry.lon, entry.lat)
    b = LineString(other.line) if other.line else Point(other.lon, other.lat)
    meet = a.intersection(b)
    if not meet.is_empty:
        pt = meet if isinstance(meet, Point) else meet.representative_point()
        sure = 0.85
    else:
        pa, pb = nearest_points(a, b)
        pt = Point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
        gap_m = pa.distance(pb) * _DEGREE_M
        sure = 0.7 if gap_m < 300 else 0.3  # roads that do not meet: a person must look
    return _match(p, pt.x, pt.y, entry, "intersection", sure, text[start:span_end])


def _match(
    p: Platform,
    lon: float,
    lat: float,
    entry: _Entry,
    precision: str,
    confidence: float,
    span: str,
) -> GeoMatch | None:
    grid = p.grids.locate(lon, lat) or entry.grid_code
    if grid is None:
        return None
    return GeoMatch(round(lon, 6), round(lat, 6), grid, precision, confidence, span, entry.id)
