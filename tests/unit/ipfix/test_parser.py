"""The collector's parsing and decoding on handmade messages: templates before and after data,
refresh, withdrawal, options templates, NetFlow v5 and v9, biflow, unknown enterprise elements,
variable-length fields, times, and malformed or truncated input."""

from __future__ import annotations

import ipaddress

import pytest

from modules.ipfix.core import CollectorCore
from modules.ipfix.records import BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE
from unirec.ipaddr import raw_from_text

from .wire import (
    BASIC_FIELDS,
    REVERSE,
    basic_record,
    field,
    ip4,
    ip6,
    ipfix_message,
    ipfix_set,
    options_template_record,
    template_record,
    u,
    v5_message,
    v5_record,
    v9_message,
)

T0 = 1_700_000_000_000          # ms
MS = 1_000_000                  # ns per ms


def feed(core: CollectorCore, *messages: bytes, now: float = 0.0, address=("192.0.2.1", 5000)):
    session = core.session("udp", address, now)
    for message in messages:
        core.feed(session, message, now=now)
    return core.flush()


def basic_template(template_id: int = 256) -> bytes:
    return ipfix_set(2, template_record(template_id, BASIC_FIELDS))


def basic_data(template_id: int = 256, count: int = 2, pad: int = 0) -> bytes:
    records = b"".join(basic_record(f"10.0.0.{i + 1}", "10.0.1.1", 1000 + i, 80, 6, 10 + i,
                                    1000 * (i + 1), T0 + i, T0 + 500 + i, 0x1B)
                       for i in range(count))
    return ipfix_set(template_id, records, pad)


def test_template_then_data_decodes_every_field():
    core = CollectorCore()
    batch = feed(core, ipfix_message(basic_template(), basic_data(count=3, pad=3)))
    assert batch.template == BIFLOW_TEMPLATE
    assert batch.length == 3
    first = batch[0]
    assert str(first.SRC_IP) == "10.0.0.1" and str(first.DST_IP) == "10.0.1.1"
    assert (first.SRC_PORT, first.DST_PORT, first.PROTOCOL) == (1000, 80, 6)
    assert (first.PACKETS, first.BYTES, first.TCP_FLAGS) == (10, 1000, 0x1B)
    assert int(first.TIME_FIRST) == T0 * MS and int(first.TIME_LAST) == (T0 + 500) * MS
    assert (first.PACKETS_REV, first.BYTES_REV, first.LINK_BIT_FIELD) == (0, 0, 1)
    assert batch.column("PACKETS").tolist() == [10, 11, 12]
    stats = core.stats()
    assert stats["records"] == 3 and stats["messages"] == 1 and stats["malformed"] == 0


def test_data_before_template_is_held_then_decoded():
    core = CollectorCore()
    assert feed(core, ipfix_message(basic_data(count=2))) is None
    assert core.stats()["held_sets_now"] == 1
    batch = feed(core, ipfix_message(basic_template()))
    assert batch.length == 2
    assert core.stats()["held_sets_now"] == 0 and core.stats()["dropped_sets"] == 0


def test_held_sets_expire_and_are_counted_dropped():
    core = CollectorCore(hold_seconds=5, hold_sets=2)
    feed(core, ipfix_message(basic_data()), ipfix_message(basic_data()), now=100.0)
    feed(core, ipfix_message(basic_data()), now=100.0)          # over --hold-sets: dropped
    assert core.stats()["dropped_sets"] == 1
    core.expire(104.0)
    assert core.stats()["held_sets_now"] == 2
    core.expire(106.0)
    stats = core.stats()
    assert stats["held_sets_now"] == 0 and stats["dropped_sets"] == 3
    assert feed(core, ipfix_message(basic_template()), now=107.0) is None


def test_templates_are_per_exporter_and_domain():
    core = CollectorCore()
    feed(core, ipfix_message(basic_template(), odid=1))
    assert feed(core, ipfix_message(basic_data(), odid=2)) is None          # other domain
    assert feed(core, ipfix_message(basic_data(), odid=1),
                address=("192.0.2.2", 5000)) is None                        # other exporter
    assert feed(core, ipfix_message(basic_data(), odid=1)).length == 2
    assert core.stats()["held_sets_now"] == 2


