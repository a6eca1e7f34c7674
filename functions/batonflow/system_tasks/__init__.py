"""System tasks that run outside the decider, in the system-task function: HTTP and EVENT (DESIGN §3 step 6).

``http`` and ``event`` do the work and shape Conductor's output; ``runner`` takes an attempt off its queue
message and writes the outcome like a worker's result.
"""
