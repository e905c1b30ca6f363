def run():
    return {'retries': 3, 'backoff': 0.5}
