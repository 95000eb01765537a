#!/usr/bin/env bash
# Issue 17's check against a real llama-server: 6/6 requests at c=1 with 32- and 1,000-token
# prompts. Needs bench/llama_server_build.sh first. Prints one line per run and the
# requests that were retried on a fresh connection (note retried_stale_connection).
# Usage: bench/llama_server_check.sh [WORKDIR] [PORT]     (defaults /work/llama 18080)
set -euo pipefail
WORKDIR="${1:-/work/llama}"
PORT="${2:-18080}"
HERE="$(cd "$(dirname "$0")" && pwd)"
INFERLAB="$HERE/../.venv/bin/inferlab"
DB="$(mktemp -d)/llama-check.duckdb"
"$WORKDIR/bin/llama-server" -m "$WORKDIR/tiny-llama.gguf" -np 1 -c 4096 --metrics \
  --host 127.0.0.1 --port "$PORT" > "$WORKDIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
  sleep 0.5
done
for tokens in 32 1000; do
  INFERLAB_DB="$DB" "$INFERLAB" probe --url "http://127.0.0.1:$PORT/v1" --model tiny-llama.gguf \
    --concurrency 1 --requests 6 --max-tokens 64 --prompt-tokens "$tokens" --json 2> /dev/null \
    | "$HERE/../.venv/bin/python" -c "
import json, sys
d = json.load(sys.stdin)
print(f'prompt-tokens $tokens: {d[\"completed\"] - d[\"failed\"]}/{d[\"completed\"]} ok, '
      f'errors {d[\"errors_by_class\"]}, TTFT p50 {d[\"ttft_ms\"][\"p50\"]:.0f} ms, run {d[\"run_id\"]}')
"
done
INFERLAB_DB="$DB" "$HERE/../.venv/bin/python" -c "
from inferlab.store import Store
s = Store()
for rid in s.list_runs()['run_id']:
    noted = [r.index for r in s.records(rid) if r.notes]
    print(f'run {rid}: retried on a fresh connection: {noted or \"none\"}')
"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^llamacpp:(prompt_tokens_total|tokens_predicted_total|requests_processing)'
