from palin.meta import Registered

class Words(metaclass=Registered):
    @staticmethod
    def is_palindrome(s: str) -> bool:
        t = [c for c in s.lower() if c.isalnum()]
        return t == t[::-1]

    @staticmethod
    def is_anagram(a: str, b: str) -> bool:
        return sorted(a.replace(" ", "").lower()) == sorted(b.replace(" ", "").lower())
