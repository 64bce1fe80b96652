"""Regression tests of issue 22 (what a new user trips over) reuse the admin fixtures."""

from tests.admin.conftest import browser, browser_factory, world  # noqa: F401
