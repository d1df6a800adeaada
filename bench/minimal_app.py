"""The floor for bench_serve.py: starlette on the same uvicorn, parsing JSON, answering 200."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def segment(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    return Response(orjson.dumps({"ok": isinstance(payload, dict)}), media_type="application/json")


app = Starlette(routes=[Route("/segment", segment, methods=["POST"])])
