"""The media channel's messages: every one survives the wire; anything else is refused."""

import dataclasses

import pytest

from vidzzle_media.workers import messages as m


def sample(cls):
    values = {"int": 7, "str": "x\r\ny", "bool": True, "float": 1.5}
    args = {}
    for f in dataclasses.fields(cls):
        kind = str(f.type)
        args[f.name] = next((v for k, v in values.items() if kind.startswith(k)), {"a": [1, "b"]})
    return cls(**args)


@pytest.mark.parametrize("cls", list(m.MESSAGES.values()), ids=list(m.MESSAGES))
def test_every_message_round_trips(cls):
    message = sample(cls)
    line = m.encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1      # an SDP's CRLF stays inside the line
    assert m.decode(line) == message


@pytest.mark.parametrize("line", [b"", b"{", b"[]", b'{"m": "Nope"}', b'{"m": "Publish", "ref": 1}',
                                  b'{"m": "__class__"}', b"\xff\xfe"])
def test_anything_else_is_refused(line):
    with pytest.raises(m.ChannelError):
        m.decode(line)
