class Meta:
    pass
class C(metaclass=Meta):
    pass
