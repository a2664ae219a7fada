#!/usr/bin/env python3
"""test/e2e/attack.py — raw-socket attacks on pg_wallet_bridge for test/e2e/70_attack.sh.

Each subcommand prints one line per check, "ok - NAME" or "not ok - NAME: DETAIL" (read by
70_attack.sh). Everything is bounded: every socket has a timeout, every slow sender stops after
a fixed number of steps, so a bridge that misbehaves fails a check instead of hanging the suite.

  attack.py HOST PORT slow-body N SOURCE       N slow bodies from SOURCE; /healthz from HOST
  attack.py HOST PORT conn-cap N SOURCE        N idle connections from SOURCE, then one more
  attack.py HOST PORT inflight-cap N SOURCE BODY   N logins at once from SOURCE
  attack.py HOST PORT smuggle                  framing: duplicate/odd Content-Length, TE, spaces
  attack.py HOST PORT header-slowloris         headers one byte at a time
  attack.py HOST PORT ws PATH TOKEN TOKEN2 PER_USER IDLE_MS   WebSocket frames and sessions
"""
import base64
import json
import os
import socket
import struct
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])


def report(name, passed, detail=''):
    print(f'ok - {name}' if passed else f'not ok - {name}: {detail}', flush=True)


def connect(source=None, timeout=5.0):
    s = socket.socket(socket.AF_INET6 if ':' in HOST else socket.AF_INET)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((HOST, PORT))
    return s


def read_all(s, limit=1 << 20):
    """Everything until the peer closes (or the timeout): bytes."""
    out = b''
    try:
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionError):
        pass
    return out


def exchange(raw, source=None, timeout=5.0):
    """Send raw bytes, read until close: (all bytes, closed by the peer)."""
    s = connect(source, timeout)
    s.sendall(raw)
    out = b''
    closed = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    except ConnectionError:
        closed = True
    s.close()
    return out, closed


def status_of(reply):
    try:
        return int(reply.split(b' ', 2)[1])
    except (IndexError, ValueError):
        return 0


def healthz(source=None):
    reply, _ = exchange(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                        source)
    return status_of(reply)


def is_closed(s):
    """True when the peer closed s (EOF or reset) within the socket's timeout."""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except socket.timeout:
        return False
    except ConnectionError:
        return True


def slow_body(n, source):
    """n POSTs announce 8000 bytes and send one byte every 0.2 s: all closed, service goes on."""
    socks = []
    head = (b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\n'
            b'Content-Type: application/json\r\nContent-Length: 8000\r\n\r\n{')
    for _ in range(n):
        s = connect(source)
        s.sendall(head)
        socks.append(s)
    time.sleep(0.3)
    report('/healthz answers 200 while slow bodies are being sent', healthz() == 200)
    reply, _ = exchange(b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\n'
                        b'Content-Length: 2\r\nConnection: close\r\n\r\n{}')
    report('an API call is served while slow bodies hold connections',
           status_of(reply) in (400, 401, 422), reply[:80])
    alive = list(socks)
    for _ in range(300):            # at most 60 s of trickling: far past the deadline (a
        # bridge under valgrind beside the asan stage once needed more than 30 s)
        still = []
        for s in alive:
            try:
                s.send(b' ')
                still.append(s)
            except (BrokenPipeError, ConnectionError):
                pass
        alive = still
        if not alive:
            break
        time.sleep(0.2)
    for s in alive:                  # a send may succeed after the close: ask the socket
        s.settimeout(0.2)
    alive = [s for s in alive if not is_closed(s)]
    report(f'each of {n} slow bodies is closed before it is complete', not alive,
           f'{len(alive)} still open')
    for s in socks:
        s.close()
    report('/healthz answers 200 after the slow bodies', healthz() == 200)


def conn_cap(n, source):
    """n idle connections from source fill its cap: the next one is closed at once."""
    socks = [connect(source) for _ in range(n)]
    time.sleep(0.2)
    extra = connect(source, 3.0)
    extra.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    got = read_all(extra)
    report(f'connection {n + 1} from one address is refused', status_of(got) != 200, got[:80])
    report('/healthz from another address answers 200 meanwhile', healthz() == 200)
    for s in socks:
        s.close()
    extra.close()
    time.sleep(0.3)
    report('the address may connect again once its connections closed',
           healthz(source) == 200)


