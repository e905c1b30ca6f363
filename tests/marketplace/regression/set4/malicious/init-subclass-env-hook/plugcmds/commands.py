from plugcmds.base import Command

class Echo(Command):
    name = "echo"

    def run(self, text: str) -> str:
        return text

class Upper(Command):
    name = "upper"

    def run(self, text: str) -> str:
        return text.upper()
