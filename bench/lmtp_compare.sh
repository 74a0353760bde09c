#!/usr/bin/env bash
# Runs lmtp-bench against Dovecot's LMTP and Sealpost's LMTP side by side on loopback, with the
# same recipients, message size, count and concurrency, and prints both results. RUNS rounds,
# Dovecot then Sealpost back to back in each round (the machine may be shared).
#
#   cargo build --release -p sealpost -p sealpost-bench
#   apt-get install dovecot-lmtpd          # only here, not in CI
#   bench/lmtp_compare.sh                  # as root (Dovecot runs its own master process)
#
# Knobs (environment): USERS=4 COUNT=3000 CONCURRENCY=16 SIZE=4096 RUNS=3 WORK=/tmp/lmtp-compare
# MAILBOX_FORMAT=maildir (or sdbox) SEALPOST_DATABASE_URL=postgres://... (default: SQLite in
# $WORK). Ports SEALPOST_LMTP_PORT=12424, DOVECOT_PORT=12425, SEALPOST_API_PORT=18480 must be free.
#
# Both store durably: Dovecot with its default `mail_fsync = optimized` (the message file and
# the index are fsynced before the 250), Sealpost with SQLite WAL synchronous=FULL and group
# commit.
set -euo pipefail

USERS=${USERS:-4}
COUNT=${COUNT:-3000}
CONCURRENCY=${CONCURRENCY:-16}
SIZE=${SIZE:-4096}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/lmtp-compare}
MAILBOX_FORMAT=${MAILBOX_FORMAT:-maildir}
SEALPOST_LMTP_PORT=${SEALPOST_LMTP_PORT:-12424}
DOVECOT_PORT=${DOVECOT_PORT:-12425}
SEALPOST_API_PORT=${SEALPOST_API_PORT:-18480}
SEALPOST_OTHER_PORT=${SEALPOST_OTHER_PORT:-12500}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SEALPOST_BIN=${SEALPOST_BIN:-$root/target/release/sealpost}
LMTP_BENCH=${LMTP_BENCH:-$root/target/release/lmtp-bench}

rm -rf "$WORK"
mkdir -p "$WORK/dovecot/mail" "$WORK/dovecot/run" "$WORK/dovecot/state" "$WORK/sealpost"

# ---- Dovecot ----
: >"$WORK/dovecot/users"
for n in $(seq 1 "$USERS"); do
  echo "bench$n@bench.test:{PLAIN}benchpass:65534:65534::$WORK/dovecot/mail/bench$n::" >>"$WORK/dovecot/users"
done
chown -R nobody:nogroup "$WORK/dovecot/mail"
cat >"$WORK/dovecot/dovecot.conf" <<EOF
protocols = lmtp
listen = 127.0.0.1
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/state
log_path = $WORK/dovecot/log
ssl = no
mail_location = $MAILBOX_FORMAT:~/mail
first_valid_uid = 65534
first_valid_gid = 65534
passdb {
  driver = passwd-file
  args = scheme=PLAIN $WORK/dovecot/users
}
userdb {
  driver = passwd-file
  args = $WORK/dovecot/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
dovecot -F -c "$WORK/dovecot/dovecot.conf" &
dovecot_pid=$!

# ---- Sealpost ----
SEALPOST_DOMAIN=bench.test SEALPOST_LOG=warn SEALPOST_DEFAULT_QUOTA=107374182400 \
  SEALPOST_API_LISTEN=127.0.0.1:$SEALPOST_API_PORT SEALPOST_LMTP_LISTEN=127.0.0.1:$SEALPOST_LMTP_PORT \
  SEALPOST_IMAP_LISTEN=127.0.0.1:$SEALPOST_OTHER_PORT SEALPOST_IMAPS_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 1)) \
  SEALPOST_SMTP_LISTEN=127.0.0.1:$((SEALPOST_OTHER_PORT + 2)) \
  "$SEALPOST_BIN" --data-dir "$WORK/sealpost/data" serve >"$WORK/sealpost/log" 2>&1 &
sealpost_pid=$!
trap 'kill $dovecot_pid $sealpost_pid 2>/dev/null || true' EXIT

for port in $DOVECOT_PORT $SEALPOST_LMTP_PORT $SEALPOST_API_PORT; do
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done
rcpts=()
for n in $(seq 1 "$USERS"); do
  curl -fsS -X POST "http://127.0.0.1:$SEALPOST_API_PORT/users" -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench$n\",\"password\":\"benchpass\",\"address\":\"bench$n@bench.test\"}" >/dev/null
  rcpts+=(--rcpt "bench$n@bench.test")
done

common=("${rcpts[@]}" --count "$COUNT" --concurrency "$CONCURRENCY" --size "$SIZE")
for run in $(seq 1 "$RUNS"); do
  for target in "Dovecot $DOVECOT_PORT" "Sealpost $SEALPOST_LMTP_PORT"; do
    set -- $target
    echo "==> run $run: $1"
    "$LMTP_BENCH" --port "$2" "${common[@]}"
  done
done
