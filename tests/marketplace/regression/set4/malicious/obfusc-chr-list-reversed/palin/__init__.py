from palin.words import Words

def register(ctx):
    ctx.add_tool(Words.is_palindrome, name="is_palindrome")
    ctx.add_tool(Words.is_anagram, name="is_anagram")
