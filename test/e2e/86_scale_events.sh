# shellcheck shell=bash
# test/e2e/86_scale_events.sh — events of a scale-out cluster (docs/scale-out.md) reach their
# clients: a router (pg_wallet_router) over two data nodes, databases of this cluster; a
# bridge of its own sends the requests to the router and LISTENs on both nodes
# (listen_conninfo, two libpq strings separated by ";"); two users, one on each node,
# connect over socket.io and each receives the event written on its node, and only its own
# (socketio_nodes.js). Calls that carry only an opaque credential reach the node that holds
# it: a refresh token and a Sellapay API key of the second node's principals. A partner's
# signed callback reaches the node that holds the deposit it answers (a partner configured
# once, on the router, which creates it with its secret on both nodes as one change): it
# completes there, replays there, and a reference no node holds is refused as on one node; a
# Daraja STK callback reaches the node of its CheckoutRequestID, a B2C result that of its
# OriginatorConversationID. A transfer between the two users' wallets crosses the nodes
# through the router (two-phase commit between databases of one cluster, each half's
# prepared transaction named with its node). Then the bridge refuses a listen_conninfo of
# more strings than it keeps. The suite's own bridge is restarted afterwards.
SE_N0=pgw_se_n0 SE_N1=pgw_se_n1 SE_RT=pgw_se_router
se_conn() { echo "host=$E2E_DIR port=$PGPORT dbname=$1"; }
se_sql() { local db=$1; shift; "${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d "$db" -tA "$@"; }
se_setup() {
	local db
	for db in "$SE_N0" "$SE_N1" "$SE_RT"; do
		"$PGBIN/createdb" -h "$E2E_DIR" -p "$PGPORT" "$db" || return 1
	done
	for db in "$SE_N0" "$SE_N1"; do
		se_sql "$db" -c 'CREATE EXTENSION pg_wallet CASCADE' >/dev/null || return 1
		se_sql "$db" -v bridge_role=pgwallet_bridge -f "$E2E_ROOT/bridge/bridge_role.sql" \
			>/dev/null || return 1
	done
	se_sql "$SE_RT" -v self="$(se_conn "$SE_RT")" -v n0="$(se_conn "$SE_N0")" \
		-v n1="$(se_conn "$SE_N1")" >/dev/null <<'SQL' || return 1
SET client_min_messages = warning;
CREATE EXTENSION pg_wallet_router CASCADE;
SELECT pg_wallet_router.configure(:'self');
SELECT pg_wallet_router.add_node(0, :'n0');
SELECT pg_wallet_router.add_node(1, :'n1');
SQL
	se_sql "$SE_RT" -v bridge_role=pgwallet_bridge -f "$E2E_ROOT/bridge/bridge_role.sql" \
		>/dev/null || return 1
	se_sql "$SE_RT" -c "SELECT pg_wallet_router.grant_api('pgwallet_bridge')" >/dev/null
}
se_user() { # DB EMAIL PHONE: prints "owner_id token" of a new user on that node
	se_sql "$1" -c "SELECT owner_id FROM pg_wallet.register_user('$2', 'Passw0rd-e2e', 'Node',
		'User', '$3')" | tr '\n' ' '
	se_sql "$1" -c "SELECT access_token FROM pg_wallet.login('$2', 'Passw0rd-e2e', 'tribble')"
}

