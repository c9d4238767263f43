"""`csc-returns serve`: the home's reports/ over HTTP (Data Docs, scorecard, benchmarks), read only."""

from __future__ import annotations

import argparse

from pipelines.cli.common import Commands, command, show
from pipelines.exit_codes import OK
from pipelines.home import DataHome

DEFAULT_PORT = 3001


def add_serve(commands: Commands) -> None:
    serve = command(
        commands,
        "serve",
        _serve,
        help="serve the home's reports (Data Docs, scorecard, benchmarks) over HTTP until stopped",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")


def _serve(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps.reports import reports_server

    server = reports_server(home.reports, args.host, args.port)
    host, port = str(server.server_address[0]), server.server_address[1]
    show(f"reports of {home.root} on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return OK
