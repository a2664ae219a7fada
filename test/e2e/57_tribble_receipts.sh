# shellcheck shell=bash
# test/e2e/57_tribble_receipts.sh — receipts over the bridge (issue 13, tribble-rest-api.md
# "Receipts", docs/receipts.md): a transfer's receipt for the payer and the payee (one
# receipt, signed; the signature verifies with pg_wallet.receipt_verify and fails for a changed
# document), its URL served without a bearer as a PDF (rendered with pdftoppm, read back with
# pdftotext) and as an HTML page (escaped, with a CSP), a wrong token or another user's
# transaction a 404, bad formats a 400 naming the field, generate in a format, and by email
# through the outbox once an email partner exists (422 before). No money moves but the
# transfer; the ledger verifies.
T=/tribble/api/v1
# the tier-0 users below make more than one request a second: limits raised, restored at the end
sql -c "CREATE TABLE public.e2e57_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null

read -r RU_A RO_A RACC_A <<<"$(wallet_user rcpt-a@example.com +254700000571)"
read -r RU_B RO_B RACC_B <<<"$(wallet_user rcpt-b@example.com +254700000572)"
read -r RU_C RO_C RACC_C <<<"$(wallet_user rcpt-c@example.com +254700000573)"
sql -c "SELECT pg_wallet.credit('$RACC_A', 500, 'SYS-SUSPENSE-KES', 'e2e-rcpt-fund')" >/dev/null
RCPT=$(sql -c "SELECT receipt_code FROM pg_wallet.transfer('$RACC_A', '$RACC_B', 120.50,
	'e2e-rcpt-1', 'Order <b>#42</b> & more')")
check "the receipt users exist and A paid B" test -n "$RU_A" -a -n "$RO_C" -a -n "$RCPT"
rcpt_login() { # EMAIL: a Tribble access token
	req POST $T/auth/login '{"email": "'"$1"'", "password": "Passw0rd-e2e"}'
	field .accessToken
}
TA=$(rcpt_login rcpt-a@example.com)
TB=$(rcpt_login rcpt-b@example.com)
TC=$(rcpt_login rcpt-c@example.com)

req GET "$T/transactions/$RCPT/receipt" '' "$TA"
expect "GET /transactions/:id/receipt: the payer's receipt, pdf by default (200)" 200 \
	'.receiptId | test("^rcpt-[0-9a-f]{32}$")' ".transactionId == \"$RCPT\"" \
	'.format == "pdf"' \
	'.url | test("^http://[^/]+/tribble/api/v1/receipts/rcpt-[0-9a-f]{32}\\.pdf\\?token=.{22}$")' \
	'.digitalSignature | test("^v1\\.[0-9]+\\.[A-Za-z0-9_-]{43}$")' \
	'.createdAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' \
	'.expiresAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' '.receipt == null'
RID=$(field .receiptId)
PDF_URL=$(field .url)
req GET "$T/transactions/$RCPT/receipt" '' "$TB"
expect "... the payee gets the same receipt" 200 ".receiptId == \"$RID\""
req GET "$T/transactions/$RCPT/receipt?format=json" '' "$TA"
expect "... format=json adds the signed document" 200 '.format == "json"' \
	".receipt.receiptId == \"$RID\"" ".receipt.transactionId == \"$RCPT\"" \
	'.receipt.amount == 120.50' '.receipt.currency == "KES"' '.receipt.fee == 0' \
	".receipt.to == \"****${RACC_B: -4}\"" ".receipt.from == \"****${RACC_A: -4}\"" \
	'.receipt.status == "COMPLETED"' '.url | test("\\.html\\?token=")'
DOC=$(jq -c .receipt "$E2E_DIR/body")
check "... the signed document: receipt_verify says true, and false for a changed amount" \
	test "$(sql -c "SELECT r.document = '$DOC'::jsonb
		AND pg_wallet.receipt_verify('$DOC'::jsonb, '$(field .digitalSignature)')
		AND NOT pg_wallet.receipt_verify(jsonb_set('$DOC'::jsonb, '{amount}', '1200.50'),
			'$(field .digitalSignature)')
		FROM pg_wallet.receipts r WHERE r.receipt_id = '$RID'")" = t

STATUS=$(curl -s -o "$E2E_DIR/receipt.pdf" -D "$E2E_DIR/headers" -w '%{http_code}' "$PDF_URL")
check "the receipt URL serves a PDF without a bearer" test "$STATUS $(header content-type)" = \
	"200 application/pdf"
pdftotext -layout "$E2E_DIR/receipt.pdf" "$E2E_DIR/receipt.txt" 2>/dev/null
# rendered as a person sees it (poppler's pdftoppm, 50 dpi grey): a page with ink on it
inked() {
	pdftoppm -gray -r 50 -singlefile "$E2E_DIR/receipt.pdf" "$E2E_DIR/receipt" 2>/dev/null &&
		python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
# P5 header: magic, width, height, maxval, then one byte per pixel
parts = data.split(maxsplit=4)
w, h, pixels = int(parts[1]), int(parts[2]), parts[4]
dark = sum(1 for b in pixels if b < 128)
sys.exit(0 if w > 100 and h > 100 and 0.001 < dark / (w * h) < 0.5 else 1)
' "$E2E_DIR/receipt.pgm"
}
check "... pdftoppm renders it: a page with text inked on it" inked
check "... pdftotext reads the receipt id, the transaction, the amount and the payee" \
	grep -q "$RID" "$E2E_DIR/receipt.txt"
