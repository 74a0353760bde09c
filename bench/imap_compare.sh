#!/usr/bin/env bash
# Runs imap-bench against Dovecot and Sealpost side by side on loopback, with the same users
# and the same seed messages, and prints both tables.
#
#   cargo build --release -p sealpost -p sealpost-bench
#   apt-get install dovecot-imapd          # only here, not in CI
#   bench/imap_compare.sh                  # as root (Dovecot runs its own master process)
#
# Knobs (environment): USERS=4 CLIENTS=20 DURATION=30 SEED_MESSAGES=1000 WORK=/tmp/imap-compare
# MIX=search=1 (imap-bench --mix: command weights replacing the default mix)
# SEALPOST_DATABASE_URL=postgres://... (default: SQLite in $WORK). Ports SEALPOST_IMAP_PORT=11143, SEALPOST_IMAPS_PORT=11993,
# DOVECOT_PORT=11144 and SEALPOST_API_PORT=18080 must be free.
#
# Dovecot runs with Debian's defaults except what a loopback test needs: plain text logins
# (`disable_plaintext_auth = no`, `auth_mechanisms = plain login`, `ssl = no`), a
# passwd-file, Maildir under $WORK, and mail owned by `nobody`.
set -euo pipefail

USERS=${USERS:-4}
CLIENTS=${CLIENTS:-20}
DURATION=${DURATION:-30}
SEED_MESSAGES=${SEED_MESSAGES:-1000}
MIX=${MIX:-}
WORK=${WORK:-/tmp/imap-compare}
PASSWORD=benchpass
SEALPOST_IMAP_PORT=${SEALPOST_IMAP_PORT:-11143}
SEALPOST_IMAPS_PORT=${SEALPOST_IMAPS_PORT:-11993}
DOVECOT_PORT=${DOVECOT_PORT:-11144}
SEALPOST_API_PORT=${SEALPOST_API_PORT:-18080}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SEALPOST_BIN=${SEALPOST_BIN:-$root/target/release/sealpost}
IMAP_BENCH=${IMAP_BENCH:-$root/target/release/imap-bench}

rm -rf "$WORK"
mkdir -p "$WORK/dovecot/mail" "$WORK/dovecot/run" "$WORK/dovecot/state" "$WORK/sealpost"

# ---- Dovecot ----
: >"$WORK/dovecot/passwd"
for n in $(seq 1 "$USERS"); do
  echo "bench$n:{PLAIN}$PASSWORD" >>"$WORK/dovecot/passwd"
done
chown -R nobody:nogroup "$WORK/dovecot/mail"
cat >"$WORK/dovecot/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/state
log_path = $WORK/dovecot/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$WORK/dovecot/mail/%u
first_valid_uid = 65534
first_valid_gid = 65534
passdb {
  driver = passwd-file
  args = scheme=PLAIN $WORK/dovecot/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$WORK/dovecot/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
dovecot -F -c "$WORK/dovecot/dovecot.conf" &
dovecot_pid=$!

# ---- Sealpost ----
# The listeners the benchmark does not use take any free port, so that two runs with
# different ports can share the machine.
SEALPOST_POP3_LISTEN=127.0.0.1:0 SEALPOST_POP3S_LISTEN=127.0.0.1:0 SEALPOST_LMTP_LISTEN=127.0.0.1:0 \
  SEALPOST_SMTP_LISTEN=127.0.0.1:0 \
  SEALPOST_DOMAIN=bench.test SEALPOST_LOG=warn SEALPOST_DEFAULT_QUOTA=107374182400 \
  SEALPOST_API_LISTEN=127.0.0.1:$SEALPOST_API_PORT SEALPOST_IMAP_LISTEN=127.0.0.1:$SEALPOST_IMAP_PORT SEALPOST_IMAPS_LISTEN=127.0.0.1:$SEALPOST_IMAPS_PORT \
  "$SEALPOST_BIN" --data-dir "$WORK/sealpost/data" serve >"$WORK/sealpost/log" 2>&1 &
sealpost_pid=$!
# Waited for, so that the next run finds the ports free.
trap 'kill $dovecot_pid $sealpost_pid 2>/dev/null || true; wait $dovecot_pid $sealpost_pid 2>/dev/null || true' EXIT

for port in $DOVECOT_PORT $SEALPOST_IMAP_PORT $SEALPOST_API_PORT; do
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done
for n in $(seq 1 "$USERS"); do
  curl -fsS -X POST "http://127.0.0.1:$SEALPOST_API_PORT/users" -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench$n\",\"password\":\"$PASSWORD\"}" >/dev/null
done

common=(--users "bench{n}:$PASSWORD" --user-count "$USERS")
mix=()
[ -n "$MIX" ] && mix=(--mix "$MIX")
for target in "Dovecot $DOVECOT_PORT" "Sealpost $SEALPOST_IMAP_PORT"; do
  set -- $target
  echo "==> $1: setup ($SEED_MESSAGES messages per user)"
  "$IMAP_BENCH" --port "$2" "${common[@]}" --setup "$SEED_MESSAGES" --setup-only
done
for target in "Dovecot $DOVECOT_PORT" "Sealpost $SEALPOST_IMAP_PORT"; do
  set -- $target
  echo "==> $1: $CLIENTS clients for $DURATION s"
  "$IMAP_BENCH" --port "$2" "${common[@]}" "${mix[@]}" --clients "$CLIENTS" --duration "$DURATION"
done
