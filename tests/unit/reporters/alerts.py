"""Alert records as the detectors emit them (detectors.md §1-§7): the CSV form logger prints
and logreplay reads (header = the alert template), and an in-process driver for the reporter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from libtrap_py.module import OutputPort
from modules.reporters.report2idea import Report2Idea, ReporterParams
from unirec import read_csv

# the alert templates of detectors.md (types the reference leaves open: NEMEA's usual ones)
TEMPLATES = {
    "vportscan": "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                 "uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PORT_CNT",
    "haddrscan": "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,uint16 DST_PORT,"
                 "uint8 PROTOCOL,uint32 ADDR_CNT,uint32 ADDR_THRSD,ipaddr DST_IP0,ipaddr DST_IP1,"
                 "ipaddr DST_IP2,ipaddr DST_IP3",
    "bruteforce": "time DETECTION_TIME,uint8 WARDEN_TYPE,ipaddr SRC_IP,uint8 PROTOCOL,"
                  "uint16 DST_PORT,uint32 EVENT_SCALE,string NOTE",
    "amplification": "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint32 REQ_FLOWS,"
                     "uint32 REQ_PACKETS,uint64 REQ_BYTES,uint32 RSP_FLOWS,uint32 RSP_PACKETS,"
                     "uint64 RSP_BYTES,time TIME_FIRST,time TIME_LAST,uint32 EVENT_ID",
    "ddos": "ipaddr DST_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint64 EVENT_ID,"
            "uint16 EVENT_SEQ,uint64 AVG_BYTES_CURRENT,uint64 AVG_BYTES_ORIGINAL,"
            "uint32 AVG_IP_CNT_CURRENT,uint32 AVG_IP_CNT_ORIGINAL",
    "hoststats": "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                 "uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 EVENT_SCALE,string NOTE",
    "blacklist": "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                 "uint8 TCP_FLAGS,uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST,"
                 "uint64 SRC_BLACKLIST,uint64 DST_BLACKLIST",
}

# rows in template (header) order
ROWS = {
    "vportscan": [
        "1,2024-03-01T10:14:03.120,2024-03-01T10:15:40.900,203.0.113.45,198.51.100.20,40001,"
        "8080,6,50",
        "1,2024-03-01T10:16:00,2024-03-01T10:19:58,2001:db8::45,2001:db8:1::20,40002,22,6,50",
    ],
    "haddrscan": [
        "1,2024-03-01T10:00:00,2024-03-01T10:04:10,192.0.2.10,23,6,50,50,198.51.100.1,"
        "198.51.100.2,198.51.100.3,198.51.100.4",
        "1,2024-03-01T10:05:00,2024-03-01T10:09:00,192.0.2.10,23,6,3,50,198.51.100.9,"
        "198.51.100.10,198.51.100.11,::",
    ],
    "bruteforce": [
        '2024-03-01T11:02:40,2,192.0.2.77,6,22,42,"I:198.51.100.5,198.51.100.6,O:"',
        '2024-03-01T11:07:40,2,192.0.2.78,6,23,30,"I:198.51.100.7,O:"',
        '2024-03-01T11:08:00,2,2001:db8::78,6,3389,31,"I:,O:2001:db8::9,"',
        '2024-03-01T11:09:00,1,192.0.2.79,6,22,30,"not a brute force alert"',
    ],
    "amplification": [
        "198.51.100.53,203.0.113.9,53,40,40,2400,400,1200,1600000,2024-03-01T09:00:00,"
        "2024-03-01T09:14:59,7",
        "198.51.100.123,203.0.113.9,123,10,10,480,100,300,140000,2024-03-01T09:00:00,"
        "2024-03-01T09:10:00,8",
    ],
    "ddos": [
        "203.0.113.80,450000000,2024-03-01T12:00:00,2024-03-01T12:05:00,8589934593,1,"
        "1500000,20000,40,3",
    ],
    "hoststats": [
        '2,2024-03-01T08:00:00,2024-03-01T08:05:00,192.0.2.30,::,0,0,6,950,""',
        '10,2024-03-01T08:00:00,2024-03-01T08:05:00,::,198.51.100.70,0,0,6,300000,'
        '"in: 300000 flows, 310000 packets; out: 1000 flows, 1200 packets; '
        'approx. 5000 source addresses (SYN flood, probably spoofed)"',
        '10,2024-03-01T08:00:00,2024-03-01T08:05:00,192.0.2.31,::,0,0,17,1200000,'
        '"out: 1200000 flows, 1300000 packets; in: 10 flows, 12 packets; '
        'approx. 3 destination addresses"',
        '15,2024-03-01T08:00:00,2024-03-01T08:05:00,198.51.100.53,::,53,0,17,12000,""',
        '15,2024-03-01T08:00:00,2024-03-01T08:05:00,::,203.0.113.15,0,0,17,15000,""',
        '30,2024-03-01T08:00:00,2024-03-01T08:05:00,192.0.2.32,198.51.100.22,0,22,6,25,'
        '"victim"',
        '99,2024-03-01T08:00:00,2024-03-01T08:05:00,192.0.2.33,::,0,0,6,1,"unknown type"',
    ],
    "blacklist": [
        "192.0.2.66,198.51.100.4,44123,443,6,2,10,1500,2024-03-01T07:00:00,"
        "2024-03-01T07:00:05,1,0",
        "198.51.100.4,2001:db8::66,53000,53,17,0,1,80,2024-03-01T07:01:00,"
        "2024-03-01T07:01:00,0,6",
        "192.0.2.67,198.51.100.5,0,0,1,0,3,252,2024-03-01T07:02:00,"
        "2024-03-01T07:02:09,32,0",
    ],
}

# how many IDEA messages each set of rows gives (the others are skipped by the mapping)
EXPECTED_COUNTS = {"vportscan": 2, "haddrscan": 2, "bruteforce": 3, "amplification": 2,
                   "ddos": 1, "hoststats": 6, "blacklist": 3}

# aggregator JSON events (vportscan_aggregator, blacklist_aggregator)
JSON_EVENTS = {
    "vportscan": [
        {"src_ip": "203.0.113.45", "dst_ips": {"198.51.100.20": 150}, "ts_first": 1709288043.0,
         "ts_last": 1709288398.0, "protocol": 6},
        {"src_ip": "203.0.113.46", "dst_ips": {"198.51.100.21": 50, "198.51.100.3": 100},
         "ts_first": 1709288043.5, "ts_last": 1709288398.25, "protocol": 6},
    ],
    "blacklist": [
        {"type": "ip", "ts_first": 1709276400.0, "ts_last": 1709276700.0, "protocol": 6,
         "source": "192.0.2.66", "source_ports": [443], "targets": ["198.51.100.4",
                                                                   "198.51.100.5"],
         "src_sent_bytes": 5000, "src_sent_flows": 4, "src_sent_packets": 40,
         "tgt_sent_bytes": 800, "tgt_sent_flows": 4, "tgt_sent_packets": 12,
         "blacklist_id": 2, "agg_win_minutes": 5},
        {"type": "ip", "ts_first": 1709276400.0, "ts_last": 1709276460.0, "protocol": 17,
         "source": "2001:db8::66", "source_ports": [], "targets": ["198.51.100.9"],
         "src_sent_bytes": 0, "src_sent_flows": 0, "src_sent_packets": 0,
         "tgt_sent_bytes": 300, "tgt_sent_flows": 3, "tgt_sent_packets": 3,
         "blacklist_id": 1, "agg_win_minutes": 10},
    ],
}

BLACKLIST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <struct name="blacklist_array">
    <array type="IP">
      <struct>
        <element name="id">1</element>
        <element name="category">Intrusion.Botnet</element>
        <element name="name">Feodo tracker</element>
        <element name="source">https://feodotracker.example/ipblocklist</element>
      </struct>
      <struct>
        <element name="id">2</element>
        <element name="type">Mining</element>
        <element name="name">Miners</element>
        <element name="source">https://miners.example/list.txt</element>
      </struct>
      <struct>
        <element name="id">3</element>
        <element name="category">Abusive.Spam</element>
        <element name="name">Spamhaus DROP</element>
        <element name="source">https://www.spamhaus.example/drop.txt</element>
      </struct>
    </array>
    <array type="URL">
      <struct>
        <element name="id">1</element>
        <element name="category">Fraud.Phishing</element>
        <element name="name">OpenPhish</element>
        <element name="source">https://openphish.example/feed.txt</element>
      </struct>
    </array>
  </struct>
</configuration>
"""


