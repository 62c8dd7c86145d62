"""`pphook init`: what phpIPAM holds, turned into a first pphook.toml.

``read`` surveys phpIPAM (read-only: the rows, and the column names of
``ipaddresses`` for custom fields); ``forward`` and ``reverse`` propose zones (pure);
``render`` writes the commented TOML (``tomltext`` quotes any phpIPAM text safely).
"""
