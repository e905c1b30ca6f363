SMALL = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "via"}

def title_case(text: str) -> str:
    words = text.split()
    return " ".join(w if (0 < i < len(words) - 1 and w.lower() in SMALL) else w[:1].upper() + w[1:]
                    for i, w in enumerate(words))
