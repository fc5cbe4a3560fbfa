"""Test doubles and helpers shared by the tests (not shipped with finmon)."""
