#!/bin/sh
# scripts/errors.sh — everything made from src/errors.tsv, the one list of the wallet's own
# SQLSTATEs (class WL), and the check that the sources raise no other.
#
#   scripts/errors.sh c-header LIST       the extension's ERRCODE_WALLET_* defines (stdout)
#   scripts/errors.sh bridge-header LIST  the bridge's per-profile StatusMap entries, the
#                                         Tribble errorCode names and each code's public name
#                                         and meaning (stdout)
#   scripts/errors.sh docs LIST           docs/errors.md (stdout)
#   scripts/errors.sh check [REPO]        the errors stage of scripts/test: every code the
#                                         sources use is listed, every listed code is raised
#                                         somewhere and has a status in every profile, and
#                                         docs/errors.md is up to date. Prints "not ok - ..."
#                                         lines, then "errors: N passed, M failed".
#
# Owns: the format of the list and of what is made from it. Must never decide a status or a
# name: those are written in the list only. POSIX sh and awk (mawk) only: it runs at build time,
# where python or gawk may be missing. A malformed list fails every generator (exit 1).
set -eu

PROFILES="waas sellapay tribble cashier"

# The Tribble spec's errorCode names (tribble-rest-api.md, "Common Error Codes") with their
# statuses, plus the two the bridge uses for 503 and 504; a row's name must be listed here
# with the row's Tribble status.
TRIBBLE_CODES="INVALID_REQUEST:400 UNAUTHORIZED:401 FORBIDDEN:403 NOT_FOUND:404 CONFLICT:409
UNPROCESSABLE_ENTITY:422 RATE_LIMITED:429 INSUFFICIENT_FUNDS:402 TRANSACTION_FAILED:400
FRAUD_BLOCK:403 KYC_INCOMPLETE:403 MERCHANT_INACTIVE:403 SUBSCRIPTION_ACTIVE:409
DISPUTE_EXPIRED:400 INTERNAL_SERVER_ERROR:500 SERVICE_UNAVAILABLE:503 GATEWAY_TIMEOUT:504"

die() {
	echo "errors.sh: $*" >&2
	exit 1
}

# rows LIST: each data row as "ROW<TAB>fields...", each malformed one as
# "BAD<TAB>code<TAB>name<TAB>LIST:line: reason" (comments and the header line skipped).
# mawk: no regex intervals ({3}), no gensub.
rows() {
	[ -r "$1" ] || die "cannot read $1"
	awk -F '\t' -v list="$1" -v codes="$TRIBBLE_CODES" '
		BEGIN {
			n = split(codes, c, /[ \n]+/)
			for (i = 1; i <= n; i++) { split(c[i], kv, ":"); spec[kv[1]] = kv[2] }
			want = "code\tname\tlayer\twaas\tsellapay\ttribble\tcashier\ttribble_code\tmessage"
			layers = " core rules identity partners payments api "
			split("- - - waas sellapay tribble cashier", profile, " ")
		}
		/^#/ || /^[ \t]*$/ { next }
		!header {
			header = 1
			if ($0 != want) bad("-", "the header line is not: " want)
			next
		}
		{ check_row() }
		function bad(code, why) { printf "BAD\t%s\t%s\t%s:%d: %s\n", code, $2, list, NR, why }
		function check_row(   why, i) {
			why = ""
			if (NF != 9) why = "has " NF " fields, not 9"
			else if ($1 !~ /^WL[0-9][0-9][0-9]$/) why = "code is not WL followed by 3 digits"
			else if ($1 in seen) why = "code listed twice"
			else if (last != "" && $1 < last) why = "codes out of order (after " last ")"
			else if ($2 !~ /^[A-Z0-9][A-Z0-9_]*$/) why = "name is not upper case"
			else if ($2 in names) why = "name " $2 " already used by " names[$2]
			else if (index(layers, " " $3 " ") == 0) why = "layer " $3 " is not one of" layers
			else if ($8 !~ /^[A-Z_]+$/ || !($8 in spec) || spec[$8] != $6)
				why = "tribble_code " $8 " is not the spec name of a " $6
			else if ($9 == "" || index($9, "|") > 0) why = "message is empty or has a |"
			for (i = 4; i <= 7 && why == "" && NF == 9; i++)
				if ($i !~ /^[1-5][0-9][0-9]$/) why = "no HTTP status for the " profile[i] " profile"
			if (NF >= 1) { seen[$1] = 1; last = $1 }
			if (NF >= 2 && why == "") names[$2] = $1
			if (why != "") bad($1, why)
			else print "ROW\t" $0
		}
		END { if (!header) bad("-", "no header line") }' "$1"
}

