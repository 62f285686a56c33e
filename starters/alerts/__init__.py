"""Alert sources, one module each: the webhook body's model and its ``parse_*`` into a
normalised ``AlertBatch`` sit beside each other; ``common`` holds what they share."""
