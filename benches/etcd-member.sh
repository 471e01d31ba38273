# Sourced by the side-by-side scripts: starts one throwaway etcd member on 127.0.0.1.
#
#   start_etcd_member NAME DATA_DIR CLIENT_PORT PEER_PORT [COMMAND PREFIX...]
#
# runs `${ETCD:-etcd}` (behind the optional prefix, e.g. `taskset -c 1`) in the background
# with its log in DATA_DIR.log, an 8 GiB backend quota, and sets `etcd_pid`.
start_etcd_member() {
  local name=$1 data=$2 client_port=$3 peer_port=$4
  shift 4
  local endpoint="http://127.0.0.1:$client_port" peer="http://127.0.0.1:$peer_port"
  "$@" "${ETCD:-etcd}" --name "$name" --data-dir "$data" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$name=$peer" \
    --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
    >"$data.log" 2>&1 &
  etcd_pid=$!
}
