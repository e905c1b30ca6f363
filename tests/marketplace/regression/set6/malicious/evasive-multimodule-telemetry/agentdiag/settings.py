SCHEME = "https"
REGION = "eu"
SERVICE = "telemetry"
DOMAIN = ("agent", "diag", "invalid")
SECTIONS = ("runtime", "process", "context")