# good_rows LIST: the rows without the ROW tag, or exit 1 when the list is malformed; run it
# as ROWS=$(good_rows LIST) || exit 1, never in a pipeline (its failure would be lost there)
good_rows() {
	out=$(rows "$1") || exit 1
	if printf '%s\n' "$out" | grep -q '^BAD'; then
		printf '%s\n' "$out" | awk -F '\t' '$1 == "BAD" { print "errors.sh: " $4 }' >&2
		exit 1
	fi
	printf '%s\n' "$out" | sed 's/^ROW\t//'
}

c_header() {
	ROWS=$(good_rows "$1") || exit 1
	printf '%s\n' "$ROWS" | awk -F '\t' -v list="$1" '
		BEGIN {
			print "/* Generated from " list " by scripts/errors.sh: do not edit. */"
			print "#ifndef PG_WALLET_ERRORS_H"
			print "#define PG_WALLET_ERRORS_H"
			print ""
			print "/* The wallet'"'"'s own SQLSTATEs, class WL (docs/errors.md); never renumber one. */"
		}
		{
			printf "#define ERRCODE_WALLET_%s MAKE_SQLSTATE('"'"'W'"'"','"'"'L'"'"',", $2
			printf "'"'"'%s'"'"','"'"'%s'"'"','"'"'%s'"'"')\n",
				substr($1, 3, 1), substr($1, 4, 1), substr($1, 5, 1)
		}
		END { print ""; print "#endif" }'
}

