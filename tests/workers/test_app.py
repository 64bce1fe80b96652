"""The whole server with ``server.media_workers = 2``: the workers start and stop with it and show in /metrics."""

import re

from sfu.peers import wait_for

from vidzzle_media import keys
from vidzzle_media.app import create_app


async def test_server_with_two_media_workers(aiohttp_client, settings):
    settings.server.media_workers = 2
    app = create_app(settings)
    http = await aiohttp_client(app)
    pool = app[keys.ROOMS].media
    pids = [w.process.pid for w in pool.workers]
    assert len(set(pids)) == 2
    room_id = await app[keys.ROOMS].create_room()
    await wait_for(lambda: len(app[keys.ROOMS].stats().workers) == 2, timeout=5)
    text = await (await http.get("/metrics")).text()
    rooms = dict(re.findall(r'vidzzle_media_worker_rooms\{pid="(\d+)",worker="\d+"\} (\S+)', text))
    assert set(rooms) == {str(p) for p in pids}
    await wait_for(lambda: sorted(s.rooms for _, s in app[keys.ROOMS].stats().workers) == [0, 1], timeout=5)
    assert re.search(r'^vidzzle_media_worker_cpu_seconds_total\{pid="\d+",worker="1"\} [0-9.]+', text, re.M)
    assert re.search(r"^vidzzle_rooms 1\.0$", text, re.M)
    await app[keys.ROOMS].close_room(room_id)
    await http.close()                      # shutdown closes the channels: the workers end
    for w in pool.workers:
        assert w.process.returncode is not None
