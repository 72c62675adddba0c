"""Processes: each owns a slice of the model's state and advances it one step at a time.

Every process is a :class:`sim.components.Component` registered in
:mod:`sim.components`; the order they run in is :data:`sim.plan.STEP_ORDER`. Each
process package keeps its scenario schema in a light ``config`` module (imported by
:mod:`sim.config`) apart from its implementation (imported when a model is built).
"""
