"""The composition root: the one package that knows every domain.

It builds the running gateway from the settings (`container.build_gateway`), the ASGI app
(`app.create_app`, with the router list in `routers.py`), and the worker's and the watcher's
wiring (`worker.py`, `watcher.py`), written once and used by `dev`, `api`, `worker` and
`watcher` alike. Nothing below this package imports it.
"""
