# shellcheck shell=bash
# test/e2e/46_tribble_account.sh — the rest of Tribble's account endpoints (issue 16) with
# curl: POST /auth/submit-kyc (a document by reference, then kyc-status shows it pending and
# an operator's review approves it), PUT /users/profile, POST /users/change-password (the
# current password required; every other session and its refresh token revoked, this one
# kept; one account:password_changed event, written only by the change that succeeded),
# each error in the Tribble format. Sourced by test/e2e/run after 45_tribble (ERRFMT).
T=/tribble/api/v1
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
	per_day = 1000000" >/dev/null
req POST $T/auth/register '{"email": "tribble-k@example.com", "password": "SecurePassword123!",
	"firstName": "Kay", "lastName": "Doe", "phoneNumber": "+254700000211"}'
TU_K=$(field .userId)
login_k() { # PASSWORD: sets TK (access token) and TRK (refresh token)
	req POST $T/auth/login '{"email": "tribble-k@example.com", "password": "'"$1"'"}'
	TK=$(field .accessToken)
	TRK=$(field .refreshToken)
}
login_k SecurePassword123!
TK1=$TK
login_k SecurePassword123!
TK2=$TK TRK2=$TRK

# --- submit-kyc ---
SHA=$(printf 'kyc document of K' | sha256sum | cut -c1-64)
req POST $T/auth/submit-kyc '{"documentType": "national_id", "document": {"reference":
	"kyc-store://k/national_id.pdf", "sha256": "'"$SHA"'"}, "ocr": {"firstName": "Kay",
	"lastName": "Doe", "idNumber": "12345678"}}' "$TK1"
expect "submit-kyc records a document by reference (200 SUBMITTED)" 200 \
	'.submissionId | test("^kyc-submission-")' '.status == "SUBMITTED"' \
	'.documentsSubmitted == 1' '.estimatedReviewTime == "2-3 days"' \
	'.message == "KYC documents submitted successfully"'
req GET $T/auth/kyc-status '' "$TK1"
expect "kyc-status shows the document pending review" 200 '.kycStatus == "SUBMITTED"' \
	'.documents[0].documentType == "national_id"' '.documents[0].status == "PENDING_REVIEW"'
req POST $T/auth/submit-kyc '{"documentType": "national_id"}' "$TK1"
expect "submit-kyc without the document is 400 naming it" 400 '.details.field == "document"' \
	"$ERRFMT"
req POST $T/auth/submit-kyc '{"documentType": "horoscope", "document": {"reference": "x",
	"sha256": "'"$SHA"'"}}' "$TK1"
expect "submit-kyc of an unknown document type is 400 naming documentType" 400 \
	'.errorCode == "INVALID_REQUEST"' '.details.field == "documentType"'
req POST $T/auth/submit-kyc '{"documentType": "passport", "document": {"reference": "x",
	"sha256": "'"$SHA"'"}}'
expect "submit-kyc without a token is 401" 401 '.statusCode == 401' "$ERRFMT"
sql -c "SELECT pg_wallet.create_principal('admin', 'kyc-admin-46@example.com',
	password => 'AdminPass46')" >/dev/null
ADMIN_T=$(sql -c "SELECT access_token FROM pg_wallet.login('kyc-admin-46@example.com',
	'AdminPass46')")
sql -c "SELECT pg_wallet.kyc_review('$ADMIN_T', '$TU_K', 'APPROVE', 1)" >/dev/null
req GET $T/auth/kyc-status '' "$TK1"
expect "after the operator's review kyc-status is APPROVED at tier 1" 200 \
	'.kycStatus == "APPROVED"' '.kycTier == 1'

# --- PUT /users/profile ---
req PUT $T/users/profile '{"firstName": "Kaye", "phoneNumber": "0712000211"}' "$TK1"
expect "PUT /users/profile updates (200)" 200 '.userId == "'"$TU_K"'"' \
	'.message == "Profile updated successfully"' '.updatedAt | test("Z$")'
req GET $T/users/profile '' "$TK1"
expect "the profile shows the new name and the phone in E.164, the rest kept" 200 \
	'.firstName == "Kaye"' '.lastName == "Doe"' '.phoneNumber == "+254712000211"'
req PUT $T/users/profile '{"lastName": 7}' "$TK1"
expect "a lastName that is not a string is 400 naming it" 400 '.details.field == "lastName"' \
	"$ERRFMT"
req PUT $T/users/profile '{"phoneNumber": "call me"}' "$TK1"
expect "a bad phone number is 400" 400 '.errorCode == "INVALID_REQUEST"'
req PUT $T/users/profile '{}' "$TK1"
expect "an empty update is 400" 400 '.errorCode == "INVALID_REQUEST"'
req PUT $T/users/profile '{"firstName": "Mallory"}'
expect "PUT /users/profile without a token is 401" 401 '.statusCode == 401'

# --- POST /users/change-password ---
req POST $T/users/change-password '{"currentPassword": "Wrong-pass-1", "newPassword":
	"NewPassword456!"}' "$TK1"
expect "a wrong current password is 401" 401 '.errorCode == "UNAUTHORIZED"' "$ERRFMT"
req POST $T/users/change-password '{"currentPassword": "SecurePassword123!", "newPassword":
	"weak"}' "$TK1"
expect "a weak new password is 400 naming newPassword" 400 '.statusCode == 400' "$ERRFMT" \
	'.details.field == "newPassword"'
req POST $T/users/change-password '{"newPassword": "NewPassword456!"}' "$TK1"
expect "without currentPassword is 400 naming it" 400 '.details.field == "currentPassword"'
req POST $T/users/change-password '{"currentPassword": "SecurePassword123!", "newPassword":
	"NewPassword456!"}' "$TK1"
expect "change-password with the current password (200)" 200 \
	'.message == "Password changed successfully"'
PWEV=$(sql -c "SELECT count(*) || ' ' || max(e.payload ->> 'sessionsRevoked') || ' '
	|| bool_and(e.payload::text !~* 'password[0-9]|scrypt')
	FROM pg_wallet.events e JOIN pg_wallet.principals p ON p.owner_id = e.owner_id
	WHERE p.id = '$TU_K' AND e.event_type = 'account:password_changed'")
check "... is one account:password_changed event (a session revoked, no secret in it): $PWEV" \
	test "$PWEV" = "1 1 true"
req GET $T/users/profile '' "$TK1"
expect "the session that changed it goes on" 200 '.userId == "'"$TU_K"'"'
req GET $T/users/profile '' "$TK2"
expect "every other session is revoked (401)" 401 '.statusCode == 401'
req POST $T/auth/refresh-token '{"refreshToken": "'"$TRK2"'"}'
expect "... and its refresh token too (401)" 401 '.statusCode == 401'
req POST $T/auth/login '{"email": "tribble-k@example.com", "password": "SecurePassword123!"}'
expect "the old password no longer logs in" 401 '.errorCode == "UNAUTHORIZED"'
login_k NewPassword456!
check "the new password logs in" test -n "$TK"
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1, per_hour = 100, per_day = 1000
	WHERE kyc_tier = 0" >/dev/null
