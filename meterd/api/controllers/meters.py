"""Placeholder until the controller lands."""


class MetersController:
    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf
