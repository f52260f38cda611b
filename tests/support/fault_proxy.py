"""A loopback proxy in front of the emulator that injects the faults real AWS has.

- Throttling: every `throttle_every`-th API call is answered with the error
  the service itself sends when it throttles (RequestLimitExceeded for EC2,
  Throttling for the query APIs, ThrottlingException for the JSON ones,
  SlowDown for S3), and is not forwarded.
- Interruption: `interrupt_after(operation, callback)` calls `callback` once
  the emulator has carried out the first call of that operation, then drops
  the connection. That is the worst moment to kill a run: the write happened
  and the client never learns of it.

Point AWS_ENDPOINT_URL at `proxy.url`; moto's own /moto-api stays direct.
Subclasses change what reaches the emulator and what comes back through
`before` and `after` (support/aws_model.py models AWS's timing so).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from .api_calls import ApiCall, call_of

# An answer: status, headers and body.
Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# The hop-by-hop headers a proxy must not pass on.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_QUERY_SERVICES = {"iam", "sts", "cloudformation", "sns", "monitoring", "sqs", "elasticloadbalancing", "rds"}


def throttling_error(service: str, target: str | None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a throttling answer as `service` words it."""
    if target:
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}, body
    if service == "ec2":
        body = (b"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>")
        return 503, {"Content-Type": "text/xml"}, body
    if service in _QUERY_SERVICES:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                b"</Error><RequestId>throttled</RequestId></ErrorResponse>")
        return 400, {"Content-Type": "text/xml"}, body
    if service == "s3":
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return 503, {"Content-Type": "application/xml"}, body
    # REST-JSON services (Batch, GuardDuty, ...).
    body = json.dumps({"message": "Too Many Requests"}).encode()
    return 429, {"Content-Type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException"}, body


class FaultProxy:
    def __init__(self, upstream: str, throttle_every: int = 0):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.throttle_every = throttle_every
        self.calls: list[ApiCall] = []
        self.throttled: list[ApiCall] = []
        self._interrupt: tuple[str, Callable[[], None]] | None = None
        self.interrupted: str | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def interrupt_after(self, operation: str, callback: Callable[[], None]) -> None:
        """Call `callback` after the next `operation` reached the emulator, and drop its answer."""
        with self._lock:
            self._interrupt = (operation, callback)
            self.interrupted = None

    def _decide(self, call: ApiCall) -> bool:
        """Record the call; True when it is to be throttled."""
        with self._lock:
            self.calls.append(call)
            throttle = bool(self.throttle_every) and len(self.calls) % self.throttle_every == 0
            if throttle:
                self.throttled.append(call)
            return throttle

    def before(self, call: ApiCall, request: Request) -> Reply | None:
        """The answer to give instead of forwarding the request, or None to forward it."""
        if self._decide(call):
            return throttling_error(call.service, request.headers.get("X-Amz-Target"))
        return None

    def after(self, call: ApiCall, request: Request, reply: Reply) -> Reply:
        """The answer to give, from the emulator's `reply`."""
        return reply

    def _take_interrupt(self, call: ApiCall) -> Callable[[], None] | None:
        with self._lock:
            if self._interrupt and self._interrupt[0] == call.operation:
                callback = self._interrupt[1]
                self._interrupt = None
                self.interrupted = call.operation
                return callback
            return None

    def _handler(proxy):  # noqa: N805 - the handler class closes over the proxy
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, headers: dict[str, str], body: bytes, length: str | None = None) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", length if length is not None else str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self):
                body = self._read_body()
                entry = {"url": self.path, "method": self.command, "headers": dict(self.headers.items()),
                         "body": body.decode("utf-8", "replace")}
                call = call_of(entry, method=self.command)
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                early = proxy.before(call, request)
                if early is not None:
                    self._reply(*early)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host", "content-length"}}
                headers["Host"] = "{}:{}".format(*proxy.upstream)
                headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=600)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    answer = response.read()
                finally:
                    upstream.close()
                callback = proxy._take_interrupt(call)
                if callback is not None:
                    callback()
                    self.close_connection = True
                    return
                reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}}
                status, reply_headers, answer = proxy.after(call, request, (response.status, reply_headers, answer))
                # A HEAD answer tells the length of the body it leaves out.
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self._reply(status, reply_headers, answer, length)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        return Handler
