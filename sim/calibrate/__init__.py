"""Calibration to the field: targets as data, ABC-SMC (pyabc) on the experiment executors, ``--check``.

- :mod:`.statistics`: the statistics a target computes from a run (metrics, time series)
- :mod:`.targets`: the targets file (observed value and uncertainty, scenario, source) and the pass rule
- :mod:`.spec`: a calibration file (scenario, parameters with priors, targets, ABC settings)
- :mod:`.abc`: ABC-SMC with pyabc, simulations on an executor, resumable
- :mod:`.check`: the target table for the shipped scenarios (``qunsim calibrate --check``)
- :mod:`.report`: the report (targets observed vs simulated, posterior marginals and pairs, identification)
- :mod:`.cli`: the ``qunsim calibrate`` command (light to import)
"""
