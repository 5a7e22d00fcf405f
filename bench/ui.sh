#!/usr/bin/env bash
# UI figures, with nginx measured in the same run:
#   - /summary under wrk: keep-alive -c64, -c1 (latency), and -c64 with "Connection: close"
#     (what Nginx Proxy Manager sends upstream by default), against nginx with one worker and
#     open_file_cache serving the same bytes → ratio
#   - SSE: CLIENTS connections to /stream; a line appended to the log → p50/p99 until every
#     client has it; the UI's RSS with them connected
#
# usage: bench/ui.sh [DURATION_S=5] [CLIENTS=1000] [ROUNDS=20] [WORK=/var/tmp/homelab-bench]
DUR=${1:-5}; CLIENTS=${2:-1000}; ROUNDS=${3:-20}; WORK=${4:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps bench cc
# wrk is the load generator, nginx (one worker) the peer.
with_deps load curl wrk nginx
build_homelab
probe sse_probe
RUN=$WORK/ui-$(date +%Y%m%d-%H%M%S)
ROOT=$RUN/root
mkdir -p "$RUN/www" "$RUN/nginx/tmp"
echo "== UI bench: wrk ${DUR}s per load, $CLIENTS SSE clients × $ROUNDS changes ($(nproc) cores, $(uname -r)); figures in $RUN"

HOMELAB_ROOT=$ROOT HOMELAB_UI_ADDR=127.0.0.1:18090 HOMELAB_UI_TOKEN=bench "$HOMELAB" ui 2>"$RUN/ui.log" &
ui=$!
until curl -fs -o /dev/null http://127.0.0.1:18090/healthz; do sleep 0.05; done
# Something to summarize.
for i in $(seq 1 20); do echo "{\"id\":\"p$i\"}" >"$ROOT/actions/pending/p$i.json"; done
sleep 1.2  # past the summary's one-second cache
curl -fs http://127.0.0.1:18090/summary >"$RUN/www/summary.json"
cat >"$RUN/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  open_file_cache max=100 inactive=60s; open_file_cache_valid 60s;
  keepalive_timeout 65s; keepalive_requests 1000000;
  client_body_temp_path $RUN/nginx/tmp; proxy_temp_path $RUN/nginx/tmp;
  fastcgi_temp_path $RUN/nginx/tmp; uwsgi_temp_path $RUN/nginx/tmp; scgi_temp_path $RUN/nginx/tmp;
  server {
    listen 127.0.0.1:18091 backlog=4096;
    location = /summary { default_type application/json; alias $RUN/www/summary.json; }
  }
}
CONF
setsid nginx -c "$RUN/nginx/nginx.conf" &
nginx=$!
until curl -fs -o /dev/null http://127.0.0.1:18091/summary; do sleep 0.05; done
echo "summary: $(wc -c <"$RUN/www/summary.json") bytes, the same from both"

parse() { awk 'function us(v){ if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
  /^ +50%/ {p50=us($2)} /^ +99%/ {p99=us($2)} /^Requests\/sec:/ {rps=$2} /Non-2xx/ {n2=$NF}
  END { printf "rps=%.0f p50_us=%.0f p99_us=%.0f non2xx=%d\n", rps, p50, p99, n2 }'; }
declare -A result
for server in homelab nginx; do
  port=$([ $server = homelab ] && echo 18090 || echo 18091)
  url=http://127.0.0.1:$port/summary
  wrk -t2 -c64 -d1s "$url" >/dev/null
  result[$server-c64]=$(wrk -t2 -c64 -d"${DUR}s" --latency "$url" | parse)
  result[$server-c1]=$(wrk -t1 -c1 -d"${DUR}s" --latency "$url" | parse)
  result[$server-close]=$(wrk -t2 -c64 -d"${DUR}s" --latency -H "Connection: close" "$url" | parse)
  for load in c64 c1 close; do printf '%-8s %-6s %s\n' "$server" "$load" "${result[$server-$load]}"; done
done
kill -TERM -- "-$nginx" 2>/dev/null || kill "$nginx"

echo "-- SSE: $CLIENTS clients"
sse=$("$WORK/bin/sse_probe" 18090 "$ROOT" "$CLIENTS" "$ROUNDS" || true)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$ui/status")
echo "homelab  $sse; RSS with the clients $((rss / 1024)) MB"
kill -TERM "$ui"; wait "$ui" || true

echo
echo "== summary (same run)"
for load in c64 close; do
  echo "/summary $load: homelab $(field rps "${result[homelab-$load]}") req/s, nginx 1 worker $(field rps "${result[nginx-$load]}") req/s → ratio $(ratio "$(field rps "${result[homelab-$load]}")" "$(field rps "${result[nginx-$load]}")") (goal ≥ 1.0)"
done
echo "/summary c1: homelab p50 $(field p50_us "${result[homelab-c1]}") us / p99 $(field p99_us "${result[homelab-c1]}") us; nginx p50 $(field p50_us "${result[nginx-c1]}") us / p99 $(field p99_us "${result[nginx-c1]}") us"
echo "SSE: $CLIENTS clients, change → every client p50 $(field p50_us "$sse") us, p99 $(field p99_us "$sse") us (goal p99 < 20 ms); RSS $((rss / 1024)) MB"
