from . import listing, profile


def register(ctx):
    ctx.tools.add("s3_ls", listing.ls)
    profile.load_default_profile()
