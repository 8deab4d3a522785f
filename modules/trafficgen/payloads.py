"""Application payloads: DNS messages, NTP, HTTP, TLS records and SSH messages."""

from __future__ import annotations

import random
import struct

import dpkt

from .addresses import Address

DNS = dpkt.dns.DNS
A, AAAA, TXT, ANY = dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA, dpkt.dns.DNS_TXT, dpkt.dns.DNS_ANY
NTP_EPOCH_OFFSET = 2_208_988_800   # seconds from 1900-01-01 to 1970-01-01
USER_AGENTS = ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/120.0.0.0 Safari/537.36", "curl/8.5.0")


def dns_query(qid: int, name: str, qtype: int) -> bytes:
    return bytes(DNS(id=qid, op=dpkt.dns.DNS_RD, qd=[DNS.Q(name=name, type=qtype)]))


def dns_response(qid: int, name: str, qtype: int, addresses: list[Address], *,
                 ttl: int = 300, texts: list[bytes] = (), nxdomain: bool = False) -> bytes:
    """An answer to a recursive query: A/AAAA records for `addresses`, TXT records for
    `texts` (an ANY answer carries both), or NXDOMAIN."""
    answers = []
    for address in addresses:
        if address.version == 4:
            answers.append(DNS.RR(name=name, type=A, ttl=ttl, ip=address.packed))
        else:
            answers.append(DNS.RR(name=name, type=AAAA, ttl=ttl, ip6=address.packed))
    answers += [DNS.RR(name=name, type=TXT, ttl=ttl, text=[text]) for text in texts]
    flags = dpkt.dns.DNS_QR | dpkt.dns.DNS_RD | dpkt.dns.DNS_RA
    response = DNS(id=qid, op=flags, qd=[DNS.Q(name=name, type=qtype)], an=answers,
                   rcode=dpkt.dns.DNS_RCODE_NXDOMAIN if nxdomain else 0)
    return bytes(response)


def _ntp_time(time_us: int) -> bytes:
    seconds, micros = divmod(time_us, 1_000_000)
    return struct.pack(">II", seconds + NTP_EPOCH_OFFSET, micros * (1 << 32) // 1_000_000)


def ntp_request(time_us: int) -> bytes:
    """NTPv4 client (mode 3): only the transmit timestamp set."""
    return struct.pack(">BBbb", 0x23, 0, 6, -20) + bytes(36) + _ntp_time(time_us)


def ntp_response(request_us: int, receive_us: int, send_us: int) -> bytes:
    """NTPv4 server (mode 4), stratum 2."""
    head = struct.pack(">BBbbII4s", 0x24, 2, 6, -23, 0x0000_0200, 0x0000_0300,
                       bytes([192, 0, 2, 1]))
    return (head + _ntp_time(receive_us - 64_000_000) + _ntp_time(request_us)
            + _ntp_time(receive_us) + _ntp_time(send_us))


def http_request(rng: random.Random, host: str, path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {rng.choice(USER_AGENTS)}\r\n"
            "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
            ).encode()


def http_response(rng: random.Random, size: int) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {size}\r\nConnection: keep-alive\r\n\r\n").encode()
    return head + rng.randbytes(size)


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack(">HH", kind, len(body)) + body


def tls_client_hello(rng: random.Random, server_name: str) -> bytes:
    """A TLS 1.3 ClientHello record with SNI, ALPN (h2, http/1.1) and supported_versions."""
    name = server_name.encode()
    extensions = b"".join([
        _extension(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name),
        _extension(10, bytes.fromhex("0006001d00170018")),                 # groups
        _extension(13, bytes.fromhex("000804030804040105010601")),         # signatures
        _extension(16, bytes.fromhex("000c02683208687474702f312e31")),     # ALPN
        _extension(43, bytes.fromhex("0403040303")),                       # versions
        _extension(51, struct.pack(">HHH", 38, 0x001D, 32) + rng.randbytes(32)),
    ])
    ciphers = bytes.fromhex("130113021303c02bc02fc02cc030")
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + struct.pack(">H", len(ciphers)) + ciphers + b"\x01\x00"
            + struct.pack(">H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


def tls_server_hello(rng: random.Random) -> bytes:
    """ServerHello + ChangeCipherSpec + the encrypted rest of the server's handshake."""
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + b"\x13\x01\x00"
            + struct.pack(">H", 46) + _extension(43, b"\x03\x04")
            + _extension(51, struct.pack(">HH", 0x001D, 32) + rng.randbytes(32)))
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    return (b"\x16\x03\x03" + struct.pack(">H", len(handshake)) + handshake
            + b"\x14\x03\x03\x00\x01\x01" + tls_records(rng, rng.randint(2500, 4500)))


def tls_records(rng: random.Random, size: int) -> bytes:
    """`size` bytes (about) of TLS application data records (at most 16 KiB each)."""
    out = []
    while size > 0:
        length = min(size, 16_384 + 17)
        out.append(b"\x17\x03\x03" + struct.pack(">H", length) + rng.randbytes(length))
        size -= length + 5
    return b"".join(out)


SSH_CLIENT_BANNERS = (b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
                      b"SSH-2.0-PuTTY_Release_0.80\r\n")
SSH_SERVER_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n"


def ssh_binary_packet(rng: random.Random, message: int, length: int) -> bytes:
    """An unencrypted SSH binary packet (KEXINIT, ECDH...) with a random body."""
    padding = 4 + (-(length + 5 + 4)) % 8
    return (struct.pack(">IBB", length + 1 + padding + 1, padding, message)
            + rng.randbytes(length) + bytes(padding))


def ssh_encrypted(rng: random.Random, length: int) -> bytes:
    """An encrypted SSH packet: 4-byte length, ciphertext, 16-byte MAC tag."""
    return struct.pack(">I", length) + rng.randbytes(length + 16)
