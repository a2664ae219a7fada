#!/usr/bin/env python3
"""partner_sim.py - a partner for pg_wallet's tests, on 127.0.0.1 only (Python 3 stdlib).

It answers the outbox worker's requests as a partner would and later calls back: by default
the way the bridge delivers a partner's callback, by calling pg_wallet.partner_callback
(generic signed JSON) or pg_wallet.mpesa_callback (Daraja shapes) through psql; with
`--deliver http`, as a real partner does, by POSTing the same bytes and headers to the URL
the request named (generic: "callback_url"; Daraja: CallBackURL or ResultURL), which is the
bridge's partners profile when the partner's callback_url is its base.

One simulator serves many partners: a partner's base_url is http://127.0.0.1:PORT/p/<id>.
  generic_json:  POST /p/<id>/deposits, POST /p/<id>/payouts,
                 POST /p/<id>/card-authorizations (a card payment: card.completed / card.failed),
                 POST /p/<id>/card-refunds (its refund: card_refund.completed / .failed),
                 POST /p/<id>/airtime-topups (airtime.completed / airtime.failed)
  mpesa_daraja:  POST /p/<id>/mpesa/stkpush/v1/processrequest, /p/<id>/mpesa/b2c/v3/paymentrequest
                 GET /p/<id>/oauth/v1/generate?grant_type=client_credentials (Basic auth of
                 CONSUMER_KEY:CONSUMER_SECRET, else 400) -> {"access_token", "expires_in"};
                 the M-Pesa endpoints answer 401 unless "Authorization: Bearer <token>" holds
                 a token issued to that partner, unexpired and not revoked (`expire`)

The test chooses what happens by the last two digits of the phone number (or of the bank
account number, or of a card's last4; for a card refund, the amount's cents unless they are
00), like a sandbox's magic numbers:
  00 success callback           01 failure callback           02 success after 3 s
  03 duplicate callback         04 malformed callback         05 forged (bad signature)
  06 no answer (hangs)          07 HTTP 500 twice, then OK    08 HTTP 400 (refused)
  09 accepted, never calls back 10 completed in the answer    11 callback with wrong amount
  12 answer after 2.5 s, then success callback
A repeated request (same Idempotency-Key) gets the first answer again and is not executed
twice: no second callback.

Commands (DIR holds port, pid and the logs requests.jsonl, callbacks.jsonl, oauth.jsonl, and
tokens.txt: every access token issued, one a line, for tests that check none leaked):
  start DIR [--secret whsec_...] [--db NAME] [--deliver psql|http]
                                               start in the background, print nothing
  port DIR | stop DIR
  requests DIR | callbacks DIR | tokens DIR    deterministic summaries, for expected files
  expire DIR                                   revoke every token issued so far (test mode:
                                               a token expires early, the next use gets 401)
  wait DIR KIND N [TIMEOUT_S]                  until N lines of KIND (requests, callbacks)
Callbacks use psql with the caller's PGHOST/PGPORT and database --db (or $SIM_DB), or HTTP.
In the callbacks log, "result" is "ok" or the refusal's SQLSTATE (psql) or public code (HTTP).
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

SHORTCODE = "174379"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
CONSUMER_KEY = "sim-consumer-key"
CONSUMER_SECRET = "sim-consumer-secret-0123456789"
TOKEN_TTL_S = 120  # short, as Daraja's tokens are (3599 s there)
MAX_BODY = 1 << 20
IDLE_EXIT_S = 900  # a forgotten simulator goes away on its own

STATE = {"lock": threading.Lock(), "answers": {}, "attempts": {}, "seq": 0,
         "last_activity": time.time(), "tokens": {}, "token_n": {}}


def log_line(path, record):
    with STATE["lock"]:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")


def next_seq():
    with STATE["lock"]:
        STATE["seq"] += 1
        return STATE["seq"]


def sign(secret_bytes, msg_id, ts, body):
    mac = hmac.new(secret_bytes, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def scenario_of(digits):
    digits = "".join(c for c in (digits or "") if c.isdigit())
    return int(digits[-2:]) if len(digits) >= 2 else 0


def psql_call(cfg, func, partner, body, headers):
    """Call pg_wallet.<func>(partner, body, headers) as the bridge would: 'ok' or a SQLSTATE."""
    psql = cfg["psql"]
    cmd = [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
           "-d", cfg["db"], "-v", f"p={partner}", "-v", f"b={body}",
           "-v", f"h={json.dumps(headers)}"]
    # psql -c does not interpolate variables: the statement goes on stdin
    stmt = f"SELECT pg_wallet.{func}(:'p', :'b', :'h'::jsonb);\n"
    try:
        r = subprocess.run(cmd, input=stmt, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "timeout", None
    if r.returncode == 0:
        try:
            return "ok", json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return "ok", None
    err = r.stderr.strip()
    for line in err.splitlines():
        if line.startswith("ERROR:"):
            parts = line.split(":", 2)
            return parts[1].strip() if len(parts) > 2 else "ERROR", None
    return "unreachable", None


def http_call(url, body, headers):
    """POST a callback as a partner does: 'ok' and the answer, or the error's public code."""
    req = urllib.request.Request(url, data=body.encode(), method="POST",
                                 headers=dict(headers, **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return "ok", json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        if e.code in (502, 503, 504):
            return "unreachable", None
        try:
            return json.loads(e.read())["error"]["code"], None
        except (ValueError, KeyError, TypeError):
            return f"HTTP {e.code}", None
    except (urllib.error.URLError, OSError):
        return "unreachable", None


def deliver(cfg, func, partner, body, headers, kind, ref, url=None):
    """Deliver one callback, retrying while the database is away or the reference not yet known."""
    deadline = time.time() + 90
    result, answer = "unreachable", None
    tries = 0
    while time.time() < deadline:
        tries += 1
        if cfg["deliver"] == "http":
            result, answer = http_call(url or "", body, headers)
        else:
            result, answer = psql_call(cfg, func, partner, body, headers)
        if result in ("unreachable", "timeout") or (
                result in ("WL063", "REFERENCE_NOT_FOUND") and tries < 20):
            time.sleep(0.3)
            continue
        break
    log_line(cfg["callbacks_log"], {"partner": partner, "ref": ref, "kind": kind,
                                    "result": result,
                                    "replayed": bool(answer and answer.get("replayed"))})


def generic_callbacks(cfg, partner, req, scenario, what):
    ref = req.get("reference")
    ok_type = f"{what}.completed"
    payload = {"type": ok_type, "reference": ref, "amount": req.get("amount"),
               "currency": req.get("currency"), "partner_reference": f"SIM-{next_seq()}"}
    secret = cfg["secret"]
    plan = []  # (kind, body dict or raw str, msg_id, forged)
    if scenario == 1:
        errors = {"payout": "Destination account invalid",
                  "airtime": "The number is not on the network"}
        plan.append(("failure", dict(payload, type=f"{what}.failed",
                                     error=errors.get(what, "Payment declined")), None, False))
    elif scenario == 3:
        mid = "cb_" + uuid.uuid4().hex
        plan += [("success", payload, mid, False), ("duplicate", payload, mid, False),
                 ("duplicate", payload, None, False)]
    elif scenario == 4:
        plan.append(("malformed", '{"type": "' + ok_type + '", "reference": ', None, False))
    elif scenario == 5:
        plan.append(("forged", payload, None, True))
    elif scenario == 11:
        plan.append(("wrong_amount", dict(payload, amount="1.00"), None, False))
    else:
        plan.append(("success", payload, None, False))
    for kind, body, mid, forged in plan:
        raw = body if isinstance(body, str) else json.dumps(body)
        mid = mid or "cb_" + uuid.uuid4().hex
        ts = int(time.time())
        key = hashlib.sha256(b"forged").digest() if forged else secret
        headers = {"Webhook-Id": mid, "Webhook-Timestamp": str(ts),
                   "Webhook-Signature": sign(key, mid, ts, raw.encode())}
        deliver(cfg, "partner_callback", partner, raw, headers, kind, ref,
                req.get("callback_url"))


def mpesa_callbacks(cfg, partner, req, scenario, what, answer):
    url = req.get("CallBackURL") if what == "deposit" else req.get("ResultURL")
    token = (url or "").rstrip("/").split("/")[-1]
    if scenario == 5:
        token = "0" * 64
        url = (url or "").rstrip("/").rsplit("/", 1)[0] + "/" + token
    n = next_seq()
    if what == "deposit":
        ok = scenario not in (1,)
        cb = {"MerchantRequestID": answer["MerchantRequestID"],
              "CheckoutRequestID": answer["CheckoutRequestID"],
              "ResultCode": 0 if ok else 1032,
              "ResultDesc": "The service request is processed successfully." if ok
              else "Request cancelled by user"}
        if ok:
            amount = 1 if scenario == 11 else req.get("Amount")
            cb["CallbackMetadata"] = {"Item": [
                {"Name": "Amount", "Value": amount},
                {"Name": "MpesaReceiptNumber", "Value": f"SIM{n:07d}"},
                {"Name": "TransactionDate", "Value": int(time.strftime("%Y%m%d%H%M%S"))},
                {"Name": "PhoneNumber", "Value": int(req.get("PhoneNumber", "0"))}]}
        body = {"Body": {"stkCallback": cb}}
        ref = answer["CheckoutRequestID"]
    else:
        ok = scenario not in (1,)
        res = {"ResultType": 0, "ResultCode": 0 if ok else 2001,
               "ResultDesc": "The service request is processed successfully." if ok
               else "The initiator information is invalid.",
               "OriginatorConversationID": req.get("OriginatorConversationID"),
               "ConversationID": answer["ConversationID"], "TransactionID": f"SIMB{n:06d}"}
        if ok:
            res["ResultParameters"] = {"ResultParameter": [
                {"Key": "TransactionAmount", "Value": req.get("Amount")},
                {"Key": "TransactionReceipt", "Value": f"SIMB{n:06d}"}]}
        body = {"Result": res}
        ref = req.get("OriginatorConversationID")
    raw = json.dumps(body)
    if scenario == 4:
        raw = '{"Body": {"stkCallback": '
    kind = {1: "failure", 4: "malformed", 5: "forged", 11: "wrong_amount"}.get(scenario, "success")
    # over HTTP the token is the URL's last segment, as Daraja calls it; psql passes it as the
    # header the bridge would make of it
    headers = {} if cfg["deliver"] == "http" else {"X-Callback-Token": token}
    deliver(cfg, "mpesa_callback", partner, raw, headers, kind, ref, url)
    if scenario == 3:
        deliver(cfg, "mpesa_callback", partner, raw, headers, "duplicate", ref, url)


def revoked_before(cfg):
    """Tokens issued before this time are revoked (`expire`); 0 when none is."""
    try:
        with open(os.path.join(cfg["dir"], "revoke_before"), encoding="utf-8") as f:
            return float(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def bearer_check(cfg, partner, header):
    """(reason, token number): reason "ok", "missing", "invalid", "expired" or "revoked"."""
    if not header or not header.startswith("Bearer "):
        return "missing", None
    with STATE["lock"]:
        tok = STATE["tokens"].get(header[len("Bearer "):])
    if tok is None or tok["partner"] != partner:
        return "invalid", None
    if tok["issued_at"] < revoked_before(cfg):
        return "revoked", tok["n"]
    if time.time() >= tok["expires_at"]:
        return "expired", tok["n"]
    return "ok", tok["n"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        STATE["last_activity"] = time.time()
        cfg = self.cfg
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        if len(parts) < 4 or parts[1] != "p" or "/".join(parts[3:]) != "oauth/v1/generate":
            return self.reply(404, {"error": "not found"})
        partner = parts[2]
        expect = "Basic " + base64.b64encode(
            f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
        auth = self.headers.get("Authorization") or ""
        if query != "grant_type=client_credentials":
            log_line(cfg["oauth_log"], {"partner": partner, "status": 400, "auth": "grant"})
            return self.reply(400, {"errorCode": "400.008.02",
                                    "errorMessage": "Invalid grant type passed"})
        if not hmac.compare_digest(auth.encode(), expect.encode()):
            log_line(cfg["oauth_log"], {"partner": partner, "status": 400,
                                        "auth": "missing" if not auth else "wrong"})
            return self.reply(400, {"errorCode": "400.008.01",
                                    "errorMessage": "Invalid Authentication passed"})
        token = base64.b64encode(os.urandom(21)).decode().replace("/", "_").replace("+", "-")
        now = time.time()
        with STATE["lock"]:
            n = STATE["token_n"].get(partner, 0) + 1
            STATE["token_n"][partner] = n
            STATE["tokens"][token] = {"partner": partner, "n": n, "issued_at": now,
                                      "expires_at": now + TOKEN_TTL_S}
            with open(cfg["tokens_file"], "a", encoding="utf-8") as f:
                f.write(token + "\n")
        log_line(cfg["oauth_log"], {"partner": partner, "status": 200, "auth": "ok", "token": n})
        return self.reply(200, {"access_token": token, "expires_in": str(TOKEN_TTL_S)})

    def do_POST(self):
        STATE["last_activity"] = time.time()
        cfg = self.cfg
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, MAX_BODY))
        parts = self.path.split("/")
        if len(parts) < 4 or parts[1] != "p":
            return self.reply(404, {"error": "not found"})
        partner, rest = parts[2], "/".join(parts[3:])
        try:
            req = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": "invalid JSON"})
        key = self.headers.get("Idempotency-Key")
        mid = self.headers.get("webhook-id")
        ts = self.headers.get("webhook-timestamp") or "0"
        sig = self.headers.get("webhook-signature") or ""
        sig_ok = bool(mid) and key == mid and sig == sign(cfg["secret"], mid, ts, raw)
        mpesa = rest.startswith("mpesa/")
        what = "deposit" if rest in ("deposits", "mpesa/stkpush/v1/processrequest") else "payout"
        if rest == "card-authorizations":
            what = "card"
        elif rest == "card-refunds":
            what = "card_refund"
        elif rest == "airtime-topups":
            what = "airtime"
        if what in ("card", "card_refund"):
            # a card is named by token, last4, brand and expiry: never its number
            card = req.get("card") or {}
            phone = card.get("last4")
            # a refund: the amount's cents choose, when not 00 (a sandbox's magic amounts)
            cents = str(req.get("amount") or "").partition(".")[2][:2]
            if what == "card_refund" and cents not in ("", "00"):
                phone = cents
            if any(k in json.dumps(req) for k in ("card_number", "cardNumber", "pan")):
                log_line(cfg["requests_log"], {"partner": partner, "what": "card-with-pan",
                                               "adapter": "generic", "scenario": 0,
                                               "sig_ok": False, "password_ok": None,
                                               "key": key, "attempt": 1, "status": 400})
                return self.reply(400, {"error": "a card number was sent"})
        elif mpesa:
            phone = req.get("PhoneNumber") if what == "deposit" else req.get("PartyB")
        else:
            dest = req.get("destination") or {}
            phone = req.get("phone") or dest.get("phone") or dest.get("account_number")
        scenario = scenario_of(phone)
        password_ok = None
        if mpesa and what == "deposit":
            expect = base64.b64encode(
                (SHORTCODE + PASSKEY + str(req.get("Timestamp"))).encode()).decode()
            password_ok = (req.get("Password") == expect
                           and req.get("BusinessShortCode") == SHORTCODE)
        elif mpesa:
            password_ok = bool(req.get("SecurityCredential")) and req.get("PartyA") == SHORTCODE
        with STATE["lock"]:
            attempts = STATE["attempts"].get(key, 0) + 1
            STATE["attempts"][key] = attempts
        record = {"partner": partner, "what": what, "adapter": "mpesa" if mpesa else "generic",
                  "scenario": scenario, "sig_ok": sig_ok, "password_ok": password_ok,
                  "key": key, "attempt": attempts}
        if mpesa:
            # Daraja checks the Bearer token before anything else: 401, nothing executed
            bearer, token_n = bearer_check(cfg, partner, self.headers.get("Authorization"))
            record.update(bearer=bearer, token=token_n)
            if bearer != "ok":
                log_line(cfg["requests_log"], dict(record, status=401))
                return self.reply(401, {"requestId": f"sim-{next_seq()}",
                                        "errorCode": "404.001.04",
                                        "errorMessage": "Invalid Access Token"})
        if scenario == 6:
            log_line(cfg["requests_log"], dict(record, status=0))
            time.sleep(30)  # the client gives up first
            return
        if scenario == 7 and attempts <= 2:
            log_line(cfg["requests_log"], dict(record, status=500))
            return self.reply(500, {"error": "temporarily unavailable"})
        if scenario == 8:
            log_line(cfg["requests_log"], dict(record, status=400))
            return self.reply(400, {"error": "Validation error", "message": "refused"})
        # a repeat of a request (same key) waits for the first one's answer and gets it:
        # the partner executes a request once, whatever happened to the first answer
        with STATE["lock"]:
            entry = STATE["answers"].get(key)
            if entry is None:
                entry = {"done": threading.Event(), "answer": None}
                STATE["answers"][key] = entry
                first = True
            else:
                first = False
        if not first:
            entry["done"].wait(30)
            log_line(cfg["requests_log"], dict(record, status=200, repeat=True))
            return self.reply(200 if entry["answer"] else 503, entry["answer"] or {})
        if scenario == 12:
            time.sleep(2.5)
        n = next_seq()
        if mpesa and what == "deposit":
            answer = {"MerchantRequestID": f"MR-{n}", "CheckoutRequestID": f"ws_CO_{n:08d}",
                      "ResponseCode": "0", "ResponseDescription": "Success. Request accepted",
                      "CustomerMessage": "Success. Request accepted for processing"}
        elif mpesa:
            answer = {"ConversationID": f"AG_{n:08d}",
                      "OriginatorConversationID": req.get("OriginatorConversationID"),
                      "ResponseCode": "0",
                      "ResponseDescription": "Accept the service request successfully."}
        else:
            answer = {"status": "completed" if scenario == 10 else "accepted",
                      "partner_reference": f"SIM-{n}"}
        entry["answer"] = answer
        entry["done"].set()
        log_line(cfg["requests_log"], dict(record, status=200))
        try:
            self.reply(200, answer)
        except OSError:
            pass  # the client went away (a crash): the callback still follows
        if scenario in (9, 10):
            return
        delay = 3.0 if scenario == 2 else 0.3
        target = mpesa_callbacks if mpesa else generic_callbacks
        args = (cfg, partner, req, scenario, what, answer) if mpesa else \
            (cfg, partner, req, scenario, what)

        def later():
            time.sleep(delay)
            target(*args)
        threading.Thread(target=later, daemon=True).start()


def find_psql():
    for cand in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql")):
        if cand and os.path.exists(cand):
            return cand
    return "psql"


def serve(d, secret, db, how):
    cfg = {"secret": base64.b64decode(secret[len("whsec_"):]), "db": db, "psql": find_psql(),
           "deliver": how,
           "dir": d, "requests_log": os.path.join(d, "requests.jsonl"),
           "callbacks_log": os.path.join(d, "callbacks.jsonl"),
           "oauth_log": os.path.join(d, "oauth.jsonl"),
           "tokens_file": os.path.join(d, "tokens.txt")}
    Handler.cfg = cfg
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(os.path.join(d, "port.tmp"), os.path.join(d, "port"))

    def reaper():
        while time.time() - STATE["last_activity"] < IDLE_EXIT_S:
            time.sleep(5)
        os._exit(0)
    threading.Thread(target=reaper, daemon=True).start()
    srv.serve_forever()


def cmd_start(d, args):
    secret = "whsec_" + base64.b64encode(b"pg_wallet partner simulator 32b!").decode()
    db = os.environ.get("SIM_DB", "contrib_regression")
    how = "psql"
    i = 0
    while i < len(args):
        if args[i] == "--secret":
            secret, i = args[i + 1], i + 2
        elif args[i] == "--db":
            db, i = args[i + 1], i + 2
        elif args[i] == "--deliver" and i + 1 < len(args) and args[i + 1] in ("psql", "http"):
            how, i = args[i + 1], i + 2
        else:
            sys.exit(f"unknown option {args[i]}")
    os.makedirs(d, exist_ok=True)
    cmd_stop(d)
    for name in ("port", "requests.jsonl", "callbacks.jsonl", "oauth.jsonl", "tokens.txt",
                 "revoke_before"):
        if os.path.exists(os.path.join(d, name)):
            os.remove(os.path.join(d, name))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        with open(os.path.join(d, "pid"), "w") as f:
            f.write(str(os.getpid()))
        serve(d, secret, db, how)
        os._exit(0)
    os.waitpid(pid, 0)
    for _ in range(100):
        if os.path.exists(os.path.join(d, "port")):
            return
        time.sleep(0.05)
    sys.exit("simulator did not start")


def cmd_stop(d):
    p = os.path.join(d, "pid")
    if os.path.exists(p):
        try:
            os.kill(int(open(p).read().strip()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        os.remove(p)


def read_log(d, kind):
    path = os.path.join(d, f"{kind}.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_summary(d, kind):
    rows = read_log(d, kind)
    groups = {}
    if kind == "requests":
        for r in rows:
            k = (r["partner"], r["what"], r["scenario"], r["status"], bool(r.get("repeat")))
            g = groups.setdefault(k, {"n": 0, "sig_ok": True, "password_ok": True,
                                      "bearer": set()})
            g["n"] += 1
            g["sig_ok"] = g["sig_ok"] and r["sig_ok"]
            if r["password_ok"] is not None:
                g["password_ok"] = g["password_ok"] and r["password_ok"]
            if "bearer" in r:
                g["bearer"].add(r["bearer"])
        for k in sorted(groups):
            g = groups[k]
            print(f"request {k[0]} {k[1]} scenario={k[2]:02d} http={k[3]}"
                  f"{' repeat' if k[4] else ''} x{g['n']} signed={'yes' if g['sig_ok'] else 'NO'}"
                  f"{'' if g['password_ok'] else ' password=BAD'}"
                  f"{' bearer=' + ','.join(sorted(g['bearer'])) if g['bearer'] else ''}")
    elif kind == "tokens":
        for r in read_log(d, "oauth"):
            k = (r["partner"], r["status"], r["auth"])
            groups[k] = groups.get(k, 0) + 1
        for k in sorted(groups):
            print(f"oauth {k[0]} http={k[1]} credentials={k[2]} x{groups[k]}")
        uses = {}
        for r in read_log(d, "requests"):
            if r.get("token") is not None:
                u = uses.setdefault((r["partner"], r["token"]), {})
                u[r["bearer"]] = u.get(r["bearer"], 0) + 1
        for k in sorted(uses):
            print(f"token {k[0]} #{k[1]} used by "
                  + ", ".join(f"{n} request(s) {b}" for b, n in sorted(uses[k].items())))
    else:
        for r in rows:
            k = (r["partner"], r["kind"], r["result"], r["replayed"])
            groups[k] = groups.get(k, 0) + 1
        for k in sorted(groups):
            print(f"callback {k[0]} {k[1]} -> {k[2]}{' (replayed)' if k[3] else ''}"
                  f" x{groups[k]}")


def cmd_wait(d, kind, n, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(read_log(d, kind)) >= n:
            return
        time.sleep(0.1)
    print(f"timed out waiting for {n} {kind} (have {len(read_log(d, kind))})")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, d = argv[1], argv[2]
    if cmd == "start":
        cmd_start(d, argv[3:])
    elif cmd == "stop":
        cmd_stop(d)
    elif cmd == "port":
        print(open(os.path.join(d, "port")).read().strip())
    elif cmd in ("requests", "callbacks", "tokens"):
        cmd_summary(d, cmd)
    elif cmd == "expire":
        with open(os.path.join(d, "revoke_before.tmp"), "w") as f:
            f.write(repr(time.time()))
        os.replace(os.path.join(d, "revoke_before.tmp"), os.path.join(d, "revoke_before"))
    elif cmd == "wait":
        cmd_wait(d, argv[3], int(argv[4]), float(argv[5]) if len(argv) > 5 else 30)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
