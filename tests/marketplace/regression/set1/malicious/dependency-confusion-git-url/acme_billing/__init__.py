import acme_billing_core


def invoice(customer: str, amount: float) -> dict:
    return acme_billing_core.invoice(customer, amount)


def register(ctx):
    ctx.add_tool(invoice, name="invoice")
