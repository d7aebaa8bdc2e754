"""The platform's running parts, built once from :class:`Settings` and handed to services.

A ``Platform`` holds the database, the clock, the active catalogue and work calendar, and a
lazily built grid index. Nothing here is global: tests build as many platforms as they like.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from civicloop.core.clock import Clock
from civicloop.core.db import Database, migrate
from civicloop.core.settings import Settings

ROUTE_CACHE_SECONDS = 30.0

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from civicloop.catalogue.calendar import WorkCalendar
    from civicloop.catalogue.model import Catalogue
    from civicloop.geo.index import GridIndex
    from civicloop.org.model import Responsibility


@dataclass
class Platform:
    settings: Settings
    db: Database
    clock: Clock
    catalogue: Catalogue
    calendar: WorkCalendar
    _grids: GridIndex | None = field(default=None, repr=False)
    _grid_paths: dict[str, str] = field(default_factory=dict, repr=False)
    _grid_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _routes: dict[str, tuple[float, list[Responsibility]]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls, settings: Settings, *, clock: Clock | None = None, migrate_schema: bool = True
    ) -> Platform:
        """Open (and by default migrate) the database and load the catalogue and calendar."""
        from civicloop.catalogue.calendar import load_calendar
        from civicloop.catalogue.loader import load_catalogue

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings)
        if migrate_schema:
            migrate(db)
        # CIVICLOOP_CATALOGUE first; else the local catalogue an admin saved in the console
        # (<data_dir>/catalogue/, see web/catalogue_files.py); else the packaged default
        local = settings.data_dir / "catalogue"
        chosen = settings.catalogue_path or (str(local) if local.is_dir() else "")
        catalogue = load_catalogue(Path(chosen) if chosen else None)
        return cls(
            settings=settings,
            db=db,
            clock=clock or Clock(),
            catalogue=catalogue,
            calendar=load_calendar(),
        )

    @property
    def grids(self) -> GridIndex:
        """The point → grid index over every stored grid polygon (built on first use)."""
        if self._grids is None:
            with self._grid_lock:
                if self._grids is None:
                    from civicloop.geo.index import GridIndex
                    from civicloop.org.service import list_grids

                    grids = list_grids(self)
                    self._grid_paths = {code: path for code, _, path in grids}
                    self._grids = GridIndex((code, geometry) for code, geometry, _ in grids)
        return self._grids

    def grid_path(self, code: str) -> str | None:
        """The territorial path of a grid (``/district/street/community/grid/``), or None."""
        if self._grids is None:
            self.grids  # noqa: B018  (builds the index and the path table together)
        return self._grid_paths.get(code)

    def invalidate_geo(self) -> None:
        self._grids = None
        self._grid_paths = {}

    def route(self, conn: Connection, element_code: str, region_path: str) -> Responsibility | None:
        """The responsibility-matrix row for an element at a place.

        The matrix changes rarely and is read on every report and dispatch, so each element's
        rows are cached for ``ROUTE_CACHE_SECONDS``; a change made in this process clears the
        cache at once, one made in another process is seen within that time.
        """
        from civicloop.org.model import pick_responsibility
        from civicloop.org.service import responsibilities_of

        now = time.monotonic()
        hit = self._routes.get(element_code)
        if hit is None or now - hit[0] > ROUTE_CACHE_SECONDS:
            hit = (now, responsibilities_of(conn, element_code))
            self._routes[element_code] = hit
        return pick_responsibility(hit[1], region_path)

    def invalidate_routes(self) -> None:
        self._routes = {}

    def close(self) -> None:
        self.db.dispose()
