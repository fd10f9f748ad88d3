#!/usr/bin/env bash
# Throwaway single-node Ceph (Pacific 16.2, Debian 12) + radosgw on 127.0.0.1,
# for S3 integration tests that need Object Lock (COMPLIANCE/GOVERNANCE, versioning).
#
#   s3-objectlock-server.sh start DIR PORT   -> prints S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY
#   s3-objectlock-server.sh stop  DIR        -> kills only the PIDs recorded in DIR/pids
#
# One mon (msgr2 on 127.0.0.1), one OSD on memstore (data in RAM, nothing on disk
# except logs/mon store), pool size 1, auth none, one radosgw (beast) on 127.0.0.1:PORT.
# Everything lives under DIR; no systemd, no /etc/ceph, no /var/lib/ceph used.
# Internal ports: mon = PORT+1, OSD binds within [PORT+10, PORT+40].
# start is idempotent (a live instance in DIR just reprints DIR/env); stale DIR is cleaned.
# Timings of each phase: DIR/startup.phases. Logs: DIR/log/. Keys: env S3_ACCESS_KEY/S3_SECRET_KEY
# override the fixed defaults.
# Missing Ceph packages are installed with apt-get on first start: that needs root on Debian 12.
# The suites that need it (test/helpers/s3-server.ts) skip where that is not possible, unless
# TAILSEAL_TEST_S3=required (.ci/run) makes it a failure.
# Client notes (Ceph 16.2 RGW): use path-style; with AWS SDK v3 >= 3.729 set
# requestChecksumCalculation/responseChecksumValidation = 'WHEN_REQUIRED' for streamed bodies
# (default aws-chunked trailer checksums -> 411 MissingContentLength on Pacific).
set -Eeuo pipefail

ACCESS_KEY="${S3_ACCESS_KEY:-TESTACCESSKEY0000001}"
SECRET_KEY="${S3_SECRET_KEY:-testsecretkey0000000000000000000000000001}"

ensure_packages() {
  local missing=()
  for b in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common radosgw-admin:radosgw \
           monmaptool:ceph-common uuidgen:uuid-runtime curl:curl; do
    command -v "${b%%:*}" >/dev/null 2>&1 || missing+=("${b##*:}")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
  fi
}

wait_for() { # timeout_s description daemon-name|- command...   (fails early if that daemon died)
  local t=$1 d=$2 who=$3; shift 3
  local end=$((SECONDS + t)) pid=""
  until "$@" >/dev/null 2>&1; do
    if [[ $who != - ]]; then
      pid=$(awk -v n="$who" '$1==n{print $2}' "$DIR/pids")
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "$who exited during startup; see $DIR/log/$who.log and $DIR/log/$who.stdout" >&2; return 1
      fi
    fi
    if ((SECONDS >= end)); then echo "timeout waiting for $d" >&2; return 1; fi
    sleep 0.3
  done
}

