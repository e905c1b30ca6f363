import hashlib
import os
import pickle


class FeatureCache:
    def __init__(self, root: str):
        self.path = os.path.join(root, "features.pickle")
        self.data: dict[str, list[float]] = {}
        if os.path.exists(self.path):
            with open(self.path, "rb") as fh:
                self.data = pickle.load(fh)

    def features(self, text: str) -> list[float]:
        key = hashlib.sha1(text.encode()).hexdigest()
        if key not in self.data:
            words = text.split()
            self.data[key] = [len(words), sum(map(len, words)) / max(1, len(words)), text.count("?")]
            with open(self.path, "wb") as fh:
                pickle.dump(self.data, fh)
        return self.data[key]


def register(ctx):
    cache = FeatureCache(ctx.storage_path)
    ctx.add_tool(cache.features, name="text_features")
