"""The seeded benchmark dataset: resources x meters x samples over 30 days, generated lazily.

Every value derives from (seed, resource, meter, step) through an integer
hash, so any batch can be rebuilt alone and two runs with one seed post
byte-identical bodies. Nothing is held in memory beyond the resource table:
1,000,000 sample dicts would cost a gigabyte in the client.
"""

import dataclasses
import datetime
import math
import random
import uuid

#: (name, type, unit) of the ten meters, as a Nova compute agent reports them.
METERS = (
    ('cpu_util', 'gauge', '%'),
    ('memory.usage', 'gauge', 'MB'),
    ('disk.read.bytes', 'cumulative', 'B'),
    ('disk.write.bytes', 'cumulative', 'B'),
    ('network.incoming.bytes', 'cumulative', 'B'),
    ('network.outgoing.bytes', 'cumulative', 'B'),
    ('vcpus', 'gauge', 'vcpu'),
    ('disk.usage', 'gauge', 'B'),
    ('cpu', 'cumulative', 'ns'),
    ('memory.resident', 'gauge', 'MB'),
)
METER_NAMES = tuple(m[0] for m in METERS)

#: (name, vcpus, ram MB, disk GB)
FLAVORS = (
    ('m1.tiny', 1, 512, 1),
    ('m1.small', 1, 2048, 20),
    ('m1.medium', 2, 4096, 40),
    ('m1.large', 4, 8192, 80),
    ('m1.xlarge', 8, 16384, 160),
)

START = datetime.datetime(2024, 3, 1)
DAYS = 30
SAMPLES_PER_PAIR = 100
#: Samples per resource at full shape; ``--scale`` divides by it to size the resource set.
SAMPLES_PER_RESOURCE = len(METERS) * SAMPLES_PER_PAIR
FULL_SCALE = 1_000_000

_MASK64 = (1 << 64) - 1


