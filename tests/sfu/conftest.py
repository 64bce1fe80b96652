import pytest

from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue


@pytest.fixture
def ice():
    """Loopback-only ICE policy; restores aioice's host-address lookup after."""
    policy = IcePolicy(DefaultIce())
    yield policy
    aiortc_glue.set_host_addresses(None)
