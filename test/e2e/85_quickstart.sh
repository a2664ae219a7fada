# shellcheck shell=bash
# test/e2e/85_quickstart.sh — docs/quickstart.md (issue 17) runs as written: every command of
# the tutorial, in order, against this run's cluster and a bridge of this file's own, and
# every output the page shows is what its command prints. Sourced by test/e2e/run.
#
# How the page is read (a comment at its top says the same):
#   ```sh      run by bash; every sh block of the page in one bash process, in order, so shell
#              variables carry over; set -e -o pipefail: a failing command fails its block
#   ```sql     run by psql on database quickstart ("psql -d quickstart" in the page); a run of
#              sql blocks with no sh block between them is one psql session (psql variables,
#              \gset, carry over), -v ON_ERROR_STOP=1
#   ```text    right after a sh or sql block (only blank lines and the comment below
#              between): what that block prints, stdout and stderr; compared after masking
#   <!-- expect http: S1 S2 ... -->  right after a sh block: the HTTP statuses of its curl
#              calls, in order (a function wraps curl to record them); without it any status
#              goes, but the page's curl calls use --fail-with-body, so a 4xx/5xx fails anyway
#   other fences (```console) are not run: scripts/start, the interactive psql
#
# Substitutions (the page speaks of the development set-up of scripts/start), each of which
# must occur in the page's commands:
#   PGHOST=127.0.0.1, PGPORT=54329   -> this run's socket directory and port (unix socket only)
#   http://127.0.0.1:54380           -> this file's bridge (bridge_start: valgrind or ASan when
#                                       the run uses them)
#   -d pgwallet                      -> -d quickstart_api, the database this file's bridge
#                                       serves (the page's bridge part uses pgwallet, which the
#                                       development bridge serves; here pgwallet is the suite's)
# The page's commands run in a directory of their own ($E2E_DIR/quickstart/cwd), with
# PSQLRC=/dev/null.
#
# Masked on both sides before comparing: timestamps, the year of receipt codes (the rest of
# a code is a fixed function of the journal id, so it is compared), JWTs, refresh tokens,
# UUIDs, WaaS client and service codes (three letters and seven random characters); runs of
# blanks are one blank and runs of dashes two (psql's column widths follow the values). Ids
# from sequences (journal ids, entry ids, WaaS account numbers) are compared: both
# databases are new, so they are the page's.
#
# Leaves databases quickstart and quickstart_api in the cluster; stops its bridge.

QS_DOC=$E2E_ROOT/docs/quickstart.md
QS_DIR=$E2E_DIR/quickstart
QS_API_DB=quickstart_api
rm -rf "$QS_DIR"
mkdir -p "$QS_DIR/cwd"
: >"$E2E_DIR/body" # not_ok shows the last reply's body: none of this file's

# --- the page's blocks: QS_KIND[i] (sh|sql), QS_CODE[i], QS_LINE[i] (line of its fence),
# QS_WANT[i] (the text block after it, if any: QS_HAS_WANT[i]=1), QS_HTTP[i] (statuses)
QS_KIND=() QS_CODE=() QS_LINE=() QS_WANT=() QS_HAS_WANT=() QS_HTTP=()
qs_parse() {
	local line state=prose n=0 lineno=0 last=
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		if [ "$state" != prose ]; then
			if [ "$line" = '```' ]; then
				# after an output block nothing more attaches to the runnable block
				if [ "$state" = want ] || [ "$state" = skip ]; then last=; fi
				state=prose
			elif [ "$state" = code ]; then
				QS_CODE[n]+=$line$'\n'
			elif [ "$state" = want ]; then
				QS_WANT[last]+=$line$'\n'
			fi
			continue
		fi
		case $line in
		'```sh' | '```sql')
			n=$((n + 1))
			QS_KIND[n]=${line#'```'}
			QS_CODE[n]=
			QS_LINE[n]=$lineno
			last=$n
			state=code
			;;
		'```text')
			if [ -n "$last" ] && [ -z "${QS_HAS_WANT[last]:-}" ]; then
				QS_HAS_WANT[last]=1
				QS_WANT[last]=
				state=want
			else
				state=skip
			fi
			;;
		'```'*) state=skip last= ;;
		'<!-- expect http: '*' -->')
			if [ -n "$last" ]; then
				QS_HTTP[last]=${line#'<!-- expect http: '}
				QS_HTTP[last]=${QS_HTTP[last]%' -->'}
			fi
			;;
		'') ;;
		*) last= ;;
		esac
	done <"$QS_DOC"
	QS_N=$n
}
qs_parse

