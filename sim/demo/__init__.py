"""``qunsim demo``: a live teaching page in the browser (Solara).

``sim.demo.server.serve(scenario, host, port)`` starts it; ``sim.demo.app`` is the page;
``sim.demo.engine`` is the only module that reads the model. See docs/teaching.md.
"""