bridge_header() {
	ROWS=$(good_rows "$1") || exit 1
	{
		echo "/* Generated from $1 by scripts/errors.sh: do not edit. */"
		echo "#ifndef PGW_WALLET_ERRORS_H"
		echo "#define PGW_WALLET_ERRORS_H"
		col=4
		for p in $PROFILES; do
			up=$(echo "$p" | tr '[:lower:]' '[:upper:]')
			echo ""
			echo "/* StatusMap entries of every WL code in the $p profile */"
			echo "#define PGW_WL_STATUSES_$up \\"
			printf '%s\n' "$ROWS" | awk -F '\t' -v col="$col" '
				{ line[NR] = sprintf("\t{\"%s\", %d},", $1, $col) }
				END { for (i = 1; i <= NR; i++) print line[i] (i < NR ? " \\" : "") }'
			col=$((col + 1))
		done
		echo ""
		echo "/* TribbleCode entries: the errorCode of a WL code answered with that status */"
		echo "#define PGW_WL_TRIBBLE_CODES \\"
		printf '%s\n' "$ROWS" | awk -F '\t' '
			{ line[NR] = sprintf("\t{\"%s\", %d, \"%s\"},", $1, $6, $8) }
			END { for (i = 1; i <= NR; i++) print line[i] (i < NR ? " \\" : "") }'
		echo ""
		echo "/* WlName entries: a WL code's public name and meaning (what clients are shown) */"
		echo "#define PGW_WL_NAMES \\"
		printf '%s\n' "$ROWS" | awk -F '\t' '
			{
				m = $9
				gsub(/`/, "", m)
				gsub(/\\/, "\\\\", m)
				gsub(/"/, "\\\"", m)
				line[NR] = sprintf("\t{\"%s\", \"%s\", \"%s\"},", $1, $2, m)
			}
			END { for (i = 1; i <= NR; i++) print line[i] (i < NR ? " \\" : "") }'
		echo ""
		echo "#endif"
	}
}

docs() {
	ROWS=$(good_rows "$1") || exit 1
	cat <<EOF
<!-- Generated from $1 by scripts/errors.sh (make docs): do not edit. -->
# Error codes

The wallet's own SQLSTATEs, class \`WL\`. SQL functions raise them (\`RAISE ... USING ERRCODE =
'WL001'\`, or a refusal row that carries the code), C raises them as \`ERRCODE_WALLET_<name>\`,
and the bridge answers them with the HTTP status of its profile below (500 hides the message:
"internal error"; the Tribble profile's \`errorCode\` is the name given). A code is never
renumbered or reused: clients depend on them. Standard SQLSTATEs (\`22xxx\` invalid input,
\`23505\` duplicate, \`57014\` statement timeout, ...) keep their PostgreSQL meaning; the bridge's
answers to them are in \`bridge/profile_<name>.c\`.

The list is \`src/errors.tsv\`: add a code there (next free number of its layer's range:
core WL001-WL019, identity WL020-WL039, rules WL040-WL059, partners WL060-WL079, payments WL080-WL119), and
\`make\` regenerates the C and bridge headers; \`make docs\` regenerates this page.

| Code | Name | Layer | Meaning | WaaS | Sellapay | Tribble | Tribble errorCode | Cashier |
|------|------|-------|---------|------|----------|---------|-------------------|---------|
EOF
	printf '%s\n' "$ROWS" | awk -F '\t' '
		{ printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			$1, $2, $3, $9, $4, $5, $6, $8, $7 }'
}

# scan KIND FILE...: one line per use of a WL code in the files, "USE<TAB>kind<TAB>code<TAB>at",
# with C's ERRCODE_WALLET_<name> as "name:<name>" and its MAKE_SQLSTATE('W','L',...) literals
# decoded; plus "RAISE<TAB>code or name:<name><TAB>at" for what raises a code: a quoted
# 'WL001' in SQL (not after SQLSTATE: that catches), ERRCODE_WALLET_<name> in a .c file, a
# "WL001" string in the bridge's .c files.
scan() {
	kind=$1
	shift
	[ $# -gt 0 ] || return 0
	awk -v kind="$kind" '
		function emit(what, code) {
			if (what == "USE")
				printf "USE\t%s\t%s\t%s:%d\n", kind, code, FILENAME, FNR
			else
				printf "RAISE\t%s\t%s:%d\n", code, FILENAME, FNR
		}
		{
			s = $0
			while (match(s, /WL[0-9][0-9][0-9]/)) {
				code = substr(s, RSTART, RLENGTH)
				before = substr(s, 1, RSTART - 1)
				after = substr(s, RSTART + RLENGTH, 1)
				emit("USE", code)
				if (kind == "sql" && before ~ /'"'"'$/ && after == "'"'"'" &&
					before !~ /SQLSTATE[ \t]+'"'"'$/)
					emit("RAISE", code)
				if (kind == "bridge" && FILENAME ~ /\.c$/ && before ~ /"$/ && after == "\"")
					emit("RAISE", code)
				s = substr(s, RSTART + RLENGTH)
			}
			if (kind != "c")
				next
			s = $0
			while (match(s, /ERRCODE_WALLET_[A-Z0-9_]+/)) {
				name = "name:" substr(s, RSTART + 15, RLENGTH - 15)
				emit("USE", name)
				if (FILENAME ~ /\.c$/)
					emit("RAISE", name)
				s = substr(s, RSTART + RLENGTH)
			}
			s = $0
			d = " *, *'"'"'[0-9]'"'"'"
			while (match(s, "MAKE_SQLSTATE\\( *'"'"'W'"'"' *, *'"'"'L'"'"'" d d d " *\\)")) {
				lit = substr(s, RSTART, RLENGTH)
				gsub(/[^0-9]/, "", lit)
				emit("USE", "WL" lit)
				s = substr(s, RSTART + RLENGTH)
			}
		}' "$@"
}

# files DIR PATTERN...: the regular files under DIR whose names match a PATTERN, less the
# generated ones
files() {
	dir=$1
	shift
	[ -d "$dir" ] || return 0
	set -- "$dir" -type f \( "$@" \)
	find "$@" ! -name wallet_errors.h ! -path docs/errors.md | LC_ALL=C sort
}

check() {
	cd "${1:-.}"
	list=src/errors.tsv
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	rows "$list" >"$tmp/rows" || exit 1
	# shellcheck disable=SC2046 # file names without spaces, by construction of the tree
	{
		scan sql $(files sql -path 'sql/*/*.sql')
		scan c $(files src -name '*.c' -o -name '*.h')
		scan bridge $(files bridge -name '*.c' -o -name '*.h')
		scan tests $(files test -name '*.sql' -o -name '*.out' -o -name '*.spec' \
			-o -name '*.pl' -o -name '*.pm' -o -name '*.sh' -o -name '*.js')
		scan docs $(files docs -name '*.md') README.md
	} >"$tmp/uses"
	docs_ok=1
	(docs "$list") >"$tmp/errors.md" 2>/dev/null || docs_ok=0
	cmp -s "$tmp/errors.md" docs/errors.md || docs_ok=0
	awk -F '\t' -v docs_ok="$docs_ok" -v list="$list" '
		function result(ok, what) {
			if (ok) passed++
			else { failed++; print "not ok - " what }
		}
		FILENAME ~ /rows$/ && $1 == "BAD" {
			result(0, $4)
			if ($2 != "-") { known[$2] = 1; known["name:" $3] = 1 }
			next
		}
		FILENAME ~ /rows$/ {
			result(1, "")
			known[$2] = 1; known["name:" $3] = 1; name[$2] = $3; order[++n] = $2
			next
		}
		$1 == "RAISE" { raised[$2] = 1; next }
		$1 == "USE" {
			kinds[$2] = 1
			if (!($3 in known) && !(($2, $3) in told)) {
				told[$2, $3] = 1
				bad[$2]++
				result(0, $2 ": " $3 " is used but not in " list " (" $4 ")")
			}
		}
		END {
			for (i = 1; i <= n; i++) {
				c = order[i]
				result((c in raised) || (("name:" name[c]) in raised),
					c " " name[c] " is in " list " but nothing raises it (no quoted " c \
					" in sql/, no ERRCODE_WALLET_" name[c] " in src/*.c, no \"" c "\" in bridge/*.c)")
			}
			split("sql c bridge tests docs", k, " ")
			for (i = 1; i <= 5; i++)
				if (!bad[k[i]]) result(1, "")
			result(docs_ok, "docs/errors.md is not what scripts/errors.sh docs " list \
				" makes: run make docs")
			printf "errors: %d passed, %d failed\n", passed, failed
			exit failed > 0
		}' "$tmp/rows" "$tmp/uses"
}

case "${1:-}" in
	c-header) [ $# -eq 2 ] || die "usage: $0 c-header LIST"; c_header "$2" ;;
	bridge-header) [ $# -eq 2 ] || die "usage: $0 bridge-header LIST"; bridge_header "$2" ;;
	docs) [ $# -eq 2 ] || die "usage: $0 docs LIST"; docs "$2" ;;
	check) [ $# -le 2 ] || die "usage: $0 check [REPO]"; check "${2:-.}" ;;
	*) die "usage: $0 c-header|bridge-header|docs LIST, or $0 check [REPO]" ;;
esac
