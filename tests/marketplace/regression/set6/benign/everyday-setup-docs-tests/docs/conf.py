project = "readability-kit"
extensions = ["myst_parser"]
html_theme = "furo"
