"""The NEMEA-style chain, each module a process, over u:, t: and f: interfaces:

    logreplay -> u: -> traffic_repeater -> t: -> unirecfilter -> f: --\\
    logreplay -> f: (other template) ---------------------------------> merger -> u: -> logger
The final CSV is checked record for record against what the chain must do.
"""

from __future__ import annotations

from modules.demo_flows import demo_flows
from tests.integration.conftest import free_port
from unirec import CsvFormatter, Record, RecordBatch, Template


def test_chain_over_unix_tcp_and_files(spawn, tmp_path):
    flows = demo_flows(3000, seed=11)
    formatter = CsvFormatter(flows.template)
    flows_csv = tmp_path / "flows.csv"
    flows_csv.write_text(formatter.header() + "\n" + formatter.format_batch(flows))
    notes_csv = tmp_path / "notes.csv"
    notes_csv.write_text('ipaddr SRC_IP,uint16 DST_PORT,string NOTE\n10.9.9.9,8080,"proxy"\n'
                         '10.9.9.8,3128,"squid, old"\n')
    port = free_port()
    filtered, notes, out = tmp_path / "filtered.trapcap", tmp_path / "notes.trapcap", \
        tmp_path / "out.csv"

    stage1 = [
        spawn("nemea", "unirecfilter", "-i", f"t:localhost:{port},f:{filtered}",
              "-F", "DST_PORT == 53 or BYTES > 2000"),
        spawn("nemea", "traffic_repeater", "-i", f"u:raw,t:{port}"),
        spawn("nemea", "logreplay", "-i", "u:raw", "-f", str(flows_csv)),
        spawn("nemea", "logreplay", "-i", f"f:{notes}", "-f", str(notes_csv)),
    ]
    for proc in stage1:
        assert proc.wait(60) == 0, proc.stderr
    logger = spawn("nemea", "logger", "-i", "u:merged", "-t", "-w", str(out))
    merger = spawn("nemea", "merger", "-i", f"f:{filtered},f:{notes},u:merged")
    assert merger.wait(60) == 0, merger.stderr
    assert logger.wait(60) == 0, logger.stderr

    union = flows.template.union(Template.parse("ipaddr SRC_IP,uint16 DST_PORT,string NOTE"))
    kept = [r for r in flows.records() if r.DST_PORT == 53 or r.BYTES > 2000]
    expected = RecordBatch.from_records(
        [Record(union, r.to_dict()) for r in kept]
        + [Record(union, SRC_IP="10.9.9.9", DST_PORT=8080, NOTE="proxy"),
           Record(union, SRC_IP="10.9.9.8", DST_PORT=3128, NOTE="squid, old")], union)
    expected_lines = CsvFormatter(union).format_batch(expected).splitlines()
    lines = out.read_text().splitlines()
    assert lines[0] == union.spec
    assert 0 < len(kept) < len(flows)
    assert sorted(lines[1:]) == sorted(expected_lines)
    # records of one input keep their order
    flow_lines = [line for line in lines[1:] if not line.endswith(('"proxy"', '"squid, old"'))]
    assert flow_lines == expected_lines[:len(kept)]
