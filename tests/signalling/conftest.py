import asyncio
import os
import traceback

import pytest
from aiohttp import web

from vidzzle_media import signalling
from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue
from vidzzle_media.workers.pool import WorkerPool


@pytest.fixture
async def room_app(aiohttp_client):
    """A bare aiohttp app with only the signalling (dev pages on); fails the
    test if anything unhandled reached the event loop."""
    loop = asyncio.get_running_loop()
    unhandled = []
    loop.set_exception_handler(lambda loop, ctx: unhandled.append(ctx))
    app = web.Application()
    ice = IcePolicy(DefaultIce())
    workers = int(os.environ.get("VIDZZLE_SERVER_MEDIA_WORKERS", "0"))   # the suite runs both ways
    directory = signalling.RoomDirectory(ice, media=WorkerPool(workers, ice) if workers else None)
    signalling.setup(app, directory, dev_pages=True)
    client = await aiohttp_client(app)
    yield client, directory
    await directory.close_all()
    await client.close()  # the server's handlers finish before we look
    aiortc_glue.set_host_addresses(None)
    import gc

    gc.collect()  # surfaces "exception never retrieved" of dropped tasks
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    for ctx in unhandled:
        t = ctx.get('task')
        if t is not None and t.done() and t.exception():
            traceback.print_exception(t.exception())
    assert not unhandled, unhandled
