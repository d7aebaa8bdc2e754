"""The demo district: Pudong's territorial tree, departments and named personas, as pure data.

The demo and the tests share one seeded district (STYLE "the seeded demo district with named
personas serves tests and demos alike"). This module only computes it; ``civicloop demo`` and
the test factories write it to the database through the org services.

How the territory is drawn (DESIGN §2: district → street → community → grid):

- The district outline is the ``boundary`` argument (e.g. the real
  ``pudong_boundary.geojson``) or the built-in coarse outline of Pudong.
- The 36 streets/towns carry their real names and statistical codes (统计用区划代码, town level:
  陆家嘴街道 310115005 … 南汇新城镇 310115145). Each is the Voronoi cell of a site placed at the
  town's approximate real location, clipped to the outline, so the urban 街道 sit by the river
  in the north-west and 南汇新城镇 on the south-east cape.
- Communities and grids are Voronoi cells of random sites inside their parent, smoothed by two
  Lloyd steps so cells come out even, and clipped to the parent. Counts are apportioned by
  area, with the urban 街道 six times denser (a 居委 in 陆家嘴 covers some 20 hectares, a
  village in the south-east a few km²).

Invariants:

- Codes nest: community = street code + 3 digits, grid = community code + 3 digits (15 digits,
  GB/T 30428.1 / DB11 style), numbered north to south within their parent.
- Siblings tile their parent: no gaps, no overlaps, every child inside its parent — up to the
  coordinate grid. All vertices are snapped to 1e-6° (≈ 0.1 m) with GEOS snap-rounding, which
  keeps every polygon valid; children are cut from their parent's snapped geometry, so a child
  strays across its parent's edge by less than one grid step (a sliver centimetres wide), and
  the grid index settles such points deterministically.
- Same seed and arguments → byte-identical plan (one ``random.Random`` per parent, keyed by
  seed and parent code, so nothing depends on iteration order or hash seeds).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from civicloop.demo.pudong_outline import pudong_outline
from civicloop.geo.model import EARTH_AUTHALIC_RADIUS_M
from civicloop.org.model import DepartmentKind, RegionLevel, Role

DISTRICT_CODE = "310115"
DISTRICT_NAME = "浦东新区"
DEMO_PASSWORD = "civicloop-demo-2026"  # ≥ 12 characters (OWASP ASVS 2.1.1)

# (code suffix, name, English name, approximate centre lon, lat) — real statistical codes.
STREETS: tuple[tuple[str, str, str, float, float], ...] = (
    ("004", "潍坊新村街道", "Weifang Xincun Subdistrict", 121.527, 31.224),
    ("005", "陆家嘴街道", "Lujiazui Subdistrict", 121.508, 31.232),
    ("007", "周家渡街道", "Zhoujiadu Subdistrict", 121.507, 31.180),
    ("008", "塘桥街道", "Tangqiao Subdistrict", 121.520, 31.211),
    ("009", "上钢新村街道", "Shanggang Xincun Subdistrict", 121.487, 31.183),
    ("010", "南码头路街道", "Nanmatou Road Subdistrict", 121.510, 31.197),
    ("011", "沪东新村街道", "Hudong Xincun Subdistrict", 121.580, 31.289),
    ("012", "金杨新村街道", "Jinyang Xincun Subdistrict", 121.572, 31.258),
    ("013", "洋泾街道", "Yangjing Subdistrict", 121.538, 31.243),
    ("014", "浦兴路街道", "Puxing Road Subdistrict", 121.585, 31.273),
    ("015", "东明路街道", "Dongming Road Subdistrict", 121.520, 31.166),
    ("016", "花木街道", "Huamu Subdistrict", 121.553, 31.214),
    ("103", "川沙新镇", "Chuansha New Town", 121.700, 31.180),
    ("104", "高桥镇", "Gaoqiao Town", 121.570, 31.345),
    ("105", "北蔡镇", "Beicai Town", 121.555, 31.180),
    ("110", "合庆镇", "Heqing Town", 121.745, 31.228),
    ("114", "唐镇", "Tangzhen Town", 121.655, 31.215),
    ("117", "曹路镇", "Caolu Town", 121.680, 31.275),
    ("120", "金桥镇", "Jinqiao Town", 121.615, 31.255),
    ("121", "高行镇", "Gaohang Town", 121.607, 31.302),
    ("123", "高东镇", "Gaodong Town", 121.635, 31.328),
    ("125", "张江镇", "Zhangjiang Town", 121.600, 31.200),
    ("130", "三林镇", "Sanlin Town", 121.508, 31.138),
    ("131", "惠南镇", "Huinan Town", 121.760, 31.050),
    ("132", "周浦镇", "Zhoupu Town", 121.575, 31.110),
    ("133", "新场镇", "Xinchang Town", 121.640, 31.022),
    ("134", "大团镇", "Datuan Town", 121.725, 30.980),
    ("136", "康桥镇", "Kangqiao Town", 121.590, 31.145),
    ("137", "航头镇", "Hangtou Town", 121.598, 31.045),
    ("139", "祝桥镇", "Zhuqiao Town", 121.785, 31.125),
    ("140", "泥城镇", "Nicheng Town", 121.820, 30.905),
    ("141", "宣桥镇", "Xuanqiao Town", 121.682, 31.065),
    ("142", "书院镇", "Shuyuan Town", 121.865, 30.955),
    ("143", "万祥镇", "Wanxiang Town", 121.800, 30.985),
    ("144", "老港镇", "Laogang Town", 121.845, 31.035),
    ("145", "南汇新城镇", "Nanhui New City Town", 121.915, 30.895),
)
LUJIAZUI_CODE = DISTRICT_CODE + "005"
HUAMU_CODE = DISTRICT_CODE + "016"

_GRID_SIZE = 1e-6  # coordinate grid in degrees: ≈ 0.1 m, and exactly 6 decimals in the JSON
_LLOYD_STEPS = 2  # two steps take the worst slivers out of random Voronoi cells; more buy little
_URBAN_DENSITY = 6.0  # weight of a 街道 km² against a town km² when apportioning counts
_VILLAGE_SHARE = 0.3  # share of a town's communities that are villages (村) rather than 居委
_MAX_CHILDREN = 999  # three code digits per level


@dataclass(frozen=True)
class RegionSpec:
    """One region of the territorial tree; ``centroid`` is a (lon, lat) point inside it."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    geometry: dict[str, Any]
    centroid: tuple[float, float]
    area_m2: float


