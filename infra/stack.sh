#!/usr/bin/env bash
# The local stack: a Temporal dev server (state in SQLite under .stack/state, so workflows survive
# a restart) and an S3 server (Versity's S3 gateway, objects as files on disk), both on loopback.
# Usage: infra/stack.sh up|down|status|restart [temporal|s3]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$TDA_STATE" "$TDA_LOGS" "$TDA_RUN"

HEALTH_TIMEOUT="${TDA_HEALTH_TIMEOUT:-60}"

pid_alive() { [ -f "$TDA_RUN/$1.pid" ] && kill -0 "$(cat "$TDA_RUN/$1.pid")" 2>/dev/null; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() { # service port...
  local svc="$1"; shift
  for p in "$@"; do
    if port_taken "$p"; then
      die "port $p (needed by $svc) is already in use by another process; stop it or set the TDA_*_PORT variables (see infra/env.sh)"
    fi
  done
}

wait_healthy() { # name check-command...
  local name="$1"; shift
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$name"; then
      log "$name exited during start; last lines of $TDA_LOGS/$name.log:"
      tail -n 30 "$TDA_LOGS/$name.log" >&2 || true
      rm -f "$TDA_RUN/$name.pid"
      die "$name failed to start"
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "$name not healthy after ${HEALTH_TIMEOUT}s; last lines of $TDA_LOGS/$name.log:"
      tail -n 30 "$TDA_LOGS/$name.log" >&2 || true
      die "$name did not become healthy"
    fi
    sleep 0.5
  done
}

temporal_healthy() {
  "$TDA_BIN/temporal" operator cluster health --address "127.0.0.1:$TDA_TEMPORAL_PORT" 2>/dev/null | grep -q SERVING
}

s3_request() { # curl, signed as the clients sign (the gateway requires a payload hash header; curl
  # signs with the one given from 7.87, Debian 12 has 7.88)
  curl -sf -o /dev/null --max-time 3 --aws-sigv4 "aws:amz:$TDA_S3_REGION:s3" \
    --user "$TDA_S3_ACCESS_KEY_ID:$TDA_S3_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

s3_healthy() { # a signed HEAD on the bucket: proves the server, the credentials and the bucket
  s3_request -I "http://127.0.0.1:$TDA_S3_PORT/$TDA_S3_BUCKET"
}

s3_ready() { # healthy, creating the bucket once the server answers
  s3_healthy && return 0
  s3_request -X PUT "http://127.0.0.1:$TDA_S3_PORT/$TDA_S3_BUCKET" || true
  s3_healthy
}

start_detached() { # name command...
  local name="$1"; shift
  # setsid: the server outlives the shell that started it and gets its own process group.
  setsid "$@" >>"$TDA_LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$TDA_RUN/$name.pid"
}

up_temporal() {
  [ -x "$TDA_BIN/temporal" ] || die "temporal CLI missing at $TDA_BIN/temporal; run: bash infra/setup.sh"
  if pid_alive temporal; then temporal_healthy && { log "temporal already up"; return; }; fi
  check_ports_free temporal "$TDA_TEMPORAL_PORT" "$TDA_TEMPORAL_UI_PORT"
  log "starting temporal on 127.0.0.1:$TDA_TEMPORAL_PORT (web UI http://127.0.0.1:$TDA_TEMPORAL_UI_PORT)"
  start_detached temporal "$TDA_BIN/temporal" server start-dev \
    --ip 127.0.0.1 --port "$TDA_TEMPORAL_PORT" --ui-port "$TDA_TEMPORAL_UI_PORT" \
    --db-filename "$TDA_STATE/temporal.db" --log-level warn --ui-disable-news-fetch
  wait_healthy temporal temporal_healthy
}

up_s3() {
  [ -x "$TDA_BIN/versitygw" ] || die "the S3 server is missing at $TDA_BIN/versitygw; run: bash infra/setup.sh"
  if pid_alive s3; then
    if [ "$(ps -o comm= -p "$(cat "$TDA_RUN/s3.pid")")" != versitygw ]; then
      # An earlier version's SeaweedFS: its objects stay in its own store (not migrated).
      log "stopping the earlier S3 server (SeaweedFS); its objects in $TDA_STATE/s3 are not carried over"
      down_one s3
    elif s3_healthy; then
      log "s3 already up"; return
    else
      die "the S3 server (pid $(cat "$TDA_RUN/s3.pid")) runs but refuses a request signed as configured now (bucket $TDA_S3_BUCKET, region $TDA_S3_REGION, the access key): it checks them as it was started; restart it: bash infra/stack.sh restart s3 (log: $TDA_LOGS/s3.log)"
    fi
  fi
  check_ports_free s3 "$TDA_S3_PORT"
  mkdir -p "$TDA_STATE/objects"
  # The gateway keeps each object's metadata in extended attributes: say so now, not at the first
  # upload.
  local why
  why="$(python3 -c 'import os, sys, tempfile
try:
    fd, p = tempfile.mkstemp(dir=sys.argv[1], prefix=".xattr-check")
    os.close(fd)
    try: os.setxattr(p, "user.tda", b"1")
    finally: os.remove(p)
except OSError as e: sys.exit(str(e))' "$TDA_STATE/objects" 2>&1)" ||
    die "$TDA_STATE/objects: cannot set an extended attribute ($why); the S3 server keeps object metadata in them: set TDA_STACK_DIR to a folder on ext4, xfs or btrfs"
  if [ -d "$TDA_STATE/s3" ]; then
    log "note: $TDA_STATE/s3 is an earlier SeaweedFS store, no longer read (its objects are not carried over: import again); delete it to free its space"
  fi
  log "starting the S3 server (versitygw) on 127.0.0.1:$TDA_S3_PORT (bucket $TDA_S3_BUCKET, objects under $TDA_STATE/objects)"
  # Every sub-folder of the root is a bucket, every file under it an object; metadata in extended
  # attributes. The root credentials come from the environment, not the command line (ps shows it).
  ROOT_ACCESS_KEY_ID="$TDA_S3_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$TDA_S3_SECRET_ACCESS_KEY" \
    start_detached s3 "$TDA_BIN/versitygw" --port "127.0.0.1:$TDA_S3_PORT" --region "$TDA_S3_REGION" \
    --keep-alive --quiet posix "$TDA_STATE/objects"
  wait_healthy s3 s3_ready
}

down_one() {
  local name="$1"
  if pid_alive "$name"; then
    local pid; pid="$(cat "$TDA_RUN/$name.pid")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$TDA_RUN/$name.pid"
}

status_one() {
  local name="$1" check="$2"
  if pid_alive "$name" && $check; then echo "$name: up (pid $(cat "$TDA_RUN/$name.pid"))"; return 0; fi
  if pid_alive "$name"; then echo "$name: running but not healthy (log: $TDA_LOGS/$name.log)"; return 1; fi
  echo "$name: down"; return 1
}

cmd="${1:-status}"; which="${2:-all}"
case "$cmd:$which" in
  up:all) up_temporal; up_s3; log "stack up" ;;
  up:temporal) up_temporal ;;
  up:s3) up_s3 ;;
  down:all) down_one temporal; down_one s3 ;;
  down:temporal|down:s3) down_one "$which" ;;
  restart:*) "$0" down "$which"; "$0" up "$which" ;;
  status:*) rc=0; status_one temporal temporal_healthy || rc=1; status_one s3 s3_healthy || rc=1; exit $rc ;;
  *) die "usage: infra/stack.sh up|down|status|restart [all|temporal|s3]" ;;
esac
