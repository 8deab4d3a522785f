"""Known field names and their types: the NEMEA flow fields and exporter plugin fields.

Name-only field lists (`SRC_IP,DST_PORT`) are resolved against this table and against every field
defined by a template in this process (first definition wins).
"""

STANDARD_FIELDS: dict[str, str] = {
    # basic flow
    "SRC_IP": "ipaddr", "DST_IP": "ipaddr", "SRC_PORT": "uint16", "DST_PORT": "uint16",
    "PROTOCOL": "uint8", "PACKETS": "uint32", "BYTES": "uint64", "TIME_FIRST": "time",
    "TIME_LAST": "time", "TCP_FLAGS": "uint8", "LINK_BIT_FIELD": "uint64",
    "DIR_BIT_FIELD": "uint8", "TOS": "uint8", "TTL": "uint8",
    # biflow
    "PACKETS_REV": "uint32", "BYTES_REV": "uint64", "TCP_FLAGS_REV": "uint8",
    "SRC_MAC": "macaddr", "DST_MAC": "macaddr", "VLAN_ID": "uint16",
    # alerts and aggregates
    "DIRECTION_FLAGS": "uint8", "EVENT_TYPE": "uint8", "DETECTION_TIME": "time",
    "EVENT_ID": "uint32", "EVENT_SCALE": "uint32", "TIMESLOT": "uint32", "FLOWS": "uint64",
    "SRC_BLACKLIST": "uint64", "DST_BLACKLIST": "uint64", "NOTE": "string", "ODID": "uint32",
    # exporter plugins
    "DNS_ID": "uint16", "DNS_ANSWERS": "uint16", "DNS_RCODE": "uint8", "DNS_NAME": "string",
    "DNS_QTYPE": "uint16", "DNS_CLASS": "uint16", "DNS_RR_TTL": "uint32",
    "DNS_RLENGTH": "uint16", "DNS_RDATA": "bytes", "DNS_PSIZE": "uint16", "DNS_DO": "uint8",
    "HTTP_REQUEST_METHOD": "string", "HTTP_REQUEST_HOST": "string",
    "HTTP_REQUEST_URL": "string", "HTTP_REQUEST_AGENT": "string",
    "HTTP_REQUEST_REFERER": "string", "HTTP_RESPONSE_STATUS_CODE": "uint16",
    "HTTP_RESPONSE_CONTENT_TYPE": "string", "HTTP_URL": "string",
    "TLS_SNI": "string", "TLS_VERSION": "uint16", "TLS_ALPN": "string", "TLS_JA3": "string",
    "L4_ICMP_TYPE_CODE": "uint16", "PPI_PKT_LENGTHS": "uint16*",
    "PPI_PKT_TIMES": "time*", "PPI_PKT_FLAGS": "uint8*", "PPI_PKT_DIRECTIONS": "int8*",
}