@dataclass(frozen=True)
class DepartmentSpec:
    """A department; ``region_code`` None means district-wide."""

    code: str
    name: str
    name_en: str
    kind: DepartmentKind
    region_code: str | None


@dataclass(frozen=True)
class UserSpec:
    """A named persona; ``note`` says what it is for (shown by ``civicloop demo``)."""

    username: str
    display_name: str
    role: Role
    region_code: str | None
    department_codes: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class DistrictPlan:
    """Everything the demo district consists of, ready to be written by the org services."""

    district: RegionSpec
    streets: list[RegionSpec]
    communities: list[RegionSpec]
    grids: list[RegionSpec]
    departments: list[DepartmentSpec]
    users: list[UserSpec]

    def regions(self) -> Iterator[RegionSpec]:
        """Every region, parents before children."""
        yield self.district
        yield from self.streets
        yield from self.communities
        yield from self.grids

    def street_named(self, name: str) -> RegionSpec:
        """The street or town with this Chinese name (KeyError when there is none)."""
        for street in self.streets:
            if street.name == name:
                return street
        raise KeyError(name)


def generate_district(
    *,
    seed: int = 20261127,
    grids: int = 4000,
    communities: int = 1300,
    boundary: dict[str, Any] | None = None,
    bureau_departments: Sequence[tuple[str, str, str, DepartmentKind]] = (),
) -> DistrictPlan:
    """Build the demo district plan. Pure: reads no files and touches no database.

    ``boundary`` is a GeoJSON geometry, Feature or FeatureCollection (see ``load_boundary``);
    None uses the built-in coarse outline. Raises ValueError when the counts cannot be met
    (fewer communities than streets, fewer grids than communities, or more than 999 children
    under one parent) or the boundary is not polygonal.
    """
    if communities < len(STREETS):
        raise ValueError(f"communities must be at least {len(STREETS)} (one per street)")
    if grids < communities:
        raise ValueError(f"grids ({grids}) must be at least communities ({communities})")
    outline = _polygonal(boundary if boundary is not None else pudong_outline(), "boundary")
    outline = _snap(outline)
    district = _region(DISTRICT_CODE, DISTRICT_NAME, RegionLevel.DISTRICT, None, outline)

    street_shapes = _street_shapes(outline, seed)
    streets = [
        _region(DISTRICT_CODE + suffix, name, RegionLevel.STREET, DISTRICT_CODE, geom)
        for (suffix, name, *_), geom in zip(STREETS, street_shapes, strict=True)
    ]
    urban = {s.code for s in streets if s.name.endswith("街道")}
    weights = [s.area_m2 * (_URBAN_DENSITY if s.code in urban else 1.0) for s in streets]

    namer = _CommunityNamer(seed)
    community_list: list[RegionSpec] = []
    for street, geom, count in zip(
        streets, street_shapes, _apportion(communities, weights, "communities"), strict=True
    ):
        pieces = _subdivide(geom, count, _rng(seed, street.code))
        is_town = street.code not in urban
        for number, piece in enumerate(pieces, start=1):
            code, name = f"{street.code}{number:03d}", namer.name(street.name, number, is_town)
            community_list.append(_region(code, name, RegionLevel.COMMUNITY, street.code, piece))

    community_weights = [
        c.area_m2 * (_URBAN_DENSITY if c.parent_code in urban else 1.0) for c in community_list
    ]
    grid_list: list[RegionSpec] = []
    for community, count in zip(
        community_list, _apportion(grids, community_weights, "grids"), strict=True
    ):
        parent = shape(community.geometry)
        for number, piece in enumerate(_subdivide(parent, count, _rng(seed, community.code)), 1):
            code, name = f"{community.code}{number:03d}", f"{community.name}网格{number:02d}"
            grid_list.append(_region(code, name, RegionLevel.GRID, community.code, piece))

    departments = _departments(streets, community_list, bureau_departments)
    users = _personas(streets, community_list, bureau_departments)
    return DistrictPlan(district, streets, community_list, grid_list, departments, users)


