"""The Information Element table: (enterprise number, element id) -> name and abstract type.

IANA elements (enterprise 0) that flow exporters commonly send, after the IANA "IPFIX
Information Elements" registry (RFC 7012 data types). NetFlow v9 field types 1..127 and the
ones nfdump and pmacct send are the same numbers (RFC 3954), so v9 templates use this table too.

RFC 5103 reverse elements: enterprise 29305, same id as the forward IANA element; their name is
"reverse" + the forward name (reverseOctetDeltaCount). An element not found here (any other
enterprise, or an IANA id missing from the table) is *unknown*: the collector skips its bytes and
counts it.
"""

from __future__ import annotations

from dataclasses import dataclass

IANA = 0
REVERSE_PEN = 29305          # RFC 5103 reverse information elements
VARIABLE = 0xFFFF            # template field length meaning "variable length"

# abstract data types (RFC 7012 section 3.1)
U8, U16, U32, U64 = "unsigned8", "unsigned16", "unsigned32", "unsigned64"
I32 = "signed32"
F64 = "float64"
BOOL = "boolean"
MAC = "macAddress"
OCTETS = "octetArray"
STRING = "string"
SEC, MSEC, USEC, NSEC = ("dateTimeSeconds", "dateTimeMilliseconds", "dateTimeMicroseconds",
                         "dateTimeNanoseconds")
IPV4, IPV6 = "ipv4Address", "ipv6Address"
LIST = "basicList"
SUBLIST = "subTemplateList"
MULTILIST = "subTemplateMultiList"

UNSIGNED = (U8, U16, U32, U64)


@dataclass(frozen=True)
class Element:
    pen: int
    id: int
    name: str
    type: str

    @property
    def key(self) -> tuple[int, int]:
        return self.pen, self.id


_IANA_ROWS = """\
1 octetDeltaCount unsigned64
2 packetDeltaCount unsigned64
3 deltaFlowCount unsigned64
4 protocolIdentifier unsigned8
5 ipClassOfService unsigned8
6 tcpControlBits unsigned16
7 sourceTransportPort unsigned16
8 sourceIPv4Address ipv4Address
9 sourceIPv4PrefixLength unsigned8
10 ingressInterface unsigned32
11 destinationTransportPort unsigned16
12 destinationIPv4Address ipv4Address
13 destinationIPv4PrefixLength unsigned8
14 egressInterface unsigned32
15 ipNextHopIPv4Address ipv4Address
16 bgpSourceAsNumber unsigned32
17 bgpDestinationAsNumber unsigned32
18 bgpNextHopIPv4Address ipv4Address
19 postMCastPacketDeltaCount unsigned64
20 postMCastOctetDeltaCount unsigned64
21 flowEndSysUpTime unsigned32
22 flowStartSysUpTime unsigned32
23 postOctetDeltaCount unsigned64
24 postPacketDeltaCount unsigned64
25 minimumIpTotalLength unsigned64
26 maximumIpTotalLength unsigned64
27 sourceIPv6Address ipv6Address
28 destinationIPv6Address ipv6Address
29 sourceIPv6PrefixLength unsigned8
30 destinationIPv6PrefixLength unsigned8
31 flowLabelIPv6 unsigned32
32 icmpTypeCodeIPv4 unsigned16
33 igmpType unsigned8
34 samplingInterval unsigned32
35 samplingAlgorithm unsigned8
36 flowActiveTimeout unsigned16
37 flowIdleTimeout unsigned16
38 engineType unsigned8
39 engineId unsigned8
40 exportedOctetTotalCount unsigned64
41 exportedMessageTotalCount unsigned64
42 exportedFlowRecordTotalCount unsigned64
44 sourceIPv4Prefix ipv4Address
45 destinationIPv4Prefix ipv4Address
46 mplsTopLabelType unsigned8
47 mplsTopLabelIPv4Address ipv4Address
48 samplerId unsigned8
49 samplerMode unsigned8
50 samplerRandomInterval unsigned32
52 minimumTTL unsigned8
53 maximumTTL unsigned8
54 fragmentIdentification unsigned32
55 postIpClassOfService unsigned8
56 sourceMacAddress macAddress
57 postDestinationMacAddress macAddress
58 vlanId unsigned16
59 postVlanId unsigned16
60 ipVersion unsigned8
61 flowDirection unsigned8
62 ipNextHopIPv6Address ipv6Address
63 bgpNextHopIPv6Address ipv6Address
64 ipv6ExtensionHeaders unsigned32
70 mplsTopLabelStackSection octetArray
80 destinationMacAddress macAddress
81 postSourceMacAddress macAddress
82 interfaceName string
83 interfaceDescription string
85 octetTotalCount unsigned64
86 packetTotalCount unsigned64
88 fragmentOffset unsigned16
89 forwardingStatus unsigned8
90 mplsVpnRouteDistinguisher octetArray
95 applicationId octetArray
96 applicationName string
128 bgpNextAdjacentAsNumber unsigned32
129 bgpPrevAdjacentAsNumber unsigned32
130 exporterIPv4Address ipv4Address
131 exporterIPv6Address ipv6Address
136 flowEndReason unsigned8
139 icmpTypeCodeIPv6 unsigned16
144 exportingProcessId unsigned32
145 templateId unsigned16
148 flowId unsigned64
149 observationDomainId unsigned32
150 flowStartSeconds dateTimeSeconds
151 flowEndSeconds dateTimeSeconds
152 flowStartMilliseconds dateTimeMilliseconds
153 flowEndMilliseconds dateTimeMilliseconds
154 flowStartMicroseconds dateTimeMicroseconds
155 flowEndMicroseconds dateTimeMicroseconds
156 flowStartNanoseconds dateTimeNanoseconds
157 flowEndNanoseconds dateTimeNanoseconds
158 flowStartDeltaMicroseconds unsigned32
159 flowEndDeltaMicroseconds unsigned32
160 systemInitTimeMilliseconds dateTimeMilliseconds
161 flowDurationMilliseconds unsigned32
162 flowDurationMicroseconds unsigned32
163 observedFlowTotalCount unsigned64
164 ignoredPacketTotalCount unsigned64
165 ignoredOctetTotalCount unsigned64
166 notSentFlowTotalCount unsigned64
167 notSentPacketTotalCount unsigned64
168 notSentOctetTotalCount unsigned64
176 icmpTypeIPv4 unsigned8
177 icmpCodeIPv4 unsigned8
178 icmpTypeIPv6 unsigned8
179 icmpCodeIPv6 unsigned8
180 udpSourcePort unsigned16
181 udpDestinationPort unsigned16
182 tcpSourcePort unsigned16
183 tcpDestinationPort unsigned16
184 tcpSequenceNumber unsigned32
185 tcpAcknowledgementNumber unsigned32
186 tcpWindowSize unsigned16
189 ipHeaderLength unsigned8
190 totalLengthIPv4 unsigned16
192 ipTTL unsigned8
193 nextHeaderIPv6 unsigned8
195 ipDiffServCodePoint unsigned8
196 ipPrecedence unsigned8
197 fragmentFlags unsigned8
198 octetDeltaSumOfSquares unsigned64
205 udpMessageLength unsigned16
206 isMulticast unsigned8
210 paddingOctets octetArray
211 collectorIPv4Address ipv4Address
212 collectorIPv6Address ipv6Address
213 exportInterface unsigned32
214 exportProtocolVersion unsigned8
215 exportTransportProtocol unsigned8
216 collectorTransportPort unsigned16
217 exporterTransportPort unsigned16
218 tcpSynTotalCount unsigned64
219 tcpFinTotalCount unsigned64
220 tcpRstTotalCount unsigned64
221 tcpPshTotalCount unsigned64
222 tcpAckTotalCount unsigned64
223 tcpUrgTotalCount unsigned64
224 ipTotalLength unsigned64
225 postNATSourceIPv4Address ipv4Address
226 postNATDestinationIPv4Address ipv4Address
227 postNAPTSourceTransportPort unsigned16
228 postNAPTDestinationTransportPort unsigned16
230 natEvent unsigned8
231 initiatorOctets unsigned64
232 responderOctets unsigned64
233 firewallEvent unsigned8
234 ingressVRFID unsigned32
235 egressVRFID unsigned32
239 biflowDirection unsigned8
243 dot1qVlanId unsigned16
244 dot1qPriority unsigned8
252 ingressPhysicalInterface unsigned32
253 egressPhysicalInterface unsigned32
256 ethernetType unsigned16
291 basicList basicList
292 subTemplateList subTemplateList
293 subTemplateMultiList subTemplateMultiList
298 initiatorPackets unsigned64
299 responderPackets unsigned64
322 observationTimeSeconds dateTimeSeconds
323 observationTimeMilliseconds dateTimeMilliseconds
324 observationTimeMicroseconds dateTimeMicroseconds
325 observationTimeNanoseconds dateTimeNanoseconds
"""


