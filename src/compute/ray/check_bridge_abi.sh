#!/usr/bin/env bash
# Proves with nm that nothing of the new libstdc++ ABI (no std::__cxx11::basic_string, no
# other __cxx11 symbol) crosses the Ray bridge's C boundary:
#   - the bridge (old ABI) defines and imports no __cxx11 symbol;
#   - the kernel host exports only its C API (rp_kernels_*);
#   - what the bridge takes from the kernel host is only rp_kernels_*;
#   - what each DRIVER takes from the bridge is only its C API (rp_ray_*).
# Usage: check_bridge_abi.sh BRIDGE.so KERNELS.so [DRIVER...]
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 BRIDGE.so KERNELS.so [DRIVER...]" >&2; exit 2; }
bridge=$1
kernels=$2
shift 2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

defined() { nm -D --defined-only "$1" | awk 'NF >= 3 && $2 != "A" { print $3 }' | sed 's/@.*//' | sort -u; }
undefined() { nm -D --undefined-only "$1" | awk '{ print $NF }' | sed 's/@.*//' | sort -u; }

bridge_cxx11_defined=$(nm -DC --defined-only "$bridge" | grep -c '__cxx11' || true)
bridge_cxx11_undefined=$(nm -DC --undefined-only "$bridge" | grep -c '__cxx11' || true)
echo "bridge $(basename "$bridge"): __cxx11 symbols defined: $bridge_cxx11_defined, imported: $bridge_cxx11_undefined"
((bridge_cxx11_defined == 0)) || fail "the bridge defines __cxx11 symbols: $(nm -DC --defined-only "$bridge" | grep '__cxx11' | head -3)"
((bridge_cxx11_undefined == 0)) || fail "the bridge imports __cxx11 symbols: $(nm -DC --undefined-only "$bridge" | grep '__cxx11' | head -3)"

kernel_exports=$(defined "$kernels")
echo "kernel host $(basename "$kernels") exports: $(echo $kernel_exports)"
other_exports=$(echo "$kernel_exports" | grep -v '^rp_kernels_' || true)
[[ -z "$other_exports" ]] || fail "the kernel host exports more than its C API: $(echo $other_exports | head -c 300)"
[[ -n "$(echo "$kernel_exports" | grep '^rp_kernels_run_task$' || true)" ]] || fail "rp_kernels_run_task is not exported"

bridge_from_kernels=$(comm -12 <(undefined "$bridge") <(echo "$kernel_exports"))
echo "bridge imports from the kernel host: $(echo $bridge_from_kernels)"
[[ -n "$bridge_from_kernels" ]] || fail "the bridge imports nothing from the kernel host (not linked?)"

bridge_exports=$(defined "$bridge")
echo "bridge C API: $(echo "$bridge_exports" | grep '^rp_ray_' | tr '\n' ' ')"
for driver in "$@"; do
  crossing=$(comm -12 <(undefined "$driver") <(echo "$bridge_exports"))
  not_c_api=$(echo "$crossing" | grep -v '^rp_ray_' | grep -v '^$' || true)
  echo "driver $(basename "$driver") imports from the bridge: $(echo $crossing)"
  [[ -z "$not_c_api" ]] || fail "$(basename "$driver") imports non-C symbols from the bridge: $(echo $not_c_api | head -c 300)"
  [[ -n "$crossing" ]] || fail "$(basename "$driver") imports nothing from the bridge"
done

if ((failures > 0)); then
  echo "check_bridge_abi: $failures failure(s)"
  exit 1
fi
echo "check_bridge_abi: ok"