def load_boundary(path: Path) -> dict[str, Any]:
    """Read a GeoJSON file (FeatureCollection, Feature or bare geometry) as one outline.

    Returns the union of its polygons as a Polygon or MultiPolygon geometry dict (lon/lat,
    6 decimals). Raises ValueError naming the file and the problem when it cannot be read, is
    not JSON, holds no polygon, holds a non-polygonal geometry, or is not in lon/lat degrees.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"boundary file {path}: cannot read GeoJSON ({exc})") from exc
    geometry = _polygonal(document, f"boundary file {path}")
    return _geojson(_snap(geometry))


# ---------------------------------------------------------------- geometry


def _polygonal(document: Any, source: str) -> shapely.Geometry:
    """The union of the polygons in a GeoJSON document, valid, in lon/lat; ValueError if not."""
    if not isinstance(document, dict):
        raise ValueError(f"{source}: expected a GeoJSON object, got {type(document).__name__}")
    kind = document.get("type")
    if kind == "FeatureCollection":
        members = [
            f.get("geometry") if isinstance(f, dict) else f for f in document.get("features") or []
        ]
    elif kind == "Feature":
        members = [document.get("geometry")]
    else:
        members = [document]
    parts: list[shapely.Geometry] = []
    for member in members:
        if not isinstance(member, dict) or member.get("type") not in ("Polygon", "MultiPolygon"):
            found = member.get("type") if isinstance(member, dict) else type(member).__name__
            raise ValueError(f"{source}: geometry must be Polygon or MultiPolygon, got {found}")
        try:
            parts.append(shapely.make_valid(shape(member)))
        except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError) as exc:
            raise ValueError(f"{source}: malformed {member['type']} coordinates ({exc})") from exc
    merged = _only_polygons(shapely.union_all(parts)) if parts else None
    if merged is None:
        raise ValueError(f"{source}: contains no polygon with an area")
    xmin, ymin, xmax, ymax = merged.bounds
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        raise ValueError(
            f"{source}: coordinates {merged.bounds} are not lon/lat degrees "
            "(reproject to WGS84 / EPSG:4326 first)"
        )
    return merged


def _only_polygons(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of an overlay result (which may carry touching lines or points)."""
    parts = list(shapely.get_parts(geometry))
    while any(p.geom_type in ("MultiPolygon", "GeometryCollection") for p in parts):
        parts = list(shapely.get_parts(np.array(parts, dtype=object)))
    parts = [p for p in parts if p.geom_type == "Polygon" and p.area > 0.0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _snap(geometry: shapely.Geometry) -> shapely.Geometry:
    snapped = _only_polygons(shapely.set_precision(geometry, _GRID_SIZE))
    if snapped is None:
        raise ValueError("boundary vanishes at 1e-6° precision")
    return snapped


def _street_shapes(outline: shapely.Geometry, seed: int) -> list[shapely.Geometry]:
    """One clipped Voronoi cell per street, in STREETS order."""
    sites = _street_sites(outline, seed)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=outline)
    )
    # Match cells back to their sites: every site lies strictly inside its own cell.
    site_idx, cell_idx = shapely.STRtree(cells).query(shapely.points(sites), predicate="within")
    by_site = dict(zip(site_idx.tolist(), cell_idx.tolist(), strict=True))
    ordered = np.array([cells[by_site[i]] for i in range(len(sites))], dtype=object)
    shapes = _clip(ordered, outline)
    if len(shapes) != len(sites):
        raise ValueError("boundary too small: a street vanishes at 1e-6° precision")
    return shapes


