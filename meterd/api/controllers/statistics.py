"""Placeholder until the controller lands."""


class StatisticsController:
    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf
