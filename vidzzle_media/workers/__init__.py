"""Media workers: rooms in processes of their own (``server.media_workers``).

``pool`` (main process) starts them and places rooms; ``proxy`` is the main
process's view of a room there; ``worker`` is the worker process; ``channel``
and ``messages`` are what goes between them. Imports signalling nothing: the
proxies only have the interface it uses.
"""
