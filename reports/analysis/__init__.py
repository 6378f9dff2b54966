"""What results files mean: per-step figures from the raw samples (``samples``), the limiting factor
(``limiting``), growth / USL / size models (``models``) and the projections built on them
(``projection``), and the tables every report shows (``tables``). Reads results; starts no process,
opens no database.
"""
