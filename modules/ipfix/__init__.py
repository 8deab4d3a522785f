"""IPFIX / NetFlow collector and exporter: `nemea ipfixcol`, `ipfixexport`, `ipfixsend`.

    elements.py    Information Element table (IANA, RFC 5103 reverse elements)
    mapping.py     IPFIX elements <-> UniRec fields (the declarative table)
    templates.py   templates and the per-session, per-domain template store
    parser.py      IPFIX / NetFlow v9 / v5 message parser (reports to a handler)
    decode.py      set decoders: many data sets of a template in one numpy pass
    records.py     record builder: columns to RecordBatches of the output template
    pending.py     data sets waiting for their template (bounded)
    core.py        the collecting process without sockets: sessions, counters, batches
    framing.py     messages out of a TCP stream
    transports.py  UDP/TCP listeners, UDP/TCP/file senders, address specs
    encoder.py     IPFIX encoder (templates, data sets, sequence numbers, message size)
    exporter.py    FlowExporter: encoder + sender + template refresh (flow_meter -x uses it)
    ipfix_file.py  files of concatenated IPFIX messages
    collector.py, export_module.py, send.py   the modules
"""
