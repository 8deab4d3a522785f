"""The service endpoint on a real UNIX socket: answers, errors, silent clients, close."""

import socket
import threading

import pytest

from libtrap_py.service import ServiceEndpoint, query, service_path

PID = 4_000_001        # above any Linux PID: names the socket only


@pytest.fixture
def endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))

    def broken():
        raise RuntimeError("counter gone")
    service = ServiceEndpoint(PID, {"stats": lambda: {"in_cnt": 1}, "info": broken})
    yield service
    service.close()


def test_answers_a_request_with_json(endpoint):
    assert query(PID, "stats", 2000) == {"in_cnt": 1}
    assert query(PID, "stats", 2000) == {"in_cnt": 1}      # one connection per request


def test_unknown_request_and_failing_callback_are_answers_not_crashes(endpoint):
    assert query(PID, "reboot", 2000) == {"error": "unknown request 'reboot', use one of "
                                                   "stats, info"}
    assert query(PID, "info", 2000) == {"error": "RuntimeError: counter gone"}
    assert query(PID, "stats", 2000) == {"in_cnt": 1}


def test_a_silent_client_does_not_block_the_endpoint_for_long(endpoint):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(service_path(PID)))
        assert query(PID, "stats", 3000) == {"in_cnt": 1}    # served after the client timeout


def test_close_stops_the_thread_and_removes_the_socket(endpoint):
    path = service_path(PID)
    assert path.exists()
    endpoint.close()
    assert not path.exists()
    assert not [t for t in threading.enumerate() if t.name == "service"]
    with pytest.raises(FileNotFoundError, match="no service endpoint"):
        query(PID, "stats", 500)
    endpoint.close()                                        # a second close does nothing


def test_a_socket_nobody_serves_is_an_oserror(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(service_path(PID)))          # bound, never listening: refused
    with pytest.raises(OSError):
        query(PID, "stats", 500)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        service_path(PID).unlink()
        mute.bind(str(service_path(PID)))
        mute.listen(1)                                # accepts, never answers
        with pytest.raises(TimeoutError, match="did not answer within 300 ms"):
            query(PID, "stats", 300)


def test_an_unusable_socket_dir_is_a_warning_not_a_failure(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path / "missing"))
    service = ServiceEndpoint(PID, {})
    service.close()
    assert "service endpoint" in caplog.text and "not available" in caplog.text
