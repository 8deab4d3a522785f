"""Detectors: modules that read flow records and send alert records.

Shared helpers (small and stable; detectors import them, they import nothing from here):
  flow_columns  TCP flag constants, optional columns, IPv4/multicast masks, row keys, flow time
  prefix_set    PrefixSet: addresses and prefixes (IPv4/IPv6) matched against a whole column
  alerts        alert_batch(): a RecordBatch of alerts from a list of field dicts
  episodes      Episodes: aggregator events closed after a window of flow time
  inprocess     run a module in-process on batches (tests, benchmarks): no sockets
"""