if se_setup; then
	ok "scale-out: a router over two data nodes"
	read -r SE_OA SE_TA <<<"$(se_user "$SE_N0" node-a@example.com +254700008601)"
	read -r SE_OB SE_TB <<<"$(se_user "$SE_N1" node-b@example.com +254700008602)"
	check "scale-out: the two users' owners are of two nodes (ids name their node)" \
		test "$(se_sql "$SE_RT" -c "SELECT pg_wallet_router.node_of_owner($SE_OA)
			<> pg_wallet_router.node_of_owner($SE_OB)")" = t
	bridge_stop >/dev/null 2>&1
	if bridge_start PGW_BRIDGE_CONNINFO="$(se_conn "$SE_RT") user=pgwallet_bridge" \
		PGW_BRIDGE_LISTEN_CONNINFO="$(se_conn "$SE_N0") user=pgwallet_bridge;
			$(se_conn "$SE_N1") user=pgwallet_bridge"; then
		ok "scale-out: a bridge with two LISTEN connections starts"
		while IFS= read -r line; do
			case $line in
			"ok - "*) ok "${line#ok - }" ;;
			"not ok - "*) not_ok "${line#not ok - }" ;;
			*) echo "# $line" ;;
			esac
		done < <(cd "$E2E_ROOT/test/e2e" && SIO_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT=$PGPORT \
			timeout 60 node socketio_nodes.js "$URL" "$SE_TA" "$SE_N0" "$SE_OA" "$SE_TB" \
			"$SE_N1" "$SE_OB" 2>&1)
		# opaque credentials: the router finds the node that holds their hash
		SE_RT_B=$(se_sql "$SE_N1" -c "SELECT refresh_token FROM pg_wallet.login(
			'node-b@example.com', 'Passw0rd-e2e', 'tribble')")
		req POST /tribble/api/v1/auth/refresh-token "{\"refreshToken\": \"$SE_RT_B\"}"
		expect "scale-out: a refresh token of the second node refreshes through the router" \
			200 '.accessToken | length > 20' '.refreshToken != "'"$SE_RT_B"'"'
		req POST /tribble/api/v1/auth/refresh-token '{"refreshToken": "rt_'"$(printf 'x%.0s' \
			$(seq 43))"'"}'
		expect "scale-out: a refresh token no node holds is refused as on one node (401)" 401
		for db in "$SE_N0" "$SE_N1"; do
			read -r SE_KEY SE_SECRET <<<"$(se_sql "$db" -c "SELECT c.api_key || ' ' ||
				c.api_secret FROM pg_wallet.create_api_credential((pg_wallet.create_principal(
				'merchant', email => 'shop-$db@example.com')).principal_id) c")"
			STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST -H "X-API-KEY: $SE_KEY" \
				-H "X-API-SECRET: $SE_SECRET" -d '{}' "$URL/sellapay/api/v1/authorize")
			expect "scale-out: a Sellapay API key of $db authorizes through the router" 200 \
				'.message == "User authorized"'
		done
		# a partner's callback: the node that holds the deposit it answers
		SE_WH="whsec_$(printf 'pg_wallet e2e: scale-out callbacks' | base64 -w0)"
		# configured once, on the router: the partner and its secret on both nodes as one change
		se_sql "$SE_RT" -c "SELECT pg_wallet.create_partner('Scale sim', 'KE', 'scale_sim',
			'generic_json', 'http://127.0.0.1:9/p/PTN-SE86', ARRAY['KES'], '$URL/partners',
			'$SE_WH', partner_id => 'PTN-SE86')" >/dev/null
		check "scale-out: a partner created on the router is on both nodes" \
			test "$(se_sql "$SE_N0" -c "SELECT count(*) FROM pg_wallet.partners
				WHERE id = 'PTN-SE86'")$(se_sql "$SE_N1" -c "SELECT count(*) FROM pg_wallet.partners
				WHERE id = 'PTN-SE86'")" = 11
		SE_ACC_B=$(se_sql "$SE_N1" -c "SELECT (pg_wallet.create_account($SE_OB, 'KES'))
			.account_number")
		SE_DEP=$(se_sql "$SE_N1" -c "SELECT pg_wallet.deposit_request('$SE_ACC_B', 25,
			partner_id => 'PTN-SE86', phone => '0712000861') ->> 'request_ref'")
		se_callback() { # WEBHOOK_ID REFERENCE: POST a signed deposit.completed of 25.00 KES
			local body ts sig
			body='{"type":"deposit.completed","reference":"'"$2"'","amount":"25.00",'
			body+='"currency":"KES","partner_reference":"SE86-'"$1"'"}'
			ts=$(date +%s)
			sig=$(printf '%s' "$1.$ts.$body" | openssl dgst -sha256 -binary -mac HMAC -macopt \
				"hexkey:$(printf '%s' "${SE_WH#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')" |
				base64 -w0)
			STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
				-H 'Content-Type: application/json' -H "webhook-id: $1" \
				-H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig" \
				--data-binary "$body" "$URL/partners/PTN-SE86/callback")
		}
		se_callback msg_se86_1 "$SE_DEP"
		expect "scale-out: a partner's callback reaches the node of its deposit and completes it" \
			200 '.replayed == false'
		check "scale-out: the deposit is completed on the second node, the wallet credited" \
			test "$(se_sql "$SE_N1" -c "SELECT d.status || ' ' || (pg_wallet.get_balance(
				'$SE_ACC_B')).balance FROM pg_wallet.deposits d
				WHERE d.request_ref = '$SE_DEP'")" = "completed 25.00"
		se_callback msg_se86_1 "$SE_DEP"
		expect "scale-out: the same callback again is answered as replayed by that node" \
			200 '.replayed == true'
		se_callback msg_se86_2 "DEP-NOWHERE-86"
		expect "scale-out: a callback for a reference no node holds is refused as on one node" \
			404
		# Daraja: an STK push's callback names the partner's CheckoutRequestID (recorded from
		# Daraja's answer to the push; set here, no worker serves these databases), in the
		# unguessable URL of the partner configured on both nodes
		se_sql "$SE_RT" -c "SELECT pg_wallet.create_partner('Scale Daraja', 'KE', 'scale_daraja',
			'mpesa_daraja', 'http://127.0.0.1:9/p/PTN-SE86M', ARRAY['KES'], '$URL/partners',
			credentials => '{\"shortcode\": \"174379\", \"passkey\": \"se86\",
				\"consumer_key\": \"k\", \"consumer_secret\": \"s\"}',
			webhook_secret => '$SE_WH', partner_id => 'PTN-SE86M')" >/dev/null
		SE_STK=$(se_sql "$SE_N1" -c "SELECT pg_wallet.request_stk_push('$SE_ACC_B', '712000862',
			30, partner_id => 'PTN-SE86M') ->> 'transaction_id'")
		se_sql "$SE_N1" -c "UPDATE pg_wallet.deposits SET partner_request_id = 'ws_CO_SE86_1'
			WHERE request_ref = '$SE_STK'" >/dev/null
		SE_STK_URL=$(se_sql "$SE_N1" -c "SELECT pg_wallet._mpesa_callback_url(p, s.webhook_secret)
			FROM pg_wallet.partners p JOIN pg_wallet.partner_secrets s ON s.partner_id = p.id
			WHERE p.id = 'PTN-SE86M'")
		STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' --data-binary '{"Body": {"stkCallback": {
				"MerchantRequestID": "se86", "CheckoutRequestID": "ws_CO_SE86_1",
				"ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": [
				{"Name": "Amount", "Value": 30}, {"Name": "MpesaReceiptNumber",
				"Value": "SE86RCPT"}]}}}}' "$SE_STK_URL")
		expect "scale-out: an STK callback reaches the node of its CheckoutRequestID" 200 \
			'.ResultCode == 0' '.replayed == false'
		check "scale-out: the STK push is completed on the second node, the wallet credited" \
			test "$(se_sql "$SE_N1" -c "SELECT d.status || ' ' || (pg_wallet.get_balance(
				'$SE_ACC_B')).balance FROM pg_wallet.deposits d
				WHERE d.request_ref = '$SE_STK'")" = "completed 55.00"
		# and a B2C payout's result, by its OriginatorConversationID (the payout's reference)
		SE_B2C=$(se_sql "$SE_N1" -c "SELECT pg_wallet.send_funds_to_mobile('$SE_ACC_B',
			'712000863', 10, partner_id => 'PTN-SE86M') ->> 'transaction_id'")
		STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' --data-binary '{"Result": {
				"OriginatorConversationID": "'"$SE_B2C"'", "ConversationID": "AG_SE86",
				"TransactionID": "SE86B2C", "ResultCode": 0, "ResultDesc": "ok",
				"ResultParameters": {"ResultParameter": [
				{"Key": "TransactionAmount", "Value": 10}]}}}' "$SE_STK_URL")
		expect "scale-out: a B2C result reaches the node of its payout" 200 '.ResultCode == 0'
		check "scale-out: the payout is completed on the second node" \
			test "$(se_sql "$SE_N1" -c "SELECT status FROM pg_wallet.withdrawals
				WHERE request_ref = '$SE_B2C'")" = completed
		# a transfer between the two users' wallets, across the nodes (databases of one cluster)
		SE_ACC_A=$(se_sql "$SE_RT" -c "SELECT (pg_wallet.create_account($SE_OA, 'KES'))
			.account_number")
		check "scale-out: a transfer across the two nodes through the router posts" \
			test "$(se_sql "$SE_RT" -c "SELECT status FROM pg_wallet.transfer('$SE_ACC_B',
				'$SE_ACC_A', 5, 'se86-x1')")" = POSTED
		check "scale-out: ... the payee credited, nothing left prepared, the clearing nets to zero" \
			test "$(se_sql "$SE_RT" -c "SELECT (pg_wallet.get_balance('$SE_ACC_A')).balance
				|| ' ' || (SELECT count(*) FROM pg_wallet.verify_ledger())")" = "5.00 0"
		check "scale-out: each node's ledger verifies and sums to zero per currency" \
			test "$(for db in "$SE_N0" "$SE_N1"; do se_sql "$db" -c "SELECT
				(SELECT count(*) FROM pg_wallet.verify_ledger()) + (SELECT count(*) FROM (
				SELECT a.currency FROM pg_wallet.entries e
				JOIN pg_wallet.accounts a ON a.id = e.account_id GROUP BY a.currency
				HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0) z)"
			done | tr '\n' ' ')" = "0 0 "
		se_rc=0
		bridge_stop || se_rc=$?
		check "scale-out: its bridge exits 0 on SIGTERM" test "$se_rc" = 0
	else
		not_ok "scale-out: a bridge with two LISTEN connections starts" \
			"$(tail -n 5 "$E2E_DIR/bridge.log")"
	fi
	# more LISTEN strings than the bridge keeps (64): refused at start, naming the setting
	se_many=$(for _ in $(seq 65); do printf "dbname=x;"; done)
	if PGW_BRIDGE_PORT=$(free_port 18900) PGW_BRIDGE_CONNINFO="$(se_conn "$SE_RT")" \
		PGW_BRIDGE_LISTEN_CONNINFO="$se_many" timeout 10 "$E2E_ROOT/bridge/pg_wallet_bridge" \
		>"$E2E_DIR/se_many.log" 2>&1; then
		not_ok "scale-out: 65 LISTEN strings are refused" "$(tail -n 3 "$E2E_DIR/se_many.log")"
	else
		check "scale-out: 65 LISTEN strings are refused, naming listen_conninfo" \
			grep -q "listen_conninfo" "$E2E_DIR/se_many.log"
	fi
	if ! bridge_start; then
		not_ok "scale-out: the suite's bridge starts again"
	fi
else
	not_ok "scale-out: a router over two data nodes" "$(tail -n 5 "$E2E_DIR/postgres.log")"
fi
unset SE_N0 SE_N1 SE_RT SE_OA SE_TA SE_OB SE_TB SE_RT_B SE_KEY SE_SECRET se_rc se_many line db
unset SE_WH SE_ACC_A SE_ACC_B SE_DEP SE_STK SE_STK_URL SE_B2C
unset -f se_conn se_sql se_setup se_user se_callback