check "... (transaction, amount, masked payee, description)" test "$(grep -c \
	-e "$RCPT" -e '120.50 KES' -e "\*\*\*\*${RACC_B: -4}" -e 'Order <b>#42</b> & more' \
	"$E2E_DIR/receipt.txt")" = 4
check "... the card-less receipt never shows a whole account number" \
	test "$(grep -c -e "$RACC_A" -e "$RACC_B" "$E2E_DIR/receipt.txt")" = 0
req GET "$T/transactions/$RCPT/receipt?format=html" '' "$TA"
expect "format=html: the URL of the HTML page" 200 '.format == "html"' \
	'.url | test("\\.html\\?token=")'
STATUS=$(curl -s -o "$E2E_DIR/receipt.html" -D "$E2E_DIR/headers" -w '%{http_code}' \
	"$(field .url)")
check "... served as HTML with a CSP that allows no script" test "$STATUS $(header \
	content-type) $(header content-security-policy)" = \
	"200 text/html; charset=utf-8 default-src 'none'; style-src 'unsafe-inline'"
check "... the description is escaped, the receipt id and amount shown" test "$(grep -c \
	-e 'Order &lt;b&gt;#42&lt;/b&gt; &amp; more' -e "$RID" -e '120.50 KES' \
	"$E2E_DIR/receipt.html") $(grep -c '<b>#42' "$E2E_DIR/receipt.html")" = "3 0"
req GET "$T/receipts/$RID.pdf?token=AAAAAAAAAAAAAAAAAAAAAA"
expect "a wrong token is 404 NOT_FOUND" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/receipts/rcpt-00000000000000000000000000000000.pdf?token=${PDF_URL##*token=}"
expect "another receipt id with this token is 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/receipts/$RID.pdf"
expect "no token is 404" 404 '.errorCode == "NOT_FOUND"'

req GET "$T/transactions/$RCPT/receipt" '' "$TC"
expect "another user cannot read the receipt: 404" 404 '.errorCode == "NOT_FOUND"'
req POST "$T/transactions/$RCPT/receipt/generate" '{"format": "html"}' "$TC"
expect "... nor generate it: 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/transactions/RCP-2020-000000000000000001/receipt" '' "$TA"
expect "an unknown transaction is 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/transactions/$RCPT/receipt?format=xml" '' "$TA"
expect "format=xml is 400 naming format" 400 '.errorCode == "INVALID_REQUEST"' \
	'.details.field == "format"'
req GET "$T/transactions/$RCPT/receipt"
expect "no bearer is 401" 401 '.errorCode == "UNAUTHORIZED"'

req POST "$T/transactions/$RCPT/receipt/generate" '{"format": "pdf"}' "$TB"
expect "POST .../receipt/generate pdf: 201 GENERATED with the URL" 201 \
	".receiptId == \"$RID\"" '.format == "pdf"' '.status == "GENERATED"' \
	'.url | test("\\.pdf\\?token=")'
req POST "$T/transactions/$RCPT/receipt/generate" \
	'{"format": "email", "recipient": "payer@example.com"}' "$TA"
expect "... email without an email partner: 422 UNPROCESSABLE_ENTITY" 422 \
	'.errorCode == "UNPROCESSABLE_ENTITY"'
req POST "$T/transactions/$RCPT/receipt/generate" '{"format": "email"}' "$TA"
expect "... email without a recipient: 400 naming it" 400 '.details.field == "recipient"'
req POST "$T/transactions/$RCPT/receipt/generate" \
	'{"format": "email", "recipient": "not an address"}' "$TA"
expect "... a recipient that is not an address: 400 naming it" 400 \
	'.details.field == "recipient"'
req POST "$T/transactions/$RCPT/receipt/generate" '{"format": "fax"}' "$TA"
expect "... format fax: 400 naming format" 400 '.details.field == "format"'
EMAIL_PTN=$(sql -c "SELECT (pg_wallet.create_partner('e2e mail', 'KE', 'email', 'generic_json',
	'http://127.0.0.1:9', ARRAY['KES'], partner_id => 'PTN-e2e-mail')).id")
req POST "$T/transactions/$RCPT/receipt/generate" \
	'{"format": "email", "recipient": "Payer@Example.com"}' "$TA"
expect "... with an email partner: 201 SENT to the recipient" 201 ".receiptId == \"$RID\"" \
	'.format == "email"' '.status == "SENT"' '.recipient == "payer@example.com"' \
	'.sentAt | test("Z$")' '.message == "Receipt sent successfully"'
check "... queued in the outbox for the email partner, with the receipt's link" test "$(sql -c \
	"SELECT count(*) FROM pg_wallet.outbox WHERE partner_id = '$EMAIL_PTN'
		AND kind = 'receipt_email' AND subject_ref = '$RID'
		AND body ->> 'to' = 'payer@example.com'
		AND body ->> 'url' LIKE '%/receipts/$RID.html?token=%'")" = 1
sql -c "SELECT pg_wallet.outbox_cancel(id) FROM pg_wallet.outbox WHERE partner_id = '$EMAIL_PTN'" \
	-c "UPDATE pg_wallet.partners SET status = 'inactive' WHERE id = '$EMAIL_PTN'" >/dev/null

check "the receipts test leaves the ledger verified" test "$(sql -c \
	"SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the receipts test" test -z "$(sql -c "
	SELECT a.currency FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0")"
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e57_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e57_rate_limits" >/dev/null
