"""Workflow steps: plain functions, each usable as a Hera script on either engine."""
