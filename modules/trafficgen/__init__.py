"""trafficgen: synthetic, reproducible pcap captures of benign traffic with labelled attacks.

`nemea trafficgen -o x.pcap --scenario mixed --seed 1` writes the capture and its ground truth
(`x.pcap.truth.json`). Layout: addresses (the network plan), packets (frames), payloads
(application data), sessions (TCP/UDP conversations), background and attacks (traffic
builders), scenarios (name -> builders), truth (ground truth), writer (pcap), cli.
"""
