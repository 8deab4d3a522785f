"""The service endpoint on a real UNIX socket: answers, errors, silent and slow clients,
close."""

import contextlib
import os
import socket
import threading
import time

import pytest

from libtrap_py.service import ServiceEndpoint, query, service_path

PID = 4_000_001        # above any Linux PID: names the socket only


@pytest.fixture
def endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))

    def broken():
        raise RuntimeError("counter gone")
    service = ServiceEndpoint(PID, {"stats": lambda: {"in_cnt": 1}, "info": broken,
                                    "odd": lambda: {"values": {1, 2}}})   # not JSON
    yield service
    service.close()


def test_answers_a_request_with_json(endpoint):
    assert query(PID, "stats", 2000) == {"in_cnt": 1}
    assert query(PID, "stats", 2000) == {"in_cnt": 1}      # one connection per request


def test_unknown_request_and_failing_callback_are_answers_not_crashes(endpoint):
    assert query(PID, "reboot", 2000) == {"error": "unknown request 'reboot', use one of "
                                                   "stats, info"}
    assert query(PID, "info", 2000) == {"error": "RuntimeError: counter gone"}
    assert query(PID, "odd", 2000)["error"].startswith("TypeError: Object of type set")
    assert query(PID, "stats", 2000) == {"in_cnt": 1}


def test_a_silent_client_does_not_block_the_endpoint_for_long(endpoint):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(service_path(PID))
        assert query(PID, "stats", 3000) == {"in_cnt": 1}    # served after the client timeout


def test_a_client_sending_slowly_is_dropped_after_its_second(endpoint):
    stop = threading.Event()

    def trickle():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as slow:
            slow.connect(service_path(PID))
            while not stop.wait(0.3):
                try:
                    slow.send(b"s")                  # never a whole request line
                except OSError:
                    return
    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        assert query(PID, "stats", 2500) == {"in_cnt": 1}
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        sender.join(5)


def test_close_while_a_client_is_served_ends_the_thread(endpoint):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(service_path(PID))
        time.sleep(0.1)                              # accepted: the thread waits for it
        endpoint.close()
    deadline = time.monotonic() + 5
    while [t for t in threading.enumerate() if t.name == "service"]:
        assert time.monotonic() < deadline, "the service thread did not end"
        time.sleep(0.02)


def test_a_query_times_out_in_all_not_per_read(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dribbler:
        dribbler.bind(service_path(PID))
        dribbler.listen(1)

        def dribble():
            connection, _ = dribbler.accept()
            with connection, contextlib.suppress(BrokenPipeError):   # (the client gave up)
                for _ in range(20):
                    time.sleep(0.1)
                    connection.send(b" ")
        server = threading.Thread(target=dribble)
        server.start()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="within 500 ms"):
            query(PID, "stats", 500)
        assert time.monotonic() - started < 0.9
        server.join(5)


def test_close_stops_the_thread_and_removes_the_socket(endpoint):
    path = service_path(PID)
    assert os.path.exists(path)
    endpoint.close()
    assert not os.path.exists(path)
    assert not [t for t in threading.enumerate() if t.name == "service"]
    with pytest.raises(FileNotFoundError, match="no service endpoint"):
        query(PID, "stats", 500)
    endpoint.close()                                        # a second close does nothing


def test_a_socket_nobody_serves_is_an_oserror(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(service_path(PID))          # bound, never listening: refused
    with pytest.raises(OSError):
        query(PID, "stats", 500)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        os.unlink(service_path(PID))
        mute.bind(service_path(PID))
        mute.listen(1)                                # accepts, never answers
        with pytest.raises(TimeoutError, match="did not answer within 300 ms"):
            query(PID, "stats", 300)


def test_an_unusable_socket_dir_is_a_warning_not_a_failure(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path / "missing"))
    service = ServiceEndpoint(PID, {})
    service.close()
    assert "service endpoint" in caplog.text and "not available" in caplog.text
