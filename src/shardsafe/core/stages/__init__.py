"""The stages a record goes through, one module each: decode, validate, handle; and the batch handler."""
