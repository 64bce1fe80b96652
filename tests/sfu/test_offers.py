"""Offers shaped like other browsers' survive the codec filter."""

import uuid

from vidzzle_media.sfu import Room

# Firefox ESR 128: no a=rtcp line (aiortc's serializer then drops a=rtcp-mux),
# a bundle-only second m-line with port 0, VP8 + RTX, Opus as PT 109
OFFER = """v=0\r
o=mozilla...THIS_IS_SDPARTA-128.0 1 0 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r
a=group:BUNDLE 0 1\r
a=ice-options:trickle\r
a=msid-semantic:WMS *\r
m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r
c=IN IP4 0.0.0.0\r
a=sendonly\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r
a=ice-pwd:0123456789abcdef0123456789abcdef\r
a=ice-ufrag:abcd1234\r
a=mid:0\r
a=msid:{{s}} {{t}}\r
a=rtcp-mux\r
a=rtpmap:109 opus/48000/2\r
a=rtpmap:9 G722/8000/1\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=setup:actpass\r
a=ssrc:111 cname:{{x}}\r
m=video 0 UDP/TLS/RTP/SAVPF 120 124\r
c=IN IP4 0.0.0.0\r
a=bundle-only\r
a=sendonly\r
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=fmtp:120 max-fs=12288;max-fr=60\r
a=fmtp:124 apt=120\r
a=ice-pwd:0123456789abcdef0123456789abcdef\r
a=ice-ufrag:abcd1234\r
a=mid:1\r
a=msid:{{s}} {{u}}\r
a=rtcp-fb:120 nack\r
a=rtcp-fb:120 nack pli\r
a=rtcp-fb:120 ccm fir\r
a=rtcp-fb:120 goog-remb\r
a=rtcp-mux\r
a=rtpmap:120 VP8/90000\r
a=rtpmap:124 rtx/90000\r
a=setup:actpass\r
a=ssrc:222 cname:{{x}}\r
a=ssrc:223 cname:{{x}}\r
a=ssrc-group:FID 222 223\r
"""


async def test_firefox_shaped_offer_is_accepted(ice):
    room = Room(ice)
    try:
        p = room.add_participant("ff")
        sdp = OFFER.replace("{{s}}", "{" + str(uuid.uuid4()) + "}").replace("{{t}}", "{" + str(uuid.uuid4()) + "}")
        sdp = sdp.replace("{{u}}", "{" + str(uuid.uuid4()) + "}").replace("{{x}}", "{" + str(uuid.uuid4()) + "}")
        answer = await p.publish(sdp)
        codecs = sorted((x.kind, x.codec.mime_type, x.codec.payload_type, x.codec.rtx_payload_type)
                        for x in p.producers.values())
        assert codecs == [("audio", "audio/opus", 109, None), ("video", "video/VP8", 120, 124)]
        assert "a=rtpmap:0 PCMU" not in answer and answer.count("a=rtcp-mux") == 2
    finally:
        await room.close()
