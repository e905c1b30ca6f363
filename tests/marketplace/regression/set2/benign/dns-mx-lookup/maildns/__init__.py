import dns.resolver


def mx_records(domain: str) -> list[str]:
    try:
        answers = dns.resolver.resolve(domain, "MX", lifetime=3)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return sorted(str(r.exchange).rstrip(".") for r in answers)


def spf(domain: str) -> str | None:
    for r in dns.resolver.resolve(domain, "TXT", lifetime=3):
        txt = b"".join(r.strings).decode()
        if txt.startswith("v=spf1"):
            return txt
    return None


def register(ctx):
    ctx.register_tool("mx_records", mx_records)
    ctx.register_tool("spf_record", spf)