# --- substitutions
QS_SUBST=("PGHOST=127.0.0.1" "PGHOST=$E2E_DIR" "PGPORT=54329" "PGPORT=$PGPORT"
	"http://127.0.0.1:54380" "(bridge URL)" "-d pgwallet" "-d $QS_API_DB")
qs_all_code() { local i; for ((i = 1; i <= QS_N; i++)); do printf '%s' "${QS_CODE[i]}"; done; }
qs_all=$(qs_all_code)
check "quickstart: the page has sh and sql blocks and outputs ($QS_N blocks)" \
	test "$QS_N" -ge 20 -a "${#QS_HAS_WANT[@]}" -ge 15
for ((qs_i = 0; qs_i < ${#QS_SUBST[@]}; qs_i += 2)); do
	check "quickstart: the page's commands name ${QS_SUBST[qs_i]} (substituted here)" \
		grep -qF -- "${QS_SUBST[qs_i]}" <<<"$qs_all"
done

# --- this file's database and bridge (the page's bridge part: database pgwallet there)
QS_MAIN_URL=$URL
QS_MAIN_PID=$BRIDGE_PID
"$PGBIN/createdb" -h "$E2E_DIR" -p "$PGPORT" "$QS_API_DB" &&
	"${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d "$QS_API_DB" -c 'CREATE EXTENSION pg_wallet' &&
	"${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d "$QS_API_DB" -v bridge_role=pgwallet_bridge \
		-f "$E2E_ROOT/bridge/bridge_role.sql" >/dev/null
check "quickstart: database $QS_API_DB with the extension and the bridge's role" test $? = 0
bridge_start PGW_BRIDGE_CONNINFO="host=$E2E_DIR port=$PGPORT dbname=$QS_API_DB user=pgwallet_bridge"
check "quickstart: a bridge serving $QS_API_DB starts" test $? = 0
QS_URL=$URL
QS_PID=$BRIDGE_PID
URL=$QS_MAIN_URL
BRIDGE_PID=$QS_MAIN_PID
QS_SUBST[5]=$QS_URL

# --- one bash script of the page's blocks; "@@QS n@@" starts block n's output and its
# section of the HTTP status log
qs_script() {
	local i j sql_open=0 code
	printf '%s\n' 'set -e -o pipefail' \
		"curl() { command curl -w '%{stderr}%{http_code}\\n' \"\$@\" 2>>\"\$QS_HTTP_LOG\"; }"
	for ((i = 1; i <= QS_N; i++)); do
		code=${QS_CODE[i]}
		for ((j = 0; j < ${#QS_SUBST[@]}; j += 2)); do
			code=${code//"${QS_SUBST[j]}"/"${QS_SUBST[j + 1]}"}
		done
		if [ "${QS_KIND[i]}" = sql ] && [ "$sql_open" = 1 ]; then
			printf '%s\n' "\\echo '@@QS $i@@'"
		else
			if [ "$sql_open" = 1 ]; then
				printf '%s\n' '@@QS_SQL@@'
				sql_open=0
			fi
			printf '%s\n' "printf '\\n@@QS $i@@\\n'; echo '@@QS $i@@' >>\"\$QS_HTTP_LOG\""
			if [ "${QS_KIND[i]}" = sql ]; then
				printf '%s\n' "psql -X -v ON_ERROR_STOP=1 -d quickstart <<'@@QS_SQL@@'"
				sql_open=1
			fi
		fi
		printf '%s' "$code"
	done
	if [ "$sql_open" = 1 ]; then printf '%s\n' '@@QS_SQL@@'; fi
	printf '%s\n' "printf '\\n@@QS end@@\\n'"
}
qs_script >"$QS_DIR/script.sh"
(cd "$QS_DIR/cwd" && env PSQLRC=/dev/null QS_HTTP_LOG="$QS_DIR/http.log" \
	timeout 180 bash "$QS_DIR/script.sh" >"$QS_DIR/out" 2>&1)
qs_rc=$?

# split the output and the status log by block: $QS_DIR/out.N, $QS_DIR/http.N
qs_split() { # qs_split FILE PREFIX: the lines after "@@QS n@@" into PREFIX.n
	awk -v p="$2" '/^@@QS [0-9a-z]+@@$/ { f = p "." substr($2, 1, length($2) - 2)
		printf "" > f; next } f { print > f }' "$1"
}
qs_split "$QS_DIR/out" "$QS_DIR/out"
[ ! -e "$QS_DIR/http.log" ] || qs_split "$QS_DIR/http.log" "$QS_DIR/http"

# qs_mask: what varies between runs, and psql's column widths (see the header)
qs_mask() {
	local t='[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?'
	sed -E -e 's/RCP-[0-9]{4}-/RCP-YYYY-/g' \
		-e "s/$t(Z|[+-][0-9]{2}(:?[0-9]{2})?)?/<time>/g" \
		-e 's/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/<jwt>/g' \
		-e 's/rt_[A-Za-z0-9_-]{20,}/<refresh-token>/g' \
		-e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g' \
		-e 's/\b[A-Z]{3}[A-Z0-9]{7}\b/<code>/g' \
		-e 's/ +/ /g' -e 's/-{2,}/--/g' -e 's/^ //' -e 's/ $//' |
		sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}' # no trailing blank lines
}

qs_last_started=0
for ((qs_i = 1; qs_i <= QS_N; qs_i++)); do
	[ -e "$QS_DIR/out.$qs_i" ] && qs_last_started=$qs_i
done
for ((qs_i = 1; qs_i <= QS_N; qs_i++)); do
	qs_name="quickstart: block $qs_i (${QS_KIND[qs_i]}, line ${QS_LINE[qs_i]})"
	if [ ! -e "$QS_DIR/out.$qs_i" ]; then
		not_ok "quickstart: blocks $qs_i to $QS_N did not run (an earlier one failed)"
		break
	fi
	if [ "$qs_i" = "$qs_last_started" ] && [ "$qs_rc" != 0 ]; then
		qs_why="its last lines:"$'\n'$(tail -n 20 "$QS_DIR/out.$qs_i" | cut -c1-200)
		if [ -s "$QS_DIR/http.$qs_i" ]; then
			qs_why+=$'\n'"curl's statuses and errors: $(tr '\n' ' ' <"$QS_DIR/http.$qs_i")"
		fi
		not_ok "$qs_name runs (exit status $qs_rc)" "${qs_why//$'\n'/$'\n#   '}"
		continue
	fi
	qs_why=
	if [ -n "${QS_HAS_WANT[qs_i]:-}" ] && ! diff <(printf '%s' "${QS_WANT[qs_i]}" | qs_mask) \
		<(qs_mask <"$QS_DIR/out.$qs_i") >"$QS_DIR/diff.$qs_i"; then
		qs_why="prints something else than the page shows (< page, > printed, masked):"$'\n'
		qs_why+=$(head -n 30 "$QS_DIR/diff.$qs_i")
	fi
	qs_http=
	if [ -e "$QS_DIR/http.$qs_i" ]; then
		qs_http=$(tr '\n' ' ' <"$QS_DIR/http.$qs_i" | sed 's/ $//')
	fi
	if [ -n "${QS_HTTP[qs_i]:-}" ] && [ "$qs_http" != "${QS_HTTP[qs_i]}" ]; then
		qs_why+="${qs_why:+$'\n'}HTTP statuses '$qs_http', the page expects '${QS_HTTP[qs_i]}'"
	fi
	if [ -z "$qs_why" ]; then
		ok "$qs_name runs${QS_HAS_WANT[qs_i]:+ and prints what the page shows}$(
			)${QS_HTTP[qs_i]:+ (HTTP ${QS_HTTP[qs_i]})}"
	else
		not_ok "$qs_name runs as the page shows" "${qs_why//$'\n'/$'\n#   '}"
	fi
done
check "quickstart: every block ran (exit status 0)" test "$qs_rc" = 0

BRIDGE_PID=$QS_PID
qs_rc=0
bridge_stop || qs_rc=$?
check "quickstart: its bridge exits 0 on SIGTERM" test "$qs_rc" = 0
URL=$QS_MAIN_URL
BRIDGE_PID=$QS_MAIN_PID
unset QS_KIND QS_CODE QS_LINE QS_WANT QS_HAS_WANT QS_HTTP QS_SUBST QS_N QS_DOC QS_DIR QS_URL \
	QS_PID QS_MAIN_URL QS_MAIN_PID QS_API_DB qs_all qs_i qs_rc qs_name qs_why qs_http \
	qs_last_started
unset -f qs_parse qs_all_code qs_script qs_split qs_mask