def csv_text(detector: str) -> str:
    return TEMPLATES[detector] + "\n" + "".join(row + "\n" for row in ROWS[detector])


def alert_message(detector: str) -> Message:
    parsed = read_csv(csv_text(detector))
    assert not parsed.errors, parsed.errors
    return Message(DataFormat.unirec(parsed.batch.template), batch=parsed.batch)


def json_message(detector: str, label: str) -> Message:
    from libtrap_py.message import encode_messages

    texts = [json.dumps(event) for event in JSON_EVENTS[detector]]
    return Message(DataFormat.json(label), payload=encode_messages(texts))


@dataclass
class CapturePort(OutputPort):
    """An output port that keeps what the module sends (JSON messages)."""

    format: DataFormat | None = None
    messages: list = field(default_factory=list)

    def set_format(self, fmt: DataFormat) -> None:
        self.format = fmt

    def send_messages(self, messages: list) -> None:
        self.messages += messages


def make_reporter(output: bool = False, **options) -> Report2Idea:
    """A reporter as the runtime would build it, not yet set up; `output` adds an output."""
    params = ReporterParams(**options)
    params.validate()
    module = Report2Idea(params)
    module.ports = [CapturePort()] if output else []
    return module


def run_reporter(messages: list[Message], output: bool = False, **options) -> Report2Idea:
    """Set up a reporter, feed it `messages` as the runtime does, finish it."""
    module = make_reporter(output, **options)
    module.setup()
    try:
        for message in messages:
            module.on_format(message.format, 0)
            module.on_message(message, 0)
    finally:
        module.finish()
    return module
