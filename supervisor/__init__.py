"""Supervisor: runs profiles of modules, restarts them, reports their status."""
