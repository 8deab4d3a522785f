"""http plugin: request method, host, URL, user agent, referer and the response status and
content type of the first request/response of a flow. Only the head (start line and headers)
is read, so a message whose body continues in later segments still counts."""

from __future__ import annotations

import numpy as np

from .plugin_base import FlowPlugin

_METHODS = (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC")


def parse_head(data: bytes) -> tuple[list[str], dict[str, str]] | None:
    """The start line's words and the headers (lower-case names) of an HTTP message head."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    words = lines[0].split(" ", 2)
    if len(words) < 2:
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() not in headers:
            headers[name.strip().lower()] = value.strip()
    return words, headers


class HttpPlugin(FlowPlugin):
    name = "http"
    fields = ("string HTTP_REQUEST_METHOD,string HTTP_REQUEST_HOST,string HTTP_REQUEST_URL,"
              "string HTTP_REQUEST_AGENT,string HTTP_REQUEST_REFERER,"
              "uint16 HTTP_RESPONSE_STATUS_CODE,string HTTP_RESPONSE_CONTENT_TYPE")
    description = "first HTTP request and response of the flow"

    def wants(self, columns) -> np.ndarray:
        return (columns.protocol == 6) & (columns.payload_offset >= 0)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        data = self.payload(columns, position, packets)
        is_request = data[:4] in _METHODS
        if len(data) < 8 or not (is_request or data[:5] == b"HTTP/"):
            return False
        values = self.stored(flow) or _empty()
        done = values["HTTP_REQUEST_METHOD"] if is_request else \
            values["HTTP_RESPONSE_STATUS_CODE"]
        parsed = None if done else parse_head(data)
        if parsed is None:
            return False
        words, headers = parsed
        if is_request:
            values.update(HTTP_REQUEST_METHOD=words[0], HTTP_REQUEST_URL=words[1],
                          HTTP_REQUEST_HOST=headers.get("host", ""),
                          HTTP_REQUEST_AGENT=headers.get("user-agent", ""),
                          HTTP_REQUEST_REFERER=headers.get("referer", ""))
        else:
            code = words[1]
            values.update(HTTP_RESPONSE_STATUS_CODE=int(code) if code.isdigit()
                          and int(code) < 1000 else 0,
                          HTTP_RESPONSE_CONTENT_TYPE=headers.get("content-type", ""))
        self.store(flow, values)
        return False


def _empty() -> dict:
    return {"HTTP_REQUEST_METHOD": "", "HTTP_REQUEST_HOST": "", "HTTP_REQUEST_URL": "",
            "HTTP_REQUEST_AGENT": "", "HTTP_REQUEST_REFERER": "",
            "HTTP_RESPONSE_STATUS_CODE": 0, "HTTP_RESPONSE_CONTENT_TYPE": ""}
