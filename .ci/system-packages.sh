#!/bin/sh
# Install the Debian packages the project needs to build, only those that are missing.
set -e
missing=""
[ -f /usr/include/pcap.h ] || [ -f /usr/include/pcap/pcap.h ] || missing="$missing libpcap-dev"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing="$missing python3-dev"
python3 -c 'import ensurepip' 2>/dev/null || missing="$missing python3-venv"
# peers the interoperability tests and benchmarks run against (NetFlow/IPFIX tools)
command -v nfcapd >/dev/null 2>&1 || missing="$missing nfdump"
command -v pmacctd >/dev/null 2>&1 || missing="$missing pmacct"
[ -z "$missing" ] && exit 0
echo "installing system packages:$missing"
if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
    echo "error: need root or sudo to install:$missing (apt-get install$missing)" >&2
    exit 1
fi