def _table() -> dict[tuple[int, int], Element]:
    table: dict[tuple[int, int], Element] = {}
    for line in _IANA_ROWS.splitlines():
        number, name, kind = line.split()
        element = Element(IANA, int(number), name, kind)
        table[element.key] = element
        reverse = Element(REVERSE_PEN, element.id, "reverse" + name[0].upper() + name[1:], kind)
        table[reverse.key] = reverse
    return table


ELEMENTS: dict[tuple[int, int], Element] = _table()
BY_NAME: dict[str, Element] = {element.name: element for element in ELEMENTS.values()}


def lookup(pen: int, element_id: int) -> Element | None:
    """The element, or None when this collector does not know it."""
    return ELEMENTS.get((pen, element_id))


def ie(name: str) -> tuple[int, int]:
    """(enterprise, id) of an element by name: ie("reverseOctetDeltaCount") == (29305, 1)."""
    return BY_NAME[name].key


def label(pen: int, element_id: int) -> str:
    """How the stats and logs name an element: its name, or eNidM when unknown."""
    element = ELEMENTS.get((pen, element_id))
    return element.name if element else f"e{pen}id{element_id}"


def valid_length(element: Element, length: int) -> bool:
    """Can a field of this element have this length in a template (reduced-size encoding of
    unsigned integers allowed, RFC 7011 section 6.2)?"""
    kind = element.type
    if length == VARIABLE:
        return kind in (OCTETS, STRING, LIST, SUBLIST, MULTILIST)
    if kind in UNSIGNED:
        return 1 <= length <= {U8: 1, U16: 2, U32: 4, U64: 8}[kind]
    fixed = {IPV4: 4, IPV6: 16, MAC: 6, SEC: 4, MSEC: 8, USEC: 8, NSEC: 8, BOOL: 1,
             F64: 8, I32: 4}.get(kind)
    if fixed is not None:
        return length == fixed or (kind == F64 and length == 4)
    return length > 0