def _street_sites(outline: shapely.Geometry, seed: int) -> np.ndarray:
    """Street sites at their real places; for a foreign outline, stretched into its bounds.

    A site that still falls outside the outline (a coarse coast, an unusual boundary) moves to
    a seeded random point inside, so every street exists whatever the boundary.
    """
    sites = np.array([(lon, lat) for *_, lon, lat in STREETS], dtype=float)
    shapely.prepare(outline)
    inside = shapely.contains_xy(outline, sites[:, 0], sites[:, 1])
    if inside.sum() < len(sites) * 3 // 4:
        lo, hi = sites.min(axis=0), sites.max(axis=0)
        xmin, ymin, xmax, ymax = outline.bounds
        target_lo = np.array([xmin, ymin]) + 0.1 * np.array([xmax - xmin, ymax - ymin])
        target_hi = np.array([xmax, ymax]) - 0.1 * np.array([xmax - xmin, ymax - ymin])
        sites = target_lo + (sites - lo) / (hi - lo) * (target_hi - target_lo)
        inside = shapely.contains_xy(outline, sites[:, 0], sites[:, 1])
    missing = np.flatnonzero(~inside)
    if missing.size:
        sites[missing] = _sample_inside(outline, missing.size, _rng(seed, "street-sites"))
    return sites


def _subdivide(parent: shapely.Geometry, count: int, rng: random.Random) -> list[shapely.Geometry]:
    """``count`` pieces tiling ``parent`` (fewer only if a sliver vanishes), north to south."""
    if count == 1:
        return [parent]
    shapely.prepare(parent)
    sites = _sample_inside(parent, count, rng)
    for _ in range(_LLOYD_STEPS):
        cells = shapely.intersection(_voronoi(sites, parent), parent)
        # GEOS before 3.13 refuses predicates on collections; a cell touching the parent's
        # edge at a point comes back as one, so keep its polygonal part.
        collections = np.flatnonzero(shapely.get_type_id(cells) == 7)
        cells[collections] = [_only_polygons(c) for c in cells[collections]]
        centres = shapely.centroid(cells)
        # A concave cell's centroid can fall outside it; its point-on-surface cannot.
        outside = ~shapely.contains_properly(cells, centres)
        centres[outside] = shapely.point_on_surface(cells[outside])
        sites = shapely.get_coordinates(centres)
    pieces = _clip(_voronoi(sites, parent), parent)
    anchors = shapely.get_coordinates(shapely.point_on_surface(np.array(pieces, dtype=object)))
    order = sorted(
        range(len(pieces)), key=lambda i: (-anchors[i][1], anchors[i][0], shapely.to_wkb(pieces[i]))
    )
    return [pieces[i] for i in order]


