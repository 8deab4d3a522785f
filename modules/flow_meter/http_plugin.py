"""http plugin: request method, host, URL, user agent, referer and the response status and
content type of the first request/response of a flow (dpkt)."""

from __future__ import annotations

import dpkt
import numpy as np

from .plugin_base import FlowPlugin

_METHODS = (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC")


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
        if len(data) < 8:
            return False
        values = self.values((), flow)
        if data[:4] in _METHODS:
            if values is not None and values["HTTP_REQUEST_METHOD"]:
                return False
            try:
                request = dpkt.http.Request(data)
            except (dpkt.UnpackError, ValueError, IndexError):
                return False
            values = values or _empty()
            headers = request.headers
            values.update(HTTP_REQUEST_METHOD=request.method, HTTP_REQUEST_URL=request.uri,
                          HTTP_REQUEST_HOST=_header(headers, "host"),
                          HTTP_REQUEST_AGENT=_header(headers, "user-agent"),
                          HTTP_REQUEST_REFERER=_header(headers, "referer"))
        elif data[:5] == b"HTTP/":
            if values is not None and values["HTTP_RESPONSE_STATUS_CODE"]:
                return False
            try:
                response = dpkt.http.Response(data)
            except (dpkt.UnpackError, ValueError, IndexError):
                return False
            values = values or _empty()
            values.update(HTTP_RESPONSE_STATUS_CODE=int(response.status)
                          if str(response.status).isdigit() else 0,
                          HTTP_RESPONSE_CONTENT_TYPE=_header(response.headers, "content-type"))
        else:
            return False
        self.store(flow, values)
        return False


def _empty() -> dict:
    return {"HTTP_REQUEST_METHOD": "", "HTTP_REQUEST_HOST": "", "HTTP_REQUEST_URL": "",
            "HTTP_REQUEST_AGENT": "", "HTTP_REQUEST_REFERER": "",
            "HTTP_RESPONSE_STATUS_CODE": 0, "HTTP_RESPONSE_CONTENT_TYPE": ""}


def _header(headers: dict, name: str) -> str:
    value = headers.get(name, "")
    return value[0] if isinstance(value, list) else value
