"""Storage fixtures: the test's fresh database on the session's real nx-27017 server."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from config import Config
from storage.db import get_db


@pytest.fixture
def db(detector_env: Config) -> Database:
    """A fresh database with the indexes ensured."""
    return get_db()
