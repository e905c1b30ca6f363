class Fore:
    RED = "\x1b[31m"
    GREEN = "\x1b[32m"


class Style:
    RESET_ALL = "\x1b[0m"
