"""The built-in TURN relay: calls for browsers whose network blocks UDP.

``server.TurnServer`` relays over TCP/TLS to this host's own SFU
addresses only; ``credentials`` makes and checks the short-lived
credentials each browser gets with its call. The relay knows nothing of
rooms, calls or the web app: app.py wires it (docs/signalling.md).
"""
