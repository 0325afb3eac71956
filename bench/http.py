"""A minimal HTTP/1.1 keep-alive client for timing the API: one connection, one request at a time.

httpx's `AsyncClient` spends more client-side CPU per request than the service overhead the read
benchmarks set out to measure (`GET /healthz` through httpx against a bare socket shows it), so
their request times would mostly be httpx's.
This client writes the request line and headers and reads the status line, the headers and a
`Content-Length` or chunked body — nothing else (no redirects, no cookies, no TLS). Browsers and
`curl` sit much closer to it than to httpx.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """`await client.get(path, params=...)` over one kept-alive connection."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http://host:port is supported, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        fixed = {"host": f"{self.host}:{self.port}", **{k.lower(): v for k, v in (headers or {}).items()}}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        target = f"{path}?{urlencode(params)}" if params else path
        request = f"GET {target} HTTP/1.1\r\n{self._head}\r\n".encode("latin-1")
        for attempt in (1, 2):  # the server may have closed an idle connection: reconnect once
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                assert self._reader is not None
                self._writer.write(request)
                response = await _read_response(self._reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            if response.headers.get("connection", "").lower() == "close":
                await self.close()
            return response
        raise AssertionError("unreachable")


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # the empty trailer
        body = b"".join(chunks)
    else:
        body = b""
    return Response(status, headers, body)
