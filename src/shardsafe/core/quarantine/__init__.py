"""Where poison goes: the flush (flush.py), the envelope format, claim checks, and the sinks."""
