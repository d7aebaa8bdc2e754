"""The platform's running parts, built once from :class:`Settings` and handed to services.

A ``Platform`` holds the database, the clock, the active catalogue and work calendar, and a
lazily built grid index. Nothing here is global: tests build as many platforms as they like.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from civicloop.core.clock import Clock
from civicloop.core.db import Database, migrate
from civicloop.core.settings import Settings

if TYPE_CHECKING:
    from civicloop.catalogue.calendar import WorkCalendar
    from civicloop.catalogue.model import Catalogue
    from civicloop.geo.index import GridIndex


@dataclass
class Platform:
    settings: Settings
    db: Database
    clock: Clock
    catalogue: Catalogue
    calendar: WorkCalendar
    _grids: GridIndex | None = field(default=None, repr=False)
    _grid_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None, migrate_schema: bool = True) -> Platform:
        """Open (and by default migrate) the database and load the catalogue and calendar."""
        from civicloop.catalogue.calendar import load_calendar
        from civicloop.catalogue.loader import load_catalogue

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings)
        if migrate_schema:
            migrate(db)
        catalogue = load_catalogue(Path(settings.catalogue_path) if settings.catalogue_path else None)
        return cls(settings=settings, db=db, clock=clock or Clock(), catalogue=catalogue,
                   calendar=load_calendar())

    @property
    def grids(self) -> GridIndex:
        """The point → grid index over every stored grid polygon (built on first use)."""
        if self._grids is None:
            with self._grid_lock:
                if self._grids is None:
                    from civicloop.geo.index import GridIndex
                    from civicloop.org.service import list_grids

                    self._grids = GridIndex(list_grids(self))
        return self._grids

    def invalidate_geo(self) -> None:
        self._grids = None

    def close(self) -> None:
        self.db.dispose()