spawn() { # name command...  (foreground daemon in its own session; its real PID goes to DIR/pids)
  local name=$1; shift
  # the inner bash records its own PID ($$) and then execs the daemon, so the PID is the daemon's
  # even if setsid had to fork (caller with job control).
  setsid bash -c 'echo "$1 $$" >>"$2/pids"; shift 2; exec "$@"' spawn "$name" "$DIR" "$@" \
    </dev/null >>"$DIR/log/$name.stdout" 2>&1 &
  wait_for 5 "pid of $name" - grep -q "^$name " "$DIR/pids"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

all_alive() { # DIR
  [[ -s "$1/pids" ]] || return 1
  local p; for p in $(awk '{print $2}' "$1/pids"); do kill -0 "$p" 2>/dev/null || return 1; done
}

cmd_start() {
  DIR=$(mkdir -p "$1" && cd "$1" && pwd); PORT=$2
  local MONPORT=$((PORT + 1))
  if all_alive "$DIR" && [[ -s "$DIR/env" ]]; then   # idempotent: already running -> same answer
    cat "$DIR/env"; return 0
  fi
  if [[ -e "$DIR/pids" ]]; then cmd_stop "$DIR"; fi  # stale/partial run in DIR: clean it up
  for p in "$PORT" "$MONPORT"; do
    if port_busy "$p"; then echo "port 127.0.0.1:$p already in use" >&2; exit 1; fi
  done
  ensure_packages
  rm -rf "$DIR"/{mon,osd,run,rgw,crash,env,startup,keyring,monmap,ceph.conf}
  trap 'echo "start failed; logs in $DIR/log" >&2; cmd_stop "$DIR"' ERR
  local t0=$EPOCHREALTIME
  phase() { echo "$1 $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')s" >>"$DIR/startup.phases"; }
  : >"$DIR/startup.phases"
  mkdir -p "$DIR"/{mon,osd,run,log,rgw}
  local FSID; FSID=$(uuidgen)
  local CONF="$DIR/ceph.conf"
  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MONPORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_port_min = $((PORT + 10))
ms_bind_port_max = $((PORT + 40))
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# radosgw is a daemon: its default ms_mon_client_mode is 'secure', which auth=none cannot do
ms_mon_client_mode = crc secure
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
crash_dir = $DIR/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
osd_objectstore = memstore
memstore_device_bytes = 4294967296
osd_memory_target = 939524096
osd_data = $DIR/osd/\$cluster-\$id
mon_data = $DIR/mon/\$cluster-\$id

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $DIR/rgw
rgw_thread_pool_size = 64
EOF
  # ---- mon
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MONPORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >>"$DIR/log/mkfs.log" 2>&1
  spawn mon.a ceph-mon -c "$CONF" -f -i a
  wait_for 30 "mon" mon.a ceph -c "$CONF" --connect-timeout 2 mon stat
  phase mon_up
  # ---- osd (memstore)
  local OSD_UUID; OSD_UUID=$(uuidgen)
  local OSD_ID; OSD_ID=$(ceph -c "$CONF" osd new "$OSD_UUID")
  mkdir -p "$DIR/osd/ceph-$OSD_ID"
  ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/mkfs.log" 2>&1
  spawn "osd.$OSD_ID" ceph-osd -c "$CONF" -f -i "$OSD_ID"
  wait_for 60 "osd up" "osd.$OSD_ID" bash -c "ceph -c '$CONF' osd dump 2>/dev/null | grep -q '^osd.$OSD_ID up'"
  phase osd_up
  # ---- pre-create rgw pools (otherwise the first CreateBucket/PUT pays ~4 s for pool creation)
  local pool jobs=()
  for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log \
              default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    { ceph -c "$CONF" osd pool create "$pool" 8 8 && ceph -c "$CONF" osd pool application enable "$pool" rgw
    } >/dev/null 2>>"$DIR/log/mkfs.log" &
    jobs+=($!)
  done
  wait "${jobs[@]}" || true  # only these jobs (a bare wait would wait for the daemons); best effort
  phase pools_created
  # ---- rgw
  spawn rgw.a radosgw -c "$CONF" -f -n client.rgw.a
  wait_for 90 "rgw on :$PORT" rgw.a curl -sf -o /dev/null "http://127.0.0.1:$PORT/"
  phase rgw_listening
  radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/log/user.json" 2>>"$DIR/log/mkfs.log"
  trap - ERR
  phase user_created_ready
  cat >"$DIR/env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=us-east-1
CEPH_CONF=$CONF
EOF
  cat "$DIR/env"
}

cmd_stop() {
  local DIR=$1
  [[ -f "$DIR/pids" ]] || { echo "nothing to stop in $DIR" >&2; return 0; }
  local pids p alive
  pids=$(awk '{print $2}' "$DIR/pids" | tac)   # reverse order: rgw, osd, mon
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 15); do   # ~3 s grace, then SIGKILL (data is throwaway)
    alive=0
    for p in $pids; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
    if ((alive == 0)); then break; fi
    sleep 0.2
  done
  for p in $pids; do if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi; done
  mv -f "$DIR/pids" "$DIR/pids.stopped"
}

case "${1:-}" in
  start) [[ $# -eq 3 ]] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; cmd_start "$2" "$3" ;;
  stop)  [[ $# -eq 2 ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }; cmd_stop "$2" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
