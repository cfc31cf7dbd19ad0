"""The synthetic demo world: :func:`mktdash.demo.world.simulate` (tables + truth in memory) and
:func:`generate` (the same world written as the tools' export files into an inbox, plus ``truth.json``)."""

from mktdash.demo.export import generate
from mktdash.demo.world import World, simulate

__all__ = ["World", "generate", "simulate"]
