#!/usr/bin/env bash
# Reproduce: build, start a loopback single-node cluster, run every driver test, stop it.
set -uo pipefail
cd "$(dirname "$0")"
./build.sh >build.log 2>&1 || { tail -20 build.log; exit 1; }
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ./cluster.sh start || exit 1
trap './cluster.sh stop' EXIT
ADDR=$(cat ray/ray_current_cluster)   # "ip:port" as the head registered it
timeout 300 build/driver "$ADDR" "$PWD/build/libspike_ray_bridge.so" all 2>&1 | grep -a -v gcs_client.cc:96
