"""Placeholder until the controller lands."""


class QueryController:
    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf
