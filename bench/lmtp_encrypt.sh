#!/usr/bin/env bash
# LMTP deliveries per second with encryption at rest off and on: one Sealpost, USERS plain
# users and USERS users with a gpg-made Curve25519 pubKey and encryptMessages, lmtp-bench
# against each group in turn (RUNS rounds, plain then encrypted back to back: the machine may
# be shared). Target: the encrypted figure at least 50% of the plain one.
#
#   cargo build --release -p sealpost -p sealpost-bench
#   bench/lmtp_encrypt.sh          # USERS=4 COUNT=2000 CONCURRENCY=16 SIZE=4096 RUNS=3
#
# SEALPOST_BIN / LMTP_BENCH choose the binaries (default: target/release). Ports
# SEALPOST_LMTP_PORT=12434, SEALPOST_API_PORT=18490, SEALPOST_OTHER_PORT=12510.. must be free.
set -euo pipefail

USERS=${USERS:-4}
COUNT=${COUNT:-2000}
CONCURRENCY=${CONCURRENCY:-16}
SIZE=${SIZE:-4096}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/lmtp-encrypt}
SEALPOST_LMTP_PORT=${SEALPOST_LMTP_PORT:-12434}
SEALPOST_API_PORT=${SEALPOST_API_PORT:-18490}
SEALPOST_OTHER_PORT=${SEALPOST_OTHER_PORT:-12510}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SEALPOST_BIN=${SEALPOST_BIN:-$root/target/release/sealpost}
LMTP_BENCH=${LMTP_BENCH:-$root/target/release/lmtp-bench}

rm -rf "$WORK"
mkdir -p "$WORK/gnupg" "$WORK/sealpost"
chmod 700 "$WORK/gnupg"
export GNUPGHOME=$WORK/gnupg
gpg --batch --pinentry-mode loopback --passphrase bench --quick-gen-key "Bench <bench@bench.test>" \
  future-default default never 2>/dev/null
pubkey=$(gpg --armor --export bench@bench.test | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')

SEALPOST_DOMAIN=bench.test SEALPOST_LOG=warn SEALPOST_DEFAULT_QUOTA=107374182400 \
  SEALPOST_API_LISTEN=127.0.0.1:$SEALPOST_API_PORT SEALPOST_LMTP_LISTEN=127.0.0.1:$SEALPOST_LMTP_PORT \
  SEALPOST_IMAP_LISTEN=127.0.0.1:$SEALPOST_OTHER_PORT SEALPOST_IMAPS_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 1)) \
  SEALPOST_SMTP_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 2)) \
  SEALPOST_POP3_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 3)) SEALPOST_POP3S_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 4)) \
  "$SEALPOST_BIN" --data-dir "$WORK/sealpost/data" serve >"$WORK/sealpost/log" 2>&1 &
sealpost_pid=$!
trap 'kill $sealpost_pid 2>/dev/null || true; gpgconf --kill all' EXIT

for port in $SEALPOST_LMTP_PORT $SEALPOST_API_PORT; do
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done
plain=()
encrypted=()
for n in $(seq 1 "$USERS"); do
  curl -fsS -X POST "http://127.0.0.1:$SEALPOST_API_PORT/users" -H 'Content-Type: application/json' \
    -d "{\"username\":\"plain$n\",\"password\":\"benchpass\",\"address\":\"plain$n@bench.test\"}" >/dev/null
  curl -fsS -X POST "http://127.0.0.1:$SEALPOST_API_PORT/users" -H 'Content-Type: application/json' \
    -d "{\"username\":\"enc$n\",\"password\":\"benchpass\",\"address\":\"enc$n@bench.test\",\"encryptMessages\":true,\"pubKey\":$pubkey}" >/dev/null
  plain+=(--rcpt "plain$n@bench.test")
  encrypted+=(--rcpt "enc$n@bench.test")
done

common=(--port "$SEALPOST_LMTP_PORT" --count "$COUNT" --concurrency "$CONCURRENCY" --size "$SIZE")
for run in $(seq 1 "$RUNS"); do
  echo "==> run $run: plain"
  "$LMTP_BENCH" "${plain[@]}" "${common[@]}"
  echo "==> run $run: encrypted at rest"
  "$LMTP_BENCH" "${encrypted[@]}" "${common[@]}"
done
