class C:
    @staticmethod
    def f():
        return 1
