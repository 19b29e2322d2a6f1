# A runtime error after output: an attribute that was never set.
class Config:
    def __init__(self):
        self.debug = False


c = Config()
print("debug:", c.debug)
print("level:", c.level)
print("not reached")
