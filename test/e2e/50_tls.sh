# shellcheck shell=bash
# test/e2e/50_tls.sh — optional TLS: a second bridge with a self-signed certificate.
MAIN_URL=$URL
MAIN_PID=$BRIDGE_PID
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$E2E_DIR/tls.key" -out "$E2E_DIR/tls.crt" >/dev/null 2>&1
URL_SCHEME=https bridge_start PGW_BRIDGE_TLS_CERT="$E2E_DIR/tls.crt" \
	PGW_BRIDGE_TLS_KEY="$E2E_DIR/tls.key"
req GET /healthz
expect "the bridge serves HTTPS with tls_cert and tls_key" 200 '.status == "ok"'
check "the HTTPS URL is https" test "${URL%%:*}" = https
req POST /waas/api/v1/auth/login '{"username": "tenant_a", "password": "Tenant-pass1"}'
expect "WaaS login over HTTPS" 200 '.token_type == "Bearer"'
rc=0
bridge_stop || rc=$?
check "the TLS bridge exits 0 on SIGTERM" test "$rc" = 0
URL=$MAIN_URL
BRIDGE_PID=$MAIN_PID
