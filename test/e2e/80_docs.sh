# 80_docs.sh — /docs/ (issue 17): the API documents and their renderers as static files of
# the bridge (bridge/static.c), from docs_dir (lib.sh's bridge_start: the repository's
# docs/api). Sourced by test/e2e/run.

static_get() { # static_get PATH: sets STATUS, body and headers as req does
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' "$URL$1")
}

static_get /docs/
check "docs: /docs/ is the index page" \
	test "$STATUS" = 200 -a "$(header Content-Type)" = "text/html; charset=utf-8"
csp=$(header Content-Security-Policy)
if [[ $csp == *"script-src 'self';"* && $csp != *unsafe-eval* && $csp == "default-src 'none';"* ]]
then ok "docs: the pages' policy runs scripts of their own origin only"
else not_ok "docs: the pages' policy runs scripts of their own origin only" "$csp"; fi
check "docs: no type sniffing" test "$(header X-Content-Type-Options)" = nosniff

for doc in openapi/tribble openapi/waas openapi/sellapay openapi/partners openapi/cashier \
	asyncapi/cashier asyncapi/socketio; do
	static_get "/docs/$doc.json"
	check "docs: /docs/$doc.json is served as JSON" \
		test "$STATUS" = 200 -a "$(header Content-Type)" = application/json
	kind=${doc%%/*}
	check "docs: /docs/$doc.json is the ${kind} document on disk" \
		cmp -s "$E2E_DIR/body" "$E2E_ROOT/docs/api/$doc.json"
done
static_get /docs/openapi/tribble.json
check "docs: tribble.json is OpenAPI 3.1 served under the Tribble base path" \
	jq -e '.openapi == "3.1.0" and .servers[0].url == "/tribble/api/v1"' "$E2E_DIR/body" >/dev/null

# a path that is not in the table is 404, whatever it names (no file is ever looked up by it)
for p in /docs/nope.html /docs/../Makefile /docs/%2e%2e/Makefile /docs/openapi/../../Makefile \
	/docs/index.html/ /docs/openapi/tribble.json.bak /docs; do
	static_get "$p"
	check "docs: $p is 404" test "$STATUS" = 404
done
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$URL/docs/openapi/waas.json")
check "docs: POST to a document is 404" test "$STATUS" = 404

# the pages in Chromium: rendered, no console error (only in the plain e2e stage: the
# valgrind and asan stages check the bridge's side of the same requests above)
if [ "${E2E_VALGRIND:-0}" = 0 ] && [ "${E2E_ASAN:-0}" = 0 ]; then
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "docs page: ${line#ok - }" ;;
		"not ok - "*) not_ok "docs page: ${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done < <(cd "$E2E_ROOT/test/e2e" && timeout 300 node docs_pages.js "$URL" \
		"$E2E_DIR/screenshots" 2>&1)
fi
