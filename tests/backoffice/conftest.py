"""Back-office branding/dashboard tests reuse the admin fixtures (world, browsers, local SMTP)."""

from tests.admin.conftest import browser, browser_factory, world  # noqa: F401
