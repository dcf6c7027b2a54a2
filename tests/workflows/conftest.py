"""Workflow fixtures: a module-wide environment, so one local engine serves a whole module."""

from __future__ import annotations





