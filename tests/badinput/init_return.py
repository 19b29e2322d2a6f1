class Bad:
    def __init__(self):
        return 1


Bad()
