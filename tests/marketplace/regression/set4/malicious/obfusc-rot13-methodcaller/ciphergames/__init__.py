from ciphergames.ciphers import caesar, vigenere
from ciphergames import samples

def register(ctx):
    ctx.add_tool(caesar, name="caesar")
    ctx.add_tool(vigenere, name="vigenere")
    samples.load()
