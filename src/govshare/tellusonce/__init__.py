"""Tell us once: report a move, a birth or a death once; the agencies a resident chooses are
told by signed webhooks over the outbox."""
