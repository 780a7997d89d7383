"""Starlette on uvicorn against aiohttp.web: the same two endpoints, the same client, one run.

    .venv/bin/python bench/bench_http_stack.py [--requests 4000] [--connections 8]

Each server runs in a process of its own on 127.0.0.1 and serves ``/healthz``
(``ok``) and ``/page`` (a 30 KB HTML page, the console's security headers
added by a middleware, as the console sends them). A raw asyncio client keeps
``--connections`` HTTP/1.1 connections alive and sends requests one after
another on each. The table gives requests per second, median and 99th
percentile latency, and the server's CPU time per request (from
/proc/<pid>/stat): the CPU a page costs is CPU polling does not get, since
the console shares the service's process and event loop.

Neither aiohttp nor httptools (uvicorn's C HTTP parser) is a dependency of the
project: ``pip install aiohttp httptools`` to include them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import time
from typing import Any

PAGE = ("<!doctype html><html><head><title>alerts</title></head><body><main>"
        + "".join(f"<li class='alert'><a href='/stories/{i}'>Story number {i} about the Pentagon and Syria</a>"
                  f"<p class='summary'>{'Lorem ipsum dolor sit amet. ' * 18}</p></li>" for i in range(50))
        + "</main></body></html>").encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_starlette(port: int, ready: Any, http: str = "h11") -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from monitor.web.app import SecurityHeaders

    async def healthz(request: Any) -> Response:
        return PlainTextResponse("ok\n")

    async def page(request: Any) -> Response:
        return Response(PAGE, media_type="text/html; charset=utf-8")

    app = SecurityHeaders(Starlette(routes=[Route("/healthz", healthz), Route("/page", page)]))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
                            http=http, ws="none")
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        ready.set()
        await task

    asyncio.run(main())


def run_starlette_httptools(port: int, ready: Any) -> None:
    run_starlette(port, ready, "httptools")


def run_aiohttp(port: int, ready: Any) -> None:
    from aiohttp import web

    from monitor.web.app import SECURITY_HEADERS

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html", charset="utf-8")

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()

    app = web.Application()
    app.on_response_prepare.append(headers)
    app.add_routes([web.get("/healthz", healthz), web.get("/page", page)])

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def client(port: int, path: str, total: int, connections: int) -> tuple[float, list[float]]:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    latencies: list[float] = []
    per = total // connections

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(per):
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return time.perf_counter() - t0, latencies


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--connections", type=int, default=8)
    args = p.parse_args()
    stacks = [("starlette + uvicorn (h11)", run_starlette)]
    try:
        import httptools  # noqa: F401

        stacks.append(("starlette + uvicorn (httptools)", run_starlette_httptools))
    except ImportError:
        print("httptools is not installed: pip install httptools to include uvicorn's C parser")
    try:
        import aiohttp  # noqa: F401

        stacks.append(("aiohttp.web", run_aiohttp))
    except ImportError:
        print("aiohttp is not installed: pip install aiohttp to compare")
    rows = []
    for name, target in stacks:
        port = free_port()
        ready = multiprocessing.Event()
        proc = multiprocessing.Process(target=target, args=(port, ready), daemon=True)
        proc.start()
        ready.wait(20)
        try:
            for path in ("/healthz", "/page"):
                asyncio.run(client(port, path, 200, args.connections))  # warm up
                before = cpu_seconds(proc.pid)
                wall, lat = asyncio.run(client(port, path, args.requests, args.connections))
                cpu = cpu_seconds(proc.pid) - before
                lat.sort()
                rows.append([name, path, f"{len(lat) / wall:,.0f}", f"{statistics.median(lat):.2f}",
                             f"{lat[int(len(lat) * 0.99) - 1]:.2f}", f"{cpu / len(lat) * 1000:.3f}"])
        finally:
            proc.terminate()
            proc.join(5)
    header = ["stack", "path", "requests/s", "p50 ms", "p99 ms", "server CPU ms/request"]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print(f"\nHTTP stacks, {args.requests:,} requests a path over {args.connections} keep-alive connections, 127.0.0.1\n")
    for r in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
