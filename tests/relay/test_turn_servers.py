"""The install's own STUN/TURN servers as browsers and the SFU get them (issue 27)."""

from __future__ import annotations

import time

from vidzzle_media.config import load_settings
from vidzzle_media.relay import credentials
from vidzzle_media.sfu import IcePolicy, aiortc_glue
from vidzzle_media.turn_servers import IceServers, TurnAccount

TURN = ["turn:turn1.example:3478?transport=udp", "turn:turn1.example:3478?transport=tcp", "turns:turn2.example:5349"]


def settings(**ice):
    return load_settings(environ={}, overrides={f"ice.{k}": v for k, v in ice.items()})


def test_browsers_get_every_configured_server_then_the_built_in_relay():
    conf = settings(stun_servers=["stun:stun.example:3478"], turn_servers=TURN, turn_username="dealer",
                    turn_password="pw")
    built_in = [{"urls": ["turn:vidzzle.example:443?transport=tcp"], "username": "u", "credential": "c"}]
    servers = IceServers(conf.ice, TurnAccount.from_settings(conf.ice), lambda host: built_in)("vidzzle.example")
    assert servers == [{"urls": ["stun:stun.example:3478"]},
                       {"urls": TURN, "username": "dealer", "credential": "pw"}, *built_in]


def test_a_shared_secret_gives_each_browser_its_own_short_lived_credential():
    conf = settings(turn_servers=TURN, turn_secret="s3cret", turn_credential_ttl_s=600, turn_password="unused")
    servers = IceServers(conf.ice, TurnAccount.from_settings(conf.ice))
    (entry,) = servers("vidzzle.example")
    expires, _, who = entry["username"].partition(":")
    assert who == "call" and abs(int(expires) - (time.time() + 600)) < 5
    # what coturn's use-auth-secret computes from the same secret
    assert entry["credential"] == credentials.password_for(b"s3cret", entry["username"])
    assert "s3cret" not in str(servers("x")) and "unused" not in str(servers("x"))


def test_no_servers_configured_and_no_relay_gives_browsers_nothing():
    conf = settings()
    assert IceServers(conf.ice, TurnAccount.from_settings(conf.ice))("x") == []


def test_the_sfu_gets_a_fresh_credential_for_every_connection():
    conf = settings(host_addresses=["127.0.0.1"], turn_servers=TURN, turn_secret="s3cret")
    try:
        policy = IcePolicy(conf.ice, turn_credential=TurnAccount.from_settings(conf.ice).credential)
        (server,) = policy.configuration().iceServers
        assert server.urls == TURN
        assert server.credential == credentials.password_for(b"s3cret", server.username)
    finally:
        aiortc_glue.set_host_addresses(None)
