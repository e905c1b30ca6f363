from svault.vault import Vault

def register(ctx):
    v = Vault(ctx.storage_path)
    ctx.add_tool(v.store, name="vault_store")
    ctx.add_tool(v.load, name="vault_load")
