# shellcheck shell=bash
# test/e2e/40_restart.sh — the database goes away while the bridge runs: requests fail fast
# with 503, /healthz says so, and when the server is back the pool reconnects by itself.
W=/waas/api/v1

# pool_ready_metric SECONDS: until /metrics reports all 3 pool connections ready. /healthz is
# ok as soon as one is back; the others follow after their backoff (later under valgrind).
pool_ready_metric() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		req GET /metrics
		grep -q '^pgw_bridge_pool_connections{state="ready"} 3$' "$E2E_DIR/body" && return 0
		sleep 0.1
	done
	return 1
}

"$PGBIN/pg_ctl" -D "$E2E_DIR/data" -m fast -w stop >/dev/null
for _ in $(seq 50); do
	req GET /healthz
	[ "$STATUS" = 503 ] && break
	sleep 0.1
done
expect "/healthz is 503 while the database is down" 503 '.status == "unavailable"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 5 r-1)" "$TOKEN_A"
expect "a request while the database is down is 503" 503 '.error.code == "SERVICE_UNAVAILABLE"'
pg_start
check "the pool reconnects after the restart" wait_healthy 30
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 5 r-2)" "$TOKEN_A"
expect "requests succeed again after the restart" 201 '.current_balance == "995.0000"'
check "/metrics shows the pool ready again" pool_ready_metric 30