def _mix(*parts):
    """A fast, well-spread 64-bit hash of small integers (splitmix64 finaliser)."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (part & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        h ^= h >> 31
        h = h * 0x94D049BB133111EB & _MASK64
        h ^= h >> 29
    return h


def _unit(*parts):
    """A uniform float in [0, 1) from ``_mix``."""
    return (_mix(*parts) >> 11) / float(1 << 53)


@dataclasses.dataclass(frozen=True)
class Resource:
    """One instance: identity, owner, flavor and the phase of its polling cycle."""

    index: int
    resource_id: str
    project_id: str
    user_id: str
    display_name: str
    flavor: tuple
    image_ref: str
    host: str
    offset_s: int
    load: float
    io_rate: float
    net_rate: float


@dataclasses.dataclass(frozen=True)
class Dataset:
    """``resources`` x 10 meters x ``samples_per_pair`` samples over ``days`` days."""

    seed: int = 42
    resources: int = FULL_SCALE // SAMPLES_PER_RESOURCE
    samples_per_pair: int = SAMPLES_PER_PAIR
    projects: int = 50
    users: int = 200
    days: int = DAYS
    start: datetime.datetime = START

    @classmethod
    def from_scale(cls, scale, seed=42):
        """The dataset of ``scale`` samples: the full shape with fewer resources.

        :raises ValueError: ``scale`` is not a positive multiple of 1,000.
        """
        if scale <= 0 or scale % SAMPLES_PER_RESOURCE:
            raise ValueError(f'scale must be a positive multiple of {SAMPLES_PER_RESOURCE}')
        return cls(seed=seed, resources=scale // SAMPLES_PER_RESOURCE)

    @property
    def total(self):
        return self.resources * len(METERS) * self.samples_per_pair

    @property
    def interval_s(self):
        """Seconds between two samples of one (resource, meter) pair."""
        return self.days * 86400 // self.samples_per_pair

    @property
    def end(self):
        return self.start + datetime.timedelta(days=self.days)

    @property
    def samples_per_meter(self):
        return self.resources * self.samples_per_pair

    @property
    def project_ids(self):
        rng = random.Random(_mix(self.seed, 1))
        return [uuid.UUID(int=rng.getrandbits(128), version=4).hex
                for _ in range(self.projects)]

    @property
    def user_ids(self):
        rng = random.Random(_mix(self.seed, 2))
        return [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(self.users)]

    def resource_table(self):
        """Every resource, in index order. User ``u`` belongs to project ``u % projects``."""
        rng = random.Random(_mix(self.seed, 3))
        projects, users = self.project_ids, self.user_ids
        images = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(12)]
        table = []
        for i in range(self.resources):
            user = i % self.users
            flavor = FLAVORS[rng.randrange(len(FLAVORS))]
            table.append(Resource(
                index=i,
                resource_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                project_id=projects[user % self.projects],
                user_id=users[user],
                display_name=f'{rng.choice(("web", "db", "cache", "worker", "build"))}-{i:05d}',
                flavor=flavor,
                image_ref=rng.choice(images),
                host=f'compute-{rng.randrange(64):03d}',
                offset_s=rng.randrange(self.interval_s),
                load=rng.uniform(0.05, 0.85),
                io_rate=rng.uniform(1e3, 5e6),
                net_rate=rng.uniform(1e3, 2e7)))
        return table

    def timestamp(self, resource, step):
        return self.start + datetime.timedelta(
            seconds=resource.offset_s + step * self.interval_s)

    def metadata(self, resource, step):
        """About 200 bytes of JSON: what Nova's compute agent attaches to instance samples."""
        roll = _unit(self.seed, resource.index, step, 97)
        state = 'active' if roll < 0.96 else ('paused' if roll < 0.98 else 'shutoff')
        name, vcpus, ram, _disk = resource.flavor
        return {'display_name': resource.display_name,
                'flavor': {'name': name, 'vcpus': vcpus, 'ram': ram},
                'image_ref': resource.image_ref,
                'state': state,
                'host': resource.host,
                'instance_type': name}

    def volume(self, resource, meter_index, step):
        """A realistic value: gauges wander around a per-resource level, cumulative
        counters grow monotonically (the jitter is smaller than one interval's growth)."""
        name = METERS[meter_index][0]
        u = _unit(self.seed, resource.index, meter_index, step)
        _fname, vcpus, ram, disk_gb = resource.flavor
        interval = self.interval_s
        elapsed = resource.offset_s + (step + 1) * interval + interval * 0.3 * (u - 0.5)
        if name == 'cpu_util':
            return round(min(100.0, max(0.0, 100 * resource.load + 30 * (u - 0.5))), 2)
        if name == 'memory.usage':
            return float(int(ram * (0.3 + 0.6 * u)))
        if name == 'memory.resident':
            return float(int(ram * (0.2 + 0.5 * u)))
        if name == 'vcpus':
            return float(vcpus)
        if name == 'disk.usage':
            fill = 0.1 + 0.7 * (step / max(1, self.samples_per_pair)) + 0.05 * u
            return float(int(disk_gb * 1e9 * min(fill, 1.0)))
        if name == 'cpu':
            return float(int(elapsed * vcpus * resource.load * 1e9))
        if name in ('disk.read.bytes', 'disk.write.bytes'):
            factor = 1.0 if name == 'disk.read.bytes' else 0.6
            return float(int(elapsed * resource.io_rate * factor))
        factor = 1.0 if name == 'network.incoming.bytes' else 0.4
        return float(int(elapsed * resource.net_rate * factor))

    def sample(self, resource, meter_index, step):
        """One sample in the POST /v2/meters/{name} body form (§9.4)."""
        name, type_, unit = METERS[meter_index]
        return {'counter_name': name,
                'counter_type': type_,
                'counter_unit': unit,
                'counter_volume': self.volume(resource, meter_index, step),
                'resource_id': resource.resource_id,
                'project_id': resource.project_id,
                'user_id': resource.user_id,
                'timestamp': self.timestamp(resource, step).isoformat(),
                'resource_metadata': self.metadata(resource, step)}

    def batches(self, size=100):
        """``(meter name, [sample, ...])`` in polling order: step, then meter, then
        resources in chunks of ``size`` (a POST carries one meter). Lazy."""
        table = self.resource_table()
        for step in range(self.samples_per_pair):
            for m in range(len(METERS)):
                for first in range(0, len(table), size):
                    chunk = table[first:first + size]
                    yield METERS[m][0], [self.sample(r, m, step) for r in chunk]

    def batch_count(self, size=100):
        return self.samples_per_pair * len(METERS) * math.ceil(self.resources / size)
