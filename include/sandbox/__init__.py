"""Local emulators of the external APIs the platform talks to (docs/sandbox.md).

Each follows the public contract (paths, JSON shapes, status codes, error names, quotas) closely
enough that the real client libraries run their real code paths against it. Nothing here imports
the project's domain code, and nothing in the project imports this package: hooks reach an
emulator only through a connection's URL.
"""