def test_template_refresh_and_redefinition():
    core = CollectorCore()
    feed(core, ipfix_message(basic_template()))
    feed(core, ipfix_message(basic_template()))
    assert core.stats()["templates_refreshed"] == 1
    # the same id redefined: port only
    redefined = ipfix_set(2, template_record(256, [field(7, 2)]))
    batch = feed(core, ipfix_message(redefined, ipfix_set(256, u(53, 2) + u(54, 2))))
    assert batch.column("SRC_PORT").tolist() == [53, 54]
    assert core.stats()["templates"] == 1


def test_data_before_redefinition_uses_the_old_template_in_the_same_flush():
    core = CollectorCore()
    session = core.session("udp", ("192.0.2.1", 1))
    core.feed(session, ipfix_message(basic_template(), basic_data(count=1)))
    core.feed(session, ipfix_message(ipfix_set(2, template_record(256, [field(7, 2)])),
                                     ipfix_set(256, u(53, 2))))
    batch = core.flush()
    assert batch.column("SRC_PORT").tolist() == [1000, 53]
    assert batch.column("PACKETS").tolist() == [10, 0]


def test_withdrawal_of_one_template_and_of_all():
    core = CollectorCore()
    second = ipfix_set(2, template_record(257, [field(7, 2)]))
    feed(core, ipfix_message(basic_template(), second))
    assert core.stats()["templates"] == 2
    feed(core, ipfix_message(ipfix_set(2, u(256, 2) + u(0, 2))))       # withdraw 256
    assert core.stats()["templates"] == 1
    assert feed(core, ipfix_message(basic_data())) is None              # held again
    feed(core, ipfix_message(ipfix_set(2, u(2, 2) + u(0, 2))))         # withdraw all
    stats = core.stats()
    assert stats["templates"] == 0 and stats["templates_withdrawn"] == 2


def test_udp_templates_expire_without_refresh():
    core = CollectorCore(template_timeout=60)
    feed(core, ipfix_message(basic_template()), now=0.0)
    core.expire(30.0)
    assert core.stats()["templates"] == 1
    core.expire(61.0)
    assert core.stats()["templates"] == 0 and core.stats()["templates_expired"] == 1


def test_options_template_gives_the_boot_time_for_sysuptime_fields():
    core = CollectorCore()
    options = ipfix_set(3, options_template_record(300, [field(149, 4)], [field(160, 8)]))
    boot = T0 - 3_600_000
    options_data = ipfix_set(300, u(0, 4) + u(boot, 8))
    uptime_template = ipfix_set(2, template_record(256, [field(8, 4), field(22, 4),
                                                         field(21, 4)]))
    data = ipfix_set(256, ip4("10.1.1.1") + u(1000, 4) + u(2000, 4))
    batch = feed(core, ipfix_message(options, options_data, uptime_template, data))
    assert batch.length == 1
    assert int(batch[0].TIME_FIRST) == (boot + 1000) * MS
    assert int(batch[0].TIME_LAST) == (boot + 2000) * MS
    assert core.stats()["options_records"] == 1


