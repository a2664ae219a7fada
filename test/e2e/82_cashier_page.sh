# shellcheck shell=bash
# test/e2e/82_cashier_page.sh — the cashier web page (issue 17: bridge/cashier_page, served by
# bridge/static.c at /cashier/) in a real browser: Debian's Chromium driven by playwright-core
# (cashier_page.js). Sourced by test/e2e/run.
#
# Every stage: the page's three files are served with their types and the page's
# Content-Security-Policy, and nothing else under /cashier/ is. The plain stage only (as
# 80_docs.sh: the valgrind and asan stages check the bridge's side of the same requests
# elsewhere): a bridge of this file's own (the suite's runs with a 3 s idle timeout and 30
# messages a minute, too tight for a person's page), users made through SQL (A with a funded
# KES wallet, B whom A pays, T with TOTP enabled), a partner for deposits and payouts played
# by the partner simulator, then cashier_page.js, whose "ok"/"not ok" lines become checks.
# Screenshots: $E2E_DIR/screenshots/cashier-*.png.

cp_get() { # cp_get PATH: STATUS, body and headers as req does
	STATUS=$(curl -s --path-as-is -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' \
		"$URL$1")
}

cp_get /cashier/
check "cashier page: /cashier/ is the page (HTML)" \
	test "$STATUS" = 200 -a "$(header Content-Type)" = "text/html; charset=utf-8"
CP_CSP=$(header Content-Security-Policy)
if [[ $CP_CSP == "default-src 'none';"* && $CP_CSP == *"script-src 'self';"* &&
	$CP_CSP == *"style-src 'self';"* && $CP_CSP == *"connect-src 'self'"* &&
	$CP_CSP != *unsafe-* ]]; then
	ok "cashier page: its policy allows its own script, style and connections only"
else
	not_ok "cashier page: its policy allows its own script, style and connections only" "$CP_CSP"
fi
check "cashier page: the page is the file on disk" \
	cmp -s "$E2E_DIR/body" "$E2E_ROOT/bridge/cashier_page/index.html"
check "cashier page: no inline script or style in the page" \
	bash -c "! grep -Eiq '<script>|<script [^>]*>[^<]|<style|style=| on[a-z]+=' '$E2E_DIR/body'"
for f in cashier.js:text/javascript cashier.css:text/css; do
	cp_get "/cashier/${f%%:*}"
	check "cashier page: /cashier/${f%%:*} is served as ${f#*:}" \
		test "$STATUS" = 200 -a "$(header Content-Type)" = "${f#*:}; charset=utf-8"
	check "cashier page: /cashier/${f%%:*} is the file on disk" \
		cmp -s "$E2E_DIR/body" "$E2E_ROOT/bridge/cashier_page/${f%%:*}"
done
for p in /cashier/index.html /cashier/nope.js /cashier/../Makefile /cashier/svc/ /cashier; do
	cp_get "$p"
	check "cashier page: $p is 404" test "$STATUS" = 404
done

if [ "${E2E_VALGRIND:-0}" = 0 ] && [ "${E2E_ASAN:-0}" = 0 ]; then
	# --- the people and the money
	read -r CP_A _ CP_AACC <<<"$(wallet_user cashier-page-a@example.com +254700000820)"
	read -r CP_B _ CP_BACC <<<"$(wallet_user cashier-page-b@example.com +254700000821)"
	read -r CP_T _ CP_TACC <<<"$(wallet_user cashier-page-t@example.com +254700000822)"
	# A's wallet gets twelve credits of 100 (two pages of history), B's and T's one
	for i in $(seq 1 12); do
		sql -c "SELECT pg_wallet.credit('$CP_AACC', 100, 'SYS-SUSPENSE-KES', 'e2e-cp-a-$i',
			'Top-up $i')" >/dev/null
	done
	sql -c "SELECT pg_wallet.credit('$CP_BACC', 100, 'SYS-SUSPENSE-KES', 'e2e-cp-b')" \
		-c "SELECT pg_wallet.credit('$CP_TACC', 40, 'SYS-SUSPENSE-KES', 'e2e-cp-t')" >/dev/null
	# a transfer fee, so that "amount + fee" means something (switched off at the end)
	CP_FEE=$(sql -c "SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 2.5,
		currency => 'KES', description => 'e2e 82 cashier page')")
	# T enables TOTP (confirmed with the previous step's code: the page's sign-in uses a later one)
	CP_T_B32=$(sql -c "SELECT secret FROM pg_wallet.totp_enroll((pg_wallet.login(
		'cashier-page-t@example.com', 'Passw0rd-e2e', 'cashier')).access_token)")
	sql -c "SELECT status FROM pg_wallet.totp_confirm((pg_wallet.login(
		'cashier-page-t@example.com', 'Passw0rd-e2e', 'cashier')).access_token,
		pg_wallet.totp_at(pg_wallet.base32_decode('$CP_T_B32'),
			floor(extract(epoch FROM now()))::bigint - 30))" >/dev/null

	# --- a partner for deposits and payouts: the simulator accepts and never calls back (a
	# phone ending in 09); the test completes the deposit itself while the page is open
	CP_SIM_SECRET='whsec_cGdfd2FsbGV0IGUyZSBjYXNoaWVyIHBhZ2Ugc2ltIQ=='
	SIM_DB=pgwallet python3 "$E2E_ROOT/test/partner_sim.py" start "$E2E_DIR/cp-sim" \
		--secret "$CP_SIM_SECRET" --db pgwallet
	CP_SIM_PORT=$(python3 "$E2E_ROOT/test/partner_sim.py" port "$E2E_DIR/cp-sim")
	sql -c "SELECT pg_wallet.create_partner('Page Pay', 'KE', 'mpesa', 'generic_json',
		'http://127.0.0.1:$CP_SIM_PORT/p/PTN-CPAGE', ARRAY['KES'], 'https://bridge.example/cb',
		'$CP_SIM_SECRET', partner_id => 'PTN-CPAGE')" >/dev/null

	# --- a bridge of this file's own: a person's pace (60 s idle timeout, 100 messages a minute)
	CP_MAIN_URL=$URL
	CP_MAIN_PID=$BRIDGE_PID
	if bridge_start PGW_BRIDGE_WS_IDLE_TIMEOUT_MS=60000 PGW_BRIDGE_WS_RATE_PER_MIN=100; then
		export CP_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet \
			CP_A CP_AACC CP_B CP_BACC CP_T CP_TACC CP_T_B32 \
			CP_A_EMAIL=cashier-page-a@example.com CP_T_EMAIL=cashier-page-t@example.com \
			CP_PASSWORD=Passw0rd-e2e CP_PARTNER=PTN-CPAGE
		: >"$E2E_DIR/body" # not_ok shows the last reply's body: none of this file's
		while IFS= read -r line; do
			case $line in
			"ok - "*) ok "cashier page: ${line#ok - }" ;;
			"not ok - "*) not_ok "cashier page: ${line#not ok - }" ;;
			*) echo "# $line" ;;
			esac
		done < <(cd "$E2E_ROOT/test/e2e" && NODE_PATH=/usr/share/nodejs timeout 300 \
			node cashier_page.js "$URL" "$E2E_DIR/screenshots" 2>&1)
		bridge_stop >/dev/null 2>&1
	else
		not_ok "cashier page: a bridge for the page starts"
	fi
	URL=$CP_MAIN_URL
	BRIDGE_PID=$CP_MAIN_PID
	python3 "$E2E_ROOT/test/partner_sim.py" stop "$E2E_DIR/cp-sim"
	sql -c "SELECT pg_wallet.set_fee_schedule_active($CP_FEE, false)" >/dev/null
	check "cashier page: after the page's payments the ledger is consistent" \
		test "$(sql -c 'SELECT count(*) FROM pg_wallet.verify_ledger()')" = 0
	unset CP_A CP_AACC CP_B CP_BACC CP_T CP_TACC CP_T_B32 CP_FEE CP_SIM_SECRET CP_SIM_PORT \
		CP_MAIN_URL CP_MAIN_PID CP_A_EMAIL CP_T_EMAIL CP_PASSWORD CP_PARTNER CP_PSQL
fi
unset CP_CSP
unset -f cp_get