def _voronoi(sites: np.ndarray, extent: shapely.Geometry) -> np.ndarray:
    return shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=extent))


def _clip(cells: np.ndarray, parent: shapely.Geometry) -> list[shapely.Geometry]:
    """Cells cut to the (already snapped) parent, snap-rounded to the grid, slivers dropped.

    Snapping the cells first gives neighbours bit-identical shared edges, so they meet exactly.
    """
    cut = shapely.intersection(
        shapely.set_precision(cells, _GRID_SIZE), parent, grid_size=_GRID_SIZE
    )
    return [p for p in (_only_polygons(c) for c in cut) if p is not None]


def _sample_inside(polygon: shapely.Geometry, count: int, rng: random.Random) -> np.ndarray:
    """``count`` uniform random points strictly inside ``polygon`` (rejection sampling)."""
    xmin, ymin, xmax, ymax = polygon.bounds
    fill = max(polygon.area / max((xmax - xmin) * (ymax - ymin), 1e-300), 0.01)
    shapely.prepare(polygon)
    found: list[tuple[float, float]] = []
    for _ in range(1000):
        batch = int((count - len(found)) / fill * 1.3) + 16
        xs = np.array([xmin + (xmax - xmin) * rng.random() for _ in range(batch)])
        ys = np.array([ymin + (ymax - ymin) * rng.random() for _ in range(batch)])
        keep = shapely.contains_xy(polygon, xs, ys)
        found.extend(zip(xs[keep].tolist(), ys[keep].tolist(), strict=True))
        if len(found) >= count:
            return np.array(found[:count], dtype=float)
    raise ValueError(f"cannot place {count} sites inside a polygon of area {polygon.area}")


def _apportion(total: int, weights: list[float], what: str) -> list[int]:
    """Split ``total`` over parents: at least one each, the rest by largest remainder."""
    spare = total - len(weights)
    weight_sum = sum(weights)
    quotas = [spare * w / weight_sum for w in weights]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in by_remainder[: spare - sum(counts)]:
        counts[i] += 1
    counts = [c + 1 for c in counts]
    if max(counts) > _MAX_CHILDREN:
        raise ValueError(
            f"{what}={total} puts {max(counts)} under one parent; "
            f"codes allow at most {_MAX_CHILDREN}"
        )
    return counts


