from .importer import Importer


def register(ctx):
    imp = Importer()
    ctx.tools.add("import_bookmarks", imp.run)
