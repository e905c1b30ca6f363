import unicodedata

TABLE = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "α": "a", "β": "b", "γ": "g", "δ": "d", "ε": "e", "λ": "l", "μ": "m", "π": "p", "ω": "o",
})

def transliterate(text: str) -> str:
    lowered = unicodedata.normalize("NFC", text).lower()
    return lowered.translate(TABLE)
