"""A built-in coarse outline of Pudong New Area (浦东新区, GB/T 2260 code 310115).

It lets ``civicloop demo`` and the tests build a district with no data file. The ring was traced
from the public administrative outline (the same data as ``pudong_boundary.geojson``: its main
polygon, Douglas–Peucker at 0.0035°, rounded to 0.001° ≈ 100 m), then kept as literal numbers
so the package carries no data file. It starts at the northern tip by the Yangtze mouth
(高桥), runs south along the Huangpu river on the west (陆家嘴's bend, 三林, the 闵行 border),
east along the 奉贤 border, round the 南汇 cape (南汇新城, 滴水湖) and north up the sea coast.
The offshore islands (九段沙) are left out. Good for a demo; use the real file for anything
that locates real addresses.

Invariant: one valid, counter-clockwise, closed ring (RFC 7946 order), lon/lat in degrees.
"""

from __future__ import annotations

from typing import Any

# fmt: off
PUDONG_OUTLINE_RING: tuple[tuple[float, float], ...] = (
    (121.521, 31.395), (121.504, 31.374), (121.504, 31.365), (121.515, 31.352),
    (121.559, 31.331), (121.570, 31.280), (121.559, 31.264), (121.540, 31.251),
    (121.495, 31.242), (121.493, 31.236), (121.507, 31.223), (121.509, 31.212),
    (121.495, 31.193), (121.466, 31.181), (121.469, 31.160), (121.457, 31.142),
    (121.470, 31.125), (121.465, 31.112), (121.472, 31.110), (121.474, 31.114),
    (121.481, 31.111), (121.477, 31.117), (121.489, 31.125), (121.502, 31.115),
    (121.511, 31.121), (121.515, 31.115), (121.531, 31.118), (121.542, 31.116),
    (121.546, 31.110), (121.555, 31.115), (121.560, 31.112), (121.567, 31.094),
    (121.549, 31.087), (121.554, 31.080), (121.575, 31.080), (121.558, 31.073),
    (121.541, 31.053), (121.543, 31.045), (121.555, 31.051), (121.562, 31.044),
    (121.554, 31.019), (121.572, 31.027), (121.575, 31.019), (121.566, 31.012),
    (121.570, 30.998), (121.612, 31.001), (121.621, 30.993), (121.693, 30.989),
    (121.721, 30.975), (121.748, 30.952), (121.759, 30.949), (121.765, 30.942),
    (121.761, 30.938), (121.779, 30.930), (121.781, 30.918), (121.769, 30.850),
    (121.794, 30.817), (121.915, 30.813), (121.944, 30.777), (121.970, 30.789),
    (121.955, 30.826), (121.994, 30.863), (121.998, 30.900), (121.991, 30.968),
    (121.963, 31.047), (121.884, 31.131), (121.810, 31.197), (121.744, 31.283),
    (121.723, 31.304), (121.599, 31.375), (121.521, 31.395),
)
# fmt: on


def pudong_outline() -> dict[str, Any]:
    """The outline as a GeoJSON Polygon geometry (a fresh dict each call, safe to mutate)."""
    return {"type": "Polygon", "coordinates": [[list(p) for p in PUDONG_OUTLINE_RING]]}
