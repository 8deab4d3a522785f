"""flow_meter: packet capture to flow records (run as `nemea flow_meter`)."""
