#!/usr/bin/env bash
# cluster.sh start [BASEPORT] | add-node | stop | ps
# A loopback Ray cluster under /tmp/rayspike/ray; stop kills only processes whose command
# line names our temp dirs (never a bare `ray stop`).
set -uo pipefail
cd "$(dirname "$0")"
RAY=venv/bin/ray
TMP=/tmp/rayspike/ray
TMP2=/tmp/rayspike/ray2
free_base() {  # a base port P such that P..P+69 are all free on 127.0.0.1
  venv/bin/python - <<'PY'
import socket, random
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError: return False
    finally: s.close()
for _ in range(200):
    b = random.randrange(20000, 30000, 100)
    if all(free(p) for p in range(b, b + 70)):
        print(b); break
PY
}
ours() {  # pids whose args mention our temp dirs, plus all their descendants
  # (ray::DashboardAgent / ray::RuntimeEnvAgent / ray::IDLE rename themselves, so the
  # command line alone is not enough: walk the parent links)
  ps -eo pid=,ppid=,args= | awk -v me=$$ -v t1="$TMP/" -v t2="$TMP2/" '
    { pid[NR]=$1; pp[NR]=$2; if ($1!=me && !index($0,"awk ") && (index($0,t1) || index($0,t2))) mark[$1]=1 }
    END { do { ch=0; for (i=1;i<=NR;i++) if (!(pid[i] in mark) && (pp[i] in mark)) { mark[pid[i]]=1; ch=1 } } while (ch);
          for (p in mark) print p }'
}
case "${1:-}" in
start)
  B=${2:-$(free_base)}
  echo "$B" > .baseport
  mkdir -p $TMP
  S=$(date +%s.%N)
  $RAY start --head --node-ip-address=127.0.0.1 --port=$B --temp-dir=$TMP \
    --disable-usage-stats --num-cpus=2 --include-dashboard=false \
    --object-store-memory=200000000 \
    --node-manager-port=$((B+1)) --object-manager-port=$((B+2)) \
    --dashboard-agent-listen-port=$((B+4)) \
    --dashboard-agent-grpc-port=$((B+5)) --runtime-env-agent-port=$((B+6)) \
    --metrics-export-port=$((B+7)) --dashboard-port=$((B+8)) --min-worker-port=$((B+10)) --max-worker-port=$((B+39)) \
    > head_start.log 2>&1
  rc=$?
  echo "ray start --head rc=$rc in $(echo "$(date +%s.%N) - $S" | bc) s; address 127.0.0.1:$B"
  [ $rc = 0 ] || tail -30 head_start.log
  ;;
add-node)
  B=$(cat .baseport)
  mkdir -p $TMP2
  S=$(date +%s.%N)
  $RAY start --address=127.0.0.1:$B --node-ip-address=127.0.0.1 --temp-dir=$TMP2 \
    --disable-usage-stats --num-cpus=1 --object-store-memory=100000000 \
    --node-manager-port=$((B+41)) --object-manager-port=$((B+42)) \
    --dashboard-agent-listen-port=$((B+44)) --dashboard-agent-grpc-port=$((B+45)) \
    --runtime-env-agent-port=$((B+46)) --metrics-export-port=$((B+47)) \
    --min-worker-port=$((B+50)) --max-worker-port=$((B+69)) --resources='{"node2": 1}' \
    > node2_start.log 2>&1
  rc=$?
  echo "ray start (2nd node) rc=$rc in $(echo "$(date +%s.%N) - $S" | bc) s"
  [ $rc = 0 ] || tail -30 node2_start.log
  ;;
ps)
  for p in $(ours); do ps -o pid=,rss=,args= -p $p | cut -c1-200; done
  ;;
stop)
  P=$(ours)
  [ -z "$P" ] && { echo "nothing of ours running"; exit 0; }
  echo "TERM: $(echo $P | wc -w) processes"; kill $P 2>/dev/null
  for i in $(seq 1 20); do sleep 0.5; P=$(ours); [ -z "$P" ] && break; done
  P=$(ours); [ -n "$P" ] && { echo "KILL: $P"; kill -9 $P 2>/dev/null; }
  sleep 0.5; echo "left: $(ours | wc -w)"
  ;;
*) echo "usage: $0 start [BASEPORT]|add-node|stop|ps"; exit 2;;
esac
