"""What results files mean: the limiting factor of a failing step (and, as they come, verdicts,
Little's law, growth and scalability models). Reads results; starts no process, opens no database.
"""