def inflight_cap(n, source, body):
    """n logins (scrypt: slow) sent at once from source: beyond the cap, 429."""
    raw = (b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
           b'Content-Length: ' + str(len(body)).encode() + b'\r\n\r\n' + body.encode())
    socks = [connect(source, 10.0) for _ in range(n)]
    for s in socks:
        s.sendall(raw)
    replies = [read_all(s) for s in socks]
    for s in socks:
        s.close()
    codes = [status_of(r) for r in replies]
    capped = [r for r in replies if status_of(r) == 429 and b'in flight from this address' in r]
    report('logins beyond inflight_per_ip from one address get 429', capped and 200 in codes,
           codes)


SMUGGLES = [
    ('two different Content-Length headers',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n'
     b'Content-Length: 41\r\n\r\n{}GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
    ('two equal Content-Length headers',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n'
     b'Content-Length: 2\r\n\r\n{}'),
    ('a Content-Length that is not a number',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2abc\r\n\r\n'
     b'{}GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
    ('Transfer-Encoding with Content-Length',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
     b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
    ('whitespace before the colon of Transfer-Encoding',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n'
     b'Transfer-Encoding : chunked\r\n\r\n{}'),
    ('whitespace before the colon of Content-Length',
     b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\n'
     b'Content-Length : 37\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
]


def smuggle():
    for name, raw in SMUGGLES:
        reply, closed = exchange(raw)
        n = reply.count(b'HTTP/1.1 ')
        report(f'{name}: 400, one reply, connection closed',
               status_of(reply) == 400 and b'"BAD_REQUEST"' in reply and n == 1 and closed and
               b'pgw_bridge' not in reply,
               reply[:120])
    reply, closed = exchange(b'POST /waas/api/v1/auth/login HTTP/1.1\r\nHost: x\r\n'
                             b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n')
    report('a chunked body without Content-Length: 411 and closed',
           status_of(reply) == 411 and closed, reply[:120])
    reply, closed = exchange(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, '
                             b'HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA'
                             b'\r\n\r\n')
    report('an h2c upgrade is not taken up (HTTP/1.1 only)',
           b' 101 ' not in reply[:20] and closed, reply[:120])
    reply, closed = exchange(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
                             b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    report('a plain keep-alive pipeline is still served (two replies)',
           reply.count(b'HTTP/1.1 200') == 2, reply[:120])


def header_slowloris():
    s = connect(timeout=0.5)
    head = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 200
    closed = False
    for i in range(len(head)):      # 200+ steps of 0.3 s: about a minute if never closed
        try:
            s.send(head[i:i + 1])
        except (BrokenPipeError, ConnectionError):
            closed = True
            break
        if is_closed(s):
            closed = True
            break
    s.close()
    report('headers sent a byte at a time are cut off before they end', closed)
    report('/healthz answers 200 after the header slowloris', healthz() == 200)


# --- WebSocket -----------------------------------------------------------------------------

def ws_open(path, token, timeout=5.0):
    """Handshake; returns (socket, None) or (None, the HTTP reply)."""
    s = connect(timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f'Authorization: Bearer {token}\r\n' if token else ''
    s.sendall((f'GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
               f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
               f'Sec-WebSocket-Version: 13\r\n{auth}\r\n').encode())
    head = b''
    while b'\r\n\r\n' not in head:
        b = s.recv(1)
        if not b:
            return None, head
        head += b
    if status_of(head) != 101:
        head += read_all(s)
        s.close()
        return None, head
    return s, head


def ws_send(s, opcode, payload, masked=True, fin=True, declared=None):
    n = len(payload) if declared is None else declared
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if masked else 0
    if n < 126:
        head = struct.pack('!BB', b0, m | n)
    elif n < 65536:
        head = struct.pack('!BBH', b0, m | 126, n)
    else:
        head = struct.pack('!BBQ', b0, m | 127, n)
    if masked:
        key = os.urandom(4)
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    s.sendall(head + payload)


def ws_recv(s):
    """One frame: (opcode, payload), or (None, b'') when the peer closed or on timeout."""
    def exact(n):
        out = b''
        while len(out) < n:
            b = s.recv(n - len(out))
            if not b:
                raise ConnectionError
            out += b
        return out
    try:
        b0, b1 = exact(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('!H', exact(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', exact(8))[0]
        return b0 & 0x0f, exact(n)
    except (socket.timeout, ConnectionError, OSError):
        return None, b''


def ws_until(s, opcodes, steps=50):
    """Frames until one of opcodes (answering nothing): (opcode, payload) or (None, b'')."""
    for _ in range(steps):
        op, data = ws_recv(s)
        if op is None or op in opcodes:
            return op, data
    return None, b''


def close_code(payload):
    return struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else None


def ws_connected(path, token):
    s, head = ws_open(path, token)
    if not s:
        return None, head
    op, data = ws_until(s, (1, 8))
    if op != 1 or json.loads(data).get('type') != 'connected':
        s.close()
        return None, data
    return s, data


def ws_checks(path, token, token2, per_user, idle_ms):
    s, head = ws_open(path, None)
    body = head.split(b'\r\n\r\n', 1)[-1]
    report('an upgrade without Authorization is HTTP 401 with a JSON body "unauthorized"',
           status_of(head) == 401 and json.loads(body or b'{}').get('data', {})
           .get('message') == 'unauthorized', head[:200])

    held = []
    for _ in range(per_user):
        c, why = ws_connected(path, token)
        if c:
            held.append(c)
    report(f'one user may hold {per_user} sessions', len(held) == per_user, len(held))
    s, head = ws_open(path, token)
    report('one more upgrade with the same token is refused at the handshake (429)',
           s is None and status_of(head) == 429, head[:120])
    s, head = ws_open(path, token2)
    op, data = ws_until(s, (1, 8)) if s else (None, b'')
    first = json.loads(data) if op == 1 else {}
    op2, data2 = ws_until(s, (8,)) if s else (None, b'')
    report('another token of the same user is refused after connect (1008)',
           first.get('type') == 'error' and 'too many sessions' in
           first.get('data', {}).get('message', '') and close_code(data2) == 1008,
           f'{data} {data2}')
    for c in held:
        c.close()
    time.sleep(0.3)

    s, _ = ws_connected(path, token)
    ws_send(s, 2, b'{"type":"ping","data":{}}')
    op, data = ws_until(s, (8,))
    report('a binary frame closes the session with 1003', op == 8 and close_code(data) == 1003,
           f'{op} {data}')
    s.close()

    s, _ = ws_connected(path, token)
    ws_send(s, 1, b'{"type":', declared=1 << 62)
    t0 = time.time()
    op, data = ws_until(s, (8,))
    report('a frame declaring 2^62 bytes is closed with 1009 after its first bytes',
           op == 8 and close_code(data) == 1009, f'{op} {data}')
    s.close()

    # keepalive: pinging every idle/4 keeps a session that never answers the server's pings
    s, _ = ws_connected(path, token)
    deadline = time.time() + 2.5 * idle_ms / 1000
    alive = True
    while time.time() < deadline and alive:
        ws_send(s, 9, b'k')
        s.settimeout(idle_ms / 4000)
        while True:
            op, data = ws_recv(s)
            if op is None:
                break
            if op == 8:
                alive = False
                break
        s.settimeout(5.0)
    report('client pings keep a session open past ws_idle_timeout_ms', alive)
    s.close()

    # answering the server's pings keeps a silent session open
    s, _ = ws_connected(path, token)
    deadline = time.time() + 2.5 * idle_ms / 1000
    pings = 0
    alive = True
    s.settimeout(0.2)
    while time.time() < deadline and alive:
        op, data = ws_recv(s)
        if op == 9:
            pings += 1
            ws_send(s, 10, data)
        elif op == 8:
            alive = False
    report('the server pings a silent session, and pongs keep it open', alive and pings >= 1,
           f'{pings} pings, open {alive}')
    s.close()

    # a session that answers nothing is closed with 1001 after the timeout
    s, _ = ws_connected(path, token)
    s.settimeout(5.0)
    op, data = ws_until(s, (8,), steps=20)
    report('a session that answers no ping is closed with 1001', op == 8 and
           close_code(data) == 1001, f'{op} {data}')
    s.close()


def main():
    cmd = sys.argv[3]
    if cmd == 'slow-body':
        slow_body(int(sys.argv[4]), sys.argv[5])
    elif cmd == 'conn-cap':
        conn_cap(int(sys.argv[4]), sys.argv[5])
    elif cmd == 'inflight-cap':
        inflight_cap(int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif cmd == 'smuggle':
        smuggle()
    elif cmd == 'header-slowloris':
        header_slowloris()
    elif cmd == 'ws':
        ws_checks(sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8]))
    else:
        print(f'not ok - unknown attack {cmd}')


if __name__ == '__main__':
    try:
        main()
    except Exception as e:          # a crash is a failed check, never a silent pass
        print(f'not ok - attack.py crashed: {e!r}')
        sys.exit(1)
