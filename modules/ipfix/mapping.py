"""The mapping between IPFIX / NetFlow Information Elements and UniRec fields (one table).

    UniRec field   <- elements, in order of preference
    SRC_IP         <- sourceIPv4Address, sourceIPv6Address
    DST_IP         <- destinationIPv4Address, destinationIPv6Address
    SRC_PORT       <- sourceTransportPort, udpSourcePort, tcpSourcePort
    DST_PORT       <- destinationTransportPort, udpDestinationPort, tcpDestinationPort,
                      icmpTypeCodeIPv4, icmpTypeCodeIPv6
    PROTOCOL       <- protocolIdentifier
    PACKETS        <- packetDeltaCount, packetTotalCount, initiatorPackets
    BYTES          <- octetDeltaCount, octetTotalCount, initiatorOctets
    TCP_FLAGS      <- tcpControlBits (its low 8 bits)
    TIME_FIRST     <- flowStartNanoseconds, flowStartMicroseconds, flowStartMilliseconds,
                      flowStartSeconds, flowStartSysUpTime, flowStartDeltaMicroseconds
    TIME_LAST      <- the flowEnd... counterparts of the same elements
    SRC_MAC        <- sourceMacAddress
    DST_MAC        <- destinationMacAddress
    TOS            <- ipClassOfService
    TTL            <- ipTTL, minimumTTL
    PACKETS_REV    <- reversePacketDeltaCount, reversePacketTotalCount, responderPackets
    BYTES_REV      <- reverseOctetDeltaCount, reverseOctetTotalCount, responderOctets
    TCP_FLAGS_REV  <- reverseTcpControlBits

Rules. Of the listed elements present in a template, the first gives the value; where its value
is zero in a record, the next present one's value is used (so a template carrying both an IPv4
and an IPv6 address, one of them zero, fills SRC_IP right). Counters wider than the UniRec field
saturate (PACKETS is uint32). Reverse elements are RFC 5103's (enterprise 29305).
Times become UniRec `time` (ns since the epoch):
  - flowStart/EndSeconds, ...Milliseconds: as they are; ...Micro/Nanoseconds: NTP timestamps;
  - flowStart/EndSysUpTime: milliseconds since the exporter booted: NetFlow v5/v9 headers give
    sysUpTime and the export time; for IPFIX the boot time is systemInitTimeMilliseconds (from an
    options record, or a field of the same record); without it the latest flowEndSysUpTime of
    the data set is taken to be the message's export time (an approximation);
  - flowStart/EndDeltaMicroseconds: microseconds before the message's export time.
LINK_BIT_FIELD and DIR_BIT_FIELD have no standard element: the collector sets them from its
-L / -D options.

The exporter writes, for each UniRec field of its input template that has a row here, the row's
first element (IPv6 addresses as the ...IPv6Address element, in a separate template), with the
length in EXPORT_LENGTHS: counters 8 bytes, TCP flags 1 byte (reduced-size encoding), times as
flowStart/EndMilliseconds (UniRec's nanoseconds are truncated to milliseconds).
"""

from __future__ import annotations

from .elements import ie

FIELD_MAP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SRC_IP", ("sourceIPv4Address", "sourceIPv6Address")),
    ("DST_IP", ("destinationIPv4Address", "destinationIPv6Address")),
    ("SRC_PORT", ("sourceTransportPort", "udpSourcePort", "tcpSourcePort")),
    ("DST_PORT", ("destinationTransportPort", "udpDestinationPort", "tcpDestinationPort",
                  "icmpTypeCodeIPv4", "icmpTypeCodeIPv6")),
    ("PROTOCOL", ("protocolIdentifier",)),
    ("PACKETS", ("packetDeltaCount", "packetTotalCount", "initiatorPackets")),
    ("BYTES", ("octetDeltaCount", "octetTotalCount", "initiatorOctets")),
    ("TCP_FLAGS", ("tcpControlBits",)),
    ("TIME_FIRST", ("flowStartNanoseconds", "flowStartMicroseconds", "flowStartMilliseconds",
                    "flowStartSeconds", "flowStartSysUpTime", "flowStartDeltaMicroseconds")),
    ("TIME_LAST", ("flowEndNanoseconds", "flowEndMicroseconds", "flowEndMilliseconds",
                   "flowEndSeconds", "flowEndSysUpTime", "flowEndDeltaMicroseconds")),
    ("SRC_MAC", ("sourceMacAddress",)),
    ("DST_MAC", ("destinationMacAddress",)),
    ("TOS", ("ipClassOfService",)),
    ("TTL", ("ipTTL", "minimumTTL")),
    ("PACKETS_REV", ("reversePacketDeltaCount", "reversePacketTotalCount", "responderPackets")),
    ("BYTES_REV", ("reverseOctetDeltaCount", "reverseOctetTotalCount", "responderOctets")),
    ("TCP_FLAGS_REV", ("reverseTcpControlBits",)),
)

# UniRec field -> [(enterprise, id), ...] in order of preference
IMPORT_MAP: dict[str, tuple[tuple[int, int], ...]] = {
    field: tuple(ie(name) for name in names) for field, names in FIELD_MAP}

# exporter: UniRec field -> (element name, length in bytes); IPv6 variants below
EXPORT_LENGTHS: dict[str, int] = {
    "SRC_IP": 4, "DST_IP": 4, "SRC_PORT": 2, "DST_PORT": 2, "PROTOCOL": 1, "PACKETS": 8,
    "BYTES": 8, "TCP_FLAGS": 1, "TIME_FIRST": 8, "TIME_LAST": 8, "SRC_MAC": 6, "DST_MAC": 6,
    "TOS": 1, "TTL": 1, "PACKETS_REV": 8, "BYTES_REV": 8, "TCP_FLAGS_REV": 1,
}
EXPORT_ELEMENTS: dict[str, str] = {
    **{field: names[0] for field, names in FIELD_MAP},
    "TIME_FIRST": "flowStartMilliseconds", "TIME_LAST": "flowEndMilliseconds",
}
EXPORT_IPV6_ELEMENTS = {"SRC_IP": ("sourceIPv6Address", 16),
                        "DST_IP": ("destinationIPv6Address", 16)}
