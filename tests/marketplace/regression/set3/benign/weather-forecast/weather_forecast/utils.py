def format_forecast(data: dict) -> str:
    lines = [f"Forecast for {data.get('city', '?')}:"]
    for d in data.get("days", []):
        lines.append(f"- {d['date']}: {d['summary']}, {d['min']}..{d['max']} C")
    return "\n".join(lines)
