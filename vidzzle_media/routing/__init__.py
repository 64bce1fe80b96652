"""Call routing: business hours, ring plans and live ringing.

``hours`` and ``plan`` are pure functions of their inputs; ``dispatcher``
runs the timers of live calls on an injected clock. Nothing here imports
the SFU or the signalling layer (tests/test_dependencies.py checks it).
"""