def _rng(seed: int, key: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random.seed, independent of PYTHONHASHSEED.
    return random.Random(f"{seed}:{key}")


def _region(
    code: str, name: str, level: RegionLevel, parent: str | None, geometry: shapely.Geometry
) -> RegionSpec:
    inside, area = _inside_point(geometry), round(_area_m2(geometry), 1)
    return RegionSpec(code, name, level, parent, _geojson(geometry), inside, area)


def _area_m2(geometry: shapely.Geometry) -> float:
    """``geo.model.geometry_area_m2`` vectorised: the same sinusoidal projection, in numpy.

    The pure version validates every position in Python, which would dominate a 40,000-grid
    run; a test keeps the two in agreement.
    """
    xmin, _, xmax, _ = geometry.bounds
    lon0 = (xmin + xmax) / 2.0
    k = np.pi / 180.0 * EARTH_AUTHALIC_RADIUS_M

    def project(xy: np.ndarray) -> np.ndarray:
        lon, lat = xy[:, 0], xy[:, 1]
        return np.column_stack(((lon - lon0) * k * np.cos(np.radians(lat)), lat * k))

    return float(shapely.transform(geometry, project).area)


def _geojson(geometry: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON dict of a (snapped) polygonal geometry: RFC 7946 winding, 6 decimals."""
    polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
    coordinates = []
    for polygon in polygons:
        polygon = orient(polygon, sign=1.0)
        rings = [polygon.exterior, *polygon.interiors]
        coordinates.append([shapely.get_coordinates(r).round(6).tolist() for r in rings])
    if len(coordinates) == 1:
        return {"type": "Polygon", "coordinates": coordinates[0]}
    return {"type": "MultiPolygon", "coordinates": coordinates}


def _inside_point(geometry: shapely.Geometry) -> tuple[float, float]:
    """The centroid when it lies inside after rounding, else the point-on-surface."""
    surface = geometry.point_on_surface()
    for candidate in (geometry.centroid, surface):
        lon, lat = round(candidate.x, 6), round(candidate.y, 6)
        if geometry.contains_properly(shapely.Point(lon, lat)):
            return lon, lat
    return round(surface.x, 6), round(surface.y, 6)


# ---------------------------------------------------------------- names, departments, people

_ESTATE_HEADS = "东西南北金银梅竹松桂福康乐安泰和明春锦莲荷兰翠碧云海阳华丰盛宏德仁永民新绿"
_ESTATE_TAILS = "园苑湾庭桥港浜泾塘林溪汇景晖泉"
_ESTATE_KINDS = ("新村", "小区", "花园", "家园", "")
_SURNAMES = "陈张王李赵钱孙周吴郑冯朱沈顾陆杨黄徐倪严蔡施姚唐金邱瞿奚龚"
_VILLAGE_TAILS = ("家宅", "家桥", "家港", "家浜", "家行", "家墩", "家湾", "桥", "港", "墩", "浜")


class _CommunityNamer:
    """Plausible, district-unique 居委 / 村 names, drawn without replacement from seeded pools."""

    def __init__(self, seed: int) -> None:
        self._rng = _rng(seed, "names")
        self._estates = [
            h + t + k for h in _ESTATE_HEADS for t in _ESTATE_TAILS for k in _ESTATE_KINDS
        ]
        self._villages = [s + t for s in _SURNAMES for t in _VILLAGE_TAILS]
        self._rng.shuffle(self._estates)
        self._rng.shuffle(self._villages)

    def name(self, street_name: str, number: int, is_town: bool) -> str:
        if is_town and self._villages and self._rng.random() < _VILLAGE_SHARE:
            return self._villages.pop() + "村"
        if self._estates:
            return self._estates.pop() + "居委"
        return f"{street_name}第{number}居委"  # pools exhausted: only with huge community counts


def _departments(
    streets: list[RegionSpec],
    communities: list[RegionSpec],
    bureaus: Sequence[tuple[str, str, str, DepartmentKind]],
) -> list[DepartmentSpec]:
    english = {DISTRICT_CODE + suffix: name_en for suffix, _, name_en, *_ in STREETS}
    office, committee = DepartmentKind.STREET_OFFICE, DepartmentKind.COMMUNITY
    departments = [DepartmentSpec(code, name, en, kind, None) for code, name, en, kind in bureaus]
    for s in streets:
        name_en = f"{english[s.code]} Operations Sub-centre"
        departments.append(
            DepartmentSpec(f"street-{s.code}", f"{s.name}城运分中心", name_en, office, s.code)
        )
    for c in communities:
        # 居委 → 居委会 (residents' committee); X村 → X村村民委员会 (villagers' committee)
        is_village = c.name.endswith("村")
        name = f"{c.name}村民委员会" if is_village else f"{c.name}会"
        name_en = f"{'Villagers' if is_village else 'Residents'}' Committee {c.code}"
        departments.append(DepartmentSpec(f"community-{c.code}", name, name_en, committee, c.code))
    codes = [d.code for d in departments]
    if len(set(codes)) != len(codes):
        raise ValueError("bureau_departments: codes must be unique and not street-*/community-*")
    return departments


_HANDLER_NAMES = ("马志远", "朱红梅", "胡建军", "郭丽娟", "何振宇", "高明", "罗佳", "梁晨")

# (username, display name, role, scope, note); the scope says where the persona works:
# "district", a street (陆家嘴 "ljz" / 花木 "hm") or the first community of one, or nowhere.
# {ljz}, {hm}, {ljz_c}, {hm_c} in notes become those streets' and communities' names.
# fmt: off
_PERSONAS: tuple[tuple[str, str, Role, str | None, str], ...] = (
    ("operator", "王晓敏", Role.OPERATOR, "district",
     "受理员 operator, district 城运中心: takes in signals and files cases"),
    ("dispatcher", "李建华", Role.DISPATCHER, "district",
     "派遣员 dispatcher, district: routes filed cases to departments"),
    ("chief", "张海峰", Role.SHIFT_CHIEF, "district",
     "值班长 shift chief, district: approves filing, returns, extensions and closure"),
    ("supervisor", "陈静", Role.DISTRICT_SUPERVISOR, "district",
     "区级督办 district supervisor: issues supervision orders on overdue cases"),
    ("auditor", "刘洋", Role.AUDITOR, "district",
     "审计 auditor: reads everything in the district, changes nothing"),
    ("admin", "赵磊", Role.ADMIN, "district",
     "系统管理员 admin: configures the catalogue, users and departments"),
    ("handler-street", "孙丽", Role.DEPARTMENT_HANDLER, "ljz-street",
     "处置人员 handler at {ljz}城运分中心: small-loop (街镇) cases"),
    ("gridworker", "周强", Role.GRID_WORKER, "ljz-community",
     "网格员 grid worker of {ljz}{ljz_c}: patrols, reports, verifies"),
    ("gridworker2", "吴芳", Role.GRID_WORKER, "hm-community",
     "网格员 grid worker of {hm}{hm_c}: outside {ljz}, for out-of-scope checks"),
    ("street-ljz", "郑伟", Role.STREET_ADMIN, "ljz-street", "街镇管理员 street admin of {ljz}"),
    ("street-hm", "冯婷", Role.STREET_ADMIN, "hm-street", "街镇管理员 street admin of {hm}"),
    ("citizen", "黄小明", Role.CITIZEN, None,
     "市民 citizen: reports problems and follows their progress"),
    ("citizen2", "林小红", Role.CITIZEN, None,
     "市民 a second citizen: must not see the first one's reports"),
    ("enterprise", "何经理（浦江示范科技有限公司）", Role.ENTERPRISE, None,
     "企业 enterprise: files demands through 家门口服务 企业版"),
)
# fmt: on


def _personas(
    streets: list[RegionSpec],
    communities: list[RegionSpec],
    bureaus: Sequence[tuple[str, str, str, DepartmentKind]],
) -> list[UserSpec]:
    names = {s.code: s.name for s in streets}
    first: dict[str | None, RegionSpec] = {}
    for c in communities:
        first.setdefault(c.parent_code, c)
    ljz_c, hm_c = first[LUJIAZUI_CODE].code, first[HUAMU_CODE].code
    scopes: dict[str | None, tuple[str | None, tuple[str, ...]]] = {
        None: (None, ()),
        "district": (DISTRICT_CODE, ()),
        "ljz-street": (LUJIAZUI_CODE, (f"street-{LUJIAZUI_CODE}",)),
        "hm-street": (HUAMU_CODE, (f"street-{HUAMU_CODE}",)),
        "ljz-community": (ljz_c, (f"community-{ljz_c}",)),
        "hm-community": (hm_c, (f"community-{hm_c}",)),
    }
    words = {
        "ljz": names[LUJIAZUI_CODE],
        "hm": names[HUAMU_CODE],
        "ljz_c": first[LUJIAZUI_CODE].name,
        "hm_c": first[HUAMU_CODE].name,
    }
    users = [
        UserSpec(username, display, role, *scopes[scope], note.format(**words))
        for username, display, role, scope, note in _PERSONAS
    ]
    # One handler per department passed in, placed after the district staff.
    handlers = [
        UserSpec(
            f"handler-{code}",
            _HANDLER_NAMES[i % len(_HANDLER_NAMES)],
            Role.DEPARTMENT_HANDLER,
            None,
            (code,),
            f"处置人员 department handler of {name}: accepts, returns and handles its cases",
        )
        for i, (code, name, _, _) in enumerate(bureaus)
    ]
    return users[:6] + handlers + users[6:]