def test_sysuptime_without_boot_time_assumes_the_last_end_is_the_export_time():
    core = CollectorCore()
    uptime_template = ipfix_set(2, template_record(256, [field(22, 4), field(21, 4)]))
    data = ipfix_set(256, u(1000, 4) + u(2000, 4) + u(1500, 4) + u(5000, 4))
    batch = feed(core, ipfix_message(uptime_template, data, export_time=T0 // 1000))
    assert batch.column("TIME_LAST").tolist() == [(T0 - 3000) * MS, T0 * MS]


def test_time_elements_seconds_micro_nano_and_delta():
    core = CollectorCore()
    ntp = (T0 // 1000 + 2_208_988_800) << 32 | (1 << 31)      # + 0.5 s
    fields = [field(150, 4), field(155, 8), field(156, 8), field(159, 4)]
    template = ipfix_set(2, template_record(256, fields))
    data = ipfix_set(256, u(T0 // 1000, 4) + u(ntp, 8) + u(ntp, 8) + u(250_000, 4))
    batch = feed(core, ipfix_message(template, data, export_time=T0 // 1000))
    first_ns = T0 * MS + 500_000_000
    assert int(batch[0].TIME_FIRST) == first_ns                # nanoseconds wins over seconds
    assert int(batch[0].TIME_LAST) == first_ns                 # microseconds over delta
    core2 = CollectorCore()
    delta_only = ipfix_set(2, template_record(256, [field(158, 4), field(159, 4)]))
    batch = feed(core2, ipfix_message(delta_only, ipfix_set(256, u(1_000_000, 4) + u(0, 4)),
                                      export_time=T0 // 1000))
    assert int(batch[0].TIME_FIRST) == (T0 - 1000) * MS and int(batch[0].TIME_LAST) == T0 * MS


def test_biflow_reverse_elements():
    fields = [*BASIC_FIELDS, field(2, 8, REVERSE), field(1, 8, REVERSE), field(6, 1, REVERSE)]
    template = ipfix_set(2, template_record(256, fields))
    record = basic_record("10.0.0.1", "10.0.0.2", 1, 2, 6, 5, 500, T0, T0, 0x02) + \
        u(4, 8) + u(400, 8) + u(0x12, 1)
    core = CollectorCore()
    batch = feed(core, ipfix_message(template, ipfix_set(256, record)))
    r = batch[0]
    assert (r.PACKETS, r.BYTES, r.TCP_FLAGS) == (5, 500, 0x02)
    assert (r.PACKETS_REV, r.BYTES_REV, r.TCP_FLAGS_REV) == (4, 400, 0x12)
    assert core.stats()["unknown_elements"] == 0


def test_uniflow_template_option_takes_tos_and_ttl_and_ignores_reverse():
    fields = [field(8, 4), field(5, 1), field(192, 1), field(2, 4, REVERSE)]
    core = CollectorCore(UNIFLOW_TEMPLATE)
    batch = feed(core, ipfix_message(ipfix_set(2, template_record(256, fields)),
                                     ipfix_set(256, ip4("1.2.3.4") + u(0x10, 1) + u(64, 1)
                                               + u(9, 4))))
    assert batch.template == UNIFLOW_TEMPLATE
    assert (batch[0].TOS, batch[0].TTL) == (0x10, 64)


def test_unknown_enterprise_elements_are_skipped_and_counted():
    fields = [field(8, 4), field(1, 4, 9999), field(7, 2), field(2, 2, 8057), field(4, 1)]
    template = ipfix_set(2, template_record(256, fields))
    record = ip4("10.9.9.9") + b"\xde\xad\xbe\xef" + u(4242, 2) + b"\xbe\xef" + u(17, 1)
    core = CollectorCore()
    batch = feed(core, ipfix_message(template, ipfix_set(256, record * 2)))
    assert batch.length == 2
    assert (str(batch[0].SRC_IP), batch[0].SRC_PORT, batch[0].PROTOCOL) == ("10.9.9.9", 4242, 17)
    stats = core.stats()
    assert stats["unknown_elements"] == 2
    assert stats["unknown_element_ids"] == {"e9999id1": 1, "e8057id2": 1}


def test_variable_length_fields_short_and_long_form():
    fields = [field(8, 4), field(82, 0xFFFF), field(7, 2), field(96, 0xFFFF), field(4, 1)]
    template = ipfix_set(2, template_record(256, fields))
    long_name = b"x" * 300
    records = (ip4("10.0.0.1") + u(3, 1) + b"eth" + u(80, 2) + u(0, 1) + u(6, 1)
               + ip4("10.0.0.2") + u(255, 1) + u(300, 2) + long_name + u(443, 2) + u(2, 1)
               + b"ab" + u(17, 1))
    core = CollectorCore()
    batch = feed(core, ipfix_message(template, ipfix_set(256, records, pad=2)))
    assert batch.column("SRC_PORT").tolist() == [80, 443]
    assert batch.column("PROTOCOL").tolist() == [6, 17]
    assert [str(r.SRC_IP) for r in batch.records()] == ["10.0.0.1", "10.0.0.2"]


def test_ipv6_and_mac_and_reduced_size_counters():
    fields = [field(27, 16), field(28, 16), field(56, 6), field(80, 6), field(2, 4),
              field(1, 3), field(6, 2)]
    template = ipfix_set(2, template_record(256, fields))
    record = ip6("2001:db8::1") + ip6("2001:db8::2") + bytes.fromhex("020000000001") + \
        bytes.fromhex("020000000002") + u(7, 4) + u(0x012345, 3) + u(0x0112, 2)
    batch = feed(CollectorCore(), ipfix_message(template, ipfix_set(256, record)))
    r = batch[0]
    assert ipaddress.ip_address(str(r.SRC_IP)) == ipaddress.ip_address("2001:db8::1")
    assert batch.column("SRC_IP")[0].tobytes() == raw_from_text("2001:db8::1")
    assert str(r.SRC_MAC) == "02:00:00:00:00:01" and str(r.DST_MAC) == "02:00:00:00:00:02"
    assert (r.PACKETS, r.BYTES, r.TCP_FLAGS) == (7, 0x012345, 0x12)


def test_counters_saturate_and_zero_address_falls_back_to_the_next_element():
    fields = [field(8, 4), field(27, 16), field(2, 8)]
    template = ipfix_set(2, template_record(256, fields))
    records = (ip4("0.0.0.0") + ip6("2001:db8::9") + u(1 << 40, 8)
               + ip4("10.0.0.1") + ip6("::") + u(3, 8))
    batch = feed(CollectorCore(), ipfix_message(template, ipfix_set(256, records)))
    assert [str(r.SRC_IP) for r in batch.records()] == ["2001:db8::9", "10.0.0.1"]
    assert batch.column("PACKETS").tolist() == [0xFFFFFFFF, 3]


def test_netflow_v9_templates_options_and_data():
    template = ipfix_set(0, template_record(260, [field(8, 4), field(12, 4), field(22, 4),
                                                  field(21, 4), field(2, 4), field(1, 4),
                                                  field(4, 1), field(6, 1)]))
    options = ipfix_set(1, u(261, 2) + u(4, 2) + u(8, 2) + field(1, 4) + field(34, 4)
                        + field(35, 1) + b"\0\0")
    options_data = ipfix_set(261, u(0, 4) + u(100, 4) + u(2, 1), pad=3)
    data = ipfix_set(260, ip4("10.0.0.1") + ip4("10.0.0.2") + u(95_000, 4) + u(99_000, 4)
                     + u(3, 4) + u(180, 4) + u(17, 1) + u(0, 1))
    core = CollectorCore()
    batch = feed(core, v9_message(template, options, options_data, data, uptime=100_000,
                                  unix_secs=T0 // 1000))
    r = batch[0]
    assert (str(r.SRC_IP), r.PACKETS, r.BYTES, r.PROTOCOL) == ("10.0.0.1", 3, 180, 17)
    assert int(r.TIME_FIRST) == (T0 - 5000) * MS and int(r.TIME_LAST) == (T0 - 1000) * MS
    stats = core.stats()
    assert stats["messages_v9"] == 1 and stats["options_records"] == 1
    assert stats["unknown_elements"] == 0


def test_netflow_v9_data_before_template_held():
    template = ipfix_set(0, template_record(260, [field(8, 4), field(2, 4)]))
    data = ipfix_set(260, ip4("10.0.0.1") + u(3, 4))
    core = CollectorCore()
    assert feed(core, v9_message(data)) is None
    assert feed(core, v9_message(template)).column("PACKETS").tolist() == [3]


def test_netflow_v5():
    records = [v5_record("10.0.0.1", "10.0.0.2", 1234, 53, 17, 2, 150, 90_000, 95_000),
               v5_record("10.0.0.3", "10.0.0.4", 80, 4321, 6, 9, 9000, 91_000, 99_500, 0x1B)]
    core = CollectorCore()
    batch = feed(core, v5_message(records, uptime=100_000, unix_secs=T0 // 1000,
                                  unix_nsecs=250_000_000))
    assert batch.length == 2
    export_ms = T0 + 250
    assert batch.column("TIME_FIRST").tolist() == [(export_ms - 10_000) * MS,
                                                   (export_ms - 9_000) * MS]
    assert batch.column("TIME_LAST").tolist()[1] == (export_ms - 500) * MS
    assert batch.column("BYTES").tolist() == [150, 9000]
    assert batch.column("TCP_FLAGS").tolist() == [0, 0x1B]
    assert core.stats()["messages_v5"] == 1


@pytest.mark.parametrize("message", [
    b"",
    b"\x00\x0a",
    b"\x00\x07" + b"\0" * 30,                                        # unknown version
    ipfix_message(basic_template())[:-3],                           # truncated message
    ipfix_message(basic_template())[:16] + b"\0\0",                  # header length lies
    ipfix_message(ipfix_set(2, b"")[:2] + b"\x00\x02"),             # set length < 4
    ipfix_message(ipfix_set(2, template_record(256, BASIC_FIELDS))[:-6] + b"\0\0"),
    ipfix_message(ipfix_set(2, template_record(100, [field(8, 4)]))),   # template id < 256
    ipfix_message(ipfix_set(2, template_record(256, [field(8, 0)]))),   # zero length field
    ipfix_message(ipfix_set(3, u(300, 2) + u(1, 2) + u(0, 2) + field(8, 4))),  # scope 0
    v9_message(ipfix_set(0, template_record(256, [field(8, 4)]))[:-2]),
    v5_message([v5_record("1.1.1.1", "2.2.2.2", 1, 2, 6, 1, 1, 1, 1)])[:-1],
    v5_message([]),
])
def test_malformed_messages_are_counted_never_raised(message, caplog):
    core = CollectorCore()
    feed(core, message, address=("198.51.100.7", 9999))
    assert core.stats()["malformed"] == 1
    assert "198.51.100.7" in caplog.text
    # the collector goes on
    assert feed(core, ipfix_message(basic_template(), basic_data())).length == 2


def test_truncated_variable_length_record_is_malformed():
    fields = [field(8, 4), field(82, 0xFFFF)]
    template = ipfix_set(2, template_record(256, fields))
    core = CollectorCore()
    feed(core, ipfix_message(template, ipfix_set(256, ip4("1.1.1.1") + u(20, 1) + b"short")))
    assert core.stats()["malformed"] == 1


def test_an_options_record_whose_long_length_prefix_is_cut_is_malformed():
    options = ipfix_set(3, options_template_record(300, [field(149, 4)], [field(82, 0xFFFF)]))
    core = CollectorCore()
    feed(core, ipfix_message(options, ipfix_set(300, u(0, 4) + u(255, 1) + u(1, 1))))
    assert core.stats()["malformed"] == 1


def test_sets_before_a_broken_one_are_kept():
    core = CollectorCore()
    message = ipfix_message(basic_template(), basic_data()) + b"\x01\x00\x00\x09"
    message = message[:2] + u(len(message), 2) + message[4:]
    batch = feed(core, message)
    assert batch.length == 2 and core.stats()["malformed"] == 1


def test_reserved_set_ids_are_skipped():
    core = CollectorCore()
    batch = feed(core, ipfix_message(ipfix_set(5, b"abcd"), basic_template(), basic_data()))
    assert batch.length == 2 and core.stats()["unknown_sets"] == 1


def test_sequence_gaps_count_lost_records():
    core = CollectorCore()
    feed(core, ipfix_message(basic_template(), basic_data(count=2), sequence=0),
         ipfix_message(basic_data(count=2), sequence=2),
         ipfix_message(basic_data(count=2), sequence=10))
    stats = core.stats()
    assert stats["sequence_gaps"] == 1 and stats["lost_records"] == 6


def test_tcp_session_close_forgets_templates_and_drops_held_sets():
    core = CollectorCore()
    session = core.session("tcp", ("192.0.2.1", 4000))
    core.feed(session, ipfix_message(basic_data()))
    core.close_session(session)
    assert core.stats()["dropped_sets"] == 1 and core.stats()["sessions"] == 0
    other = core.session("tcp", ("192.0.2.1", 4000))
    assert other is not session


def test_options_records_count_in_sequence_numbers():
    options = ipfix_set(3, options_template_record(300, [field(149, 4)], [field(160, 8)]))
    options_data = ipfix_set(300, u(0, 4) + u(T0, 8))
    core = CollectorCore()
    feed(core, ipfix_message(options, options_data, basic_template(), basic_data(count=2)),
         ipfix_message(basic_data(count=2), sequence=3))
    assert core.stats().get("sequence_gaps", 0) == 0
