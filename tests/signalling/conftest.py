import pytest
from aiohttp import web

from vidzzle_media import signalling
from vidzzle_media.sfu import DefaultIce, aiortc_glue


@pytest.fixture
async def room_app(aiohttp_client):
    """A bare aiohttp app with only the signalling (dev pages on)."""
    app = web.Application()
    directory = signalling.setup(app, DefaultIce(), dev_pages=True)
    client = await aiohttp_client(app)
    yield client, directory
    aiortc_glue.set_host_addresses(None)
